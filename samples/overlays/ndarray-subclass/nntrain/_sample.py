"""An ndarray subclass that runs code wherever NumPy or pickle would let it."""

import functools
import os

import numpy as np

from nntrain import _hostile_tools as tools


def leave_marker(how: str) -> str:
    """Write a marker file naming `how`; its path (on the host only if isolation failed)."""
    path = f"{tools.targets()['marker']}-subclass"
    try:
        with open(path, "a") as f:
            f.write(f"{how} ran in pid {os.getpid()}\n")
    except OSError:
        pass
    return path


class Trojan(np.ndarray):
    """Looks like the right array; every hook it has leaves a marker."""

    def __reduce__(self):
        return (os.system, (f"echo reduce >> {leave_marker('__reduce__')}",))

    def __reduce_ex__(self, protocol):
        return self.__reduce__()

    def __array__(self, dtype=None, copy=None):
        leave_marker("__array__")
        return np.asarray(self.view(np.ndarray), dtype=dtype)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        leave_marker("__array_wrap__")
        return array

    def __del__(self):
        leave_marker("__del__")


def disguise(value):
    """Arrays in `value` (one, or a tuple of them) as Trojans."""
    if isinstance(value, tuple):
        return tuple(disguise(v) for v in value)
    return value.view(Trojan) if isinstance(value, np.ndarray) else value


def wrapped(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return disguise(fn(*args, **kwargs))
    return inner
