"""Shared pieces of the benchmarks: a synthetic class, timing, and a small table printer.

`make_class(folder, n)` writes `n` training_dnn submissions, deterministic for a seed:
the reference solution with, per submission, some modules swapped for the starter code's
stubs and some graded functions perturbed (their array results scaled by 1.01, or an
exception), so that scores, statuses and failure messages vary like a real class's.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "assignments" / "training_dnn"
GRADED_MODULES = ("activations", "weight_init", "normalization", "regularization", "optim",
                  "schedules", "preprocessing")
PYTHON = sys.executable
TRAINING_QUESTIONS = ("torch_training", "mode_connectivity")  # PyTorch, seconds per case

PERTURB = '''

def _bench_perturb(value):
    import numpy as _np
    if isinstance(value, _np.ndarray) and value.dtype.kind == "f":
        return value * 1.01
    if isinstance(value, tuple):
        return tuple(_bench_perturb(v) for v in value)
    return value


_bench_{name} = {name}


def {name}(*args, **kwargs):
    {body}
'''
BODIES = ("return _bench_perturb(_bench_{name}(*args, **kwargs))",
          "raise IndexError('index 3 is out of bounds for axis 0 with size 3')")


def snapshot(work: Path) -> Path:
    """A copy of the assignment, solutions and starter code (same layout) under `work`.

    The benchmarks grade against it, so that edits to the repository while they run do
    not change what they measure. Returns the copied assignment folder.
    """
    for rel in ("assignments/training_dnn", "solutions/nntrain", "starter_code/nntrain"):
        shutil.copytree(ROOT / rel, work / rel, ignore=shutil.ignore_patterns("__pycache__"))
    return work / "assignments" / "training_dnn"


def numpy_questions(a) -> list[str]:
    """The assignment's questions graded with NumPy only (no training)."""
    return [q.id for q in a.questions if q.id not in TRAINING_QUESTIONS]


def question_args(questions: list[str]) -> list[str]:
    """`--question ID` for each of `questions`."""
    return [arg for q in questions for arg in ("--question", q)]


def _functions(module_file: Path) -> list[str]:
    return [line[4:line.index("(")] for line in module_file.read_text().splitlines()
            if line.startswith("def ") and not line.startswith("def _")]


def make_submission(folder: Path, rng: random.Random, source: Path = ROOT) -> Path:
    """One submission: the reference, some modules stubbed, some functions broken.

    `source` holds solutions/nntrain and starter_code/nntrain (the repository, or a
    `snapshot`)."""
    pkg = folder / "nntrain"
    starter = source / "starter_code" / "nntrain"
    shutil.copytree(source / "solutions" / "nntrain", pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for module in GRADED_MODULES:
        path = pkg / f"{module}.py"
        roll = rng.random()
        if roll < 0.2:
            shutil.copy(starter / f"{module}.py", path)
        elif roll < 0.6:
            name = rng.choice(_functions(path))
            body = rng.choice(BODIES).format(name=name)
            path.write_text(path.read_text() + PERTURB.format(name=name, body=body))
    return folder


def make_class(folder: Path, n: int, seed: int = 0, source: Path = ROOT) -> list[Path]:
    """`n` submissions in `folder` (student00, student01, ...)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    return [make_submission(folder / f"student{k:02d}", rng, source) for k in range(n)]


def grade_cmd(subs: list[Path] | Path, out: Path, *extra: str,
              assignment: Path = ASSIGNMENT) -> list[str]:
    """The `autograder grade` command line for `subs` into `out`."""
    items = [subs] if isinstance(subs, Path) else subs
    return [PYTHON, "-m", "autograder.cli", "grade", *map(str, items), "-o", str(out),
            "--assignment", str(assignment), "--quiet", *extra]


def timed(cmd: list[str], **kwargs) -> float:
    """Wall-clock seconds of running `cmd` to success."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)
    return time.perf_counter() - start


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def table(rows: list[list[str]]) -> str:
    """Rows (the first is the header) as a Markdown table."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def load_note() -> str:
    """The machine's load average, printed with each result (the numbers depend on it)."""
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return f"load average {load}, {len(os.sched_getaffinity(0))} cores"
