"""The built autograder.zip as an Otter user and Gradescope run it, against `autograder grade`.

`otter run -a autograder.zip UPLOAD` (Otter-Grader 7, installed with this project) and a
temporary folder playing `/autograder` (the zip unpacked into `source/`, `setup.sh` run
once with `NNTRAIN_SKIP_INSTALL=1` and this venv as `NNTRAIN_VENV`, each submission copied
into `submission/`, `run_autograder` executed) must give the same tests, and per function
the same scores as `autograder grade`. One zip is built per module (the tiny assignment:
tests/fixtures/tiny); the real assignment's zip is staged without verification.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from otter.run.run_autograder import AutograderConfig

from autograder import assignment as asg
from autograder import build, gradescope, otter_plugin, otter_tests, stubgen
from autograder.grading import CaseResult, FunctionResult, QuestionResult, SubmissionResult
from autograder.sandbox import reachable

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny"
REAL = ROOT / "assignments" / "training_dnn"
VENV = Path(sys.executable).parent.parent
OTTER = VENV / "bin" / "otter"

TINY_MISTAKES = (TINY / "wrong_ops.py").read_text()

SEEDED_COUNTER = '''
import numpy as np


class Counter:
    """Correct only when NumPy's global generator was seeded with 0 just before."""

    def __init__(self, start=0):
        self.total = start if np.random.random() == 0.5488135039273248 else -100

    def tick(self):
        self.total += 1
        return self.total
