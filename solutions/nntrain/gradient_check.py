"""Numerical gradients for checking analytic ones (provided, not graded).

Every function here perturbs its input array in place and restores it before
returning, so the caller's array is unchanged afterwards.
"""

import numpy as np


def eval_numerical_gradient(f, x, verbose=False, h=1e-5):
    """Centered-difference gradient of a scalar function.

    df/dx_i ~= (f(x + h e_i) - f(x - h e_i)) / (2 h)

    Inputs:
    - f: callable taking an array of shape x.shape and returning a float
    - x: numpy array of any shape, the point; perturbed in place, then restored
    - verbose: if True, print each index and its gradient
    - h: float, the step

    Returns:
    - grad: numpy array of shape x.shape, the numerical gradient of f at x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Centered-difference gradient of an array-valued function, chained with df.

    dx_i ~= sum((f(x + h e_i) - f(x - h e_i)) * df) / (2 h)

    Inputs:
    - f: callable taking an array of shape x.shape and returning an array of shape df.shape
    - x: numpy array of any shape, the point; perturbed in place, then restored
    - df: numpy array of shape f(x).shape, the upstream gradient dL/df
    - h: float, the step

    Returns:
    - grad: numpy array of shape x.shape, the numerical dL/dx
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), copy=True)
        x[ix] = old - h
        neg = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def rel_error(x, y):
    """Largest elementwise relative error between two arrays.

    rel_error = max_i |x_i - y_i| / max(1e-8, |x_i| + |y_i|)

    Inputs:
    - x: numpy array of any shape (or a float)
    - y: numpy array of the same shape as x (or a float)

    Returns:
    - err: float, the largest relative error
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0):
    """Compare an analytic gradient with centered differences at a few random entries.

    err_i = |g_num - g_ana| / (|g_num| + |g_ana|), with
    g_num = (f(x + h e_i) - f(x - h e_i)) / (2 h)

    Inputs:
    - f: callable taking an array of shape x.shape and returning a float
    - x: numpy array of any shape, the point; perturbed in place, then restored
    - analytic_grad: numpy array of shape x.shape, the gradient to check
    - num_checks: int, how many random entries to check
    - h: float, the step
    - seed: int, seed of the generator that picks the entries

    Returns:
    - errors: numpy array of shape (num_checks,), the relative error at each checked entry
    """
    rng = np.random.default_rng(seed)
    errors = np.zeros(num_checks)
    for i in range(num_checks):
        ix = tuple(int(rng.integers(m)) for m in x.shape)
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        denom = max(1e-12, abs(grad_numerical) + abs(grad_analytic))
        errors[i] = abs(grad_numerical - grad_analytic) / denom
        print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, "
              f"relative error: {errors[i]:e}")
    return errors
