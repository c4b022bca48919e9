"""`grade --cluster`: a real Dask scheduler and two workers on loopback, against the pool.

The scheduler and the workers are subprocesses in their own process groups (one worker
declares a GPU resource), torn down by killing those groups whatever happens.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_batch import TINY, make_class, run_batch

from autograder import assignment as asg
from autograder import batch, cluster, grading

distributed = pytest.importorskip("distributed")


def _dask() -> list[str]:
    beside = Path(sys.executable).with_name("dask")
    return [str(beside)] if beside.exists() else [shutil.which("dask") or "dask"]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen(_dask() + args, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM every group, then SIGKILL what is left of them."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for proc in procs:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass


def _address(scheduler_file: Path, proc: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + 60
    while not scheduler_file.exists():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the scheduler did not start"
        time.sleep(0.1)
    return json.loads(scheduler_file.read_text())["address"]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """The address of a scheduler with two one-thread workers, the second with a GPU."""
    root = tmp_path_factory.mktemp("dask")
    info = root / "scheduler.json"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(info)], root / "scheduler.log")]
    try:
        address = _address(info, procs[0], root / "scheduler.log")
        for k, extra in enumerate([[], ["--resources", "GPU=1", "--name", "gpu-worker"]]):
            procs.append(_start(["worker", address, "--nthreads", "1", "--nworkers", "1",
                                 "--host", "127.0.0.1", "--no-dashboard", "--local-directory",
                                 str(root / f"w{k}"), *extra], root / f"worker{k}.log"))
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        _stop(procs)


@pytest.fixture(scope="module")
def tiny():
    return asg.load(TINY)


@pytest.fixture
def gpu_tiny(tmp_path):
    """The tiny assignment with its counter question marked as a training task."""
    folder = tmp_path / "tiny-gpu"
    shutil.copytree(TINY, folder)
    toml = folder / "assignment.toml"
    toml.write_text('gpu_questions = ["counter"]\n' + toml.read_text())
    return asg.load(folder)


def _outputs(out: Path) -> dict[str, str]:
    names = ["gradebook.csv", *(p.relative_to(out).as_posix() for p in out.glob("*/feedback.md"))]
    return {name: (out / name).read_text() for name in sorted(names)}


def test_cluster_grades_exactly_like_the_local_pool(tiny, scheduler, tmp_path):
    paths = make_class(tmp_path / "subs")
    run_batch(tiny, paths, tmp_path / "local", workers=2)
    rows = run_batch(tiny, paths, tmp_path / "cluster", cluster=scheduler)
    assert len(rows) == 5 and _outputs(tmp_path / "cluster") == _outputs(tmp_path / "local")
    assert json.loads((tmp_path / "cluster" / "summary" / "summary.json").read_text()) == \
        json.loads((tmp_path / "local" / "summary" / "summary.json").read_text())
    assert all(r["isolation"] for r in rows if r["status"] == "graded")


def test_training_tasks_run_on_the_workers_with_a_gpu(gpu_tiny, scheduler, tmp_path):
    paths = make_class(tmp_path / "subs")[:3]
    with distributed.Client(scheduler, timeout="30s") as client:
        gpu = [a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
               if w.get("resources", {}).get("GPU")]
        start = time.time()
        client.get_task_stream(start=start)  # installs the scheduler's task-stream plugin
        rows = run_batch(gpu_tiny, paths, tmp_path / "out", cluster=scheduler)
        stream = client.get_task_stream(start=start)
    graded = [t for t in stream if str(t["key"]).startswith("grade-")]
    assert [r["score"] for r in rows] == [6, 1, 0]
    assert len(graded) == 3 and {t["worker"] for t in graded} == set(gpu)


@pytest.mark.parametrize("marked,expected", [(False, False), (True, True)],
                         ids=["numpy-only", "gpu-questions"])
def test_needs_gpu_follows_the_assignment(tiny, gpu_tiny, marked, expected):
    assert cluster.needs_gpu(gpu_tiny if marked else tiny, grading.GradeOptions()) is expected


def test_a_worker_returns_a_json_string_not_objects(tiny, tmp_path):
    folder = make_class(tmp_path / "subs")[1]
    payload = cluster.zip_folder(folder / "tinymath", "tinymath")
    options = cluster.options_dict(grading.GradeOptions())
    answer = cluster.grade_remote(cluster.bundle_assignment(tiny), "bob", payload, options)
    assert isinstance(answer, str)
    assert json.loads(answer)["score"] == 1


BUNDLED = [("solutions-inside", TINY), ("solutions-two-folders-up",
                                       TINY.parents[2] / "assignments" / "training_dnn")]


@pytest.mark.parametrize("folder", [c[1] for c in BUNDLED], ids=[c[0] for c in BUNDLED])
def test_the_bundle_keeps_the_solutions_where_the_toml_says(folder):
    original = asg.load(folder)
    unpacked = cluster.unpack_bundle(cluster.bundle_assignment(original))
    try:
        toml = (unpacked.root / "assignment.toml").read_text()
        assert toml == (original.root / "assignment.toml").read_text()
        relative = original.raw["solutions"]
        assert (unpacked.root / relative).resolve() == unpacked.solutions
        assert sorted(p.name for p in unpacked.solutions.glob("*.py")) == \
            sorted(p.name for p in original.solutions.glob("*.py"))
    finally:
        top = next(p for p in [unpacked.root, *unpacked.root.parents]
                   if p.name.startswith("autograder-bundle-"))
        shutil.rmtree(top, ignore_errors=True)


def test_an_unreachable_scheduler_is_a_clear_error(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    paths = make_class(tmp_path / "subs")[:1]
    with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler"):
        batch.grade_batch(tiny, paths, tmp_path / "out",
                          batch.BatchOptions(quiet=True, cluster="tcp://127.0.0.1:9"))
