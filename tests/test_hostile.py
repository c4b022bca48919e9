"""The harness's end of the worker protocol against a worker that lies.

`WorkerSession` (autograder/session.py) must treat everything that comes back from the
sandbox as hostile: reply lines on the response pipe, the `.out.npz` result files and the
worker's folder itself, which the sandboxed uid owns. Each test grades one case of the
tiny assignment (tests/fixtures/tiny) against a fake `tinymath` package whose
`square_forward` attacks the harness; a second, honest case (`counter/three`) shows that
the session goes on. An attack must end its own case with a clear status, change nothing
outside the sandbox and never raise or block in the harness.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from autograder import assignment as asg
from autograder.batch import grade_one
from autograder.grading import GradeOptions, Oracle
from autograder.sandbox import Limits
from autograder.session import MAX_RESULT_BYTES, WorkerSession

TINY = Path(__file__).parent / "fixtures" / "tiny"
CASE_SECONDS = 5.0
LIVENESS_SECONDS = 4 * CASE_SECONDS  # only bounds a harness that blocks forever
LIMITS = Limits(cpu_seconds=30, memory_mb=1024, wall_seconds=60.0)
UNREADABLE = ("protocol", "crashed")

# Helpers of the fake package: how the worker is started, and a way to answer for it.
PRELUDE = '''
import glob
import contextlib
import json
import os
import sys
import threading
import time
import zipfile

import numpy as np

IO = sys.argv[2]


def token():
    """The token of the case being run, from the worker's request in the callers' frames
    (small inputs travel inside the request: no input file names it)."""
    frame = sys._getframe(1)
    while frame is not None:
        request = frame.f_locals.get("request")
        if isinstance(request, dict) and "case" in request:
            return request["case"]
        frame = frame.f_back
    numbers = [int(os.path.basename(p)[1:].split(".")[0])
               for p in glob.glob(os.path.join(IO, "c*.in.npz"))]
    return f"c{min(numbers)}"


def say(line):
    text = line if isinstance(line, str) else json.dumps(line)
    os.write(int(sys.argv[4]), text.encode() + b"\\n")


def result_path():
    return os.path.join(IO, token() + ".out.npz")


def answer(values, status="ok"):
    """Forge the reply for the current case, then wait to be ended."""
    say({"case": token(), "status": status, "values": values})
    time.sleep(60)


class Counter:
    def __init__(self, start=0):
        self.total = start

    def tick(self):
        self.total += 1
        return self.total
'''


@pytest.fixture(scope="module")
def tiny():
    assignment = asg.load(TINY)
    return {case.id: case for case in assignment.cases()}


@pytest.fixture
def session_with(tmp_path):
    """A WorkerSession over a fake package whose square_forward runs `attack`."""
    sessions = []

    def make(attack: str, limits: Limits = LIMITS) -> WorkerSession:
        package = tmp_path / "tinymath"
        package.mkdir()
        (package / "__init__.py").write_text("")
        body = "def square_forward(x):\n" + textwrap.indent(textwrap.dedent(attack), "    ")
        (package / "ops.py").write_text(PRELUDE + "\n\n" + body + "\n")
        session = WorkerSession(package, limits)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


def run_guarded(session: WorkerSession, case, release=None):
    """session.run(case) in a thread; (outcome or exception, whether it blocked)."""
    box: dict = {}

    def target():
        try:
            box["outcome"] = session.run(case, CASE_SECONDS)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            box["outcome"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(LIVENESS_SECONDS)
    blocked = thread.is_alive()
    if blocked and release is not None:
        release()
        thread.join(LIVENESS_SECONDS)
    return box.get("outcome"), blocked


def status_of(outcome) -> str:
    """The outcome's status, or the exception the harness raised instead."""
    if isinstance(outcome, BaseException):
        return f"raised {type(outcome).__name__}: {outcome}"
    return outcome.status


def assert_goes_on(session: WorkerSession, tiny) -> None:
    """The next, honest case still runs to the end."""
    outcome = session.run(tiny["counter/three"], CASE_SECONDS)
    assert outcome.status == "ok", outcome.message
    assert outcome.values["total"] == 7


