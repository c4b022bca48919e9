"""The untrusted side of grading: runs cases against a submission, inside the sandbox.

This file is copied, alone, into the sandbox and started as
``python -I worker.py SUBMISSION_DIR IO_DIR REQUEST_FD RESPONSE_FD PACKAGE``. It imports only the
standard library and NumPy, so it can run with nothing of the grader around it. The
harness imports it too, for the value encoding, which both sides share.

Protocol. The harness writes one request line per case to REQUEST_FD (a few may wait in
the pipe: the worker runs them in order, one at a time)::

    {"case": TOKEN, "steps": [...], "returns": [...], "inputs": VALUE}

with the arrays of ``inputs`` larger than INLINE_BYTES in ``IO_DIR/TOKEN.in.npz`` (smaller
ones are inside the line, as ``{"$raw": ...}``). The worker runs the steps, then writes
its large result arrays to ``IO_DIR/TOKEN.out.npz`` and one response line to RESPONSE_FD::

    {"case": TOKEN, "status": "ok" | "error" | "not-implemented",
     "values": VALUE, "modified": [input names], "step": i, "message": str}

Before each import and call it also writes a progress line ``{"case": TOKEN, "at": "..."}``
so that the harness can say where a case hung. Nothing the submission prints is read:
stdout and stderr go to the sandbox's log.

A step is ``{"call": "module.function" | "variable.method" | "numpy.a.b" | "probe.f",
"args": [VALUE...],
"kwargs": {name: VALUE}, "assign": name | [names]}`` or ``{"getattr": "variable.attr",
"assign": name}``. ``{"$ref": name}`` inside a VALUE reads a variable; every input is a
variable. Only NumPy arrays, numbers, strings, booleans, None, lists, tuples and dicts
with string keys cross the boundary; anything else is reported as unsupported.
"""

from __future__ import annotations

import base64
import importlib
import json
import math
import os
import random
import sys
import traceback
import warnings
from collections.abc import Mapping

import numpy as np

MAX_DEPTH = 8
INLINE_BYTES = 4096  # arrays up to this size travel inside the JSON line, not in a file
RAW_DTYPES = frozenset(np.dtype(t).str for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
    np.uint64, np.float16, np.float32, np.float64))


# ----------------------------------------------------------------------------- encoding
def encode(value, arrays: dict, depth: int = 0, inline: int = 0):
    """Turn `value` into JSON-able data, moving arrays into `arrays` (key -> ndarray).

    Arrays of at most `inline` bytes (of a plain numeric dtype) stay in the data instead,
    as ``{"$raw": [dtype, shape, base64 of the bytes]}``: no file for a small case.
    """
    if depth > MAX_DEPTH:
        return {"$unsupported": "nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            return {"$unsupported": f"array of dtype {value.dtype}"}
        if value.nbytes <= inline and value.dtype.str in RAW_DTYPES:
            data = base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")
            return {"$raw": [value.dtype.str, list(value.shape), data]}
        key = f"a{len(arrays)}"
        arrays[key] = np.array(value, order="C")  # a copy; 0-d arrays stay 0-d
        return {"$arr": key}
    if isinstance(value, int):
        return value if abs(value) < 2**53 else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, (list, tuple)):
        tag = "$list" if isinstance(value, list) else "$tuple"
        return {tag: [encode(v, arrays, depth + 1, inline) for v in value]}
    if isinstance(value, dict) and set(value) == {"$ref"}:
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            return {"$unsupported": "dict with non-string keys"}
        return {"$dict": {k: encode(v, arrays, depth + 1, inline)
                          for k, v in dict(value).items()}}
    return {"$unsupported": type(value).__name__}


class Unsupported:
    """A value that could not cross the boundary; `what` says what it was."""

    def __init__(self, what: str):
        self.what = what

    def __repr__(self):
        return f"<unsupported {self.what}>"


