"""Bounded work in the harness: what a worker sends is sized up before it is parsed."""

import io
import json

import numpy as np
import pytest

from autograder import session


def npz_bytes(count: int) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{f"a{k}": np.zeros(1) for k in range(count)})
    return buffer.getvalue()


@pytest.mark.parametrize("count, refused", [(3, False), (session.MAX_RESULT_ARRAYS, False),
                                            (session.MAX_RESULT_ARRAYS + 1, True)],
                         ids=["few", "at-the-limit", "over"])
def test_a_result_npz_with_too_many_arrays_is_refused_before_parsing(count, refused):
    data = npz_bytes(count)
    if refused:
        with pytest.raises(ValueError, match="arrays"):
            session.bounded_npz(data)
    else:
        assert session.bounded_npz(data) is data


def test_a_result_npz_whose_table_of_contents_is_huge_is_refused():
    data = bytearray(npz_bytes(2))
    end = data.rfind(b"PK\x05\x06")
    data[end + 12:end + 16] = (session.MAX_RESULT_DIRECTORY + 1).to_bytes(4, "little")
    with pytest.raises(ValueError, match="arrays in"):
        session.bounded_npz(bytes(data))


REPLIES = [
    ("plain", {"case": "c1", "status": "ok", "values": {"$dict": {"x": 1.5}}}, False),
    ("long-list", {"values": list(range(session.MAX_REPLY_ITEMS + 1))}, True),
    ("many-keys", {"values": {str(k): 0 for k in range(session.MAX_REPLY_ITEMS)}}, True),
]


@pytest.mark.parametrize("reply, refused", [pytest.param(*c[1:], id=c[0]) for c in REPLIES])
def test_a_reply_with_too_many_values_is_refused_before_parsing(reply, refused):
    line = json.dumps(reply).encode()
    if refused:
        with pytest.raises(ValueError, match="values"):
            session.bounded_reply(line)
    else:
        assert session.bounded_reply(line) is line


VALUES = [("long-string", "x" * 3_000_000), ("huge-int", 10**4000), ("long-bytes", b"y" * 10**6),
          ("list", list(range(10**6)))]


@pytest.mark.parametrize("value", [pytest.param(v, id=i) for i, v in VALUES])
def test_a_returned_value_is_described_in_bounded_size(value):
    from autograder import compare

    assert len(compare.describe(value)) < 300
