"""Tests of nntrain.layers against torch autograd and numerical gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nntrain.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from nntrain.layers import affine_backward, affine_forward, softmax_loss

AFFINE_SHAPES = [
    # (id, x shape, M); shapes deliberately non-square
    ("2d", (4, 5), 3),
    ("4d_images", (3, 1, 8, 8), 7),
    ("3d", (2, 3, 4), 6),
    ("single_example", (1, 6), 2),
]


def _affine_inputs(x_shape, M, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    D = int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((D, M)).astype(dtype)
    b = rng.standard_normal(M).astype(dtype)
    dout = rng.standard_normal((x_shape[0], M)).astype(dtype)
    return x, w, b, dout


@pytest.mark.parametrize("name,x_shape,M", AFFINE_SHAPES, ids=[c[0] for c in AFFINE_SHAPES])
def test_affine_matches_torch_autograd(name, x_shape, M):
    x, w, b, dout = _affine_inputs(x_shape, M)
    out, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)

    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out_t = xt.reshape(x.shape[0], -1) @ wt + bt
    out_t.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    for mine, theirs in ((dx, xt), (dw, wt), (db, bt)):
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,x_shape,M", AFFINE_SHAPES, ids=[c[0] for c in AFFINE_SHAPES])
def test_affine_backward_matches_numerical_gradient(name, x_shape, M):
    x, w, b, dout = _affine_inputs(x_shape, M, seed=1)
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b, dout)
    assert rel_error(dx, dx_num) < 1e-8
    assert rel_error(dw, dw_num) < 1e-8
    assert rel_error(db, db_num) < 1e-8


def test_affine_keeps_float32_and_does_not_modify_inputs():
    x, w, b, dout = _affine_inputs((3, 2, 5), 4, dtype=np.float32)
    copies = [a.copy() for a in (x, w, b, dout)]
    out, cache = affine_forward(x, w, b)
    grads = affine_backward(dout, cache)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)
    for a, c in zip((x, w, b, dout), copies, strict=True):
        np.testing.assert_array_equal(a, c)


SOFTMAX_CASES = [
    # (id, N, C, scale of the scores)
    ("small_scores", 5, 10, 1e-3),
    ("unit_scores", 8, 4, 1.0),
    ("large_scores", 6, 3, 50.0),
    ("one_example", 1, 10, 1.0),
]


@pytest.mark.parametrize("name,N,C,scale", SOFTMAX_CASES, ids=[c[0] for c in SOFTMAX_CASES])
def test_softmax_loss_matches_torch_cross_entropy(name, N, C, scale):
    rng = np.random.default_rng(2)
    x = scale * rng.standard_normal((N, C))
    y = rng.integers(C, size=N)
    loss, dx = softmax_loss(x, y)
    xt = torch.tensor(x, requires_grad=True)
    loss_t = F.cross_entropy(xt, torch.tensor(y))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_softmax_loss_matches_numerical_gradient():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 5))
    y = rng.integers(5, size=7)
    _, dx = softmax_loss(x, y)
    dx_num = eval_numerical_gradient(lambda v: softmax_loss(v, y)[0], x)
    assert rel_error(dx, dx_num) < 1e-7


def test_softmax_loss_of_small_scores_is_log_c():
    x = 1e-6 * np.random.default_rng(4).standard_normal((50, 10))
    loss, _ = softmax_loss(x, np.zeros(50, dtype=np.int64))
    assert loss == pytest.approx(np.log(10), rel=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_softmax_loss_stable_for_huge_logits(dtype):
    x = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4], [3e4, 3e4, 3e4]], dtype=dtype)
    y = np.array([1, 0, 2])
    loss, dx = softmax_loss(x, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dx))
    assert dx.dtype == dtype
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    loss_t = F.cross_entropy(xt, torch.tensor(y))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-6)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-6)


def test_softmax_gradient_rows_sum_to_zero():
    rng = np.random.default_rng(5)
    _, dx = softmax_loss(rng.standard_normal((9, 6)), rng.integers(6, size=9))
    np.testing.assert_allclose(dx.sum(axis=1), 0.0, atol=1e-15)