def decode(data, arrays, refs=None, depth: int = 0):
    """Inverse of `encode`. `arrays` maps keys to ndarrays; `refs` resolves {"$ref": name}."""
    if depth > MAX_DEPTH + 1:
        raise ValueError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, arrays, refs, depth + 1) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("malformed value")
    (tag, inner), = data.items()
    if tag == "$arr":
        return arrays[inner]
    if tag == "$raw":
        return raw_array(inner)
    if tag == "$ref":
        if refs is None or inner not in refs:
            raise ValueError(f"unknown variable {inner!r}")
        return refs[inner]
    if tag == "$float":
        return float(inner)
    if tag == "$list":
        return [decode(v, arrays, refs, depth + 1) for v in inner]
    if tag == "$tuple":
        return tuple(decode(v, arrays, refs, depth + 1) for v in inner)
    if tag == "$dict":
        return {str(k): decode(v, arrays, refs, depth + 1) for k, v in inner.items()}
    if tag == "$unsupported":
        return Unsupported(str(inner))
    raise ValueError(f"unknown tag {tag!r}")


def raw_array(inner) -> np.ndarray:
    """The array of ``{"$raw": [dtype, shape, base64]}``, checked: a plain numeric dtype
    and exactly the bytes its shape needs."""
    if not isinstance(inner, list) or len(inner) != 3:
        raise ValueError("malformed raw array")
    dtype, shape, text = inner
    if dtype not in RAW_DTYPES or not isinstance(text, str) or not isinstance(shape, list) \
            or len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError("malformed raw array")
    data = base64.b64decode(text, validate=True)
    if math.prod(shape) * np.dtype(dtype).itemsize != len(data):
        raise ValueError("a raw array's bytes do not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


class LazyMapping(Mapping):
    """A mapping made by `load()` on first use, and only then.

    The worker reads a case's arrays through one: a file the harness did
    not write, a link planted where it writes none, is never opened when no value
    refers to an array.
    """

    def __init__(self, load):
        self._load = load
        self._data: dict | None = None

    def _get(self) -> dict:
        if self._data is None:
            self._data = self._load()
        return self._data

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())


def load_arrays(path) -> dict:
    """Arrays of an .npz file, loaded without pickle; a missing file is no arrays."""
    if not os.path.exists(path):
        return {}
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def save_arrays(path: str, arrays: dict) -> None:
    """Write `arrays` to a fresh .npz at `path`: whatever stands there (a link, a FIFO,
    a file) is removed first, and a link planted meanwhile is not followed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        np.savez(handle, **arrays)


# ----------------------------------------------------------------------------- running
def student_traceback(exc: BaseException, root: str) -> str:
    """The exception with only the frames from files under `root` (the submission)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(root)]
    shown = os.path.dirname(root) + os.sep
    text = "".join(traceback.format_list(frames)).replace(shown, "")
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip().replace(shown, "")
    return (text + summary) if text else summary


class Probe:
    """Helpers a case may call in the worker to describe objects that cannot cross.

    A torch module, for instance, stays in the worker; the harness asks for its layers
    and weights as plain data instead.
    """

    @staticmethod
    def snapshot(value):
        """A deep copy of `value` as it is now (e.g. an optimizer's config after one call,
        before the next call changes its arrays in place); None when it cannot be copied."""
        import copy

        try:
            return copy.deepcopy(value)
        except Exception:  # noqa: BLE001 - a value that cannot be copied is reported missing
            return None

    @staticmethod
    def module_summary(model) -> list:
        """[{"type": class name, and the layer's sizes/probabilities}] of the leaf modules."""
        keys = ("in_features", "out_features", "num_features", "p", "momentum", "eps")
        leaves = [m for m in model.modules() if not list(m.children())]
        return [{"type": type(m).__name__,
                 **{k: getattr(m, k) for k in keys if isinstance(getattr(m, k, None),
                                                                  (int, float))}}
                for m in leaves]

    @staticmethod
    def state_arrays(model) -> dict:
        """The module's state_dict as float64/int64 NumPy arrays (on the CPU)."""
        return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}

    @staticmethod
    def torch_device() -> str:
        """"cuda (<name>)" when torch sees a GPU here, else "cpu"."""
        import torch

        if torch.cuda.is_available():
            return f"cuda ({torch.cuda.get_device_name(0)})"
        return "cpu"


