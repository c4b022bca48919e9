"""Gradescope: an autograder in Otter-Grader's format, graded by this framework's harness.

`autograder.zip` has Otter's layout: `run_autograder` and `setup.sh` at its root,
`otter_config.json` beside them, and results written as Otter writes them. What grades is
this framework's sandboxed harness, not Otter's notebook runner::

    run_autograder      Gradescope's entry point (bash): locks down, grades, always results
    setup.sh            runs once at image build: Python 3.11 venv outside source/, bubblewrap
    otter_config.json   Otter's options (below) and this framework's own keys
    requirements.txt    what the grading environment installs (pip, with constraints.txt)
    constraints.txt     pins (torch 2.13.0, CPU build)
    autograder/         this framework
    assignment/         assignment.toml, cases.py (hidden cases), checks.py
    solutions/<pkg>/    the reference solution: the oracle, kept by the harness

At grading time, under the root (`AUTOGRADER_ROOT`, default `/autograder`): `source/`
(the zip unpacked), `submission/` (the student's files: a folder holding `<pkg>/`, or one
zip), `results/results.json`. `run_autograder` runs, as root, `python -m
autograder.gradescope` in the venv that `setup.sh` made; student code runs in the sandbox
as an unprivileged uid, which cannot read `source/` or `results/` (chmod 700).

`otter_config.json`, as Otter reads it (unknown keys are ignored, as Otter does):

- ``points_possible``: the total is scaled to it (`score` = earned / possible * it).
- ``show_hidden``: graded tests are `hidden` (default) or `after_published`.
- ``show_all_public``: when no case is hidden, graded tests are `visible`.
- ``force_public_test_summary``: the visible "Public Tests" summary (default true).
- ``show_stdout``: the grader's printout becomes visible `after_published`.
- ``score_threshold``: pass/fail: full points at or above this fraction, else 0.
- ``seed``: NumPy's global generator is seeded with it before every case (Otter seeds
  before every cell), in the worker and for the reference alike.

This framework's own keys: ``isolation`` ("auto", "bwrap", "user"; default "auto") and
``grading_seconds`` (default 540: Gradescope's 10 minutes less start-up; no case starts
after ``grading_seconds`` less the longest case's limit and 30 s, so a slow submission
still gets results for what ran; the harness is killed at ``grading_seconds + 50``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from textwrap import indent

from autograder import assignment as asg
from autograder.batch import grade_one
from autograder.cases import Case, call
from autograder.grading import FunctionResult, GradeOptions, Oracle, SubmissionResult
from autograder.results import atomic_write, bounded_results

TEMPLATES = Path(__file__).parent / "gradescope_files"
CONFIG_NAME = "otter_config.json"
DEFAULT_ROOT = "/autograder"
PASSED, FAILED = "✅ Test case passed", "❌ Test case failed"
START_MARGIN_SECONDS = 30.0


class GradingTimeout(Exception):
    """The grader ran past `grading_seconds`."""


class GraderError(RuntimeError):
    """The harness failed on this submission (not the submission's fault)."""


@dataclass
class OtterConfig:
    """The keys of `otter_config.json` that this autograder honours."""

    points_possible: float | None = None
    show_stdout: bool = False
    show_hidden: bool = False
    show_all_public: bool = False
    force_public_test_summary: bool = True
    score_threshold: float | None = None
    seed: int | None = None
    isolation: str = "auto"
    grading_seconds: float = 540.0

    @classmethod
    def from_dict(cls, data: dict) -> OtterConfig:
        """The known keys of `data`; others are ignored, as Otter ignores them."""
        if not isinstance(data, dict):
            raise ValueError(f"{CONFIG_NAME} must hold a JSON object")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> str:
        """The config as `otter_config.json` holds it."""
        return json.dumps({"lang": "python", **asdict(self)}, indent=2) + "\n"


def load_config(path: Path) -> OtterConfig:
    """`otter_config.json` at `path`, or the defaults when there is none."""
    if not path.exists():
        return OtterConfig()
    return OtterConfig.from_dict(json.loads(path.read_text()))


def stage_files(folder: Path, config: OtterConfig, requirements: list[str], constraints: str):
    """Otter's files at the zip's root: the two scripts, the config, what pip installs."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("run_autograder", "setup.sh"):
        (folder / name).write_bytes((TEMPLATES / name).read_bytes())
        os.chmod(folder / name, 0o755)
    (folder / CONFIG_NAME).write_text(config.to_json())
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (folder / "constraints.txt").write_text(constraints)


# ----------------------------------------------------------------------------- results
def case_summary(case) -> str:
    """One case the way Otter prints a test case's result (with partial credit and notes)."""
    partial = f" ({case.fraction:.0%} of its points)" if case.fraction and not case.passed \
        else ""
    message = PASSED if case.passed else f"{FAILED}{partial}\n{case.message.strip()}"
    if case.note:
        message += f"\nNote: {case.note}"
    return f"{case.id} result:\n" + indent(message, "    ")


def test_summary(f: FunctionResult, public_only: bool = False) -> str:
    """A graded function's summary, as Otter's `TestFile.summary` writes it."""
    cases = [c for c in f.cases if c.visibility == "public" or not public_only]
    if not f.cases:
        return f"{f.name} results: not graded"
    if all(c.passed for c in cases):
        return f"{f.name} results: All test cases passed!"
    return f"{f.name} results:\n" + indent("\n\n".join(map(case_summary, cases)), "    ")


def _functions(result: SubmissionResult) -> list[FunctionResult]:
    return [f for q in result.questions for f in q.functions]


def _public_summary(result: SubmissionResult) -> tuple[str, bool]:
    """The "Public Tests" output and whether every public case passed."""
    if result.status != "graded":
        return f"Your submission could not be graded ({result.status}):\n{result.message}", False
    functions = [f for f in _functions(result) if any(c.visibility == "public" for c in f.cases)]
    passed = all(c.passed for f in functions for c in f.cases if c.visibility == "public")
    return "\n\n".join(test_summary(f, public_only=True) for f in functions), passed


def _top_output(result: SubmissionResult) -> str:
    lines = [result.message] if result.message else []
    if result.isolation:
        lines.append("Isolation: " + ", ".join(result.isolation))
    return "\n".join(lines)


def _final_score(result: SubmissionResult, config: OtterConfig) -> float | None:
    """The top-level score Otter writes: scaled, thresholded, or None (tests' sum)."""
    fraction = result.score / result.max_score if result.max_score else 0.0
    if config.score_threshold is not None:
        full = config.points_possible if config.points_possible is not None else result.max_score
        return full if fraction >= config.score_threshold else 0
    if config.points_possible is not None:
        return fraction * config.points_possible
    return None


def otter_results(result: SubmissionResult, config: OtterConfig) -> dict:
    """The submission's results.json as Otter's `GradingResults.to_gradescope_dict` writes it.

    One test per graded function (Otter's test file), holding its public and hidden cases,
    after a visible "Public Tests" summary of the public cases only.
    """
    functions = _functions(result)
    hidden = "after_published" if config.show_hidden else "hidden"
    if config.show_all_public and all(c.visibility == "public"
                                      for f in functions for c in f.cases):
        hidden = "visible"
    tests = []
    if not config.show_hidden or config.force_public_test_summary:
        summary, passed = _public_summary(result)
        tests.append({"name": "Public Tests", "visibility": "visible", "output": summary,
                      "status": "passed" if passed else "failed"})
    tests += [{"name": f.name, "score": round(f.score, 5), "max_score": round(f.points, 5),
               "visibility": hidden, "output": test_summary(f)} for f in functions]
    doc: dict = {"tests": tests, "output": _top_output(result),
                 "stdout_visibility": "after_published" if config.show_stdout else "hidden"}
    score = _final_score(result, config)
    if score is not None:
        doc["score"] = score
    return doc


def error_results(exc: BaseException) -> dict:
    """A zero-score results.json for a grader that failed (Otter's "Autograder Error")."""
    short = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {
        "score": 0,
        "stdout_visibility": "hidden",
        "output": "The autograder failed while grading this submission; this is not your "
                  "fault. Your instructor can see the error.",
        "tests": [
            {"name": "Autograder Error", "visibility": "visible", "status": "failed",
             "output": f"The autograder encountered an error when grading this submission:"
                       f"\n\n{short}"},
            {"name": "Autograder Exception", "visibility": "hidden", "status": "failed",
             "output": "".join(traceback.format_exception(exc))},
        ],
    }


# ----------------------------------------------------------------------------- grading
def seeded(cases: list[Case], seed: int | None) -> list[Case]:
    """`cases` with NumPy's global generator seeded first (Otter's `seed`)."""
    if seed is None:
        return cases
    first = call("numpy.random.seed", int(seed))
    return [replace(c, steps=[first, *c.steps]) for c in cases]


def budgeted(a: asg.Assignment, config: OtterConfig) -> asg.Assignment:
    """`a` whose submission time budget ends in time to write results: no case starts
    later than its longest case's limit (and a margin) before `grading_seconds`."""
    limits = dict(a.limits)
    longest = max([float(limits["case_seconds"])] + [c.seconds for c in a.cases() if c.seconds])
    latest = config.grading_seconds - longest - START_MARGIN_SECONDS
    limits["submission_seconds"] = max(1.0, min(float(limits["submission_seconds"]), latest))
    return replace(a, limits=limits, _cases=seeded(a.cases(), config.seed))


def lock_down(root: Path):
    """source/ and results/ readable by root only: the grading uid must not see them."""
    (root / "results").mkdir(parents=True, exist_ok=True)
    for name in ("source", "results"):
        os.chmod(root / name, 0o700)


def _alarm(seconds: float):
    def expire(signum, frame):
        raise GradingTimeout(f"grading took longer than {seconds:g} s (grading_seconds)")

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def grade(root: Path, config: OtterConfig) -> tuple[dict, SubmissionResult]:
    """Grade `root/submission` with the assignment in `root/source`."""
    a = budgeted(asg.load(root / "source" / "assignment"), config)
    oracle = Oracle(a.solutions)
    options = GradeOptions(isolation=config.isolation)
    result = grade_one(a, root / "submission", "submission", oracle, options)
    if result.status == "grader-error":
        raise GraderError(result.message)
    return otter_results(result, config), result


def print_summary(doc: dict, stream):
    """Scores per test and the total, as Otter prints its grading summary."""
    scored = [t for t in doc["tests"] if "max_score" in t]
    width = max([len(t["name"]) for t in scored] + [4])
    print(f"{'name':<{width}}  score  max_score", file=stream)
    for t in scored:
        print(f"{t['name']:<{width}}  {t['score']:>5g}  {t['max_score']:>9g}", file=stream)
    total = sum(t["score"] for t in scored)
    possible = sum(t["max_score"] for t in scored)
    if "score" in doc:
        total = doc["score"]
    percent = 100 * total / possible if possible else 0.0
    print(f"Total Score: {total:.3f} / {possible:.3f} ({percent:.3f}%)", file=stream)


def run(root: Path, stream=None) -> int:
    """Grade one submission under `root` and always write `root/results/results.json`."""
    stream = stream or sys.stdout
    import autograder

    root = Path(root)
    results = root / "results" / "results.json"
    doc, status = None, 1
    try:
        print(f"Grader: {Path(autograder.__file__).parent}", file=stream)
        lock_down(root)
        config = load_config(root / "source" / CONFIG_NAME)
        _alarm(config.grading_seconds)
        doc, result = grade(root, config)
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(doc["output"], file=stream)
        print_summary(doc, stream)
        status = 0
    except BaseException as exc:  # noqa: BLE001 - results.json is written whatever failed
        signal.setitimer(signal.ITIMER_REAL, 0)
        doc = error_results(exc)
        print("".join(traceback.format_exception(exc)), file=sys.stderr)
    finally:
        atomic_write(results, json.dumps(bounded_results(doc), indent=4))
    return status


def main(argv=None) -> int:
    """`python -m autograder.gradescope [--root ROOT]` (what run_autograder calls)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                     description=main.__doc__)
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", DEFAULT_ROOT),
                        help="the grading root holding source/, submission/, results/")
    return run(Path(parser.parse_args(argv).root))


if __name__ == "__main__":
    sys.exit(main())
