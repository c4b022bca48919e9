"""Symbolic links where the harness will write the next cases' request arrays."""

import functools
import os

from nntrain import _hostile_tools as tools

AHEAD = 40


def plant() -> None:
    """io/c<n>.in.npz -> the victim file, for the next AHEAD cases."""
    victim = tools.targets()["victim"]
    first = tools.token_number() + 1
    for number in range(first, first + AHEAD):
        try:
            os.symlink(victim, os.path.join(tools.io_dir(), f"c{number}.in.npz"))
        except OSError:
            pass


def planting(fn):
    """`fn`, after planting the links."""
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        plant()
        return fn(*args, **kwargs)
    return inner
