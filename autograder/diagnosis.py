"""Saying why a case failed: where a sequence of calls first leaves the reference, and
which known mistake explains the numbers.

The framework's half of diagnoses. An assignment that wants them names a module in its
assignment.toml (``diagnoses = "diagnoses.py"``), shipped with the public cases too, so
it must hold nothing secret; the wrong implementations of the graded functions that
stand for known mistakes go in a grader-only file named by ``mistakes`` (shipped in the
autograder zip only), which the diagnoses module loads with `load_file` where present.
A case asks for one with `cases.Diagnosis`; the harness calls the named function of that
module when the case fails (`run`). The helpers below are for those functions:

- `first_divergence`: the first step, and the first piece of state in it, where the
  submission's values leave the reference's.
- `explained_by`: the variants whose values the submission's match at every step.
- `show`: a value for a message, hidden where the case is hidden.

Nothing here runs the submission's code: variants run in the harness on the case's
inputs, and are compared with the values the worker returned.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from autograder.worker import Unsupported

MAX_MESSAGE = 1200


def load(root: Path, raw: Mapping, name: str) -> ModuleType | None:
    """The diagnoses module named by an assignment.toml's `diagnoses` key (relative to the
    assignment folder `root`), or None when it names none or the file is absent (a
    student bundle has none)."""
    relative = raw.get("diagnoses")
    if not relative:
        return None
    path = (Path(root) / relative).resolve()
    if not path.is_file():
        return None
    return load_file(path, f"_assignment_{name}_diagnoses")


def load_file(path: Path, module_name: str) -> ModuleType:
    """The module of the trusted file `path` (an assignment's own, never a submission's),
    imported once as `module_name`."""
    path = Path(path).resolve()
    if module_name in sys.modules and getattr(sys.modules[module_name], "__file__", None) \
            == str(path):
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def run(case, got_values: Mapping, expected_values: Mapping | None,
        module: ModuleType | None) -> str | None:
    """The case's diagnosis (a message), or None: none asked for, none found, or the
    diagnosis itself failed (it never fails the grading)."""
    spec = getattr(case, "diagnosis", None)
    if spec is None or module is None or not hasattr(module, spec.fn):
        return None
    got = {name: got_values.get(name) for name in spec.values}
    expected = None if expected_values is None else \
        {name: expected_values.get(name) for name in spec.values}
    try:
        message = getattr(module, spec.fn)(got, expected, dict(case.inputs),
                                           case.visibility == "public", **spec.params)
    except Exception:  # noqa: BLE001 - odd values: no diagnosis, never a crash
        return None
    if not message:
        return None
    message = str(message)
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE - 3] + "..."


# ----------------------------------------------------------------------------- comparing
def as_float_array(value) -> np.ndarray | None:
    """`value` as a float64 array when it is a number or a numeric array, else None."""
    if isinstance(value, (bool, Unsupported)) or value is None:
        return None
    if isinstance(value, (int, float, np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf":
            return arr.astype(np.float64)
    return None


def agree(got, want, rtol: float, atol: float) -> bool:
    """Same shape and |got - want| <= atol + rtol |want| everywhere (NaN matches NaN, and
    a missing value matches only a missing one)."""
    a, b = as_float_array(got), as_float_array(want)
    if a is None or b is None:
        return a is None and b is None and _missing(got) == _missing(want)
    if a.shape != b.shape:
        return False
    with np.errstate(invalid="ignore"):
        ok = (np.abs(a - b) <= atol + rtol * np.abs(b)) | (np.isnan(a) & np.isnan(b)) | (a == b)
    return bool(ok.all())


def _missing(value) -> bool:
    return value is None


@dataclass
class Divergence:
    """Where a trajectory first leaves the reference: `step` (1-based), the `piece` of
    state or output that differs first, its `index`, and both values there."""

    step: int
    piece: str
    got: object
    expected: object
    index: tuple | None = None

    def describe(self, reveal: bool, names: Mapping[str, str] | None = None) -> str:
        """"`m` differs first: expected 0.1, received 0.2 (at index (0, 1))"; without
        `reveal`, only the size of the error."""
        name = (names or {}).get(self.piece, f"`{self.piece}`")
        a, b = as_float_array(self.got), as_float_array(self.expected)
        if a is None or b is None:
            what = "is missing" if self.got is None else f"is {_kind(self.got)}"
            want = "" if not reveal else f" (expected {_kind(self.expected)})"
            return f"{name} {what}{want}"
        if a.shape != b.shape:
            return f"{name} has shape {a.shape}, expected {b.shape}"
        with np.errstate(invalid="ignore"):
            err = np.where(np.isnan(a) & np.isnan(b), 0.0, np.abs(a - b))
        flat = int(np.nanargmax(np.where(np.isnan(err), np.inf, err))) if err.size else 0
        where = f" at index {tuple(int(i) for i in np.unravel_index(flat, a.shape))}" \
            if a.ndim else ""
        g, e = float(a.ravel()[flat]), float(b.ravel()[flat])
        if reveal:
            return f"{name} differs first{where}: expected {e:.6g}, received {g:.6g}"
        if not np.isfinite(g):
            return f"{name} differs first{where}: yours is {g}"
        size = abs(g - e) / abs(e) if abs(e) > 1e-12 else abs(g - e)
        kind = "relative" if abs(e) > 1e-12 else "absolute"
        return f"{name} differs first{where} ({kind} error {size:.3g})"


def _kind(value) -> str:
    if value is None:
        return "missing"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, Unsupported):
        return f"an object that cannot be compared ({value.what})"
    return type(value).__name__


def first_divergence(got: Sequence[Mapping], expected: Sequence[Mapping],
                     pieces: Sequence[str], rtol: float, atol: float) -> Divergence | None:
    """The first step (1-based) and piece of `pieces` (in that order within a step) where
    `got[k][piece]` leaves `expected[k][piece]`; None when every step agrees."""
    for k, (g, e) in enumerate(zip(got, expected, strict=False), 1):
        for piece in pieces:
            if not agree(g.get(piece), e.get(piece), rtol, atol):
                return Divergence(k, piece, g.get(piece), e.get(piece))
    return None


def explained_by(got: Sequence[Mapping], variants: Mapping[str, Sequence[Mapping]],
                 pieces: Sequence[str], rtol: float, atol: float) -> list[str]:
    """The names of the variants whose values of `pieces` agree with `got` at every step."""
    return [name for name, trace in variants.items()
            if len(trace) == len(got)
            and all(agree(g.get(p), v.get(p), rtol, atol)
                    for g, v in zip(got, trace, strict=True) for p in pieces)]


def replay(rule: Callable, first: Mapping, steps: Sequence[Mapping],
           state_keys: Sequence[str]) -> list[dict]:
    """Run an update rule over a case's calls, in the harness (trusted variants only).

    `first` holds "w" and "config" (the case's initial weights and config, copied);
    each of `steps` holds "dw" and, optionally, "set" (config entries changed before the
    call). Returns, per call, {"w": next_w, **copies of the state_keys in the config}.
    """
    w = np.array(first["w"])
    config = None if first.get("config") is None else _copy(first["config"])
    trace = []
    for step in steps:
        if step.get("set"):
            config = {} if config is None else config
            config.update(step["set"])
        w, config = rule(w, np.asarray(step["dw"]), config)
        trace.append({"w": np.array(w), **{k: _copy(config.get(k)) for k in state_keys}})
    return trace


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    return value
