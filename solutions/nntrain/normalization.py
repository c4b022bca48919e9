"""Batch normalization and layer normalization: forward and backward passes.

Inputs x have shape (N, D); gamma and beta have shape (D,). Outputs keep x's dtype,
and no function writes into its input arrays (bn_param gets new arrays assigned).
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization, per feature over the mini-batch.

    Train mode, with the batch mean and the biased batch variance:
        mu = (1/N) sum_i x_i,  var = (1/N) sum_i (x_i - mu)^2
        xhat = (x - mu) / sqrt(var + eps),  out = gamma * xhat + beta
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    Test mode: the same normalization with running_mean and running_var for mu and var.

    Inputs:
    - x: data of shape (N, D)
    - gamma: scale of shape (D,)
    - beta: shift of shape (D,)
    - bn_param: dict with keys
      - mode: 'train' or 'test' (required)
      - eps: constant for numerical stability (default 1e-5)
      - momentum: constant for the running averages (default 0.9)
      - running_mean: array of shape (D,), zeros of x's dtype when absent
      - running_var: array of shape (D,), ones of x's dtype when absent

    Returns a tuple of:
    - out: output of shape (N, D)
    - cache: what the backward passes need (train mode)
    bn_param's running_mean and running_var are replaced with the new averages.
    """
    # BEGIN SOLUTION: train: batch statistics, update running averages; test: running averages
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))

    if mode == "train":
        mu = np.mean(x, axis=0)
        xc = x - mu
        var = np.mean(xc**2, axis=0)
        std = np.sqrt(var + eps)
        ivar = 1 / std
        xhat = xc * ivar
        out = gamma * xhat + beta
        cache = (xhat, xc, ivar, std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * xhat + beta
        cache = None
    else:
        raise ValueError(f"Invalid batchnorm mode {mode!r}")

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache
    # END SOLUTION


def batchnorm_backward(dout, cache):
    """Backward pass of batch normalization (train mode), stage by stage through the graph.

    The forward graph: mu = mean(x), xc = x - mu, var = mean(xc^2), std = sqrt(var + eps),
    ivar = 1 / std, xhat = xc * ivar, out = gamma * xhat + beta.

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: from batchnorm_forward in train mode

    Returns a tuple of:
    - dx: gradient with respect to x, of shape (N, D)
    - dgamma: gradient with respect to gamma, of shape (D,)
    - dbeta: gradient with respect to beta, of shape (D,)
    """
    # BEGIN SOLUTION: walk the forward graph backwards, one node at a time
    xhat, xc, ivar, std, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    divar = np.sum(dxhat * xc, axis=0)
    dxc = dxhat * ivar
    dstd = -divar / std**2
    dvar = dstd / (2 * std)
    dxc = dxc + 2 * xc * dvar / N
    dmu = -np.sum(dxc, axis=0)
    dx = dxc + dmu / N
    return dx, dgamma, dbeta
    # END SOLUTION


def batchnorm_backward_alt(dout, cache):
    """Backward pass of batch normalization (train mode), in closed form.

    With dxhat = dout * gamma, for each feature:
        dx = (1 / (N sqrt(var + eps))) (N dxhat - sum_i dxhat_i - xhat sum_i (dxhat_i xhat_i))

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: from batchnorm_forward in train mode

    Returns a tuple of:
    - dx: gradient with respect to x, of shape (N, D)
    - dgamma: gradient with respect to gamma, of shape (D,)
    - dbeta: gradient with respect to beta, of shape (D,)
    """
    # BEGIN SOLUTION: the simplified expression above, with sums over axis 0
    xhat, _, ivar, _, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (ivar / N) * (
        N * dxhat - np.sum(dxhat, axis=0) - xhat * np.sum(dxhat * xhat, axis=0)
    )
    return dx, dgamma, dbeta
    # END SOLUTION


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization, per sample over the features; the same in train and test.

    mu_i = (1/D) sum_j x_ij,  var_i = (1/D) sum_j (x_ij - mu_i)^2
    xhat_ij = (x_ij - mu_i) / sqrt(var_i + eps),  out_ij = gamma_j xhat_ij + beta_j

    Inputs:
    - x: data of shape (N, D)
    - gamma: scale of shape (D,)
    - beta: shift of shape (D,)
    - ln_param: dict with optional key eps (default 1e-5); may be empty

    Returns a tuple of:
    - out: output of shape (N, D)
    - cache: what layernorm_backward needs
    """
    # BEGIN SOLUTION: batchnorm's train-mode statistics, over axis 1 instead of axis 0
    eps = ln_param.get("eps", 1e-5)
    mu = np.mean(x, axis=1, keepdims=True)
    xc = x - mu
    var = np.mean(xc**2, axis=1, keepdims=True)
    ivar = 1 / np.sqrt(var + eps)
    xhat = xc * ivar
    out = gamma * xhat + beta
    cache = (xhat, ivar, gamma)
    return out, cache
    # END SOLUTION


def layernorm_backward(dout, cache):
    """Backward pass of layer normalization.

    With dxhat = dout * gamma, for each sample (sums over the D features):
        dx = (1 / (D sqrt(var + eps))) (D dxhat - sum_j dxhat_j - xhat sum_j (dxhat_j xhat_j))
    dgamma = sum_i dout_i * xhat_i,  dbeta = sum_i dout_i

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: from layernorm_forward

    Returns a tuple of:
    - dx: gradient with respect to x, of shape (N, D)
    - dgamma: gradient with respect to gamma, of shape (D,)
    - dbeta: gradient with respect to beta, of shape (D,)
    """
    # BEGIN SOLUTION: batch normalization's closed form with the sums over axis 1
    xhat, ivar, gamma = cache
    D = dout.shape[1]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (ivar / D) * (
        D * dxhat
        - np.sum(dxhat, axis=1, keepdims=True)
        - xhat * np.sum(dxhat * xhat, axis=1, keepdims=True)
    )
    return dx, dgamma, dbeta
    # END SOLUTION
