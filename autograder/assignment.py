"""An assignment as the framework sees it: `assignment.toml` plus its case generator.

The framework knows nothing of any one assignment; everything specific lives in the
assignment's folder::

    assignments/<name>/
        assignment.toml   questions, points, graded functions, limits, file locations
        cases.py          `generate() -> list[Case]`, public and hidden (grader side only)
        checks.py         property checks named by cases (public; ships to students)

`assignment.toml`::

    name = "training_dnn"
    title = "Training Deep Neural Networks"
    package = "nntrain"                       # the student package's import name
    solutions = "../../solutions/nntrain"     # relative to the assignment folder
    starter = "../../starter_code/nntrain"
    cases = "cases.py"
    checks = "checks.py"

    [limits]                                  # defaults for every case and submission
    case_seconds = 20
    submission_seconds = 600
    cpu_seconds = 600
    memory_mb = 4096

    [[questions]]
    id = "activations"
    title = "Activation functions"
    points = 14
    functions = ["activations.relu_forward", ...]   # equal shares of the points
    # or: functions = [{name = "...", points = 2}, ...]
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from autograder.cases import Case


@dataclass(frozen=True)
class Function:
    """One graded function and its share of its question's points."""

    name: str
    points: float
    question: str


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    points: float
    functions: tuple[Function, ...]
    extra_credit: bool = False


@dataclass
class Assignment:
    """A loaded assignment. `cases()` needs the grader-side case generator."""

    root: Path
    name: str
    title: str
    package: str
    questions: list[Question]
    limits: dict
    solutions: Path | None
    starter: Path | None
    cases_file: Path | None
    checks_file: Path | None
    raw: dict = field(default_factory=dict)
    _cases: list[Case] | None = None
    _checks: ModuleType | None = None

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions if not q.extra_credit)

    def functions(self) -> dict[str, Function]:
        return {f.name: f for q in self.questions for f in q.functions}

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(f"no question {qid!r}; questions: {[q.id for q in self.questions]}")

    def cases(self) -> list[Case]:
        """All cases, public and hidden, from the case generator (grader side only)."""
        if self._cases is None:
            if self.cases_file is None or not self.cases_file.exists():
                raise FileNotFoundError(f"{self.name}: no case generator at {self.cases_file}")
            module = _load_module(self.cases_file, f"_assignment_{self.name}_cases")
            self._cases = list(module.generate())
            self._validate(self._cases)
        return self._cases

    def checks(self) -> ModuleType | None:
        """The assignment's property checks module (public)."""
        if self._checks is None and self.checks_file and self.checks_file.exists():
            self._checks = _load_module(self.checks_file, f"_assignment_{self.name}_checks")
        return self._checks

    def _validate(self, cases: list[Case]):
        known = self.functions()
        seen: set[str] = set()
        for case in cases:
            if case.function not in known:
                raise ValueError(f"case {case.id!r} grades {case.function!r}, in no question")
            if case.id in seen:
                raise ValueError(f"duplicate case id {case.id!r}")
            if case.visibility not in ("public", "hidden"):
                raise ValueError(f"case {case.id!r}: visibility {case.visibility!r}")
            seen.add(case.id)
        missing = set(known) - {c.function for c in cases}
        if missing:
            raise ValueError(f"functions without cases: {sorted(missing)}")


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _functions(entry: dict, qid: str) -> tuple[Function, ...]:
    items = entry["functions"]
    plain = [f for f in items if isinstance(f, str)]
    if plain and len(plain) != len(items):
        raise ValueError(f"question {qid}: mix of plain and weighted functions")
    if plain:
        share = float(entry["points"]) / len(items)
        return tuple(Function(name, share, qid) for name in items)
    return tuple(Function(f["name"], float(f["points"]), qid) for f in items)


def _path(root: Path, value) -> Path | None:
    return (root / value).resolve() if value else None


def find(start: Path | str = ".") -> Path:
    """The assignment folder for work in `start`: the nearest `assignment/` (a student
    bundle) or, in an instructors' repository, the only folder of `assignments/`.
    """
    here = Path(start).resolve()
    for folder in [here, *here.parents]:
        if (folder / "assignment" / "assignment.toml").exists():
            return folder / "assignment"
        found = sorted((folder / "assignments").glob("*/assignment.toml"))
        if len(found) == 1:
            return found[0].parent
        if len(found) > 1:
            names = ", ".join(p.parent.name for p in found)
            raise LookupError(f"several assignments in {folder / 'assignments'} ({names}): "
                              "name one with --assignment")
    raise LookupError(f"no assignment found from {here}: pass --assignment PATH")


def load(folder: Path | str) -> Assignment:
    """Read `folder/assignment.toml` (or a path to the toml itself)."""
    path = Path(folder)
    toml_path = path if path.suffix == ".toml" else path / "assignment.toml"
    root = toml_path.parent.resolve()
    data = tomllib.loads(toml_path.read_text())
    questions = []
    for entry in data["questions"]:
        functions = _functions(entry, entry["id"])
        points = float(entry.get("points", sum(f.points for f in functions)))
        questions.append(Question(entry["id"], entry.get("title", entry["id"]), points,
                                  functions, bool(entry.get("extra_credit", False))))
    limits = {"case_seconds": 20.0, "submission_seconds": 600.0, "cpu_seconds": 600,
              "memory_mb": 4096, **data.get("limits", {})}
    return Assignment(
        root=root, name=data.get("name", root.name), title=data.get("title", root.name),
        package=data.get("package", "nntrain"), questions=questions, limits=limits,
        solutions=_path(root, data.get("solutions")), starter=_path(root, data.get("starter")),
        cases_file=_path(root, data.get("cases", "cases.py")),
        checks_file=_path(root, data.get("checks", "checks.py")), raw=data,
    )
