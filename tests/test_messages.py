"""How failures read: an import error said once, with a hint for a missing library; the
function to fix named when a step before the graded one failed; diagnoses; hidden cases
that public ones give away."""

import numpy as np
import pytest

from autograder.cases import Case
from autograder.grading import CaseResult, culprit, import_message, judge, outcome_message
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


# ----------------------------------------------------------------------------- who is to fix
def _backward_case(**kw) -> Case:
    from autograder.cases import call, close, context, ref

    return Case(id="relu_backward/x", function="activations.relu_backward",
                inputs={"x": np.arange(4.0) - 1.5, "dout": np.ones(4)},
                steps=[call("activations.relu_forward", ref("x"), assign=["out", "cache"]),
                       call("activations.relu_backward", ref("dout"), ref("cache"),
                            assign="dx")],
                checks=[close("dx"), context("out", "activations.relu_forward")], **kw)


READ_ONLY = 'File "nntrain/activations.py", line 3, in relu_forward\nValueError: output array ' \
    'is read-only'
BLAME = [
    ("forward-wrote-into-input", Outcome("error", READ_ONLY, step=0),
     "`relu_forward` wrote into one of its input arrays", "`relu_forward`, which this case of"),
    ("backward-wrote-into-input", Outcome("error", READ_ONLY.replace("forward", "backward"),
                                          step=1),
     "`relu_backward` wrote into one of its input arrays", None),
    ("forward-raised", Outcome("error", "ZeroDivisionError: boom", step=0,
                               at="calling activations.relu_forward"),
     "`relu_forward`, which this case calls first, raised an exception", "is what to fix"),
    ("backward-raised", Outcome("error", "ZeroDivisionError: boom", step=1),
     "`relu_backward` raised an exception", None),
]


@pytest.mark.parametrize("outcome,words,blame", [c[1:] for c in BLAME], ids=[c[0] for c in BLAME])
def test_a_failing_forward_step_is_named(outcome, words, blame):
    result = judge(_backward_case(), outcome, None, None)
    assert not result.passed and words in result.message
    assert (blame in result.message) if blame else "what to fix" not in result.message


def _values(dx, out) -> Outcome:
    return Outcome("ok", values={"dx": np.asarray(dx, float), "out": np.asarray(out, float)})


CONTEXT = [
    ("forward-wrong-too", [0, 0, 1, 1], [0, 0, 9, 9], "`relu_forward`, which this case of"),
    ("forward-right", [0, 0, 1, 1], [0, 0, 0.5, 1.5], "the output of `relu_forward` was right "
     "in this case, so what to look at is `relu_backward`, or what `relu_forward` passes on "
     "to it besides its output (the cache)"),
]


@pytest.mark.parametrize("dx,out,blame", [c[1:] for c in CONTEXT], ids=[c[0] for c in CONTEXT])
def test_backward_case_checks_its_forward_output_only_to_explain(dx, out, blame):
    expected = _values([0, 0, 2, 2], [0, 0, 0.5, 1.5])
    result = judge(_backward_case(), _values(dx, out), expected, None)
    assert not result.passed and "`dx`" in result.message
    assert blame in result.message
    right = judge(_backward_case(), _values([0, 0, 2, 2], [0, 0, 9, 9]), expected, None)
    assert right.passed  # a right dx passes whatever the forward's output


def test_culprit_ignores_methods_and_helpers():
    from autograder.cases import call

    case = Case(id="c", function="optim.adam", inputs={"config0": {}},
                steps=[call("config0.__setitem__", "a", 1), call("numpy.stack", [1]),
                       call("optim.adam", 1)], checks=[])
    assert [culprit(case, Outcome("error", step=k)) for k in range(3)] == [None, None, None]


# ----------------------------------------------------------------------------- diagnoses
class _Module:
    @staticmethod
    def explain(got, expected, inputs, reveal, hint):
        return f"{hint}: {got['a']} vs {None if expected is None else expected['a']} {reveal}"

    @staticmethod
    def broken(got, expected, inputs, reveal):
        raise ValueError("a diagnosis never fails the grading")


@pytest.mark.parametrize("fn,visibility,want", [
    ("explain", "public", "why: 1 vs 2 True"),
    ("explain", "hidden", "why: 1 vs 2 False"),
    ("broken", "public", None),
    ("missing", "public", None),
])
def test_diagnosis_run(fn, visibility, want):
    from autograder import diagnosis
    from autograder.cases import Diagnosis

    params = {"hint": "why"} if fn == "explain" else {}
    case = Case(id="c", function="m.f", inputs={}, steps=[], checks=[], visibility=visibility,
                diagnosis=Diagnosis(fn, ("a",), params))
    assert diagnosis.run(case, {"a": 1}, {"a": 2}, _Module) == want


