"""Start untrusted student code with the strongest isolation this machine offers.

Every process is started through a chain of small programs, each adding one layer, and
the layers actually in force are recorded by name in `Sandbox.layers`:

    prlimit -> [unshare, as root] -> setpriv -> bwrap -> the untrusted command

- ``rlimits``: CPU seconds (soft; hard = soft + 1, so ignoring SIGXCPU ends in SIGKILL),
  address space, file size, open files, processes, no core dumps. util-linux `prlimit` sets
  them and execs the rest of the chain, so they bind every process below it; no
  `preexec_fn`, which is unsafe in a harness with threads. Where `prlimit` is missing
  (macOS, say), this interpreter runs `RLIMIT_SCRIPT` in its place. RLIMIT_NPROC counts per uid, so
  it gets `PROCESS_HEADROOM` extra for bwrap's own two processes.
- ``unprivileged-user`` and ``no-new-privs``: when the harness is root, `setpriv` drops to
  a dedicated uid *before* bwrap (bwrap started by root keeps root's file access). Each
  live sandbox leases its own uid from `UID_POOL` with an exclusive `flock` on
  ``/tmp/autograder-uids/<uid>`` (root-owned, 0700), held until `close()`, so
  concurrent sandboxes in any process never share a uid, and RLIMIT_NPROC and the kill
  sweep are per sandbox. Uids that have a passwd entry are never used.
- ``bwrap`` with ``mount-namespace``, ``pid-namespace``, ``net-namespace`` (loopback
  only), ``ipc-namespace``, ``uts-namespace`` and ``no-nested-userns``: a read-only root
  holding /usr and its /bin, /lib links, a few /etc files (loader cache, time zone), a
  synthetic /etc/passwd, the interpreter's prefixes, the caller's `ro_binds`, and `rw_dir`
  read-write at its own path as the working directory; fresh /proc, /dev, and size-capped
  tmpfs /tmp and /dev/shm. Not the repository, /root, /home or other submissions.
- ``scrubbed-env``, ``new-session`` (own session and process group), and
  ``python-isolated`` on a process whose argv runs Python with ``-I``.
- ``cgroup`` (autograder/cgroups.py): as root, each spawned tree joins a cgroup of its
  own as the chain's very first link (``sh`` writing its pid, then exec): memory,
  processes and CPU (a weight and a `Limits.cpu_cores` quota) of the tree as a whole.
  ``limits-per-process`` where none is usable: the rlimits above are all there is.
- ``disk-quota`` (autograder/scratch.py): as root, `rw_dir` becomes a tmpfs capped at
  `Limits.disk_mb` and `disk_files` (its contents copied in); it is detached at `close()`,
  with what was written there. ``disk-unbounded`` where it cannot be mounted.

Without bwrap (Docker's default seccomp profile blocks the namespaces it needs, as on
Gradescope) the "user" mode keeps the dropped uid, `no_new_privs` and the rlimits, and
adds a network and IPC namespace made by root with `unshare` where that works.

Reaching the interpreter. The dropped uid must reach everything bwrap binds, but here the
venv's python links into /root/.pyenv and /root is 0700 (and pytest's tmp dirs sit in a
0700 folder). bwrap cannot bind a path its user cannot traverse, not even from an open fd
(measured: "Can't find source path /proc/self/fd/3: Permission denied"). Rather than
loosening permissions on the host, such sources are *staged*: still as root, `unshare
--mount` makes a private mount namespace, a small tmpfs is mounted on an empty 0755 folder
inside the harness-private folder, and each unreachable source is bind-mounted into it.
bwrap, now as the dropped uid, binds the staged copies to their real paths. The host's
mounts and permissions never change. In "user" mode nothing can be staged: the
interpreter and `rw_dir` must be reachable by the uid (e.g. /usr/bin/python3, or a venv
under a world-traversable folder), else `Sandbox` raises `SandboxError` saying so.

Killing. `SandboxedProcess.wait` notices an exit without reaping it, so the leader's pid
keeps its process group reserved until `kill()` has sent SIGKILL to the group; then, for
a dedicated uid, a helper running *as that uid* calls kill(-1, SIGKILL), which the kernel
applies atomically against fork, until /proc shows no live process of the uid. bwrap's PID
namespace ends everything when its first process dies, setsid()/double-forked daemons
included. The harness makes itself a child subreaper and reaps the uid's orphaned zombies:
they count against RLIMIT_NPROC, and a container's init may not reap them soon.

Elsewhere than Linux (a student's Mac running `autograder check`): no prlimit, pidfd,
waitid or /proc. The limits are set by `RLIMIT_SCRIPT` (those the system enforces; macOS
ignores RLIMIT_AS), RLIMIT_NPROC is left to the system (the caller's processes cannot be
counted), and an exit is noticed by reaping. Windows has none of this: use WSL.

Known weaknesses. Not root: no uid of its own, so no uid sweep and RLIMIT_NPROC is shared
with the caller's own processes (raised by their count); without bwrap too, a process that
left its process group survives. In "user" mode the whole file system is visible with
the uid's permissions: world-readable files (the repository, reference solutions) are
readable, so keep secrets in 0700 folders (`preflight(private=...)` refuses otherwise);
TMPDIR is rw_dir, and files the uid leaves in `SWEPT_DIRS` (/tmp, /var/tmp, /dev/shm,
the lock folders) are deleted after each run, but other world-writable folders are not
swept; without an IPC namespace, SysV IPC objects persist; if the harness dies, the
processes run on until their CPU limit (the next lease of the uid kills them). Without
root, no cgroup and no disk quota (RLIMIT_FSIZE caps each file, not their number). No
seccomp filter. bwrap's
--die-with-parent fires when the *thread* that spawned it exits: spawn from a long-lived
thread. Inside bwrap a death by signal n arrives as exit code 128 + n and is read back as
that signal. tmpfs pages are not counted by RLIMIT_AS (hence their size caps).
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import pwd
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograder import cgroups, scratch
from autograder.scratch import remove_tree

UID_POOL = range(61000, 62000)
LOCK_DIR = Path("/tmp/autograder-uids")
SANDBOX_FOLDER = "autograder-sandbox-"  # + the pid of its process: a sandbox's private folder
PROCESS_HEADROOM = 2
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
             "/etc/alternatives")
SWEPT_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue")
EXPOSURE_WALK = 100_000  # entries looked at, at most, for one path that must stay private
PROC_SELF = "/proc/self"  # absent on macOS: the caller's processes cannot be counted
PASS_THROUGH_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
TRUNCATION_NOTE = "\n[output truncated]\n"
KILL_DEADLINE_SECONDS = 10.0
ISOLATIONS = ("auto", "bwrap", "user", "none")
MB = 1024 * 1024
PR_SET_CHILD_SUBREAPER = 36

# The chain's first link where util-linux `prlimit` is missing: `NAME:SOFT:HARD... -- ARGV`.
RLIMIT_SCRIPT = r"""
import os, resource, sys
split = sys.argv.index("--")
for item in sys.argv[1:split]:
    name, soft, hard = item.split(":")
    try:
        resource.setrlimit(getattr(resource, "RLIMIT_" + name.upper()), (int(soft), int(hard)))
    except (AttributeError, ValueError, OSError):
        pass  # a limit this system does not have or enforce (RLIMIT_AS on macOS)
