"""nntrain.normalization against torch.nn.functional and central differences.

torch's batch_norm momentum is 1 - ours, and its running variance is updated with the
unbiased batch variance while ours (SPEC) uses the biased one.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numeric import numeric_gradient, rel_error, torch_grads

from nntrain import normalization as Nm

BN_SHAPES = [(4, 5), (7, 3), (2, 6), (16, 1)]
BN_IDS = ["4x5", "7x3", "N=2", "D=1"]
LN_SHAPES = [(4, 5), (7, 3), (1, 6), (3, 2)]
LN_IDS = ["4x5", "7x3", "N=1", "D=2"]
# With two values per normalized group the outputs are +-1 almost regardless of x, so the
# gradient is nearly 0 and central differences are mostly noise: checked against torch only.
BN_NUMERIC_SHAPES = [(4, 5), (7, 3), (3, 6), (16, 1)]
BN_NUMERIC_IDS = ["4x5", "7x3", "N=3", "D=1"]
LN_NUMERIC_SHAPES = [(4, 5), (7, 3), (1, 6), (3, 3)]
LN_NUMERIC_IDS = ["4x5", "7x3", "N=1", "D=3"]


def norm_inputs(shape, seed, dtype=np.float64):
    """x (shifted and scaled per feature), gamma, beta and dout."""
    n, d = shape
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal((n, d)) + rng.uniform(-5, 5, size=d)
    gamma, beta = rng.uniform(0.5, 2.0, size=d), rng.standard_normal(d)
    dout = rng.standard_normal((n, d))
    return [a.astype(dtype) for a in (x, gamma, beta, dout)]


def torch_batchnorm_train(eps):
    def fn(x, gamma, beta):
        return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)

    return fn


# ---------------------------------------------------------------- batchnorm forward


@pytest.mark.parametrize("shape", BN_SHAPES, ids=BN_IDS)
@pytest.mark.parametrize("eps", [1e-5, 1e-1], ids=["eps1e-5", "eps1e-1"])
def test_batchnorm_train_forward_matches_torch(shape, eps):
    x, gamma, beta, _ = norm_inputs(shape, 0)
    out, _ = Nm.batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": eps})
    expected = F.batch_norm(
        torch.tensor(x), None, None, torch.tensor(gamma), torch.tensor(beta),
        training=True, eps=eps,
    ).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_batchnorm_train_output_is_normalized():
    x, _, _, _ = norm_inputs((50, 4), 1)
    d = x.shape[1]
    out, _ = Nm.batchnorm_forward(x, np.ones(d), np.zeros(d), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-5)


@pytest.mark.parametrize("momentum", [0.9, 0.5, 0.0], ids=["m0.9", "m0.5", "m0"])
def test_batchnorm_running_statistics(momentum):
    x, gamma, beta, _ = norm_inputs((6, 4), 2)
    rng = np.random.default_rng(3)
    rm0, rv0 = rng.standard_normal(4), rng.uniform(0.5, 2, size=4)
    bn_param = {"mode": "train", "momentum": momentum, "running_mean": rm0.copy(),
                "running_var": rv0.copy()}
    Nm.batchnorm_forward(x, gamma, beta, bn_param)

    t_mean, t_var = torch.tensor(rm0), torch.tensor(rv0)
    F.batch_norm(torch.tensor(x), t_mean, t_var, training=True, momentum=1 - momentum)
    np.testing.assert_allclose(bn_param["running_mean"], t_mean.numpy(), rtol=1e-12)
    n = x.shape[0]
    # torch's update with the unbiased variance, converted back to the biased one
    t_var_biased = t_var.numpy() - (1 - momentum) * x.var(axis=0, ddof=1) / n
    np.testing.assert_allclose(bn_param["running_var"], t_var_biased, rtol=1e-12)
    hand = momentum * rv0 + (1 - momentum) * x.var(axis=0)
    np.testing.assert_allclose(bn_param["running_var"], hand, rtol=1e-12)


def test_batchnorm_running_var_from_zero_is_torch_rescaled():
    x, gamma, beta, _ = norm_inputs((5, 3), 4)
    n, d = x.shape
    bn_param = {"mode": "train", "running_mean": np.zeros(d), "running_var": np.zeros(d)}
    Nm.batchnorm_forward(x, gamma, beta, bn_param)
    t_mean, t_var = torch.zeros(d, dtype=torch.float64), torch.zeros(d, dtype=torch.float64)
    F.batch_norm(torch.tensor(x), t_mean, t_var, training=True, momentum=0.1)
    np.testing.assert_allclose(bn_param["running_var"], t_var.numpy() * (n - 1) / n, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_batchnorm_creates_running_statistics(dtype):
    x, gamma, beta, _ = norm_inputs((8, 3), 5, dtype)
    bn_param = {"mode": "train"}
    Nm.batchnorm_forward(x, gamma, beta, bn_param)
    for key in ("running_mean", "running_var"):
        assert bn_param[key].shape == (3,) and bn_param[key].dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0), rtol=tol)
    np.testing.assert_allclose(bn_param["running_var"], 0.9 + 0.1 * x.var(axis=0), rtol=tol)


def test_batchnorm_test_mode_defaults_are_identity_normalization():
    x, gamma, beta, _ = norm_inputs((4, 3), 6)
    out, _ = Nm.batchnorm_forward(x, gamma, beta, {"mode": "test"})
    np.testing.assert_allclose(out, gamma * x / np.sqrt(1 + 1e-5) + beta, rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 5), (1, 3), (9, 2)], ids=["4x5", "N=1", "9x2"])
def test_batchnorm_test_mode_matches_torch(shape):
    x, gamma, beta, _ = norm_inputs(shape, 7)
    rng = np.random.default_rng(8)
    rm, rv = rng.standard_normal(shape[1]), rng.uniform(0.5, 2, size=shape[1])
    bn_param = {"mode": "test", "running_mean": rm, "running_var": rv, "eps": 1e-3}
    out, _ = Nm.batchnorm_forward(x, gamma, beta, bn_param)
    expected = F.batch_norm(
        torch.tensor(x), torch.tensor(rm), torch.tensor(rv), torch.tensor(gamma),
        torch.tensor(beta), training=False, eps=1e-3,
    ).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(bn_param["running_mean"], rm)
    np.testing.assert_array_equal(bn_param["running_var"], rv)


def test_batchnorm_running_statistics_converge():
    rng = np.random.default_rng(9)
    mean, std = np.array([3.0, -1.0, 0.0]), np.array([2.0, 0.5, 1.0])
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(3), np.zeros(3)
    for _ in range(200):
        Nm.batchnorm_forward(mean + std * rng.standard_normal((200, 3)), gamma, beta, bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], mean, atol=0.05)
    np.testing.assert_allclose(bn_param["running_var"], std**2, rtol=0.05)


def test_batchnorm_invalid_mode():
    x, gamma, beta, _ = norm_inputs((3, 2), 10)
    with pytest.raises(ValueError):
        Nm.batchnorm_forward(x, gamma, beta, {"mode": "eval"})


# ---------------------------------------------------------------- batchnorm backward

BACKWARDS = {"graph": Nm.batchnorm_backward, "alt": Nm.batchnorm_backward_alt}


@pytest.mark.parametrize("shape", BN_SHAPES, ids=BN_IDS)
@pytest.mark.parametrize("which", list(BACKWARDS))
def test_batchnorm_backward_matches_torch(which, shape):
    x, gamma, beta, dout = norm_inputs(shape, 11)
    _, cache = Nm.batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": 1e-5})
    grads = BACKWARDS[which](dout, cache)
    _, expected = torch_grads(torch_batchnorm_train(1e-5), [x, gamma, beta], dout)
    for g, e in zip(grads, expected, strict=True):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("shape", BN_NUMERIC_SHAPES, ids=BN_NUMERIC_IDS)
@pytest.mark.parametrize("which", list(BACKWARDS))
def test_batchnorm_backward_matches_numeric(which, shape):
    x, gamma, beta, dout = norm_inputs(shape, 12)
    _, cache = Nm.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = BACKWARDS[which](dout, cache)

    def f(x, gamma, beta):
        return Nm.batchnorm_forward(x, gamma, beta, {"mode": "train"})[0]

    assert rel_error(dx, numeric_gradient(lambda v: f(v, gamma, beta), x, dout)) < 1e-6
    assert rel_error(dgamma, numeric_gradient(lambda v: f(x, v, beta), gamma, dout)) < 1e-7
    assert rel_error(dbeta, numeric_gradient(lambda v: f(x, gamma, v), beta, dout)) < 1e-7


@pytest.mark.parametrize("shape", [(4, 5), (30, 7), (2, 3)], ids=["4x5", "30x7", "N=2"])
def test_batchnorm_backward_and_alt_agree(shape):
    x, gamma, beta, dout = norm_inputs(shape, 13)
    _, cache = Nm.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for g, g_alt in zip(Nm.batchnorm_backward(dout, cache),
                        Nm.batchnorm_backward_alt(dout, cache), strict=True):
        np.testing.assert_allclose(g, g_alt, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("which", list(BACKWARDS))
def test_batchnorm_backward_needs_no_bn_param(which):
    x, gamma, beta, dout = norm_inputs((5, 4), 14)
    bn_param = {"mode": "train", "eps": 1e-2, "momentum": 0.5}
    _, cache = Nm.batchnorm_forward(x, gamma, beta, bn_param)
    bn_param.clear()
    grads = BACKWARDS[which](dout, cache)
    _, expected = torch_grads(torch_batchnorm_train(1e-2), [x, gamma, beta], dout)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("which", list(BACKWARDS))
def test_batchnorm_float32_and_inputs_unmodified(which):
    x, gamma, beta, dout = norm_inputs((6, 4), 15, np.float32)
    rm, rv = np.full(4, 0.5, dtype=np.float32), np.full(4, 2.0, dtype=np.float32)
    saved = [a.copy() for a in (x, gamma, beta, dout, rm, rv)]
    bn_param = {"mode": "train", "running_mean": rm, "running_var": rv}
    out, cache = Nm.batchnorm_forward(x, gamma, beta, bn_param)
    grads = BACKWARDS[which](dout, cache)
    out_test, _ = Nm.batchnorm_forward(x, gamma, beta, dict(bn_param, mode="test"))
    assert out.dtype == np.float32 and out_test.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)
    assert bn_param["running_mean"].dtype == np.float32
    assert bn_param["running_var"].dtype == np.float32
    for a, a0 in zip((x, gamma, beta, dout, rm, rv), saved, strict=True):
        np.testing.assert_array_equal(a, a0)
    _, expected = torch_grads(torch_batchnorm_train(1e-5), [x, gamma, beta], dout)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------- layernorm


def torch_layernorm(eps):
    def fn(x, gamma, beta):
        return F.layer_norm(x, (x.shape[1],), gamma, beta, eps=eps)

    return fn


LN_PARAMS = [({}, 1e-5), ({"eps": 1e-2}, 1e-2), ({"mode": "test"}, 1e-5)]
LN_PARAM_IDS = ["empty", "eps1e-2", "mode-test"]


@pytest.mark.parametrize("shape", LN_SHAPES, ids=LN_IDS)
@pytest.mark.parametrize("ln_param, eps", LN_PARAMS, ids=LN_PARAM_IDS)
def test_layernorm_matches_torch(shape, ln_param, eps):
    x, gamma, beta, dout = norm_inputs(shape, 16)
    out, cache = Nm.layernorm_forward(x, gamma, beta, ln_param)
    grads = Nm.layernorm_backward(dout, cache)
    expected_out, expected = torch_grads(torch_layernorm(eps), [x, gamma, beta], dout)
    np.testing.assert_allclose(out, expected_out, rtol=1e-10, atol=1e-12)
    for g, e in zip(grads, expected, strict=True):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("shape", LN_NUMERIC_SHAPES, ids=LN_NUMERIC_IDS)
def test_layernorm_backward_matches_numeric(shape):
    x, gamma, beta, dout = norm_inputs(shape, 17)
    _, cache = Nm.layernorm_forward(x, gamma, beta, {})
    dx, dgamma, dbeta = Nm.layernorm_backward(dout, cache)

    def f(x, gamma, beta):
        return Nm.layernorm_forward(x, gamma, beta, {})[0]

    assert rel_error(dx, numeric_gradient(lambda v: f(v, gamma, beta), x, dout)) < 1e-6
    assert rel_error(dgamma, numeric_gradient(lambda v: f(x, v, beta), gamma, dout)) < 1e-7
    assert rel_error(dbeta, numeric_gradient(lambda v: f(x, gamma, v), beta, dout)) < 1e-7


def test_layernorm_is_per_sample():
    x, gamma, beta, _ = norm_inputs((6, 5), 18)
    out, _ = Nm.layernorm_forward(x, gamma, beta, {})
    for i in range(x.shape[0]):
        row, _ = Nm.layernorm_forward(x[i:i + 1], gamma, beta, {})
        np.testing.assert_allclose(out[i:i + 1], row, rtol=1e-12)


def test_layernorm_float32_and_inputs_unmodified():
    x, gamma, beta, dout = norm_inputs((6, 4), 19, np.float32)
    saved = [a.copy() for a in (x, gamma, beta, dout)]
    ln_param = {}
    out, cache = Nm.layernorm_forward(x, gamma, beta, ln_param)
    grads = Nm.layernorm_backward(dout, cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    for a, a0 in zip((x, gamma, beta, dout), saved, strict=True):
        np.testing.assert_array_equal(a, a0)
    assert ln_param == {}
