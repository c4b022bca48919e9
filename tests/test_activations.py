"""nntrain.activations against torch autograd and central differences."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numeric import numeric_gradient, rel_error, torch_grads

from nntrain import activations as A

SHAPES = [(4, 7), (1, 5), (6,), (2, 3, 4)]
SHAPE_IDS = ["4x7", "N=1", "1d", "3d"]


def away_from_kinks(rng, shape, margin=1e-2):
    """Gaussian values with every |x| >= margin, so central differences see no kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 0.5 * margin) * margin, x)


# name: (forward with its parameters bound, backward, torch function)
ELEMENTWISE = {
    "sigmoid": (A.sigmoid_forward, A.sigmoid_backward, torch.sigmoid),
    "tanh": (A.tanh_forward, A.tanh_backward, torch.tanh),
    "relu": (A.relu_forward, A.relu_backward, torch.relu),
    "leaky_relu": (
        lambda x: A.leaky_relu_forward(x, alpha=0.1),
        A.leaky_relu_backward,
        lambda t: F.leaky_relu(t, 0.1),
    ),
    "leaky_relu_default": (
        A.leaky_relu_forward,
        A.leaky_relu_backward,
        lambda t: F.leaky_relu(t, 0.01),
    ),
    "elu": (A.elu_forward, A.elu_backward, F.elu),
    "elu_alpha": (
        lambda x: A.elu_forward(x, alpha=0.5),
        A.elu_backward,
        lambda t: F.elu(t, alpha=0.5),
    ),
}
ELEMENTWISE_CASES = [
    pytest.param(name, shape, id=f"{name}-{sid}")
    for name in ELEMENTWISE
    for shape, sid in zip(SHAPES, SHAPE_IDS, strict=True)
]


@pytest.mark.parametrize("name, shape", ELEMENTWISE_CASES)
def test_elementwise_matches_torch(name, shape):
    fwd, bwd, torch_fn = ELEMENTWISE[name]
    rng = np.random.default_rng(0)
    x = 3 * rng.standard_normal(shape)
    dout = rng.standard_normal(shape)
    out, cache = fwd(x)
    expected_out, (expected_dx,) = torch_grads(torch_fn, [x], dout)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bwd(dout, cache), expected_dx, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, shape", ELEMENTWISE_CASES)
def test_elementwise_backward_matches_numeric(name, shape):
    fwd, bwd, _ = ELEMENTWISE[name]
    rng = np.random.default_rng(1)
    x = away_from_kinks(rng, shape)
    dout = rng.standard_normal(shape)
    _, cache = fwd(x)
    dx = bwd(dout, cache)
    dx_num = numeric_gradient(lambda v: fwd(v)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-7


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_keeps_float32_and_inputs(name):
    fwd, bwd, _ = ELEMENTWISE[name]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    dout = rng.standard_normal((5, 3)).astype(np.float32)
    x0, dout0 = x.copy(), dout.copy()
    out, cache = fwd(x)
    dx = bwd(dout, cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    assert out.shape == x.shape and dx.shape == x.shape
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)


# (name, x, expected out, expected dx for dout = 1)
EXTREMES = [
    ("sigmoid", [-1000.0, 1000.0], [0.0, 1.0], [0.0, 0.0]),
    ("elu", [1000.0, -1000.0], [1000.0, -1.0], [1.0, 0.0]),
    ("elu_alpha", [1000.0, -1000.0], [1000.0, -0.5], [1.0, 0.0]),
    ("tanh", [-1000.0, 1000.0], [-1.0, 1.0], [0.0, 0.0]),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(
    "name, x, expected_out, expected_dx", EXTREMES, ids=[c[0] for c in EXTREMES]
)
def test_large_inputs_without_overflow(name, x, expected_out, expected_dx, dtype):
    fwd, bwd, _ = ELEMENTWISE[name]
    x = np.array(x, dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out, cache = fwd(x)
        dx = bwd(np.ones_like(x), cache)
    assert out.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(out, expected_out, atol=1e-12)
    np.testing.assert_allclose(dx, expected_dx, atol=1e-12)


def test_sigmoid_float32_beyond_exp_range():
    x = np.array([-100.0, -50.0, 50.0, 100.0], dtype=np.float32)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out, _ = A.sigmoid_forward(x)
    np.testing.assert_allclose(out, [0.0, 0.0, 1.0, 1.0], atol=1e-7)


# gradient exactly at x = 0: (name, expected dx for dout = 1)
AT_ZERO = [
    ("relu", 0.0),
    ("leaky_relu", 0.1),
    ("leaky_relu_default", 0.01),
    ("elu", 1.0),
    ("elu_alpha", 0.5),
]


@pytest.mark.parametrize("name, expected", AT_ZERO, ids=[c[0] for c in AT_ZERO])
def test_gradient_at_zero(name, expected):
    fwd, bwd, _ = ELEMENTWISE[name]
    x = np.zeros((2, 3))
    out, cache = fwd(x)
    np.testing.assert_array_equal(out, 0.0)
    np.testing.assert_array_equal(bwd(np.ones_like(x), cache), expected)


def test_relu_values():
    x = np.array([[-2.0, -0.0, 0.0, 1e-300, 3.0]])
    out, cache = A.relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 0.0, 1e-300, 3.0]])
    np.testing.assert_array_equal(A.relu_backward(np.full_like(x, 5.0), cache),
                                  [[0.0, 0.0, 0.0, 5.0, 5.0]])


# ---------------------------------------------------------------- PReLU

