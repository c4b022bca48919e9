"""Limits for a submission as a whole, with Linux control groups.

An rlimit bounds one process: a dozen processes of 1 GB each, or a thread per core, pass
every rlimit. A control group bounds the whole tree that a sandbox starts, however it
forks: its memory (RAM, swap and the tmpfs pages it writes), its number of processes, and
its share of the CPU (an equal weight per submission and a quota of `cpu_cores` cores),
so that a submission that burns every core cannot make the ones graded beside it miss
their time limits.

Where. cgroup v2 is used when its memory, pids and cpu controllers can be enabled below
the harness's own cgroup; else cgroup v1, one folder per controller hierarchy (memory,
pids, cpu), below the harness's own cgroup in each (a container's limits stay in force).
Each sandbox gets ``<parent>/autograder-sandbox-<harness pid>-<n>``; a process joins it
by the first link of the sandbox's command chain (`join_argv`), before anything else runs.
Only as root, and only where the folders are writable; otherwise `support()` says why and
the sandbox's layers say "limits-per-process".

Cleaning up. `Cgroup.close` kills what is left in it and removes it. A cgroup whose
harness died (a batch killed with SIGKILL) is found by the pid in its name and removed by
`sweep`, which every harness runs once before it makes its first cgroup.
"""

from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "autograder-sandbox-"  # + the pid of the harness that made it, "-", a counter
CONTROLLERS = ("memory", "pids", "cpu")
PERIOD_US = 100_000
KILL_SECONDS = 10.0
SWEEP_DEPTH, SWEEP_WIDTH = 3, 2000  # how far `sweep` looks below each hierarchy's root
DISABLE_ENV = "AUTOGRADER_NO_CGROUPS"  # set to 1: rlimits only (benchmarks compare)
MOUNTINFO = "/proc/self/mountinfo"
OWN_CGROUP = "/proc/self/cgroup"
JOIN_SCRIPT = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; ' \
              'shift; n=$((n - 1)); done; exec "$@"'
_names = itertools.count(1)


@dataclass(frozen=True)
class Support:
    """Where this harness makes cgroups: `version` "v2" or "v1" with a parent folder per
    controller, or None and `reason`."""

    version: str | None
    parents: dict[str, Path] = field(default_factory=dict)
    reason: str = ""
    roots: tuple[Path, ...] = ()  # the hierarchies' mount points, where `sweep` looks


def _mounts(root: str = MOUNTINFO) -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) of each mount."""
    found = []
    with open(root) as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) >= 5 and len(tail) >= 3:
                found.append((fields[4], tail[0], set(tail[2].split(","))))
    return found


def _own_paths(path: str = OWN_CGROUP) -> dict[str, str]:
    """This process's cgroup per v1 controller, and under "" its v2 cgroup."""
    own: dict[str, str] = {}
    with open(path) as handle:
        for line in handle:
            _, names, where = line.rstrip("\n").split(":", 2)
            for name in names.split(",") if names else [""]:
                own[name] = where
    return own


def _writable(parent: Path) -> str:
    """"" when a cgroup can be made under `parent`, else why not."""
    probe = parent / f"{PREFIX}{os.getpid()}-probe"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        return f"cannot make a cgroup in {parent}: {exc.strerror}"
    return ""


def _v2(mounts, own) -> Support:
    point = next((m for m, kind, _ in mounts if kind == "cgroup2"), None)
    if point is None or "" not in own:
        return Support(None, reason="no cgroup2 mount")
    parent = Path(point) / own[""].lstrip("/")
    try:
        available = set((parent / "cgroup.controllers").read_text().split())
    except OSError as exc:
        return Support(None, reason=f"cgroup v2: {exc.strerror}")
    missing = [c for c in CONTROLLERS if c not in available]
    if missing:
        return Support(None, reason=f"cgroup v2 lacks the {', '.join(missing)} controllers "
                                    "(held by cgroup v1 here)")
    try:  # fails with EBUSY when the harness's own cgroup holds processes (not the root)
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
    except OSError as exc:
        return Support(None, reason=f"cgroup v2: cannot enable controllers below {parent}: "
                                    f"{exc.strerror}")
    why = _writable(parent)
    if why:
        return Support(None, reason=why)
    return Support("v2", {c: parent for c in CONTROLLERS}, roots=(Path(point),))


def _v1(mounts, own) -> Support:
    parents: dict[str, Path] = {}
    roots = []
    for controller in CONTROLLERS:
        point = next((m for m, kind, opts in mounts if kind == "cgroup" and controller in opts),
                     None)
        if point is None or controller not in own:
            return Support(None, reason=f"no cgroup v1 {controller} hierarchy is mounted")
        parents[controller] = Path(point) / own[controller].lstrip("/")
        roots.append(Path(point))
    for parent in parents.values():
        why = _writable(parent)
        if why:
            return Support(None, reason=why)
    return Support("v1", parents, roots=tuple(roots))


def detect(mountinfo: str = MOUNTINFO, own_cgroup: str = OWN_CGROUP) -> Support:
    """Which cgroups this harness can use to limit a sandbox, measured."""
    if os.environ.get(DISABLE_ENV) == "1":
        return Support(None, reason=f"turned off ({DISABLE_ENV}=1)")
    if os.geteuid() != 0:
        return Support(None, reason="the harness is not root")
    try:
        mounts, own = _mounts(mountinfo), _own_paths(own_cgroup)
    except OSError as exc:
        return Support(None, reason=f"cannot read the cgroup mounts: {exc.strerror}")
    v2 = _v2(mounts, own)
    if v2.version:
        return v2
    v1 = _v1(mounts, own)
    return v1 if v1.version else Support(None, reason=f"{v2.reason}; {v1.reason}")


