"""Schedules returning things that cannot, or should not, cross into the grader."""

import sys

import numpy as np


def step_decay(lr0, epoch, drop=0.5, every=10):
    """A 32 MB array of the right value for each number expected (160 MB a case)."""
    return np.full(4_000_000, float(lr0))


def exponential_decay(lr0, t, k):
    """A generator, a lambda and a module, by the case's time."""
    choices = [(x for x in [lr0]), lambda: lr0, sys]
    return choices[int(t) % len(choices)]


def inverse_time_decay(lr0, t, k):
    """An integer too big for a float, or a list that contains itself."""
    if int(t) % 2:
        loop: list = [lr0]
        loop.append(loop)
        return loop
    return 10**400


def cosine_warm_restarts(lr0, t, period, lr_min=0.0):
    """A complex number, or a byte string."""
    return complex(lr0, 1.0) if int(t) % 2 else b"\x00" * 16
