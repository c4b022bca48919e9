"""(d) Memory: peak memory of grading one submission, harness + worker (target: < 700 MB).

Runs `autograder grade ONE_SUBMISSION --workers 1` (the harness grades in the command's
own process: no pool) on the whole of training_dnn, PyTorch training included, and
samples every process of its tree every few milliseconds: the harness (it holds the
assignment's cases, the reference solution and every expected value) and the sandboxed
worker running the student's code (with the small prlimit/bwrap processes in between).
The headline is the peak of the tree's summed PSS (proportional set size: a page shared
by n processes counts 1/n in each, so the sum is the memory really used); the peak RSS
of each process is printed too (RSS counts shared libraries in full, and a harness
forking to start a sandbox briefly shows twice).

    .venv/bin/python benchmarks/bench_memory.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import psutil
from common import ROOT, grade_cmd, load_note, make_class, snapshot, table

MB = 1024 * 1024


def role(proc: psutil.Process) -> str:
    """Which part of the grader a process is."""
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "exited"
    if "worker.py" in cmd and "python" in cmd:
        return "sandboxed worker"
    if "autograder.cli" in cmd or "multiprocessing" in cmd:
        return "harness"
    return "sandbox launchers"


def sample(tree_root: psutil.Process) -> tuple[int, dict[str, int]]:
    """The tree's summed PSS now, and the RSS of each role's largest process."""
    pss, rss = 0, {}
    for proc in [tree_root, *tree_root.children(recursive=True)]:
        try:
            info = proc.memory_full_info()
        except psutil.Error:
            continue
        pss += info.pss
        key = role(proc)
        rss[key] = max(rss.get(key, 0), info.rss)
    return pss, rss


def peak_of_run(cmd: list[str]) -> tuple[int, dict[str, int]]:
    """The peak summed PSS of the command's tree, and each role's peak RSS."""
    proc = psutil.Popen(cmd, cwd=ROOT)
    peak_total, peaks = 0, {}
    while proc.poll() is None:
        total, usage = sample(proc)
        peak_total = max(peak_total, total)
        for key, value in usage.items():
            peaks[key] = max(peaks.get(key, 0), value)
        time.sleep(0.005)
    assert proc.returncode == 0, "grading failed"
    return peak_total, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        assignment = snapshot(work)
        sub = make_class(work / "subs", 1, source=work)[0]
        runs = [peak_of_run(grade_cmd([sub], work / f"out{r}", "--workers", "1",
                                      assignment=assignment)) for r in range(args.rounds)]
        total = max(t for t, _ in runs)
        roles = sorted({k for _, p in runs for k, v in p.items() if v})
        rows = [["process", "peak MB"]]
        rows += [[f"{k} (RSS)", f"{max(p.get(k, 0) for _, p in runs) / MB:.0f}"] for k in roles]
        rows.append(["**all processes at once (peak of the summed PSS)**",
                     f"**{total / MB:.0f}**"])
        print(table(rows))
        print(f"\nworst of {args.rounds} runs; {load_note()}")
        print(f"ratio (peak total / 700 MB target): {total / MB / 700:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
