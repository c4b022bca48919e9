"""The graded cases catch common student mistakes, through the real sandboxed worker.

Each mutant of `mutants.py` is the reference package with one definition replaced; graded
on the cases of its function only, it must lose points there. The unmodified reference
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
