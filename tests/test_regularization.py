"""Dropout, penalties, EMA, augmentation and early stopping of nntrain.regularization."""

import numpy as np
import pytest

from nntrain import regularization as reg

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]


# ---------------------------------------------------------------- dropout

def spec_mask(shape, p, seed):
    return (np.random.default_rng(seed).random(shape) < p) / p


@pytest.mark.parametrize("p", [0.3, 0.5, 0.8], ids=["p0.3", "p0.5", "p0.8"])
def test_dropout_keep_rate_and_scaling(p):
    x = np.ones((500, 1000))
    out, _ = reg.dropout_forward(x, {"p": p, "mode": "train", "seed": 1})
    kept = out != 0
    assert abs(kept.mean() - p) < 0.005
    np.testing.assert_allclose(out[kept], 1 / p)
    assert abs(out.mean() - 1.0) < 0.01


@pytest.mark.parametrize("p", [0.25, 0.5, 0.9], ids=["p0.25", "p0.5", "p0.9"])
def test_dropout_follows_the_spec_recipe(p):
    x = np.random.default_rng(0).standard_normal((20, 30))
    out, _ = reg.dropout_forward(x, {"p": p, "mode": "train", "seed": 123})
    np.testing.assert_allclose(out, x * spec_mask(x.shape, p, 123), rtol=1e-15)


def test_dropout_same_seed_same_mask_other_seed_other_mask():
    x = np.random.default_rng(0).standard_normal((50, 40))
    a, _ = reg.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    b, _ = reg.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    c, _ = reg.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 8})
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dropout_without_seed_runs_and_varies():
    x = np.ones((100, 100))
    a, _ = reg.dropout_forward(x, {"p": 0.5, "mode": "train"})
    b, _ = reg.dropout_forward(x, {"p": 0.5, "mode": "train"})
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_dropout_test_mode_is_identity(dtype):
    x = np.random.default_rng(0).standard_normal((10, 8)).astype(dtype)
    param = {"p": 0.3, "mode": "test", "seed": 0}
    out, cache = reg.dropout_forward(x, param)
    np.testing.assert_array_equal(out, x)
    assert out.dtype == dtype
    dout = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    np.testing.assert_array_equal(reg.dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_dropout_backward_is_dout_times_mask(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 20)).astype(dtype)
    dout = rng.standard_normal(x.shape).astype(dtype)
    x_before, dout_before = x.copy(), dout.copy()
    out, cache = reg.dropout_forward(x, {"p": 0.6, "mode": "train", "seed": 3})
    dx = reg.dropout_backward(dout, cache)
    assert out.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(dx, dout * spec_mask(x.shape, 0.6, 3), rtol=1e-6)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)


# ---------------------------------------------------------------- L1 / L2

W_HAND = np.array([[1.0, -2.0], [0.0, 3.0]])

