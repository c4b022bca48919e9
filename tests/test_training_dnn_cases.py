"""The graded cases of assignments/training_dnn, run in-process against the reference."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from autograder import assignment as asg
from autograder import worker as wire
from autograder.grading import judge
from autograder.session import ReferenceSession

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = asg.load(ROOT / "assignments" / "training_dnn")
CASES = ASSIGNMENT.cases()
CHECKS = ASSIGNMENT.checks()

SPEC_FUNCTIONS = {
    "activations": [f"{name}_{way}" for name in
                    ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "maxout")
                    for way in ("forward", "backward")],
    "weight_init": ["small_random_init", "xavier_init", "he_init"],
    "normalization": ["batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
                      "layernorm_forward", "layernorm_backward"],
    "regularization": ["dropout_forward", "dropout_backward", "l2_regularization",
                       "l1_regularization", "ema_update", "random_horizontal_flip",
                       "random_crop", "random_contrast", "add_gaussian_noise",
                       "EarlyStopping"],
    "optim": ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam",
              "adamw"],
    "schedules": ["step_decay", "exponential_decay", "inverse_time_decay",
                  "cosine_warm_restarts"],
    "preprocessing": ["fit_center", "apply_center", "fit_standardize", "apply_standardize"],
}
GRADED = sorted(f"{module}.{name}" for module, names in SPEC_FUNCTIONS.items()
                for name in names)
QUESTIONS = ["activations", "weight_init", "normalization", "dropout_regularization",
             "augmentation_early_stopping_ema", "optimizers", "schedules", "preprocessing",
             "torch_training", "mode_connectivity"]

# Parameters of a backward pass -> the gradients its numeric case must check.
NUMERIC_GRADIENTS = {
    "activations.prelu_backward": {"x", "alpha"},
    "activations.maxout_backward": {"x", "W1", "b1", "W2", "b2"},
    "normalization.batchnorm_backward": {"x", "gamma", "beta"},
    "normalization.batchnorm_backward_alt": {"x", "gamma", "beta"},
    "normalization.layernorm_backward": {"x", "gamma", "beta"},
}
BACKWARD = [f for f in GRADED if "_backward" in f]

GARBAGE = {
    "none": None, "string": "oops", "number": 3.5, "bool": True, "list": [1.0, 2.0],
    "dict": {"a": np.ones(2)}, "int-array": np.arange(6), "bool-array": np.ones(3, bool),
    "scalar-array": np.array(1.5), "nan-array": np.full((2, 3), np.nan),
    "unsupported": wire.Unsupported("object"), "empty": np.zeros((0,)),
}


@pytest.fixture(scope="module")
def outcomes():
    """Each case's outcome on the reference, run once."""
    session = ReferenceSession(ROOT / "solutions" / "nntrain")
    return {case.id: session.run(case) for case in CASES}


def _resolve(params: dict, case) -> dict:
    return {k: case.inputs[v["$ref"]] if isinstance(v, dict) and set(v) == {"$ref"} else v
            for k, v in params.items()}


# ----------------------------------------------------------------------------- the toml
def test_questions_and_points():
    assert [q.id for q in ASSIGNMENT.questions] == QUESTIONS
    assert ASSIGNMENT.max_score == 110  # mode_connectivity's 5 are extra credit
    for q in ASSIGNMENT.questions:
        assert sum(f.points for f in q.functions) == pytest.approx(q.points)


def test_every_spec_function_in_exactly_one_question():
    names = [f.name for q in ASSIGNMENT.questions for f in q.functions]
    assert len(names) == len(set(names))
    assert set(GRADED) <= set(names)


def test_case_ids_are_unique_and_described():
    assert len({c.id for c in CASES}) == len(CASES)
    assert all(c.description for c in CASES)


@pytest.mark.parametrize("function", GRADED)
def test_function_has_public_and_hidden_cases(function):
    counts = Counter(c.visibility for c in CASES if c.function == function)
    assert counts["public"] >= 1 and counts["hidden"] >= 1
    assert sum(counts.values()) >= 3


@pytest.mark.parametrize("function", BACKWARD)
def test_backward_has_numeric_gradient_case(function):
    checked = {check.params["wrt"] for c in CASES if c.function == function
               for check in c.checks if check.kind == "gradient"}
    assert checked >= NUMERIC_GRADIENTS.get(function, {"x"})


def test_cases_are_reproducible():
    again = {c.id: c for c in asg.load(ASSIGNMENT.root).cases()}
    for case in CASES:
        first, second = {}, {}
        wire.encode(case.inputs, first)
        wire.encode(again[case.id].inputs, second)
        assert all(np.array_equal(first[k], second[k]) for k in first), case.id


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_inputs_cross_the_wire(case):
    arrays: dict = {}
    assert "$unsupported" not in repr(wire.encode(case.inputs, arrays))