'''

# Files at the submission's top that would run code if Otter's process or kernel touched
# them; each writes MARKER.
MARK = "import pathlib; pathlib.Path({marker!r}).write_text('ran')\n"


class _Pickled:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (MARK.format(marker=self.marker),))


def _notebook(code: str) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": code, "metadata": {},
                                  "outputs": [], "execution_count": None}],
                       "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4,
                       "nbformat_minor": 5})


# ----------------------------------------------------------------------------- submissions
def _reference(dest: Path, a):
    shutil.copytree(a.solutions, dest / a.package)


def _stubs(dest: Path, a):
    stubgen.generate(a.solutions, dest / a.package)


def _tiny_mistakes(dest: Path, a):
    _reference(dest, a)
    (dest / a.package / "ops.py").write_text(TINY_MISTAKES)


def _syntax_error(dest: Path, a):
    _reference(dest, a)
    with open(dest / a.package / "ops.py", "a") as handle:
        handle.write("\ndef broken(:\n")


def _zip_left_packed(dest: Path, a):
    with zipfile.ZipFile(dest / "submission.zip", "w") as zf:
        for path in sorted(a.solutions.rglob("*.py")):
            zf.write(path, f"{a.package}/{path.relative_to(a.solutions)}")


def _one_folder_down_with_notebooks(dest: Path, a):
    _reference(dest / "alice", a)
    for name in ("01_first.ipynb", "02_second.ipynb"):
        (dest / "alice" / name).write_text(_notebook("print('hello')"))


def _loose_modules(dest: Path, a):
    dest.mkdir(parents=True, exist_ok=True)
    for path in a.solutions.glob("*.py"):
        shutil.copyfile(path, dest / path.name)


def _not_a_zip(dest: Path, a):
    (dest / "submission.zip").write_bytes(b"this is not a zip archive\n" * 20)


def _relu_at_zero(dest: Path, a):
    _reference(dest, a)
    with open(dest / a.package / "activations.py", "a") as handle:
        handle.write("\n\ndef relu_backward(dout, cache):\n    return dout * (cache >= 0)\n")


def _stub_modules(dest: Path, a, names):
    for name in names:
        if (a.solutions / name).exists():
            stub = stubgen.stub_source((a.solutions / name).read_text())
            (dest / a.package / name).write_text(stub)


def _numpy_parts_with_mistakes(dest: Path, a):
    """The reference's NumPy parts, with ReLU's gradient at 0 wrong and weight_init and the
    PyTorch parts (slow to train) left as stubs."""
    _relu_at_zero(dest, a)
    _stub_modules(dest, a, ["weight_init.py", "torch_tasks.py", "mode_connectivity.py"])


TINY_SUBMISSIONS = [
    # (id, how to make it, expected total out of 6)
    ("reference", _reference, 6),
    ("stubs", _stubs, 0),
    ("dtype-and-factor-mistakes", _tiny_mistakes, 1),
    ("syntax-error", _syntax_error, 0),
    ("zip-left-packed", _zip_left_packed, 6),
    ("one-folder-down-with-notebooks", _one_folder_down_with_notebooks, 6),
    ("loose-modules", _loose_modules, 6),
    ("not-a-zip", _not_a_zip, 0),
]


# ----------------------------------------------------------------------------- helpers
def _make_all(folder: Path, a, table) -> Path:
    for sid, make, _ in table:
        (folder / sid).mkdir(parents=True)
        make(folder / sid, a)
    return folder


def _grade_cli(subs: Path, assignment: Path, out: Path) -> Path:
    # Each submission named: a folder holding a single one would be that one submission.
    named = sorted(str(p) for p in subs.iterdir())
    cmd = [sys.executable, "-m", "autograder.cli", "grade", *named, "-o", str(out),
           "--assignment", str(assignment), "--workers", "2", "--quiet"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return out


def zip_folder(folder: Path, path: Path) -> Path:
    """What a student uploads: the folder's contents, zipped."""
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(file, file.relative_to(folder).as_posix())
    return path


def otter_run(autograder_zip: Path, upload: Path, work: Path) -> dict:
    """`otter run -a autograder_zip upload`, as an Otter user runs it: its results.json."""
    out = work / f"otter-{upload.stem}"
    out.mkdir(parents=True)
    done = subprocess.run([str(OTTER), "run", "-a", str(autograder_zip), "-o", str(out),
                           "--no-logo", str(upload)], cwd=work, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    results["_stdout"] = done.stdout
    return results


def unpack(autograder_zip: Path, root: Path, metadata: dict | None = None) -> Path:
    """An /autograder-shaped root with the zip in source/ and setup.sh run once."""
    for name in ("source", "submission", "results"):
        (root / name).mkdir(parents=True)
    (root / "submission_metadata.json").write_text(json.dumps(metadata or {}))
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
    for name in ("run_autograder", "setup.sh"):  # extractall drops the mode bits
        os.chmod(root / "source" / name, 0o755)
    env = {**os.environ, "NNTRAIN_SKIP_INSTALL": "1", "NNTRAIN_VENV": str(VENV)}
    subprocess.run(["bash", str(root / "source" / "setup.sh")], check=True, env=env,
                   capture_output=True)
    return root


def run_autograder(root: Path, submission: Path | None = None, **env) -> dict:
    """Place `submission`'s files into submission/, run run_autograder, read results."""
    if submission is not None:
        shutil.rmtree(root / "submission")
        shutil.copytree(submission, root / "submission")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "NNTRAIN_VENV": str(VENV), **env}
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=300)
    results = json.loads((root / "results" / "results.json").read_text())
    results["_stdout"] = done.stdout + done.stderr
    return results


def set_config(root: Path, **keys):
    """otter_config.json in the unpacked zip, checked as the build checks it."""
    path = root / "source" / "otter_config.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps(gradescope.otter_config({**config, **keys})))


def graded_scores(results: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"] if "max_score" in t}


def layout(results: dict) -> list[tuple]:
    """The tests of a results.json without their output (which names the submission)."""
    keys = ("name", "score", "max_score", "visibility", "status")
    return [tuple(t.get(k) for k in keys) for t in results["tests"]]


def grade_scores(grade_dir: Path) -> dict[str, float]:
    data = json.loads((grade_dir / "grade.json").read_text())
    return {f["name"]: f["score"] for q in data["questions"] for f in q["functions"]}


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tiny():
    return asg.load(TINY)


@pytest.fixture(scope="module")
def tiny_zip(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    report = build.build(TINY, dist, stream=open(os.devnull, "w"))
    assert report.ok, report.text()
    return dist / "autograder.zip"


@pytest.fixture(scope="module")
def tiny_subs(tmp_path_factory, tiny):
    return _make_all(tmp_path_factory.mktemp("subs"), tiny, TINY_SUBMISSIONS)


@pytest.fixture(scope="module")
def tiny_grades(tmp_path_factory, tiny_subs):
    return _grade_cli(tiny_subs, TINY, tmp_path_factory.mktemp("grades"))


@pytest.fixture
def root(tmp_path, tiny_zip):
    return unpack(tiny_zip, tmp_path / "autograder")


@pytest.fixture(scope="module")
def graded(tmp_path_factory, tiny_zip, tiny_subs):
    """Each tiny submission graded once by `otter run` and once by `run_autograder` (on one
    Gradescope-shaped root with the zip's own config): {sid: (otter's, run_autograder's)}."""
    work = tmp_path_factory.mktemp("graded")
    shared = unpack(tiny_zip, work / "autograder")
    cache = {}

    def get(sid: str) -> tuple[dict, dict]:
        if sid not in cache:
            upload = zip_folder(tiny_subs / sid, work / f"{sid}.zip")
            cache[sid] = (otter_run(tiny_zip, upload, work),
                          run_autograder(shared, tiny_subs / sid))
            for name in ("source", "results", "upload"):
                assert (shared / name).stat().st_mode & 0o777 == 0o700
        return cache[sid]

    return get


# ----------------------------------------------------------------------------- the zip
def test_the_zip_has_otters_layout_and_nothing_secret_where_otter_copies(tiny_zip, tmp_path):
    with zipfile.ZipFile(tiny_zip) as zf:
        zf.extractall(tmp_path)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert modes["run_autograder"] == modes["setup.sh"] == 0o755
    for name in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(tmp_path / name)], check=True)
        assert (tmp_path / name).read_text().startswith("#!/usr/bin/env bash\n")
    assert "otter.run.run_autograder import main" in (tmp_path / "run_otter.py").read_text()
    config = json.loads((tmp_path / "otter_config.json").read_text())
    assert config["plugins"][0] == {otter_plugin.PLUGIN: {}}
    copied = sorted(p.relative_to(tmp_path).as_posix()
                    for d in ("files", "tests") for p in (tmp_path / d).rglob("*"))
    assert copied == [f"files/{otter_plugin.PLACEHOLDER}", "tests/README.md"]
    assert "otter-grader" in (tmp_path / "requirements.txt").read_text()
    assert "otter-grader==7.0" in (tmp_path / "constraints.txt").read_text()


@pytest.mark.parametrize("sid,make,total", TINY_SUBMISSIONS,
                         ids=[s[0] for s in TINY_SUBMISSIONS])
def test_otter_run_equals_run_autograder_and_autograder_grade(graded, tiny_grades, sid, make,
                                                              total):
    otter, gradescope_run = graded(sid)
    assert otter["tests"] == gradescope_run["tests"]
    assert graded_scores(otter) == grade_scores(tiny_grades / sid)
    assert sum(graded_scores(otter).values()) == total
    assert otter["tests"][0]["name"] == "Public Tests"
    assert f"Total Score: {total:.3f} / 6.000" in otter["_stdout"]
    batch = json.loads((tiny_grades / sid / "results.json").read_text())
    assert layout(batch) == layout(gradescope_run)  # a TA sees what the student sees


def test_otter_run_takes_a_students_zip_as_it_is(tiny_zip, tiny_subs, tmp_path):
    upload = tiny_subs / "zip-left-packed" / "submission.zip"
    assert sum(graded_scores(otter_run(tiny_zip, upload, tmp_path)).values()) == 6


def test_broken_submissions_say_why_in_visible_output(graded):
    for results in graded("not-a-zip"):
        public = results["tests"][0]
        assert public["visibility"] == "visible" and public["status"] == "failed"
        assert "could not be graded (bad-archive)" in public["output"]
        assert "could not be graded" in results["output"]
    for results in graded("syntax-error"):
        assert "SyntaxError" in results["tests"][0]["output"]


def test_hidden_case_output_never_shows_in_the_public_summary(graded):
    for results in graded("dtype-and-factor-mistakes"):
        public = results["tests"][0]["output"]
        assert "square/float32" not in public  # hidden cases stay out of the public summary
        forward = next(t for t in results["tests"] if t["name"] == "ops.square_forward")
        assert forward["visibility"] == "hidden" and "square/float32" in forward["output"]


# ----------------------------------------------------------------------------- trust
def _hostile_top(dest: Path, a, marker: Path):
    """The reference, plus files at the top that run code if Otter's process or kernel
    imports, unpickles or executes them."""
    _reference(dest, a)
    code = MARK.format(marker=str(marker))
    for name in ("zmq.py", "asyncio.py", "ipykernel_launcher.py", "json.py", "otter.py",
                 "autograder.py"):
        (dest / name).write_text(code)
    (dest / "tests").mkdir()
    (dest / "tests" / "q1.py").write_text("OK_FORMAT = False\n" + code)
    (dest / ".OTTER_LOG").write_bytes(pickle.dumps(_Pickled(str(marker))))
    (dest / otter_plugin.PLACEHOLDER).write_text(_notebook(code))


@pytest.mark.parametrize("how", ["otter-run", "run_autograder"])
def test_no_student_file_runs_in_otters_process_or_kernel(root, tiny_zip, tiny, tmp_path, how):
    marker = tmp_path / "marker"
    _hostile_top(tmp_path / "sub", tiny, marker)
    if how == "otter-run":
        results = otter_run(tiny_zip, zip_folder(tmp_path / "sub", tmp_path / "s.zip"),
                            tmp_path)
    else:
        (tmp_path / "sub" / "03_notebook.ipynb").write_text(_notebook(MARK.format(
            marker=str(marker))))  # notebooks at the top: Otter's runner never sees them
        results = run_autograder(root, tmp_path / "sub")
    assert not marker.exists()
    assert sum(graded_scores(results).values()) == 6


def test_a_notebook_at_the_top_is_otter_runs_known_limit_not_gradescopes(
        root, tiny_zip, tiny, tmp_path):
    """The README's "Known limits of `otter run`": Otter's runner counts the notebooks at
    the submission's top (python_runner.py:40-43) before any plugin runs, and the
    placeholder it copied from files/ makes one student notebook two. On Gradescope,
    `run_autograder` moves the student's files aside first: full marks."""
    sub = tmp_path / "sub"
    _reference(sub, tiny)
    (sub / "01_first.ipynb").write_text(_notebook("print('hello')"))
    done = subprocess.run([str(OTTER), "run", "-a", str(tiny_zip), "-o", str(tmp_path),
                           "--no-logo", str(zip_folder(sub, tmp_path / "s.zip"))],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "More than one .ipynb file found in submission" in done.stdout + done.stderr
    assert sum(graded_scores(run_autograder(root, sub)).values()) == 6


# ----------------------------------------------------------------------------- configuration
CONFIGS = [
    # (id, otter_config.json keys, what results.json must say)
    ("points-possible-scales-the-total", {"points_possible": 12}, {"score": 2.0}),
    ("show-hidden", {"show_hidden": True}, {"graded_visibility": "after_published"}),
    ("show-stdout", {"show_stdout": True}, {"stdout_visibility": "after_published"}),
    ("threshold-not-reached", {"score_threshold": 0.5}, {"score": 0}),
]


@pytest.mark.parametrize("cid,config,want", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_otter_config_is_honoured_as_otter_does(cid, config, want):
    """Otter's own `to_gradescope_dict` on the 1-of-6 result, under each key."""
    result = _result([("public", True), ("hidden", False), ("hidden", False),
                      ("hidden", False), ("hidden", False), ("hidden", False)], points=6.0)
    doc = otter_tests.grading_results(result).to_gradescope_dict(AutograderConfig(config))
    graded = {t["visibility"] for t in doc["tests"] if "max_score" in t}
    got = {"score": doc.get("score"), "graded_visibility": graded.pop(),
           "stdout_visibility": doc.get("stdout_visibility")}
    assert {k: got[k] for k in want} == want


def test_otter_config_reaches_otter_on_gradescope(root, tiny_subs):
    set_config(root, points_possible=12, show_hidden=True)
    results = run_autograder(root, tiny_subs / "dtype-and-factor-mistakes")
    assert results["score"] == 2.0
    assert {t["visibility"] for t in results["tests"] if "max_score" in t} == {"after_published"}


# The worker seeds NumPy with 0 before every case anyway (the same grade on every run: the
# reference's Counter scores 2); Otter's `seed` replaces that 0.
@pytest.mark.parametrize("seed,points", [(1, 0)], ids=["seed-1"])
def test_seed_seeds_numpy_before_every_case(root, tmp_path, tiny, seed, points):
    _reference(tmp_path / "sub", tiny)
    with open(tmp_path / "sub" / tiny.package / "ops.py", "a") as handle:
        handle.write(SEEDED_COUNTER)
    set_config(root, seed=seed)
    assert graded_scores(run_autograder(root, tmp_path / "sub"))["ops.Counter"] == points


CONFIG_ERRORS = [
    # (id, keys, what the message must say)
    ("unknown-key", {"isolation": "user"}, "isolation: Otter-Grader 7 has no such key"),
    ("grade-from-log", {"grade_from_log": True}, "unpickle the student's log"),
    ("seed-variable", {"seed_variable": "rng_seed"}, "use `seed`"),
    ("pdf", {"pdf": True}, "PDFs are made from a submitted notebook"),
    ("zips", {"zips": True}, "extract it unchecked"),
    ("not-python", {"lang": "r"}, "grades Python"),
    ("threshold-over-1", {"score_threshold": 50}, "from 0 to 1"),
    ("wrong-type", {"show_hidden": "yes"}, "show_hidden: must be bool"),
    ("bad-plugin-option", {"plugins": [{otter_plugin.PLUGIN: {"isolation": "none"}}]},
     "isolation must be one of"),
]


@pytest.mark.parametrize("cid,keys,message", CONFIG_ERRORS, ids=[c[0] for c in CONFIG_ERRORS])
def test_keys_that_cannot_be_honoured_are_rejected_with_a_reason(cid, keys, message):
    with pytest.raises(gradescope.ConfigError, match="otter_config.json") as raised:
        gradescope.otter_config(keys)
    assert message in str(raised.value)


def test_every_key_otter_knows_is_honoured_or_rejected():
    known = {k for k in vars(AutograderConfig) if not k.startswith("_")
             and k not in ("otter_run", "update", "get_user_config")}
    assert known == set(gradescope.HONOURED) | set(gradescope.REJECTED)


def test_our_plugin_comes_first_and_keeps_its_options():
    config = gradescope.otter_config({"plugins": [
        "otter.plugins.builtin.RateLimiting",
        {otter_plugin.PLUGIN: {"isolation": "user", "grading_seconds": 100}}]})
    assert config["plugins"] == [
        {otter_plugin.PLUGIN: {"isolation": "user", "grading_seconds": 100}},
        "otter.plugins.builtin.RateLimiting"]
    assert gradescope.plugin_options(config).grading_seconds == 100


# ----------------------------------------------------------------------------- plugins
STAMP_PLUGIN = '''
from otter.plugins import AbstractOtterPlugin


