"""Property checks of the assignment "Training Deep Neural Networks".

The grader calls each check as ``fn(got, **params)`` on a value your code returned; it
answers None when the value passes and otherwise a message saying what is wrong. Random
functions (weight initialization, dropout's statistics, data augmentation) are judged by
what any correct implementation must produce, never by one particular sequence of draws.
Tolerances are several standard errors wide, so a correct implementation passes them.
"""

import numpy as np


# ----------------------------------------------------------------------------- helpers
def _describe(value) -> str:
    """A short description of a value's type, shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}, dtype {value.dtype}"
    return f"a value of type {type(value).__name__}"


def _float_array(got, shape=None, dtype=None):
    """(array, None) for a finite floating-point array of `shape` and `dtype`, else (None, why)."""
    if not isinstance(got, np.ndarray):
        return None, f"expected an array, received {_describe(got)}"
    if got.dtype.kind != "f":
        return None, f"expected a floating-point array, received dtype {got.dtype}"
    if shape is not None and got.shape != tuple(shape):
        return None, f"wrong shape: expected {tuple(shape)}, received {got.shape}"
    if dtype is not None and got.dtype != np.dtype(dtype):
        return None, (f"wrong dtype: expected {np.dtype(dtype)}, received {got.dtype} "
                      "(keep the input's dtype)")
    if not np.all(np.isfinite(got)):
        return None, f"{int(np.sum(~np.isfinite(got)))} value(s) are NaN or inf"
    return got, None


def _like(got, x):
    """(array, None) when `got` is a finite array with the shape and dtype of `x`."""
    x = np.asarray(x)
    return _float_array(got, x.shape, x.dtype)


def _kurtosis(values: np.ndarray) -> float:
    """The (non-excess) kurtosis of `values`: 3 for a normal distribution, 1.8 for a uniform."""
    centered = values - values.mean()
    return float(np.mean(centered**4) / np.mean(centered**2) ** 2)


def _tolerance(p: float, n: int) -> float:
    """A band around a frequency p measured on n draws: six standard errors, at least 0.01."""
    return max(6 * np.sqrt(p * (1 - p) / max(n, 1)), 0.01)


def _per_image(a: np.ndarray) -> np.ndarray:
    """Images (N, ...) as rows of float64 (N, rest)."""
    return a.reshape(a.shape[0], -1).astype(np.float64)


# ----------------------------------------------------------------------------- weights
def normal_weights(got, shape, std, stats=True):
    """A weight matrix of `shape` whose entries look like draws of N(0, std^2).

    With stats=False only the shape and finiteness are checked (too few entries for
    statistics). Otherwise: the mean is near 0, the sample standard deviation within 3 %
    of `std`, and the kurtosis near a normal distribution's 3.
    """
    arr, why = _float_array(got, shape)
    if why or not stats:
        return why
    values = arr.astype(np.float64).ravel()
    mean, sample_std = float(values.mean()), float(values.std())
    if abs(mean) > 6 * std / np.sqrt(values.size):
        return f"the entries' mean is {mean:.3g}; it should be close to 0"
    if abs(sample_std / std - 1) > 0.03:
        return (f"the entries' standard deviation is {sample_std:.4g}, the formula gives "
                f"{std:.4g} for shape {tuple(shape)} (check fan_in, fan_out and the factor)")
    kurtosis = _kurtosis(values)
    if abs(kurtosis - 3) > 0.2:
        return (f"the entries do not look normally distributed (kurtosis {kurtosis:.2f}, a "
                "normal distribution has 3): draw them with rng.standard_normal")
    return None


def same_draws(got):
    """Two results stacked along axis 0, made with generators seeded alike, are equal."""
    if not isinstance(got, np.ndarray) or got.ndim < 1 or got.shape[0] != 2:
        return f"expected two stacked results, received {_describe(got)}"
    if not np.array_equal(got[0], got[1]):
        return ("two generators with the same seed gave different results: draw every "
                "random number from the `rng` argument, not from np.random")
    return None


# ----------------------------------------------------------------------------- optimizers
def config_defaults(got, defaults, state=()):
    """`got` is a dict holding each default hyper-parameter and each state key."""
    if not isinstance(got, dict):
        return f"expected the config dict, received {_describe(got)}"
    for key, value in defaults.items():
        if key not in got:
            return f"the returned config has no {key!r}: fill in the missing defaults"
        try:
            number = float(np.asarray(got[key]))
        except (TypeError, ValueError):
            return f"config[{key!r}] is {_describe(got[key])}, not a number"
        if not np.isclose(number, value, rtol=1e-12, atol=0):
            return f"config[{key!r}] is {number!r}; its default is {value!r}"
    for key in state:
        if key not in got:
            return f"the returned config has no state {key!r}: store it for the next call"
    return None


# ----------------------------------------------------------------------------- dropout
def dropout_train(got, x, p):
    """Inverted dropout in train mode: every unit is 0 or x / p, about a fraction p kept."""
    arr, why = _like(got, x)
    if why:
        return why
    x = np.asarray(x, dtype=np.float64)
    out = arr.astype(np.float64)
    kept = out != 0
    if not np.allclose(out[kept], x[kept] / p, rtol=1e-4, atol=0):
        if np.allclose(out[kept], x[kept], rtol=1e-4, atol=0):
            return "the kept units are not scaled by 1 / p (inverted dropout)"
        return "the output is not x times a mask of zeros and 1 / p"
    fraction = float(kept.mean())
    if abs(fraction - p) <= _tolerance(p, kept.size):
        return None
    if abs(fraction - (1 - p)) <= _tolerance(p, kept.size):
        return (f"{fraction:.1%} of the units were kept for p = {p}: p is the probability "
                "of KEEPING a unit")
    return f"{fraction:.1%} of the units were kept; with p = {p} about {p:.0%} should be"


def equals_input(got, x):
    """The value equals `x` exactly, with its shape and dtype."""
    arr, why = _like(got, x)
    if why:
        return why
    if not np.array_equal(arr, x):
        return "the output should equal the input exactly here (nothing changed or scaled)"
    return None


# ----------------------------------------------------------------------------- ema
def dict_keys(got, keys):
    """`got` is a dict with exactly the keys `keys`."""
    if not isinstance(got, dict):
        return f"expected a dict, received {_describe(got)}"
    if set(got) != set(keys):
        return f"expected a dict with the keys {sorted(keys)}, received keys {sorted(got)}"
    return None


def unchanged_dict(got, original):
    """The dict `got` (an input after the call) still holds exactly `original`'s arrays."""
    if not isinstance(got, dict) or set(got) != set(original):
        return "the input dict was changed (keys added or removed): return a new dict"
    for key, value in original.items():
        if not isinstance(got[key], np.ndarray) or not np.array_equal(got[key], value):
            return f"the input dict's array {key!r} was changed: leave the inputs alone"
    return None


