"""A sandbox's writable folder: capped in size where root can mount, removed whatever it holds.

`mount_capped` puts a tmpfs of `size_bytes` (and at most `inodes` entries) on an empty
folder, so that everything a submission writes there (many files, each under
RLIMIT_FSIZE) is bounded as a whole; a write past the cap fails with ENOSPC in the
submission, never on the host's disk. It needs root and a mount the kernel allows (not in
Docker's default profile, which drops CAP_SYS_ADMIN): where it cannot, it says why, and
the folder stays a plain one on the host's disk.

`remove_tree` removes a folder however it was left: thousands of levels deep (no
recursion, no path longer than one name: everything is opened relative to a folder's
descriptor), folders without permissions, links (removed, never followed), and a tmpfs
mounted on it (detached first).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import itertools
import os
import shutil
import stat
import tempfile
from pathlib import Path

MNT_DETACH = 2
MS_NOSUID, MS_NODEV = 2, 4
SOURCE = "autograder-scratch-"  # + the harness's pid: how its mounts are told apart
HOIST = ".autograder-rm-"  # + a counter: a deep folder's entries, moved up to be removed
PAGE = 4096
DISABLE_ENV = "AUTOGRADER_NO_DISK_QUOTA"  # set to 1: rw_dir stays a plain folder


def mount_capped(folder: Path, size_bytes: int, inodes: int) -> str:
    """Mount a tmpfs capped at `size_bytes` and `inodes` on the empty `folder`, mode 0700,
    nosuid, nodev. Returns "" on success, else why not (not root, refused by the kernel)."""
    if os.geteuid() != 0:
        return "the harness is not root, so it cannot mount a size-capped folder"
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={size_bytes},nr_inodes={inodes},mode=0700".encode()
    source = f"{SOURCE}{os.getpid()}".encode()
    if libc.mount(source, os.fsencode(str(folder)), b"tmpfs", MS_NOSUID | MS_NODEV,
                  options) != 0:
        return f"mount failed: {os.strerror(ctypes.get_errno())}"
    return ""


@functools.cache
def mount_support() -> str:
    """"" when this harness can cap folders (measured once, on a throwaway folder);
    else why not. Mounts left by harnesses that died are detached first."""
    if os.environ.get(DISABLE_ENV) == "1":
        return f"turned off ({DISABLE_ENV}=1)"
    if os.geteuid() != 0:
        return "the harness is not root, so it cannot mount a size-capped folder"
    sweep_mounts()
    folder = Path(tempfile.mkdtemp(prefix=f"{SOURCE}probe-"))
    try:
        why = mount_capped(folder, 1 << 20, 16)
        unmount(folder)
        return why
    finally:
        _quietly(os.rmdir, folder)


def usage(folder: Path) -> tuple[int, int]:
    """(bytes, entries) under `folder`, links not followed, in whole pages per file."""
    total = entries = 0
    stack = [Path(folder)]
    while stack:
        try:
            scan = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in scan:
            entries += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    size = entry.stat(follow_symlinks=False).st_size
                    total += -(-size // PAGE) * PAGE
            except OSError:
                continue
    return total, entries


def cap_folder(folder: Path, size_bytes: int, inodes: int) -> str:
    """Put a capped tmpfs on `folder`, keeping what it holds (copied in, links as links):
    `size_bytes` and `inodes` more than that, for what is written there later. "" or why
    not (then `folder` is left as it was)."""
    why = mount_support()
    if why:
        return why
    folder = Path(folder)
    held = Path(tempfile.mkdtemp(prefix=f"{SOURCE}{os.getpid()}-", dir=folder.parent))
    try:
        for entry in os.listdir(folder):
            os.rename(folder / entry, held / entry)
        used, count = usage(held)
        why = mount_capped(folder, size_bytes + used + 16 * PAGE, inodes + count + 16)
        for entry in os.listdir(held):
            source = held / entry
            if source.is_dir() and not source.is_symlink():
                shutil.copytree(source, folder / entry, symlinks=True)
            else:
                shutil.copy2(source, folder / entry, follow_symlinks=False)
    except OSError as exc:
        unmount(folder)
        for entry in os.listdir(held):
            _quietly(os.rename, held / entry, folder / entry)
        return f"the capped folder could not be filled: {exc}"
    finally:
        remove_tree(held)
    return why


def sweep_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Detach the capped folders whose harness is gone (killed before it could); returns
    their mount points."""
    gone = []
    try:
        with open(mountinfo) as handle:
            lines = handle.readlines()
    except OSError:
        return gone
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 2 or not tail[1].startswith(SOURCE):
            continue
        pid = tail[1][len(SOURCE):]
        if pid.isdigit() and not _alive(int(pid)):
            point = fields[4].replace("\\040", " ")
            libc = ctypes.CDLL(None, use_errno=True)
            libc.umount2(os.fsencode(point), MNT_DETACH)
            _quietly(os.rmdir, point)
            gone.append(point)
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def is_mount_point(folder: Path) -> bool:
    """Whether a file system is mounted on `folder` (its device differs from its parent's,
    or /proc/self/mountinfo lists it)."""
    try:
        if os.lstat(folder).st_dev != os.lstat(Path(folder).parent).st_dev:
            return True
        with open("/proc/self/mountinfo") as handle:
            target = os.path.realpath(folder)
            return any(line.split()[4] == target for line in handle if len(line.split()) > 4)
    except OSError:
        return False


