"""The PyTorch recipe of nntrain.torch_tasks: architecture, training, prediction, determinism."""

import numpy as np
import pytest
import torch
from torch import nn

from nntrain import torch_tasks as tt
from nntrain.data import load_digits

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA: torch.cuda.is_available() is False")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """These models are tiny: one intra-op thread is as fast as two on an idle machine, and
    two threads per process slow down many times when the cores are shared (pytest -n 2)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def _model(seed=0, **kwargs):
    torch.manual_seed(seed)
    return tt.make_model(64, 10, **kwargs)


def _train(digits, seed=0, model_seed=0, **kwargs):
    model = _model(model_seed)
    history = tt.train(model, digits["X_train"], digits["y_train"], digits["X_val"],
                       digits["y_val"], seed=seed, device="cpu", **kwargs)
    return model, history


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.fixture(scope="module")
def trained(digits):
    """The default-size run: make_model(64, 10) and train with every default (about 1 s)."""
    model, history = _train(digits)
    return model, history


# ---------------------------------------------------------------- make_model

ARCHITECTURES = [
    ((128, 64), 0.8),
    ((32,), 0.5),
    ((16, 16, 16), 1.0),
    ((), 0.8),
]


@pytest.mark.parametrize("hidden, keep_prob", ARCHITECTURES,
                         ids=["default", "one-layer-keep0.5", "three-layers-keep1", "linear"])
def test_make_model_layers_in_order(hidden, keep_prob):
    model = tt.make_model(64, 10, hidden=hidden, keep_prob=keep_prob)
    assert isinstance(model, nn.Sequential)
    layers = list(model)
    assert len(layers) == 4 * len(hidden) + 1
    dims = (64, *hidden)
    for i, h in enumerate(hidden):
        linear, bn, relu, drop = layers[4 * i: 4 * i + 4]
        assert type(linear) is nn.Linear and (linear.in_features, linear.out_features) == (
            dims[i], h)
        assert type(bn) is nn.BatchNorm1d and bn.num_features == h
        assert type(relu) is nn.ReLU
        assert type(drop) is nn.Dropout and drop.p == pytest.approx(1 - keep_prob)
    last = layers[-1]
    assert type(last) is nn.Linear and (last.in_features, last.out_features) == (dims[-1], 10)


def test_make_model_defaults_are_128_64_and_keep_0_8():
    layers = list(tt.make_model(64, 10))
    assert [m.out_features for m in layers if isinstance(m, nn.Linear)] == [128, 64, 10]
    assert [m.p for m in layers if isinstance(m, nn.Dropout)] == pytest.approx([0.2, 0.2])


def test_make_model_he_weights_and_zero_biases():
    torch.manual_seed(0)
    model = tt.make_model(400, 50, hidden=(600, 300))
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for layer in linears:
        w = layer.weight.detach().double()
        fan_in, n = layer.in_features, w.numel()
        expected = np.sqrt(2 / fan_in)
        # sampling error of the std is about std / sqrt(2 n); allow 5 of those
        assert abs(w.std().item() / expected - 1) < 5 / np.sqrt(2 * n), layer
        assert abs(w.mean().item()) < 5 * expected / np.sqrt(n), layer
        assert torch.count_nonzero(layer.bias) == 0
    for bn in (m for m in model if isinstance(m, nn.BatchNorm1d)):
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_make_model_maps_n_by_d_to_scores():
    model = _model().eval()
    assert model(torch.zeros(5, 64)).shape == (5, 10)


# ---------------------------------------------------------------- train

def test_default_train_reaches_95_percent_on_the_held_out_test_split(trained, digits):
    model, _ = trained
    accuracy = np.mean(tt.predict(model, digits["X_test"]) == digits["y_test"])
    assert accuracy >= 0.95


def test_train_history_keys_and_types(trained):
    _, history = trained
    assert set(history) == {"train_loss", "val_acc", "best_epoch"}
    losses, accs, best = history["train_loss"], history["val_acc"], history["best_epoch"]
    assert isinstance(losses, list) and isinstance(accs, list)
    assert 1 <= len(losses) == len(accs) <= 30
    assert all(type(v) is float for v in losses + accs)
    assert type(best) is int and 0 <= best < len(accs)
    assert all(0.0 <= a <= 1.0 for a in accs)
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_train_stops_early_or_runs_all_epochs(trained):
    _, history = trained
    accs, best = history["val_acc"], history["best_epoch"]
    assert accs[best] == max(accs) and accs.index(max(accs)) == best
    assert len(accs) == 30 or len(accs) == best + 5 + 1


def test_train_leaves_the_model_with_the_weights_of_best_epoch(trained, digits):
    model, history = trained
    accuracy = np.mean(tt.predict(model, digits["X_val"]) == digits["y_val"])
    assert accuracy == pytest.approx(history["val_acc"][history["best_epoch"]], abs=1e-12)


