#!/usr/bin/env bash
# The main job: set up .venv, regenerate the starter code from the solutions, and grade the
# bundled sample submissions in parallel, printing the gradebook (written to out/samples/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
.venv/bin/autograder starter assignments/training_dnn
.venv/bin/python samples/make_samples.py
.venv/bin/autograder grade samples/submissions -o out/samples --workers "${WORKERS:-2}"
echo "gradebook: out/samples/gradebook.csv; feedback: out/samples/<submission>/feedback.md"
