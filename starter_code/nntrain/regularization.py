"""Regularization of the lecture "Training Deep Neural Networks".

Dropout, L2 and L1 penalties, Polyak averaging of the weights (EMA), data
augmentation on images of shape (N, C, H, W), and early stopping.
"""

import math

import numpy as np


def dropout_forward(x, dropout_param):
    """
    Forward pass of inverted dropout.

    In train mode each unit is kept with probability p and the kept units are
    scaled by 1 / p, so that E[out] = x and test mode needs no rescaling:

        mask = (u < p) / p  with u ~ U[0, 1) drawn by np.random.default_rng(seed)
        out = x * mask                  (train)
        out = x                         (test)

    Inputs:
    - x: Input data, of any shape (D1, ..., Dk).
    - dropout_param: A dictionary with the keys:
      - p: Scalar in (0, 1], the probability of KEEPING each unit.
      - mode: 'train' or 'test'.
      - seed: Optional seed of the random generator; the same seed gives the same mask.

    Returns a tuple of:
    - out: Array of the same shape (D1, ..., Dk) and dtype as x.
    - cache: Tuple (dropout_param, mask); mask has shape (D1, ..., Dk) in train
      mode and is None in test mode.
    """
    raise NotImplementedError('dropout_forward: train: mask = (default_rng(seed).random(x.shape) < p) / p; test: out = x')


def dropout_backward(dout, cache):
    """
    Backward pass of inverted dropout.

        dx = dout * mask                (train)
        dx = dout                       (test)

    Inputs:
    - dout: Upstream derivatives, shape (D1, ..., Dk).
    - cache: (dropout_param, mask) from dropout_forward; mask has shape (D1, ..., Dk).

    Returns:
    - dx: Gradient with respect to x, shape (D1, ..., Dk).
    """
    raise NotImplementedError('dropout_backward: train: dx = dout * mask; test: dx = dout')


def l2_regularization(W, reg):
    """
    L2 penalty (weight decay) on a weight matrix.

        loss = 0.5 * reg * sum(W^2)
        dW = reg * W

    Inputs:
    - W: Weights, of any shape (D1, ..., Dk).
    - reg: Scalar regularization strength.

    Returns a tuple of:
    - loss: Python float, the penalty.
    - dW: Gradient of the penalty with respect to W, shape (D1, ..., Dk).
    """
    raise NotImplementedError('l2_regularization: loss = 0.5 * reg * sum(W**2) as a float; dW = reg * W')


def l1_regularization(W, reg):
    """
    L1 penalty on a weight matrix; its (sub)gradient uses sign(0) = 0.

        loss = reg * sum(|W|)
        dW = reg * sign(W)

    Inputs:
    - W: Weights, of any shape (D1, ..., Dk).
    - reg: Scalar regularization strength.

    Returns a tuple of:
    - loss: Python float, the penalty.
    - dW: Gradient of the penalty with respect to W, shape (D1, ..., Dk).
    """
    raise NotImplementedError('l1_regularization: loss = reg * sum(|W|) as a float; dW = reg * sign(W)')


def ema_update(ema, params, decay=0.995):
    """
    One step of Polyak averaging: an exponential moving average of the weights.

        ema[k] = decay * ema[k] + (1 - decay) * params[k]   for every key k of params

    A key of params missing from ema starts at the parameter's value (so its
    average equals the parameter after this step).

    Inputs:
    - ema: Dictionary of averaged arrays (may be empty); ema[k] has the shape of params[k].
    - params: Dictionary of the current parameter arrays, params[k] of any shape.
    - decay: Scalar in [0, 1] (default 0.995).

    Returns:
    - new_ema: A new dictionary with the keys of params; new_ema[k] is a new array of
      the shape of params[k]. Neither ema nor params is modified.
    """
    raise NotImplementedError('ema_update: new dict: decay * ema[k] + (1 - decay) * params[k]; missing ema[k] = params[k]')