# ----------------------------------------------------------------------------- augmentation
def flipped(got, x, p):
    """Each image is itself or its mirror along W; about a fraction p are mirrored."""
    arr, why = _like(got, x)
    if why:
        return why
    x = np.asarray(x)
    kept = np.all(_per_image(arr) == _per_image(x), axis=1)
    mirrored = np.all(_per_image(arr) == _per_image(x[..., ::-1]), axis=1)
    bad = ~(kept | mirrored)
    if bad.any():
        i = int(np.argmax(bad))
        if np.array_equal(arr[i], x[i, :, ::-1, :]):
            return f"image {i} is mirrored along H (axis 2); mirror along W (the last axis)"
        return f"image {i} is neither the input image nor its mirror along W"
    fraction = float(mirrored.mean())
    if p in (0, 1):
        if fraction != p:
            return f"{fraction:.1%} of the images were mirrored for p = {p}"
        return None
    if abs(fraction - p) > _tolerance(p, mirrored.size):
        return (f"{fraction:.1%} of the images were mirrored; with p = {p} (the probability "
                f"of mirroring, independently per image) about {p:.0%} should be")
    return None


def _windows(x: np.ndarray, padding: int) -> tuple[list, np.ndarray]:
    """Every H x W window of x zero-padded by `padding`: offsets and (N, K, rest) rows."""
    n, _, h, w = x.shape
    pad = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    xp = np.pad(x.astype(np.float64), pad)
    offsets = [(dy, dx) for dy in range(2 * padding + 1) for dx in range(2 * padding + 1)]
    rows = np.stack([xp[:, :, dy:dy + h, dx:dx + w].reshape(n, -1) for dy, dx in offsets], 1)
    return offsets, rows


