"""Tests of nntrain.gradient_check: numerical gradients of functions with known gradients."""

import numpy as np
import pytest

from nntrain import gradient_check as gc

SCALAR_CASES = [
    # (id, f, analytic gradient, shape)
    ("sum_of_squares", lambda x: np.sum(x**2), lambda x: 2 * x, (4, 3)),
    ("sin_dot", lambda x: np.sum(np.sin(x) * np.arange(x.size).reshape(x.shape)),
     lambda x: np.cos(x) * np.arange(x.size).reshape(x.shape), (2, 3, 2)),
    ("log_sum_exp", lambda x: np.log(np.sum(np.exp(x))),
     lambda x: np.exp(x) / np.sum(np.exp(x)), (7,)),
    ("quartic_cross", lambda x: np.sum(x**4) + x[0, 0] * x[1, 1],
     lambda x: 4 * x**3 + np.array([[x[1, 1], 0], [0, x[0, 0]]]), (2, 2)),
]

ARRAY_CASES = [
    # (id, f, df/dx elementwise-chained: dx = g(x, dout), shape)
    ("cube", lambda x: x**3, lambda x, d: 3 * x**2 * d, (3, 4)),
    ("matmul", lambda x: x @ np.arange(12.0).reshape(4, 3),
     lambda x, d: d @ np.arange(12.0).reshape(4, 3).T, (5, 4)),
    ("tanh", np.tanh, lambda x, d: (1 - np.tanh(x) ** 2) * d, (2, 3, 4)),
]


@pytest.mark.parametrize("name,f,grad,shape", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_eval_numerical_gradient_matches_analytic(name, f, grad, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    num = gc.eval_numerical_gradient(f, x)
    assert num.shape == x.shape
    assert gc.rel_error(num, grad(x)) < 1e-7


@pytest.mark.parametrize("name,f,grad,shape", ARRAY_CASES, ids=[c[0] for c in ARRAY_CASES])
def test_eval_numerical_gradient_array_matches_analytic(name, f, grad, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(f(x).shape)
    num = gc.eval_numerical_gradient_array(f, x, dout)
    assert num.shape == x.shape
    assert gc.rel_error(num, grad(x, dout)) < 1e-7


def test_functions_restore_x():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5))
    before = x.copy()
    gc.eval_numerical_gradient(lambda z: np.sum(z**3), x)
    np.testing.assert_array_equal(x, before)
    gc.eval_numerical_gradient_array(lambda z: z**2, x, np.ones_like(x))
    np.testing.assert_array_equal(x, before)
    gc.grad_check_sparse(lambda z: np.sum(z**2), x, 2 * x, num_checks=5)
    np.testing.assert_array_equal(x, before)


def test_array_version_is_not_fooled_by_f_returning_x_itself():
    x = np.random.default_rng(3).standard_normal((2, 3))
    num = gc.eval_numerical_gradient_array(lambda z: z, x, np.ones_like(x))
    np.testing.assert_allclose(num, np.ones_like(x), rtol=1e-8)


REL_ERROR_CASES = [
    ("equal", np.array([1.0, -2.0]), np.array([1.0, -2.0]), 0.0),
    ("one_percent", np.array([1.0, 1.0]), np.array([1.0, 1.02]), 0.02 / 2.02),
    ("opposite", np.array([3.0]), np.array([-3.0]), 1.0),
    ("zeros_floor", np.zeros(3), np.zeros(3), 0.0),
    ("tiny_below_floor", np.array([0.0]), np.array([1e-10]), 1e-2),
]


@pytest.mark.parametrize("name,x,y,expected", REL_ERROR_CASES,
                         ids=[c[0] for c in REL_ERROR_CASES])
def test_rel_error(name, x, y, expected):
    assert gc.rel_error(x, y) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_grad_check_sparse_small_for_right_large_for_wrong(capsys):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 5))
    f = lambda z: np.sum(z**3)  # noqa: E731
    good = gc.grad_check_sparse(f, x, 3 * x**2, num_checks=8)
    assert good.shape == (8,)
    assert np.all(good < 1e-5)
    bad = gc.grad_check_sparse(f, x, 2 * x**2, num_checks=8)
    assert np.all(bad > 0.1)
    assert "relative error" in capsys.readouterr().out


def test_grad_check_sparse_is_seeded():
    x = np.random.default_rng(5).standard_normal((10, 10))
    f = lambda z: np.sum(np.abs(z) ** 1.5)  # noqa: E731
    wrong = np.ones_like(x)
    a = gc.grad_check_sparse(f, x, wrong, seed=7)
    b = gc.grad_check_sparse(f, x, wrong, seed=7)
    np.testing.assert_array_equal(a, b)
