"""The graded cases catch common student mistakes, through the real sandboxed worker.

Each mutant of `mutants.py` is the reference package with one definition replaced; graded
on the cases of its function only, it must lose points there, and its messages must say
why: an optimizer's name the first call that leaves the reference, a known mistake is
named (DIAGNOSED), a hidden case shows no expected value. A mistake in a forward pass
graded on its backward's cases names the forward pass (BLAMED). The unmodified reference
must earn full marks everywhere.
"""

import re
import shutil
from pathlib import Path

import pytest
from mutants import MUTANTS, Mutant

from autograder import assignment as asg
from autograder.grading import Oracle, grade_package

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "solutions" / "nntrain"


@pytest.fixture(scope="module")
def assignment():
    return asg.load(ROOT / "assignments" / "training_dnn")


@pytest.fixture(scope="module")
def oracle():
    return Oracle(REFERENCE)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _id(mutant: Mutant) -> str:
    return f"{mutant.function.split('.', 1)[1]}:{_slug(mutant.description)}"


def _build(mutant: Mutant, folder: Path) -> Path:
    """A copy of the reference package with the mutant's definition appended."""
    package = folder / "nntrain"
    shutil.copytree(REFERENCE, package, ignore=shutil.ignore_patterns("__pycache__"))
    module = package / f"{mutant.module}.py"
    module.write_text(module.read_text() + "\n\n# mutant\n" + mutant.source)
    return package


def _function_result(result, name):
    return next(f for q in result.questions for f in q.functions if f.name == name)


# Known mistakes the diagnosis must name, in every failing case of the function.
DIAGNOSED = {
    "sgd_momentum:v-rho-v-dw-w-lr-v-sign-error": "the velocity accumulates -dw",
    "sgd_momentum:dampened-v-rho-v-1-rho-dw": "a dampened velocity",
    "sgd_momentum:velocity-not-stored-in-config": "the velocity is not carried",
    "sgd_momentum:v-rho-v-lr-dw-w-v-the-learning-rate-inside-v":
        "momentum written as v = momentum * v - learning_rate * dw",
    "nesterov_momentum:plain-momentum-step-w-v": "Nesterov written as plain momentum",
    "nesterov_momentum:old-and-new-velocity-swapped": "the old and new velocities swapped",
    "adagrad:epsilon-inside-the-square-root": "epsilon inside the square root",
    "adagrad:no-accumulation-g2-dw-2": "not accumulated",
    "rmsprop:decay-rate-and-1-decay-swapped": "decay_rate and 1 - decay_rate swapped",
    "rmsprop:epsilon-inside-the-square-root": "epsilon inside the square root",
    "adam:t-incremented-after-the-bias-correction": "t incremented after its use",
    "adam:t-off-by-one-first-step-uses-t-2": "t counted from 1",
    "adam:epsilon-inside-the-square-root-d2l-s-form": "epsilon inside the square root",
    "adam:no-bias-correction": "no bias correction",
    "adam:beta1-and-beta2-swapped": "beta1 and beta2 swapped",
    "adam:no-bias-correction-and-epsilon-inside-the-square-root":
        "no bias correction",  # with eps inside too, where that changes the numbers
    "adam:weight-decay-ignored": "weight decay ignored",
    "adam:moments-not-carried-over-m-v-restart-each-call": "m and v are not carried",
    "adamw:coupled-decay-adam-s-l2-instead-of-decoupled":
        "coupled instead of decoupled weight decay",
    "adamw:decay-scaled-by-the-learning-rate": "the decay multiplied by the learning rate",
    "adamw:schedule-multiplier-applied-to-the-adam-step-only":
        "schedule_multiplier applied to the Adam step only",
    "adamw:epsilon-inside-the-square-root": "epsilon inside the square root",
    "adamw:t-incremented-after-the-bias-correction": "t incremented after its use",
    "dropout_forward:p-taken-as-the-drop-probability": "p taken as the probability of DROPPING",
    "dropout_forward:kept-units-not-scaled-by-1-p": "not scaled by 1 / p",
}
REVEALED = re.compile(r"expected -?\d+(\.\d+|e[-+]?\d+)")  # an expected value, shown


def test_mutant_ids_are_unique():
    ids = [_id(m) for m in MUTANTS]
    assert len(ids) == len(set(ids))


def test_reference_earns_full_marks(assignment, oracle, tmp_path):
    package = tmp_path / "nntrain"
    shutil.copytree(REFERENCE, package, ignore=shutil.ignore_patterns("__pycache__"))
    result = grade_package(assignment, package, oracle, "reference")
    failed = [c.message for q in result.questions for f in q.functions
              for c in f.cases if not c.passed]
    assert failed == []
    assert result.max_score == 110
    assert result.score == sum(q.points for q in result.questions)


@pytest.mark.parametrize("mutant", MUTANTS, ids=_id)
def test_mutant_is_caught(mutant, assignment, oracle, tmp_path):
    cases = [c for c in assignment.cases() if c.function == mutant.function]
    result = grade_package(assignment, _build(mutant, tmp_path), oracle, _id(mutant),
                           cases=cases)
    function = _function_result(result, mutant.function)
    assert function.score < function.points, f"not caught: {mutant.description}"
    failed = [c for c in function.cases if not c.passed]
    for case in failed:
        if case.visibility == "hidden":
            assert not REVEALED.search(case.message), case.message
        if mutant.function.startswith("optim.") and case.status == "failed" \
                and mutant.function != "optim.sgd":
            assert "first leave the reference's at call" in case.message, case.message
    words = DIAGNOSED.get(_id(mutant))
    if words:
        wrong = [c.message for c in failed if c.status == "failed"]
        assert wrong and all(words in message for message in wrong), wrong


# A forward pass's mistake, graded on its backward's cases: the message names the forward.
BLAMED = [
    ("activations.relu_forward", "zeroes the negatives of x in place", "activations.relu_backward",
     "`relu_forward` wrote into one of its input arrays"),
    ("activations.leaky_relu_forward", "alpha applied on the positive side",
     "activations.leaky_relu_backward", "`leaky_relu_forward`, which this case of"),
    ("activations.tanh_forward", "writes tanh into x in place", "activations.tanh_backward",
     "`tanh_forward` wrote into one of its input arrays"),
    ("activations.maxout_forward", "biases swapped between the pieces",
     "activations.maxout_backward", "`maxout_forward`, which this case of"),
    ("normalization.batchnorm_forward", "eps outside the square root",
     "normalization.batchnorm_backward", "`batchnorm_forward`, which this case of"),
    ("regularization.dropout_forward", "p taken as the drop probability",
     "regularization.dropout_backward", "p taken as the probability of DROPPING"),
    ("regularization.dropout_forward", "mask drawn for (N, D) only: rand(x.shape[0], x.shape[1])",
     "regularization.dropout_backward", "`dropout_forward`, which this case calls first, raised"),
]


@pytest.mark.parametrize("forward,description,backward,words", BLAMED,
                         ids=[f"{b[2].split('.')[1]}:{_slug(b[1])}" for b in BLAMED])
def test_wrong_forward_is_named_in_backward_cases(forward, description, backward, words,
                                                  assignment, oracle, tmp_path):
    mutant = next(m for m in MUTANTS if m.function == forward and m.description == description)
    cases = [c for c in assignment.cases() if c.function == backward]
    result = grade_package(assignment, _build(mutant, tmp_path), oracle, "blamed", cases=cases)
    messages = [c.message for c in _function_result(result, backward).cases if not c.passed]
    assert messages and any(words in message for message in messages), messages
    assert all(forward.split(".")[1] in message for message in messages), messages
