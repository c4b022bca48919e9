"""Weight initialization, and the lecture's experiment on activation statistics.

Each init function returns a weight matrix W of shape (fan_in, fan_out) drawn as
``rng.standard_normal((fan_in, fan_out))`` times a standard deviation, where ``rng``
is a ``numpy.random.Generator`` (a fresh ``np.random.default_rng()`` when None).
"""

import numpy as np

from nntrain import activations


def small_random_init(fan_in, fan_out, scale=0.01, rng=None):
    """Small random numbers: W ~ N(0, scale^2), i.e. W = scale * randn(fan_in, fan_out).

    Inputs:
    - fan_in: number of inputs of the layer, D
    - fan_out: number of outputs of the layer, M
    - scale: standard deviation of the entries
    - rng: numpy.random.Generator, or None for np.random.default_rng()

    Returns:
    - W: weights of shape (D, M)
    """
    raise NotImplementedError('small_random_init: scale times a standard normal matrix drawn from rng')


def xavier_init(fan_in, fan_out, rng=None):
    """Xavier initialization: W ~ N(0, 1 / fan_in), i.e. W = randn(fan_in, fan_out) / sqrt(fan_in).

    Inputs:
    - fan_in: number of inputs of the layer, D
    - fan_out: number of outputs of the layer, M
    - rng: numpy.random.Generator, or None for np.random.default_rng()

    Returns:
    - W: weights of shape (D, M)
    """
    raise NotImplementedError('xavier_init: a standard normal matrix drawn from rng, divided by sqrt(fan_in)')


def he_init(fan_in, fan_out, rng=None):
    """He (Kaiming) initialization for ReLU: W ~ N(0, 2 / fan_in).

    W = randn(fan_in, fan_out) / sqrt(fan_in / 2)

    Inputs:
    - fan_in: number of inputs of the layer, D
    - fan_out: number of outputs of the layer, M
    - rng: numpy.random.Generator, or None for np.random.default_rng()

    Returns:
    - W: weights of shape (D, M)
    """
    raise NotImplementedError('he_init: a standard normal matrix drawn from rng, divided by sqrt(fan_in / 2)')


_NONLINEARITIES = {
    "tanh": lambda h: activations.tanh_forward(h)[0],
    "relu": lambda h: activations.relu_forward(h)[0],
}


def activation_statistics(
    init_fn,
    nonlinearity,
    num_layers=10,
    hidden=500,
    n=1000,
    rng=None,
    return_activations=False,
):
    """The lecture's experiment: push unit-Gaussian data through a deep net at initialization.

    x ~ N(0, 1) of shape (n, hidden); for each layer l = 1..num_layers:
    W_l = init_fn(hidden, hidden, rng=rng), h_l = f(h_{l-1} W_l) with h_0 = x (no biases),
    and record the mean and standard deviation of all the entries of h_l.

    Inputs:
    - init_fn: function (fan_in, fan_out, rng=rng) -> W of shape (hidden, hidden), e.g.
      xavier_init, or functools.partial(small_random_init, scale=1.0)
    - nonlinearity: 'tanh', 'relu', or a function mapping an array to one of the same shape
    - num_layers: number of layers, L
    - hidden: width of the input and of every layer, H
    - n: number of samples, n
    - rng: numpy.random.Generator, or None for np.random.default_rng()
    - return_activations: also return every layer's activations

    Returns a dict with:
    - "mean": mean of each layer's activations, of shape (L,)
    - "std": standard deviation of each layer's activations, of shape (L,)
    - "activations" (only when return_activations): list of L arrays of shape (n, H)
    """
    rng = np.random.default_rng() if rng is None else rng
    f = _NONLINEARITIES[nonlinearity] if isinstance(nonlinearity, str) else nonlinearity
    h = rng.standard_normal((n, hidden))
    means, stds, layers = [], [], []
    for _ in range(num_layers):
        h = f(h @ init_fn(hidden, hidden, rng=rng))
        means.append(h.mean())
        stds.append(h.std())
        if return_activations:
            layers.append(h)
    stats = {"mean": np.array(means), "std": np.array(stds)}
    if return_activations:
        stats["activations"] = layers
    return stats