def unmount(folder: Path) -> None:
    """Detach whatever is mounted on `folder` (lazily: open files do not keep it busy)."""
    libc = ctypes.CDLL(None, use_errno=True)
    while is_mount_point(folder):
        if libc.umount2(os.fsencode(str(folder)), MNT_DETACH) != 0:
            return


def remove_tree(path: Path) -> None:
    """Remove `path` and everything under it; never raises for what it finds there.

    Deep folders are flattened rather than recursed into: the entries of a folder that is
    not empty are renamed up into the top folder, one level at a time, so depth costs
    neither stack nor long paths, and at most two descriptors are open.
    """
    path = Path(path)
    unmount(path)
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError:
        _quietly(os.unlink, path)
        return
    try:
        _empty(top)
    finally:
        os.close(top)
    _quietly(os.rmdir, path)


def _empty(top: int) -> None:
    """Remove every entry of the folder open as `top`."""
    numbers = itertools.count()
    while True:
        try:
            names = os.listdir(top)
        except OSError:
            return
        if not names:
            return
        progress = False
        for name in names:
            if _remove_entry(name, top):
                progress = True
                continue
            progress = _hoist(name, top, numbers) or progress
        if not progress:
            return


def _remove_entry(name: str, top: int) -> bool:
    """Unlink a file or link, or remove an empty folder; False for a folder with entries."""
    try:
        info = os.stat(name, dir_fd=top, follow_symlinks=False)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        if stat.S_ISDIR(info.st_mode):
            os.rmdir(name, dir_fd=top)
        else:
            os.unlink(name, dir_fd=top)
        return True
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno == errno.EBUSY:  # a mount point: detach, then try again next pass
            unmount(Path(f"/proc/self/fd/{top}", name).resolve())
        return False


def _hoist(name: str, top: int, numbers) -> bool:
    """Move the entries of the folder `name` up into `top`; whether any moved."""
    try:
        if stat.S_ISDIR(os.stat(name, dir_fd=top, follow_symlinks=False).st_mode):
            os.chmod(name, 0o700, dir_fd=top)  # a folder, not a link: its own mode
    except OSError:
        pass
    try:
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
    except OSError:
        return 0
    moved = 0
    try:
        for child in os.listdir(sub):
            try:
                os.rename(child, f"{HOIST}{next(numbers)}", src_dir_fd=sub, dst_dir_fd=top)
                moved += 1
            except OSError:
                continue
    except OSError:
        pass
    finally:
        os.close(sub)
    return moved > 0


def _quietly(action, *args) -> None:
    try:
        action(*args)
    except OSError:
        pass
