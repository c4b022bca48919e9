"""Graded functions that exhaust memory."""

import numpy as np

BLOCK = 64 * 1024 * 1024


def hoard(*args, **kwargs):
    """Keep 64 MB blocks, every page written, until memory runs out."""
    blocks = []
    while True:
        blocks.append(b"x" * BLOCK)


def giant(*args, **kwargs):
    """One array of 2**40 float64 values."""
    return np.ones((1 << 20, 1 << 20))
