"""How failures read: an import error said once, with a hint for a missing library."""

import pytest

from autograder.cases import Case
from autograder.grading import CaseResult, import_message, outcome_message
from autograder.results import failure_groups, more_cases
from autograder.session import Outcome

TRACE = 'File "nntrain/layers.py", line 1, in <module>\n  import {name}\n{error}'

IMPORTS = [
    ("missing-library", "pandas", "ModuleNotFoundError: No module named 'pandas'",
     "`pandas` is not installed where your code is graded"),
    ("missing-submodule-of-a-library", "scipy.special",
     "ModuleNotFoundError: No module named 'scipy.special'", "`scipy.special` is not installed"),
    ("own-module-missing", "nntrain.helpers",
     "ModuleNotFoundError: No module named 'nntrain.helpers'",
     "`nntrain/helpers.py` is not in your submission: submit the whole `nntrain/` folder"),
    ("syntax-error", "x", "SyntaxError: invalid syntax", None),
]


@pytest.mark.parametrize("name,error,hint", [c[1:] for c in IMPORTS], ids=[c[0] for c in IMPORTS])
def test_import_message(name, error, hint):
    traceback = TRACE.format(name=name, error=error)
    text = import_message("nntrain.layers", traceback)
    assert text.startswith("importing `nntrain.layers` failed, so none of its functions can run")
    assert traceback in text
    assert (hint in text) if hint else "\n`" not in text


OUTCOMES = [
    ("while-importing", Outcome("error", "boom", at="importing nntrain.layers"),
     "importing `nntrain.layers` failed"),
    ("while-calling", Outcome("error", "boom", at="calling layers.affine_forward"),
     "`affine_forward` raised an exception:\nboom"),
    ("no-progress-said", Outcome("error", "boom"), "`affine_forward` raised an exception"),
    ("timeout-while-importing", Outcome("timeout", "no answer", at="importing nntrain.layers"),
     "ran past the time limit"),
]


@pytest.mark.parametrize("outcome,words", [c[1:] for c in OUTCOMES], ids=[c[0] for c in OUTCOMES])
def test_outcome_message_says_where_it_failed(outcome, words):
    case = Case(id="affine/x", function="layers.affine_forward", inputs={}, steps=[], checks=[])
    assert words in outcome_message(case, outcome)


def failed(message: str, passed: bool = False) -> CaseResult:
    return CaseResult("c", "m.f", "public", passed, "error", message)


GROUPS = [
    ("same-detail-in-a-row", ["a: x\ntrace", "b: x\ntrace", "c: y\ntrace"], [3]),
    ("different-details", ["a: x\ntrace1", "b: x\ntrace2"], [1, 1]),
    ("one-line-messages-never-grouped", ["a: wrong", "b: wrong"], [1, 1]),
    ("not-in-a-row", ["a: x\nt1", "b: x\nt2", "c: x\nt1"], [1, 1, 1]),
]


@pytest.mark.parametrize("messages,sizes", [c[1:] for c in GROUPS], ids=[c[0] for c in GROUPS])
def test_failure_groups(messages, sizes):
    cases = [failed(m) for m in messages] + [failed("ok\ntrace", passed=True)]
    assert [len(g) for g in failure_groups(cases)] == sizes


def test_more_cases_wording():
    assert more_cases([1]) == ""
    assert more_cases([1, 2]) == "(and 1 more case with the same error)"
    assert more_cases([1, 2, 3]) == "(and 2 more cases with the same error)"
