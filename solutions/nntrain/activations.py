"""Activation functions: forward and backward passes.

Every forward pass takes an input array and returns ``(out, cache)``; every backward
pass takes the upstream gradient ``dout`` (same shape as ``out``) and that ``cache``.
Outputs keep the input's dtype, and no function modifies its inputs.
"""

import numpy as np


def sigmoid_forward(x):
    """Sigmoid, sigma(x) = 1 / (1 + e^-x), stable for large |x|.

    Inputs:
    - x: input of any shape (...)

    Returns a tuple of:
    - out: sigma(x), same shape as x (...)
    - cache: what sigmoid_backward needs
    """
    # BEGIN SOLUTION: never compute e^t for a large positive t: split on the sign of x
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    cache = out
    return out, cache
    # END SOLUTION


def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid: dx = dout * sigma(x) (1 - sigma(x)).

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from sigmoid_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    # BEGIN SOLUTION: reuse sigma(x) from the cache
    out = cache
    dx = dout * out * (1 - out)
    return dx
    # END SOLUTION


def tanh_forward(x):
    """Hyperbolic tangent, tanh(x) = (e^x - e^-x) / (e^x + e^-x).

    Inputs:
    - x: input of any shape (...)

    Returns a tuple of:
    - out: tanh(x), same shape as x (...)
    - cache: what tanh_backward needs
    """
    # BEGIN SOLUTION: np.tanh; cache the output
    out = np.tanh(x)
    cache = out
    return out, cache
    # END SOLUTION


def tanh_backward(dout, cache):
    """Backward pass of tanh: dx = dout * (1 - tanh(x)^2).

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from tanh_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    # BEGIN SOLUTION: reuse tanh(x) from the cache
    out = cache
    dx = dout * (1 - out**2)
    return dx
    # END SOLUTION


def relu_forward(x):
    """Rectified linear unit, out = max(0, x) elementwise.

    Inputs:
    - x: input of any shape (...)

    Returns a tuple of:
    - out: max(0, x), same shape as x (...)
    - cache: what relu_backward needs
    """
    # BEGIN SOLUTION: compute out = max(0, x) elementwise; cache what the backward pass needs
    out = np.maximum(x, 0)
    cache = x
    return out, cache
    # END SOLUTION


def relu_backward(dout, cache):
    """Backward pass of ReLU: dx = dout where x > 0, and 0 where x <= 0.

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from relu_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    # BEGIN SOLUTION: pass dout through only where x > 0 (the gradient at x = 0 is 0)
    x = cache
    dx = dout * (x > 0)
    return dx
    # END SOLUTION


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU, out = max(alpha x, x): x where x > 0, alpha x where x <= 0.

    Inputs:
    - x: input of any shape (...)
    - alpha: slope for x <= 0, a scalar in [0, 1)

    Returns a tuple of:
    - out: leaky ReLU of x, same shape as x (...)
    - cache: what leaky_relu_backward needs
    """
    # BEGIN SOLUTION: x where x > 0, alpha * x elsewhere; cache x and alpha
    out = np.where(x > 0, x, alpha * x)
    cache = (x, alpha)
    return out, cache
    # END SOLUTION


def leaky_relu_backward(dout, cache):
    """Backward pass of leaky ReLU: dx = dout where x > 0, alpha * dout where x <= 0.

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from leaky_relu_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    # BEGIN SOLUTION: slope 1 where x > 0, alpha where x <= 0
    x, alpha = cache
    dx = np.where(x > 0, dout, alpha * dout)
    return dx
    # END SOLUTION


def prelu_forward(x, alpha):
    """Parametric ReLU with one learned slope per feature: out = max(alpha x, x).

    out[i, j] = x[i, j] if x[i, j] > 0 else alpha[j] * x[i, j]

    Inputs:
    - x: input of shape (N, D)
    - alpha: slopes for x <= 0, of shape (D,)

    Returns a tuple of:
    - out: output of shape (N, D)
    - cache: what prelu_backward needs
    """
    # BEGIN SOLUTION: like leaky ReLU, with alpha broadcast over the rows
    out = np.where(x > 0, x, alpha * x)
    cache = (x, alpha)
    return out, cache
    # END SOLUTION


