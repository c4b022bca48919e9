"""Judging a submission's values against the reference, with messages a student can act on.

Every judgement returns None when the value passes and otherwise a plain message: expected
versus received shape and dtype, NaN or inf, the largest relative error and where it is.
For hidden cases (`reveal=False`) no expected value appears in a message.
"""

from __future__ import annotations

import numpy as np

from autograder.worker import Unsupported

MAX_SHOWN = 200  # characters of a returned value's repr in a message


def describe(value) -> str:
    """A short description of a value's type, shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, Unsupported):
        return f"an object that cannot be graded ({value.what})"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    if not np.isscalar(value):
        return type(value).__name__
    shown = repr(value)  # a scalar a submission returned: a string may be megabytes long
    shown = shown if len(shown) <= MAX_SHOWN else f"{shown[:MAX_SHOWN]}... ({len(shown):,} chars)"
    return f"{type(value).__name__} {shown}"


def _as_array(value):
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float)) and not isinstance(value, bool):
        return np.asarray(value)
    return None


def close(got, expected, rtol: float, atol: float, match_dtype: bool, reveal: bool):
    """Elementwise |got - expected| <= atol + rtol |expected|, with shape and dtype checks."""
    exp = _as_array(expected)
    if exp is None:
        return exact(got, expected, reveal)
    arr = _as_array(got)
    if arr is None:
        return f"expected {describe(exp)}, received {describe(got)}"
    if isinstance(expected, np.ndarray) and not isinstance(got, np.ndarray):
        return f"expected {describe(exp)}, received {describe(got)}"
    if arr.shape != exp.shape:
        return f"wrong shape: expected {exp.shape}, received {arr.shape}"
    if match_dtype and isinstance(expected, np.ndarray) and arr.dtype != exp.dtype:
        return f"wrong dtype: expected {exp.dtype}, received {arr.dtype} (keep the input's dtype)"
    arr64, exp64 = arr.astype(np.float64), exp.astype(np.float64)
    bad_nan = ~np.isfinite(arr64) & np.isfinite(exp64)
    if bad_nan.any():
        flat = int(np.argmax(bad_nan))
        kind = "NaN" if np.isnan(arr64.flat[flat]) else "inf"
        if not arr.shape:
            return f"the value is {kind}"
        where = _index(flat, arr.shape)
        return f"{int(bad_nan.sum())} value(s) are NaN or inf (first: {kind} at index {where})"
    with np.errstate(invalid="ignore"):
        err = np.abs(arr64 - exp64)
        ok = (err <= atol + rtol * np.abs(exp64)) | (np.isnan(arr64) & np.isnan(exp64)) \
            | (arr64 == exp64)
    if ok.all():
        return None
    # The worst element is the one furthest outside its tolerance.
    excess = np.where(ok, 0.0, err / (atol + rtol * np.abs(exp64)))
    flat = int(np.argmax(excess))
    size = _error_text(float(err.flat[flat]), float(exp64.flat[flat]), reveal)
    if arr.shape:
        message = (f"{int((~ok).sum())} of {ok.size} values differ; largest {size} "
                   f"at index {_index(flat, arr.shape)}")
    else:
        message = f"wrong value: {size}"
    if reveal:
        message += (f": expected {float(exp64.flat[flat]):.6g}, "
                    f"received {float(arr64.flat[flat]):.6g}")
    return message


def exact(got, expected, reveal: bool):
    """Equality of numbers, booleans, strings, integer arrays, and containers of them."""
    if isinstance(expected, (dict, list, tuple)):
        return _exact_container(got, expected, reveal)
    if isinstance(expected, np.ndarray):
        if not isinstance(got, np.ndarray) or got.shape != expected.shape:
            return f"expected {describe(expected)}, received {describe(got)}"
        if np.array_equal(got, expected):
            return None
        wrong = int((got != expected).sum())
        return f"{wrong} of {expected.size} values are wrong"
    if isinstance(got, np.ndarray) and got.shape == ():
        got = got.item()
    same = type(got) is type(expected) or (
        isinstance(got, (int, float)) and isinstance(expected, (int, float))
        and not isinstance(got, bool) and not isinstance(expected, bool)
    )
    if same and got == expected:
        return None
    if reveal:
        return f"expected {expected!r}, received {describe(got)}"
    return f"received {describe(got)}, which is not the expected value"


def _exact_container(got, expected, reveal: bool):
    if type(got) is not type(expected):
        return f"expected a {type(expected).__name__}, received {describe(got)}"
    if isinstance(expected, dict):
        if set(got) != set(expected):
            return f"expected the keys {sorted(expected)}, received {sorted(got)}"
        pairs = [(f"[{k!r}]", got[k], expected[k]) for k in expected]
    else:
        if len(got) != len(expected):
            return f"expected {len(expected)} items, received {len(got)}"
        pairs = [(f"[{i}]", g, e) for i, (g, e) in enumerate(zip(got, expected, strict=True))]
    for where, g, e in pairs:
        message = exact(g, e, reveal)
        if message:
            return f"{where}: {message}"
    return None


def gradient(got, plus: list, minus: list, dout, indices: list[int], h: float,
             rtol: float, x_shape: tuple):
    """The analytic gradient `got` against central differences of the forward outputs."""
    if not isinstance(got, np.ndarray) or got.shape != x_shape:
        return f"expected a gradient of shape {x_shape}, received {describe(got)}"
    for value in [*plus, *minus]:
        if not isinstance(value, (np.ndarray, float, int)) or np.shape(value) != np.shape(dout):
            return f"the forward pass returned {describe(value)}; expected shape {np.shape(dout)}"
    numeric = np.array([
        np.sum(dout * (np.asarray(p, np.float64) - np.asarray(m, np.float64))) / (2 * h)
        for p, m in zip(plus, minus, strict=True)
    ])
    analytic = got.astype(np.float64).flat[indices]
    if not np.all(np.isfinite(analytic)):
        return "the gradient holds NaN or inf"
    err = np.abs(numeric - analytic) / np.maximum(np.abs(numeric) + np.abs(analytic), 1e-8)
    worst = int(np.argmax(err))
    if err[worst] <= rtol:
        return None
    return (f"does not match a numeric gradient of your forward pass: relative error "
            f"{float(err[worst]):.3g} at index {_index(indices[worst], x_shape)} "
            f"(analytic {analytic[worst]:.6g}, numeric {numeric[worst]:.6g})")


def _error_text(err: float, expected: float, reveal: bool) -> str:
    """"relative error R", or "absolute error A" where the expected value is (nearly) 0."""
    if abs(expected) > 1e-12:
        return f"relative error {err / abs(expected):.3g}"
    return f"absolute error {err:.3g}" + (" (the expected value is 0)" if reveal else "")


def _index(flat: int, shape: tuple):
    if not shape:
        return "()"
    return tuple(int(i) for i in np.unravel_index(int(flat), shape))
