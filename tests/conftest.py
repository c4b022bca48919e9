"""Shared test set-up: the reference package `nntrain` is imported from solutions/."""

import os
import sys
from pathlib import Path

# Small models on a shared 2-core machine: one BLAS/torch thread per process is much faster
# than two fighting over the cores (and pytest-xdist runs two processes).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
if str(SOLUTIONS) not in sys.path:
    sys.path.insert(0, str(SOLUTIONS))
