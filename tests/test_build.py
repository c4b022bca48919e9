"""`autograder build`: the student bundle, the Gradescope zip, and the verification that
refuses to write anything when a secret would reach students."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from mutants import MUTANTS

from autograder import assignment as asg
from autograder import build, otter_plugin, stubgen

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny"
REAL = ROOT / "assignments" / "training_dnn"
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _build_cli(assignment: Path, dist: Path, *more: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder.cli", "build", str(assignment), "-o", str(dist),
           *more]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=CLEAN_ENV)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _unzip(path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(path) as zf:
        zf.extractall(dest)
    return dest


@pytest.fixture(scope="module")
def tiny_dist(tmp_path_factory):
    """The tiny assignment built by the CLI into a DIST that already held files."""
    dist = tmp_path_factory.mktemp("dist")
    (dist / "student").mkdir()
    (dist / "student" / "stale.txt").write_text("from an earlier build")
    (dist / "notes.txt").write_text("not the build's")
    done = _build_cli(TINY, dist)
    assert done.returncode == 0, done.stdout + done.stderr
    return dist, done.stdout


# ----------------------------------------------------------------------------- the outputs
def test_bundle_holds_only_what_students_need(tiny_dist):
    dist, _ = tiny_dist
    files = _files(dist / "student")
    assert {f.split("/")[0] for f in files} == {"tinymath", "assignment", "autograder",
                                                "README.md"}
    assert {f for f in files if f.startswith("assignment/")} == {
        "assignment/assignment.toml", "assignment/checks.py",
        "assignment/public_cases.json", "assignment/public_cases.npz"}
    assert not any("__pycache__" in f for f in files)
    toml = tomllib.loads((dist / "student" / "assignment" / "assignment.toml").read_text())
    assert not {"solutions", "starter", "cases"} & set(toml)
    assert toml["checks"] == "checks.py" and len(toml["questions"]) == 2
    assert "NotImplementedError" in (dist / "student" / "tinymath" / "ops.py").read_text()


def test_build_replaces_its_outputs_and_leaves_other_files(tiny_dist):
    dist, _ = tiny_dist
    assert sorted(p.name for p in dist.iterdir()) == [
        "autograder.zip", "notes.txt", "student", "student.zip"]
    assert not (dist / "student" / "stale.txt").exists()


def test_student_zip_holds_the_bundle_in_one_folder(tiny_dist):
    dist, _ = tiny_dist
    with zipfile.ZipFile(dist / "student.zip") as zf:
        names = set(zf.namelist())
        same = all(zf.read(f"tiny/{f}") == (dist / "student" / f).read_bytes()
                   for f in _files(dist / "student"))
    assert names == {f"tiny/{f}" for f in _files(dist / "student")} and same


def test_autograder_zip_has_otters_layout(tiny_dist):
    dist, _ = tiny_dist
    with zipfile.ZipFile(dist / "autograder.zip") as zf:
        names = set(zf.namelist())
        config = json.loads(zf.read("otter_config.json"))
        requirements = zf.read("requirements.txt").decode()
        constraints = zf.read("constraints.txt").decode()
        toml = tomllib.loads(zf.read("assignment/assignment.toml").decode())
    assert {"run_autograder", "setup.sh", "run_otter.py", "otter_config.json",
            "requirements.txt", "constraints.txt", "autograder/gradescope.py",
            "autograder/otter_plugin.py", "assignment/assignment.toml", "assignment/cases.py",
            "assignment/checks.py", "solutions/tinymath/ops.py", "tests/README.md",
            f"files/{otter_plugin.PLACEHOLDER}"} <= names
    assert {n.split("/")[0] for n in names if n.startswith(("files/", "tests/"))} == {
        "files", "tests"} and len([n for n in names if n.startswith(("files/", "tests/"))]) == 2
    assert config == {"lang": "python", "plugins": [{otter_plugin.PLUGIN: {}}]}
    assert "torch==2.13.0" in constraints and "otter-grader==7.0.0" in constraints
    assert "numpy" in requirements and "otter-grader[grading,plugins]" in requirements
    assert "nbformat" not in requirements and "dask" not in requirements
    assert (toml["solutions"], toml["cases"]) == ("../solutions/tinymath", "cases.py")


CONFIG_PLUGIN = """
from otter.plugins import AbstractOtterPlugin


class Note(AbstractOtterPlugin):
    def after_grading(self, results):
        results.set_output("noted")
