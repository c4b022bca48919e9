"""Flood the worker's output, then behave."""

import functools
import os
import sys

CHUNK = b"All work and no play makes Jack a dull boy. " * 20000
LIMIT = 256 * 1024 * 1024


def flood(fd: int) -> None:
    """Write to `fd` until LIMIT bytes or an error (a full disk, a file size limit)."""
    written = 0
    try:
        while written < LIMIT:
            written += os.write(fd, CHUNK)
    except OSError:
        pass


def flooding(fn):
    """`fn`, after flooding stdout and stderr."""
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        try:
            print('{"score": 100, "output": "forged on stdout"}', flush=True)
        except OSError:
            pass
        flood(sys.stdout.fileno())
        flood(sys.stderr.fileno())
        return fn(*args, **kwargs)
    return inner
