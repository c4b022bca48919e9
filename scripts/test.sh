#!/usr/bin/env bash
# The whole test suite: set up .venv, lint with ruff, run pytest on 2 processes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
.venv/bin/ruff check .
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
.venv/bin/python -m pytest -q -n "${PYTEST_WORKERS:-2}" "$@"
