"""Tests of nntrain.fc_net.FullyConnectedNet: gradient checks of the whole loss in float64."""

import numpy as np
import pytest

from nntrain import activations, normalization, regularization, weight_init
from nntrain.fc_net import FullyConnectedNet
from nntrain.gradient_check import eval_numerical_gradient

N, D, C = 6, 12, 5

GRAD_CASES = [
    # (id, constructor keyword arguments)
    ("depth1_softmax_only", dict(hidden_dims=[])),
    ("depth2_relu", dict(hidden_dims=[10])),
    ("depth3_relu", dict(hidden_dims=[9, 7])),
    ("leaky_relu", dict(hidden_dims=[9, 7], activation="leaky_relu")),
    ("elu", dict(hidden_dims=[9, 7], activation="elu")),
    ("tanh", dict(hidden_dims=[9, 7], activation="tanh")),
    ("sigmoid", dict(hidden_dims=[9, 7], activation="sigmoid", weight_scale=0.5)),
    ("batchnorm", dict(hidden_dims=[9, 7], normalization="batchnorm")),
    ("layernorm", dict(hidden_dims=[9, 7], normalization="layernorm")),
    ("dropout", dict(hidden_dims=[9, 7], keep_prob=0.6)),
    ("l2", dict(hidden_dims=[9, 7], reg=0.7)),
    ("l1", dict(hidden_dims=[9, 7], reg=0.3, reg_type="l1")),
    ("everything", dict(hidden_dims=[9, 8], activation="elu", normalization="batchnorm",
                        keep_prob=0.7, reg=0.2, reg_type="l1", weight_scale="xavier")),
    ("layernorm_dropout_l2_he", dict(hidden_dims=[8], activation="tanh",
                                     normalization="layernorm", keep_prob=0.8, reg=0.5,
                                     weight_scale="he")),
]


