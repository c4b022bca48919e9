"""The affine layer and the softmax loss (provided, not graded)."""

import numpy as np


def affine_forward(x, w, b):
    """Affine (fully connected) layer, forward pass.

    out = x.reshape(N, D) @ w + b

    Inputs:
    - x: numpy array of shape (N, d_1, ..., d_k), D = d_1 * ... * d_k
    - w: numpy array of shape (D, M), the weights
    - b: numpy array of shape (M,), the biases

    Returns a tuple of:
    - out: numpy array of shape (N, M)
    - cache: (x, w, b)
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Affine layer, backward pass.

    dx = dout @ w.T (reshaped like x), dw = x2d.T @ dout, db = sum_n dout[n]

    Inputs:
    - dout: numpy array of shape (N, M), the upstream gradient
    - cache: (x, w, b) from affine_forward; x of shape (N, d_1, ..., d_k), w of shape (D, M)

    Returns a tuple of:
    - dx: numpy array of shape (N, d_1, ..., d_k)
    - dw: numpy array of shape (D, M)
    - db: numpy array of shape (M,)
    """
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def softmax_loss(x, y):
    """Mean softmax cross-entropy loss and its gradient, stable for large scores.

    p = exp(x - logsumexp(x)), loss = -mean_n log p[n, y_n], dx = (p - onehot(y)) / N

    Inputs:
    - x: numpy array of shape (N, C), the class scores
    - y: integer array of shape (N,), the labels, 0 <= y[n] < C

    Returns a tuple of:
    - loss: float, the mean cross-entropy
    - dx: numpy array of shape (N, C), the gradient of loss with respect to x
    """
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    dx /= n
    return float(loss), dx
