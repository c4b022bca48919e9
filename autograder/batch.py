"""Grading many submissions: one row each, always, in parallel, resumable.

For every submission the batch writes, atomically, ``OUT/<name>/results.json``
(Gradescope's schema), ``OUT/<name>/feedback.md`` and ``OUT/<name>/grade.json`` (the full
result, which marks the submission as done for ``--resume``), then ``OUT/gradebook.csv``
from all the ``grade.json`` files, so the gradebook is the same whatever the order or the
number of workers.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from autograder import results as out
from autograder.assignment import Assignment
from autograder.grading import GradeOptions, Oracle, SubmissionResult, assemble, grade_package
from autograder.submission import prepare, submission_name


@dataclass
class BatchOptions:
    workers: int = 1
    resume: bool = False
    only: tuple[str, ...] = ()
    quiet: bool = False
    grade: GradeOptions = None


class LockedOracle(Oracle):
    """An Oracle safe to share between grading threads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()

    def expected(self, case):
        with self.lock:
            return super().expected(case)


def failed_result(assignment: Assignment, name: str, status: str, message: str,
                  options: GradeOptions) -> SubmissionResult:
    """A row for a submission that could not be graded at all: zero everywhere."""
    questions = assemble(assignment, [], options)
    return SubmissionResult(submission=name, status=status, message=message, score=0.0,
                            max_score=sum(q.points for q in questions if not q.extra_credit),
                            questions=questions)


def grade_one(assignment: Assignment, path: Path, name: str, oracle: Oracle,
              options: GradeOptions) -> SubmissionResult:
    """Prepare (safely copy) and grade one submission; never raises."""
    scratch = Path(tempfile.mkdtemp(prefix="nntrain-sub-"))
    try:
        prepared = prepare(path, scratch, assignment.package)
        if prepared.package_dir is None:
            return failed_result(assignment, name, prepared.status, prepared.message, options)
        result = grade_package(assignment, prepared.package_dir, oracle, name, options)
        notes = [prepared.message] if prepared.message and prepared.status == "ok" else []
        notes += prepared.warnings
        result.message = "\n".join(n for n in notes if n)
        return result
    except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return failed_result(assignment, name, "grader-error",
                             f"the grader failed on this submission: {detail}", options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unique_names(paths: list[Path]) -> list[tuple[str, Path]]:
    """Submission names, made unique with a numeric suffix where two collide."""
    seen: dict[str, int] = {}
    named = []
    for path in paths:
        base = submission_name(path)
        count = seen.get(base, 0)
        seen[base] = count + 1
        named.append((base if count == 0 else f"{base}-{count + 1}", path))
    return named


def is_done(folder: Path) -> bool:
    try:
        data = json.loads((folder / "grade.json").read_text())
        return isinstance(data, dict) and "score" in data
    except (OSError, ValueError):
        return False


class Progress:
    """A tqdm bar on a terminal, plain log lines otherwise, nothing when quiet."""

    def __init__(self, total: int, quiet: bool):
        self.quiet, self.total, self.done, self.start = quiet, total, 0, time.monotonic()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="sub", desc="grading", file=sys.stderr)

    def update(self, result: SubmissionResult):
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(result.submission[:24])
            self.bar.update(1)
        elif not self.quiet:
            rate = self.done / max(time.monotonic() - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate else 0
            print(f"[{self.done}/{self.total}] {result.submission}: {result.status} "
                  f"{result.score:g}/{result.max_score:g} ({rate:.2f}/s, eta {eta:.0f}s)",
                  file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def grade_batch(assignment: Assignment, paths: list[Path], out_dir: Path,
                options: BatchOptions) -> list[dict]:
    """Grade `paths` into `out_dir`; returns the gradebook rows' source dicts (all)."""
    grade_options = options.grade or GradeOptions()
    out_dir.mkdir(parents=True, exist_ok=True)
    named = unique_names(paths)
    todo = [(n, p) for n, p in named
            if (not options.only or n in options.only)
            and not (options.resume and not options.only and is_done(out_dir / n))]
    oracle = LockedOracle(assignment.solutions)
    assignment.cases()
    progress = Progress(len(todo), options.quiet)
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        futures = {pool.submit(grade_one, assignment, p, n, oracle, grade_options): n
                   for n, p in todo}
        for future in as_completed(futures):
            result = future.result()
            folder = out_dir / result.submission
            out.write_results(result, folder)
            out.atomic_write(folder / "grade.json", json.dumps(result.to_dict(), indent=1))
            progress.update(result)
    progress.close()
    rows = [json.loads((out_dir / n / "grade.json").read_text())
            for n, _ in named if is_done(out_dir / n)]
    out.write_gradebook_rows(rows, [q.id for q in assignment.questions],
                             out_dir / "gradebook.csv")
    return rows