def prelu_backward(dout, cache):
    """Backward pass of PReLU.

    dx[i, j] = dout[i, j] if x[i, j] > 0 else alpha[j] * dout[i, j]
    dalpha[j] = sum_i dout[i, j] * x[i, j] over the i where x[i, j] <= 0

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: from prelu_forward

    Returns a tuple of:
    - dx: gradient with respect to x, of shape (N, D)
    - dalpha: gradient with respect to alpha, of shape (D,)
    """
    # BEGIN SOLUTION: dx as in leaky ReLU; dalpha sums dout * x over the samples where x <= 0
    x, alpha = cache
    positive = x > 0
    dx = np.where(positive, dout, alpha * dout)
    dalpha = np.sum(np.where(positive, 0, x) * dout, axis=0)
    return dx, dalpha
    # END SOLUTION


def elu_forward(x, alpha=1.0):
    """Exponential linear unit: out = x if x > 0 else alpha (e^x - 1), no overflow for large x.

    Inputs:
    - x: input of any shape (...)
    - alpha: scale of the negative part, a positive scalar

    Returns a tuple of:
    - out: ELU of x, same shape as x (...)
    - cache: what elu_backward needs
    """
    # BEGIN SOLUTION: take the exponential of min(x, 0) only, so a large x cannot overflow
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    cache = (x, alpha)
    return out, cache
    # END SOLUTION


def elu_backward(dout, cache):
    """Backward pass of ELU: dx = dout if x > 0 else dout * alpha e^x.

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from elu_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    # BEGIN SOLUTION: slope 1 where x > 0, alpha * e^x where x <= 0 (again e^min(x, 0))
    x, alpha = cache
    dx = np.where(x > 0, dout, dout * alpha * np.exp(np.minimum(x, 0)))
    return dx
    # END SOLUTION


def maxout_forward(x, W1, b1, W2, b2):
    """Maxout with two linear pieces: out = max(x W1 + b1, x W2 + b2) elementwise.

    Where the two pieces are equal, the first piece is the one selected.

    Inputs:
    - x: input of shape (N, D)
    - W1, W2: weights of shape (D, M)
    - b1, b2: biases of shape (M,)

    Returns a tuple of:
    - out: output of shape (N, M)
    - cache: what maxout_backward needs
    """
    # BEGIN SOLUTION: compute both pieces, keep a mask of where the first wins (>=, for ties)
    a1 = x @ W1 + b1
    a2 = x @ W2 + b2
    first = a1 >= a2
    out = np.where(first, a1, a2)
    cache = (x, W1, W2, first)
    return out, cache
    # END SOLUTION


def maxout_backward(dout, cache):
    """Backward pass of maxout: the gradient flows only into the selected piece.

    With d1 = dout where piece 1 was selected (else 0) and d2 = dout - d1:
    dx = d1 W1^T + d2 W2^T, dW1 = x^T d1, db1 = sum_i d1, dW2 = x^T d2, db2 = sum_i d2

    Inputs:
    - dout: upstream gradient of shape (N, M)
    - cache: from maxout_forward

    Returns a tuple of:
    - dx: gradient with respect to x, of shape (N, D)
    - dW1: gradient with respect to W1, of shape (D, M)
    - db1: gradient with respect to b1, of shape (M,)
    - dW2: gradient with respect to W2, of shape (D, M)
    - db2: gradient with respect to b2, of shape (M,)
    """
    # BEGIN SOLUTION: route dout to the selected piece, then backpropagate each affine piece
    x, W1, W2, first = cache
    d1 = dout * first
    d2 = dout * ~first
    dx = d1 @ W1.T + d2 @ W2.T
    dW1 = x.T @ d1
    db1 = np.sum(d1, axis=0)
    dW2 = x.T @ d2
    db2 = np.sum(d2, axis=0)
    return dx, dW1, db1, dW2, db2
    # END SOLUTION
