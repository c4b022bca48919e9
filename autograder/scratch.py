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
import functools
import os
import shutil
import tempfile
from pathlib import Path

from autograder import cleanup

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
    """Detach a capped folder's tmpfs, then remove `path` however it was left
    (`autograder.cleanup.remove_tree`: any depth, any mode, links never followed)."""
    unmount(Path(path))
    cleanup.remove_tree(path)


def _quietly(action, *args) -> None:
    try:
        action(*args)
    except OSError:
        pass
