"""Data preprocessing of the lecture "Training Deep Neural Networks".

Statistics are always fitted on the training set only (fit_*) and then applied,
unchanged, to the training, validation and test sets (apply_*).
"""

import numpy as np


def fit_center(X_train, per_channel=False):
    """
    Fit the mean to subtract for zero-centering.

        per_channel=False:  mean = (1/N) sum_i X_train[i]              (the mean image)
        per_channel=True:   mean[c] = mean of X_train[:, c] over the samples and all
                            remaining axes (one number per channel)

    Inputs:
    - X_train: Training data, shape (N, D1, ..., Dk); images are (N, C, H, W).
    - per_channel: If True, one mean per channel (axis 1) instead of a mean image.

    Returns:
    - mean: per_channel=False: shape (D1, ..., Dk), e.g. (C, H, W) for images.
      per_channel=True: shape (C, 1, ..., 1) with k - 1 ones, e.g. (C, 1, 1) for
      (N, C, H, W), so that it broadcasts against X in apply_center. dtype of X_train.
    """
    # BEGIN SOLUTION: mean over axis 0; per channel: over all axes but 1, shape (C, 1, ..., 1)
    if not per_channel:
        return X_train.mean(axis=0)
    axes = (0,) + tuple(range(2, X_train.ndim))
    shape = (X_train.shape[1],) + (1,) * (X_train.ndim - 2)
    return X_train.mean(axis=axes).reshape(shape)
    # END SOLUTION


def apply_center(X, mean):
    """
    Subtract a mean fitted by fit_center on the training set.

        out = X - mean     (broadcast over the samples)

    Inputs:
    - X: Data, shape (M, D1, ..., Dk), from any split.
    - mean: From fit_center, shape (D1, ..., Dk) or (C, 1, ..., 1).

    Returns:
    - out: A new array, shape (M, D1, ..., Dk), dtype of X.
    """
    # BEGIN SOLUTION: X - mean, in X's dtype
    return (X - mean).astype(X.dtype, copy=False)
    # END SOLUTION


def fit_standardize(X_train, eps=1e-8):
    """
    Fit a per-feature mean and standard deviation for standardization.

        mean[j] = (1/N) sum_i X_train[i, j]
        std[j] = sqrt((1/N) sum_i (X_train[i, j] - mean[j])^2), replaced by 1 where < eps

    A constant feature (std below eps) gets std 1, so that apply_standardize maps it
    to 0 instead of dividing by zero.

    Inputs:
    - X_train: Training data, shape (N, D1, ..., Dk); a feature is one index (D1, ..., Dk).
    - eps: Scalar, the smallest standard deviation treated as non-constant (default 1e-8).

    Returns a tuple of:
    - mean: Shape (D1, ..., Dk), dtype of X_train.
    - std: Shape (D1, ..., Dk), dtype of X_train, every entry >= eps.
    """
    # BEGIN SOLUTION: mean and (biased) std over axis 0; replace std < eps by 1
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std < eps, 1.0, std).astype(X_train.dtype, copy=False)
    return mean, std
    # END SOLUTION


def apply_standardize(X, mean, std):
    """
    Standardize with statistics fitted by fit_standardize on the training set.

        out = (X - mean) / std     (broadcast over the samples)

    Inputs:
    - X: Data, shape (M, D1, ..., Dk), from any split.
    - mean: From fit_standardize, shape (D1, ..., Dk).
    - std: From fit_standardize, shape (D1, ..., Dk), no zeros.

    Returns:
    - out: A new array, shape (M, D1, ..., Dk), dtype of X.
    """
    # BEGIN SOLUTION: (X - mean) / std, in X's dtype
    return ((X - mean) / std).astype(X.dtype, copy=False)
    # END SOLUTION