PENALTY_CASES = [
    # (id, function, reg, expected loss, expected dW)
    ("l2", reg.l2_regularization, 0.1, 0.7, 0.1 * W_HAND),
    ("l2-reg-2", reg.l2_regularization, 2.0, 14.0, 2.0 * W_HAND),
    ("l1", reg.l1_regularization, 0.1, 0.6, np.array([[0.1, -0.1], [0.0, 0.1]])),
    ("l1-reg-0", reg.l1_regularization, 0.0, 0.0, np.zeros((2, 2))),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize(
    "fn, strength, loss, dW", [c[1:] for c in PENALTY_CASES], ids=[c[0] for c in PENALTY_CASES]
)
def test_penalties_hand_worked(fn, strength, loss, dW, dtype):
    W = W_HAND.astype(dtype)
    got_loss, got_dW = fn(W, strength)
    assert isinstance(got_loss, float)
    assert got_loss == pytest.approx(loss, rel=1e-6)
    assert got_dW.dtype == dtype
    np.testing.assert_allclose(got_dW, dW, rtol=1e-6)
    np.testing.assert_array_equal(W, W_HAND.astype(dtype))


def test_l2_gradient_matches_numerical():
    W = np.random.default_rng(0).standard_normal((4, 3))
    _, dW = reg.l2_regularization(W, 0.3)
    num = np.zeros_like(W)
    h = 1e-5
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += h
        Wm[idx] -= h
        num[idx] = (reg.l2_regularization(Wp, 0.3)[0] - reg.l2_regularization(Wm, 0.3)[0]) / (2 * h)
    np.testing.assert_allclose(dW, num, rtol=1e-6)


# ---------------------------------------------------------------- EMA

def test_ema_hand_worked_with_missing_key():
    ema = {"a": np.array([1.0, 2.0])}
    params = {"a": np.array([3.0, 4.0]), "b": np.array([5.0])}
    new = reg.ema_update(ema, params, decay=0.5)
    assert set(new) == {"a", "b"}
    np.testing.assert_allclose(new["a"], [2.0, 3.0])
    np.testing.assert_allclose(new["b"], [5.0])
    np.testing.assert_array_equal(ema["a"], [1.0, 2.0])
    assert "b" not in ema
    assert new is not ema
    assert not np.shares_memory(new["b"], params["b"])
    assert not np.shares_memory(new["a"], ema["a"])


def test_ema_hand_worked_sequence():
    # Start empty: 10, then 0.9 * 10 + 0.1 * 0 = 9, then 0.9 * 9 + 0.1 * 0 = 8.1,
    # then 0.9 * 8.1 + 0.1 * 20 = 9.29.
    ema = {}
    for value, want in [(10.0, 10.0), (0.0, 9.0), (0.0, 8.1), (20.0, 9.29)]:
        ema = reg.ema_update(ema, {"w": np.array([value])}, decay=0.9)
        np.testing.assert_allclose(ema["w"], [want], rtol=1e-12)


def test_ema_default_decay():
    new = reg.ema_update({"w": np.zeros(2)}, {"w": np.ones(2)})
    np.testing.assert_allclose(new["w"], [0.005, 0.005], rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_ema_keeps_dtype(dtype):
    new = reg.ema_update({"w": np.zeros(3, dtype)}, {"w": np.ones(3, dtype)}, decay=0.9)
    assert new["w"].dtype == dtype


# ---------------------------------------------------------------- augmentation

def images(dtype=np.float64, shape=(40, 3, 6, 7), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


AUGMENTATIONS = [
    ("flip", lambda x, rng: reg.random_horizontal_flip(x, rng)),
    ("crop", lambda x, rng: reg.random_crop(x, rng)),
    ("contrast", lambda x, rng: reg.random_contrast(x, rng)),
    ("noise", lambda x, rng: reg.add_gaussian_noise(x, rng)),
]
AUGMENTATION_IDS = [a[0] for a in AUGMENTATIONS]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("augment", [a[1] for a in AUGMENTATIONS], ids=AUGMENTATION_IDS)
def test_augmentation_shape_dtype_new_array_input_untouched(augment, dtype):
    x = images(dtype)
    before = x.copy()
    out = augment(x, np.random.default_rng(0))
    assert out.shape == x.shape
    assert out.dtype == dtype
    assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("augment", [a[1] for a in AUGMENTATIONS], ids=AUGMENTATION_IDS)
def test_augmentation_draws_from_the_given_rng(augment):
    x = images()
    a = augment(x, np.random.default_rng(5))
    b = augment(x, np.random.default_rng(5))
    c = augment(x, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_flip_p1_mirrors_every_image():
    x = images()
    np.testing.assert_array_equal(reg.random_horizontal_flip(x, np.random.default_rng(0), p=1.0),
                                  x[..., ::-1])


def test_flip_p0_is_identity():
    x = images()
    np.testing.assert_array_equal(reg.random_horizontal_flip(x, np.random.default_rng(0), p=0.0),
                                  x)


def test_flip_half_each_image_itself_or_its_mirror():
    x = images(shape=(2000, 1, 3, 4))
    out = reg.random_horizontal_flip(x, np.random.default_rng(0), p=0.5)
    same = np.all(out == x, axis=(1, 2, 3))
    mirrored = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    assert np.all(same ^ mirrored)
    assert abs(mirrored.mean() - 0.5) < 0.05


def crop_offsets(x, out, padding):
    """For each image, the (dy, dx) offsets whose window of the padded image equals out."""
    _, _, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    found = []
    for i in range(x.shape[0]):
        found.append([
            (dy, dx)
            for dy in range(2 * padding + 1)
            for dx in range(2 * padding + 1)
            if np.array_equal(xp[i, :, dy:dy + H, dx:dx + W], out[i])
        ])
    return found


@pytest.mark.parametrize("padding", [1, 2, 3], ids=["pad1", "pad2", "pad3"])
def test_crop_each_image_is_a_window_of_the_padded_image(padding):
    x = images(shape=(600, 2, 5, 6))
    out = reg.random_crop(x, np.random.default_rng(0), padding=padding)
    found = crop_offsets(x, out, padding)
    assert all(len(f) == 1 for f in found)
    offsets = [f[0] for f in found]
    # Uniform over (2 padding + 1)^2 offsets: every one of them occurs.
    assert len(set(offsets)) == (2 * padding + 1) ** 2


def test_crop_default_padding_is_2():
    x = images(shape=(300, 1, 4, 4))
    out = reg.random_crop(x, np.random.default_rng(0))
    found = crop_offsets(x, out, 2)
    assert all(len(f) == 1 for f in found)
    assert len({f[0] for f in found}) == 25


def test_crop_padding_0_is_identity():
    x = images()
    np.testing.assert_array_equal(reg.random_crop(x, np.random.default_rng(0), padding=0), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_contrast_keeps_each_mean_and_factor_in_range(dtype):
    x = images(dtype, shape=(500, 2, 4, 4)) + 3.0
    low, high = 0.5, 1.5
    out = reg.random_contrast(x, np.random.default_rng(0), low=low, high=high)
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3), keepdims=True), m, atol=tol)
    # The least-squares factor per image, then out must be exactly (x - m) f + m.
    c = (x - m).astype(np.float64)
    f = np.sum((out - m) * c, axis=(1, 2, 3)) / np.sum(c * c, axis=(1, 2, 3))
    np.testing.assert_allclose(out, c * f[:, None, None, None] + m, atol=10 * tol)
    assert np.all((f >= low - 1e-6) & (f <= high + 1e-6))
    # Drawn per image, spread over the range.
    assert f.min() < low + 0.05 and f.max() > high - 0.05


def test_contrast_factor_1_is_identity():
    x = images()
    out = reg.random_contrast(x, np.random.default_rng(0), low=1.0, high=1.0)
    np.testing.assert_allclose(out, x, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("std", [0.1, 0.5], ids=["std0.1", "std0.5"])
def test_noise_statistics(std, dtype):
    x = images(dtype, shape=(100, 3, 16, 16))
    out = reg.add_gaussian_noise(x, np.random.default_rng(0), std=std)
    residual = (out - x).astype(np.float64)
    assert abs(residual.std() - std) < 0.02 * std
    assert abs(residual.mean()) < 0.02 * std
    # Independent per pixel: neighbouring residuals are uncorrelated.
    flat = residual.ravel()
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.02


def test_noise_default_std():
    x = np.zeros((50, 2, 20, 20))
    out = reg.add_gaussian_noise(x, np.random.default_rng(0))
    assert abs(out.std() - 0.1) < 0.002


def test_noise_std_0_is_identity():
    x = images()
    np.testing.assert_array_equal(reg.add_gaussian_noise(x, np.random.default_rng(0), std=0.0), x)


# ---------------------------------------------------------------- early stopping

ES_CASES = [
    # (id, patience, metrics, expected step results, best_epoch after the last call)
    ("spec-example", 2, [0.5, 0.6, 0.55, 0.58], [False, False, False, True], 1),
    ("ties-do-not-improve", 2, [0.5, 0.5, 0.5], [False, False, True], 0),
    ("always-improving", 1, [0.1, 0.2, 0.3], [False, False, False], 2),
    ("patience-3", 3, [0.3, 0.2, 0.4, 0.1, 0.1, 0.1],
     [False, False, False, False, False, True], 2),
    ("improvement-resets-count", 2, [0.5, 0.4, 0.6, 0.55, 0.5],
     [False, False, False, False, True], 2),
    ("patience-1-first-drop", 1, [1.0, 0.9], [False, True], 0),
    ("negative-metrics", 1, [-3.0, -2.0, -2.5], [False, False, True], 1),
    ("keeps-stopping-then-recovers", 1, [0.5, 0.4, 0.3, 0.7, 0.6],
     [False, True, True, False, True], 3),
    ("tie-after-bad-still-bad", 2, [0.8, 0.7, 0.8], [False, False, True], 0),
]


@pytest.mark.parametrize(
    "patience, metrics, expected, best_epoch", [c[1:] for c in ES_CASES],
    ids=[c[0] for c in ES_CASES],
)
def test_early_stopping(patience, metrics, expected, best_epoch):
    stopper = reg.EarlyStopping(patience)
    got = [stopper.step(m) for m in metrics]
    assert got == expected
    assert stopper.best_epoch == best_epoch
    assert stopper.best_metric == metrics[best_epoch]


def test_early_stopping_attributes_along_the_spec_example():
    stopper = reg.EarlyStopping(2)
    trace = []
    for m in [0.5, 0.6, 0.55, 0.58]:
        stopper.step(m)
        trace.append((stopper.best_epoch, stopper.best_metric, stopper.num_bad))
    assert trace == [(0, 0.5, 0), (1, 0.6, 0), (1, 0.6, 1), (1, 0.6, 2)]
