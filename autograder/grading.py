"""Grading one submission: run every case in the worker, judge it in the harness.

Scores: each graded function holds a share of its question's points; it earns that share
times the fraction of its cases that pass. Public and hidden cases are reported apart, so
that Gradescope can hide the hidden ones until after the due date.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from autograder import compare, diagnosis
from autograder.assignment import Assignment
from autograder.cases import Case
from autograder.sandbox import Limits
from autograder.session import WINDOW, Outcome, ReferenceSession, WorkerSession


@dataclass
class CaseResult:
    id: str
    function: str
    visibility: str
    passed: bool
    status: str
    message: str = ""
    fraction: float = 0.0
    note: str = ""


@dataclass
class FunctionResult:
    name: str
    question: str
    points: float
    score: float = 0.0
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        if not self.cases:
            return "not graded"
        if all(c.passed for c in self.cases):
            return "passed"
        statuses = {c.status for c in self.cases if not c.passed}
        return "not-implemented" if statuses == {"not-implemented"} else "failed"


@dataclass
class QuestionResult:
    id: str
    title: str
    points: float
    score: float
    functions: list[FunctionResult]
    extra_credit: bool = False


@dataclass
class SubmissionResult:
    """Everything known about one graded submission."""

    submission: str
    status: str
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0
    questions: list[QuestionResult] = field(default_factory=list)
    isolation: list[str] = field(default_factory=list)
    seconds: float = 0.0
    worker_starts: int = 0

    def to_dict(self) -> dict:
        data = asdict(self)
        for q, qr in zip(data["questions"], self.questions, strict=True):
            for f, fr in zip(q["functions"], qr.functions, strict=True):
                f["status"] = fr.status
        return data


class Oracle:
    """Expected outcomes per case id, from the reference solution (computed once per case)."""

    def __init__(self, reference_dir: Path | None = None, store: dict | None = None):
        self.session = ReferenceSession(reference_dir) if reference_dir else None
        self.cache: dict[str, Outcome] = dict(store or {})

    def expected(self, case: Case) -> Outcome | None:
        if case.id in self.cache:
            return self.cache[case.id]
        if not case.needs_reference:
            return None
        if self.session is None:
            raise LookupError(f"no expected values for case {case.id!r}")
        outcome = self.session.run(case)
        if outcome.status != "ok":
            raise RuntimeError(f"the reference fails case {case.id!r}: {outcome.message}")
        self.cache[case.id] = outcome
        return outcome


# ----------------------------------------------------------------------------- judging
def _short(function: str) -> str:
    return function.rsplit(".", 1)[-1]


def culprit(case: Case, outcome: Outcome) -> str | None:
    """The graded function of the package that the step where `outcome` stopped called,
    when it is not the case's own function (a backward case stopped in its forward pass);
    None otherwise."""
    if outcome.step is None or not 0 <= outcome.step < len(case.steps):
        return None
    target = case.steps[outcome.step].call or ""
    head = target.split(".", 1)[0]
    if "." not in target or head in ("numpy", "probe") or target == case.function:
        return None
    variables = set(case.inputs) | {n for s in case.steps[:outcome.step]
                                    for n in _assigned(s)}
    return None if head in variables else target


def ref_name(value) -> str | None:
    return value["$ref"] if isinstance(value, dict) and set(value) == {"$ref"} else None


def _assigned(step) -> list[str]:
    if isinstance(step.assign, list):
        return list(step.assign)
    return [step.assign] if step.assign else []


def _first_blame(function: str, other: str) -> str:
    """The sentence naming `other` (run first by a case of `function`) as the one to fix."""
    return (f"`{_short(other)}`, which this case of `{_short(function)}` runs first, is "
            f"what to fix first (a wrong `{_short(other)}` also costs the cases of "
            f"`{_short(function)}` that run it)")


def outcome_message(case: Case, outcome: Outcome) -> str:
    """Plain words for a case that did not run to the end."""
    name = f"`{_short(case.function)}`"
    first = culprit(case, outcome)
    if first and outcome.status == "error" and not outcome.at.startswith("importing "):
        other = f"`{_short(first)}`"
        return (f"{name} cannot be checked: {other}, which this case calls first, raised an "
                f"exception; {other} is what to fix first (a wrong {other} also costs the "
                f"cases of {name} that run it):\n{outcome.message}")
    if outcome.status == "not-implemented":
        raised, _, hint = outcome.message.partition(": ")
        hint = f" ({hint})" if hint else ""
        if raised and raised.rsplit(".", 1)[0] != _short(case.function) \
                and raised != _short(case.function):
            return (f"{name} cannot be checked yet: `{raised}`, which this case calls first, "
                    f"is not implemented yet{hint}")
        return f"{name} is not implemented yet{hint}"
    if outcome.status == "error" and outcome.at.startswith("importing "):
        module = outcome.at.removeprefix("importing ")
        lookup = f"AttributeError: module '{module}' has no attribute "
        if outcome.message.startswith(lookup) and "\n" not in outcome.message:
            return (f"{name} is missing: `{module.replace('.', '/')}.py` has no "
                    f"{outcome.message.removeprefix(lookup)} (keep the starter code's names)")
        return import_message(module, outcome.message)
    if outcome.status == "error":
        return f"{name} raised an exception:\n{outcome.message}"
    if outcome.status == "timeout":
        return f"{name} ran past the time limit: {outcome.message}"
    if outcome.status == "skipped":
        return outcome.message
    return f"{name} could not be graded: {outcome.message}"


def import_message(module: str, traceback: str) -> str:
    """Plain words for a module of the submission that failed to import: the same for each
    of its functions' cases, so that reports can say it once."""
    text = f"importing `{module}` failed, so none of its functions can run:\n{traceback}"
    missing = re.search(r"ModuleNotFoundError: No module named '([\w.]+)'", traceback)
    package = module.split(".", 1)[0]
    if missing and missing[1].split(".", 1)[0] != package:
        text += (f"\n`{missing[1]}` is not installed where your code is graded: use NumPy, "
                 "PyTorch and Python's standard library only.")
    elif missing:
        text += (f"\n`{missing[1].replace('.', '/')}.py` is not in your submission: submit "
                 f"the whole `{package}/` folder.")
    return text


