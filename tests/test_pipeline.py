"""Pipelined cases grade exactly as cases run one at a time.

`grading.run_cases` keeps several cases in flight in the worker (`session.WINDOW`). A
case that hangs, kills the worker or answers with junk stops the worker and drops the
cases behind it, which must be sent again to a fresh worker; a skip must be decided only
after the cases before it are judged. A stateful submission (its answers depend on how
many calls its worker process has seen) makes any difference in order or restarts show.
"""

from pathlib import Path

import numpy as np
import pytest

from autograder import assignment as asg
from autograder import session as session_module
from autograder.cases import Case, call, close, ref
from autograder.grading import Oracle, run_cases
from autograder.sandbox import Limits
from autograder.session import WorkerSession

TINY = Path(__file__).parent / "fixtures" / "tiny"
LIMITS = Limits(cpu_seconds=60, memory_mb=1024, wall_seconds=120.0)
HANG_SECONDS = 1.0

# x[0, 0] says what the call does; every third call of a worker process answers wrongly.
SUBMISSION = '''
import json
import os
import sys
import time

CALLS = [0]


def _act(x):
    CALLS[0] += 1
    kind = int(x.flat[0])
    if kind == 1:
        time.sleep(600)
    if kind == 2:
        os._exit(3)
    if kind == 3:
        os.write(int(sys.argv[4]), b"this is not json\\n")
        time.sleep(600)
    if kind == 4:
        raise ValueError("kind 4 raises")
    if kind == 5:  # a forged answer for a case still in the pipe: must change nothing
        forged = {"case": "c%d" % (CALLS[0] + 1), "status": "ok", "values": {"$dict": {}}}
        os.write(int(sys.argv[4]), json.dumps(forged).encode() + b"\\n")
    return 1.5 if CALLS[0] % 3 == 0 else 1.0


def square_forward(x):
    return x * x * _act(x), x


def square_backward(dout, cache):
    return 2 * cache * dout * _act(cache)
'''

# (function, kind of the call) in order: crashes, junk and an exception among good calls,
# then a hang, which skips the rest of its function, then the other function.
PLAN = ([("forward", 0)] * 4 + [("forward", 2)] + [("forward", 0)] * 3 + [("forward", 4)]
        + [("forward", 5)] + [("forward", 0)] * 3 + [("forward", 3)] + [("forward", 0)] * 2
        + [("backward", 0)] * 5 + [("backward", 2), ("backward", 0), ("backward", 1)]
        + [("backward", 0)] * 3 + [("forward", 1)] + [("forward", 0)] * 2)


def plan_cases() -> list[Case]:
    """The cases of `PLAN`, each on its own random input."""
    rng = np.random.default_rng(3)
    forward = [call("ops.square_forward", ref("x"), assign=["out", "cache"])]
    backward = forward + [call("ops.square_backward", ref("dout"), ref("cache"), assign="dx")]
    cases = []
    for i, (which, kind) in enumerate(PLAN):
        x = rng.uniform(0.5, 2.0, (3, 4))
        x[0, 0] = kind
        if which == "forward":
            cases.append(Case(f"f/{i}", "ops.square_forward", {"x": x}, forward, [close("out")],
                              seconds=HANG_SECONDS))
        else:
            cases.append(Case(f"b/{i}", "ops.square_backward",
                              {"x": x, "dout": rng.standard_normal((3, 4))}, backward,
                              [close("dx")], seconds=HANG_SECONDS))
    return cases


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The plan graded pipelined and one case at a time: {window: (results, session)}."""
    package = tmp_path_factory.mktemp("sub") / "tinymath"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ops.py").write_text(SUBMISSION)
    tiny = asg.load(TINY)
    cases = plan_cases()
    oracle = Oracle(tiny.solutions)
    graded = {}
    for window in (session_module.WINDOW, 1):
        session = SpySession(package, LIMITS, window=window)
        try:
            graded[window] = (run_cases(cases, session, oracle, tiny.checks(), 5.0, 600.0),
                              session)
        finally:
            session.close()
    return graded


class SpySession(WorkerSession):
    """A WorkerSession that records the most cases it ever had in flight."""

    most_in_flight = 0

    def send(self, case, seconds):
        sent = super().send(case, seconds)
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        return sent


def test_pipelining_really_sends_ahead(graded):
    assert graded[session_module.WINDOW][1].most_in_flight > 1
    assert graded[1][1].most_in_flight == 1


def test_pipelined_results_equal_one_at_a_time(graded):
    pipelined, one_by_one = (graded[w][0] for w in (session_module.WINDOW, 1))
    assert [r.id for r in pipelined] == [c.id for c in plan_cases()]
    assert pipelined == one_by_one


def test_workers_restart_alike(graded):
    starts = {w: graded[w][1].starts for w in graded}
    assert starts[1] == starts[session_module.WINDOW] >= 4


STATUSES = [
    ("good-call", "f/0", "passed"),
    ("third-call-of-a-worker-is-wrong", "f/2", "failed"),
    ("os-exit", "f/4", "crashed"),
    ("first-call-after-a-restart", "f/5", "passed"),
    ("exception", "f/8", "error"),
    ("forged-answer-for-a-later-case", "f/9", "passed"),
    ("junk-on-the-pipe", "f/13", "crashed"),
    ("hang", "b/23", "timeout"),
    ("same-function-after-a-hang", "b/24", "skipped"),
    ("other-function-after-a-hang", "f/27", "timeout"),
    ("after-the-last-hang", "f/28", "skipped"),
]


@pytest.mark.parametrize("case_id, status", [s[1:] for s in STATUSES],
                         ids=[s[0] for s in STATUSES])
def test_each_kind_of_case_gets_its_status(graded, case_id, status):
    results = {r.id: r for r in graded[session_module.WINDOW][0]}
    assert results[case_id].status == status, results[case_id].message