# ----------------------------------------------------------------------------- the reference
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_reference_passes(case, outcomes):
    outcome = outcomes[case.id]
    assert outcome.status == "ok", outcome.message
    assert outcome.modified == []
    assert set(case.returns) <= set(outcome.values)
    result = judge(case, outcome, outcome, CHECKS)
    assert result.passed, result.message


# ----------------------------------------------------------------------------- the checks
PROPERTY_CHECKS = [(c, check) for c in CASES for check in c.checks if check.kind == "property"]


def test_every_check_function_is_used():
    public = {name for name in vars(CHECKS) if not name.startswith("_")
              and callable(getattr(CHECKS, name)) and name != "np"}
    assert public == {check.fn for _, check in PROPERTY_CHECKS}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_checks_answer_garbage_with_a_message(garbage):
    seen = set()
    for case, check in PROPERTY_CHECKS:
        if check.fn in seen:
            continue
        seen.add(check.fn)
        message = getattr(CHECKS, check.fn)(garbage, **_resolve(check.params, case))
        assert isinstance(message, str) and message, (check.fn, garbage)


def _near_misses(x: np.ndarray) -> dict:
    """Arrays shaped like the input `x` but wrong in value or dtype."""
    return {"zeros": np.zeros_like(x), "doubled": 2 * x, "nan": np.full_like(x, np.nan),
            "float16": x.astype(np.float16), "transposed": x.T.copy()}


@pytest.mark.parametrize("case, check", [(c, k) for c, k in PROPERTY_CHECKS
                                         if "x" in k.params],
                         ids=lambda v: getattr(v, "id", None) or v.fn)
def test_checks_answer_near_misses(case, check):
    params = _resolve(check.params, case)
    for name, value in _near_misses(np.asarray(params["x"])).items():
        message = getattr(CHECKS, check.fn)(value, **params)
        assert message is None or isinstance(message, str), name


def test_generating_the_cases_leaves_the_digits_for_later():
    """Cases are made without scikit-learn's import (a second); the digits split is loaded
    when a case that needs it is first run or judged (grading only NumPy questions never)."""
    import subprocess
    import sys

    code = ("import sys; from autograder import assignment as asg; "
            "cases = asg.load(sys.argv[1]).cases(); "
            "print(len(cases), 'sklearn' in sys.modules, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(ASSIGNMENT.root)],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(len(CASES)), "False", "False"]


# ----------------------------------------------------------------------------- diagnoses, leaks
def test_known_mistakes_ship_with_the_grader_not_the_students(tmp_path):
    """mistakes.py holds the update rules with one mistake each: grader side only. The
    diagnoses (where a trajectory leaves the reference) ship to both."""
    from autograder import build, diagnosis

    build._assignment_files(ASSIGNMENT, tmp_path / "student", {}, cases=False)
    build._assignment_files(ASSIGNMENT, tmp_path / "grader", {"cases": "cases.py"}, cases=True)
    student = asg.load(tmp_path / "student")
    grader = asg.load(tmp_path / "grader")
    assert not (tmp_path / "student" / "mistakes.py").exists()
    assert "mistakes" not in student.raw and grader.raw["mistakes"] == "mistakes.py"
    for side in (student, grader):
        module = diagnosis.load(side.root, side.raw, side.root.name)
        assert module is not None and callable(module.optimizer)
    assert (student.root / "diagnoses.py").read_text() == \
        (ASSIGNMENT.root / "diagnoses.py").read_text()
    assert "def _adam(" not in (student.root / "diagnoses.py").read_text()


def test_a_public_optimizer_case_keeps_its_diagnosis_in_the_students_file(tmp_path):
    from autograder import public
    from autograder.grading import Oracle

    cases = [c for c in CASES if c.id.startswith("adam/") and c.visibility == "public"]
    public.save(cases, Oracle(ASSIGNMENT.solutions), tmp_path)
    loaded, store = public.load(tmp_path)
    assert [c.diagnosis for c in loaded] == [c.diagnosis for c in cases]
    assert all(set(c.diagnosis.values) <= set(store[c.id].values) for c in loaded)


def test_every_stateful_case_asks_for_a_diagnosis():
    for case in CASES:
        if case.function.startswith("optim."):
            assert case.diagnosis and case.diagnosis.fn == "optimizer", case.id
            assert set(case.diagnosis.values) <= set(case.returns)


def test_no_hidden_case_is_a_public_one_transformed():
    """The build's check, on the cases and expected values that need no training."""
    from autograder.derived import derivations

    cheap = [c for c in CASES if not isinstance(c.inputs, wire.LazyMapping)]
    session = ReferenceSession(ASSIGNMENT.solutions)
    outputs = {c.id: session.run(c).values for c in cheap if c.needs_reference}
    assert derivations(cheap, outputs) == []
