"""Limits per submission, not per process: cgroups (autograder/cgroups.py) and a capped
rw_dir (autograder/scratch.py).

An rlimit lets a dozen processes of a few hundred MB each, or many files each under the
file-size limit, or a thread per core through. Each hostile script here does that inside a
sandbox (every isolation mode this machine offers) and must be stopped as a whole. The
cgroup logic itself is also run against fake cgroup folders laid out as v1 and v2, so that
the version this machine lacks is exercised too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from test_sandbox import FAST, MODE_PARAMS, PYTHON, _traversable_dir

from autograder import cgroups, scratch
from autograder import sandbox as sb
from autograder.sandbox import Limits, Sandbox, cpu_count

ROOT = os.geteuid() == 0
GROUPS = cgroups.support() if ROOT else cgroups.Support(None, reason="not root")
CAPPED = ROOT and not scratch.mount_support()
needs_cgroups = pytest.mark.skipif(not GROUPS.version, reason=f"no cgroups: {GROUPS.reason}")
needs_cap = pytest.mark.skipif(not CAPPED, reason="rw_dir cannot be capped here")


@pytest.fixture(scope="module")
def shared_root():
    """A world-traversable scratch folder ("user" mode needs that above rw_dir)."""
    path = Path(tempfile.mkdtemp(prefix="limits-test-"))
    path.chmod(0o711)
    yield path
    scratch.remove_tree(path)


@pytest.fixture(params=MODE_PARAMS)
def sandbox_of(request, shared_root):
    made = []

    def make(**limits):
        rw = _traversable_dir(shared_root)
        python = PYTHON[request.param]
        extra = {"python": python} if python else {}
        box = Sandbox(Limits(**{**FAST, **limits}), rw_dir=rw, isolation=request.param,
                      **extra)
        made.append(box)
        return box

    yield make
    for box in made:
        box.close()


def run(box: Sandbox, source: str, timeout: float = 60):
    (box.rw_dir / "script.py").write_text(textwrap.dedent(source))
    return box.run(box.python_argv("script.py"), timeout=timeout)


# ----------------------------------------------------------------------------- memory
MANY_PROCESSES = """
    import os, time
    survivors = []
    for _ in range({count}):
        pid = os.fork()
        if pid == 0:
            try:
                block = bytearray(b"x") * ({each_mb} << 20)  # written: resident, not lazy
                time.sleep(6)  # long after the last one has allocated, even on a busy machine
                print("survived", flush=True)
            except MemoryError:
                print("refused", flush=True)
            os._exit(0)
    for _ in range({count}):
        os.wait()
"""


@needs_cgroups
def test_a_dozen_processes_share_one_memory_limit(sandbox_of):
    """12 x 100 MB under 512 MB for the submission: at most 5 can hold their memory."""
    box = sandbox_of(memory_mb=512, processes=32)
    result = run(box, MANY_PROCESSES.format(count=12, each_mb=100))
    survived = result.output.split().count("survived")
    assert survived <= 512 // 100, result.output
    assert box._process.memory_limit_hit


# ----------------------------------------------------------------------------- disk
MANY_FILES = """
    import os
    written = 0
    try:
        for i in range({count}):
            with open(f"f{{i}}", "wb") as handle:
                handle.write(b"x" * ({each_mb} << 20))
            written += 1
    except OSError as exc:
        print("stopped:", exc.strerror)
    print("written", written)
"""

MANY_ENTRIES = """
    import os
    made = 0
    try:
        for i in range(100000):
            os.mkdir(f"d{i}")
            made += 1
    except OSError as exc:
        print("stopped:", exc.strerror)
    print("made", made)