"""


def test_build_config_takes_otter_config_keys_and_ships_plugin_modules(tmp_path):
    """`--config` is otter_config.json; a plugin module beside it goes into the zip."""
    (tmp_path / "course_notes.py").write_text(CONFIG_PLUGIN)
    config = {"points_possible": 50, "show_hidden": True,
              "plugins": ["course_notes.Note", {otter_plugin.PLUGIN: {"grading_seconds": 300}}]}
    (tmp_path / "otter_config.json").write_text(json.dumps(config))
    done = _build_cli(TINY, tmp_path / "dist", "--config", str(tmp_path / "otter_config.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(tmp_path / "dist" / "autograder.zip") as zf:
        written = json.loads(zf.read("otter_config.json"))
        assert zf.read("course_notes.py").decode() == CONFIG_PLUGIN
    assert written == {"lang": "python", **config, "plugins": [
        {otter_plugin.PLUGIN: {"grading_seconds": 300}}, "course_notes.Note"]}


@pytest.mark.parametrize("config,message", [
    ({"isolation": "user"}, "isolation: Otter-Grader 7 has no such key"),
    ({"grade_from_log": True, "pdf": True}, "grade_from_log: not supported"),
    ({"plugins": [{otter_plugin.PLUGIN: {"questions": ["nope"]}}]}, "no question nope"),
    ({"plugins": ["otter.utils.chdir"]}, "is not an Otter plugin class"),
    ({"plugins": ["json.JSONDecoder"]}, "is neither Otter's (otter.*) nor a module beside"),
], ids=["unknown-key", "rejected-keys", "unknown-question", "not-a-plugin", "not-shippable"])
def test_build_rejects_config_it_cannot_honour(tmp_path, config, message):
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = _build_cli(TINY, tmp_path / "dist", "--config", str(tmp_path / "config.json"))
    assert done.returncode == 1 and message in done.stdout
    assert "[FAIL] otter_config.json" in done.stdout and not (tmp_path / "dist").exists()


def test_build_prints_the_verification_report(tiny_dist):
    _, out = tiny_dist
    for title in ("reference solutions: 6 / 6", "stubs: 0 / 6", "no solution code",
                  "no hidden input", "no hidden case id", "the case generator is not",
                  "autograder zip: loads 5 cases"):
        assert f"[ok] {title}" in out
    assert "[FAIL]" not in out and "student.zip" in out


def test_check_runs_from_the_unpacked_bundle(tiny_dist, tmp_path):
    bundle = _unzip(tiny_dist[0] / "student.zip", tmp_path) / "tiny"
    check = [sys.executable, "-m", "autograder.cli", "check", "--no-color"]
    stubs = subprocess.run(check, cwd=bundle, capture_output=True, text=True, env=CLEAN_ENV)
    assert stubs.returncode == 1 and "Public cases: 0 / 6 points" in stubs.stdout
    shutil.rmtree(bundle / "tinymath")
    shutil.copytree(TINY / "solutions" / "tinymath", bundle / "tinymath")
    code = ("import autograder; from autograder import check; print(autograder.__file__); "
            "check('squares', color=False)")
    done = subprocess.run([sys.executable, "-c", code], cwd=bundle, capture_output=True,
                          text=True, env=CLEAN_ENV)
    assert done.stdout.startswith(str(bundle / "autograder" / "__init__.py"))
    assert "PASS Squares: 4 / 4 points" in done.stdout
    solved = subprocess.run(check, cwd=bundle, capture_output=True, text=True, env=CLEAN_ENV)
    assert solved.returncode == 0 and "Public cases: 6 / 6 points" in solved.stdout


# ----------------------------------------------------------------------------- refusals
def tiny_copy(tmp_path: Path, starter: bool) -> Path:
    """A copy of the tiny assignment; with `starter`, a committed starter folder too."""
    folder = shutil.copytree(TINY, tmp_path / "tiny")
    if starter:
        stubgen.generate(folder / "solutions" / "tinymath", folder / "starter" / "tinymath")
        toml = folder / "assignment.toml"
        toml.write_text(build.rewrite_toml(toml.read_text(), {"starter": "starter/tinymath"}))
    return folder


def _append(path: Path, text: str):
    with open(path, "a") as handle:
        handle.write(text)


def plant_solution_line(folder: Path):
    _append(folder / "starter" / "tinymath" / "ops.py", "\n# return 2 * cache * dout\n")


def plant_hidden_array(folder: Path):
    hidden = next(c for c in asg.load(folder).cases() if c.id == "square/float32")
    np.save(folder / "solutions" / "tinymath" / "table.npy", hidden.inputs["x"])


def plant_hidden_id(folder: Path):
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / "intro.py").write_text(
        "# %% [markdown]\n# The case square/float32 checks float32 inputs.\n\n# %%\nx = 1\n")


def plant_working_stub(folder: Path):
    _append(folder / "starter" / "tinymath" / "ops.py",
            "\n\nclass Counter:\n    def __init__(self, start=0):\n        self.total = start"
            "\n\n    def tick(self):\n        self.total = self.total + 1\n"
            "        return self.total\n")


def plant_wrong_reference(folder: Path):
    ops = folder / "solutions" / "tinymath" / "ops.py"
    ops.write_text(ops.read_text().replace("return 2 * cache * dout", "return 3 * cache * dout"))


PLANTS = [
    # (id, committed starter?, the leak, the check that must fail, words in its details)
    ("solution-line-in-starter", True, plant_solution_line, "no solution code",
     "tinymath/ops.py holds the solution line 'return 2 * cache * dout'"),
    ("hidden-array-in-package-data", False, plant_hidden_array, "no hidden input",
     "tinymath/table.npy holds an input array of hidden case 'square/float32'"),
    ("hidden-id-in-notebook", False, plant_hidden_id, "no hidden case id",
     "intro.ipynb names hidden case 'square/float32'"),
    ("stub-that-scores", True, plant_working_stub, "stubs: 2 / 6", "counter: 2 / 2"),
    ("reference-that-fails", False, plant_wrong_reference, "reference solutions",
     "squares: 3 / 4"),
]


@pytest.mark.parametrize("pid,starter,plant,check,detail", PLANTS, ids=[p[0] for p in PLANTS])
def test_build_refuses_to_write_when_verification_fails(tmp_path, pid, starter, plant,
                                                        check, detail):
    folder = tiny_copy(tmp_path, starter)
    plant(folder)
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "keep.txt").write_text("untouched")
    done = _build_cli(folder, dist)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if "[FAIL]" in line]
    assert any(check in line for line in failed), done.stdout
    assert detail in done.stdout and "nothing was written" in done.stdout
    assert _files(dist) == {"keep.txt"}
    assert not [p for p in tmp_path.iterdir() if "-build-" in p.name]


BOILERPLATE = [
    # (line, whether it is boilerplate rather than solution code)
    ("for _ in range(steps):", True),
    ("with torch.no_grad():", True),
    ("optimizer.zero_grad()", True),
    ("for t in range(1, num_steps + 1):", False),
    ("if self.wait >= self.patience:", False),
    ("dx = dout * (cache > 0)", False),
    ("model.train(was_training)", True),
    ("torch.manual_seed(seed)", True),
    ("self.history.append(loss + penalty)", False),
    ("ema.update(model.parameters())", False),
    ("def _train_epoch(model, optimizer, images):", False),
]


@pytest.mark.parametrize("line,expected", BOILERPLATE, ids=[b[0] for b in BOILERPLATE])
def test_boilerplate_lines_are_not_counted_as_solution_code(line, expected):
    assert build.boilerplate(line) is expected


IDS = [
    # (text of a bundle file, whether it names the hidden case "f/t-0")
    ("see case f/t-0 for details", True),
    ("the case f/t-0.", True),
    ("a public case f/t-0.3", False),
    ("a public case f/t-0-big", False),
    ("a public case g/f/t-0", False),
]


@pytest.mark.parametrize("text,named", IDS, ids=[i[0] for i in IDS])
def test_hidden_case_ids_are_matched_whole(tmp_path, text, named):
    a = asg.load(TINY)
    hidden = next(c for c in a.cases() if c.visibility == "hidden")
    (tmp_path / "notes.md").write_text(text.replace("f/t-0", hidden.id))
    finding = next(f for f in build.secret_findings(a, tmp_path) if "hidden case id" in f.title)
    assert finding.ok is not named


# ----------------------------------------------------------------------------- toml rewrite
TOML = '# header\nname = "a"\nsolutions = "../s"  # where\nstarter = "../t"\n\n' \
       '[limits]\ncase_seconds = 5\n'
REWRITES = [
    # (id, changes, expected text)
    ("removes", {"solutions": None, "starter": None},
     '# header\nname = "a"\n\n[limits]\ncase_seconds = 5\n'),
    ("replaces", {"solutions": "../solutions/p"},
     '# header\nname = "a"\nsolutions = "../solutions/p"\nstarter = "../t"\n\n'
     '[limits]\ncase_seconds = 5\n'),
    ("adds-before-the-first-table", {"cases": "cases.py", "checks": None},
     '# header\nname = "a"\nsolutions = "../s"  # where\nstarter = "../t"\n\n'
     'cases = "cases.py"\n[limits]\ncase_seconds = 5\n'),
]


@pytest.mark.parametrize("rid,changes,expected", REWRITES, ids=[r[0] for r in REWRITES])
def test_rewrite_toml(rid, changes, expected):
    assert build.rewrite_toml(TOML, changes) == expected


def test_rewrite_toml_refuses_what_it_cannot_edit_by_line():
    with pytest.raises(ValueError):
        build.rewrite_toml('solutions = """\n../s\n"""\n', {"solutions": None})


# ----------------------------------------------------------------------------- real assignment
@pytest.fixture(scope="module")
def real_dist(tmp_path_factory):
    """The real assignment built by the CLI, as instructors build it."""
    dist = tmp_path_factory.mktemp("real") / "dist"
    done = _build_cli(REAL, dist)
    assert done.returncode == 0, done.stdout + done.stderr
    return dist, done.stdout


def test_real_assignment_builds_verified(real_dist):
    dist, out = real_dist
    total = f"{asg.load(REAL).max_score:g}"
    assert "full marks on every question" in out and f"[ok] stubs: 0 / {total}" in out
    assert "[FAIL]" not in out
    files = _files(dist / "student")
    assert {"nntrain/activations.py", "assignment/public_cases.json", "README.md",
            "autograder/checker.py"} <= files
    assert "assignment/cases.py" not in files
    assert "assignment/diagnoses.py" in files and "assignment/mistakes.py" not in files
    if (REAL / "notebooks").is_dir():
        assert any(f.endswith(".ipynb") and "/" not in f for f in files)
    readme = (dist / "student" / "README.md").read_text()
    assert "python -m autograder.cli check" in readme and f"| **total** | | **{total}** |" in readme


def test_real_bundle_checks_the_stubs_from_the_unpacked_zip(real_dist, tmp_path):
    bundle = _unzip(real_dist[0] / "student.zip", tmp_path) / "training_dnn"
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "check", "-q",
                           "weight_init", "--no-color"], cwd=bundle, capture_output=True,
                          text=True, env=CLEAN_ENV)
    assert done.returncode == 1, done.stdout + done.stderr
    points = asg.load(REAL).question("weight_init").points
    assert "is not implemented yet" in done.stdout
    assert f"Public cases: 0 / {points:g} points" in done.stdout


def test_real_bundle_says_where_an_update_rule_first_goes_wrong(real_dist, tmp_path):
    """RMSProp with epsilon inside the square root: the student's check names the call
    and the state; naming the mistake is the grader's (mistakes.py is not shipped)."""
    bundle = _unzip(real_dist[0] / "student.zip", tmp_path) / "training_dnn"
    source = (ROOT / "solutions" / "nntrain" / "optim.py").read_text()
    mutant = next(m for m in MUTANTS if m.function == "optim.rmsprop"
                  and m.description.startswith("epsilon inside the square root"))
    (bundle / "nntrain" / "optim.py").write_text(source + "\n\n" + mutant.source)
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "check", "-q",
                           "optimizers", "--no-color"], cwd=bundle, capture_output=True,
                          text=True, env=CLEAN_ENV)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "optim.rmsprop: failed" in done.stdout
    assert "first leave the reference's at call 1" in done.stdout
    assert "known mistake" not in done.stdout


def test_real_bundle_names_a_known_dropout_mistake(real_dist, tmp_path):
    """Dropout's known masks ship with the public cases (the stub states the recipe)."""
    bundle = _unzip(real_dist[0] / "student.zip", tmp_path) / "training_dnn"
    source = (ROOT / "solutions" / "nntrain" / "regularization.py").read_text()
    mutant = next(m for m in MUTANTS if m.description == "p taken as the drop probability")
    (bundle / "nntrain" / "regularization.py").write_text(source + "\n\n" + mutant.source)
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "check", "-q",
                           "dropout_regularization", "--no-color"], cwd=bundle,
                          capture_output=True, text=True, env=CLEAN_ENV)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "known mistake, p taken as the probability of DROPPING a unit" in done.stdout