def _resolve(value, inputs: dict, got_values: dict):
    if isinstance(value, dict) and set(value) == {"$ref"}:
        return inputs[value["$ref"]]
    if isinstance(value, dict) and set(value) == {"$got"}:
        return got_values.get(value["$got"])
    return value


def judge_check(check, got_values, expected: Outcome | None, case: Case, checks_module):
    """None when the check passes, else a message."""
    reveal = case.visibility == "public"
    if check.value not in got_values:
        return f"produced no `{check.value}`"
    got = got_values[check.value]
    if check.kind in ("close", "exact", "context"):
        want = expected.values[check.value]
        try:
            if check.kind == "exact":
                return compare.exact(got, want, reveal)
            if check.kind == "context":
                return compare.close(got, want, check.rtol, check.atol, False, reveal)
            return compare.close(got, want, check.rtol, check.atol, check.dtype == "match",
                                 reveal)
        except Exception as exc:  # noqa: BLE001 - odd values fail the case, not the grader
            return f"could not be compared ({type(exc).__name__}); got {compare.describe(got)}"
    if check.kind == "gradient":
        p = check.params
        try:
            plus = [got_values[n] for n in p["plus"]]
            minus = [got_values[n] for n in p["minus"]]
        except KeyError:
            return "the forward pass did not run for the numeric gradient"
        return compare.gradient(got, plus, minus, np.asarray(case.inputs[p["dout"]]),
                                p["indices"], p["h"], check.rtol,
                                np.shape(case.inputs[p["wrt"]]))
    if check.kind == "property":
        fn = getattr(checks_module, check.fn)
        params = {k: _resolve(v, case.inputs, got_values) for k, v in check.params.items()}
        try:
            return fn(got, **params)
        except Exception as exc:  # noqa: BLE001 - a malformed value must not crash grading
            return (f"could not be checked ({type(exc).__name__}: {exc}); "
                    f"got {compare.describe(got)}")
    raise ValueError(f"unknown check kind {check.kind!r}")


