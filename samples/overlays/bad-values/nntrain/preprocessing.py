"""Preprocessing whose results are malformed in every way a grader must catch."""

import numpy as np


def fit_center(X_train, per_channel=False):
    """NaN everywhere, the right shape."""
    return np.full(X_train.shape[1:], np.nan, dtype=X_train.dtype)


def apply_center(X, mean):
    """Right values, wrong shape (one sample dropped)."""
    return (X - mean)[1:]


def fit_standardize(X_train, eps=1e-8):
    """Mean in float16 (wrong dtype); std as an object array."""
    std = np.empty(X_train.shape[1:], dtype=object)
    std[...] = 1.0
    return X_train.mean(axis=0).astype(np.float16), std


def apply_standardize(X, mean, std):
    """Nested Python lists instead of an array."""
    return ((X - mean) / std).tolist()