PRELU_SHAPES = [(4, 7), (1, 5), (9, 2)]
PRELU_IDS = ["4x7", "N=1", "9x2"]


def prelu_inputs(shape, seed, kinks_margin=None):
    rng = np.random.default_rng(seed)
    x = away_from_kinks(rng, shape) if kinks_margin else rng.standard_normal(shape)
    alpha = rng.uniform(0.01, 0.5, size=shape[1])
    dout = rng.standard_normal(shape)
    return x, alpha, dout


@pytest.mark.parametrize("shape", PRELU_SHAPES, ids=PRELU_IDS)
def test_prelu_matches_torch(shape):
    x, alpha, dout = prelu_inputs(shape, 3)
    out, cache = A.prelu_forward(x, alpha)
    dx, dalpha = A.prelu_backward(dout, cache)
    expected_out, (expected_dx, expected_dalpha) = torch_grads(F.prelu, [x, alpha], dout)
    assert dalpha.shape == alpha.shape
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dalpha, expected_dalpha, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", PRELU_SHAPES, ids=PRELU_IDS)
def test_prelu_backward_matches_numeric(shape):
    x, alpha, dout = prelu_inputs(shape, 4, kinks_margin=True)
    dx, dalpha = A.prelu_backward(dout, A.prelu_forward(x, alpha)[1])
    dx_num = numeric_gradient(lambda v: A.prelu_forward(v, alpha)[0], x, dout)
    dalpha_num = numeric_gradient(lambda a: A.prelu_forward(x, a)[0], alpha, dout)
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dalpha, dalpha_num) < 1e-7


def test_prelu_float32_and_inputs_unmodified():
    x, alpha, dout = (a.astype(np.float32) for a in prelu_inputs((5, 3), 5))
    saved = [a.copy() for a in (x, alpha, dout)]
    out, cache = A.prelu_forward(x, alpha)
    dx, dalpha = A.prelu_backward(dout, cache)
    assert {out.dtype, dx.dtype, dalpha.dtype} == {np.dtype(np.float32)}
    for a, a0 in zip((x, alpha, dout), saved, strict=True):
        np.testing.assert_array_equal(a, a0)


# ---------------------------------------------------------------- maxout

MAXOUT_SHAPES = [(4, 7, 3), (1, 5, 2), (6, 2, 9)]
MAXOUT_IDS = ["N4-D7-M3", "N=1", "N6-D2-M9"]


def maxout_inputs(shape, seed, min_gap=0.0):
    """x, W1, b1, W2, b2, dout; resampled until the two pieces differ by at least min_gap."""
    n, d, m = shape
    rng = np.random.default_rng(seed)
    while True:
        x = rng.standard_normal((n, d))
        W1, W2 = rng.standard_normal((d, m)), rng.standard_normal((d, m))
        b1, b2 = rng.standard_normal(m), rng.standard_normal(m)
        if np.min(np.abs(x @ W1 + b1 - x @ W2 - b2)) >= min_gap:
            return x, W1, b1, W2, b2, rng.standard_normal((n, m))


def torch_maxout(x, W1, b1, W2, b2):
    a1, a2 = x @ W1 + b1, x @ W2 + b2
    return torch.where(a1 >= a2, a1, a2)


@pytest.mark.parametrize("shape", MAXOUT_SHAPES, ids=MAXOUT_IDS)
def test_maxout_matches_torch(shape):
    *params, dout = maxout_inputs(shape, 6)
    out, cache = A.maxout_forward(*params)
    grads = A.maxout_backward(dout, cache)
    expected_out, expected_grads = torch_grads(torch_maxout, params, dout)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-14)
    assert len(grads) == 5
    for g, e, p in zip(grads, expected_grads, params, strict=True):
        assert g.shape == p.shape
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", MAXOUT_SHAPES, ids=MAXOUT_IDS)
def test_maxout_backward_matches_numeric(shape):
    *params, dout = maxout_inputs(shape, 7, min_gap=1e-3)
    grads = A.maxout_backward(dout, A.maxout_forward(*params)[1])
    for i, grad in enumerate(grads):
        def f(v, i=i):
            return A.maxout_forward(*params[:i], v, *params[i + 1:])[0]

        assert rel_error(grad, numeric_gradient(f, params[i], dout)) < 1e-7


def test_maxout_ties_go_to_first_piece():
    x, W1, b1, _, _, dout = maxout_inputs((4, 3, 5), 8)
    W2, b2 = W1.copy(), b1.copy()
    W2[:, :2] += 1.0  # columns 0, 1 differ; columns 2..4 tie everywhere
    out, cache = A.maxout_forward(x, W1, b1, W2, b2)
    dx, dW1, db1, dW2, db2 = A.maxout_backward(dout, cache)
    np.testing.assert_array_equal(dW2[:, 2:], 0.0)
    np.testing.assert_array_equal(db2[2:], 0.0)
    np.testing.assert_allclose(dW1[:, 2:], x.T @ dout[:, 2:], rtol=1e-12)
    np.testing.assert_allclose(db1[2:], dout[:, 2:].sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(out[:, 2:], (x @ W1 + b1)[:, 2:], rtol=1e-12)


def test_maxout_float32_and_inputs_unmodified():
    arrays = [a.astype(np.float32) for a in maxout_inputs((5, 4, 3), 9)]
    saved = [a.copy() for a in arrays]
    *params, dout = arrays
    out, cache = A.maxout_forward(*params)
    grads = A.maxout_backward(dout, cache)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)
    for a, a0 in zip(arrays, saved, strict=True):
        np.testing.assert_array_equal(a, a0)
