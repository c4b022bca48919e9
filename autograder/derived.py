"""Hidden cases that the public cases give away: arrays transformed, not copied.

The build's byte-wise checks find a hidden input shipped as is. A hidden case is also
given away when its inputs are a public case's arrays cast (float32), sliced, reshaped,
transposed or scaled by a constant, or a whole public array shifted and scaled
(standardised, `a x + b`), or when its expected outputs are a public case's (so,
computable from the bundle): a submission could look them up. This module finds those,
by value rather than by bytes.

How: each array is reduced to the set of its values' magnitudes on a log scale
(2**20 steps per octave, about 7e-7 relative: float32 rounding stays within a step),
non-integer values only (labels, counts and pixel levels are shared by design). A
scaling by s shifts every key by the same amount, so "some hidden array is a public one
transformed" is "its keys, shifted by a common offset, lie among a public array's". Only
arrays with at least MIN_VALUES such values are judged, so that chance matches among
random data are negligible. An affine map of a whole array, `a x + b`, leaves its
standardised values `(x - mean) / std` as they were (up to sign), so the same lookup on
standardised values, with no scale, finds it. Not found: an offset applied to a slice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from autograder.worker import LazyMapping

STEPS = 2**20            # keys per octave
MIN_VALUES = 6           # non-integer values an array needs to be judged
SHARE = 0.9              # of its values found in one public array: derived
SCALES = sorted({s * m for s in (1, 2, 3, 4, 5) for m in (1, 10, 100, 1000, 1e5)}
                | {1 / (s * m) for s in (1, 2, 3, 4, 5) for m in (1, 10, 100, 1000, 1e5)})


@dataclass(frozen=True)
class Source:
    """An array a case holds, and where: case id, what ("input `x`", "output `dx`")."""

    case: str
    what: str
    keys: np.ndarray
    standard: np.ndarray     # keys of the standardised values


def keys(array) -> np.ndarray:
    """The sorted distinct log-magnitude keys of the finite non-integer values."""
    try:
        values = np.asarray(array, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return np.empty(0, np.int64)
    values = np.abs(values[np.isfinite(values)])
    values = values[(values > 1e-300) & (values != np.round(values))]
    return np.unique(np.round(np.log2(values) * STEPS).astype(np.int64))


def standard_keys(array) -> np.ndarray:
    """`keys` of the array's finite values standardised: (x - mean) / std."""
    try:
        values = np.asarray(array, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return np.empty(0, np.int64)
    values = values[np.isfinite(values)]
    spread = values.std() if values.size > 1 else 0.0
    if not spread > 0:
        return np.empty(0, np.int64)
    return keys((values - values.mean()) / spread)


def _source(case: str, what: str, array) -> Source:
    return Source(case, what, keys(array), standard_keys(array))


def _shift(scale: float) -> int:
    return int(round(np.log2(abs(scale)) * STEPS))


def _found(hidden: np.ndarray, public: np.ndarray, shift: int) -> float:
    """The share of `hidden` keys (shifted) within one step of a key of `public`."""
    moved = hidden + shift
    at = np.clip(np.searchsorted(public, moved), 1, len(public) - 1)
    near = np.minimum(np.abs(public[at] - moved), np.abs(public[at - 1] - moved)) <= 1
    return float(near.mean())


def derived_from(hidden: np.ndarray, public: np.ndarray) -> float | None:
    """The scale s (1 for a cast, slice or reshape) such that `hidden` values are s times
    values of `public`, or None."""
    if len(hidden) < MIN_VALUES or len(public) < 2:
        return None
    for scale in SCALES:
        if _found(hidden, public, -_shift(scale)) >= SHARE:
            return scale
    return None


def _arrays(value, path: str) -> Iterable[tuple[str, np.ndarray]]:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _arrays(v, f"{path}[{k!r}]" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _arrays(v, f"{path}[{i}]")


def sources(case, outputs: Mapping | None) -> list[Source]:
    """The judged arrays of `case`: inputs, step arguments and expected outputs.

    Inputs computed on first use (`LazyInputs`: data sets, networks trained in the
    harness) are left out: judging them would load or train them, and the cases using
    them guard against a lookup otherwise (predictions must depend on the weights)."""
    lazy = isinstance(case.inputs, LazyMapping)
    found = [] if lazy else [_source(case.id, f"input `{p}`", a)
                             for p, a in _arrays(dict(case.inputs), "")]
    for i, step in enumerate(case.steps):
        found += [_source(case.id, f"argument of step {i + 1}", a)
                  for _, a in _arrays([step.args, step.kwargs], "")]
    found += [_source(case.id, f"expected `{p}`", a)
              for p, a in _arrays(dict(outputs or {}), "")]
    return [s for s in found if len(s.keys) >= MIN_VALUES]


def derivations(cases: list, outputs: Mapping[str, Mapping]) -> list[str]:
    """Each hidden array that is a public one transformed, in words.

    `outputs` maps case ids to their expected values (the reference's), where known.
    A sample of each hidden array's keys is first looked up among all public keys at
    once; only a scale that passes is checked against each public array.
    """
    public = [s for c in cases if c.visibility == "public"
              for s in sources(c, outputs.get(c.id))]
    if not public:
        return []
    every = np.unique(np.concatenate([s.keys for s in public]))
    every_standard = np.unique(np.concatenate([s.standard for s in public]))
    problems = []
    for case in cases:
        if case.visibility != "hidden":
            continue
        for src in sources(case, outputs.get(case.id)):
            found = _match(src, public, every)
            if found:
                scale, pub = found
                how = "holds the same values as" if scale == 1 else \
                    f"is {scale:g} times the values of"
                problems.append(f"hidden case {case.id!r}: its {src.what} {how} public "
                                f"case {pub.case!r}'s {pub.what} (cast, sliced or scaled)")
            elif pub := _match_affine(src, public, every_standard):
                problems.append(f"hidden case {case.id!r}: its {src.what} is public case "
                                f"{pub.case!r}'s {pub.what} shifted and scaled (a x + b, "
                                "e.g. standardised)")
    return problems


def _match(src: Source, public: list[Source], every: np.ndarray):
    """(scale, public source) of which `src` is a transform, or None."""
    step = max(1, len(src.keys) // 32)
    sample = src.keys[::step]
    for scale in SCALES:
        if _found(sample, every, -_shift(scale)) < SHARE:
            continue
        for pub in public:
            if len(pub.keys) >= 2 and _found(src.keys, pub.keys, -_shift(scale)) >= SHARE:
                return scale, pub
    return None


def _match_affine(src: Source, public: list[Source], every: np.ndarray) -> Source | None:
    """The public source whose standardised values `src`'s standardised values are;
    `every` holds all public standardised keys, for a first look with a sample."""
    if len(src.standard) < MIN_VALUES or len(every) < 2:
        return None
    sample = src.standard[::max(1, len(src.standard) // 32)]
    if _found(sample, every, 0) < SHARE:
        return None
    for pub in public:
        if len(pub.standard) >= 2 and _found(src.standard, pub.standard, 0) >= SHARE:
            return pub
    return None
