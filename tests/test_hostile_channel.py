"""A worker that breaks the protocol's channel itself, not only what it says on it.

The submission's `square_forward` (see tests/test_hostile.py for the fake package and its
helpers) stops reading requests, floods its replies, closes or replaces its ends of the
pipes, writes half a line and stalls, or races folders, links and FIFOs into the exchange
folder. Each costs that submission the affected cases, with a status and a message that
say it was its own doing; the harness never raises, never blocks past the case's limit
(judged by a liveness bound several times that, never by a tight clock), and the next
case runs in a fresh worker.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import test_hostile as hostile
from test_hostile import CASE_SECONDS, LIVENESS_SECONDS, PRELUDE, TINY, assert_goes_on, status_of

from autograder import assignment as asg
from autograder.batch import grade_one
from autograder.grading import GradeOptions, Oracle

SHORT_SECONDS = 2.0
session_with = hostile.session_with  # the fixtures of tests/test_hostile.py
tiny = hostile.tiny


def write_package(folder: Path, attack: str) -> Path:
    """The fake `tinymath` of tests/test_hostile.py, whose square_forward runs `attack`."""
    package = folder / "tinymath"
    package.mkdir()
    (package / "__init__.py").write_text("")
    body = "def square_forward(x):\n" + textwrap.indent(textwrap.dedent(attack), "    ")
    (package / "ops.py").write_text(PRELUDE + "\n\n" + body + "\n")
    return package

# Forged answers for this case and the next ones, from a thread, while the function never
# returns: the worker reads no request again, so the request pipe fills up.
FORGE_AND_STOP_READING = """
first = int(token()[1:])
def forge():
    for number in range(first, first + 5000):
        say({"case": f"c{number}", "status": "ok", "values": {"$dict": {}}})
threading.Thread(target=forge, daemon=True).start()
time.sleep(600)
"""

FLOOD_PROGRESS = """
me = token()
def flood():
    line = json.dumps({"case": me, "at": "flooding"}).encode() + b"\\n"
    while True:
        os.write(int(sys.argv[4]), line * 200)
threading.Thread(target=flood, daemon=True).start()
time.sleep(600)
"""

FLOOD_BIG_LINES = """
def flood():
    line = json.dumps({"case": "c999999", "pad": "x" * 3_000_000}).encode() + b"\\n"
    while True:
        os.write(int(sys.argv[4]), line)
threading.Thread(target=flood, daemon=True).start()
time.sleep(600)
"""

CHANNEL_ATTACKS = [
    # (id, square_forward's body, statuses the case may end with, words of its message)
    ("closes-the-answer-pipe", "os.close(int(sys.argv[4]))\ntime.sleep(600)\n",
     {"crashed"}, "closed or replaced its end of the grader's answer channel"),
    ("dup2-stdout-over-the-answer-pipe", "os.dup2(1, int(sys.argv[4]))\nreturn x * x, x\n",
     {"crashed"}, "closed or replaced its end of the grader's answer channel"),
    ("answers-into-a-copy-of-the-pipe-then-stdout-over-it",
     "keep = os.dup(int(sys.argv[4]))\nos.dup2(1, int(sys.argv[4]))\nreturn x * x, x\n",
     {"timeout"}, "no answer within"),
    ("half-a-line-then-stalls",
     'os.write(int(sys.argv[4]), b\'{"case": "\' + token().encode() + b\'", "sta\')\n'
     "time.sleep(600)\n", {"timeout"}, "no answer within"),
    ("floods-progress-lines", FLOOD_PROGRESS, {"timeout"}, "no answer within"),
    ("floods-3MB-lines-for-other-cases", FLOOD_BIG_LINES, {"timeout", "crashed"}, ""),
    ("closes-the-request-pipe", "os.close(int(sys.argv[3]))\nreturn x * x, x\n",
     {"ok"}, ""),
    ("dev-null-over-the-request-pipe",
     "os.dup2(os.open('/dev/null', os.O_RDONLY), int(sys.argv[3]))\nreturn x * x, x\n",
     {"ok"}, ""),
]


def run_guarded(session, case, seconds=CASE_SECONDS):
    """session.run(case) in a thread; (outcome or exception, whether it blocked). The
    worker is started here first: bwrap's --die-with-parent ends it with the thread that
    spawned it."""
    if session.proc is None:
        session.start()
    box: dict = {}

    def target():
        try:
            box["outcome"] = session.run(case, seconds)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            box["outcome"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(LIVENESS_SECONDS)
    return box.get("outcome"), thread.is_alive()


@pytest.mark.parametrize("attack, statuses, words", [a[1:] for a in CHANNEL_ATTACKS],
                         ids=[a[0] for a in CHANNEL_ATTACKS])
def test_a_broken_channel_costs_only_its_cases(session_with, tiny, attack, statuses, words):
    session = session_with(attack)
    # An attack that can only end in a timeout waits out a shorter limit.
    seconds = SHORT_SECONDS if statuses == {"timeout"} else CASE_SECONDS
    outcome, blocked = run_guarded(session, tiny["square/basic"], seconds)
    assert not blocked
    assert status_of(outcome) in statuses, status_of(outcome)
    assert words in outcome.message
    # A worker whose request pipe is gone cannot take the next case: that one case is
    # lost at most, then a fresh worker goes on.
    follow, blocked = run_guarded(session, tiny["counter/three"])
    assert not blocked and status_of(follow) in ("ok", "crashed", "protocol")
    assert_goes_on(session, tiny)


def test_a_worker_that_stops_reading_requests_never_blocks_the_harness(session_with, tiny):
    session = session_with(FORGE_AND_STOP_READING)
    case = tiny["square/basic"]
    box: dict = {"statuses": []}
    session.start()

    def target():
        try:
            for _ in range(2000):  # ~300 bytes each: the 64 KiB pipe fills long before
                outcome = session.run(case, CASE_SECONDS)
                box["statuses"].append(outcome.status)
                if outcome.status != "ok":
                    box["last"] = outcome
                    return
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            box["last"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(LIVENESS_SECONDS * 2)
    assert not thread.is_alive(), "the harness blocked writing to a worker that stopped reading"
    assert status_of(box.get("last")) == "protocol"
    assert "stopped reading the grader's requests" in box["last"].message
    assert_goes_on(session, tiny)


# Big enough that the case's input travels in a file of the exchange folder.
def _file_case(cases):
    big = np.random.default_rng(0).standard_normal((40, 40))
    return dataclasses.replace(cases["square/basic"], inputs={"x": big})


RACE = """
kind = {kind!r}
first = int(token()[1:]) + 1
def plant():
    for number in range(first, first + 50):
        for suffix in ("in", "out"):
            path = os.path.join(IO, f"c{{number}}.{{suffix}}.npz")
            with contextlib.suppress(OSError):
                if kind == "folder":
                    os.mkdir(path)
                    open(os.path.join(path, "inside"), "w").close()
                elif kind == "fifo":
                    os.mkfifo(path)
                elif kind == "link":
                    os.symlink("/etc/passwd", path)
