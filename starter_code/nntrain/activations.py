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
    raise NotImplementedError('sigmoid_forward: never compute e^t for a large positive t: split on the sign of x')


def sigmoid_backward(dout, cache):
    """Backward pass of the sigmoid: dx = dout * sigma(x) (1 - sigma(x)).

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from sigmoid_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    raise NotImplementedError('sigmoid_backward: reuse sigma(x) from the cache')


def tanh_forward(x):
    """Hyperbolic tangent, tanh(x) = (e^x - e^-x) / (e^x + e^-x).

    Inputs:
    - x: input of any shape (...)

    Returns a tuple of:
    - out: tanh(x), same shape as x (...)
    - cache: what tanh_backward needs
    """
    raise NotImplementedError('tanh_forward: np.tanh; cache the output')


def tanh_backward(dout, cache):
    """Backward pass of tanh: dx = dout * (1 - tanh(x)^2).

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from tanh_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    raise NotImplementedError('tanh_backward: reuse tanh(x) from the cache')


def relu_forward(x):
    """Rectified linear unit, out = max(0, x) elementwise.

    Inputs:
    - x: input of any shape (...)

    Returns a tuple of:
    - out: max(0, x), same shape as x (...)
    - cache: what relu_backward needs
    """
    raise NotImplementedError('relu_forward: compute out = max(0, x) elementwise; cache what the backward pass needs')


def relu_backward(dout, cache):
    """Backward pass of ReLU: dx = dout where x > 0, and 0 where x <= 0.

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from relu_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    raise NotImplementedError('relu_backward: pass dout through only where x > 0 (the gradient at x = 0 is 0)')


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU, out = max(alpha x, x): x where x > 0, alpha x where x <= 0.

    Inputs:
    - x: input of any shape (...)
    - alpha: slope for x <= 0, a scalar in [0, 1)

    Returns a tuple of:
    - out: leaky ReLU of x, same shape as x (...)
    - cache: what leaky_relu_backward needs
    """
    raise NotImplementedError('leaky_relu_forward: x where x > 0, alpha * x elsewhere; cache x and alpha')


def leaky_relu_backward(dout, cache):
    """Backward pass of leaky ReLU: dx = dout where x > 0, alpha * dout where x <= 0.

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from leaky_relu_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    raise NotImplementedError('leaky_relu_backward: slope 1 where x > 0, alpha where x <= 0')


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
    raise NotImplementedError('prelu_forward: like leaky ReLU, with alpha broadcast over the rows')


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
    raise NotImplementedError('prelu_backward: dx as in leaky ReLU; dalpha sums dout * x over the samples where x <= 0')


def elu_forward(x, alpha=1.0):
    """Exponential linear unit: out = x if x > 0 else alpha (e^x - 1), no overflow for large x.

    Inputs:
    - x: input of any shape (...)
    - alpha: scale of the negative part, a positive scalar

    Returns a tuple of:
    - out: ELU of x, same shape as x (...)
    - cache: what elu_backward needs
    """
    raise NotImplementedError('elu_forward: take the exponential of min(x, 0) only, so a large x cannot overflow')


def elu_backward(dout, cache):
    """Backward pass of ELU: dx = dout if x > 0 else dout * alpha e^x.

    Inputs:
    - dout: upstream gradient, same shape as x (...)
    - cache: from elu_forward

    Returns:
    - dx: gradient with respect to x (...)
    """
    raise NotImplementedError('elu_backward: slope 1 where x > 0, alpha * e^x where x <= 0 (again e^min(x, 0))')


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
    raise NotImplementedError('maxout_forward: compute both pieces, keep a mask of where the first wins (>=, for ties)')


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
    raise NotImplementedError('maxout_backward: route dout to the selected piece, then backpropagate each affine piece')
