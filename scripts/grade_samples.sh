#!/usr/bin/env bash
# The main job: set up .venv, regenerate the starter code from the solutions, build the
# assignment (verified student bundle + Gradescope autograder zip in dist/), then grade the
# bundled sample submissions in parallel and print the gradebook (written to out/samples/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
.venv/bin/autograder starter assignments/training_dnn
.venv/bin/autograder build assignments/training_dnn -o dist
.venv/bin/python samples/make_samples.py
.venv/bin/autograder grade samples/submissions -o out/samples --workers "${WORKERS:-2}"
echo "feedback per submission: out/samples/<submission>/feedback.md; student bundle and Gradescope zip: dist/"
