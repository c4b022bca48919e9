"""Fill the disk: one huge file per writable place, then many large files."""

import functools
import os

MB = 1024 * 1024
CHUNK = b"\xff" * MB
ONE_FILE = 1024 * MB
MANY_FILES = 128 * MB
written: dict[str, str] = {}


def fill(path: str, limit: int) -> int:
    """Write to `path` until `limit` bytes or an error; the bytes written."""
    size = 0
    try:
        with open(path, "wb", buffering=0) as f:
            while size < limit:
                size += f.write(CHUNK)
    except OSError as exc:
        written[path + " error"] = type(exc).__name__
    return size


def fill_everything() -> None:
    for path in ("huge.bin", "/tmp/huge.bin", "/dev/shm/huge.bin"):
        written[path] = f"{fill(path, ONE_FILE) // MB} MB"
    total = count = 0
    while total < MANY_FILES:
        size = fill(f"many-{count}.bin", 16 * MB)
        if size == 0:
            break
        total, count = total + size, count + 1
    written["many files"] = f"{count} files, {total // MB} MB"


def filling(fn):
    """`fn`, after filling the disk once per worker."""
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        if not written:
            fill_everything()
        return fn(*args, **kwargs)
    return inner


def report(*args, **kwargs):
    """Say what the filling managed (the message reaches the feedback)."""
    raise RuntimeError(f"huge-file wrote: {written or 'nothing yet'}; cwd {os.getcwd()}")
