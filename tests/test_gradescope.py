"""The built autograder.zip, run the way Gradescope runs it, against `autograder grade`.

A temporary folder plays `/autograder`: the zip unpacked into `source/`, `setup.sh` run
once (`NNTRAIN_SKIP_INSTALL=1`, the venv that runs these tests as `NNTRAIN_VENV`), each
submission copied into `submission/`, `run_autograder` executed, and
`results/results.json` compared, test by test, with what `autograder grade` gives the
same submission.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from autograder import assignment as asg
from autograder import build, gradescope, stubgen
from autograder.grading import CaseResult, FunctionResult, QuestionResult, SubmissionResult
from autograder.sandbox import reachable

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny"
REAL = ROOT / "assignments" / "training_dnn"
VENV = Path(sys.executable).parent.parent

TINY_MISTAKES = (Path(__file__).parent / "fixtures" / "tiny" / "wrong_ops.py").read_text()

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


def _zip_upload(dest: Path, a):
    with zipfile.ZipFile(dest / "submission.zip", "w") as zf:
        for path in sorted(a.solutions.rglob("*.py")):
            zf.write(path, f"{a.package}/{path.relative_to(a.solutions)}")


def _not_a_zip(dest: Path, a):
    (dest / "submission.zip").write_bytes(b"this is not a zip archive\n" * 20)


def _empty(dest: Path, a):
    pass


def _seeded_counter(dest: Path, a):
    _reference(dest, a)
    with open(dest / a.package / "ops.py", "a") as handle:
        handle.write(SEEDED_COUNTER)


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
    ("zip-upload", _zip_upload, 6),
    ("not-a-zip", _not_a_zip, 0),
    ("empty", _empty, 0),
]

REAL_SUBMISSIONS = [
    # (id, how to make it, (lowest, highest) total, as fractions of every point there is);
    # the reference's full marks on the real assignment are checked by `build`; stubs,
    # broken and hostile submissions run on the tiny assignment (the real one is slower)
    ("numpy-parts-with-mistakes", _numpy_parts_with_mistakes, (0.5, 0.95)),
]


# ----------------------------------------------------------------------------- fixtures
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
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
    return out


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


def unpack(autograder_zip: Path, root: Path) -> Path:
    """An /autograder-shaped root with the zip in source/ and setup.sh run once."""
    for name in ("source", "submission", "results"):
        (root / name).mkdir(parents=True)
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
    results["_stdout"] = done.stdout
    return results


def graded_scores(results: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"] if "max_score" in t}


def grade_scores(grade_dir: Path) -> dict[str, float]:
    data = json.loads((grade_dir / "grade.json").read_text())
    return {f["name"]: f["score"] for q in data["questions"] for f in q["functions"]}


@pytest.fixture
def root(tmp_path, tiny_zip):
    return unpack(tiny_zip, tmp_path / "autograder")


# ----------------------------------------------------------------------------- the zip
def test_setup_sh_and_run_autograder_are_valid_bash(tiny_zip, tmp_path):
    with zipfile.ZipFile(tiny_zip) as zf:
        zf.extractall(tmp_path)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert modes["run_autograder"] == modes["setup.sh"] == 0o755
    for name in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(tmp_path / name)], check=True)
        assert (tmp_path / name).read_text().startswith("#!/usr/bin/env bash\n")


@pytest.mark.parametrize("sid,make,total", TINY_SUBMISSIONS,
                         ids=[s[0] for s in TINY_SUBMISSIONS])
def test_results_match_autograder_grade_test_by_test(root, tiny_subs, tiny_grades,
                                                      sid, make, total):
    results = run_autograder(root, tiny_subs / sid)
    assert graded_scores(results) == grade_scores(tiny_grades / sid)
    assert sum(graded_scores(results).values()) == total
    assert results["tests"][0]["name"] == "Public Tests"
    assert f"Total Score: {total:.3f} / 6.000" in results["_stdout"]
    assert str(root / "source" / "autograder") in results["_stdout"]  # the zip's framework
    for name in ("source", "results"):
        assert (root / name).stat().st_mode & 0o777 == 0o700


def test_broken_submissions_say_why_in_visible_output(root, tiny_subs):
    results = run_autograder(root, tiny_subs / "not-a-zip")
    public = results["tests"][0]
    assert public["visibility"] == "visible" and public["status"] == "failed"
    assert "could not be graded" in public["output"]
    syntax = run_autograder(root, tiny_subs / "syntax-error")
    assert "SyntaxError" in syntax["tests"][0]["output"]


def test_hidden_case_output_never_shows_expected_values(root, tiny_subs):
    results = run_autograder(root, tiny_subs / "dtype-and-factor-mistakes")
    public = results["tests"][0]["output"]
    assert "square/float32" not in public  # hidden cases stay out of the public summary
    forward = next(t for t in results["tests"] if t["name"] == "ops.square_forward")
    assert forward["visibility"] == "hidden" and "square/float32" in forward["output"]


CONFIGS = [
    # (id, otter_config.json keys, what results.json must say)
    ("points-possible-scales-the-total", {"points_possible": 12}, {"score": 2.0}),
    ("show-hidden", {"show_hidden": True}, {"graded_visibility": "after_published"}),
    ("show-stdout", {"show_stdout": True}, {"stdout_visibility": "after_published"}),
    ("threshold-not-reached", {"score_threshold": 0.5}, {"score": 0}),
]


@pytest.mark.parametrize("cid,config,want", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_otter_config_is_honoured(root, tiny_subs, cid, config, want):
    (root / "source" / "otter_config.json").write_text(json.dumps(config))
    results = run_autograder(root, tiny_subs / "dtype-and-factor-mistakes")
    graded = {t["visibility"] for t in results["tests"] if "max_score" in t}
    got = {"score": results.get("score"), "graded_visibility": graded.pop(),
           "stdout_visibility": results["stdout_visibility"]}
    assert {k: got[k] for k in want} == want


# The worker seeds NumPy with 0 before every case anyway (the same grade on every run);
# Otter's `seed` replaces that 0.
@pytest.mark.parametrize("seed,points", [(None, 2), (0, 2), (1, 0)],
                         ids=["no-seed-means-0", "seed-0", "seed-1"])
def test_seed_seeds_numpy_before_every_case(root, tmp_path, tiny, seed, points):
    _seeded_counter(tmp_path / "sub", tiny)
    (root / "source" / "otter_config.json").write_text(json.dumps({"seed": seed}))
    assert graded_scores(run_autograder(root, tmp_path / "sub"))["ops.Counter"] == points


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
    assert results["score"] == 0
    error = results["tests"][0]
    assert error["name"] == "Autograder Error" and error["visibility"] == "visible"


SNOOPING = '''

def square_forward(x):
    import os
    root = "{root}"
    for path in (root + "/source/solutions/tinymath/ops.py", root + "/results/results.json"):
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
    """Without bwrap (as in Docker): a dropped uid, which cannot read source/ or results/
    although every folder above them is world-traversable."""
    venv = _world_venv(world_dir)
    root = unpack(tiny_zip, world_dir / "autograder")
    _reference(tmp_path / "sub", tiny)
    _append_source(tmp_path / "sub" / "tinymath" / "ops.py", SNOOPING.format(root=root))
    (root / "source" / "otter_config.json").write_text(json.dumps({"isolation": "user"}))
    results = run_autograder(root, tmp_path / "sub", NNTRAIN_VENV=str(venv))
    assert "Isolation: unprivileged-user" in results["output"]
    assert "bwrap" not in results["output"]
    forward = next(t for t in results["tests"] if t["name"] == "ops.square_forward")
    assert "nothing readable" in forward["output"] and "READ" not in forward["output"]
    assert graded_scores(results)["ops.Counter"] == 2


def _append_source(path: Path, text: str):
    with open(path, "a") as handle:
        handle.write(text)


# ----------------------------------------------------------------------------- otter format
def _result(cases: list[tuple[str, bool]]) -> SubmissionResult:
    results = [CaseResult(f"f/{vis}{i}", "m.f", vis, ok, "passed" if ok else "failed",
                          "" if ok else f"f/{vis}{i}: wrong")
               for i, (vis, ok) in enumerate(cases)]
    score = 4.0 * sum(c.passed for c in results) / len(results)
    function = FunctionResult("m.f", "q", 4.0, score, results)
    return SubmissionResult("s", "graded", "", score, 4.0,
                            [QuestionResult("q", "Q", 4.0, score, [function])])


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
def test_otter_results_format(fid, cases, config, want):
    doc = gradescope.otter_results(_result(cases), gradescope.OtterConfig.from_dict(config))
    public, graded = doc["tests"]
    assert (doc.get("score"), graded["visibility"]) == want
    assert public == {"name": "Public Tests", "visibility": "visible",
                      "status": "passed" if all(ok for v, ok in cases if v == "public")
                      else "failed", "output": public["output"]}
    assert "f/hidden" not in public["output"]
    assert graded["output"].startswith("m.f results:")
    json.dumps(doc)


def test_case_summary_shows_partial_credit_and_notes():
    case = CaseResult("f/one", "m.f", "public", False, "failed", "f/one: slow", 0.5, "cpu")
    assert gradescope.case_summary(case) == (
        "f/one result:\n    ❌ Test case failed (50% of its points)\n    f/one: slow\n"
        "    Note: cpu")


def test_unknown_config_keys_are_ignored_as_otter_does():
    config = gradescope.OtterConfig.from_dict({"pdf": True, "zips": False, "seed": 3})
    assert config.seed == 3 and not config.show_hidden


# ----------------------------------------------------------------------------- real assignment
@pytest.fixture(scope="module")
def real_root(tmp_path_factory):
    """The real assignment's autograder zip (staged as `build` stages it), unpacked."""
    a = asg.load(REAL)
    folder = tmp_path_factory.mktemp("real-zip")
    build.stage_autograder(a, folder / "staged", gradescope.OtterConfig())
    build.write_zip(folder / "staged", folder / "autograder.zip")
    return unpack(folder / "autograder.zip", folder / "autograder")


@pytest.fixture(scope="module")
def real_grades(tmp_path_factory):
    a = asg.load(REAL)
    subs = _make_all(tmp_path_factory.mktemp("real-subs"), a, REAL_SUBMISSIONS)
    return subs, _grade_cli(subs, REAL, tmp_path_factory.mktemp("real-grades"))


@pytest.mark.parametrize("sid,make,bounds", REAL_SUBMISSIONS,
                         ids=[s[0] for s in REAL_SUBMISSIONS])
def test_real_assignment_results_match_autograder_grade(real_root, real_grades,
                                                        sid, make, bounds):
    subs, grades = real_grades
    results = run_autograder(real_root, subs / sid)
    scores = graded_scores(results)
    assert scores == grade_scores(grades / sid)
    every_point = sum(q.points for q in asg.load(REAL).questions)
    low, high = bounds
    assert low <= round(sum(scores.values()) / every_point, 6) <= high
    assert "Isolation: " in results["output"]
