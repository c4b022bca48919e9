"""Grading a class: parallel, resumable after SIGKILL, --only, feedback and the summary.

Everything runs on the tiny assignment (tests/fixtures/tiny), whose submissions grade in
a fraction of a second each. No test measures time: benchmarks/ does.
"""

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from autograder import assignment as asg
from autograder import batch, cluster, grading, sandbox, stubgen, summary
from autograder.cli import main as cli_main
from autograder.submission import discover

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny"
MARKER = "4242.17"  # the argument of the daemons the slow submissions leave behind

WRONG_OPS = '''
import numpy as np


def square_forward(x):
    return (x * x).astype(np.float64), x


def square_backward(dout, cache):
    return cache * dout


class Counter:
    def __init__(self, start=0):
        self.total = start

    def tick(self):
        raise ValueError("boom <script>")
'''

SLOW_PREFIX = f'''
import subprocess as _sp
import time as _time
_sp.Popen(["sleep", "{MARKER}"], start_new_session=True, stdout=_sp.DEVNULL,
          stderr=_sp.DEVNULL)
_time.sleep(0.6)
'''


@pytest.fixture(scope="module")
def tiny():
    return asg.load(TINY)


def _package(folder: Path, ops: str) -> Path:
    pkg = folder / "tinymath"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ops.py").write_text(ops)
    return folder


def make_class(root: Path, slow: int = 0) -> list[Path]:
    """A small class: full, stubbed, wrong, broken, empty, and `slow` slow full marks."""
    reference = (TINY / "solutions" / "tinymath" / "ops.py").read_text()
    paths = [_package(root / "alice", reference), _package(root / "bob", WRONG_OPS)]
    stubgen.generate(TINY / "solutions" / "tinymath", root / "carol" / "tinymath")
    paths.append(root / "carol")
    (root / "dave.zip").write_bytes(b"this is not a zip")
    paths.append(root / "dave.zip")
    (root / "erin").mkdir()
    (root / "erin" / "README.txt").write_text("forgot the package")
    paths.append(root / "erin")
    for k in range(slow):
        paths.append(_package(root / f"slow{k}", SLOW_PREFIX + reference))
    return paths


def run_batch(tiny, paths, out, **options) -> list[dict]:
    return batch.grade_batch(tiny, paths, out, batch.BatchOptions(quiet=True, **options))