@pytest.mark.parametrize("patience", [1, 2], ids=["patience1", "patience2"])
def test_train_early_stopping_patience(digits, patience):
    _, history = _train(digits, epochs=30, patience=patience)
    n, best = len(history["val_acc"]), history["best_epoch"]
    assert n == 30 or n == best + patience + 1


def test_default_train_is_deterministic_on_the_cpu_for_a_fixed_seed(trained, digits):
    model, history = trained
    again, history_again = _train(digits)
    assert history_again == history
    _assert_same_state(again, model)


def test_train_seed_changes_the_run(digits):
    a, hist_a = _train(digits, seed=0, epochs=3)
    b, hist_b = _train(digits, seed=1, epochs=3)
    assert hist_a["train_loss"] != hist_b["train_loss"]
    assert not torch.equal(a[0].weight, b[0].weight)


INPUT_FORMATS = [
    (lambda X: X, "images-float64"),
    (lambda X: X.reshape(len(X), -1), "flat-float64"),
    (lambda X: X.astype(np.float32), "images-float32"),
    (lambda X: X.reshape(len(X), -1).astype(np.float32), "flat-float32"),
]


@pytest.mark.parametrize("convert", [f for f, _ in INPUT_FORMATS],
                         ids=[name for _, name in INPUT_FORMATS])
def test_train_accepts_images_and_flat_rows_alike(digits, convert):
    reference, hist_ref = _train(digits, epochs=2)
    model = _model()
    X_train, X_val = convert(digits["X_train"]), convert(digits["X_val"])
    history = tt.train(model, X_train, digits["y_train"], X_val, digits["y_val"],
                       epochs=2, device="cpu")
    assert history == hist_ref
    _assert_same_state(model, reference)


def test_train_skips_a_last_batch_of_one_example(digits):
    model = _model()
    X, y = digits["X_train"][:129], digits["y_train"][:129]  # batches of 64, 64 and 1
    history = tt.train(model, X, y, digits["X_val"], digits["y_val"], epochs=2, device="cpu")
    assert len(history["train_loss"]) == 2 and all(np.isfinite(history["train_loss"]))


def test_train_does_not_modify_its_inputs(digits):
    arrays = {k: v.copy() for k, v in digits.items()}
    _train(arrays, epochs=1)
    for k, v in digits.items():
        np.testing.assert_array_equal(arrays[k], v)


# ---------------------------------------------------------------- predict

@pytest.mark.parametrize("flat", [False, True], ids=["images", "flat"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_predict_dtype_shape_and_argmax(trained, digits, flat, dtype):
    model, _ = trained
    X = digits["X_test"].astype(dtype)
    X = X.reshape(len(X), -1) if flat else X
    labels = tt.predict(model, X)
    assert isinstance(labels, np.ndarray) and labels.dtype == np.int64
    assert labels.shape == (len(X),)
    model.eval()
    with torch.no_grad():
        expected = model(torch.as_tensor(X.reshape(len(X), -1), dtype=torch.float32))
    np.testing.assert_array_equal(labels, expected.argmax(dim=1).numpy())


def test_predict_in_batches_matches_one_pass(trained, digits):
    model, _ = trained
    X = np.concatenate([digits["X_train"], digits["X_val"], digits["X_test"]])
    assert len(X) > tt.PREDICT_BATCH
    model.eval()
    with torch.no_grad():
        expected = model(torch.as_tensor(X.reshape(len(X), -1), dtype=torch.float32))
    np.testing.assert_array_equal(tt.predict(model, X), expected.argmax(dim=1).numpy())


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_predict_uses_eval_mode_and_restores_the_mode(digits, mode):
    model = _model()
    model.train(mode == "train")
    first = tt.predict(model, digits["X_val"])
    second = tt.predict(model, digits["X_val"])
    np.testing.assert_array_equal(first, second)  # no dropout, no batch statistics
    assert model.training == (mode == "train")


# ---------------------------------------------------------------- devices

def test_default_device_is_cuda_exactly_when_available():
    assert tt.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@requires_cuda
def test_train_and_predict_on_cuda(digits):
    model = _model()
    history = tt.train(model, digits["X_train"], digits["y_train"], digits["X_val"],
                       digits["y_val"], epochs=10, device="cuda")
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert len(history["val_acc"]) >= 1
    labels = tt.predict(model, digits["X_test"])
    assert labels.dtype == np.int64 and labels.shape == digits["y_test"].shape
    assert np.mean(labels == digits["y_test"]) >= 0.9


@requires_cuda
def test_train_uses_cuda_by_default_when_available(digits):
    model = _model()
    tt.train(model, digits["X_train"], digits["y_train"], digits["X_val"], digits["y_val"],
             epochs=1)
    assert next(model.parameters()).device.type == "cuda"