def judge(case: Case, outcome: Outcome, expected: Outcome | None, checks_module,
          diagnoses_module=None) -> CaseResult:
    """Judge one case's outcome. The message names the case and what is wrong; where a
    step before the graded function's (a backward case's forward pass) is what failed,
    it names that function; where the case asks for a diagnosis, it says why."""
    def result(fraction, status, messages=(), notes=()):
        text = "; ".join(messages)
        if text:
            where = f"{case.id} ({case.description})" if case.description else case.id
            text = f"{where}: {text}"
        return CaseResult(case.id, case.function, case.visibility, fraction >= 1.0, status,
                          text, round(fraction, 6), "; ".join(notes))

    if outcome.status == "error" and ("destination is read-only" in outcome.message
                                      or "output array is read-only" in outcome.message):
        first = culprit(case, outcome)
        who = f"`{_short(first or case.function)}`"
        blame = f". {_first_blame(case.function, first)}" if first else ""
        return result(0.0, "failed", [
            f"{who} wrote into one of its input arrays (inputs are read-only here); compute "
            f"new arrays instead{blame}:\n" + outcome.message])
    if outcome.status != "ok":
        # A backward pass that raised on its forward's cache: is the forward wrong too?
        first = [] if culprit(case, outcome) else \
            _context_failures(case, outcome, expected, checks_module)
        return result(0.0, outcome.status, [*first, outcome_message(case, outcome)])
    if outcome.modified:
        return result(0.0, "failed", [_modified_message(case, outcome.modified)])
    notes, failures, graded = [], [], 0
    for check in case.checks:
        if check.kind == "record":
            notes.append(_record(check, outcome.values, checks_module))
            continue
        if is_context(check):
            continue
        graded += 1
        message = judge_check(check, outcome.values, expected, case, checks_module)
        if message:
            failures.append(f"{check.label or f'`{check.value}`'}: {message}"
                            + _blame_suffix(case, check))
            if not case.partial:
                break
    if not failures:
        return result(1.0, "passed", notes=notes)
    fraction = (graded - len(failures)) / graded if case.partial and graded else 0.0
    failures += _context_failures(case, outcome, expected, checks_module)
    found = diagnosis.run(case, outcome.values, expected.values if expected else None,
                          diagnoses_module)
    if found:
        failures[-1] += "\n" + found
    return result(fraction, "failed", failures, notes)


def _blame_suffix(case: Case, check) -> str:
    """For a graded check of a value another function made: who is to fix."""
    other = check.params.get("function") if isinstance(check.params, dict) else None
    if not other or other == case.function:
        return ""
    return f"; {_first_blame(case.function, other)}"


def is_context(check) -> bool:
    """A check that only explains a failure (never graded)."""
    return check.kind == "context" or (check.kind == "gradient" and isinstance(
        check.params, dict) and bool(check.params.get("context")))


def _context_failures(case: Case, outcome: Outcome, expected: Outcome | None,
                      checks_module) -> list[str]:
    """For a failing case: the context checks of other functions' values that fail too,
    each naming its function; and, where the graded function's values match central
    differences of that (wrong) function, that it looks right for it."""
    messages, right = [], set()
    for check in case.checks:
        if check.kind != "context" or expected is None or check.value not in outcome.values:
            continue
        message = judge_check(check, outcome.values, expected, case, checks_module)
        other = check.params["function"]
        if message:
            label = check.label or f"`{check.value}` of `{_short(other)}`"
            messages.append(f"{label}: {message}; {_first_blame(case.function, other)}"
                            + _consistent(case, outcome, other, checks_module))
        else:
            right.add(other)
    if not messages and right:
        names = ", ".join(f"`{_short(o)}`" for o in sorted(right))
        messages.append(f"the output of {names} was right in this case, so what to look at "
                        f"is `{_short(case.function)}`, or what {names} passes on to it "
                        "besides its output (the cache)")
    return messages