os.execvp(sys.argv[split + 1], sys.argv[split + 1:])
"""
STAGE_SCRIPT = r"""set -e
stage=$1; count=$2; shift 2
mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev,noexec autograder-stage "$stage"
i=0
while [ "$i" -lt "$count" ]; do
  if [ -d "$1" ]; then mkdir "$stage/$i"; else : > "$stage/$i"; fi
  mount --bind "$1" "$stage/$i"
  i=$((i + 1)); shift
done
exec "$@"
"""


class SandboxError(RuntimeError):
    """The sandbox cannot be set up as asked."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process tree."""

    cpu_seconds: int = 60
    memory_mb: int = 4096
    file_size_mb: int = 64
    open_files: int = 256
    processes: int = 64
    output_bytes: int = 200_000
    wall_seconds: float = 60.0
    disk_mb: int = 512  # rw_dir as a whole, where it can be capped (a tmpfs)
    disk_files: int = 20_000  # entries in rw_dir, likewise
    cpu_cores: float = 1.0  # the tree's CPU quota, with a cgroup

    def __post_init__(self):
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")


@dataclass(frozen=True)
class RunResult:
    """How a sandboxed run ended.

    status: "ok", "error" (non-zero exit or a crash), "timeout" (our wall clock),
    "killed" (by `kill()` or an unexplained SIGKILL), "cpu-limit".
    reason: what ended it when it did not exit by itself ("timeout", "cpu time limit",
    "file size limit", or a signal name); None otherwise.
    """

    returncode: int
    status: str
    output: str
    reason: str | None
    output_truncated: bool
    layers: tuple[str, ...]


# -- what this machine offers ---------------------------------------------------------


@dataclass(frozen=True)
class _Capabilities:
    root: bool
    setpriv: bool
    bwrap: bool
    disable_userns: bool
    root_mount_ns: bool
    root_net_ns: bool
    reasons: Mapping[str, str]


def _tool(name: str) -> str | None:
    return shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")