class Runner:
    """Executes case programs against the package at `root` (its parent on sys.path)."""

    def __init__(self, root: str, emit=None):
        # Inputs are read-only arrays; torch.as_tensor warns about them on every call.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        self.root = os.path.realpath(root)
        self.package = os.path.basename(self.root)
        self.emit = emit or (lambda message: None)

    def resolve(self, dotted: str, env: dict, token: str):
        head, _, attr = dotted.partition(".")
        if head in env:
            return getattr(env[head], attr)
        if head in ("numpy", "probe"):
            target = np if head == "numpy" else Probe
            for part in attr.split("."):
                target = getattr(target, part)
            return target
        self.emit({"case": token, "at": f"importing {self.package}.{head}"})
        # The package first: if its __init__ fails, it fails for every case alike, even
        # when some submodules were left in sys.modules by an earlier attempt.
        importlib.import_module(self.package)
        module = importlib.import_module(f"{self.package}.{head}")
        return getattr(module, attr)

    def execute(self, request: dict, arrays: dict) -> tuple[dict, dict]:
        """Run one case. Returns (reply without values, returned variables)."""
        token = request["case"]
        inputs = {k: read_only(v) for k, v in decode(request["inputs"], arrays).items()}
        env = dict(inputs)
        # Only top-level arrays: dicts like bn_param or an optimizer's config are state the
        # contract lets a function update, arrays inside them included.
        originals = {k: v.copy() for k, v in inputs.items() if isinstance(v, np.ndarray)}
        reply = {"case": token, "status": "ok", "message": "", "step": None}
        saved = np.geterr()
        # The same global random state for every case, so a submission that draws from
        # it (unseeded dropout, say) gets the same grade on every run.
        np.random.seed(0)
        random.seed(0)
        try:
            for index, step in enumerate(request["steps"]):
                reply["step"] = index
                try:
                    self.run_step(step, env, arrays, token)
                except NotImplementedError as exc:
                    reply.update(status="not-implemented", message=str(exc))
                    break
                except BaseException as exc:  # noqa: BLE001 - any failure of student code
                    reply.update(status="error", message=student_traceback(exc, self.root))
                    break
        finally:
            np.seterr(**saved)
        reply["modified"] = sorted(
            name for name, before in originals.items() if not _same(before, inputs[name])
        )
        return reply, {name: env[name] for name in request["returns"] if name in env}

    def run_case(self, request: dict, io_dir: str) -> dict:
        """Run one case with its arrays and results in files of `io_dir`."""
        token = request["case"]
        path = os.path.join(io_dir, f"{token}.in.npz")
        reply, values = self.execute(request, LazyMapping(lambda: load_arrays(path)))
        out_arrays: dict = {}
        reply["values"] = encode(values, out_arrays, inline=INLINE_BYTES)
        if out_arrays:
            try:
                save_arrays(os.path.join(io_dir, f"{token}.out.npz"), out_arrays)
            except OSError as exc:  # the submission filled or changed this folder
                reply.update(status="error", values={"$dict": {}},
                             message=f"the results could not be written: {exc}")
        return reply

    def run_step(self, step: dict, env: dict, arrays: dict, token: str):
        if "getattr" in step:
            head, _, attr = step["getattr"].partition(".")
            result = getattr(env[head], attr)
        else:
            fn = self.resolve(step["call"], env, token)
            args = decode(step.get("args", []), arrays, env)
            kwargs = decode(step.get("kwargs", {"$dict": {}}), arrays, env)
            self.emit({"case": token, "at": f"calling {step['call']}"})
            result = fn(*args, **kwargs)
        assign = step.get("assign")
        if isinstance(assign, list):
            result = tuple(result)
            if len(result) != len(assign):
                raise ValueError(
                    f"{step.get('call', step.get('getattr'))} returned {len(result)} values, "
                    f"expected {len(assign)}"
                )
            env.update(zip(assign, result, strict=True))
        elif assign:
            env[assign] = result


def read_only(value):
    """An array whose memory cannot be written (its WRITEABLE flag cannot be set back):
    writing into an input raises "assignment destination is read-only"."""
    if not isinstance(value, np.ndarray):
        return value
    frozen = np.frombuffer(value.tobytes(), dtype=value.dtype)
    return frozen.reshape(value.shape)


def _same(a: np.ndarray, b) -> bool:
    return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def main(argv: list[str]) -> int:
    root, io_dir, req_fd, resp_fd, package = argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5]
    sys.path.insert(0, root)
    requests = os.fdopen(req_fd, "r", encoding="utf-8")
    responses = os.fdopen(resp_fd, "w", encoding="utf-8", buffering=1)

    def emit(message: dict):
        responses.write(json.dumps(message) + "\n")
        responses.flush()

    runner = Runner(os.path.join(root, package), emit)
    emit({"ready": True})
    for line in requests:
        request = json.loads(line)
        emit(runner.run_case(request, io_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