def _consistent(case: Case, outcome: Outcome, other: str, checks_module) -> str:
    """", and `f` matches ..." when the case's gradient-context checks for `other` pass."""
    checks = [c for c in case.checks if c.kind == "gradient" and is_context(c)
              and c.params.get("function") == other]
    if not checks or any(judge_check(c, outcome.values, None, case, checks_module)
                         for c in checks):
        return ""
    return (f"; your `{_short(case.function)}` matches central differences of your own "
            f"`{_short(other)}` here, so it looks right for the forward pass it was given")


def _modified_message(case: Case, modified: list[str]) -> str:
    """An input changed in place: by the case's function, or by a step before it."""
    names = ", ".join(f"`{m}`" for m in modified)
    takers = {s.call for s in case.steps if s.call
              and any(ref_name(a) in modified for a in [*s.args, *s.kwargs.values()])}
    others = sorted(t for t in takers if t != case.function and "." in t
                    and t.split(".", 1)[0] not in ("numpy", "probe"))
    if takers and case.function not in takers and len(others) == 1:
        return (f"`{_short(others[0])}` modified its input {names} in place; compute new "
                f"arrays instead ({_first_blame(case.function, others[0])})")
    return f"modified its input {names} in place; compute new arrays instead"


def _record(check, values, checks_module) -> str:
    try:
        return str(getattr(checks_module, check.fn)(values.get(check.value), **check.params))
    except Exception as exc:  # noqa: BLE001 - a note must never fail grading
        return f"{check.value}: not recorded ({type(exc).__name__})"


# ----------------------------------------------------------------------------- grading
@dataclass
class GradeOptions:
    """How to grade one submission.

    - isolation: the sandbox's mode ("auto": the strongest this machine allows).
    - questions: only these question ids (None: all).
    - visibility: which cases ("public", "hidden").
    - pipeline: keep several cases in flight, so that the harness judges while the worker
      runs (about 1.4 cores for one submission). A batch turns it off: there each of
      `--workers` takes about one core, its harness and worker taking turns.
    """

    isolation: str = "auto"
    questions: tuple[str, ...] | None = None
    visibility: tuple[str, ...] = ("public", "hidden")
    pipeline: bool = True


def limits_for(assignment: Assignment) -> Limits:
    lim = assignment.limits
    return Limits(cpu_seconds=int(lim["cpu_seconds"]), memory_mb=int(lim["memory_mb"]),
                  wall_seconds=float(lim["submission_seconds"]))


def select_cases(assignment: Assignment, cases: list[Case], options: GradeOptions):
    wanted = set(options.questions) if options.questions else None
    functions = assignment.functions()
    return [c for c in cases
            if c.visibility in options.visibility
            and (wanted is None or functions[c.function].question in wanted)]


