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
        if p < 1 and np.allclose(out[kept], x[kept] / (1 - p), rtol=1e-4, atol=0):
            return (f"the kept units are scaled by 1 / (1 - p) and {float(kept.mean()):.1%} "
                    f"were kept for p = {p}: that is p taken as the probability of DROPPING "
                    "a unit; p is the probability of KEEPING a unit (mask = (u < p) / p)")
        return "the output is not x times a mask of zeros and 1 / p"
    fraction = float(kept.mean())
    if abs(fraction - p) <= _tolerance(p, kept.size):
        return None
    if abs(fraction - (1 - p)) <= _tolerance(p, kept.size):
        return (f"{fraction:.1%} of the units were kept for p = {p}: that is p taken as the "
                "probability of DROPPING a unit; p is the probability of KEEPING a unit")
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


# ----------------------------------------------------------------------------- torch_tasks
# A torch model stays in the worker; these checks see plain data about it (the worker's
# probes): a list of its layers, its state_dict as arrays, or its predictions.
def _layer_plan(in_features, num_classes, hidden, keep_prob) -> list[dict]:
    """The layers make_model(in_features, num_classes, hidden, keep_prob) must build."""
    plan, dim = [], in_features
    for h in hidden:
        plan += [{"type": "Linear", "in_features": dim, "out_features": h},
                 {"type": "BatchNorm1d", "num_features": h}, {"type": "ReLU"},
                 {"type": "Dropout", "p": 1 - keep_prob}]
        dim = h
    return plan + [{"type": "Linear", "in_features": dim, "out_features": num_classes}]


def _layer_mismatch(i: int, got: dict, want: dict, keep_prob: float):
    """None when layer `i` matches `want`, else what differs."""
    if got.get("type") != want["type"]:
        return (f"layer {i} is {got.get('type')}, expected {want['type']} (per hidden layer: "
                "Linear -> BatchNorm1d -> ReLU -> Dropout, then a final Linear)")
    for key, value in want.items():
        if key == "type":
            continue
        have = got.get(key)
        if key == "p" and isinstance(have, (int, float)) and np.isclose(have, keep_prob) \
                and not np.isclose(value, keep_prob):
            return (f"layer {i} is Dropout(p={have:g}) for keep_prob = {keep_prob:g}: "
                    "nn.Dropout takes the probability of DROPPING a unit, use 1 - keep_prob")
        if not isinstance(have, (int, float)) or not np.isclose(have, value, atol=1e-9):
            return f"layer {i} ({want['type']}) has {key} = {have!r}, expected {value:g}"
    return None


def architecture(got, in_features, num_classes, hidden, keep_prob):
    """The model's leaf layers (probe.module_summary) are exactly the SPEC's, in order."""
    if not isinstance(got, list) or not all(isinstance(layer, dict) for layer in got):
        return f"expected the model's list of layers, received {_describe(got)}"
    plan = _layer_plan(in_features, num_classes, hidden, keep_prob)
    if len(got) != len(plan):
        types = ", ".join(str(layer.get("type")) for layer in got)
        return (f"expected {len(plan)} layers (4 per hidden layer for hidden = "
                f"{tuple(hidden)}, then a Linear), found {len(got)}: [{types}]")
    for i, (layer, want) in enumerate(zip(got, plan, strict=True)):
        why = _layer_mismatch(i, layer, want, keep_prob)
        if why:
            return why
    return None


def _init_hint(ratio: float, fan_in: int, fan_out: int) -> str:
    """What a weight standard deviation of `ratio` times He's suggests."""
    guesses = {"Xavier's 1 / fan_in": np.sqrt(0.5),
               "PyTorch's default nn.Linear init (uniform, 1 / (3 fan_in))": np.sqrt(1 / 6),
               "fan_out instead of fan_in": np.sqrt(fan_in / fan_out)}
    names = [name for name, value in guesses.items() if abs(ratio / value - 1) < 0.05]
    return f" (that looks like {' or '.join(names)})" if names else ""