def _try(cmd: list[str]) -> tuple[bool, str]:
    """Run a probe command; (worked, first line of its complaint)."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                              env={"PATH": "/usr/bin:/bin"}, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    complaint = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
    return done.returncode == 0, "" if done.returncode == 0 else complaint


def _setpriv_args(uid: int) -> list[str]:
    return [_tool("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def _system_args() -> list[str]:
    """bwrap arguments for /usr, its merged-/usr links, and a few /etc files."""
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return args


def _bwrap_flags(disable_userns: bool) -> list[str]:
    userns = ["--unshare-user", "--disable-userns"] if disable_userns else []
    return [_tool("bwrap") or "bwrap", "--unshare-all", *userns, "--die-with-parent",
            "--new-session", "--hostname", "sandbox"]


def _probe_bwrap(prefix: list[str], disable_userns: bool) -> tuple[bool, str]:
    """Whether bwrap isolates here: started as `prefix` says, only `lo`, a fresh PID space."""
    check = "cat /proc/net/dev; echo pid=$$"
    cmd = [*prefix, *_bwrap_flags(disable_userns), *_system_args(), "--proc", "/proc",
           "--dev", "/dev", "--", "/bin/sh", "-c", check]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                              env={"PATH": "/usr/bin:/bin"}, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    if done.returncode != 0:
        return False, (done.stderr.strip().splitlines() or ["bwrap failed"])[0]
    interfaces = {line.split(":")[0].strip() for line in done.stdout.splitlines()
                  if ":" in line and "|" not in line}
    pid = int(done.stdout.rsplit("pid=", 1)[1])
    if interfaces != {"lo"} or pid > 3:
        return False, f"bwrap ran but saw interfaces {sorted(interfaces)} and pid {pid}"
    return True, ""


def _measure_bwrap(prefix: list[str]) -> tuple[bool, bool, str]:
    """(bwrap works, with --disable-userns, why not) when started after `prefix`."""
    if not _tool("bwrap"):
        return False, False, "bubblewrap is not installed"
    if _probe_bwrap(prefix, True)[0]:
        return True, True, ""
    works, why = _probe_bwrap(prefix, False)
    return works, False, why


def _measure(uid: int | None) -> _Capabilities:
    """Which isolation tools work here; `uid` is a leased uid to probe with (root only)."""
    reasons: dict[str, str] = {}
    root, setpriv = uid is not None, False
    if not root:
        reasons["setpriv"] = "the harness is not root, so it cannot switch to a dedicated uid"
    elif not _tool("setpriv"):
        reasons["setpriv"] = "setpriv (util-linux) is not installed"
    else:
        setpriv, reasons["setpriv"] = _try([*_setpriv_args(uid), "/bin/true"])
    if root and not setpriv:
        bwrap = disable_userns = False
        reasons["bwrap"] = "bwrap started by root keeps root's file access; setpriv is needed"
    else:
        prefix = _setpriv_args(uid) if setpriv else []
        bwrap, disable_userns, reasons["bwrap"] = _measure_bwrap(prefix)
    unshare = _tool("unshare")
    root_mount = root_net = False
    if root and unshare:
        root_mount, reasons["mount"] = _try([unshare, "--mount", "--propagation", "private",
                                             "--", "/bin/true"])
        root_net, reasons["net"] = _try([unshare, "--net", "--ipc", "--", "/bin/true"])
    return _Capabilities(root, setpriv, bwrap, disable_userns, root_mount, root_net, reasons)


@functools.cache
def _capabilities() -> _Capabilities:
    """Measure once per process; as root, with a uid leased from the pool for the while."""
    if os.geteuid() != 0:
        return _measure(None)
    lease = _UidLease()
    try:
        return _measure(lease.uid)
    finally:
        lease.release()


def _mode_layers(mode: str, caps: _Capabilities) -> list[str]:
    layers = ["unprivileged-user", "no-new-privs"] if caps.setpriv else []
    if mode == "bwrap":
        layers += ["bwrap", "mount-namespace", "net-namespace", "pid-namespace",
                   "ipc-namespace", "uts-namespace"]
        layers += ["no-nested-userns"] if caps.disable_userns else []
    elif mode == "user" and caps.root_net_ns:
        layers += ["net-namespace", "ipc-namespace"]
    return layers + ["rlimits", "scrubbed-env", "new-session", "python-isolated"]


def _limit_support(caps: _Capabilities) -> tuple[cgroups.Support, str]:
    """(the cgroups this harness can use, why rw_dir cannot be capped or "")."""
    if not caps.setpriv:
        why = "the harness is not root" if not caps.root else caps.reasons["setpriv"]
        return cgroups.Support(None, reason=why), why
    return cgroups.support(), scratch.mount_support()


def _limit_layers(caps: _Capabilities) -> list[str]:
    """How resources are bounded: for the submission as a whole (a cgroup, a capped
    rw_dir) or, where that cannot be, per process only (said so)."""
    groups, disk_why = _limit_support(caps)
    return ["cgroup" if groups.version else "limits-per-process",
            "disk-quota" if not disk_why else "disk-unbounded"]


def _choose_mode(isolation: str, caps: _Capabilities) -> str:
    """The mode `isolation` asks for, checked against what works here."""
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}, not {isolation!r}")
    if caps.root and not caps.setpriv:
        raise SandboxError("refusing to run untrusted code as root: " + caps.reasons["setpriv"])
    if isolation == "auto":
        return "bwrap" if caps.bwrap else "user" if caps.setpriv else "none"
    if isolation == "bwrap" and not caps.bwrap:
        raise SandboxError(f"bwrap isolation is not available: {caps.reasons['bwrap']}")
    if isolation == "user" and not caps.setpriv:
        raise SandboxError(f"user isolation is not available: {caps.reasons['setpriv']}")
    return isolation


def available_isolations() -> list[str]:
    """The isolation modes that `Sandbox` accepts here, strongest first."""
    caps = _capabilities()
    usable = {"bwrap": caps.bwrap, "user": caps.setpriv, "none": caps.setpriv or not caps.root}
    return [mode for mode, works in usable.items() if works]


def _first_closed_folder(path: Path, uid: int) -> Path | None:
    """The first folder above the real `path` that `uid` cannot traverse, if any."""
    real = Path(os.path.realpath(path))
    for parent in reversed(real.parents):
        if not _allowed(os.stat(parent), uid, 0o1):
            return parent
    return None


def _import_numpy_as(uid: int, python: str) -> tuple[bool, str]:
    """Whether `python` imports NumPy as `uid`; else the last line of its complaint."""
    try:
        done = subprocess.run([*_setpriv_args(uid), python, "-I", "-c", "import numpy"],
                              capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin"}, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
    return done.returncode == 0, lines[-1]


def readable_by(path: Path, uid: int) -> Path | None:
    """The first file `uid` can read, or folder it can list, at or under `path` (links
    are not followed; a folder it cannot enter hides all below it); None if none."""
    if not os.path.lexists(path) or _first_closed_folder(Path(path), uid):
        return None
    stack, seen = [Path(path)], 0
    while stack and seen < EXPOSURE_WALK:
        current = stack.pop()
        seen += 1
        try:
            info = os.lstat(current)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            if not _allowed(info, uid, 0o1):
                continue
            if _allowed(info, uid, 0o4):
                return current
            try:
                stack += [Path(e.path) for e in os.scandir(current)]
            except OSError:
                continue
        elif stat.S_ISREG(info.st_mode) and _allowed(info, uid, 0o4):
            return current
    return None


def _exposed(paths: Sequence[Path], uid: int, mode: str) -> str | None:
    """One line saying which of `paths` the sandbox's uid could read, and the fix."""
    found = [(Path(p), readable_by(Path(p), uid)) for p in paths]
    found = [(p, hit) for p, hit in found if hit is not None]
    if not found:
        return None
    shown = "; ".join(f"{p} ({hit} is readable)" if hit != p else str(p) for p, hit in found)
    tops = " ".join(sorted({str(p if p.is_dir() else p.parent) for p, _ in found}))
    return (f"{mode!r} isolation (no bubblewrap) runs each submission as an unprivileged "
            f"uid that can read every file other users can, and these are readable by it: "
            f"{shown}; make them private (`chmod 700 {tops}`; the harness runs as root and "
            f"still reads them) or install bubblewrap")