def test_divergence_hides_expected_values_of_hidden_cases():
    from autograder.diagnosis import first_divergence

    got = [{"m": np.array([1.0, 2.0]), "w": np.zeros(2)}, {"m": np.array([1.0, 5.0])}]
    want = [{"m": np.array([1.0, 2.0]), "w": np.zeros(2)}, {"m": np.array([1.0, 4.0])}]
    where = first_divergence(got, want, ["m", "w"], 1e-6, 1e-8)
    assert (where.step, where.piece) == (2, "m")
    assert where.describe(True) == "`m` differs first at index (1,): expected 4, received 5"
    assert where.describe(False) == "`m` differs first at index (1,) (relative error 0.25)"


# ----------------------------------------------------------------------------- given away
def _arrays_case(id, visibility, **inputs) -> Case:
    return Case(id=id, function="m.f", inputs=inputs, steps=[], checks=[],
                visibility=visibility)


_X = np.random.default_rng(0).standard_normal((6, 5))
GIVEN_AWAY = [
    ("cast", _X.astype(np.float32), True),
    ("sliced", _X[:2, 1:4].copy(), True),
    ("transposed", _X.T.copy(), True),
    ("scaled", 1e-3 * _X, True),
    ("negated-and-doubled", -2 * _X[3:], True),
    ("shifted", _X + 0.25, True),
    ("standardised", (_X - _X.mean()) / _X.std(), True),
    ("affine-float32", (3 * _X.T - 7).astype(np.float32), True),
    ("own-draw", np.random.default_rng(1).standard_normal((6, 5)), False),
    ("too-few-values", _X[0, :3].copy(), False),
    ("integer-labels", np.arange(30.0), False),
]


@pytest.mark.parametrize("hidden,flagged", [c[1:] for c in GIVEN_AWAY],
                         ids=[c[0] for c in GIVEN_AWAY])
def test_hidden_inputs_transformed_from_public_ones_are_found(hidden, flagged):
    from autograder.derived import derivations

    cases = [_arrays_case("pub", "public", x=_X), _arrays_case("hid", "hidden", x=hidden)]
    problems = derivations(cases, {})
    assert bool(problems) == flagged, problems
    outputs = derivations([_arrays_case("pub", "public", x=_X),
                           _arrays_case("hid", "hidden", y=np.ones(3))], {"hid": {"out": hidden}})
    assert bool(outputs) == flagged and (not flagged or "expected `out`" in outputs[0])


def test_a_backward_that_raises_on_a_wrong_forward_names_the_forward():
    expected = _values([0, 0, 2, 2], [0, 0, 0.5, 1.5])
    raised = Outcome("error", "ValueError: too many values to unpack", step=1,
                     values={"out": np.array([0, 0, 9, 9.0])})
    result = judge(_backward_case(), raised, expected, None)
    assert "`relu_forward`, which this case of `relu_backward` runs first" in result.message
    assert "`relu_backward` raised an exception" in result.message
    fine = Outcome("error", "ValueError: boom", step=1, values={"out": np.array([0, 0, 0.5, 1.5])})
    assert "what to fix" not in judge(_backward_case(), fine, expected, None).message


def test_a_backward_right_for_its_wrong_forward_says_so():
    """The consistency context (central differences of the submission's own forward)."""
    from autograder.cases import with_consistency

    x = np.array([-1.5, -0.5, 0.5, 1.5])
    case = with_consistency(_backward_case(), "activations.relu_forward", [ref_x()])
    gradient = next(c for c in case.checks if c.kind == "gradient")
    assert gradient.params["context"] and len(gradient.params["indices"]) == 2
    # The submission's forward doubles x; its backward is right for that forward (2 dout).
    values = {"dx": 2 * np.ones(4) * (x > 0), "out": 2 * np.maximum(x, 0)}
    for name, i in zip(gradient.params["plus"], gradient.params["indices"], strict=True):
        values[name] = 2 * np.maximum(x + 1e-6 * (np.arange(4) == i), 0)
    for name, i in zip(gradient.params["minus"], gradient.params["indices"], strict=True):
        values[name] = 2 * np.maximum(x - 1e-6 * (np.arange(4) == i), 0)
    expected = _values([0, 0, 1, 1], [0, 0, 0.5, 1.5])
    result = judge(case, Outcome("ok", values=values), expected, None)
    assert not result.passed and "looks right for the forward pass it was given" in result.message
    values["dx"] = np.ones(4)  # not what the doubled forward gives
    result = judge(case, Outcome("ok", values=values), expected, None)
    assert "`relu_forward`, which this case of" in result.message
    assert "looks right" not in result.message


def ref_x():
    from autograder.cases import ref

    return ref("x")