@functools.cache
def support() -> Support:
    """`detect()` once per process; leftovers of dead harnesses are swept first."""
    found = detect()
    if found.version:
        sweep(found)
    return found


@dataclass(frozen=True)
class Budget:
    """What one sandbox's tree may use as a whole."""

    memory_bytes: int
    processes: int
    cpu_cores: float


class Cgroup:
    """One sandbox's cgroup (a folder per hierarchy under v1), made with its limits."""

    def __init__(self, budget: Budget, where: Support | None = None):
        self.support = where or support()
        if not self.support.version:
            raise OSError(f"cgroups are not usable: {self.support.reason}")
        name = f"{PREFIX}{os.getpid()}-{next(_names)}"
        self.folders = sorted({p / name for p in self.support.parents.values()})
        self.budget = budget
        try:
            for folder in self.folders:
                folder.mkdir()
            self._set_limits()
        except OSError:
            self.close()
            raise

    def _folder(self, controller: str) -> Path:
        name = self.folders[0].name
        return self.support.parents[controller] / name

    def _set_limits(self) -> None:
        b = self.budget
        quota = int(b.cpu_cores * PERIOD_US)
        if self.support.version == "v2":
            folder = self._folder("memory")
            _write(folder / "memory.max", b.memory_bytes)
            _write(folder / "memory.swap.max", 0, optional=True)
            _write(folder / "pids.max", b.processes)
            _write(folder / "cpu.weight", 100)
            _write(folder / "cpu.max", f"{quota} {PERIOD_US}")
            return
        memory = self._folder("memory")
        _write(memory / "memory.limit_in_bytes", b.memory_bytes)
        _write(memory / "memory.memsw.limit_in_bytes", b.memory_bytes, optional=True)
        _write(self._folder("pids") / "pids.max", b.processes)
        cpu = self._folder("cpu")
        _write(cpu / "cpu.shares", 1024)
        _write(cpu / "cpu.cfs_period_us", PERIOD_US)
        _write(cpu / "cpu.cfs_quota_us", quota)

    def join_argv(self) -> list[str]:
        """The first link of a command chain: it moves itself into this cgroup (every
        hierarchy), then execs the rest, so nothing runs outside it."""
        procs = [str(f / "cgroup.procs") for f in self.folders]
        return ["/bin/sh", "-c", JOIN_SCRIPT, "sh", str(len(procs)), *procs]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for folder in self.folders:
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def memory_limit_hit(self) -> bool:
        """Whether the tree ran into its memory limit (an allocation failed or the kernel
        killed a process of it for memory)."""
        folder = self._folder("memory")
        if self.support.version == "v2":
            counts = _counts(folder / "memory.events")
            return counts.get("oom_kill", 0) > 0 or counts.get("max", 0) > 0
        return (_counts(folder / "memory.oom_control").get("oom_kill", 0) > 0
                or int(_read(folder / "memory.failcnt") or 0) > 0)

    def kill(self, seconds: float = KILL_SECONDS) -> None:
        """SIGKILL every process in the cgroup until none is left (or `seconds` pass)."""
        kill_file = self._folder("pids") / "cgroup.kill"
        deadline = time.monotonic() + seconds
        while (pids := self.pids()) and time.monotonic() < deadline:
            if kill_file.exists():
                _write(kill_file, 1, optional=True)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.005)

    def close(self) -> None:
        """Kill what is left in it, then remove it."""
        self.kill()
        for folder in self.folders:
            _remove(folder)


def _write(path: Path, value, optional: bool = False) -> None:
    try:
        with open(path, "w") as handle:
            handle.write(str(value))
    except OSError:
        if not optional:
            raise


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _counts(path: Path) -> dict[str, int]:
    """A cgroup file of `name value` lines, as numbers."""
    counts = {}
    for line in _read(path).splitlines():
        name, _, value = line.partition(" ")
        if value.strip().isdigit():
            counts[name] = int(value)
    return counts


def _remove(folder: Path, seconds: float = 2.0) -> bool:
    """rmdir a cgroup (refused while a dying process is still in it: retried)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            folder.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _ours(roots, parents, depth: int = SWEEP_DEPTH) -> list[Path]:
    """Cgroups named by `PREFIX` in `parents` and down to `depth` levels below `roots`
    (a harness started elsewhere in the hierarchy, e.g. by another login, made them)."""
    found, level = set(), [*roots]
    for _ in range(depth):
        below = []
        for folder in level:
            try:
                below += [Path(e.path) for e in os.scandir(folder)
                          if e.is_dir(follow_symlinks=False)]
            except OSError:
                continue
        found |= {p for p in below if p.name.startswith(PREFIX)}
        level = [p for p in below if not p.name.startswith(PREFIX)][:SWEEP_WIDTH]
    for parent in parents:
        try:
            found |= {Path(e.path) for e in os.scandir(parent) if e.name.startswith(PREFIX)}
        except OSError:
            continue
    return sorted(found)


def sweep(where: Support | None = None) -> list[Path]:
    """Kill and remove the cgroups whose harness is gone; returns those removed."""
    where = where or detect()
    removed = []
    for left in _ours(where.roots, set(where.parents.values())):
        pid = left.name[len(PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        for line in _read(left / "cgroup.procs").split():
            try:
                os.kill(int(line), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass
        if _remove(left):
            removed.append(left)
    return removed