def cropped(got, x, padding, all_offsets=True):
    """Each image is an H x W window of its zero-padded input, at a uniformly drawn offset.

    With all_offsets, every one of the (2 padding + 1)^2 offsets must occur, and none may
    occur more than three times as often as a uniform draw would make it.
    """
    arr, why = _like(got, x)
    if why:
        return why
    x = np.asarray(x)
    if x.ndim != 4:
        return "the check expects images of shape (N, C, H, W)"
    offsets, rows = _windows(x, padding)
    match = np.all(rows == _per_image(arr)[:, None, :], axis=2)
    found = match.any(axis=1)
    if not found.all():
        i = int(np.argmin(found))
        return (f"image {i} is not an H x W window of its input zero-padded by {padding} "
                "(pad with zeros, then slice)")
    if not all_offsets:
        return None
    counts = np.bincount(np.argmax(match, axis=1), minlength=len(offsets))
    missing = [offsets[k] for k in np.flatnonzero(counts == 0)]
    if missing:
        return (f"no image was cropped at the offset(s) (dy, dx) = {missing[:4]}: draw each "
                f"image's offsets uniformly from 0 to 2 * padding = {2 * padding}, inclusive")
    if counts.max() > 3 * len(arr) / len(offsets):
        return "some offsets occur far more often than others: draw them uniformly"
    return None


def contrasted(got, x, low, high, spread=True):
    """Each image is (x - m) f + m with its own mean m and one factor f in [low, high].

    With spread, the factors of all the images must also look uniform on [low, high].
    """
    arr, why = _like(got, x)
    if why:
        return why
    rows_x, rows_out = _per_image(np.asarray(x)), _per_image(arr)
    m_x, m_out = rows_x.mean(axis=1), rows_out.mean(axis=1)
    tol = 1e-4 if arr.dtype == np.float32 else 1e-9
    scale = 1 + np.abs(rows_x).max(axis=1)
    moved = np.abs(m_out - m_x) > tol * scale
    if moved.any():
        i = int(np.argmax(moved))
        return (f"image {i}'s mean changed from {m_x[i]:.4g} to {m_out[i]:.4g}: scale each "
                "image about its own mean")
    dx, dout = rows_x - m_x[:, None], rows_out - m_out[:, None]
    f = np.sum(dx * dout, axis=1) / np.sum(dx * dx, axis=1)
    residual = np.abs(dout - f[:, None] * dx).max(axis=1)
    if (residual > tol * scale).any():
        i = int(np.argmax(residual > tol * scale))
        return f"image {i} is not (x - m) * f + m for a single factor f"
    outside = (f < low - tol) | (f > high + tol)
    if outside.any():
        i = int(np.argmax(outside))
        return f"image {i} was scaled by {f[i]:.4g}, outside [low, high] = [{low}, {high}]"
    if spread and high > low:
        return _uniform_factors(f, low, high)
    return None


def _uniform_factors(f: np.ndarray, low: float, high: float):
    """None when the factors `f` look like independent uniform draws on [low, high]."""
    width = high - low
    if f.min() > low + 0.1 * width or f.max() < high - 0.1 * width:
        return (f"the factors span only [{f.min():.3g}, {f.max():.3g}]: draw one factor "
                f"per image uniformly from [{low}, {high}]")
    if abs(f.mean() - (low + high) / 2) > 0.1 * width:
        return "the factors are not centred in [low, high]: draw them uniformly"
    if abs(f.std() / (width / np.sqrt(12)) - 1) > 0.3:
        return "the factors do not look uniformly distributed on [low, high]"
    return None


def noised(got, x, std):
    """out - x looks like independent N(0, std^2) noise, one draw per entry."""
    arr, why = _like(got, x)
    if why:
        return why
    noise = (arr.astype(np.float64) - np.asarray(x, dtype=np.float64)).ravel()
    if std == 0:
        return None if not noise.any() else "with std = 0 the output should equal x"
    rounding = 1e-6 * (1 + np.abs(np.asarray(x)).max()) if arr.dtype == np.float32 else 0
    mean, sample_std = float(noise.mean()), float(noise.std())
    if abs(mean) > 6 * std / np.sqrt(noise.size) + rounding:
        return f"the noise's mean is {mean:.3g}; it should be close to 0"
    if abs(sample_std / std - 1) > 0.05:
        return (f"the noise's standard deviation is {sample_std:.4g}; it should be std = "
                f"{std} (the variance is std ** 2)")
    if len(np.unique(noise)) < 0.99 * noise.size:
        return "the noise repeats: draw an independent value for every entry of every image"
    if abs(_kurtosis(noise) - 3) > 0.25:
        return "the noise does not look Gaussian: draw it with rng.normal"
    return None