plant()
def again():
    while True:
        plant()
        time.sleep(0.001)
threading.Thread(target=again, daemon=True).start()
return x * x, x
"""


@pytest.mark.parametrize("kind", ["folder", "fifo", "link"])
def test_entries_raced_into_the_exchange_folder_fail_their_cases(session_with, tiny, kind):
    session = session_with(RACE.format(kind=kind))
    case = _file_case(tiny)
    first, blocked = run_guarded(session, case)
    assert not blocked and status_of(first) == "ok"
    second, blocked = run_guarded(session, case)
    assert not blocked
    if kind == "folder":  # what stands where the input must go: the case is its own fault
        assert status_of(second) == "protocol"
        assert "your code changed the grader's exchange folder" in second.message
    else:  # a link or FIFO is removed and the input written afresh; the worker may block
        assert status_of(second) in ("ok", "error", "protocol", "timeout")  # on its FIFO
    assert_goes_on(session, tiny)


def test_a_result_hard_linked_to_a_file_the_worker_did_not_write_is_refused(session_with,
                                                                            tiny):
    session = session_with("""
        os.link(os.path.join(IO, token() + ".in.npz"), result_path())
        answer({"$dict": {"out": {"$arr": "a0"}}})
    """)
    outcome, blocked = run_guarded(session, _file_case(tiny))
    assert not blocked and status_of(outcome) == "protocol"
    assert "link to a file the worker did not write" in outcome.message


def test_a_broken_channel_is_graded_not_a_grader_error(tmp_path):
    """Through `grade_one`, as a batch grades: a row with the submission's own fault."""
    assignment = asg.load(TINY)
    package = write_package(tmp_path, FORGE_AND_STOP_READING)
    result = grade_one(assignment, package, "forger", Oracle(assignment.solutions),
                       GradeOptions())
    assert result.status == "graded"
    square = [c for q in result.questions for f in q.functions for c in f.cases
              if c.function == "ops.square_forward"]
    assert square and not any(c.passed for c in square)


def test_a_worker_ended_by_the_submissions_memory_limit_says_so(session_with, tiny):
    """Forked helpers holding memory together: the cgroup's OOM killer ends the tree."""
    from autograder import cgroups
    from autograder.sandbox import Limits

    if os.geteuid() != 0 or not cgroups.support().version:
        pytest.skip("no cgroups here")
    session = session_with("""
        for _ in range(8):
            if os.fork() == 0:
                block = bytearray(b"x") * (150 << 20)
                time.sleep(60)
        block = bytearray(b"x") * (300 << 20)
        time.sleep(60)
    """, Limits(cpu_seconds=30, memory_mb=600, wall_seconds=60.0))
    outcome, blocked = run_guarded(session, tiny["square/basic"], seconds=20)
    assert not blocked and status_of(outcome) in ("crashed", "timeout")
    if outcome.status == "crashed":
        assert "reached the memory limit of 600 MB" in outcome.message
    assert_goes_on(session, tiny)
