"""Removing a folder tree whatever a submission left in it.

`shutil.rmtree` recurses once per folder level (a tree 5,000 folders deep raises
`RecursionError`, which `ignore_errors` does not catch), builds full paths (a path longer
than the file system allows fails) and gives up on folders it cannot read. A submission
controls what its worker writes, so `remove_tree` walks the tree iteratively, one folder
descriptor open at a time, relative to it (no path grows with the depth), never follows a
symbolic link, and makes a folder it cannot read or write its owner's again before
emptying it. Going back up, it checks that ".." is the very folder it came from (by
device and inode), so a folder moved meanwhile ends the walk instead of redirecting it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str | Path) -> bool:
    """Remove `path` (a file, a link, or a folder and all in it); whether it is gone now.

    Never raises for what is in the tree: entries that cannot be removed are left, and
    the answer is False.
    """
    parent, name = os.path.split(os.path.abspath(path))
    try:
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return not os.path.lexists(path)
    try:
        _remove_entry(parent_fd, name)
    except OSError:
        pass
    finally:
        os.close(parent_fd)
    return not os.path.lexists(path)


def _remove_entry(parent_fd: int, name: str) -> None:
    """Remove the entry `name` of the folder `parent_fd`, a folder with all it holds."""
    try:
        os.unlink(name, dir_fd=parent_fd)
        return
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno not in (errno.EISDIR, errno.EPERM, errno.EACCES):
            raise
    _remove_folder(parent_fd, name)


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _open_folder(parent_fd: int, name: str) -> int | None:
    """The folder `name` in `parent_fd`, opened without following a link, made readable
    and writable by its owner when it was not; None when it is not a folder or cannot be
    opened."""
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:
        fd = _reopen_after_chmod(parent_fd, name)
    except OSError:
        return None
    if fd is not None:
        try:
            if stat.S_IMODE(os.fstat(fd).st_mode) & 0o700 != 0o700:
                os.fchmod(fd, 0o700)
        except OSError:
            pass
    return fd


def _reopen_after_chmod(parent_fd: int, name: str) -> int | None:
    """Open a folder that refused to be read: chmod it through an O_PATH descriptor (which
    names this very folder, never a link's target), then open it again."""
    try:
        path_fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC,
                          dir_fd=parent_fd)
    except OSError:
        return None
    try:
        os.chmod(f"/proc/self/fd/{path_fd}", 0o700)
        return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        return None
    finally:
        os.close(path_fd)


def _clear(fd: int) -> list[str]:
    """Remove every entry of the folder `fd` that is not a folder; the folders' names."""
    folders = []
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.name)
                    else:
                        os.unlink(entry.name, dir_fd=fd)
                except OSError:
                    pass
    except OSError:
        pass
    return folders


def _remove_folder(parent_fd: int, name: str) -> None:
    """Empty and remove the folder `name` of `parent_fd`, depth first, without recursion.

    frames[i] is (identity, name, folders still to remove) of the folder i levels below
    `name`'s parent; `fd` is the last frame's folder, the only one open.
    """
    fd = _open_folder(parent_fd, name)
    if fd is None:
        return
    frames = [(_identity(fd), name, _clear(fd))]
    try:
        while frames:
            folders = frames[-1][2]
            if folders:
                below = folders.pop()
                child = _open_folder(fd, below)
                if child is not None:
                    os.close(fd)
                    fd = child
                    frames.append((_identity(fd), below, _clear(fd)))
                continue
            _, done, _ = frames.pop()
            if not frames:
                break
            up = os.open("..", DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = up
            if _identity(fd) != frames[-1][0]:
                return  # the tree was moved while we walked it: stop here
            try:
                os.rmdir(done, dir_fd=fd)
            except OSError:
                pass
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=parent_fd)
    except OSError:
        pass