# ----------------------------------------------------------------------------- reply lines
def test_an_honest_case_and_the_next_one_run(session_with, tiny):
    session = session_with("return x * x, x\n")
    outcome = session.run(tiny["square/basic"], CASE_SECONDS)
    assert outcome.status == "ok"
    np.testing.assert_array_equal(outcome.values["out"], tiny["square/basic"].inputs["x"] ** 2)
    assert_goes_on(session, tiny)


@pytest.mark.parametrize("line", [
    pytest.param("this is not json", id="not-json"),
    pytest.param("[1, 2, 3]", id="json-not-an-object"),
    pytest.param("x" * (5 * 1024 * 1024), id="line-over-4MB"),
    pytest.param("[" * 200_000 + "]" * 200_000, id="nested-200000-deep"),
    pytest.param('{"case": "c1", "status": "ok", "values": ' + "[" * 5000 + "]" * 5000 + "}",
                 id="values-nested-5000-deep"),
])
def test_garbage_on_the_response_pipe_ends_only_its_case(session_with, tiny, line):
    session = session_with(f"say({line!r})\ntime.sleep(60)\n")
    outcome, blocked = run_guarded(session, tiny["square/basic"])
    assert not blocked
    assert status_of(outcome) in UNREADABLE
    if line == "this is not json":
        assert_goes_on(session, tiny)


def test_a_reply_for_a_case_not_asked_is_ignored(session_with, tiny):
    session = session_with("""
        say({"case": "c999", "status": "ok", "values": {"$dict": {"out": 1.0}}})
        say({"case": "c0", "status": "ok", "values": {"$dict": {"out": 1.0}}})
        raise ValueError("the real answer")
    """)
    outcome = session.run(tiny["square/basic"], CASE_SECONDS)
    assert outcome.status == "error" and "the real answer" in outcome.message
    assert_goes_on(session, tiny)


@pytest.mark.parametrize("reply", [
    pytest.param({"status": "passed", "values": {"$dict": {}}}, id="unknown-status"),
    pytest.param({"status": "ok", "values": {"$list": [1.0]}}, id="values-not-a-dict"),
    pytest.param({"status": "ok", "values": {"$dict": {"out": {"$arr": "a9"}}}},
                 id="missing-array"),
    pytest.param({"status": "ok", "values": {"$dict": {"out": {"$evil": 1}}}}, id="unknown-tag"),
])
def test_a_malformed_reply_is_a_protocol_failure(session_with, tiny, reply):
    session = session_with(f"""
        np.savez(result_path())
        answer(**{json.dumps(reply)})
    """)
    outcome, blocked = run_guarded(session, tiny["square/basic"])
    assert not blocked
    assert status_of(outcome) == "protocol"
    if reply["status"] != "ok":
        assert_goes_on(session, tiny)


def test_a_crash_reports_the_workers_own_exit_code(session_with, tiny):
    session = session_with("os._exit(7)\n")
    outcome = session.run(tiny["square/basic"], CASE_SECONDS)
    assert outcome.status == "crashed"
    assert "the process running your code ended abruptly with exit code 7" in outcome.message
    assert_goes_on(session, tiny)


# ----------------------------------------------------------------------------- result files
# An .npz whose one float64 array inflates to SIZE bytes of zeros from a few hundred kB.
BOMB = '''
tmp = result_path() + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
    info = zipfile.ZipInfo("a0.npy")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as member:
        np.lib.format.write_array_header_1_0(
            member, {"descr": "<f8", "fortran_order": False, "shape": (SIZE // 8,)})
        for _ in range(SIZE // (1 << 20)):
            member.write(bytes(1 << 20))
os.rename(tmp, result_path())
answer({"$dict": {"out": {"$arr": "a0"}}})
'''