def run_cases(cases: list[Case], session: WorkerSession, oracle: Oracle, checks_module,
              case_seconds: float, budget_seconds: float,
              diagnoses_module=None) -> list[CaseResult]:
    """Run and judge `cases` in order, within a time budget for them all.

    Pipelined: while the worker runs a case, the harness judges the one before and the
    next few wait in the worker's pipe. The outcomes are those of running the cases one
    at a time: the worker runs them in this order, a case that stops the worker (timeout,
    crash) drops those behind it, which are decided again (skipped or sent to a fresh
    worker), and a skip is only ever decided once every case before it is judged.
    """
    start = time.monotonic()
    hung: dict[str, str] = {}
    results: list[CaseResult] = []
    sent: deque[int] = deque()  # indices of the cases in flight, in order
    upcoming = 0
    while len(results) < len(cases):
        while upcoming < len(cases) and (not sent or session.room()):
            case = cases[upcoming]
            skip = _skip_reason(case, hung, time.monotonic() - start, budget_seconds)
            if skip and sent:
                break
            if skip:
                results.append(judge(case, Outcome("skipped", skip), None, checks_module))
            elif session.send(case, case.seconds or case_seconds):
                sent.append(upcoming)
            else:
                break
            upcoming += 1
        if not sent:
            continue
        case = cases[sent.popleft()]
        outcome = session.receive()
        if session.in_flight < len(sent):  # the worker was stopped: send those again
            upcoming = sent[0]
            sent.clear()
        _note_hang(case, outcome, hung)
        explain = outcome.status == "error" and any(c.kind == "context" for c in case.checks)
        expected = oracle.expected(case) if outcome.status == "ok" or explain else None
        results.append(judge(case, outcome, expected, checks_module, diagnoses_module))
    return results


def _skip_reason(case: Case, hung: dict[str, str], elapsed: float, budget: float) -> str:
    """Why `case` is not run ("" when it is): its function or module hung, or time is up."""
    module = case.function.split(".", 1)[0]
    if case.function in hung or module in hung:
        return hung.get(case.function) or hung[module]
    if elapsed > budget:
        return "not run: the submission's total time limit was reached"
    return ""


def _note_hang(case: Case, outcome: Outcome, hung: dict[str, str]) -> None:
    """After a timeout, later cases of the function are skipped; after an import that
    timed out or crashed the worker, those of the whole module."""
    if outcome.status == "timeout":
        hung[case.function] = f"not run: an earlier case of `{_short(case.function)}` timed out"
    module = case.function.split(".", 1)[0]
    if outcome.status in ("timeout", "crashed") and "while importing" in outcome.message:
        what = "timed out" if outcome.status == "timeout" else "ended the process"
        hung[module] = f"not run: importing the module `{module}` {what}"


def assemble(assignment: Assignment, case_results: list[CaseResult],
             options: GradeOptions) -> list[QuestionResult]:
    """Scores per function and question from the case results."""
    by_function: dict[str, list[CaseResult]] = {}
    for r in case_results:
        by_function.setdefault(r.function, []).append(r)
    questions = []
    for q in assignment.questions:
        if options.questions and q.id not in options.questions:
            continue
        functions = []
        for f in q.functions:
            cases = by_function.get(f.name, [])
            earned = sum(c.fraction for c in cases)
            score = round(f.points * earned / len(cases), 4) if cases else 0.0
            functions.append(FunctionResult(f.name, q.id, f.points, score, cases))
        questions.append(QuestionResult(q.id, q.title, q.points,
                                        round(sum(f.score for f in functions), 4),
                                        functions, q.extra_credit))
    return questions


def grade_package(assignment: Assignment, package_dir: Path, oracle: Oracle, name: str,
                  options: GradeOptions | None = None, cases: list[Case] | None = None
                  ) -> SubmissionResult:
    """Grade the package folder of one (already safely copied) submission."""
    options = options or GradeOptions()
    begin = time.monotonic()
    cases = select_cases(assignment, cases if cases is not None else assignment.cases(), options)
    session = WorkerSession(package_dir, limits_for(assignment), options.isolation,
                            window=WINDOW if options.pipeline else 1)
    try:
        results = run_cases(cases, session, oracle, assignment.checks(),
                            float(assignment.limits["case_seconds"]),
                            float(assignment.limits["submission_seconds"]),
                            diagnosis.load(assignment.root, assignment.raw, assignment.name))
    finally:
        session.close()
    questions = assemble(assignment, results, options)
    return SubmissionResult(
        submission=name, status="graded",
        score=round(sum(q.score for q in questions), 4),
        max_score=sum(q.points for q in questions if not q.extra_credit),
        questions=questions, isolation=session.layers,
        seconds=round(time.monotonic() - begin, 3), worker_starts=session.starts,
    )