def _data(seed=0, shape=(N, D)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.integers(C, size=shape[0])


def _assert_gradients_match(model, X, y):
    loss, grads = model.loss(X, y)
    assert np.isfinite(loss)
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param, h=1e-6)
        assert grads[name].shape == param.shape, name
        # atol covers parameters whose true gradient is 0 (biases before a normalization).
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("name,kwargs", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_loss_gradients_match_numerical(name, kwargs):
    kwargs = {"weight_scale": 0.3, **kwargs}
    model = FullyConnectedNet(input_dim=D, num_classes=C, seed=1, **kwargs)
    X, y = _data()
    _assert_gradients_match(model, X, y)


def test_gradients_for_image_input():
    model = FullyConnectedNet([6], input_dim=16, num_classes=C, normalization="batchnorm",
                              weight_scale="he", seed=2)
    X, y = _data(shape=(N, 1, 4, 4))
    _assert_gradients_match(model, X, y)


@pytest.mark.parametrize("hidden_dims", [[], [50], [50, 40, 30]],
                         ids=["depth1", "depth2", "depth4"])
def test_initial_loss_is_log_c_with_small_weights(hidden_dims):
    model = FullyConnectedNet(hidden_dims, input_dim=64, num_classes=10, weight_scale=1e-3, seed=0)
    rng = np.random.default_rng(3)
    X, y = rng.random((40, 1, 8, 8)), rng.integers(10, size=40)
    loss, _ = model.loss(X, y)
    assert loss == pytest.approx(np.log(10), abs=1e-3)


@pytest.mark.parametrize("reg_type,expected", [("l2", 0.5 * 0.4), ("l1", 0.4)], ids=["l2", "l1"])
def test_regularization_applies_to_weights_only(reg_type, expected):
    model = FullyConnectedNet([4], input_dim=3, num_classes=2, normalization="batchnorm",
                              reg_type=reg_type, seed=0)
    for k in model.params:
        model.params[k] = np.ones_like(model.params[k]) if k.startswith("W") \
            else np.full_like(model.params[k], 5.0)
    X, y = _data(shape=(4, 3))
    y = y % 2
    base, _ = model.loss(X, y)
    model.reg = 0.4
    regularized, _ = model.loss(X, y)
    num_weights = 3 * 4 + 4 * 2
    assert regularized - base == pytest.approx(expected * num_weights)


INIT_CASES = [
    # (id, weight_scale, expected std of W1 with fan_in 400)
    ("scale", 0.05, 0.05),
    ("xavier", "xavier", 1 / np.sqrt(400)),
    ("he", "he", np.sqrt(2 / 400)),
]


@pytest.mark.parametrize("name,weight_scale,std", INIT_CASES, ids=[c[0] for c in INIT_CASES])
def test_initialization(name, weight_scale, std):
    model = FullyConnectedNet([300, 20], input_dim=400, normalization="layernorm",
                              weight_scale=weight_scale, seed=0)
    p = model.params
    assert p["W1"].shape == (400, 300) and p["W2"].shape == (300, 20) and p["W3"].shape == (20, 10)
    assert p["W1"].std() == pytest.approx(std, rel=0.02)
    assert abs(p["W1"].mean()) < 0.01 * std
    np.testing.assert_array_equal(p["b1"], 0)
    np.testing.assert_array_equal(p["gamma2"], 1)
    np.testing.assert_array_equal(p["beta2"], 0)
    assert "gamma3" not in p


def test_seed_makes_weights_reproducible():
    a = FullyConnectedNet([10], seed=7).params
    b = FullyConnectedNet([10], seed=7).params
    c = FullyConnectedNet([10], seed=8).params
    np.testing.assert_array_equal(a["W1"], b["W1"])
    assert not np.array_equal(a["W1"], c["W1"])


def test_constructor_calls_no_graded_function(monkeypatch):
    def stub(*args, **kwargs):
        raise NotImplementedError("stub")

    for module in (activations, normalization, regularization, weight_init):
        for name in dir(module):
            if callable(getattr(module, name)) and not name.startswith("_"):
                monkeypatch.setattr(module, name, stub, raising=False)
    model = FullyConnectedNet([5, 4], normalization="batchnorm", keep_prob=0.5, reg=1.0,
                              weight_scale="he", seed=0)
    assert model.params["W1"].shape == (64, 5)


def test_unused_pieces_are_not_called(monkeypatch):
    def stub(*args, **kwargs):
        raise NotImplementedError("stub")

    for name in ("dropout_forward", "l2_regularization", "l1_regularization"):
        monkeypatch.setattr(regularization, name, stub)
    for name in ("batchnorm_forward", "layernorm_forward"):
        monkeypatch.setattr(normalization, name, stub)
    model = FullyConnectedNet([5], input_dim=D, num_classes=C, seed=0)
    loss, _ = model.loss(*_data())
    assert np.isfinite(loss)


def test_test_mode_is_deterministic_and_uses_running_statistics():
    model = FullyConnectedNet([8], input_dim=D, num_classes=C, normalization="batchnorm",
                              keep_prob=0.5, seed=0)
    X, y = _data()
    model.loss(X, y)
    assert model.bn_params[0]["mode"] == "train"
    assert not np.allclose(model.bn_params[0]["running_mean"], 0)
    scores = model.loss(X)
    assert scores.shape == (N, C)
    assert model.dropout_param["mode"] == "test" and model.bn_params[0]["mode"] == "test"
    np.testing.assert_array_equal(scores, model.loss(X))


def test_dropout_masks_depend_on_seed():
    model = FullyConnectedNet([20], input_dim=D, num_classes=C, keep_prob=0.5, seed=0)
    X, y = _data()
    first, _ = model.loss(X, y)
    assert model.loss(X, y)[0] == first
    model.dropout_param["seed"] = 12345
    assert model.loss(X, y)[0] != first


def test_float32_model_keeps_dtype():
    model = FullyConnectedNet([8, 6], input_dim=D, num_classes=C, normalization="batchnorm",
                              keep_prob=0.8, reg=0.1, dtype=np.float32, seed=0)
    X, y = _data()
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert model.loss(X).dtype == np.float32
    _, grads = model.loss(X, y)
    assert all(g.dtype == np.float32 for g in grads.values())


BAD_ARGUMENTS = [
    ("activation", dict(activation="softplus")),
    ("normalization", dict(normalization="groupnorm")),
    ("reg_type", dict(reg_type="l3")),
    ("weight_scale", dict(weight_scale="lecun")),
    ("keep_prob_zero", dict(keep_prob=0.0)),
]


@pytest.mark.parametrize("name,kwargs", BAD_ARGUMENTS, ids=[c[0] for c in BAD_ARGUMENTS])
def test_bad_arguments_raise(name, kwargs):
    with pytest.raises(ValueError):
        FullyConnectedNet([4], **kwargs)
