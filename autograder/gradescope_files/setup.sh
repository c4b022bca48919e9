#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the grading image (Ubuntu 22.04, with
# network), with the autograder zip unpacked in /autograder/source.
#
# It makes a Python 3.11 virtual environment OUTSIDE /autograder/source (which
# run_autograder makes root-only), world-readable, so that the unprivileged uid that runs
# student code can start its interpreter; installs torch 2.13.0's CPU build and the rest
# (otter-grader[grading] 7.0.x, whose runner run_otter.py starts) with pip under
# constraints.txt: no Miniforge download, no conda solve, unlike Otter's own setup.sh; and installs bubblewrap (the sandbox's strongest layer;
# inside Gradescope's Docker it usually cannot start, and the sandbox falls back to a
# dropped uid, no_new_privs and rlimits) and util-linux (setpriv, prlimit, unshare).
#
# Python 3.11: Ubuntu 22.04's own python3 is 3.10. We take python3.11 from Ubuntu's
# universe archive (apt-get install python3.11 python3.11-venv; no PPA needed). Where
# that fails, uv installs a standalone CPython 3.11 under /opt (not under /root, which is
# 0700 and so unreachable for the grading uid).
#
#   NNTRAIN_VENV=/opt/nntrain-venv   where the environment goes
#   NNTRAIN_PYTHON=python3.11        the interpreter to make it from (skips the apt step)
#   NNTRAIN_SKIP_INSTALL=1           install nothing: use the environment at NNTRAIN_VENV
#                                    as it is (tests point it at an existing venv)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${NNTRAIN_VENV:-/opt/nntrain-venv}"
chmod 755 "$here/run_autograder"

if [ "${NNTRAIN_SKIP_INSTALL:-0}" = 1 ]; then
  "$venv/bin/python" -c 'import numpy, tomllib, otter.run.run_autograder' \
    || { echo "setup.sh: $venv cannot run the grader" >&2; exit 1; }
  echo "setup.sh: NNTRAIN_SKIP_INSTALL=1, using $venv as it is"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends bubblewrap util-linux ca-certificates curl

python="${NNTRAIN_PYTHON:-}"
if [ -z "$python" ]; then
  if apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
    python=python3.11
  else
    echo "setup.sh: no python3.11 from apt; installing CPython 3.11 with uv under /opt" >&2
    export UV_INSTALL_DIR=/opt/uv UV_PYTHON_INSTALL_DIR=/opt/uv-python
    curl -LsSf https://astral.sh/uv/install.sh | sh
    /opt/uv/uv python install 3.11
    python="$(/opt/uv/uv python find 3.11)"
    chmod -R a+rX /opt/uv-python
  fi
fi
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version'

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install -c "$here/constraints.txt" \
  --index-url https://download.pytorch.org/whl/cpu torch
"$venv/bin/python" -m pip install -c "$here/constraints.txt" -r "$here/requirements.txt"
chmod -R a+rX "$venv"

# The grading uid must be able to run the interpreter and import what it needs.
setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$venv/bin/python" -I -c 'import numpy, torch; print("numpy", numpy.__version__, "torch", torch.__version__)'