class Stamp(AbstractOtterPlugin):
    """An instructor's plugin: adds a line to the output, zeroes one test."""

    def after_grading(self, results):
        results.set_output((results.output or "") + "\\n" + self.plugin_config["line"])
        results.update_score("ops.Counter", 0)
'''


@pytest.fixture(scope="module")
def stamped_zip(tmp_path_factory, tiny):
    """The tiny zip with an instructor's plugin module shipped beside the framework."""
    folder = tmp_path_factory.mktemp("stamped")
    (folder / "plugins").mkdir()
    (folder / "plugins" / "course_plugins.py").write_text(STAMP_PLUGIN)
    config = {"plugins": [{"course_plugins.Stamp": {"line": "stamped by the course"}}]}
    build.stage_autograder(tiny, folder / "staged", config, (folder / "plugins",))
    build.write_zip(folder / "staged", folder / "autograder.zip")
    return folder / "autograder.zip"


def test_an_instructors_plugin_listed_in_the_config_runs(stamped_zip, tiny_subs, tmp_path):
    upload = zip_folder(tiny_subs / "reference", tmp_path / "reference.zip")
    results = otter_run(stamped_zip, upload, tmp_path)
    assert results["output"].endswith("stamped by the course")
    assert graded_scores(results)["ops.Counter"] == 0
    assert graded_scores(results)["ops.square_forward"] == 2


def test_otters_rate_limiting_hides_results_on_gradescope(tiny_zip, tiny_subs, tmp_path):
    metadata = {"created_at": "2026-12-06T10:00:00.000000+00:00", "previous_submissions": [
        {"submission_time": "2026-12-06T09:30:00.000000+00:00"}]}
    root = unpack(tiny_zip, tmp_path / "ag", metadata)
    set_config(root, plugins=[{"otter.plugins.builtin.RateLimiting": {
        "hours": 1, "allowed_submissions": 1}}])
    results = run_autograder(root, tiny_subs / "reference")
    assert "exceeded the rate limit" in results["output"]
    assert {t["visibility"] for t in results["tests"]} == {"hidden"}
    assert sum(graded_scores(results).values()) == 6  # graded, shown to instructors only


def test_a_plugin_that_cannot_be_imported_fails_the_build(tmp_path):
    report = build.build(TINY, tmp_path / "dist", config={"plugins": ["no_such_module.P"]},
                         stream=open(os.devnull, "w"))
    assert not report.ok and "no_such_module.P cannot be imported" in report.text()
    assert not (tmp_path / "dist").exists()


# ----------------------------------------------------------------------------- failures
HARNESS_FAILURES = [
    # (id, how to break the grader, environment)
    ("missing-venv", lambda root: None, {"NNTRAIN_VENV": "/nonexistent/venv"}),
    ("broken-assignment-toml",
     lambda root: (root / "source" / "assignment" / "assignment.toml").write_text("[[x"), {}),
    ("missing-solutions",
     lambda root: shutil.rmtree(root / "source" / "solutions"), {}),
    ("killed-by-hard-timeout", lambda root: None, {"NNTRAIN_HARD_TIMEOUT": "0.05"}),
]


@pytest.mark.parametrize("fid,breaks,env", HARNESS_FAILURES, ids=[f[0] for f in HARNESS_FAILURES])
def test_results_json_is_written_when_the_harness_fails(root, tiny_subs, fid, breaks, env):
    breaks(root)
    results = run_autograder(root, tiny_subs / "reference", **env)
    assert results.get("score", 0) == 0 and not graded_scores(results)
    error = results["tests"][0]
    assert error["name"] in ("Autograder Error", "Autograder Failed")
    assert error["visibility"] == "visible"


SNOOPING = '''