def marker_processes() -> list[int]:
    """Live processes running the slow submissions' daemon."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and MARKER.encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            pass
    return pids


# ----------------------------------------------------------------------------- parallel
@pytest.fixture(scope="module")
def graded(tiny, tmp_path_factory):
    """The class graded with one worker, and again with three."""
    root = tmp_path_factory.mktemp("class")
    paths = make_class(root / "subs")
    one = run_batch(tiny, paths, root / "one", workers=1)
    three = run_batch(tiny, paths, root / "three", workers=3)
    return root, one, three


def test_gradebook_is_identical_whatever_the_number_of_workers(graded):
    root, _, _ = graded
    assert (root / "one" / "gradebook.csv").read_text() == \
        (root / "three" / "gradebook.csv").read_text()
    assert json.loads((root / "one" / "summary" / "summary.json").read_text()) == \
        json.loads((root / "three" / "summary" / "summary.json").read_text())


def test_every_submission_has_a_row_with_its_status(graded):
    root, rows, _ = graded
    lines = (root / "one" / "gradebook.csv").read_text().splitlines()
    assert lines[0] == "submission,status,score,max_score,squares,counter"
    by_name = {r["submission"]: r for r in rows}
    assert {n: (r["status"], r["score"]) for n, r in by_name.items()} == {
        "alice": ("graded", 6), "bob": ("graded", 1), "carol": ("graded", 0),
        "dave": ("bad-archive", 0), "erin": ("no-package", 0)}
    assert all(r["isolation"] for r in rows if r["status"] == "graded")


def test_results_come_back_as_plain_json_data(graded):
    _, rows, _ = graded
    for row in rows:
        assert json.loads(json.dumps(row)) == row
        assert batch.result_from_dict(row).to_dict() == row


# ----------------------------------------------------------------------------- feedback
def test_feedback_shows_every_question_function_status_and_message(graded):
    root, _, _ = graded
    folder = root / "one" / "bob"
    for name in ("feedback.md", "feedback.html"):
        text = (folder / name).read_text()
        for needle in ("Squares", "A counter", "ops.square_forward", "ops.square_backward",
                       "ops.Counter", "failed", "largest relative error", "ValueError: boom"):
            assert needle in text, (name, needle)
    html = (folder / "feedback.html").read_text()
    assert "<script>" not in html and "boom &lt;script&gt;" in html
    assert json.loads((folder / "results.json").read_text())["score"] == 1


# ----------------------------------------------------------------------------- summary
def test_summary_statistics_and_plots(graded):
    root, _, _ = graded
    folder = root / "one" / "summary"
    data = json.loads((folder / "summary.json").read_text())
    assert data["submissions"] == 5
    assert data["score"] == {"mean": 1.4, "median": 0, "std": 2.3324, "min": 0, "max": 6}
    assert data["statuses"] == {"bad-archive": 1, "graded": 3, "no-package": 1}
    squares = next(q for q in data["questions"] if q["id"] == "squares")
    assert squares["pass_rate"] == 0.2 and squares["mean"] == pytest.approx(1.0)
    counter = next(f for f in data["functions"] if f["name"] == "ops.Counter")
    assert counter["statuses"] == {"failed": 1, "not-implemented": 1, "passed": 1}
    failures = data["common_failures"]["ops.Counter"]
    assert [f["submissions"] for f in failures] == [1, 1]
    assert any(f["message"].startswith("`Counter` is not implemented yet") for f in failures)
    for png in ("scores.png", "pass_rates.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (folder / "summary.md").read_text()
    assert "## What to re-teach" in md and "![scores](scores.png)" in md


NORMALIZE = [
    ("numbers-and-case-ids",
     ("a/1: `dx`: largest relative error 0.5 at (1, 2)", "a/1", ""),
     ("b/22: `dx`: largest relative error 3.1e-02 at (0, 3)", "b/22", "")),
    ("case-descriptions-with-parentheses",
     ("a/1 (grads (dx, db): all): wrong shape (3, 3)", "a/1", "grads (dx, db): all"),
     ("a/2 (tall input, 9 x 2): wrong shape (9, 1)", "a/2", "tall input, 9 x 2")),
    ("tracebacks-by-their-last-line",
     ("c: `f` raised an exception:\nTraceback (most recent call last):\n"
      '  File "pkg/ops.py", line 12, in f\n    return x[5]\nIndexError: index 5 is out', "c",
      ""),
     ("d: `f` raised an exception:\nTraceback (most recent call last):\n"
      '  File "pkg/ops.py", line 40, in f\n    y = x[9]\nIndexError: index 9 is out', "d",
      "")),
]


@pytest.mark.parametrize("first,second", [c[1:] for c in NORMALIZE],
                         ids=[c[0] for c in NORMALIZE])
def test_similar_failures_normalize_to_one_message(first, second):
    assert summary.normalize(*first) == summary.normalize(*second)
    assert "#" in summary.normalize(*first) or "Error" in summary.normalize(*first)


def test_common_failures_count_submissions_not_cases():
    def row(name, messages):
        cases = [{"id": f"k/{i}", "function": "m.f", "visibility": "public", "passed": False,
                  "status": "failed", "message": f"k/{i}: {m}"} for i, m in enumerate(messages)]
        return {"submission": name, "status": "graded", "questions": [
            {"id": "q", "functions": [{"name": "m.f", "status": "failed", "cases": cases}]}]}

    rows = [row("a", ["off by 1", "off by 2"]), row("b", ["off by 7"]), row("c", ["NaN"])]
    assert summary.common_failures(rows)["m.f"] == [
        {"message": "off by #", "submissions": 2}, {"message": "NaN", "submissions": 1}]


# ----------------------------------------------------------------------------- progress
@pytest.mark.parametrize("quiet,expected", [(False, 2), (True, 0)], ids=["log-lines", "quiet"])
def test_progress_without_a_terminal_prints_plain_lines(quiet, expected):
    stream = io.StringIO()
    progress = batch.Progress(2, quiet, stream=stream)
    for name in ("a", "b"):
        progress.update({"submission": name, "status": "graded", "score": 1, "max_score": 2})
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == expected
    if lines:
        assert lines[-1].startswith("[2/2] b: graded 1/2 (") and "eta" in lines[-1]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_is_a_bar_with_count_rate_and_eta():
    stream = Terminal()
    progress = batch.Progress(3, False, stream=stream)
    for name in ("a", "b", "c"):
        progress.update({"submission": name, "status": "graded", "score": 1, "max_score": 2})
    progress.close()
    last = stream.getvalue().split("\r")[-1]
    assert "3/3" in last and "sub/s" in last and "<00:00" in last


# ----------------------------------------------------------------------------- pool failures
class BreakingPool:
    """A stand-in process pool that breaks, for everything after it, at `culprit`."""

    def __init__(self, culprit: str):
        self.culprit, self.broken = culprit, False

    def shutdown(self, wait=True, cancel_futures=False):
        pass

    def submit(self, fn, payload, name, path):
        future = Future()
        self.broken = self.broken or name == self.culprit
        if self.broken:
            future.set_exception(BrokenProcessPool("a harness process died"))
        else:
            future.set_result({"submission": name, "status": "graded"})
        return future


def test_only_the_submission_that_kills_its_harness_process_fails(tiny, monkeypatch):
    monkeypatch.setattr(batch, "_new_pool", lambda *args: BreakingPool("b"))
    tasks = [batch.Task(n, Path(n)) for n in ("a", "b", "c", "d")]
    results = list(batch.run_local(tiny, tasks, grading.GradeOptions(), workers=2))
    assert sorted((r["submission"], r["status"]) for r in results) == [
        ("a", "graded"), ("b", "grader-error"), ("c", "graded"), ("d", "graded")]
    assert "died" in next(r for r in results if r["submission"] == "b")["message"]


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox uids exist only for root")
def test_sweep_kills_processes_of_unheld_sandbox_uids():
    uid = sandbox.UID_POOL.stop - 7  # far from the uids that live sandboxes lease first
    proc = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                             "sleep", "300"], start_new_session=True)
    try:
        while not sandbox.uid_pids(uid) and proc.poll() is None:
            time.sleep(0.01)  # until setpriv has become the uid
        batch.sweep_orphans()  # another xdist process's batch may sweep it first: either way
        proc.wait(timeout=30)  # the sweep may reap it itself, so its exit status is lost
        assert sandbox.uid_pids(uid) == []
    finally:
        proc.kill()
        proc.wait()


# ----------------------------------------------------------------------------- --only
def test_only_regrades_the_named_and_leaves_the_others(tiny, tmp_path):
    paths = make_class(tmp_path / "subs")
    out = tmp_path / "out"
    run_batch(tiny, paths, out, workers=2)
    before = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/grade.json")}
    reference = (TINY / "solutions" / "tinymath" / "ops.py").read_text()
    (tmp_path / "subs" / "bob" / "tinymath" / "ops.py").write_text(reference)
    rows = run_batch(tiny, paths, out, workers=2, only=("bob",))
    after = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/grade.json")}
    assert {n for n in before if before[n] != after[n]} == {"bob"}
    assert {r["submission"]: r["score"] for r in rows}["bob"] == 6
    assert "bob,graded,6,6,4,2" in (out / "gradebook.csv").read_text()


REFUSED = [("unknown-submission", ["--only", "zed"], "--only: not in this batch: zed"),
           ("unknown-question", ["--question", "cubes"], "no question cubes")]


@pytest.mark.parametrize("args,message", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_unknown_names_are_refused_before_grading(tmp_path, capsys, args, message):
    paths = make_class(tmp_path / "subs")
    code = cli_main(["grade", *map(str, paths), "-o", str(tmp_path / "out"), "--assignment",
                     str(TINY), "--quiet", *args])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_question_selects_what_is_graded(tiny, tmp_path):
    paths = make_class(tmp_path / "subs")[:2]
    options = grading.GradeOptions(questions=("squares",))
    run_batch(tiny, paths, tmp_path / "out", workers=2, grade=options)
    assert (tmp_path / "out" / "gradebook.csv").read_text().splitlines()[1:] == [
        "alice,graded,4,4,4,", "bob,graded,1,4,1,"]
    data = json.loads((tmp_path / "out" / "summary" / "summary.json").read_text())
    assert [q["id"] for q in data["questions"]] == ["squares"]


# ----------------------------------------------------------------------------- --resume
def _cli(paths, out, *extra) -> list[str]:
    return [sys.executable, "-m", "autograder.cli", "grade", *map(str, paths), "-o", str(out),
            "--assignment", str(TINY), "--workers", "2", *extra]


def _kill_after_first_grade(cmd, out: Path) -> None:
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("*/grade.json")):
            assert proc.poll() is None, "the batch ended before any result"
            assert time.monotonic() < deadline, "no result within 60 s"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_resume_after_sigkill_grades_nobody_twice_and_loses_nothing(tiny, tmp_path):
    paths = make_class(tmp_path / "subs", slow=3)
    assert discover([tmp_path / "subs"], tiny.package) == sorted(paths)
    run_batch(tiny, paths, tmp_path / "whole", workers=2)
    out = tmp_path / "killed"
    _kill_after_first_grade(_cli([tmp_path / "subs"], out), out)
    done = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/grade.json")}
    assert 0 < len(done) < 8, "the kill should land part-way"
    pids = {p: p.name[len(batch.BATCH_FOLDER):].split("-")[0]
            for p in Path(tempfile.gettempdir()).glob(f"{batch.BATCH_FOLDER}*-*")}
    left = [p for p, pid in pids.items() if pid.isdigit() and not batch._alive(int(pid))]
    resumed = subprocess.run(_cli([tmp_path / "subs"], out, "--resume"), capture_output=True,
                             text=True, cwd=ROOT, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {len(done)} already graded, {8 - len(done)} to grade" in resumed.stderr
    assert {n: (out / n / "grade.json").stat().st_mtime_ns for n in done} == done
    assert (out / "gradebook.csv").read_text() == (tmp_path / "whole" / "gradebook.csv"
                                                   ).read_text()
    assert json.loads((out / "summary" / "summary.json").read_text()) == \
        json.loads((tmp_path / "whole" / "summary" / "summary.json").read_text())
    assert marker_processes() == []
    assert not list(out.rglob(".grade.json.*")), "no half-written results"
    assert not any(p.exists() for p in left), "the resumed batch removed the killed one's folder"


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_the_folders_of_dead_batches(tmp_path):
    dead, live = dead_pid(), os.getpid()
    (tmp_path / f"{batch.BATCH_FOLDER}{dead}-abc").mkdir()
    (tmp_path / f"{batch.BATCH_FOLDER}{dead}-abc" / "payload.pickle").write_bytes(b"x")
    (tmp_path / f"{batch.BATCH_FOLDER}{live}-def").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / f"{batch.BATCH_FOLDER}{dead}-link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / f"other-{dead}-abc").mkdir()
    (tmp_path / f"{batch.SUBMISSION_FOLDER}{dead}-x").mkdir()
    (tmp_path / f"{batch.WORKER_FOLDER}{dead}-y" / "submission").mkdir(parents=True)
    (tmp_path / f"{batch.WORKER_FOLDER}{live}-z").mkdir()
    (tmp_path / f"{batch.WORKER_FOLDER}old").mkdir()
    (tmp_path / f"{sandbox.SANDBOX_FOLDER}{dead}-s" / "stage").mkdir(parents=True)
    (tmp_path / f"{cluster.BUNDLE_FOLDER}{dead}-b").mkdir()
    assert sorted(p.name for p in batch.sweep_batch_folders(tmp_path)) == sorted([
        f"{batch.BATCH_FOLDER}{dead}-abc", f"{batch.SUBMISSION_FOLDER}{dead}-x",
        f"{batch.WORKER_FOLDER}{dead}-y", f"{sandbox.SANDBOX_FOLDER}{dead}-s",
        f"{cluster.BUNDLE_FOLDER}{dead}-b"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        f"{batch.BATCH_FOLDER}{live}-def", "elsewhere", f"{batch.BATCH_FOLDER}{dead}-link",
        f"other-{dead}-abc", f"{batch.WORKER_FOLDER}{live}-z", f"{batch.WORKER_FOLDER}old"])


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_a_number_of_workers_below_one_is_refused(tmp_path, capsys, workers):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["grade", str(tmp_path), "-o", str(tmp_path / "out"), f"--workers={workers}"])
    assert exit_info.value.code == 2
    assert "not a number of workers (1 or more)" in capsys.readouterr().err


def grade_cli(paths, out, *extra) -> int:
    return cli_main(["grade", *map(str, paths), "-o", str(out), "--assignment", str(TINY),
                     "--quiet", "--no-summary", *extra])


def test_an_output_folder_among_the_submissions_is_not_graded(tmp_path):
    subs = tmp_path / "subs"
    make_class(subs)
    assert grade_cli([subs], subs / "graded") == 0
    first = (subs / "graded" / "gradebook.csv").read_text()
    assert grade_cli([subs], subs / "graded", "--resume") == 0
    assert grade_cli([subs], subs / "graded") == 0
    assert (subs / "graded" / "gradebook.csv").read_text() == first
    assert "\ngraded," not in first and first.count("\n") == 6  # header and 5 submissions


def test_an_output_folder_that_is_the_submissions_folder_is_refused(tmp_path, capsys):
    make_class(tmp_path / "subs")
    assert grade_cli([tmp_path / "subs"], tmp_path / "subs") == 2
    assert "every submission found is in the output folder" in capsys.readouterr().err
    assert not (tmp_path / "subs" / "gradebook.csv").exists()


class VanishingEntry:
    """A directory entry whose folder its live owner removed after `os.scandir` saw it."""
    name, path = f"{batch.SUBMISSION_FOLDER}1-gone", "/nonexistent"

    def is_dir(self, follow_symlinks=True):
        return True

    def stat(self, follow_symlinks=True):
        raise FileNotFoundError(self.path)


def test_sweep_passes_over_a_folder_that_vanishes_meanwhile():
    assert not batch._left_over(VanishingEntry(), {os.geteuid()})


def test_submissions_shipped_as_zip_grade_like_folders(tiny, tmp_path):
    folder = make_class(tmp_path / "subs")[1]
    archive = tmp_path / "zips" / "bob.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder.parent).as_posix())
    rows = run_batch(tiny, [folder, archive], tmp_path / "out", workers=2)
    assert [(r["submission"], r["score"]) for r in rows] == [("bob", 1), ("bob-2", 1)]


# ----------------------------------------------------------------------------- names
UNIQUE = [
    # (id, submission paths in order, their names)
    ("folder-folder2-zip", ["x", "x-2", "x.zip"], ["x", "x-2", "x-3"]),
    ("zip-first", ["x.zip", "x", "x-2"], ["x", "x-3", "x-2"]),
    ("case-only", ["Alice", "alice", "ALICE.zip"], ["Alice", "alice-2", "ALICE-3"]),
    ("dropped-characters", ["a b", "a_b", "a?b"], None),
    ("reserved", ["gradebook.csv", "summary", "Summary.zip", "SUMMARY-2"],
     ["gradebook.csv-2", "summary-3", "Summary-4", "SUMMARY-2"]),
    ("formula-and-option-signs", ["-rf", "=SUM(A1)", "+1", "@x", "--only"], None),
]


@pytest.mark.parametrize("paths, expected", [pytest.param(*c[1:], id=c[0]) for c in UNIQUE])
def test_every_submission_gets_its_own_name(paths, expected):
    names = [n for n, _ in batch.unique_names([Path("subs", p) for p in paths])]
    assert len({n.casefold() for n in names}) == len(paths), names
    assert not {n.casefold() for n in names} & {n.casefold() for n in batch.RESERVED}
    assert all(n[0].isalnum() or n[0] == "_" for n in names), names
    if expected:
        assert names == expected


def colliding_class(root: Path) -> dict[str, int]:
    """Submissions whose names collide or look like the grader's files; path -> score."""
    reference = (TINY / "solutions" / "tinymath" / "ops.py").read_text()
    made = {}
    for name, ops, score in [("x", reference, 6), ("x-2", WRONG_OPS, 1), ("X", WRONG_OPS, 1),
                             ("gradebook.csv", reference, 6), ("summary", WRONG_OPS, 1),
                             ("-rf", reference, 6), ("=1+1", WRONG_OPS, 1), ("@x", reference, 6)]:
        made[str(_package(root / name, ops))] = score
    archive = root / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tinymath/__init__.py", "")
        zf.writestr("tinymath/ops.py", WRONG_OPS)
    made[str(archive)] = 1
    return made


