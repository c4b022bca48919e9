"""`autograder check`: the public cases on a student's working copy, in plain words.

Usable from a terminal (`autograder check -q activations`) or a notebook cell
(`from autograder import check; check("activations")`). Runs through the same sandboxed
harness as the real grading; expected values come from the public cases file shipped
with the assignment (or, in the instructors' repository, from the reference solution).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from autograder import assignment as asg
from autograder import public
from autograder.grading import GradeOptions, Oracle, SubmissionResult, grade_package
from autograder.report import GREEN, RED, YELLOW, paint, use_color
from autograder.results import error_detail, failure_groups, more_cases
from autograder.text import clean


@dataclass
class CheckSummary:
    result: SubmissionResult

    @property
    def all_passed(self) -> bool:
        return all(f.status == "passed" for q in self.result.questions for f in q.functions)


def _locate(path: Path, package: str) -> Path:
    for candidate in (path / package, path):
        if candidate.name == package and (candidate / "__init__.py").exists():
            return candidate
    raise SystemExit(f"autograder check: no {package}/ folder in {path.resolve()}")


def _find_assignment(path: Path, assignment) -> Path:
    if assignment:
        return Path(assignment)
    try:
        return asg.find(path)
    except LookupError as exc:
        raise SystemExit(f"autograder check: {exc}") from None


def load_public_cases(a: asg.Assignment):
    """(cases, oracle): from the shipped public file, else generated from the reference."""
    if (a.root / "public_cases.json").exists():
        cases, store = public.load(a.root)
        return cases, Oracle(store=store)
    cases = [c for c in a.cases() if c.visibility == "public"]
    return cases, Oracle(a.solutions)


def check(question=None, path=".", assignment=None, color=None, stream=None) -> CheckSummary:
    """Run the public cases of `question` (a name, a list, or None for all) and print."""
    stream = stream or sys.stdout
    path = Path(path)
    a = asg.load(_find_assignment(path, assignment))
    questions = (question,) if isinstance(question, str) else tuple(question or ()) or None
    known = [q.id for q in a.questions]
    unknown = [q for q in questions or () if q not in known]
    if unknown:
        raise SystemExit(f"autograder check: no question {', '.join(map(repr, unknown))}; "
                         f"the questions are: {', '.join(known)}")
    cases, oracle = load_public_cases(a)
    options = GradeOptions(questions=questions, visibility=("public",))
    result = grade_package(a, _locate(path, a.package), oracle, "check", options, cases=cases)
    print_summary(result, use_color(color, stream), stream)
    return CheckSummary(result)


def print_summary(result: SubmissionResult, color: bool, stream):
    """Per question: pass/fail and points; per failing function: its messages, an error
    shown once (the cases in a row with the same one are counted, a detail already shown
    is referred to)."""
    shown: set[str] = set()
    for q in result.questions:
        ok = all(f.status == "passed" for f in q.functions)
        mark = paint("PASS", GREEN, color) if ok else paint("FAIL", RED, color)
        print(f"{mark} {q.title}: {q.score:g} / {q.points:g} points (public cases)",
              file=stream)
        for f in q.functions:
            if f.status == "passed":
                continue
            tag = paint(f.status, YELLOW, color)
            print(f"  - {f.name}: {tag}", file=stream)
            for group in failure_groups(f.cases):
                print_failure(group, shown, stream)
                if f.status == "not-implemented":
                    break
    total = sum(q.score for q in result.questions)
    possible = sum(q.points for q in result.questions)
    print(f"Public cases: {total:g} / {possible:g} points. Hidden cases are graded after "
          "you submit.", file=stream)


def print_failure(group: list, shown: set[str], stream) -> None:
    """The first case of a group of failures with the same error, and how many more.
    The message is the submission's words in part: printed without control characters."""
    message = clean(group[0].message)
    first, *rest = message.splitlines() or [""]
    detail = error_detail(message)
    if detail in shown:
        print(f"    {first.removesuffix(':')} (the same error as above) {more_cases(group)}"
              .rstrip(), file=stream)
        return
    if detail:
        shown.add(detail)
    for i, line in enumerate([first, *rest][:12]):
        print(("      " if i else "    ") + line, file=stream)
    if len(group) > 1:
        print(f"      {more_cases(group)}", file=stream)
