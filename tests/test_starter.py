"""The starter code is exactly what the generator makes from the solutions, and usable."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import stubgen

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions" / "nntrain"
STARTER = ROOT / "starter_code" / "nntrain"
MARKED = re.compile(r"^\s*# BEGIN SOLUTION:", re.M)


def test_committed_starter_code_is_generated_from_the_solutions():
    assert stubgen.differences(SOLUTIONS, STARTER) == []


def test_no_solution_code_or_marker_reaches_the_starter():
    for path in STARTER.rglob("*.py"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def f(x):\n    '''doc'''\n    # BEGIN SOLUTION: add one\n    return x + 1\n"
         "    # END SOLUTION\n",
         "def f(x):\n    '''doc'''\n    raise NotImplementedError('f: add one')\n"),
        ("class A:\n    def step(self):\n        # BEGIN SOLUTION: count\n        pass\n"
         "        # END SOLUTION\n",
         "class A:\n    def step(self):\n        raise NotImplementedError('A.step: count')\n"),
        ("# BEGIN SOLUTION NO PROMPT\ndef _helper():\n    pass\n# END SOLUTION\nX = 1\n",
         "X = 1\n"),
        ("def f():\n    # BEGIN SOLUTION: it's \"quoted\"\n    pass\n    # END SOLUTION\n",
         "def f():\n    raise NotImplementedError('f: it\\'s \"quoted\"')\n"),
    ],
    ids=["function", "method", "no-prompt", "quotes"],
)
def test_stub_source(source, expected):
    assert stubgen.stub_source(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    # BEGIN SOLUTION: x\n    pass\n",
        "def f():\n    pass\n    # END SOLUTION\n",
        "def f():\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n",
        "def f():\n    # BEGIN SOLUTION: a\n    # BEGIN SOLUTION: b\n    # END SOLUTION\n",
    ],
    ids=["unclosed", "unopened", "no-hint", "nested"],
)
def test_bad_markers_are_refused(source):
    with pytest.raises(stubgen.MarkerError):
        stubgen.stub_source(source)


def _graded_functions():
    names = []
    for path in sorted(SOLUTIONS.glob("*.py")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if MARKED.match(line):
                indent = re.match(r"\s*", line)[0]
                names.append((path.stem, stubgen._enclosing_name(lines, i, indent)))
    return names


def _run_in_starter(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=STARTER.parent,
                          capture_output=True, text=True, timeout=120)


def test_every_marked_function_is_a_stub_with_a_hint_in_the_starter():
    graded = _graded_functions()
    assert len(graded) > 40
    code = (
        "import importlib, inspect\n"
        f"graded = {graded!r}\n"
        "for module, name in graded:\n"
        "    m = importlib.import_module('nntrain.' + module)\n"
        "    obj = m\n"
        "    for part in name.split('.'):\n"
        "        obj = getattr(obj, part)\n"
        "    src = inspect.getsource(obj)\n"
        "    assert 'raise NotImplementedError(' in src, (module, name)\n"
        "    assert obj.__doc__ or name.endswith('__init__'), (module, name)\n"
        "print(len(graded))\n"
    )
    proc = _run_in_starter(code)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == len(graded)


def test_helpers_run_from_the_starter_code():
    code = (
        "import numpy as np\n"
        "from nntrain import data, gradient_check, layers, fc_net\n"
        "d = data.load_digits(flatten=True)\n"
        "assert d['X_train'].shape[1] == 64\n"
        "f = lambda x: float(np.sum(x ** 2))\n"
        "x = np.arange(6.0).reshape(2, 3)\n"
        "g = gradient_check.eval_numerical_gradient(f, x, verbose=False)\n"
        "assert gradient_check.rel_error(g, 2 * x) < 1e-7\n"
        "out, cache = layers.affine_forward(x, np.ones((3, 4)), np.zeros(4))\n"
        "model = fc_net.FullyConnectedNet([], input_dim=64, num_classes=10)\n"
        "scores = model.loss(d['X_train'][:5])\n"
        "assert scores.shape == (5, 10)\n"
        "try:\n"
        "    fc_net.FullyConnectedNet([16]).loss(d['X_train'][:5], d['y_train'][:5])\n"
        "except NotImplementedError as e:\n"
        "    print('stub:', e)\n"
    )
    proc = _run_in_starter(code)
    assert proc.returncode == 0, proc.stderr
    assert "stub: relu_forward" in proc.stdout
