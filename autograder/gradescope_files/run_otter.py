"""Runs Otter-Grader's autograding process (Otter's own run_otter.py, with the root settable).

run_autograder calls it with this autograder's venv; AUTOGRADER_ROOT (default /autograder)
is the grading root. Otter reads otter_config.json, loads the plugins (this framework's
sandbox first) and writes results/results.json.
"""

import os

try:
    from otter.run.run_autograder import main as run_autograder
except ModuleNotFoundError as e:
    if "'otter'" in str(e):
        raise RuntimeError(
            "The 'otter' module could not be imported. This is usually caused by errors while "
            "building the grading image, so check the image build logs (setup.sh)."
        ) from e
    raise


if __name__ == "__main__":
    run_autograder(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
