"""Learning-rate schedules of the lecture "Training Deep Neural Networks".

Each schedule maps a base learning rate lr0 and the time (an epoch or an
iteration count) to the learning rate to use then, as a Python float.
"""

import math


def step_decay(lr0, epoch, drop=0.5, every=10):
    """
    Step decay: multiply the learning rate by `drop` every `every` epochs.

        lr = lr0 * drop^floor(epoch / every)

    Inputs:
    - lr0: Scalar, the initial learning rate.
    - epoch: Scalar >= 0, the current epoch.
    - drop: Scalar factor applied at each step (default 0.5).
    - every: Scalar > 0, the number of epochs between two drops (default 10).

    Returns:
    - lr: Python float, the learning rate at `epoch`.
    """
    # BEGIN SOLUTION: lr0 * drop ** floor(epoch / every), as a float
    return float(lr0 * drop ** math.floor(epoch / every))
    # END SOLUTION


def exponential_decay(lr0, t, k):
    """
    Exponential decay.

        lr = lr0 * e^(-k t)

    Inputs:
    - lr0: Scalar, the initial learning rate.
    - t: Scalar >= 0, the current epoch or iteration.
    - k: Scalar >= 0, the decay rate.

    Returns:
    - lr: Python float, the learning rate at t.
    """
    # BEGIN SOLUTION: lr0 * exp(-k * t), as a float
    return float(lr0 * math.exp(-k * t))
    # END SOLUTION


def inverse_time_decay(lr0, t, k):
    """
    1/t decay.

        lr = lr0 / (1 + k t)

    Inputs:
    - lr0: Scalar, the initial learning rate.
    - t: Scalar >= 0, the current epoch or iteration.
    - k: Scalar >= 0, the decay rate.

    Returns:
    - lr: Python float, the learning rate at t.
    """
    # BEGIN SOLUTION: lr0 / (1 + k * t), as a float
    return float(lr0 / (1 + k * t))
    # END SOLUTION


def cosine_warm_restarts(lr0, t, period, lr_min=0.0):
    """
    Cosine annealing with warm restarts (SGDR, Loshchilov and Hutter), fixed period.

        lr = lr_min + (lr0 - lr_min) * (1 + cos(pi * (t mod period) / period)) / 2

    The rate falls from lr0 at the start of each period towards lr_min at its end,
    then restarts at lr0.

    Inputs:
    - lr0: Scalar, the learning rate at the start of each period.
    - t: Scalar >= 0, the current epoch or iteration (may be fractional).
    - period: Scalar > 0, the length of a period in the units of t.
    - lr_min: Scalar, the learning rate approached at the end of each period (default 0.0).

    Returns:
    - lr: Python float, the learning rate at t.
    """
    # BEGIN SOLUTION: the docstring's formula with t mod period, as a float
    phase = (t % period) / period
    return float(lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * phase)) / 2)
    # END SOLUTION