def sees_host_files(isolation: str = "auto") -> bool:
    """Whether sandboxes of `isolation` would run as a uid that sees the host's file system
    with its own permissions (``user``, or ``none`` as root): no mount namespace."""
    caps = _capabilities()
    try:
        return caps.setpriv and _choose_mode(isolation, caps) != "bwrap"
    except (SandboxError, ValueError):
        return False


def preflight(isolation: str = "auto", python: str | None = None,
              private: Sequence[str | Path] = ()) -> str | None:
    """Why untrusted code cannot be run here as `isolation` asks, in one line naming the
    cause and the fix; None when it can.

    Without bwrap (``user``, or ``none`` as root) the sandbox's uid must reach the
    interpreter, import NumPy with it, and reach the temporary folder, at their real paths:
    a Python under a 0700 home (pyenv under /root) fails every submission. This finds out
    at once, by starting the interpreter as a leased uid, rather than grading with it.
    And since that uid sees the whole file system, none of the `private` paths (reference
    solutions, case generators, submissions, results) may be readable by it.
    """
    caps = _capabilities()
    try:
        mode = _choose_mode(isolation, caps)
    except (SandboxError, ValueError) as exc:
        return str(exc)
    if mode == "bwrap" or not caps.setpriv:
        return None
    python = python or this_python()
    fix = ("use an interpreter every user can reach (e.g. `/usr/bin/python3.11 -m venv "
           "/opt/nntrain-venv` and install the project there, as setup.sh does on Gradescope)"
           ", or install bubblewrap, which can stage it")
    lease = _UidLease()
    try:
        for path in (Path(python), *interpreter_paths(python), Path(tempfile.gettempdir())):
            closed = _first_closed_folder(path, lease.uid)
            if closed is not None:
                mode_bits = stat.filemode(os.stat(closed).st_mode)
                return (f"{mode!r} isolation runs submissions as an unprivileged uid, which "
                        f"cannot reach {os.path.realpath(path)}: {closed} is {mode_bits} "
                        f"(not enterable by other users); {fix}")
        works, why = _import_numpy_as(lease.uid, python)
        if not works:
            return (f"{mode!r} isolation runs submissions as an unprivileged uid, which "
                    f"cannot import NumPy with {python} ({why}); {fix}")
        return _exposed([Path(p) for p in private], lease.uid, mode)
    finally:
        lease.release()
    return None


def probe() -> list[str]:
    """The layers that `isolation="auto"` gets on this machine (measured once); [] when
    untrusted code cannot be run here at all."""
    caps = _capabilities()
    try:
        return _mode_layers(_choose_mode("auto", caps), caps) + _limit_layers(caps)
    except SandboxError:
        return []


def probe_report() -> str:
    """In plain words: which layers are in force here, which are missing and why."""
    caps = _capabilities()
    try:
        mode = _choose_mode("auto", caps)
    except SandboxError as exc:
        return f"no isolation mode is usable: {exc}"
    have = _mode_layers(mode, caps) + _limit_layers(caps)
    lines = [f"isolation mode: {mode}", "in force: " + ", ".join(have)]
    missing = {
        "unprivileged-user": caps.reasons.get("setpriv", ""),
        "bwrap": caps.reasons.get("bwrap", ""),
        "net-namespace": "needs bwrap, or root allowed to unshare a network namespace: "
                         + caps.reasons.get("net", "not root"),
        "pid-namespace": "needs bwrap",
        "mount-namespace": "needs bwrap; without it the whole file system is visible "
                           "with the sandbox user's permissions",
    }
    lines += [f"missing: {name}: {why}" for name, why in missing.items() if name not in have]
    groups, disk_why = _limit_support(caps)
    lines.append(f"cgroup: {groups.version} (memory, processes and CPU of each submission as "
                 f"a whole)" if groups.version else
                 f"limits-per-process: no cgroup ({groups.reason}); memory, processes and CPU "
                 "are bounded per process only")
    lines.append("disk-quota: each sandbox's rw_dir is a size-capped tmpfs" if not disk_why
                 else f"disk-unbounded: rw_dir is not capped as a whole ({disk_why})")
    if not caps.setpriv:
        lines.append("kill: by process group (and PID namespace if bwrap); no per-uid sweep")
    else:
        lines.append("kill: process group, then every process of the sandbox's own uid")
    if mode == "bwrap" and caps.root:
        staging = "available" if caps.root_mount_ns else "NOT available: " + caps.reasons["mount"]
        lines.append(f"staging of binds the sandbox uid cannot traverse: {staging}")
    return "\n".join(lines)


# -- uids ---------------------------------------------------------------------------------


def _lock_dir() -> Path:
    """The root-owned 0700 folder of uid locks, checked so no sandbox user can plant it."""
    LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    info = LOCK_DIR.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
        raise SandboxError(f"{LOCK_DIR} must be a root-owned 0700 folder")
    return LOCK_DIR


def _clear_uid(uid: int) -> bool:
    """Kill what a crashed harness left running as `uid`; whether no process is left.

    Zombies adopted by an init that does not reap them still count against RLIMIT_NPROC,
    so a uid that has any is not used.
    """
    try:
        kill_uid(uid)
    except SandboxError:
        return False
    _reap_orphans(uid)
    return not _uid_processes(uid)


