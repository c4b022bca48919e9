"""Common student mistakes, as mutants of the reference solution.

A mutant is (function, description, source): `source` is a full `def` (or `class`)
appended to a copy of the reference module of `function`, where it overrides the
reference's definition. `function` names the graded function whose cases must catch it
(the def may be another one of the same module, e.g. a forward pass whose cache breaks the
backward pass). Each works with the reference's cache formats.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    function: str
    description: str
    source: str

    @property
    def module(self) -> str:
        return self.function.split(".", 1)[0]


def m(function: str, description: str, source: str) -> Mutant:
    return Mutant(function, description, textwrap.dedent(source).strip() + "\n")


ACTIVATIONS = [
    m("activations.sigmoid_forward", "naive 1/(1+e^-x) overflows at x = -1000", """
    def sigmoid_forward(x):
        out = 1 / (1 + np.exp(-x))
        return out, out
    """),
    m("activations.sigmoid_forward", "e^x/(1+e^x) is NaN at x = +1000", """
    def sigmoid_forward(x):
        e = np.exp(x)
        out = e / (1 + e)
        return out, out
    """),
    m("activations.sigmoid_forward", "float32 input upcast to float64", """
    def sigmoid_forward(x):
        x = x.astype(np.float64)
        z = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
        return out, out
    """),
    m("activations.sigmoid_backward", "forgets the (1 - sigma) factor", """
    def sigmoid_backward(dout, cache):
        return dout * cache
    """),
    m("activations.sigmoid_backward", "applies sigma again to the cached output", """
    def sigmoid_backward(dout, cache):
        s = 1 / (1 + np.exp(-cache))
        return dout * s * (1 - s)
    """),
    m("activations.tanh_forward", "writes tanh into x in place", """
    def tanh_forward(x):
        np.tanh(x, out=x)
        return x, x
    """),
    m("activations.tanh_backward", "1 - tanh instead of 1 - tanh^2", """
    def tanh_backward(dout, cache):
        return dout * (1 - cache)
    """),
    m("activations.tanh_backward", "float32 upcast to float64", """
    def tanh_backward(dout, cache):
        return dout * (1 - cache.astype(np.float64) ** 2)
    """),
    m("activations.relu_forward", "zeroes the negatives of x in place", """
    def relu_forward(x):
        x[x < 0] = 0
        return x, x
    """),
    m("activations.relu_forward", "float32 upcast to float64", """
    def relu_forward(x):
        return np.maximum(x, 0).astype(float), x
    """),
    m("activations.relu_forward", "reshapes x to 2-D (N, -1)", """
    def relu_forward(x):
        flat = x.reshape(x.shape[0], -1)
        return np.maximum(flat, 0), flat
    """),
    m("activations.relu_backward", "gradient 1 at x = 0 (x >= 0)", """
    def relu_backward(dout, cache):
        return dout * (cache >= 0)
    """),
    m("activations.leaky_relu_forward", "alpha applied on the positive side", """
    def leaky_relu_forward(x, alpha=0.01):
        return np.where(x > 0, alpha * x, x), (x, alpha)
    """),
    m("activations.leaky_relu_forward", "default alpha 0.1 instead of 0.01", """
    def leaky_relu_forward(x, alpha=0.1):
        return np.where(x > 0, x, alpha * x), (x, alpha)
    """),
    m("activations.leaky_relu_backward", "slope 1 at x = 0 (x >= 0)", """
    def leaky_relu_backward(dout, cache):
        x, alpha = cache
        return np.where(x >= 0, dout, alpha * dout)
    """),
    m("activations.leaky_relu_backward", "ignores alpha from the cache, uses 0.01", """
    def leaky_relu_backward(dout, cache):
        x, alpha = cache
        return np.where(x > 0, dout, 0.01 * dout)
    """),
    m("activations.prelu_forward", "forgets alpha: plain ReLU", """
    def prelu_forward(x, alpha):
        return np.maximum(x, 0), (x, alpha)
    """),
    m("activations.prelu_backward", "dalpha not summed over the samples", """
    def prelu_backward(dout, cache):
        x, alpha = cache
        dx = np.where(x > 0, dout, alpha * dout)
        return dx, np.where(x > 0, 0, x) * dout
    """),
    m("activations.prelu_backward", "dalpha with the wrong sign", """
    def prelu_backward(dout, cache):
        x, alpha = cache
        dx = np.where(x > 0, dout, alpha * dout)
        return dx, -np.sum(np.where(x > 0, 0, x) * dout, axis=0)
    """),
    m("activations.prelu_backward", "dalpha sums over positive entries too", """
    def prelu_backward(dout, cache):
        x, alpha = cache
        dx = np.where(x > 0, dout, alpha * dout)
        return dx, np.sum(x * dout, axis=0)
    """),
    m("activations.elu_forward", "e^x inside np.where overflows at x = 1000", """
    def elu_forward(x, alpha=1.0):
        return np.where(x > 0, x, alpha * (np.exp(x) - 1)), (x, alpha)
    """),
    m("activations.elu_forward", "ignores alpha", """
    def elu_forward(x, alpha=1.0):
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0))), (x, alpha)
    """),
    m("activations.elu_backward", "forgets alpha in the negative slope", """
    def elu_backward(dout, cache):
        x, alpha = cache
        return np.where(x > 0, dout, dout * np.exp(np.minimum(x, 0)))
    """),
    m("activations.elu_backward", "e^x inside np.where overflows at x = 1000", """
    def elu_backward(dout, cache):
        x, alpha = cache
        return np.where(x > 0, dout, dout * alpha * np.exp(x))
    """),
    m("activations.elu_backward", "slope 1 at x = 0 (x >= 0)", """
    def elu_backward(dout, cache):
        x, alpha = cache
        return np.where(x >= 0, dout, dout * alpha * np.exp(np.minimum(x, 0)))
    """),
    m("activations.maxout_forward", "biases swapped between the pieces", """
    def maxout_forward(x, W1, b1, W2, b2):
        a1, a2 = x @ W1 + b2, x @ W2 + b1
        first = a1 >= a2
        return np.where(first, a1, a2), (x, W1, W2, first)
    """),
    m("activations.maxout_backward", "ties go to the second piece", """
    def maxout_forward(x, W1, b1, W2, b2):
        a1, a2 = x @ W1 + b1, x @ W2 + b2
        first = a1 > a2
        return np.where(first, a1, a2), (x, W1, W2, first)
    """),
    m("activations.maxout_backward", "dW1 and dW2 swapped", """
    def maxout_backward(dout, cache):
        x, W1, W2, first = cache
        d1, d2 = dout * first, dout * ~first
        dx = d1 @ W1.T + d2 @ W2.T
        return dx, x.T @ d2, d1.sum(axis=0), x.T @ d1, d2.sum(axis=0)
    """),
    m("activations.maxout_backward", "dx through W1 only", """
    def maxout_backward(dout, cache):
        x, W1, W2, first = cache
        d1, d2 = dout * first, dout * ~first
        dx = dout @ W1.T
        return dx, x.T @ d1, d1.sum(axis=0), x.T @ d2, d2.sum(axis=0)
    """),
    m("activations.maxout_backward", "db summed over the wrong axis", """
    def maxout_backward(dout, cache):
        x, W1, W2, first = cache
        d1, d2 = dout * first, dout * ~first
        dx = d1 @ W1.T + d2 @ W2.T
        return dx, x.T @ d1, d1.sum(axis=1), x.T @ d2, d2.sum(axis=1)
    """),
]

WEIGHT_INIT = [
    m("weight_init.small_random_init", "scale squared (variance taken for std)", """
    def small_random_init(fan_in, fan_out, scale=0.01, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return scale**2 * rng.standard_normal((fan_in, fan_out))
    """),
    m("weight_init.small_random_init", "draws from np.random, ignoring rng", """
    def small_random_init(fan_in, fan_out, scale=0.01, rng=None):
        return scale * np.random.randn(fan_in, fan_out)
    """),
    m("weight_init.xavier_init", "divides by sqrt(fan_out)", """
    def xavier_init(fan_in, fan_out, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_out)
    """),
    m("weight_init.xavier_init", "shape (fan_out, fan_in)", """
    def xavier_init(fan_in, fan_out, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)
    """),
    m("weight_init.xavier_init", "uniform with the right variance instead of normal", """
    def xavier_init(fan_in, fan_out, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        limit = np.sqrt(3 / fan_in)
        return rng.uniform(-limit, limit, (fan_in, fan_out))
    """),
    m("weight_init.he_init", "1/fan_in: the factor 2 missing", """
    def he_init(fan_in, fan_out, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
    """),
    m("weight_init.he_init", "uses fan_out", """
    def he_init(fan_in, fan_out, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_out / 2)
    """),
    m("weight_init.he_init", "uniform U(-1, 1) scaled like a normal", """
    def he_init(fan_in, fan_out, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return rng.uniform(-1, 1, (fan_in, fan_out)) * np.sqrt(2 / fan_in)
    """),
    m("weight_init.he_init", "2 / fan_in taken as the standard deviation", """
    def he_init(fan_in, fan_out, rng=None):
        rng = np.random.default_rng() if rng is None else rng
        return rng.standard_normal((fan_in, fan_out)) * 2 / fan_in
    """),
]

_BN_HEAD = """
mode = bn_param["mode"]
eps = bn_param.get("eps", 1e-5)
momentum = bn_param.get("momentum", 0.9)
D = x.shape[1]
running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))
"""

_BN_TAIL = """
std = np.sqrt(var + eps)
xc = x - mu
xhat = xc / std
out = gamma * xhat + beta
cache = (xhat, xc, 1 / std, std, gamma)
if {store}:
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
return out, cache
"""


def _block(code: str, depth: int) -> str:
    """`code` dedented, stripped and indented by `depth` levels of four spaces."""
    return textwrap.indent(textwrap.dedent(code).strip(), "    " * depth)


def bn(description: str, train: str, test: str = "", store: bool = True) -> Mutant:
    """A batchnorm_forward mutant from the reference's skeleton with one part replaced."""
    test = test or "mu, var = running_mean, running_var"
    source = "\n".join([
        "def batchnorm_forward(x, gamma, beta, bn_param):", _block(_BN_HEAD, 1),
        "    if mode == 'train':", _block(train, 2), "    else:", _block(test, 2),
        _block(_BN_TAIL.format(store=store), 1),
    ])
    return Mutant("normalization.batchnorm_forward", description, source + "\n")


_BN_TRAIN = """
    mu, var = x.mean(axis=0), x.var(axis=0)
    running_mean = momentum * running_mean + (1 - momentum) * mu
    running_var = momentum * running_var + (1 - momentum) * var
"""

NORMALIZATION = [
    bn("unbiased batch variance (ddof=1)", _BN_TRAIN.replace("x.var(axis=0)",
                                                           "x.var(axis=0, ddof=1)")),
    bn("momentum direction swapped", """
    mu, var = x.mean(axis=0), x.var(axis=0)
    running_mean = (1 - momentum) * running_mean + momentum * mu
    running_var = (1 - momentum) * running_var + momentum * var
    """),
    bn("test mode uses the batch statistics", _BN_TRAIN,
       test="mu, var = x.mean(axis=0), x.var(axis=0)"),
    bn("running statistics not written back", _BN_TRAIN, store=False),
    bn("running variance updated with the std", _BN_TRAIN.replace("(1 - momentum) * var",
                                                                 "(1 - momentum) * np.sqrt(var)")),
    m("normalization.batchnorm_forward", "float32 upcast to float64", """
    _reference_bn = batchnorm_forward

    def batchnorm_forward(x, gamma, beta, bn_param):
        return _reference_bn(x.astype(np.float64), gamma, beta, bn_param)
    """),
    m("normalization.batchnorm_forward", "eps outside the square root", """
    def batchnorm_forward(x, gamma, beta, bn_param):
        eps = bn_param.get("eps", 1e-5)
        mu, var = x.mean(axis=0), x.var(axis=0)
        std = np.sqrt(var) + eps
        xc = x - mu
        xhat = xc / std
        bn_param.setdefault("running_mean", np.zeros(x.shape[1]))
        bn_param.setdefault("running_var", np.ones(x.shape[1]))
        bn_param["running_mean"] = 0.9 * bn_param["running_mean"] + 0.1 * mu
        bn_param["running_var"] = 0.9 * bn_param["running_var"] + 0.1 * var
        return gamma * xhat + beta, (xhat, xc, 1 / std, std, gamma)
    """),
    m("normalization.batchnorm_backward", "ignores the path through the variance", """
    def batchnorm_backward(dout, cache):
        xhat, xc, ivar, std, gamma = cache
        dxhat = dout * gamma
        dx = ivar * (dxhat - dxhat.mean(axis=0))
        return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
    """),
    m("normalization.batchnorm_backward", "dgamma from x - mu instead of xhat", """
    _reference_bn_backward = batchnorm_backward

    def batchnorm_backward(dout, cache):
        dx, _, dbeta = _reference_bn_backward(dout, cache)
        return dx, np.sum(dout * cache[1], axis=0), dbeta
    """),
    m("normalization.batchnorm_backward", "dbeta summed over features", """
    _reference_bn_backward = batchnorm_backward

    def batchnorm_backward(dout, cache):
        dx, dgamma, _ = _reference_bn_backward(dout, cache)
        return dx, dgamma, np.sum(dout, axis=1)
    """),
    m("normalization.batchnorm_backward_alt", "sums over the features (axis 1)", """
    def batchnorm_backward_alt(dout, cache):
        xhat, _, ivar, _, gamma = cache
        N = dout.shape[0]
        dxhat = dout * gamma
        dx = (ivar / N) * (N * dxhat - np.sum(dxhat, axis=1, keepdims=True)
                           - xhat * np.sum(dxhat * xhat, axis=1, keepdims=True))
        return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
    """),
    m("normalization.batchnorm_backward_alt", "missing the xhat * sum(dxhat xhat) term", """
    def batchnorm_backward_alt(dout, cache):
        xhat, _, ivar, _, gamma = cache
        N = dout.shape[0]
        dxhat = dout * gamma
        dx = (ivar / N) * (N * dxhat - np.sum(dxhat, axis=0))
        return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
    """),
    m("normalization.batchnorm_backward_alt", "divides by D instead of N", """
    def batchnorm_backward_alt(dout, cache):
        xhat, _, ivar, _, gamma = cache
        N, D = dout.shape
        dxhat = dout * gamma
        dx = (ivar / D) * (N * dxhat - np.sum(dxhat, axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
        return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
    """),
    m("normalization.layernorm_forward", "normalizes over the batch (axis 0)", """
    def layernorm_forward(x, gamma, beta, ln_param):
        eps = ln_param.get("eps", 1e-5)
        xc = x - x.mean(axis=0)
        ivar = 1 / np.sqrt(np.mean(xc**2, axis=0) + eps)
        xhat = xc * ivar
        return gamma * xhat + beta, (xhat, ivar, gamma)
    """),
    m("normalization.layernorm_forward", "unbiased per-sample variance (ddof=1)", """
    def layernorm_forward(x, gamma, beta, ln_param):
        eps = ln_param.get("eps", 1e-5)
        xc = x - x.mean(axis=1, keepdims=True)
        ivar = 1 / np.sqrt(x.var(axis=1, ddof=1, keepdims=True) + eps)
        xhat = xc * ivar
        return gamma * xhat + beta, (xhat, ivar, gamma)
    """),
    m("normalization.layernorm_forward", "no eps: divides by the bare std", """
    def layernorm_forward(x, gamma, beta, ln_param):
        xc = x - x.mean(axis=1, keepdims=True)
        ivar = 1 / np.sqrt(np.mean(xc**2, axis=1, keepdims=True))
        xhat = xc * ivar
        return gamma * xhat + beta, (xhat, ivar, gamma)
    """),
    m("normalization.layernorm_backward", "batchnorm's sums over the batch (axis 0)", """
    def layernorm_backward(dout, cache):
        xhat, ivar, gamma = cache
        N = dout.shape[0]
        dxhat = dout * gamma
        dx = (ivar / N) * (N * dxhat - np.sum(dxhat, axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
        return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
    """),
    m("normalization.layernorm_backward", "dgamma and dbeta summed over the features", """
    _reference_ln_backward = layernorm_backward

    def layernorm_backward(dout, cache):
        dx, _, _ = _reference_ln_backward(dout, cache)
        return dx, np.sum(dout * cache[0], axis=1), np.sum(dout, axis=1)
    """),
]

REGULARIZATION = [
    m("regularization.dropout_forward", "p taken as the drop probability", """
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test":
            return x.copy(), (dropout_param, None)
        rng = np.random.default_rng(dropout_param.get("seed"))
        mask = ((rng.random(x.shape) >= p) / (1 - p)).astype(x.dtype)
        return x * mask, (dropout_param, mask)
    """),
    m("regularization.dropout_forward", "mask drawn for (N, D) only: rand(x.shape[0], x.shape[1])",
      """
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test":
            return x.copy(), (dropout_param, None)
        rng = np.random.default_rng(dropout_param.get("seed"))
        mask = ((rng.random((x.shape[0], x.shape[1])) < p) / p).astype(x.dtype)
        return x * mask, (dropout_param, mask)
    """),
    m("regularization.dropout_forward", "kept units not scaled by 1/p", """
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test":
            return x.copy(), (dropout_param, None)
        rng = np.random.default_rng(dropout_param.get("seed"))
        mask = (rng.random(x.shape) < p).astype(x.dtype)
        return x * mask, (dropout_param, mask)
    """),
    m("regularization.dropout_forward", "scales by p at test time", """
    _reference_dropout = dropout_forward

    def dropout_forward(x, dropout_param):
        if dropout_param["mode"] == "test":
            return x * dropout_param["p"], (dropout_param, None)
        return _reference_dropout(x, dropout_param)
    """),
    m("regularization.dropout_forward", "multiplies x by the mask in place", """
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test":
            return x, (dropout_param, None)
        rng = np.random.default_rng(dropout_param.get("seed"))
        mask = ((rng.random(x.shape) < p) / p).astype(x.dtype)
        x *= mask
        return x, (dropout_param, mask)
    """),
    m("regularization.dropout_forward", "ignores the seed (np.random.rand)", """
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test":
            return x.copy(), (dropout_param, None)
        mask = ((np.random.rand(*x.shape) < p) / p).astype(x.dtype)
        return x * mask, (dropout_param, mask)
    """),
    m("regularization.dropout_forward", "float64 mask upcasts float32 input", """
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test":
            return x.copy(), (dropout_param, None)
        rng = np.random.default_rng(dropout_param.get("seed"))
        mask = (rng.random(x.shape) < p) / p
        return x * mask, (dropout_param, mask)
    """),
    m("regularization.dropout_backward", "ignores the mask in train mode", """
    def dropout_backward(dout, cache):
        return dout.copy()
    """),
    m("regularization.dropout_backward", "mask without the 1/p scaling", """
    def dropout_backward(dout, cache):
        dropout_param, mask = cache
        if dropout_param["mode"] == "train":
            return dout * (mask > 0)
        return dout.copy()
    """),
    m("regularization.dropout_backward", "scales by p in test mode", """
    def dropout_backward(dout, cache):
        dropout_param, mask = cache
        if dropout_param["mode"] == "train":
            return dout * mask
        return dout * dropout_param["p"]
    """),
    m("regularization.l2_regularization", "loss without the 0.5 factor", """
    def l2_regularization(W, reg):
        return float(reg * np.sum(W * W)), reg * W
    """),
    m("regularization.l2_regularization", "dW = 2 reg W", """
    def l2_regularization(W, reg):
        return float(0.5 * reg * np.sum(W * W)), 2 * reg * W
    """),
    m("regularization.l1_regularization", "loss with a 0.5 factor", """
    def l1_regularization(W, reg):
        return float(0.5 * reg * np.sum(np.abs(W))), reg * np.sign(W)
    """),
    m("regularization.l1_regularization", "dW = reg W (L2's gradient)", """
    def l1_regularization(W, reg):
        return float(reg * np.sum(np.abs(W))), reg * W
    """),
    m("regularization.l1_regularization", "subgradient 1 at W = 0", """
    def l1_regularization(W, reg):
        return float(reg * np.sum(np.abs(W))), reg * np.where(W >= 0, 1.0, -1.0)
    """),
    m("regularization.ema_update", "decay and 1 - decay swapped", """
    def ema_update(ema, params, decay=0.995):
        return {k: (1 - decay) * ema.get(k, p) + decay * p for k, p in params.items()}
    """),
    m("regularization.ema_update", "a missing key starts at zero", """
    def ema_update(ema, params, decay=0.995):
        return {k: decay * ema.get(k, np.zeros_like(p)) + (1 - decay) * p
                for k, p in params.items()}
    """),
    m("regularization.ema_update", "updates the input dict and returns it", """
    def ema_update(ema, params, decay=0.995):
        for k, p in params.items():
            ema[k] = decay * ema.get(k, p) + (1 - decay) * p
        return ema
    """),
    m("regularization.ema_update", "updates the averaged arrays in place", """
    def ema_update(ema, params, decay=0.995):
        new = {}
        for k, p in params.items():
            if k in ema:
                ema[k] *= decay
                ema[k] += (1 - decay) * p
                new[k] = ema[k]
            else:
                new[k] = p.copy()
        return new
    """),
    m("regularization.random_horizontal_flip", "mirrors along H instead of W", """
    def random_horizontal_flip(x, rng, p=0.5):
        flip = rng.random(x.shape[0]) < p
        out = x.copy()
        out[flip] = x[flip, :, ::-1, :]
        return out
    """),
    m("regularization.random_horizontal_flip", "one draw for the whole batch", """
    def random_horizontal_flip(x, rng, p=0.5):
        return x[..., ::-1].copy() if rng.random() < p else x.copy()
    """),
    m("regularization.random_horizontal_flip", "p taken as the probability of keeping", """
    def random_horizontal_flip(x, rng, p=0.5):
        flip = rng.random(x.shape[0]) >= p
        out = x.copy()
        out[flip] = x[flip, :, :, ::-1]
        return out
    """),
    m("regularization.random_crop", "np.roll: wraps around instead of zero padding", """
    def random_crop(x, rng, padding=2):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            dy, dx = rng.integers(-padding, padding + 1, size=2)
            out[i] = np.roll(x[i], (dy, dx), axis=(1, 2))
        return out
    """),
    m("regularization.random_crop", "one offset for every image", """
    def random_crop(x, rng, padding=2):
        N, _, H, W = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        dy, dx = rng.integers(0, 2 * padding + 1, size=2)
        return xp[:, :, dy:dy + H, dx:dx + W].copy()
    """),
    m("regularization.random_crop", "offsets 0 .. 2 padding - 1 (exclusive bound)", """
    def random_crop(x, rng, padding=2):
        N, _, H, W = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        out = np.empty_like(x)
        for i in range(N):
            dy, dx = rng.integers(0, max(2 * padding, 1), size=2)
            out[i] = xp[i, :, dy:dy + H, dx:dx + W]
        return out
    """),
    m("regularization.random_crop", "pads H only", """
    def random_crop(x, rng, padding=2):
        N, _, H, W = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (0, 0)))
        out = np.empty_like(x)
        for i in range(N):
            dy = rng.integers(0, 2 * padding + 1)
            out[i] = xp[i, :, dy:dy + H, :]
        return out
    """),
    m("regularization.random_contrast", "scales about the batch's global mean", """
    def random_contrast(x, rng, low=0.8, high=1.2):
        m = x.mean()
        f = rng.uniform(low, high, size=(x.shape[0], 1, 1, 1)).astype(x.dtype)
        return (x - m) * f + m
    """),
    m("regularization.random_contrast", "one factor for the whole batch", """
    def random_contrast(x, rng, low=0.8, high=1.2):
        m = x.mean(axis=(1, 2, 3), keepdims=True)
        return (x - m) * x.dtype.type(rng.uniform(low, high)) + m
    """),
    m("regularization.random_contrast", "scales about 0 (x * f)", """
    def random_contrast(x, rng, low=0.8, high=1.2):
        f = rng.uniform(low, high, size=(x.shape[0], 1, 1, 1)).astype(x.dtype)
        return x * f
    """),
    m("regularization.random_contrast", "factor per pixel instead of per image", """
    def random_contrast(x, rng, low=0.8, high=1.2):
        m = x.mean(axis=(1, 2, 3), keepdims=True)
        f = rng.uniform(low, high, size=x.shape).astype(x.dtype)
        return (x - m) * f + m
    """),
    m("regularization.add_gaussian_noise", "std taken as the variance", """
    def add_gaussian_noise(x, rng, std=0.1):
        return x + rng.normal(0.0, np.sqrt(std), size=x.shape).astype(x.dtype)
    """),
    m("regularization.add_gaussian_noise", "the same noise for every image", """
    def add_gaussian_noise(x, rng, std=0.1):
        return x + rng.normal(0.0, std, size=x.shape[1:]).astype(x.dtype)
    """),
    m("regularization.add_gaussian_noise", "float32 upcast to float64", """
    def add_gaussian_noise(x, rng, std=0.1):
        return x + rng.normal(0.0, std, size=x.shape)
    """),
    m("regularization.add_gaussian_noise", "uniform noise with the right std", """
    def add_gaussian_noise(x, rng, std=0.1):
        half = std * np.sqrt(3)
        return x + rng.uniform(-half, half, size=x.shape).astype(x.dtype)
    """),
]


def early_stopping(description: str, improves: str, start: str = "-math.inf",
                   stop: str = "self.num_bad >= self.patience", epoch: str = "self.calls"):
    """An EarlyStopping mutant: the reference class with one expression replaced."""
    source = f"""
    class EarlyStopping:
        def __init__(self, patience):
            self.patience = patience
            self.best_metric = {start}
            self.best_epoch = None
            self.num_bad = 0
            self.calls = 0

        def step(self, val_metric):
            if {improves}:
                self.best_metric = val_metric
                self.best_epoch = {epoch}
                self.num_bad = 0
            else:
                self.num_bad += 1
            self.calls += 1
            return {stop}
    """
    return m("regularization.EarlyStopping", description, source)


EARLY_STOPPING = [
    early_stopping("a tie counts as an improvement", "val_metric >= self.best_metric"),
    early_stopping("best_epoch 1-based", "val_metric > self.best_metric",
                   epoch="self.calls + 1"),
    early_stopping("patience off by one (>)", "val_metric > self.best_metric",
                   stop="self.num_bad > self.patience"),
    early_stopping("the best metric starts at 0", "val_metric > self.best_metric", start="0.0"),
    early_stopping("lower taken as better", "val_metric < self.best_metric", start="math.inf"),
]

OPTIM = [
    m("optim.sgd", "steps up the gradient", """
    def sgd(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        return w + config["learning_rate"] * dw, config
    """),
    m("optim.sgd", "updates w in place", """
    def sgd(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        w -= config["learning_rate"] * dw
        return w, config
    """),
    m("optim.sgd", "default learning rate 1e-3", """
    def sgd(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-3)
        return w - config["learning_rate"] * dw, config
    """),
    m("optim.sgd_momentum", "v = rho v - dw; w -= lr v (sign error)", """
    def sgd_momentum(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        config.setdefault("momentum", 0.9)
        v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - dw
        config["velocity"] = v
        return w - config["learning_rate"] * v, config
    """),
    m("optim.sgd_momentum", "dampened: v = rho v + (1 - rho) dw", """
    def sgd_momentum(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        rho = config.setdefault("momentum", 0.9)
        v = rho * config.get("velocity", np.zeros_like(w)) + (1 - rho) * dw
        config["velocity"] = v
        return w - config["learning_rate"] * v, config
    """),
    m("optim.sgd_momentum", "velocity not stored in config", """
    def sgd_momentum(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        config.setdefault("momentum", 0.9)
        v = config["momentum"] * config.get("velocity", np.zeros_like(w)) + dw
        return w - config["learning_rate"] * v, config
    """),
    m("optim.sgd_momentum", "v = rho v - lr dw; w += v (the learning rate inside v)", """
    def sgd_momentum(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        config.setdefault("momentum", 0.9)
        v = config["momentum"] * config.get("velocity", np.zeros_like(w)) \
            - config["learning_rate"] * dw
        config["velocity"] = v
        return w + v, config
    """),
    m("optim.sgd", "learning rate read once, at the first call", """
    _first_lr = {}

    def sgd(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        lr = _first_lr.setdefault(id(config), config["learning_rate"])
        return w - lr * dw, config
    """),
    m("optim.nesterov_momentum", "plain momentum step (w += v)", """
    def nesterov_momentum(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        rho = config.setdefault("momentum", 0.9)
        v = rho * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
        config["velocity"] = v
        return w + v, config
    """),
    m("optim.nesterov_momentum", "old and new velocity swapped", """
    def nesterov_momentum(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        rho = config.setdefault("momentum", 0.9)
        old = config.get("velocity", np.zeros_like(w))
        v = rho * old - config["learning_rate"] * dw
        config["velocity"] = v
        return w - rho * v + (1 + rho) * old, config
    """),
    m("optim.adagrad", "epsilon inside the square root", """
    def adagrad(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        config.setdefault("epsilon", 1e-7)
        g2 = config.get("grad_squared", np.zeros_like(w)) + dw * dw
        config["grad_squared"] = g2
        return w - config["learning_rate"] * dw / np.sqrt(g2 + config["epsilon"]), config
    """),
    m("optim.adagrad", "no accumulation (g2 = dw^2)", """
    def adagrad(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        config.setdefault("epsilon", 1e-7)
        g2 = dw * dw
        config["grad_squared"] = g2
        return w - config["learning_rate"] * dw / (np.sqrt(g2) + config["epsilon"]), config
    """),
    m("optim.rmsprop", "decay rate and 1 - decay swapped", """
    def rmsprop(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        d = config.setdefault("decay_rate", 0.99)
        config.setdefault("epsilon", 1e-8)
        g2 = (1 - d) * config.get("grad_squared", np.zeros_like(w)) + d * dw * dw
        config["grad_squared"] = g2
        return w - config["learning_rate"] * dw / (np.sqrt(g2) + config["epsilon"]), config
    """),
    m("optim.rmsprop", "epsilon inside the square root", """
    def rmsprop(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        d = config.setdefault("decay_rate", 0.99)
        config.setdefault("epsilon", 1e-8)
        g2 = d * config.get("grad_squared", np.zeros_like(w)) + (1 - d) * dw * dw
        config["grad_squared"] = g2
        return w - config["learning_rate"] * dw / np.sqrt(g2 + config["epsilon"]), config
    """),
]


_ADAM_HEAD = """
config = {{}} if config is None else config
for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999),
                   ("epsilon", 1e-8), ("weight_decay", {wd}), ("schedule_multiplier", 1.0)):
    config.setdefault(key, value)
lr, b1, b2 = config["learning_rate"], config["beta1"], config["beta2"]
eps, wd, eta = config["epsilon"], config["weight_decay"], config["schedule_multiplier"]
m = config.get("m", np.zeros_like(w))
v = config.get("v", np.zeros_like(w))
t = config.get("t", 0)
"""


def adam(description: str, body: str, rule: str = "adam") -> Mutant:
    """An Adam or AdamW mutant: defaults and state handling as in the reference, then `body`."""
    wd = 1e-2 if rule == "adamw" else 0.0
    source = "\n".join([
        f"def {rule}(w, dw, config=None):", _block(_ADAM_HEAD.format(wd=wd), 1),
        _block(body, 1), '    config["m"], config["v"], config["t"] = m, v, t',
        "    return next_w, config",
    ])
    return Mutant(f"optim.{rule}", description, source + "\n")


_ADAM = """
    t = t + 1
    g = dw + wd * w
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
    next_w = w - lr * mhat / (np.sqrt(vhat) + eps)
"""

_ADAMW = """
    t = t + 1
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw * dw
    mhat, vhat = m / (1 - b1**t), v / (1 - b2**t)
    next_w = w - eta * (lr * mhat / (np.sqrt(vhat) + eps) + wd * w)
"""

ADAM = [
    adam("t incremented after the bias correction", _ADAM.replace("    t = t + 1\n", "")
         .replace("    next_w = w", "    t = t + 1\n    next_w = w")),
    adam("t off by one (first step uses t = 2)", _ADAM.replace("t = t + 1", "t = max(t, 1) + 1")),
    adam("epsilon inside the square root (d2l's form)",
         _ADAM.replace("(np.sqrt(vhat) + eps)", "np.sqrt(vhat + eps)")),
    adam("no bias correction", _ADAM.replace("m / (1 - b1**t), v / (1 - b2**t)", "m, v")),
    adam("beta1 and beta2 swapped", _ADAM
         .replace("m = b1 * m + (1 - b1) * g", "m = b2 * m + (1 - b2) * g")
         .replace("v = b2 * v + (1 - b2) * g * g", "v = b1 * v + (1 - b1) * g * g")
         .replace("m / (1 - b1**t), v / (1 - b2**t)", "m / (1 - b2**t), v / (1 - b1**t)")),
    adam("no bias correction and epsilon inside the square root",
         _ADAM.replace("m / (1 - b1**t), v / (1 - b2**t)", "m, v")
         .replace("(np.sqrt(vhat) + eps)", "np.sqrt(vhat + eps)")),
    adam("weight decay ignored", _ADAM.replace("g = dw + wd * w", "g = dw")),
    adam("moments not carried over (m, v restart each call)",
         _ADAM.replace("m = b1 * m", "m = b1 * 0 * m").replace("v = b2 * v", "v = b2 * 0 * v")),
    adam("coupled decay (Adam's L2) instead of decoupled", _ADAM.replace(
        "next_w = w - lr * mhat / (np.sqrt(vhat) + eps)",
        "next_w = w - eta * lr * mhat / (np.sqrt(vhat) + eps)"), rule="adamw"),
    adam("decay scaled by the learning rate", _ADAMW.replace("+ wd * w)", "+ lr * wd * w)"),
         rule="adamw"),
    adam("schedule multiplier applied to the Adam step only",
         _ADAMW.replace("next_w = w - eta * (lr * mhat / (np.sqrt(vhat) + eps) + wd * w)",
                        "next_w = w - eta * lr * mhat / (np.sqrt(vhat) + eps) - wd * w"),
         rule="adamw"),
    adam("epsilon inside the square root", _ADAMW.replace("(np.sqrt(vhat) + eps)",
                                                          "np.sqrt(vhat + eps)"), rule="adamw"),
    adam("t incremented after the bias correction", _ADAMW.replace("    t = t + 1\n", "")
         .replace("    next_w = w", "    t = t + 1\n    next_w = w"), rule="adamw"),
]

SCHEDULES = [
    m("schedules.step_decay", "ceil instead of floor", """
    def step_decay(lr0, epoch, drop=0.5, every=10):
        return float(lr0 * drop ** math.ceil(epoch / every))
    """),
    m("schedules.step_decay", "epoch + 1", """
    def step_decay(lr0, epoch, drop=0.5, every=10):
        return float(lr0 * drop ** math.floor((epoch + 1) / every))
    """),
    m("schedules.step_decay", "no floor: smooth decay", """
    def step_decay(lr0, epoch, drop=0.5, every=10):
        return float(lr0 * drop ** (epoch / every))
    """),
    m("schedules.exponential_decay", "t + 1", """
    def exponential_decay(lr0, t, k):
        return float(lr0 * math.exp(-k * (t + 1)))
    """),
    m("schedules.exponential_decay", "(1 - k)^t instead of e^-kt", """
    def exponential_decay(lr0, t, k):
        return float(lr0 * (1 - k) ** t)
    """),
    m("schedules.inverse_time_decay", "(1 + k)^t in the denominator", """
    def inverse_time_decay(lr0, t, k):
        return float(lr0 / (1 + k) ** t)
    """),
    m("schedules.inverse_time_decay", "t + 1", """
    def inverse_time_decay(lr0, t, k):
        return float(lr0 / (1 + k * (t + 1)))
    """),
    m("schedules.cosine_warm_restarts", "no t mod period", """
    def cosine_warm_restarts(lr0, t, period, lr_min=0.0):
        return float(lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * t / period)) / 2)
    """),
    m("schedules.cosine_warm_restarts", "ignores lr_min", """
    def cosine_warm_restarts(lr0, t, period, lr_min=0.0):
        return float(lr0 * (1 + math.cos(math.pi * (t % period) / period)) / 2)
    """),
    m("schedules.cosine_warm_restarts", "2 pi: a full cosine per period", """
    def cosine_warm_restarts(lr0, t, period, lr_min=0.0):
        phase = 2 * math.pi * (t % period) / period
        return float(lr_min + (lr0 - lr_min) * (1 + math.cos(phase)) / 2)
    """),
]

PREPROCESSING = [
    m("preprocessing.fit_center", "per-channel mean of shape (C,)", """
    def fit_center(X_train, per_channel=False):
        if not per_channel:
            return X_train.mean(axis=0)
        return X_train.mean(axis=(0,) + tuple(range(2, X_train.ndim)))
    """),
    m("preprocessing.fit_center", "ignores per_channel", """
    def fit_center(X_train, per_channel=False):
        return X_train.mean(axis=0)
    """),
    m("preprocessing.fit_center", "float32 upcast to float64", """
    _reference_fit_center = fit_center

    def fit_center(X_train, per_channel=False):
        return _reference_fit_center(X_train.astype(np.float64), per_channel)
    """),
    m("preprocessing.apply_center", "recomputes the mean from X", """
    def apply_center(X, mean):
        if np.shape(mean) == X.shape[1:]:
            return X - X.mean(axis=0)
        return X - X.mean(axis=(0, 2, 3)).reshape(np.shape(mean))
    """),
    m("preprocessing.apply_center", "subtracts in place", """
    def apply_center(X, mean):
        X -= mean
        return X
    """),
    m("preprocessing.fit_standardize", "sample std (ddof=1)", """
    def fit_standardize(X_train, eps=1e-8):
        std = X_train.std(axis=0, ddof=1)
        return X_train.mean(axis=0), np.where(std < eps, 1.0, std).astype(X_train.dtype)
    """),
    m("preprocessing.fit_standardize", "constant feature keeps std 0", """
    def fit_standardize(X_train, eps=1e-8):
        return X_train.mean(axis=0), X_train.std(axis=0)
    """),
    m("preprocessing.fit_standardize", "std as the variance", """
    def fit_standardize(X_train, eps=1e-8):
        var = X_train.var(axis=0)
        return X_train.mean(axis=0), np.where(var < eps, 1.0, var).astype(X_train.dtype)
    """),
    m("preprocessing.apply_standardize", "uses X's own statistics", """
    def apply_standardize(X, mean, std):
        s = X.std(axis=0)
        return ((X - X.mean(axis=0)) / np.where(s < 1e-8, 1.0, s)).astype(X.dtype)
    """),
    m("preprocessing.apply_standardize", "multiplies by std", """
    def apply_standardize(X, mean, std):
        return ((X - mean) * std).astype(X.dtype)
    """),
    m("preprocessing.apply_standardize", "float32 upcast by float64 statistics", """
    def apply_standardize(X, mean, std):
        return (X - mean.astype(np.float64)) / std
    """),
]

MUTANTS: list[Mutant] = [
    *ACTIVATIONS, *WEIGHT_INIT, *NORMALIZATION, *REGULARIZATION, *EARLY_STOPPING, *OPTIM,
    *ADAM, *SCHEDULES, *PREPROCESSING,
]
