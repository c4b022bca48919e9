"""(b) The cost of isolation: sandboxed grading over the bare compute of the same cases.

Bare: every case run in this process against the reference package and judged, as the
oracle does (no sandbox, no worker, no files). Isolated: `grading.grade_package` on a copy
of the same package: a fresh sandboxed worker (unprivileged uid, bwrap, rlimits), cases
sent over the pipe (arrays over 4 KiB in .npz files), judged in the harness; pipelined,
as a submission graded alone is (the harness judges one case while the worker runs the
next), and, apart, one case at a time, as each slot of a batch does. Both on one
core's worth of threads (BLAS and torch pinned to 1 thread, as in the sandbox),
alternately, the median of `--rounds`. Two workloads of training_dnn: its NumPy
questions (about two hundred micro-cases, each well under a millisecond of compute) and
its training questions (two dozen cases, some training PyTorch models for seconds). A
fresh worker must import torch for the latter, which the harness already has: that import
is measured apart (a fresh interpreter's `import torch`) and the ratio shown without it.

    .venv/bin/python benchmarks/bench_isolation.py [--rounds 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

from common import (  # noqa: E402
    TRAINING_QUESTIONS,
    load_note,
    median,
    numpy_questions,
    snapshot,
    table,
)

from autograder import assignment as asg  # noqa: E402
from autograder import batch, grading  # noqa: E402
from autograder.session import ReferenceSession, WorkerSession  # noqa: E402


def bare_seconds(a: asg.Assignment, oracle: grading.Oracle,
                 options: grading.GradeOptions) -> float:
    """Run and judge every selected case in this process against the reference."""
    session, checks = ReferenceSession(a.solutions), a.checks()
    start = time.perf_counter()
    for case in grading.select_cases(a, a.cases(), options):
        grading.judge(case, session.run(case), oracle.expected(case), checks)
    return time.perf_counter() - start


def isolated_seconds(a: asg.Assignment, oracle: grading.Oracle, pkg: Path,
                     options: grading.GradeOptions) -> float:
    """Grade the package in a fresh sandboxed worker, judged in the harness."""
    start = time.perf_counter()
    result = grading.grade_package(a, pkg, oracle, "bench", options)
    elapsed = time.perf_counter() - start
    assert result.score >= result.max_score, f"the reference scored {result.score:g}"
    return elapsed


def startup_seconds(a: asg.Assignment, pkg: Path) -> float:
    """Start and stop one sandboxed worker (its fixed cost per submission)."""
    session = WorkerSession(pkg, grading.limits_for(a))
    start = time.perf_counter()
    session.start()
    session.stop()
    return time.perf_counter() - start


def import_seconds(module: str, rounds: int) -> float:
    """What importing `module` costs a fresh interpreter (as each sandboxed worker is)."""
    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", code], check=True)
        return time.perf_counter() - start

    return median([run(f"import {module}") - run("pass") for _ in range(rounds)])


def measure(a: asg.Assignment, pkg: Path, questions: list[str], rounds: int) -> dict:
    """Median bare and isolated seconds of the reference on `questions`, alternately."""
    options = grading.GradeOptions(questions=tuple(questions))
    oracle = grading.Oracle(store=batch.precompute(a, options))
    one_at_a_time = replace(options, pipeline=False)
    bare, isolated, serial, starts = [], [], [], []
    for _ in range(rounds):
        bare.append(bare_seconds(a, oracle, options))
        isolated.append(isolated_seconds(a, oracle, pkg, options))
        serial.append(isolated_seconds(a, oracle, pkg, one_at_a_time))
        starts.append(startup_seconds(a, pkg))
    return {"cases": len(grading.select_cases(a, a.cases(), options)), "bare": median(bare),
            "isolated": median(isolated), "serial": median(serial), "start": median(starts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-isolation-"))
    try:
        a = asg.load(snapshot(work))
        pkg = work / "copy" / a.package
        shutil.copytree(a.solutions, pkg, ignore=shutil.ignore_patterns("__pycache__"))
        workloads = {"NumPy questions": numpy_questions(a),
                     "training questions (PyTorch, CPU)": list(TRAINING_QUESTIONS)}
        torch_import = import_seconds("torch", args.rounds)
        rows = [["training_dnn reference, on", "cases", "bare in-process s", "sandboxed s",
                 "ratio", "worker start+stop s", "torch import s", "ratio less the import",
                 "ratio less start and import", "one case at a time s", "its ratio"]]
        for label, questions in workloads.items():
            m = measure(a, pkg, questions, args.rounds)
            imported = torch_import if "training" in label else 0.0
            rows.append([label, str(m["cases"]), f"{m['bare']:.3f}", f"{m['isolated']:.3f}",
                         f"{m['isolated'] / m['bare']:.2f}x", f"{m['start']:.3f}",
                         f"{imported:.2f}", f"{(m['isolated'] - imported) / m['bare']:.2f}x",
                         f"{(m['isolated'] - imported - m['start']) / m['bare']:.2f}x",
                         f"{m['serial']:.3f}", f"{m['serial'] / m['bare']:.2f}x"])
        print(table(rows))
        print(f"\nmedian of {args.rounds} rounds; {load_note()}")
        for row in rows[1:]:
            print(f"ratio (sandboxed / bare), {row[0]}: {row[4]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
