"""The sample submissions of samples/, generated and graded once: each gets an honest row.

`samples/make_samples.py` builds every sample into a temporary folder, aiming the hostile
ones at things this test watches: a TCP listener on 127.0.0.1, a victim file, marker paths
and a daemon's token. The samples are graded with `grade_batch` under short limits (a copy
of the assignment's toml), each on the questions its overlay names (hostile ones on two
quick questions), with the grader's temporary files redirected to a folder of their own.
Then each sample's row is checked against its overlay's `[expect]`, and the machine is
checked for anything left behind: processes, markers, files, connections.

Under pytest-xdist the grading runs once, in whichever process gets there first, behind a
file lock; the others read its summary.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from autograder import assignment as asg
from autograder import batch
from autograder.batch import BatchOptions, grade_batch
from autograder.cleanup import remove_tree
from autograder.grading import GradeOptions

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
ASSIGNMENT = ROOT / "assignments" / "training_dnn"
LIMITS = {"case_seconds": 3, "submission_seconds": 60, "cpu_seconds": 60, "memory_mb": 1024}
CLI_SAMPLES = ["gradient-gamer", "not-a-zip", "stubs", "zip-bomb", "zip-truncated"]
READERS = ["reader-others", "reader-solutions"]
SECRET_TEXT = ("BEGIN SOLUTION", "END SOLUTION")
FORGED_MARK = "FORGED-BY-SAMPLE"
MAX_RESULT_FILE = 256 * 1024
DAEMON_GRACE_SECONDS = 1.5
NUL = b"\0"


def _load_make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _load_make_samples()
NAMES = MAKE.overlay_names()
OVERLAYS = {name: MAKE.read_overlay(name) for name in NAMES}


def _with(key: str) -> list[str]:
    """The samples whose [expect] says something about `key`."""
    return [n for n in NAMES if key in OVERLAYS[n]["expect"]]


# ----------------------------------------------------------------------------- set-up
def fast_assignment(folder: Path) -> Path:
    """A copy of the assignment's toml with short limits, its paths pointing back."""
    text = (ASSIGNMENT / "assignment.toml").read_text()
    text = re.sub(r'^(solutions|starter|cases|checks) = "([^"]*)"',
                  lambda m: f'{m[1]} = "{(ASSIGNMENT / m[2]).resolve()}"', text, flags=re.M)
    for key, value in LIMITS.items():
        text, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
        if not count:
            text = text.replace("[limits]\n", f"[limits]\n{key} = {value}\n", 1)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment.toml").write_text(text)
    return folder


def quick_questions(assignment) -> tuple[str, ...]:
    """Questions without cases that set their own (long) time limit: no training tasks."""
    functions = assignment.functions()
    slow = {functions[c.function].question for c in assignment.cases() if c.seconds}
    return tuple(q.id for q in assignment.questions if q.id not in slow)


def sample_path(folder: Path, name: str) -> Path:
    return folder / MAKE.file_name(OVERLAYS[name])


def row_names(folder: Path, names: list[str]) -> dict[str, str]:
    """Sample -> the name of its row when `names` are graded together (a sample named
    like another, or like the grader's own files, gets a name of its own)."""
    paths = [sample_path(folder, n) for n in names]
    by_path = {path: row for row, path in batch.unique_names(paths)}
    return {n: by_path[p] for n, p in zip(names, paths, strict=True)}


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection a sample makes."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    self.connections.append(f"{peer}: {conn.recv(200)!r}")

    def close(self) -> list[str]:
        self.stopping.set()
        self.thread.join()
        self.sock.close()
        return self.connections


@contextlib.contextmanager
def grader_temp_dir():
    """A fresh folder for the grader's temporary files (here and in its pool processes).

    It sits in the system's temporary folder and is traversable (0711): the sandbox keeps
    its staging mounts there, which its unprivileged uid must reach (pytest's own
    folders are 0700).
    """
    saved_env, saved_module = os.environ.get("TMPDIR"), tempfile.tempdir
    folder = Path(tempfile.mkdtemp(prefix="autograder-test-samples-"))
    folder.chmod(0o711)
    os.environ["TMPDIR"], tempfile.tempdir = str(folder), str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved_module
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------- inspection
def leftover_processes(token: str, temp_root: Path) -> list[str]:
    """Live processes started by the samples: the daemon's token, or a HOME under temp_root."""
    home = f"HOME={os.path.realpath(temp_root)}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        shown = cmdline.replace(NUL, b" ")[:200]
        if token.encode() in cmdline or any(v.startswith(home) for v in environ.split(NUL)):
            found.append(f"pid {entry.name}: {shown!r}")
    return found