def random_horizontal_flip(x, rng, p=0.5):
    """
    Mirror each image along its width, independently, with probability p.

        out[i] = x[i, :, :, ::-1]  with probability p, else x[i]

    Inputs:
    - x: Images, shape (N, C, H, W).
    - rng: A numpy.random.Generator.
    - p: Scalar in [0, 1], the probability of flipping each image (default 0.5).

    Returns:
    - out: A new array, shape (N, C, H, W), dtype of x.
    """
    raise NotImplementedError('random_horizontal_flip: one uniform per image; copy x, mirror (x[i, ..., ::-1]) those drawn below p')


def random_crop(x, rng, padding=2):
    """
    Random translation: zero-pad each image, then crop an H x W window at a
    uniformly drawn offset (dy, dx) in {0, ..., 2 padding}^2, one per image.

        xp = x zero-padded by `padding` on both sides of H and W
        out[i] = xp[i, :, dy_i : dy_i + H, dx_i : dx_i + W]

    Inputs:
    - x: Images, shape (N, C, H, W).
    - rng: A numpy.random.Generator.
    - padding: Integer >= 0, the number of zero rows/columns added on each side (default 2).

    Returns:
    - out: A new array, shape (N, C, H, W), dtype of x.
    """
    raise NotImplementedError('random_crop: zero-pad H and W; per image draw dy, dx in [0, 2 padding], slice H x W')


def random_contrast(x, rng, low=0.8, high=1.2):
    """
    Random contrast: scale each image about its own mean by a factor f ~ U[low, high].

        m_i = mean of x[i] over (C, H, W)
        out[i] = (x[i] - m_i) * f_i + m_i

    Inputs:
    - x: Images, shape (N, C, H, W).
    - rng: A numpy.random.Generator.
    - low: Scalar, the smallest factor (default 0.8).
    - high: Scalar, the largest factor (default 1.2).

    Returns:
    - out: A new array, shape (N, C, H, W), dtype of x; each image keeps its mean.
    """
    raise NotImplementedError('random_contrast: per image: m = mean over (C, H, W), f ~ U[low, high]; (x - m) * f + m')


def add_gaussian_noise(x, rng, std=0.1):
    """
    Add independent Gaussian noise to every pixel.

        out = x + n,  n ~ N(0, std^2) elementwise

    Inputs:
    - x: Images, shape (N, C, H, W) (any shape works).
    - rng: A numpy.random.Generator.
    - std: Scalar >= 0, the noise's standard deviation (default 0.1).

    Returns:
    - out: A new array, shape (N, C, H, W), dtype of x.
    """
    raise NotImplementedError("add_gaussian_noise: x + rng.normal(0, std, x.shape), cast back to x's dtype")


class EarlyStopping:
    """
    Early stopping on a validation metric where higher is better (e.g. accuracy).

    A call to step improves only on a metric strictly higher than the best so far
    (a tie does not improve). step returns True once `patience` calls in a row have
    not improved. With patience 2, the metrics 0.5, 0.6, 0.55, 0.58 give False,
    False, False, True, and best_epoch is 1.

    Attributes:
    - patience: Integer >= 1, calls without improvement tolerated.
    - best_metric: The best metric so far (-inf before the first call).
    - best_epoch: 0-based index of the call that gave best_metric (None before any).
    - num_bad: Number of calls in a row, up to now, that have not improved.
    """

    def __init__(self, patience):
        """
        Inputs:
        - patience: Integer >= 1, the number of calls in a row without improvement
          after which step returns True.
        """
        raise NotImplementedError('EarlyStopping.__init__: store patience; best_metric = -inf, best_epoch = None, num_bad = 0')

    def step(self, val_metric):
        """
        Record one epoch's validation metric.

        Inputs:
        - val_metric: Scalar, higher is better.

        Returns:
        - stop: True when the last `patience` calls have not improved on best_metric.
        """
        raise NotImplementedError('EarlyStopping.step: strictly higher: new best, num_bad 0; else num_bad += 1; True at patience')
