"""The value encoding both sides of the trust boundary share (autograder/worker.py).

Small arrays travel inside the JSON line as ``{"$raw": [dtype, shape, base64]}``; larger
ones go to an .npz file by key. What the harness decodes comes from the untrusted worker,
so a raw array is refused unless its dtype is a plain number and its bytes fit its shape.
"""

import base64
import json

import numpy as np
import pytest

from autograder import worker as wire

INLINE = wire.INLINE_BYTES


def roundtrip(value, inline=INLINE):
    """`value` encoded, through JSON, and decoded; and the arrays that needed a file."""
    arrays: dict = {}
    data = json.loads(json.dumps(wire.encode(value, arrays, inline=inline)))
    return wire.decode(data, arrays), arrays


DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_arrays_of_every_numeric_dtype_travel_inline_exactly(dtype):
    x = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    got, files = roundtrip({"x": x})
    assert files == {}
    assert got["x"].dtype == x.dtype and got["x"].shape == x.shape
    assert np.array_equal(got["x"], x)
    assert got["x"].flags.writeable


SHAPES = [("zero-d", ()), ("empty", (0, 3)), ("non-contiguous", None), ("one-d", (5,))]


@pytest.mark.parametrize("shape", [s[1] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_odd_shapes_survive(shape):
    x = np.arange(12.0).reshape(3, 4)[:, ::2] if shape is None else np.ones(shape)
    got, _ = roundtrip([x])
    assert got[0].shape == x.shape and np.array_equal(got[0], x)


def test_large_arrays_go_to_a_file_and_nan_inf_survive_inline():
    big = np.zeros(INLINE // 8 + 1)
    small = np.array([np.nan, np.inf, -np.inf, -0.0])
    got, files = roundtrip((big, small))
    assert list(files) == ["a0"] and got[0] is files["a0"]
    assert np.array_equal(got[1], small, equal_nan=True) and np.signbit(got[1][3])


def test_without_inline_every_array_goes_to_a_file():
    _, files = roundtrip({"a": np.ones(2), "b": [np.zeros(1)]}, inline=0)
    assert len(files) == 2


def test_big_endian_arrays_go_to_a_file():
    _, files = roundtrip(np.ones(3, dtype=">f8"))
    assert len(files) == 1


def raw(dtype, shape, payload: bytes):
    return {"$raw": [dtype, shape, base64.b64encode(payload).decode()]}


FORGED = [
    ("object-dtype", raw("|O", [1], b"\0" * 8)),
    ("string-dtype", raw("<U1", [1], b"a\0\0\0")),
    ("structured-dtype", raw("[('a', '<f8')]", [1], b"\0" * 8)),
    ("bytes-short-of-the-shape", raw("<f8", [2, 2], b"\0" * 24)),
    ("bytes-beyond-the-shape", raw("<f8", [1], b"\0" * 16)),
    ("huge-shape", raw("<f8", [2**40, 2**40], b"")),
    ("negative-dimension", raw("<f8", [-1], b"")),
    ("boolean-dimension", raw("<f8", [True], b"\0" * 8)),
    ("float-dimension", raw("<f8", [1.0], b"\0" * 8)),
    ("too-many-dimensions", raw("<f8", [1] * 33, b"\0" * 8)),
    ("not-base64", {"$raw": ["<f8", [1], "!!!!!!!!!!!!"]}),
    ("not-a-list", {"$raw": "<f8"}),
    ("two-fields", {"$raw": ["<f8", [1]]}),
]


@pytest.mark.parametrize("data", [f[1] for f in FORGED], ids=[f[0] for f in FORGED])
def test_forged_raw_arrays_are_refused(data):
    with pytest.raises(ValueError):
        wire.decode(data, {})


def test_lazy_arrays_load_only_when_a_value_refers_to_one():
    calls = []

    def load():
        calls.append(1)
        return {"a0": np.ones(2)}

    lazy = wire.LazyMapping(load)
    assert wire.decode({"$dict": {"x": 1}}, lazy) == {"x": 1} and calls == []
    assert np.array_equal(wire.decode({"$arr": "a0"}, lazy), np.ones(2))
    wire.decode({"$arr": "a0"}, lazy)
    assert calls == [1]
