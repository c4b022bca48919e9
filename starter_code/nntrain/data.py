"""The data set: scikit-learn's bundled 8x8 handwritten digits (provided, not graded).

The images ship inside scikit-learn's wheel, so loading needs no download.
"""

import numpy as np
from sklearn.datasets import load_digits as _sklearn_load_digits
from sklearn.model_selection import train_test_split


def load_digits(seed=0, val_size=300, test_size=300, flatten=False, dtype=np.float64):
    """The 1,797 digits, split into stratified train/validation/test sets.

    X = pixels / 16 (values in [0, 1]); the same seed always gives the same split.

    Inputs:
    - seed: int, seed of the split
    - val_size: int, number of validation images
    - test_size: int, number of test images
    - flatten: if True, images have shape (64,) instead of (1, 8, 8)
    - dtype: floating dtype of the images

    Returns a dict with:
    - X_train: array of shape (N_train, 1, 8, 8) (or (N_train, 64)), N_train = 1797 - val - test
    - y_train: int64 array of shape (N_train,), labels 0..9
    - X_val: array of shape (val_size, 1, 8, 8) (or (val_size, 64))
    - y_val: int64 array of shape (val_size,)
    - X_test: array of shape (test_size, 1, 8, 8) (or (test_size, 64))
    - y_test: int64 array of shape (test_size,)
    """
    digits = _sklearn_load_digits()
    X = (digits.data / 16.0).astype(dtype)
    X = X if flatten else X.reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_size, random_state=seed, stratify=y_rest)
    return {
        "X_train": X_train, "y_train": y_train,
        "X_val": X_val, "y_val": y_val,
        "X_test": X_test, "y_test": y_test,
    }