@pytest.mark.parametrize("attack", [
    pytest.param('os.symlink("/etc/shadow", result_path())\n'
                 'answer({"$dict": {"out": {"$arr": "a0"}}})\n', id="symlink-to-etc-shadow"),
    pytest.param('np.savez(result_path(), a0=np.array([{"pickled": 1}], dtype=object))\n'
                 'answer({"$dict": {"out": {"$arr": "a0"}}})\n', id="object-array-pickle"),
    pytest.param('np.savez(result_path(), a0=np.array("0.5"), a1=np.zeros(2, "i4,f8"))\n'
                 'answer({"$dict": {"out": {"$arr": "a0"}, "cache": {"$arr": "a1"}}})\n',
                 id="string-and-structured-dtypes"),
    pytest.param(f"np.savez(result_path(), a0=np.zeros({MAX_RESULT_BYTES // 8 + 2**17}))\n"
                 'answer({"$dict": {"out": {"$arr": "a0"}}})\n', id="file-over-the-size-limit"),
    pytest.param(BOMB.replace("SIZE", str(3 * MAX_RESULT_BYTES)), id="deflate-bomb"),
    pytest.param('answer({"$dict": {"out": {"$raw": ["|O", [1], "AAAAAAAAAAA="]}}})\n',
                 id="inline-object-array"),
    pytest.param('answer({"$dict": {"out": {"$raw": ["<f8", [1000, 1000], "AAAAAAAAAAA="]}}})\n',
                 id="inline-array-shorter-than-its-shape"),
    pytest.param('os.mkdir(result_path())\nanswer({"$dict": {"out": {"$arr": "a0"}}})\n',
                 id="a-folder"),
])
def test_a_hostile_result_file_is_refused(session_with, tiny, attack):
    big = Limits(cpu_seconds=30, memory_mb=2048, file_size_mb=128, wall_seconds=60.0)
    session = session_with(attack, big)
    outcome, blocked = run_guarded(session, tiny["square/basic"])
    assert not blocked
    assert status_of(outcome) == "protocol"


def test_a_result_file_that_is_a_fifo_does_not_block_the_harness(session_with, tiny):
    session = session_with('os.mkfifo(result_path())\nanswer({"$dict": {"out": {"$arr": "a0"}}})\n')

    def release():
        """Open the FIFO's other end so that a blocked harness can go on."""
        path = next(Path(session.rw, "io").glob("*.out.npz"), None) if session.rw else None
        if path is not None:
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    outcome, blocked = run_guarded(session, tiny["square/basic"], release)
    assert not blocked, "the harness blocked opening a FIFO the worker made"
    assert status_of(outcome) == "protocol"


# ----------------------------------------------------------------------------- the folder
@pytest.fixture
def victim():
    """A file and a folder outside the sandbox that only root can write."""
    folder = Path(tempfile.mkdtemp(prefix="autograder-victim-"))
    (folder / "victim.txt").write_text("precious\n")
    (folder / "inbox").mkdir()
    yield folder
    shutil.rmtree(folder)


def test_links_planted_for_the_next_requests_are_not_followed(session_with, tiny, victim):
    session = session_with(f"""
        first = int(token()[1:]) + 1
        for number in range(first, first + 5):
            os.symlink({str(victim / "victim.txt")!r}, os.path.join(IO, f"c{{number}}.in.npz"))
        return x * x, x
    """)
    assert session.run(tiny["square/basic"], CASE_SECONDS).status == "ok"
    session.run(tiny["counter/three"], CASE_SECONDS)
    assert (victim / "victim.txt").read_text() == "precious\n"


def test_a_replaced_io_folder_does_not_redirect_the_harness(session_with, tiny, victim):
    session = session_with(f"""
        def swap():
            time.sleep(0.5)
            os.rename(IO, IO + ".old")
            os.symlink({str(victim / "inbox")!r}, IO)
        threading.Thread(target=swap).start()
        return x * x, x
    """)
    assert session.run(tiny["square/basic"], CASE_SECONDS).status == "ok"
    swapped = threading.Event()
    for _ in range(100):  # the worker swaps its folder half a second after answering
        if (Path(session.rw) / "io").is_symlink() or swapped.wait(0.05):
            break
    session.run(tiny["counter/three"], CASE_SECONDS)
    written = {p.name: stat.filemode(p.lstat().st_mode) for p in (victim / "inbox").iterdir()}
    assert written == {}


# ----------------------------------------------------------------------------- the machine
def test_a_private_temporary_folder_never_turns_into_silent_zeros(tmp_path, monkeypatch):
    """With TMPDIR in a 0700 folder (pytest's own, or /root/tmp) the grader either still
    grades the reference in full or says it failed; never "graded" with every case crashed."""
    assignment = asg.load(TINY)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    result = grade_one(assignment, assignment.solutions.parent, "reference",
                       Oracle(assignment.solutions), GradeOptions())
    messages = {c.message for q in result.questions for f in q.functions for c in f.cases}
    assert (result.status, result.score) == ("graded", assignment.max_score) \
        or result.status == "grader-error", sorted(messages)[:1]