def test_colliding_and_reserved_names_lose_no_grade(tiny, tmp_path):
    made = colliding_class(tmp_path / "subs")
    paths = discover([tmp_path / "subs"], tiny.package)
    assert sorted(map(str, paths)) == sorted(made)
    out = tmp_path / "out"
    rows = run_batch(tiny, paths, out, workers=2)
    names = dict(batch.unique_names(paths))
    assert len(rows) == len(made) == len(names)
    assert {str(names[r["submission"]]): r["score"] for r in rows} == made
    assert (out / "gradebook.csv").is_file() and (out / "summary" / "summary.json").is_file()
    book = (out / "gradebook.csv").read_text().splitlines()
    assert len(book) == len(made) + 1
    for name in names:
        assert batch.read_done(out / name)["submission"] == name
    again = subprocess.run(_cli([tmp_path / "subs"], out, "--resume"), capture_output=True,
                           text=True, cwd=ROOT, timeout=120)
    assert f"resuming: {len(made)} already graded, 0 to grade" in again.stderr
    only = next(n for n, p in names.items() if p.name == "summary")
    assert grade_cli([tmp_path / "subs"], out, "--only", only) == 0
    assert (out / "gradebook.csv").read_text().splitlines() == book


def test_resume_never_hands_a_grade_to_another_submission_that_took_its_name(tiny, tmp_path):
    subs = tmp_path / "subs"
    reference = (TINY / "solutions" / "tinymath" / "ops.py").read_text()
    folder = _package(subs / "x", reference)
    archive = subs / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tinymath/__init__.py", "")
        zf.writestr("tinymath/ops.py", WRONG_OPS)
    out = tmp_path / "out"
    first = run_batch(tiny, [folder, archive], out, workers=1)
    assert [(r["submission"], r["score"]) for r in first] == [("x", 6), ("x-2", 1)]
    late = _package(subs / "x-2", "")  # a late submission that wants the name x-2 itself
    rows = run_batch(tiny, discover([subs], tiny.package), out, workers=1, resume=True)
    assert sorted((r["submission"], r["status"], r["score"]) for r in rows) == [
        ("x", "graded", 6), ("x-2", "graded", 0), ("x-3", "graded", 1)]
    assert batch.read_done(out / "x-2", late) is not None
    assert batch.read_done(out / "x-2", archive) is None
