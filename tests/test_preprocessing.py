"""Centering and standardization of nntrain.preprocessing on hand-worked data."""

import numpy as np
import pytest

from nntrain import preprocessing as pre

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]

X_TRAIN = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])  # mean [3, 5]
X_TEST = np.array([[0.0, 0.0], [3.0, 5.0]])


def test_fit_center_hand_worked():
    np.testing.assert_allclose(pre.fit_center(X_TRAIN), [3.0, 5.0])


def test_apply_center_uses_the_training_mean():
    mean = pre.fit_center(X_TRAIN)
    np.testing.assert_allclose(pre.apply_center(X_TEST, mean), [[-3.0, -5.0], [0.0, 0.0]])
    np.testing.assert_allclose(pre.apply_center(X_TRAIN, mean),
                               [[-2.0, -3.0], [0.0, -1.0], [2.0, 4.0]])


def test_mean_image_shape_for_images():
    X = np.random.default_rng(0).standard_normal((10, 3, 4, 5))
    mean = pre.fit_center(X)
    assert mean.shape == (3, 4, 5)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(pre.apply_center(X, mean).mean(axis=0), 0, atol=1e-12)


def test_per_channel_hand_worked():
    # Two images, two channels, 1 x 2 pixels. Channel 0 holds 0, 2, 4, 6 (mean 3),
    # channel 1 holds 10, 10, 20, 40 (mean 20).
    X = np.array([
        [[[0.0, 2.0]], [[10.0, 10.0]]],
        [[[4.0, 6.0]], [[20.0, 40.0]]],
    ])
    mean = pre.fit_center(X, per_channel=True)
    assert mean.shape == (2, 1, 1)
    np.testing.assert_allclose(mean.ravel(), [3.0, 20.0])
    out = pre.apply_center(X, mean)
    assert out.shape == X.shape
    np.testing.assert_allclose(out[1, 1, 0], [0.0, 20.0])
    np.testing.assert_allclose(out[0, 0, 0], [-3.0, -1.0])


def test_per_channel_statistics_come_from_training_only():
    rng = np.random.default_rng(0)
    X_train = rng.standard_normal((20, 3, 4, 4)) + np.array([1.0, 2.0, 3.0])[:, None, None]
    X_test = rng.standard_normal((5, 3, 4, 4)) + 10.0
    mean = pre.fit_center(X_train, per_channel=True)
    np.testing.assert_allclose(pre.apply_center(X_test, mean), X_test - mean)
    np.testing.assert_allclose(mean.ravel(), X_train.mean(axis=(0, 2, 3)))


def test_fit_standardize_hand_worked_with_a_constant_feature():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    mean, std = pre.fit_standardize(X)
    np.testing.assert_allclose(mean, [3.0, 5.0])
    # Feature 0: population std sqrt(8/3). Feature 1 is constant: std guarded to 1.
    np.testing.assert_allclose(std, [np.sqrt(8 / 3), 1.0])
    out = pre.apply_standardize(X, mean, std)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    np.testing.assert_array_equal(out[:, 1], 0.0)


def test_standardize_test_split_uses_training_statistics():
    X_train = np.array([[0.0, 10.0], [2.0, 30.0]])  # mean [1, 20], std [1, 10]
    X_test = np.array([[5.0, 0.0]])
    mean, std = pre.fit_standardize(X_train)
    np.testing.assert_allclose(std, [1.0, 10.0])
    np.testing.assert_allclose(pre.apply_standardize(X_test, mean, std), [[4.0, -2.0]])


def test_standardized_training_features_have_mean_0_std_1():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2, 3, 3)) * 5.0 + 7.0
    mean, std = pre.fit_standardize(X)
    assert mean.shape == (2, 3, 3) and std.shape == (2, 3, 3)
    out = pre.apply_standardize(X, mean, std)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-12)


# (id, function of X returning the output arrays)
TRANSFORMS = [
    ("center", lambda X: pre.apply_center(X, pre.fit_center(X))),
    ("center-per-channel", lambda X: pre.apply_center(X, pre.fit_center(X, per_channel=True))),
    ("standardize", lambda X: pre.apply_standardize(X, *pre.fit_standardize(X))),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("transform", [t[1] for t in TRANSFORMS], ids=[t[0] for t in TRANSFORMS])
def test_dtype_shape_and_input_untouched(transform, dtype):
    X = (np.random.default_rng(0).standard_normal((8, 3, 2, 2)) * 3 + 1).astype(dtype)
    X[:, 0, 0, 0] = 2.5  # a constant feature
    before = X.copy()
    out = transform(X)
    assert out.shape == X.shape
    assert out.dtype == dtype
    assert np.all(np.isfinite(out))
    assert not np.shares_memory(out, X)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_fitted_statistics_keep_dtype(dtype):
    X = np.random.default_rng(0).standard_normal((8, 3, 2, 2)).astype(dtype)
    assert pre.fit_center(X).dtype == dtype
    assert pre.fit_center(X, per_channel=True).dtype == dtype
    mean, std = pre.fit_standardize(X)
    assert mean.dtype == dtype and std.dtype == dtype