def square_forward(x):
    import os
    root = "{root}"
    for path in (root + "/source/solutions/tinymath/ops.py", root + "/results/results.json",
                 root + "/upload/submission/tinymath/ops.py"):
        try:
            open(path).read()
            raise RuntimeError("READ " + path)
        except OSError:
            pass
    raise RuntimeError("nothing readable")
'''


@pytest.fixture
def world_dir():
    """A folder any uid can traverse (pytest's tmp folders sit in a 0700 one)."""
    folder = Path(tempfile.mkdtemp(prefix="nntrain-gradescope-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def _world_venv(folder: Path) -> Path:
    """A venv that any uid can reach (as setup.sh makes one), with this venv's packages."""
    system = Path("/usr/bin/python3")
    probe = "import sys; sys.exit(sys.version_info[:2] != (3, 11))"
    if not system.exists() or subprocess.run([system, "-c", probe]).returncode:
        pytest.skip("no system Python 3.11 to make a world-reachable venv from")
    venv = folder / "venv"
    subprocess.run([system, "-m", "venv", "--without-pip", venv], check=True)
    site = next(VENV.glob("lib/python3.11/site-packages"))
    world_site = venv / "lib" / "python3.11" / "site-packages"
    if not reachable(site, 65534):
        # This venv is under a folder other users cannot enter (a clone under /root): the
        # sandbox's uid imports NumPy from a copy; the harness (root) gets the rest below.
        for name in ("numpy", "numpy.libs"):
            if (site / name).is_dir():
                shutil.copytree(site / name, world_site / name, symlinks=True)
    (world_site / "tests.pth").write_text(f"{site}\n")
    return venv


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope grades as root")
def test_user_isolation_as_in_gradescopes_container(world_dir, tiny_zip, tmp_path, tiny):
    """Without bwrap (as in Docker): a dropped uid, which cannot read source/, results/ or
    upload/ although every folder above them is world-traversable."""
    venv = _world_venv(world_dir)
    root = unpack(tiny_zip, world_dir / "autograder")
    _reference(tmp_path / "sub", tiny)
    with open(tmp_path / "sub" / "tinymath" / "ops.py", "a") as handle:
        handle.write(SNOOPING.format(root=root))
    set_config(root, plugins=[{otter_plugin.PLUGIN: {"isolation": "user"}}])
    results = run_autograder(root, tmp_path / "sub", NNTRAIN_VENV=str(venv))
    assert "Isolation: unprivileged-user" in results["output"], results["_stdout"][-3000:]
    assert "bwrap" not in results["output"]
    forward = next(t for t in results["tests"] if t["name"] == "ops.square_forward")
    assert "nothing readable" in forward["output"] and "READ" not in forward["output"]
    assert graded_scores(results)["ops.Counter"] == 2


# ----------------------------------------------------------------------------- otter format
def _result(cases: list[tuple[str, bool]], points: float = 4.0,
            extra_credit: bool = False, name: str = "m.f") -> SubmissionResult:
    results = [CaseResult(f"f/{vis}{i}", name, vis, ok, "passed" if ok else "failed",
                          "" if ok else f"f/{vis}{i}: wrong")
               for i, (vis, ok) in enumerate(cases)]
    score = points * sum(c.passed for c in results) / len(results)
    function = FunctionResult(name, "q", points, score, results)
    return SubmissionResult("s", "graded", "", score, 0.0 if extra_credit else points,
                            [QuestionResult("q", "Q", points, score, [function], extra_credit)])


FORMAT_CASES = [
    # (id, cases (visibility, passed), config, expected: top score, graded visibility)
    ("defaults", [("public", True), ("hidden", False)], {}, (None, "hidden")),
    ("all-public-shown", [("public", True), ("public", False)], {"show_all_public": True},
     (None, "visible")),
    ("points-possible", [("public", True), ("hidden", False)], {"points_possible": 50},
     (25.0, "hidden")),
    ("threshold-met", [("public", True), ("hidden", False)],
     {"score_threshold": 0.5, "show_hidden": True}, (4.0, "after_published")),
]


@pytest.mark.parametrize("fid,cases,config,want", FORMAT_CASES, ids=[f[0] for f in FORMAT_CASES])
def test_otter_writes_the_results(fid, cases, config, want):
    doc = otter_tests.grading_results(_result(cases)).to_gradescope_dict(AutograderConfig(config))
    public, graded = doc["tests"]
    assert (doc.get("score"), graded["visibility"]) == want
    assert public == {"name": "Public Tests", "visibility": "visible",
                      "status": "passed" if all(ok for v, ok in cases if v == "public")
                      else "failed", "output": public["output"]}
    assert "f/hidden" not in public["output"]
    assert graded["output"].startswith("m.f results:")
    json.dumps(doc)


def test_extra_credit_shows_above_the_total():
    regular = _result([("public", True)], points=4.0)
    bonus = _result([("public", True)], points=2.0, extra_credit=True, name="m.bonus")
    both = SubmissionResult("s", "graded", "", 6.0, 4.0, regular.questions + bonus.questions)
    results = otter_tests.grading_results(both)
    assert (results.total, results.possible) == (6.0, 4.0)
    doc = results.to_gradescope_dict(AutograderConfig({"points_possible": 100}))
    assert doc["score"] == 150.0
    assert [(t["score"], t["max_score"]) for t in doc["tests"][1:]] == [(4.0, 4.0), (2.0, 0.0)]


def test_case_messages_show_partial_credit_and_notes():
    case = CaseResult("f/one", "m.f", "public", False, "failed", "f/one: slow", 0.5, "cpu")
    assert otter_tests.case_message(case) == (
        "❌ Test case failed (50% of its points)\nf/one: slow\nNote: cpu")


# ----------------------------------------------------------------------------- real assignment
REAL_SUBMISSIONS = [
    # (id, how to make it, (lowest, highest) total, as fractions of every point there is);
    # the reference's full marks on the real assignment are checked by `build` (and by
    # benchmarks/bench_gradescope_otter.py through otter run)
    ("numpy-parts-with-mistakes", _numpy_parts_with_mistakes, (0.5, 0.95)),
]


@pytest.fixture(scope="module")
def real_zip(tmp_path_factory):
    """The real assignment's autograder zip, staged as `build` stages it."""
    a = asg.load(REAL)
    folder = tmp_path_factory.mktemp("real-zip")
    build.stage_autograder(a, folder / "staged")
    build.write_zip(folder / "staged", folder / "autograder.zip")
    return folder / "autograder.zip"


@pytest.fixture(scope="module")
def real_grades(tmp_path_factory):
    a = asg.load(REAL)
    subs = _make_all(tmp_path_factory.mktemp("real-subs"), a, REAL_SUBMISSIONS)
    return subs, _grade_cli(subs, REAL, tmp_path_factory.mktemp("real-grades"))


@pytest.mark.parametrize("sid,make,bounds", REAL_SUBMISSIONS,
                         ids=[s[0] for s in REAL_SUBMISSIONS])
def test_real_assignment_otter_run_matches_autograder_grade(real_zip, real_grades, tmp_path,
                                                            sid, make, bounds):
    subs, grades = real_grades
    results = otter_run(real_zip, zip_folder(subs / sid, tmp_path / f"{sid}.zip"), tmp_path)
    scores = graded_scores(results)
    assert scores == grade_scores(grades / sid)
    every_point = sum(q.points for q in asg.load(REAL).questions)
    low, high = bounds
    assert low <= round(sum(scores.values()) / every_point, 6) <= high
    assert "Isolation: " in results["output"]


# ----------------------------------------------------------------------------- hostile samples
def _load_make_samples():
    import importlib.util

    path = ROOT / "samples" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples_for_otter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Samples of samples/ that attack the grader from inside the worker or the submission's
# top (numpy.py, json.py there), graded on the 15 points of preprocessing + schedules.
HOSTILE = ["reader-solutions", "monkeypatch-worker", "forger-files", "numpy-shadow",
           "zip-symlink"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(the real assignment's zip grading only the samples' questions, the samples)."""
    make = _load_make_samples()
    folder = tmp_path_factory.mktemp("hostile")
    questions = make.read_overlay(HOSTILE[0])["questions"]
    assert all(make.read_overlay(n)["questions"] == questions for n in HOSTILE)
    config = {"plugins": [{otter_plugin.PLUGIN: {"questions": questions}}]}
    build.stage_autograder(asg.load(REAL), folder / "staged", config)
    build.write_zip(folder / "staged", folder / "autograder.zip")
    marker = folder / "marker"
    paths = make.make_samples(folder / "samples", {"marker": str(marker)}, HOSTILE)
    return folder / "autograder.zip", dict(zip(HOSTILE, paths, strict=True)), make, marker


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_samples_gain_nothing_through_otter_run(hostile, tmp_path, name):
    autograder_zip, paths, make, marker = hostile
    path = paths[name]
    upload = path if path.suffix == ".zip" else zip_folder(path, tmp_path / f"{name}.zip")
    results = otter_run(autograder_zip, upload, tmp_path)
    low, high = make.read_overlay(name)["expect"]["score"]
    assert low <= sum(graded_scores(results).values()) <= high
    assert "score" not in results  # nothing forged a total
    assert not list(marker.parent.glob(marker.name + "*"))
