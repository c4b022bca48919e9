"""(a) Parallel grading: 2 workers against 1 on 40 submissions (target: >= 1.8x on 2 cores).

training_dnn's NumPy questions only (its PyTorch training questions take half a minute
per submission on a CPU, which would make this a 40-minute benchmark). Two measurements,
alternately in each of `--rounds` rounds, on the same 40 submissions:

- the grading phase, in this process: `batch.run_inline` (one worker: this process
  grades, one after another) against `batch.run_local(..., 2)` (two spawned harness
  processes, started inside the timing), and the old design, two threads sharing one
  harness (and its GIL); all with cases sent one at a time, as a batch grades. For
  comparison, one worker with its cases pipelined (as a submission graded alone is:
  the harness judges while the worker runs, about 1.4 cores busy);
- end to end: `autograder grade DIR --workers 1` against `--workers 2`, as subprocesses;
  this adds the command's fixed start (loading the assignment generates every case, the
  training ones included, which trains small models: seconds).

The ratios are of the fastest runs (the least disturbed by other work on the machine);
all runs are printed. The gradebooks of all the command runs must be identical.

    .venv/bin/python benchmarks/bench_parallel.py [--n 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from common import (
    grade_cmd,
    load_note,
    make_class,
    median,
    numpy_questions,
    question_args,
    snapshot,
    table,
    timed,
)

from autograder import assignment as asg


def thread_pool_seconds(a, tasks: list, options, workers: int) -> float:
    """The previous design: one harness process, a thread per submission."""
    from autograder import batch, grading

    oracle = grading.Oracle(store=batch.precompute(a, options))
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda t: batch.grade_one(a, t.path, t.name, oracle, options), tasks))
    return time.perf_counter() - start


def phase_seconds(run) -> float:
    """Seconds to exhaust the results iterator `run()`."""
    start = time.perf_counter()
    list(run())
    return time.perf_counter() - start


def one_round(a, work: Path, assignment: Path, tasks: list, r: int, times: dict, books: set):
    """Every measurement once, alternating one and two workers."""
    from autograder import batch, grading

    options = grading.GradeOptions(questions=tuple(numpy_questions(a)), pipeline=False)
    pipelined = replace(options, pipeline=True)
    only = question_args(numpy_questions(a))
    times["inline 1"].append(phase_seconds(lambda: batch.run_inline(a, tasks, options)))
    times["pipelined 1"].append(phase_seconds(lambda: batch.run_inline(a, tasks, pipelined)))
    times["pool 2"].append(phase_seconds(lambda: batch.run_local(a, tasks, options, 2)))
    times["threads 2"].append(thread_pool_seconds(a, tasks, options, 2))
    for w in (1, 2):
        out = work / f"out-{w}-{r}"
        times[f"command {w}"].append(timed(grade_cmd(work / "subs", out, "--workers", str(w),
                                                     "--no-summary", *only,
                                                     assignment=assignment)))
        books.add((out / "gradebook.csv").read_text())


def report(times: dict, n: int, rounds: int, identical: bool) -> None:
    """The table and the ratios."""
    best = {k: min(v) for k, v in times.items()}
    rows = [["measurement", "workers", "wall s (best)", "per submission s", "speed-up"]]
    rows.append(["grading phase, one worker, cases pipelined", "1",
                 f"{best['pipelined 1']:.1f}", f"{best['pipelined 1'] / n:.2f}",
                 f"{best['inline 1'] / best['pipelined 1']:.2f}x"])
    for label, one, two in (("grading phase, process pool", "inline 1", "pool 2"),
                            ("grading phase, threads (old design)", "inline 1", "threads 2"),
                            ("`autograder grade`, end to end", "command 1", "command 2")):
        rows.append([label, "1", f"{best[one]:.1f}", f"{best[one] / n:.2f}", "1.00x"])
        rows.append([label, "2", f"{best[two]:.1f}", f"{best[two] / n:.2f}",
                     f"{best[one] / best[two]:.2f}x"])
    print(table(rows))
    print(f"\n{n} submissions, {rounds} rounds; all runs (s): "
          + "; ".join(f"{k} {[round(x, 1) for x in v]}" for k, v in times.items()))
    print(f"{load_note()}; gradebooks identical across runs: {identical}")
    print(f"ratio (2 workers / 1, grading phase): {best['inline 1'] / best['pool 2']:.2f}x; "
          f"end to end: {best['command 1'] / best['command 2']:.2f}x; medians "
          f"{median(times['inline 1']) / median(times['pool 2']):.2f}x and "
          f"{median(times['command 1']) / median(times['command 2']):.2f}x")


def show_differences(books: list[str]) -> None:
    """The gradebook rows that differ between runs, if any do."""
    for other in books[1:]:
        print("".join(difflib.unified_diff(books[0].splitlines(True), other.splitlines(True),
                                           "one run", "another run", n=0)))


def main() -> None:
    from autograder import batch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    try:
        assignment = snapshot(work)
        a = asg.load(assignment)
        a.cases()
        subs = make_class(work / "subs", args.n, source=work)
        tasks = [batch.Task(s.name, s) for s in subs]
        times = {k: [] for k in ("inline 1", "pipelined 1", "pool 2", "threads 2", "command 1",
                                 "command 2")}
        books: set = set()
        for r in range(args.rounds):
            one_round(a, work, assignment, tasks, r, times, books)
        report(times, args.n, args.rounds, len(books) == 1)
        show_differences(sorted(books))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