"""


@needs_cap
def test_many_files_each_under_the_file_size_limit_fill_only_the_quota(sandbox_of):
    box = sandbox_of(file_size_mb=16, disk_mb=64)
    result = run(box, MANY_FILES.format(count=40, each_mb=15))
    assert "stopped: No space left on device" in result.output
    assert int(result.output.split("written")[-1]) <= 64 // 15 + 1  # + what it held
    assert "disk-quota" in result.layers


@needs_cap
def test_many_entries_fill_only_the_quota(sandbox_of):
    box = sandbox_of(disk_files=500)
    result = run(box, MANY_ENTRIES)
    assert "stopped: No space left on device" in result.output
    assert int(result.output.split("made")[-1]) <= 500 + 16  # the cap's own slack


@needs_cap
def test_a_capped_folder_keeps_what_it_held_and_goes_with_close(shared_root):
    rw = _traversable_dir(shared_root)
    (rw / "package").mkdir()
    (rw / "package" / "code.py").write_text("x = 1\n")
    (rw / "link").symlink_to("package/code.py")
    box = Sandbox(Limits(**FAST), rw_dir=rw, isolation=sb.available_isolations()[0],
                  python=PYTHON.get(sb.available_isolations()[0]))
    assert scratch.is_mount_point(rw)
    assert (rw / "package" / "code.py").read_text() == "x = 1\n"
    assert os.readlink(rw / "link") == "package/code.py"
    box.close()
    assert not scratch.is_mount_point(rw)


# ----------------------------------------------------------------------------- CPU
HOG = """
    import hashlib, os, threading, time
    block = bytes(1 << 20)
    def spin():  # hashing a large buffer releases the GIL: each thread burns a core
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            hashlib.sha256(block).digest()
    threads = [threading.Thread(target=spin) for _ in range({threads})]
    start, cpu = time.monotonic(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("cores", (time.process_time() - cpu) / (time.monotonic() - start))
"""


@needs_cgroups
@pytest.mark.skipif(cpu_count() < 2, reason="one core: nothing to share")
def test_threads_on_every_core_get_one_cores_quota(sandbox_of):
    """CPU time over wall time of a thread per core (and more): the quota's 1 core at most
    (a busy machine only lowers it)."""
    box = sandbox_of(cpu_cores=1.0)
    result = run(box, HOG.format(threads=2 * cpu_count()))
    assert float(result.output.split("cores")[-1]) <= 1.15, result.output


# ----------------------------------------------------------------------------- the cgroup
WHERE = """
    print(open("/proc/self/cgroup").read())
"""


@needs_cgroups
def test_the_whole_tree_runs_in_its_own_cgroup_with_the_limits(sandbox_of):
    box = sandbox_of(memory_mb=700, processes=20)
    process = box.spawn(box.python_argv("-c", "import time; print('up', flush=True); "
                                              "time.sleep(30)"))
    for _ in range(500):
        if "up" in process.output():
            break
        process.wait(0.02)
    group = process.cgroup
    assert group is not None and set(group.pids())
    assert int((group._folder("pids") / "pids.max").read_text()) == 20 + sb.PROCESS_HEADROOM + 2
    memory = group._folder("memory")
    limit = memory / ("memory.max" if GROUPS.version == "v2" else "memory.limit_in_bytes")
    assert int(limit.read_text()) == 700 << 20
    cpu = group._folder("cpu")
    quota = ((cpu / "cpu.max").read_text().split()[0] if GROUPS.version == "v2"
             else (cpu / "cpu.cfs_quota_us").read_text())
    assert int(quota) == cgroups.PERIOD_US  # one core, the default `cpu_cores`
    folders = list(group.folders)
    process.kill()
    assert not any(f.exists() for f in folders)
    assert "cgroup" in process.layers


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@needs_cgroups
def test_cgroups_of_a_dead_harness_are_swept():
    """In this harness's own cgroups, and elsewhere in the hierarchies (a batch started
    from another login or container cgroup made them)."""
    pid = _dead_pid()
    elsewhere = GROUPS.roots[0] / f"autograder-test-elsewhere-{os.getpid()}"
    elsewhere.mkdir()
    left = [p / f"{cgroups.PREFIX}{pid}-1" for p in set(GROUPS.parents.values())]
    left.append(elsewhere / f"{cgroups.PREFIX}{pid}-2")
    for folder in left:
        folder.mkdir()
    mine = cgroups.Cgroup(cgroups.Budget(1 << 30, 10, 1.0), GROUPS)
    try:
        removed = cgroups.sweep(GROUPS)
        assert set(left) <= set(removed)
        assert all(f.exists() for f in mine.folders)
    finally:
        mine.close()
        elsewhere.rmdir()


@needs_cap
def test_capped_folders_of_a_dead_harness_are_detached(shared_root):
    folder = _traversable_dir(shared_root)
    pid = _dead_pid()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", f"{scratch.SOURCE}{pid}",
                    str(folder)], check=True)
    assert scratch.is_mount_point(folder)
    assert str(folder) in scratch.sweep_mounts()
    assert not scratch.is_mount_point(folder)


def test_without_cgroups_or_a_cap_the_layers_say_so(monkeypatch, shared_root):
    monkeypatch.setattr(cgroups, "support", lambda: cgroups.Support(None, reason="test"))
    monkeypatch.setattr(scratch, "mount_support", lambda: "test")
    mode = sb.available_isolations()[0]
    with Sandbox(Limits(**FAST), rw_dir=_traversable_dir(shared_root), isolation=mode,
                 python=PYTHON.get(mode)) as box:
        assert {"limits-per-process", "disk-unbounded"} <= set(box.layers)
        assert not {"cgroup", "disk-quota"} & set(box.layers)
    assert "limits-per-process" in sb.probe_report() or not ROOT


# ----------------------------------------------------------------------------- v1 and v2
def _fake_hierarchy(tmp_path: Path, version: str) -> tuple[str, str, dict[str, Path]]:
    """A mountinfo, a /proc/self/cgroup and cgroup folders laid out as `version`."""
    if version == "v2":
        root = tmp_path / "unified"
        (root / "grader").mkdir(parents=True)
        (root / "grader" / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
        mountinfo = f"30 25 0:26 / {root} rw - cgroup2 cgroup2 rw\n"
        own = "0::/grader\n"
        return mountinfo, own, {c: root / "grader" for c in cgroups.CONTROLLERS}
    lines, own, parents = [], [], {}
    for n, controller in enumerate(cgroups.CONTROLLERS):
        root = tmp_path / controller
        (root / "grader").mkdir(parents=True)
        lines.append(f"{40 + n} 25 0:{30 + n} / {root} rw - cgroup cgroup rw,{controller}")
        own.append(f"{n + 1}:{controller}:/grader")
        parents[controller] = root / "grader"
    return "\n".join(lines) + "\n", "\n".join(own) + "\n", parents


LAYOUTS = [
    # (version, file -> value written for Budget(512 MB, 40 processes, 1.5 cores))
    ("v2", {"memory.max": "536870912", "pids.max": "40", "cpu.weight": "100",
            "cpu.max": "150000 100000", "memory.swap.max": "0"}),
    ("v1", {"memory.limit_in_bytes": "536870912", "pids.max": "40", "cpu.shares": "1024",
            "cpu.cfs_quota_us": "150000", "cpu.cfs_period_us": "100000"}),
]


@pytest.mark.skipif(not ROOT, reason="cgroups are only used as root")
@pytest.mark.parametrize("version, written", LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_limits_are_written_for_each_cgroup_version(tmp_path, version, written):
    mountinfo, own, parents = _fake_hierarchy(tmp_path, version)
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroup").write_text(own)
    found = cgroups.detect(str(tmp_path / "mountinfo"), str(tmp_path / "cgroup"))
    assert found.version == version and found.parents == parents
    group = cgroups.Cgroup(cgroups.Budget(512 << 20, 40, 1.5), found)
    values = {}
    for folder in group.folders:
        values |= {p.name: p.read_text() for p in folder.iterdir()}
    assert {k: values.get(k) for k in written} == written
    assert group.join_argv()[:3] == ["/bin/sh", "-c", cgroups.JOIN_SCRIPT]
    assert [Path(p).parent for p in group.join_argv()[5:]] == group.folders
    for folder in group.folders:  # a real cgroup's files vanish with it; these do not
        for path in folder.iterdir():
            path.unlink()
    group.close()
    assert not any(f.exists() for f in group.folders)


@pytest.mark.parametrize("mountinfo, own, reason", [
    pytest.param("", "0::/\n", "no cgroup2 mount", id="nothing-mounted"),
    pytest.param("30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n", "0::/\n",
                 "cgroup v2", id="v2-without-controllers"),
])
def test_unusable_cgroups_say_why(tmp_path, mountinfo, own, reason):
    if not ROOT:
        pytest.skip("cgroups are only used as root")
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroup").write_text(own)
    found = cgroups.detect(str(tmp_path / "mountinfo"), str(tmp_path / "cgroup"))
    assert found.version is None and reason in found.reason


@needs_cap
def test_what_the_folder_held_does_not_count_against_the_quota(shared_root):
    """A submission copied in before the cap (here 3 MB) leaves the whole quota free."""
    rw = _traversable_dir(shared_root)
    (rw / "big.bin").write_bytes(bytes(3 << 20))
    mode = sb.available_isolations()[0]
    with Sandbox(Limits(**{**FAST, "disk_mb": 2}), rw_dir=rw, isolation=mode,
                 python=PYTHON.get(mode)) as box:
        assert (rw / "big.bin").stat().st_size == 3 << 20
        result = run(box, MANY_FILES.format(count=1, each_mb=1))
        assert "written 1" in result.output


KILLED_HARNESS = """
import os, signal, sys, tempfile
from pathlib import Path
from autograder.sandbox import Limits, Sandbox
rw = Path(tempfile.mkdtemp(prefix="nntrain-worker-%d-" % os.getpid(), dir=sys.argv[1]))
box = Sandbox(Limits(cpu_seconds=30, wall_seconds=60), rw_dir=rw, isolation=sys.argv[2],
              **({"python": sys.argv[3]} if len(sys.argv) > 3 else {}))
process = box.spawn(box.python_argv("-c", "import time; print('up', flush=True); time.sleep(60)"))
while "up" not in process.output():
    process.wait(0.02)
print(rw, " ".join(str(f) for f in process.cgroup.folders), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@needs_cgroups
@needs_cap
@pytest.mark.parametrize("mode", [p.values[0] for p in MODE_PARAMS])
def test_what_a_killed_harness_left_is_swept_by_the_next_batch(shared_root, mode):
    from autograder import batch

    if mode not in sb.available_isolations():
        pytest.skip(f"{mode} isolation is not available here")
    extra = [PYTHON[mode]] if PYTHON[mode] else []
    done = subprocess.run([sys.executable, "-c", KILLED_HARNESS, str(shared_root), mode,
                           *extra], capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    rw, *folders = done.stdout.split()
    assert scratch.is_mount_point(Path(rw)) and all(Path(f).is_dir() for f in folders)
    batch.sweep_orphans()
    batch.sweep_batch_folders(shared_root)
    assert not scratch.is_mount_point(Path(rw)) and not os.path.lexists(rw)
    assert not any(os.path.lexists(f) for f in folders)
