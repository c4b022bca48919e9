"""Leave folder trees deeper than shutil.rmtree can recurse, some unreadable."""

import functools
import os

DEPTH = 3000


def nest(root: str) -> None:
    """DEPTH folders under `root`, built relative to a descriptor; every 500th is 000."""
    try:
        os.makedirs(root, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        for level in range(DEPTH):
            os.mkdir("d", dir_fd=fd)
            os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
            below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            if level % 500 == 499:
                os.fchmod(fd, 0)
            os.close(fd)
            fd = below
    except OSError:
        pass
    finally:
        os.close(fd)


def nesting(fn):
    """`fn`, after leaving deep trees in the worker's folder and /tmp (once per worker)."""
    done = []

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        if not done:
            done.append(True)
            nest(os.path.abspath("deep-tree"))
            nest(f"/tmp/deep-tree-{os.getpid()}")
        return fn(*args, **kwargs)
    return inner