def read_gradebook(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def files_under(folder: Path) -> dict[str, int]:
    """Relative path -> size of every file under `folder`."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*")
            if p.is_file()}


def forged_files(folder: Path) -> list[str]:
    """Files under `folder` holding the forger's mark."""
    return [str(p.relative_to(folder)) for p in folder.rglob("*")
            if p.is_file() and FORGED_MARK in p.read_text(errors="replace")]


REPORTED = ["markup-message"]  # samples whose reports the tests read


def report_texts(folder: Path) -> dict[str, str]:
    """The reports a submission's folder holds, by file name."""
    return {p.name: p.read_text() for p in sorted(folder.glob("*")) if p.is_file()}


def run_cli(names: list[str], subs: Path, assignment_dir: Path, out: Path) -> dict:
    """`autograder grade` on some samples, as a TA would run it."""
    argv = [sys.executable, "-m", "autograder.cli", "grade",
            *(str(sample_path(subs, n)) for n in names), "-o", str(out),
            "--assignment", str(assignment_dir), "--workers", "2", "--quiet"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=600)
    rows = read_gradebook(out / "gradebook.csv") if (out / "gradebook.csv").exists() else []
    return {"returncode": done.returncode, "stderr": done.stderr[-2000:], "rows": rows}


# ----------------------------------------------------------------------------- grading
def grade_everything(shared: Path) -> dict:
    """Generate, grade and inspect; everything the tests need, as JSON-able data."""
    listener = Listener()
    token = f"autograder-sample-daemon-{uuid.uuid4().hex[:12]}"
    victim = shared / "victim.txt"
    victim.write_text("precious\n")
    targets = {"port": listener.port, "victim": str(victim), "marker": str(shared / "marker"),
               "token": token}
    subs = shared / "submissions"
    made = subprocess.run([sys.executable, str(SAMPLES / "make_samples.py"), "--out", str(subs),
                           "--targets", json.dumps(targets)], capture_output=True, text=True)
    assignment_dir = fast_assignment(shared / "assignment")
    assignment = asg.load(assignment_dir)
    quick = quick_questions(assignment)
    groups: dict[tuple, list[str]] = {}
    for name in NAMES:
        groups.setdefault(tuple(OVERLAYS[name].get("questions") or quick), []).append(name)
    summary = {"make": {"returncode": made.returncode, "output": made.stdout + made.stderr},
               "made": sorted(p.name for p in subs.iterdir()) if subs.exists() else [],
               "rows": {}, "gradebooks": [], "outputs": {}, "seconds": {}}
    with grader_temp_dir() as temp_root:
        for index, (questions, names) in enumerate(groups.items()):
            out = shared / f"out-{index}"
            start = time.monotonic()
            options = BatchOptions(workers=2, quiet=True, grade=GradeOptions(questions=questions))
            rows = grade_batch(assignment, [sample_path(subs, n) for n in names], out, options)
            summary["seconds"][", ".join(questions)] = round(time.monotonic() - start, 1)
            by_row = {r["submission"]: r for r in rows}
            rename = row_names(subs, names)
            summary["rows"].update({n: by_row[rename[n]] for n in names if rename[n] in by_row})
            summary["gradebooks"].append({
                "names": names, "row_names": rename,
                "rows": read_gradebook(out / "gradebook.csv"),
                "files": files_under(out), "forged": forged_files(out),
                "reports": {n: report_texts(out / rename[n]) for n in REPORTED if n in names},
                "summary_md": (out / "summary" / "summary.md").read_text()})
        summary["cli"] = run_cli(CLI_SAMPLES, subs, assignment_dir, shared / "out-cli")
        time.sleep(DAEMON_GRACE_SECONDS)  # a surviving daemon would write its markers by now
        summary.update(
            leftover_processes=leftover_processes(token, temp_root),
            markers=sorted(str(p) for p in shared.glob("marker*")),
            temp_left=sorted(p.name for p in temp_root.iterdir()),
            victim=victim.read_text(errors="replace")[:200],
            connections=listener.close(),
        )
    remove_tree(subs)  # deep-tree is deeper than pytest's own clean-up (shutil) can recurse
    return summary


def shared_dir(tmp_path_factory) -> Path:
    """A folder shared by all pytest-xdist processes of this run (or this process's)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "graded-samples"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    shared = shared_dir(tmp_path_factory)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = shared / "summary.json"
        if not result.exists():
            result.write_text(json.dumps(grade_everything(shared)))
    return json.loads(result.read_text())


def row(graded: dict, name: str) -> dict:
    assert name in graded["rows"], f"no result for {name}"
    return graded["rows"][name]


def functions(result: dict) -> list[dict]:
    return [f for q in result["questions"] for f in q["functions"]]


def cases(result: dict) -> list[dict]:
    return [c for f in functions(result) for c in f["cases"]]


def matches(function: str, items: list[str]) -> bool:
    """Whether `function` ("module.name") is one of `items` or in one of their modules."""
    return any(function == item or function.startswith(item + ".") for item in items)


# ----------------------------------------------------------------------------- the tests
def test_make_samples_generates_every_overlay(graded):
    assert graded["make"]["returncode"] == 0, graded["make"]["output"]
    expected = sorted(sample_path(Path(), n).name for n in NAMES)
    assert graded["made"] == expected


def test_make_samples_starts_from_an_empty_folder(tmp_path):
    (tmp_path / "stale.txt").write_text("left over from an older run\n")
    paths = MAKE.make_samples(tmp_path, names=["stubs", "not-a-zip"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-zip.zip", "stubs"]
    assert [p.name for p in paths] == ["stubs", "not-a-zip.zip"]


def solution_blocks() -> list[str]:
    """The solution code of every graded function, whitespace-normalized."""
    blocks = []
    for path in (ROOT / "solutions" / "nntrain").glob("*.py"):
        for body in re.findall(r"# BEGIN SOLUTION[^\n]*\n(.*?)# END SOLUTION", path.read_text(),
                               flags=re.S):
            block = "\n".join(line.strip() for line in body.splitlines() if line.strip())
            if len(block) >= 30:
                blocks.append(block)
    return blocks


def test_overlays_hold_no_solution_code():
    blocks = solution_blocks()
    assert blocks
    for path in (SAMPLES / "overlays").rglob("*"):
        if path.is_file():
            text = "\n".join(line.strip() for line in path.read_text().splitlines())
            assert "BEGIN SOLUTION" not in text, path
            assert not [b for b in blocks if b in text], path


def test_every_sample_gets_exactly_one_gradebook_row(graded):
    for book in graded["gradebooks"]:
        rows = sorted(r["submission"] for r in book["rows"])
        assert rows == sorted(book["row_names"][n] for n in book["names"])
        assert len(set(rows)) == len(book["names"])
    assert sorted(graded["rows"]) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_status_and_score_are_as_expected(graded, name):
    expect, result = OVERLAYS[name]["expect"], row(graded, name)
    assert result["status"] == expect["status"], result["message"]
    low, high = expect["score"]
    assert low <= result["score"] <= high


@pytest.mark.parametrize("name", sorted(set(_with("lost")) | set(_with("rest_full"))))
def test_only_the_expected_functions_lose(graded, name):
    expect, result = OVERLAYS[name]["expect"], row(graded, name)
    lost = expect.get("lost", [])
    for f in functions(result):
        if matches(f["name"], lost):
            assert f["score"] == 0, f"{f['name']} should lose its points"
        elif expect.get("rest_full"):
            failing = [c["message"][:300] for c in f["cases"] if not c["passed"]]
            assert f["score"] == pytest.approx(f["points"]), failing


@pytest.mark.parametrize("name", _with("below_full"))
def test_each_mistake_costs_points(graded, name):
    scores = {f["name"]: (f["score"], f["points"]) for f in functions(row(graded, name))}
    for function in OVERLAYS[name]["expect"]["below_full"]:
        score, points = scores[function]
        assert score < points, f"{function} lost nothing"


@pytest.mark.parametrize("name", _with("case_statuses"))
def test_expected_case_statuses_occur(graded, name):
    seen = {c["status"] for c in cases(row(graded, name))}
    assert set(OVERLAYS[name]["expect"]["case_statuses"]) <= seen


@pytest.mark.parametrize("name", READERS)
def test_solution_readers_read_nothing(graded, name):
    text = json.dumps(row(graded, name))
    assert not [s for s in SECRET_TEXT if s in text]
    assert "def step_decay" not in text
    assert row(graded, name)["score"] == 0


def test_forged_files_never_reach_the_output(graded):
    for book in graded["gradebooks"]:
        assert book["forged"] == []
        assert not [p for p in book["files"] if "forger-files/forger-files" in p]


def test_results_stay_small_whatever_a_sample_prints_or_returns(graded):
    big = {path: size for book in graded["gradebooks"] for path, size in book["files"].items()
           if size > MAX_RESULT_FILE}
    assert not big


def test_no_sample_process_outlives_grading(graded):
    assert graded["leftover_processes"] == []


def test_no_marker_file_appears_on_the_host(graded):
    assert graded["markers"] == []


def test_the_grader_leaves_no_temporary_files(graded):
    # torch keeps a per-user compile cache in the temp folder of any process importing it
    # (the harness imports the reference for expected values); that is torch's, not ours.
    assert [n for n in graded["temp_left"] if not n.startswith("torchinductor_")] == []


def test_no_connection_reaches_the_hosts_loopback(graded):
    assert graded["connections"] == []
    message = " ".join(c["message"] for c in cases(row(graded, "network")) if not c["passed"])
    assert "network probe" in message
    assert not re.search(r"CONNECTED|RESOLVED|SENT", message)


def test_the_harness_never_writes_through_a_planted_link(graded):
    assert graded["victim"] == "precious\n"


def test_hangs_end_as_timeouts_and_the_batch_finishes(graded):
    for name in ("hang-import", "hang-call", "fork-bomb"):
        assert "timeout" in {c["status"] for c in cases(row(graded, name))}
    assert all(r["status"] != "not-graded" for r in graded["rows"].values())


def test_the_cli_exits_0_with_one_row_each(graded):
    cli = graded["cli"]
    assert cli["returncode"] == 0, cli["stderr"]
    assert sorted(r["submission"] for r in cli["rows"]) == sorted(CLI_SAMPLES)
    statuses = {r["submission"]: r["status"] for r in cli["rows"]}
    assert statuses == {n: OVERLAYS[n]["expect"]["status"] for n in CLI_SAMPLES}


NAMED_LIKE = {"twin": "twin", "twin-2": "twin-2", "twin-zip": "twin-3", "summary": "summary-2",
              "gradebook.csv": "gradebook.csv-2"}


def test_samples_named_alike_or_like_the_graders_files_keep_their_own_rows(graded):
    book = next(b for b in graded["gradebooks"] if "twin" in b["names"])
    assert {n: book["row_names"][n] for n in NAMED_LIKE} == NAMED_LIKE
    assert re.fullmatch(r"1_1-[0-9a-f]{6}", book["row_names"]["=1+1"])
    scores = {r["submission"]: r["score"] for r in book["rows"]}
    assert [scores[NAMED_LIKE[n]] for n in ("twin", "twin-2", "twin-zip")] == ["15", "6", "9"]
    assert {"gradebook.csv", "summary/summary.md"} <= set(book["files"])
    assert not [c for r in book["rows"] for c in r.values() if c and c[0] in "=+-@\t\r"]


def test_a_hostile_exception_text_is_text_in_every_report(graded):
    from markdown_it import MarkdownIt

    book = next(b for b in graded["gradebooks"] if "markup-message" in b["reports"])
    reports = book["reports"]["markup-message"]
    md = MarkdownIt("commonmark")
    tokens = {t.type for t in md.parse(reports["feedback.md"])} | {
        c.type for t in md.parse(reports["feedback.md"]) for c in t.children or []}
    assert not tokens & {"link_open", "image", "html_inline", "html_block"}
    headings = [x for x in reports["feedback.md"].splitlines() if x.startswith("#")]
    assert all(h.startswith(("# Feedback for", "## ")) for h in headings), headings
    assert "onerror" in reports["feedback.md"] and "<img" not in reports["feedback.html"]
    for text in [*reports.values(), book["summary_md"]]:
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