def _he_layer(index: int, W: np.ndarray):
    """None when the Linear weight W (out, in) looks like N(0, 2 / fan_in) draws."""
    fan_out, fan_in = W.shape
    values = W.astype(np.float64).ravel()
    std = np.sqrt(2 / fan_in)
    if abs(values.mean()) > 6 * std / np.sqrt(values.size):
        return f"Linear layer {index}'s weights have mean {values.mean():.3g}, not about 0"
    ratio = values.std() / std
    if abs(ratio - 1) > max(0.03, 5 / np.sqrt(2 * values.size)):
        return (f"Linear layer {index} ({fan_in} -> {fan_out}) has weight std "
                f"{values.std():.4g}; He initialization gives sqrt(2 / fan_in) = {std:.4g}"
                + _init_hint(ratio, fan_in, fan_out))
    if values.size >= 10_000 and abs(_kurtosis(values) - 3) > 0.3:
        return (f"Linear layer {index}'s weights do not look normally distributed (kurtosis "
                f"{_kurtosis(values):.2f}, a normal has 3): use nn.init.kaiming_normal_")
    return None


def he_initialized(got, sizes):
    """A fresh model's state (probe.state_arrays): He-normal Linear weights, zero biases.

    `sizes` = (in_features, H1, ..., HL, num_classes); the Linear weights are the 2-D
    entries of the state, in order, with torch's shape (fan_out, fan_in).
    """
    if not isinstance(got, dict) or not all(isinstance(v, np.ndarray) for v in got.values()):
        return f"expected the model's state as a dict of arrays, received {_describe(got)}"
    weights = [k for k, v in got.items() if v.ndim == 2]
    shapes = [(b, a) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    if [got[k].shape for k in weights] != shapes:
        return (f"expected Linear weights of shapes {shapes} (out, in), found "
                f"{[got[k].shape for k in weights]}")
    for index, key in enumerate(weights):
        why = _he_layer(index, got[key])
        if why:
            return why
        bias = got.get(key.rsplit(".", 1)[0] + ".bias") if "." in key else None
        if bias is None:
            return f"Linear layer {index} has no bias"
        if np.any(bias != 0):
            return f"Linear layer {index}'s bias is not all zeros (nn.init.zeros_)"
    return None


def _crossing(value) -> str:
    """_describe, or what a value that could not leave the worker was (e.g. a Tensor)."""
    what = getattr(value, "what", None)
    if isinstance(what, str) and type(value).__name__ == "Unsupported":
        return f"a {what}, which cannot be graded: return NumPy arrays (.cpu().numpy())"
    return _describe(value)


def _labels(got, n):
    """(array, None) for an integer array of shape (n,), else (None, why)."""
    if not isinstance(got, np.ndarray):
        return None, f"expected an array of class labels, received {_crossing(got)}"
    if got.dtype.kind not in "iu":
        return None, (f"wrong dtype: predictions must be int64 class labels, received dtype "
                      f"{got.dtype} (argmax over the classes, then .astype(np.int64))")
    if got.shape != (n,):
        return None, f"wrong shape: expected ({n},), one label per input, received {got.shape}"
    return got, None


def int_labels(got, n, num_classes):
    """Predictions: an int64 array of shape (n,) with values in [0, num_classes)."""
    arr, why = _labels(got, n)
    if why:
        return why
    if arr.dtype != np.int64:
        return (f"wrong dtype: expected int64 class labels, received {arr.dtype} "
                "(.astype(np.int64))")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        return f"labels must lie in [0, {num_classes}); received {arr.min()} to {arr.max()}"
    return None


def _accuracy_at_least(got, labels, threshold):
    """Integer predictions of shape labels.shape agree with `labels` on >= `threshold`."""
    labels = np.asarray(labels)
    arr, why = _labels(got, len(labels))
    if why:
        return why
    accuracy = float(np.mean(arr == labels))
    if accuracy >= threshold:
        return None
    message = f"held-out accuracy {accuracy:.1%}, below the {threshold:.0%} this check needs"
    if len(np.unique(arr)) == 1:
        message += f" (every prediction is class {arr[0]}: did the model train?)"
    return message


def _linear_weights(state) -> list:
    """The 2-D floating arrays (Linear weights) of a state dict of arrays, in order."""
    if not isinstance(state, dict):
        return []
    return [v for v in state.values()
            if isinstance(v, np.ndarray) and v.ndim == 2 and v.dtype.kind == "f"]


def model_accuracy_at_least(got, labels, threshold, fresh, before=None, after=None):
    """_accuracy_at_least, for predictions made with the trained model's weights.

    `fresh` are the predictions for the same inputs after the model's weights were
    replaced by a fresh model's: a predict that uses the model changes most of them (a
    lookup or a nearest-neighbour search changes none). With `before` and `after` (the
    model's state before and after train), training must have changed its weights.
    """
    labels = np.asarray(labels)
    arr, why = _labels(got, len(labels))
    why = why or _accuracy_at_least(arr, labels, threshold)
    if why:
        return why
    if before is not None or after is not None:
        old, new = _linear_weights(before), _linear_weights(after)
        if not new:
            return "the trained model has no Linear weights to check"
        if len(old) == len(new) and all(a.shape == b.shape and np.array_equal(a, b)
                                        for a, b in zip(old, new, strict=True)):
            return ("train left every weight of the model as it was: it must update the "
                    "model it is given (no accuracy points for an untrained model)")
    if isinstance(fresh, np.ndarray) and fresh.shape == arr.shape:
        same = float(np.mean(fresh == arr))
        if same >= 0.9:
            return (f"{same:.0%} of the predictions stay the same when the model's weights "
                    "are replaced by a fresh model's: predict must compute them with the "
                    "model (no accuracy points for predictions that ignore it)")
    elif fresh is not None:
        return f"predictions with fresh weights: {_crossing(fresh)}"
    return None


def same_predictions(got, hint):
    """Rows of a stacked (k, N) array of predictions are all equal; `hint` says why not."""
    if not isinstance(got, np.ndarray) or got.ndim != 2 or got.shape[0] < 2:
        return f"expected stacked predictions of shape (k, N), received {_describe(got)}"
    if not all(np.array_equal(got[0], row) for row in got[1:]):
        differ = int(np.sum(np.any(got != got[0], axis=0)))
        return f"{differ} of {got.shape[1]} predictions differ: {hint}"
    return None


def _index(value):
    """An integer from an int or a one-value integer array (a NumPy integer), else None."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iu":
        return int(value.item())
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def training_history(got, epochs, patience):
    """train's history: per-epoch losses and accuracies, and the epoch of the kept weights."""
    if not isinstance(got, dict) or not {"train_loss", "val_acc", "best_epoch"} <= set(got):
        return ("expected a dict with the keys 'train_loss', 'val_acc' and 'best_epoch', "
                f"received {_describe(got) if not isinstance(got, dict) else sorted(got)}")
    losses, accs = got["train_loss"], got["val_acc"]
    if not isinstance(losses, list) or not isinstance(accs, list) or len(losses) != len(accs):
        return "'train_loss' and 'val_acc' must be lists with one number per epoch run"
    if not 1 <= len(accs) <= epochs:
        return f"the history has {len(accs)} epochs; train for 1 to epochs = {epochs}"
    try:
        losses = np.asarray(losses, dtype=float).reshape(len(accs))
        accs = np.asarray(accs, dtype=float).reshape(len(accs))
    except (TypeError, ValueError):
        return "'train_loss' and 'val_acc' must hold plain numbers (use .item())"
    if not np.all(np.isfinite(losses)) or np.any((accs < 0) | (accs > 1)):
        return "the losses must be finite and the accuracies within [0, 1]"
    best = _index(got["best_epoch"])
    if best is None or not 0 <= best < len(accs):
        return (f"'best_epoch' must be an int index into the {len(accs)} epochs, not "
                f"{_describe(got['best_epoch'])}")
    if accs[best] < accs.max():
        return (f"'best_epoch' = {best} has validation accuracy {accs[best]:.3f}, but epoch "
                f"{int(accs.argmax())} reached {accs.max():.3f}: keep the best weights")
    if len(accs) < epochs and len(accs) - 1 - best < patience:
        return (f"training stopped after {len(accs)} of {epochs} epochs, only "
                f"{len(accs) - 1 - best} after the best one ({best}); early stopping waits "
                f"patience = {patience} epochs without improvement")
    return None


def mode_restored(got):
    """model.training after predict on a model in train mode (a one-value bool array) is True."""
    if not isinstance(got, np.ndarray) or got.dtype != bool or got.size != 1:
        return f"expected the model's training flag, received {_describe(got)}"
    if not got.item():
        return ("predict left the model in eval mode: restore its mode afterwards "
                "(model.train(was_training))")
    return None


def _device_note(got):
    """The note recorded with a training case: where the worker's torch computed."""
    return f"torch device in the grader: {got}"


# ----------------------------------------------------------------------------- mode connectivity
def _mlp_scores(params: dict, X: np.ndarray) -> np.ndarray:
    """The SPEC's ReLU MLP: h = max(0, h Wl + bl) for l < L, scores = h WL + bL (float64)."""
    h = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    layers = sum(1 for k in params if k.startswith("W"))
    for l in range(1, layers + 1):
        h = h @ params[f"W{l}"].astype(np.float64) + params[f"b{l}"].astype(np.float64)
        if l < layers:
            h = np.maximum(h, 0)
    return h


def _mean_cross_entropy(scores: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy in nats, computed stably."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_z - shifted[np.arange(len(y)), y]))


def _barrier(losses: np.ndarray, ts: np.ndarray) -> float:
    """Largest excess of the losses over the chord between the two endpoint losses."""
    return float(np.max(losses - ((1 - ts) * losses[0] + ts * losses[-1])))


def _path_barrier(point, X, y, num_t: int) -> float:
    """The barrier of the path t -> point(t) (a param dict) on (X, y)."""
    ts = np.linspace(0.0, 1.0, num_t)
    losses = np.array([_mean_cross_entropy(_mlp_scores(point(t), X), y) for t in ts])
    return _barrier(losses, ts)


def _bend_problem(got, w1):
    """None when `got` is a dict of finite floating arrays with w1's keys and shapes."""
    if not isinstance(got, dict):
        return f"expected theta as a dict of arrays, received {_describe(got)}"
    if set(got) != set(w1):
        return f"theta must have the keys of w1, {sorted(w1)}; received {sorted(got)}"
    for k, value in w1.items():
        if not isinstance(got[k], np.ndarray) or got[k].dtype.kind != "f":
            return f"theta[{k!r}] should be a floating-point array, received {_crossing(got[k])}"
        if got[k].shape != value.shape:
            return f"theta[{k!r}] has shape {got[k].shape}; w1[{k!r}] has {value.shape}"
        if not np.all(np.isfinite(got[k])):
            return f"theta[{k!r}] holds NaN or inf"
    return None


def bend_lowers_barrier(got, w1, w2, X, y, fraction, num_t=21):
    """The Bezier curve through the bend `got` has a barrier below `fraction` x the line's.

    The barrier of a path is its largest excess loss (mean cross-entropy on X, y, at
    num_t equally spaced t) over the straight interpolation of the two endpoint losses.
    """
    why = _bend_problem(got, w1)
    if why:
        return why
    y = np.asarray(y)
    line = _path_barrier(lambda t: {k: (1 - t) * w1[k] + t * w2[k] for k in w1}, X, y, num_t)
    curve = _path_barrier(
        lambda t: {k: (1 - t) ** 2 * w1[k] + 2 * t * (1 - t) * got[k] + t ** 2 * w2[k]
                   for k in w1}, X, y, num_t)
    if curve < fraction * line:
        return None
    message = (f"the curve's loss barrier is {curve:.3g} nats, the straight line's "
               f"{line:.3g}: a trained bend brings it below {fraction:g} x the line's")
    if all(np.allclose(got[k], (w1[k] + w2[k]) / 2) for k in w1):
        message += " (theta is still the midpoint (w1 + w2) / 2: did it train?)"
    return message
