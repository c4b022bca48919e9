"""A fully connected network of any depth built from the graded layers (provided, not graded).

Architecture, for L - 1 hidden layers:

    {affine - [batch/layer norm] - activation - [dropout]} x (L - 1) - affine - softmax

The constructor calls no graded function, so a model can be built before every
piece is implemented; `loss` calls only the pieces the configuration uses.
"""

import numpy as np

from . import activations, normalization, regularization
from .layers import affine_backward, affine_forward, softmax_loss

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid")
NORMALIZATIONS = (None, "batchnorm", "layernorm")
REGULARIZERS = ("l2", "l1")
INITS = ("xavier", "he")


def _init_std(weight_scale, fan_in):
    """Standard deviation of a layer's initial weights.

    std = weight_scale (a number), 1 / sqrt(fan_in) ('xavier') or sqrt(2 / fan_in) ('he')

    Inputs:
    - weight_scale: float, or 'xavier' or 'he'
    - fan_in: int, number of inputs of the layer

    Returns:
    - std: float
    """
    if weight_scale == "xavier":
        return 1.0 / np.sqrt(fan_in)
    if weight_scale == "he":
        return np.sqrt(2.0 / fan_in)
    return float(weight_scale)


class FullyConnectedNet:
    """A fully connected classifier with a softmax loss.

    Learnable parameters live in `self.params`: W1, b1, ..., WL, bL and, with
    normalization, gamma1, beta1, ..., gamma(L-1), beta(L-1).
    """

    def __init__(self, hidden_dims, input_dim=64, num_classes=10, activation="relu",
                 normalization=None, keep_prob=1.0, reg=0.0, reg_type="l2",
                 weight_scale=1e-2, dtype=np.float64, seed=None):
        """Build the network and initialize its weights.

        W_l ~ N(0, std^2) with std from `weight_scale` (see `_init_std`); b_l = 0,
        gamma_l = 1, beta_l = 0.

        Inputs:
        - hidden_dims: list of ints, the size of each hidden layer (may be empty)
        - input_dim: int, D, the number of input features (64 for the 8x8 digits)
        - num_classes: int, C, the number of classes
        - activation: one of 'relu', 'leaky_relu', 'elu', 'tanh', 'sigmoid'
        - normalization: None, 'batchnorm' or 'layernorm'
        - keep_prob: float in (0, 1], dropout's probability of keeping a unit; 1 = no dropout
        - reg: float, the regularization strength lambda
        - reg_type: 'l2' (0.5 lambda sum W^2) or 'l1' (lambda sum |W|), on weights only
        - weight_scale: float (std of the weights), or 'xavier' or 'he'
        - dtype: numpy float dtype of the parameters and of the computation
        - seed: int or None; seeds the weights and, when set, the dropout masks
        """
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}")
        if reg_type not in REGULARIZERS:
            raise ValueError(f"reg_type must be one of {REGULARIZERS}, got {reg_type!r}")
        if isinstance(weight_scale, str) and weight_scale not in INITS:
            raise ValueError(f"weight_scale must be a number or one of {INITS}")
        if not 0.0 < keep_prob <= 1.0:
            raise ValueError(f"keep_prob must be in (0, 1], got {keep_prob}")
        self.activation = activation
        self.normalization = normalization
        self.keep_prob = keep_prob
        self.use_dropout = keep_prob < 1.0
        self.reg = reg
        self.reg_type = reg_type
        self.dtype = dtype
        self.num_layers = 1 + len(hidden_dims)
        self.params = self._init_params(hidden_dims, input_dim, num_classes, weight_scale, seed)

        self.dropout_param = {"mode": "train", "p": keep_prob}
        if seed is not None:
            self.dropout_param["seed"] = seed
        self.bn_params = [{"mode": "train"} for _ in hidden_dims]

    def _init_params(self, hidden_dims, input_dim, num_classes, weight_scale, seed):
        """Initial parameters, W of shape (fan_in, fan_out) ~ N(0, std^2).

        Inputs:
        - hidden_dims, input_dim, num_classes, weight_scale, seed: as in __init__

        Returns:
        - params: dict; Wl of shape (dims[l-1], dims[l]), bl of shape (dims[l],), and
          gammal, betal of shape (dims[l],) for hidden layers when normalizing
        """
        rng = np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        params = {}
        for l in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[l - 1], dims[l]
            std = _init_std(weight_scale, fan_in)
            params[f"W{l}"] = (std * rng.standard_normal((fan_in, fan_out))).astype(self.dtype)
            params[f"b{l}"] = np.zeros(fan_out, dtype=self.dtype)
            if self.normalization is not None and l < self.num_layers:
                params[f"gamma{l}"] = np.ones(fan_out, dtype=self.dtype)
                params[f"beta{l}"] = np.zeros(fan_out, dtype=self.dtype)
        return params

    def _dropout_param(self, l):
        """Layer l's dropout parameters; a seed, when set, is offset by l so layers differ.

        Inputs:
        - l: int, the 1-based index of the hidden layer

        Returns:
        - dropout_param: dict with 'mode', 'p' and possibly 'seed'
        """
        param = dict(self.dropout_param)
        if param.get("seed") is not None:
            param["seed"] = int(param["seed"]) + l
        return param

    def _hidden_forward(self, h, l):
        """One hidden layer: affine - [norm] - activation - [dropout].

        Inputs:
        - h: numpy array of shape (N, d_1, ..., d_k), the layer's input
        - l: int, the 1-based index of the hidden layer

        Returns a tuple of:
        - out: numpy array of shape (N, H_l)
        - cache: tuple of the caches of the pieces used
        """
        p = self.params
        out, fc_cache = affine_forward(h, p[f"W{l}"], p[f"b{l}"])
        norm_cache = None
        if self.normalization == "batchnorm":
            out, norm_cache = normalization.batchnorm_forward(
                out, p[f"gamma{l}"], p[f"beta{l}"], self.bn_params[l - 1])
        elif self.normalization == "layernorm":
            out, norm_cache = normalization.layernorm_forward(
                out, p[f"gamma{l}"], p[f"beta{l}"], self.bn_params[l - 1])
        out, act_cache = getattr(activations, f"{self.activation}_forward")(out)
        drop_cache = None
        if self.use_dropout:
            out, drop_cache = regularization.dropout_forward(out, self._dropout_param(l))
        return out, (fc_cache, norm_cache, act_cache, drop_cache)

    def _hidden_backward(self, dout, cache, l, grads):
        """Backward pass of one hidden layer; stores its parameter gradients in grads.

        Inputs:
        - dout: numpy array of shape (N, H_l), the upstream gradient
        - cache: the cache of `_hidden_forward`
        - l: int, the 1-based index of the hidden layer
        - grads: dict, receives Wl, bl (and gammal, betal)

        Returns:
        - dh: numpy array of the shape of the layer's input
        """
        fc_cache, norm_cache, act_cache, drop_cache = cache
        if self.use_dropout:
            dout = regularization.dropout_backward(dout, drop_cache)
        dout = getattr(activations, f"{self.activation}_backward")(dout, act_cache)
        if self.normalization == "batchnorm":
            dout, grads[f"gamma{l}"], grads[f"beta{l}"] = normalization.batchnorm_backward(
                dout, norm_cache)
        elif self.normalization == "layernorm":
            dout, grads[f"gamma{l}"], grads[f"beta{l}"] = normalization.layernorm_backward(
                dout, norm_cache)
        dh, grads[f"W{l}"], grads[f"b{l}"] = affine_backward(dout, fc_cache)
        return dh

    def _reg_loss(self, grads):
        """Add the weight penalty to the weight gradients and return the penalty.

        R = sum_l 0.5 lambda sum W_l^2 ('l2') or sum_l lambda sum |W_l| ('l1')

        Inputs:
        - grads: dict holding every dWl, each of shape Wl.shape; updated in place

        Returns:
        - reg_loss: float, R
        """
        if self.reg == 0:
            return 0.0
        penalty = getattr(regularization, f"{self.reg_type}_regularization")
        total = 0.0
        for l in range(1, self.num_layers + 1):
            loss, dW = penalty(self.params[f"W{l}"], self.reg)
            total += float(loss)
            grads[f"W{l}"] = grads[f"W{l}"] + dW
        return total

    def loss(self, X, y=None):
        """Class scores in test mode; loss and gradients in train mode.

        loss = mean_n -log softmax(scores)[n, y_n] + R (R from `_reg_loss`)

        Inputs:
        - X: numpy array of shape (N, 1, 8, 8) or (N, D), the inputs
        - y: integer array of shape (N,), the labels; None selects test mode

        Returns:
        - If y is None: scores, numpy array of shape (N, C)
        - Else a tuple of:
          - loss: float
          - grads: dict with a key for every key of self.params, each of that parameter's shape
        """
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

        h, caches = X, []
        for l in range(1, self.num_layers):
            h, cache = self._hidden_forward(h, l)
            caches.append(cache)
        L = self.num_layers
        scores, out_cache = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, out_cache)
        for l in range(L - 1, 0, -1):
            dh = self._hidden_backward(dh, caches[l - 1], l, grads)
        loss += self._reg_loss(grads)
        return loss, grads