def sweep_leftovers() -> None:
    """Detach the capped folders and remove the cgroups (killing what runs in them) of
    harnesses that died without cleaning up, e.g. a batch killed with SIGKILL (root only).
    Each harness also does this once before its first sandbox."""
    if os.geteuid() != 0:
        return
    scratch.sweep_mounts()
    groups = cgroups.detect()
    if groups.version:
        cgroups.sweep(groups)


def _has_passwd_entry(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


class _UidLease:
    """Exclusive use of one uid for as long as the lease is held."""

    def __init__(self, uid: int | None = None):
        folder = _lock_dir()
        for candidate in [uid] if uid is not None else UID_POOL:
            if candidate <= 0 or _has_passwd_entry(candidate):
                continue
            fd = os.open(folder / str(candidate), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if not _clear_uid(candidate):
                os.close(fd)
                continue
            self.uid, self._fd = candidate, fd
            return
        raise SandboxError(f"uid {uid} is in use, has processes or a passwd entry"
                           if uid is not None
                           else f"all uids {UID_POOL.start}-{UID_POOL.stop - 1} are in use")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _uid_processes(uid: int) -> list[tuple[int, str, int]]:
    """(pid, state letter, parent pid) of each process whose real, effective, saved or fs
    uid is `uid`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if uid in {int(u) for u in fields["Uid"].split()}:
                found.append((int(entry.name), fields["State"].split()[0], int(fields["PPid"])))
        except (OSError, ValueError, KeyError):
            continue
    return found


def uid_pids(uid: int) -> list[int]:
    """Live (non-zombie) processes of `uid`."""
    return [pid for pid, state, _ in _uid_processes(uid) if state != "Z"]


def _become_subreaper() -> bool:
    """Adopt the orphans of sandboxed processes, so that their zombies can be reaped.

    A container's init may reap late or never (this machine's left them for seconds), and
    zombies count against the uid's RLIMIT_NPROC. Process-wide, and not inherited by fork:
    other orphans become ours too.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _reap_orphans(uid: int) -> None:
    """Reap the zombies of `uid` that were left to this process."""
    for pid, state, parent in _uid_processes(uid):
        if state == "Z" and parent == os.getpid():
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _signal_all_as(uid: int) -> None:
    """kill(-1, SIGKILL) as `uid`: every process of the uid, atomically against fork."""
    kill = _tool("kill")
    if kill:
        subprocess.run([kill, "-KILL", "--", "-1"], user=uid, group=uid, extra_groups=[],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={}, cwd="/")


def kill_uid(uid: int, deadline_seconds: float = KILL_DEADLINE_SECONDS) -> None:
    """SIGKILL every process of `uid` until none is left (root only)."""
    deadline = time.monotonic() + deadline_seconds
    while pids := uid_pids(uid):
        if time.monotonic() > deadline:
            raise SandboxError(f"processes of uid {uid} survive SIGKILL: {pids}")
        _signal_all_as(uid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.002)


def _sweep_files(uid: int, keep: Path) -> None:
    """Delete what `uid` left at the top of the shared world-writable folders."""
    for folder in SWEPT_DIRS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid or keep.is_relative_to(path):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(path)  # however deep the submission made it
                else:
                    path.unlink()
            except OSError:
                pass


# -- paths ---------------------------------------------------------------------------------


def _allowed(info: os.stat_result, uid: int, bits: int) -> bool:
    """Whether `uid` (gid == uid, no other groups) has permission `bits` on the inode."""
    if uid == 0:
        return True
    shift = 6 if info.st_uid == uid else 3 if info.st_gid == uid else 0
    return (info.st_mode >> shift) & bits == bits


def reachable(path: Path, uid: int) -> bool:
    """Whether `uid` can traverse every folder above the real `path` (ACLs ignored)."""
    real = Path(os.path.realpath(path))
    return all(_allowed(os.stat(parent), uid, 0o1) for parent in real.parents)


def _under(path: Path, roots: Sequence[str | Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def cpu_count() -> int:
    """The cores this process may run on (all of them where that cannot be asked)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def this_python() -> str:
    """This interpreter's path with its folder resolved, so that it names the same file in
    the sandbox, where a relative part ("/home/me/bundle/../.venv/bin/python") may not
    exist. The file itself stays unresolved: a venv's python is a link, and Python finds its
    venv from the path it was started by."""
    folder, name = os.path.split(os.path.abspath(sys.executable))
    return os.path.join(os.path.realpath(folder), name)


@functools.cache
def interpreter_paths(python: str) -> tuple[Path, ...]:
    """The folders `python` needs outside the system folders, as seen at their own paths."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        found = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    else:
        code = "import sys; print(sys.prefix, sys.exec_prefix, sys.base_prefix, " \
               "sys.base_exec_prefix, sep='\\n')"
        out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                             check=True, env={"PATH": "/usr/bin:/bin"}).stdout
        found = out.split()
    found.append(os.path.dirname(os.path.realpath(python)))
    paths = {Path(p) for p in found} | {Path(os.path.realpath(p)) for p in found}
    system = [d for d in SYSTEM_DIRS if not os.path.islink(d)]
    paths = {p for p in paths if not _under(p, system)}
    return tuple(sorted(p for p in paths if not _under(p, paths - {p})))


def _chown_tree(root: Path, uid: int) -> None:
    """Give `root` and everything under it to `uid`, never following links."""
    os.chown(root, uid, uid, follow_symlinks=False)
    os.chmod(root, 0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def read_capped(path: Path, limit: int) -> tuple[str, bool]:
    """The file's text, cut to about `limit` bytes (head and tail kept), and whether cut."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size <= limit:
            return f.read(limit).decode(errors="replace"), False
        tail = limit // 4
        head = f.read(limit - tail)
        f.seek(size - tail)
        end = f.read(tail)
    return head.decode(errors="replace") + TRUNCATION_NOTE + end.decode(errors="replace"), True


def python_isolated(argv: Sequence[str]) -> bool:
    """Whether `argv` starts Python with -I (alone or grouped, e.g. -IB) before its script."""
    if not argv or "python" not in os.path.basename(argv[0]):
        return False
    for arg in argv[1:]:
        if not arg.startswith("-") or arg in ("-c", "-m", "-"):
            return False
        if not arg.startswith("--") and "I" in arg:
            return True
    return False


def scrubbed_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a sandboxed process."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.update({k: os.environ[k] for k in PASS_THROUGH_ENV if k in os.environ})
    env.update(extra or {})
    return env


# -- the sandbox ---------------------------------------------------------------------------


class Sandbox:
    """One isolated place to run untrusted processes, one at a time.

    - limits: resource limits for each process tree.
    - uid: the uid to run as (root only); by default one is leased from `UID_POOL`.
    - ro_binds: extra paths visible read-only at their own paths (bwrap mode).
    - rw_dir: the only writable place; the working directory and HOME. When dropping to a
      uid, it and its contents are given to that uid before every spawn.
    - isolation: "auto" (the strongest available), "bwrap", "user" (dropped uid, no mount
      namespace), or "none" (rlimits, env and session only; still never root: as root it
      drops to the uid like "user", without namespaces; for debugging).
    - python: the interpreter whose folders are made visible (`python_argv` uses it).
    - dev_binds: device nodes to expose in bwrap mode (e.g. /dev/nvidia0 for a GPU).
    """

    def __init__(self, limits: Limits, *, uid: int | None = None,
                 ro_binds: Sequence[str | Path] = (), rw_dir: Path,
                 isolation: str = "auto", python: str | Path | None = None,
                 dev_binds: Sequence[str | Path] = ()):
        caps = _capabilities()
        self.limits = limits
        self.mode = _choose_mode(isolation, caps)
        self.rw_dir = Path(os.path.realpath(rw_dir))
        if not self.rw_dir.is_dir() or self.rw_dir == Path("/"):
            raise SandboxError(f"rw_dir must be an existing folder other than /: {rw_dir}")
        if uid is not None and not caps.setpriv:
            raise SandboxError("a uid can only be given when the harness runs as root")
        self.python = str(python or this_python())
        self._caps = caps
        self._process: SandboxedProcess | None = None
        self._spawned = 0
        if caps.setpriv:
            _become_subreaper()
        self._lease = _UidLease(uid) if caps.setpriv else None
        self.uid = self._lease.uid if self._lease else None
        self._private = Path(tempfile.mkdtemp(prefix=f"{SANDBOX_FOLDER}{os.getpid()}-"))
        self._cgroups, disk_why = _limit_support(caps)
        self._capped = False
        try:
            if not disk_why:
                disk_why = scratch.cap_folder(self.rw_dir, limits.disk_mb * MB,
                                              limits.disk_files)
                self._capped = not disk_why
            self.layers = _mode_layers(self.mode, caps) + [
                "cgroup" if self._cgroups.version else "limits-per-process",
                "disk-quota" if self._capped else "disk-unbounded"]
            self._binds, self._staged = self._plan_binds(ro_binds, dev_binds)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def python_argv(self, *args: str) -> list[str]:
        """argv that runs this sandbox's interpreter isolated (-I) with `args`."""
        return [self.python, "-I", *args]

    # -- planning
    def _plan_binds(self, ro_binds, dev_binds) -> tuple[list[tuple[str, str, str]], list[str]]:
        """bwrap binds (option, source, destination) and the sources that need staging."""
        wanted = [("--ro-bind", p) for p in interpreter_paths(self.python)]
        wanted += [("--ro-bind", Path(p).absolute()) for p in ro_binds]
        wanted += [("--dev-bind", Path(p).absolute()) for p in dev_binds]
        wanted.append(("--bind", self.rw_dir))
        if self.mode != "bwrap":
            self._check_reachable([p for option, p in wanted if option != "--dev-bind"])
            return [], []
        binds, staged = [], []
        for option, dest in wanted:
            source = os.path.realpath(dest)
            if self.uid is not None and not reachable(Path(source), self.uid):
                if not self._caps.root_mount_ns:
                    raise SandboxError(f"uid {self.uid} cannot reach {source} and it cannot be "
                                       f"staged: {self._caps.reasons['mount']}")
                staged.append(source)
                source = str(self._private / "stage" / str(len(staged) - 1))
            binds.append((option, source, str(dest)))
        if staged:
            os.chmod(self._private, 0o711)
            (self._private / "stage").mkdir(mode=0o755)
        return binds, staged

    def _check_reachable(self, paths: Sequence[Path]) -> None:
        """Without a mount namespace the uid must reach everything at its real path."""
        if self.uid is None:
            return
        for path in [Path(self.python), *paths]:
            if not reachable(path, self.uid):
                raise SandboxError(
                    f"uid {self.uid} cannot reach {os.path.realpath(path)} (a folder above it "
                    f"is not traversable, e.g. /root is 0700) and {self.mode!r} isolation "
                    "cannot stage it: use an interpreter and rw_dir under world-traversable "
                    "folders, or bwrap isolation")

    # -- the command chain
    def _nproc(self) -> int | None:
        """RLIMIT_NPROC for the tree; None when the caller's processes cannot be counted
        (no /proc, as on macOS), since they count too."""
        if self.uid is not None:
            return self.limits.processes + PROCESS_HEADROOM
        if not os.path.isdir(PROC_SELF):
            return None
        # Shared with the caller's own processes, zombies included: all count.
        return self.limits.processes + PROCESS_HEADROOM + len(_uid_processes(os.getuid()))

    def _rlimits(self) -> dict[str, tuple[int, int]]:
        """(soft, hard) of each limit, by prlimit's option name."""
        lim, nproc = self.limits, self._nproc()
        limits = {"cpu": (lim.cpu_seconds, lim.cpu_seconds + 1),
                  "as": (lim.memory_mb * MB,) * 2, "fsize": (lim.file_size_mb * MB,) * 2,
                  "nofile": (lim.open_files,) * 2, "core": (0, 0)}
        return limits | ({"nproc": (nproc, nproc)} if nproc is not None else {})

    def _rlimit_args(self) -> list[str]:
        """The chain's first link: util-linux `prlimit`, else (macOS, say) this interpreter
        running `RLIMIT_SCRIPT`, which sets what the system supports and execs the rest."""
        limits = self._rlimits()
        prlimit = _tool("prlimit")
        if prlimit:
            return [prlimit, *(f"--{k}={s}:{h}" for k, (s, h) in limits.items()), "--"]
        return [this_python(), "-I", "-c", RLIMIT_SCRIPT,
                *(f"{k}:{s}:{h}" for k, (s, h) in limits.items()), "--"]

    def _stage_args(self) -> list[str]:
        return [_tool("unshare") or "unshare", "--mount", "--propagation", "private", "--",
                "/bin/sh", "-c", STAGE_SCRIPT, "sh", str(self._private / "stage"),
                str(len(self._staged)), *self._staged]

    def _bwrap_args(self, passwd_fd: int, group_fd: int) -> list[str]:
        scratch = str(self.limits.file_size_mb * MB)
        args = [*_bwrap_flags(self._caps.disable_userns), *_system_args(),
                "--ro-bind-data", str(passwd_fd), "/etc/passwd",
                "--ro-bind-data", str(group_fd), "/etc/group",
                "--proc", "/proc", "--dev", "/dev", "--size", scratch, "--tmpfs", "/dev/shm",
                "--size", scratch, "--tmpfs", "/tmp"]
        for option, source, dest in self._binds:
            args += [option, source, dest]
        return args + ["--remount-ro", "/", "--chdir", str(self.rw_dir), "--"]

    def _data_fds(self) -> tuple[int, int]:
        """Pipes holding /etc/passwd and /etc/group for the sandbox."""
        uid = self.uid if self.uid is not None else os.getuid()
        passwd = (f"root:x:0:0::/:/usr/sbin/nologin\n"
                  f"sandbox:x:{uid}:{uid}::{self.rw_dir}:/usr/sbin/nologin\n"
                  f"nobody:x:65534:65534::/:/usr/sbin/nologin\n")
        group = f"root:x:0:\nsandbox:x:{uid}:\nnogroup:x:65534:\n"
        fds = []
        for text in (passwd, group):
            read, write = os.pipe()
            os.write(write, text.encode())
            os.close(write)
            fds.append(read)
        return fds[0], fds[1]

    def _command(self, argv: Sequence[str], data_fds: tuple[int, int]) -> list[str]:
        cmd = self._rlimit_args()
        if self._staged:
            cmd += self._stage_args()
        if self.mode == "user" and self._caps.root_net_ns:
            cmd += [_tool("unshare") or "unshare", "--net", "--ipc", "--"]
        if self.uid is not None:
            cmd += _setpriv_args(self.uid)
        if self.mode == "bwrap":
            cmd += self._bwrap_args(*data_fds)
        return cmd + list(argv)

    # -- running
    def spawn(self, argv: Sequence[str], *, stdin=subprocess.PIPE, pass_fds: Sequence[int] = (),
              env: Mapping[str, str] | None = None) -> SandboxedProcess:
        """Start `argv` in the sandbox; stdout and stderr go to its capped log."""
        if self._private is None:
            raise SandboxError("this sandbox is closed")
        if self._process is not None:
            if self._process.wait(0) is None:
                raise SandboxError("the previous process is still running: kill() it first")
            self._process.kill()
        if self.uid is not None:
            kill_uid(self.uid)
            _chown_tree(self.rw_dir, self.uid)
        self._spawned += 1
        log = self._private / f"output-{self._spawned}.log"
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC,
                      0o600)
        group = self._new_cgroup()
        data_fds = self._data_fds() if self.mode == "bwrap" else ()
        join = group.join_argv() if group is not None else []
        try:
            popen = subprocess.Popen(
                [*join, *self._command(argv, data_fds)], stdin=stdin, stdout=out,
                stderr=subprocess.STDOUT, pass_fds=(*pass_fds, *data_fds),
                env=self._env(env), cwd=self.rw_dir, start_new_session=True,
                umask=0o077)
        finally:
            for fd in (out, *data_fds):
                os.close(fd)
        layers = tuple(self.layers if python_isolated(argv)
                       else [x for x in self.layers if x != "python-isolated"])
        self._process = SandboxedProcess(self, popen, log, layers, group)
        return self._process

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The scrubbed environment; without bwrap's private /tmp, temporary files go to
        rw_dir (0700, the uid's own), not where other sandboxes could look."""
        private = {} if self.mode == "bwrap" else {"TMPDIR": str(self.rw_dir)}
        return scrubbed_env(self.rw_dir, {**private, **(extra or {})})

    def _new_cgroup(self) -> cgroups.Cgroup | None:
        """A fresh cgroup for the next process tree, with this sandbox's limits."""
        if not self._cgroups.version:
            return None
        lim = self.limits
        budget = cgroups.Budget(memory_bytes=lim.memory_mb * MB,
                                processes=lim.processes + PROCESS_HEADROOM + 2,
                                cpu_cores=lim.cpu_cores)
        try:
            return cgroups.Cgroup(budget, self._cgroups)
        except OSError as exc:
            raise SandboxError(f"cannot make the sandbox's cgroup: {exc}") from exc

    def run(self, argv: Sequence[str], timeout: float | None = None, **spawn_args) -> RunResult:
        """Spawn `argv`, wait at most `timeout` (default: the wall limit), clean up."""
        return self.spawn(argv, **spawn_args).run(timeout)

    def _sweep(self) -> None:
        """Kill every process of this sandbox's uid; remove its files outside rw_dir."""
        if self.uid is None:
            return
        kill_uid(self.uid)
        if self.mode != "bwrap":
            _sweep_files(self.uid, self.rw_dir)

    def close(self) -> None:
        """Kill what runs, release the uid and remove the harness-private files."""
        if self._process is not None:
            self._process.kill()
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        if self._private is not None:
            remove_tree(self._private)
            self._private = None
        if self._capped:  # what was written in rw_dir goes with its tmpfs
            scratch.unmount(self.rw_dir)
            self._capped = False


def _exit_signal(returncode: int, in_bwrap: bool) -> int | None:
    """The signal that ended a process, from its return code (bwrap reports 128 + n)."""
    if returncode < 0:
        return -returncode
    if in_bwrap and returncode > 128 and returncode - 128 in signal.valid_signals():
        return returncode - 128
    return None


def classify(returncode: int, sig: int | None, *, timed_out: bool, killed: bool,
             cpu_spent_possible: bool) -> tuple[str, str | None]:
    """(status, reason) of a finished process; see `RunResult`."""
    if timed_out:
        return "timeout", "timeout"
    if killed:
        return "killed", "killed"
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_spent_possible):
        return "cpu-limit", "cpu time limit"
    if sig == signal.SIGXFSZ:
        return "error", "file size limit"
    if sig is not None:
        return ("killed" if sig == signal.SIGKILL else "error"), signal.Signals(sig).name
    return ("ok" if returncode == 0 else "error"), None


class SandboxedProcess:
    """The process tree of one `Sandbox.spawn`.

    After it finished: `returncode` (minus the signal number when a signal ended it),
    `signal` (its name, e.g. "SIGXCPU"), `timed_out`, `killed`, `status`, `reason`,
    `output_truncated` (after `output()`).
    """

    def __init__(self, sandbox: Sandbox, popen: subprocess.Popen, log: Path,
                 layers: tuple[str, ...], cgroup: cgroups.Cgroup | None = None):
        self.sandbox = sandbox
        self.cgroup = cgroup
        self.memory_limit_hit = False  # the tree as a whole ran out of memory (cgroup)
        self.popen = popen
        self.pid = popen.pid
        self.layers = layers
        self.returncode: int | None = None
        self.signal: str | None = None
        self.timed_out = False
        self.killed = False
        self.output_truncated = False
        self._log = log
        self._started = time.monotonic()
        self._elapsed: float | None = None
        self._cleaned = False
        try:
            self._pidfd: int | None = os.pidfd_open(self.pid)
        except (OSError, AttributeError):  # not Linux 5.3+ (macOS has no pidfd_open)
            self._pidfd = None

    def wait(self, timeout: float | None = None) -> int | None:
        """The return code once the process exits; None after `timeout` s (no kill)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None and not self._check_exit():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            self._sleep(left)
        return self.returncode

    def _sleep(self, seconds: float | None) -> None:
        if self._pidfd is not None:
            select.select([self._pidfd], [], [], seconds)
        else:
            time.sleep(0.01 if seconds is None else min(seconds, 0.01))

    def _check_exit(self) -> bool:
        """Record the exit status if the process has ended, leaving it unreaped."""
        if self.popen.returncode is not None:
            self._record(self.popen.returncode)
            return True
        if not hasattr(os, "waitid"):  # macOS: reaped, so its group id may then be reused
            code = self.popen.poll()
            if code is not None:
                self._record(code)
            return code is not None
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            info = None
        if info is None:
            return False
        code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        self._record(code)
        return True

    def _record(self, code: int) -> None:
        if self.returncode is not None:
            return
        self._elapsed = time.monotonic() - self._started
        sig = _exit_signal(code, self.sandbox.mode == "bwrap")
        self.returncode = -sig if sig is not None else code
        self.signal = signal.Signals(sig).name if sig in signal.valid_signals() else None

    def kill(self) -> None:
        """SIGKILL everything this process started, reap it; idempotent."""
        if self._cleaned:
            return
        if self.returncode is None and not self._check_exit() and not self.timed_out:
            self.killed = True
        if self.popen.returncode is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.sandbox._sweep()
        if self.cgroup is not None:
            self.memory_limit_hit = self.cgroup.memory_limit_hit()
            self.cgroup.close()
            self.cgroup = None
        self._record(self.popen.wait())
        if self.sandbox.uid is not None:
            _reap_orphans(self.sandbox.uid)
        if self.popen.stdin is not None:
            self.popen.stdin.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._cleaned = True

    def output(self) -> str:
        """Captured stdout and stderr, merged in order, capped at the output limit."""
        text, self.output_truncated = read_capped(self._log, self.sandbox.limits.output_bytes)
        return text

    def _classified(self) -> tuple[str, str | None]:
        sig = signal.Signals[self.signal] if self.signal else None
        cpus = cpu_count()
        spent = (self._elapsed or 0.0) * cpus >= self.sandbox.limits.cpu_seconds
        return classify(self.returncode if self.returncode is not None else -1, sig,
                        timed_out=self.timed_out, killed=self.killed, cpu_spent_possible=spent)

    @property
    def status(self) -> str:
        return self._classified()[0]

    @property
    def reason(self) -> str | None:
        return self._classified()[1]

    def run(self, timeout: float | None = None) -> RunResult:
        """Wait (default: the wall limit), kill on timeout, always kill leftovers."""
        limit = self.sandbox.limits.wall_seconds if timeout is None else timeout
        if self.wait(limit) is None:
            self.timed_out = True
        self.kill()
        output = self.output()
        status, reason = self._classified()
        return RunResult(self.returncode, status, output, reason, self.output_truncated,
                         self.layers)
