"""Tests of nntrain.data.load_digits: shapes, ranges, dtypes and the seeded split."""

import numpy as np
import pytest
from sklearn.datasets import load_digits as sklearn_load_digits

from nntrain.data import load_digits

SPLITS = ("train", "val", "test")

SIZE_CASES = [
    # (id, keyword arguments, expected sizes of train/val/test)
    ("default", {}, (1197, 300, 300)),
    ("bigger_val", dict(val_size=400, test_size=200), (1197, 400, 200)),
    ("small_test", dict(val_size=100, test_size=97), (1600, 100, 97)),
]


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.mark.parametrize("name,kwargs,sizes", SIZE_CASES, ids=[c[0] for c in SIZE_CASES])
def test_split_sizes_and_shapes(name, kwargs, sizes):
    data = load_digits(**kwargs)
    assert set(data) == {f"{p}_{s}" for p in "Xy" for s in SPLITS}
    for split, n in zip(SPLITS, sizes, strict=True):
        assert data[f"X_{split}"].shape == (n, 1, 8, 8)
        assert data[f"y_{split}"].shape == (n,)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_dtypes_and_ranges(dtype):
    data = load_digits(dtype=dtype)
    for split in SPLITS:
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        assert X.dtype == dtype
        assert y.dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0
        assert set(np.unique(y)) == set(range(10))
    assert data["X_train"].max() == 1.0


def test_flatten(digits):
    flat = load_digits(flatten=True)
    for split in SPLITS:
        assert flat[f"X_{split}"].shape == (digits[f"X_{split}"].shape[0], 64)
        np.testing.assert_array_equal(flat[f"X_{split}"].reshape(-1, 1, 8, 8),
                                      digits[f"X_{split}"])


def test_same_seed_same_split_other_seed_other_split(digits):
    again = load_digits(seed=0)
    other = load_digits(seed=1)
    for key in digits:
        np.testing.assert_array_equal(digits[key], again[key])
    assert not np.array_equal(digits["X_train"], other["X_train"])


def _rows(X, y):
    """The examples as sorted rows (pixels * 16 as ints, then the label)."""
    rows = np.concatenate([np.rint(X.reshape(len(X), -1) * 16), y[:, None]], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def test_splits_partition_the_data_set(digits):
    # Together the three splits hold every example of the data set exactly once.
    full = sklearn_load_digits()
    X = np.concatenate([digits[f"X_{s}"] for s in SPLITS])
    y = np.concatenate([digits[f"y_{s}"] for s in SPLITS])
    np.testing.assert_array_equal(_rows(X, y), _rows(full.data / 16.0, full.target))


def test_pixels_are_the_original_ones_over_16(digits):
    full = sklearn_load_digits()
    np.testing.assert_array_equal(np.unique(digits["X_train"] * 16), np.unique(full.data))


@pytest.mark.parametrize("split", SPLITS, ids=SPLITS)
def test_splits_are_stratified(digits, split):
    y = digits[f"y_{split}"]
    full = np.bincount(sklearn_load_digits().target) / 1797
    np.testing.assert_allclose(np.bincount(y, minlength=10) / len(y), full, atol=1.5 / len(y))
