"""A second, tiny assignment graded end to end: the framework knows no assignment."""

import json
from pathlib import Path

import pytest

from autograder import assignment as asg
from autograder import grading, public, results, stubgen

TINY = Path(__file__).parent / "fixtures" / "tiny"

WRONG_OPS = (Path(__file__).parent / "fixtures" / "tiny" / "wrong_ops.py").read_text()


@pytest.fixture(scope="module")
def tiny():
    return asg.load(TINY)


@pytest.fixture(scope="module")
def oracle(tiny):
    return grading.Oracle(tiny.solutions)


def _package(tmp_path, ops_source):
    pkg = tmp_path / "tinymath"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "ops.py").write_text(ops_source)
    return pkg


def test_the_toml_is_read_with_weights_and_equal_shares(tiny):
    assert [q.id for q in tiny.questions] == ["squares", "counter"]
    assert tiny.max_score == 6
    assert {f.name: f.points for f in tiny.questions[0].functions} == {
        "ops.square_forward": 2, "ops.square_backward": 2}
    assert len(tiny.cases()) == 5


def test_reference_earns_full_marks(tiny, oracle):
    result = grading.grade_package(tiny, tiny.solutions, oracle, "reference")
    assert (result.score, result.max_score) == (6, 6)
    assert result.isolation


def test_stubs_earn_nothing_and_say_so(tiny, oracle, tmp_path):
    stubgen.generate(tiny.solutions, tmp_path / "tinymath")
    result = grading.grade_package(tiny, tmp_path / "tinymath", oracle, "stubs")
    assert result.score == 0
    messages = [c.message for q in result.questions for f in q.functions for c in f.cases]
    assert all("is not implemented yet" in m for m in messages)


def test_wrong_functions_lose_their_own_points_with_plain_messages(tiny, oracle, tmp_path):
    result = grading.grade_package(tiny, _package(tmp_path, WRONG_OPS), oracle, "wrong")
    by_name = {f.name: f for q in result.questions for f in q.functions}
    forward, backward, counter = (by_name[n] for n in
                                  ("ops.square_forward", "ops.square_backward", "ops.Counter"))
    assert forward.score == 1  # the float32 case fails on dtype only
    assert "wrong dtype: expected float32, received float64" in forward.cases[1].message
    assert backward.score == 0
    assert "largest relative error 0.5" in backward.cases[0].message
    assert "numeric gradient" in backward.cases[1].message
    assert counter.score == 0
    assert 'tinymath/ops.py", line' in counter.cases[0].message
    assert "ValueError: boom" in counter.cases[0].message
    assert "autograder" not in counter.cases[0].message  # no grader frames


def test_hidden_messages_never_show_expected_values(tiny, oracle, tmp_path):
    source = WRONG_OPS.replace("(x * x).astype(np.float64)", "x * x + 1")
    result = grading.grade_package(tiny, _package(tmp_path, source), oracle, "off-by-one")
    cases = {c.id: c for q in result.questions for f in q.functions for c in f.cases}
    assert "expected" in cases["square/basic"].message
    hidden = cases["square/float32"].message
    assert "largest relative error" in hidden and "expected" not in hidden


def test_results_json_follows_gradescope_schema(tiny, oracle):
    result = grading.grade_package(tiny, tiny.solutions, oracle, "reference")
    doc = results.gradescope_results(result)
    assert doc["score"] == 6
    public, *graded = doc["tests"]  # the autograder zip's layout: Otter's
    assert (public["name"], public["visibility"]) == ("Public Tests", "visible")
    assert {t["visibility"] for t in graded} == {"hidden"}
    assert sum(t["max_score"] for t in graded) == pytest.approx(6)
    assert all(t["name"].startswith("ops.") for t in graded)
    json.dumps(doc)


def test_public_store_round_trip_grades_the_same(tiny, oracle, tmp_path):
    public.save(tiny.cases(), oracle, tmp_path)
    cases, store = public.load(tmp_path)
    assert {c.id for c in cases} == {c.id for c in tiny.cases() if c.visibility == "public"}
    text = (tmp_path / "public_cases.json").read_text()
    assert "float32" not in text  # the hidden case's id does not ship
    only_public = grading.GradeOptions(visibility=("public",))
    for pkg, name in ((tiny.solutions, "ref"), (_package(tmp_path, WRONG_OPS), "wrong")):
        from_store = grading.grade_package(tiny, pkg, grading.Oracle(store=store), name,
                                           only_public, cases=cases)
        direct = grading.grade_package(tiny, pkg, oracle, name, only_public)
        assert from_store.score == direct.score


def test_a_stub_called_first_is_named_in_the_message(tiny, oracle, tmp_path):
    source = WRONG_OPS.replace("def square_forward(x):\n    return (x * x).astype(np.float64), x",
                               "def square_forward(x):\n    raise NotImplementedError("
                               "'square_forward: square x')")
    result = grading.grade_package(tiny, _package(tmp_path, source), oracle, "half-done")
    backward = next(f for q in result.questions for f in q.functions
                    if f.name == "ops.square_backward")
    assert "`square_backward` cannot be checked yet: `square_forward`, which this case " \
           "calls first, is not implemented yet (square x)" in backward.cases[0].message


def test_check_refuses_an_unknown_question(tmp_path):
    from autograder.checker import check

    with pytest.raises(SystemExit, match="no question 'nope'; the questions are: squares"):
        check("nope", path=TINY / "solutions", assignment=TINY)


def test_check_runs_from_a_python_named_through_a_relative_part(tmp_path):
    """`../.venv/bin/python -m autograder.cli check`: its sys.executable keeps the `..`,
    which the sandbox, without this folder, cannot go through."""
    import os
    import subprocess
    import sys

    (tmp_path / "bundle").mkdir()
    python = os.path.relpath(sys.executable, tmp_path / "bundle")
    done = subprocess.run([python, "-m", "autograder.cli", "check", "--path",
                           str(TINY / "solutions"), "--assignment", str(TINY), "--no-color"],
                          capture_output=True, text=True, cwd=tmp_path / "bundle")
    assert done.returncode == 0, done.stderr
    assert "PASS Squares" in done.stdout


def test_check_says_plainly_when_the_sandbox_cannot_start(monkeypatch, capsys):
    from autograder import checker
    from autograder.cli import main
    from autograder.session import WorkerFailed

    def refuse(*args, **kwargs):
        raise WorkerFailed("bwrap: execvp /x/python: No such file or directory")

    monkeypatch.setattr(checker, "grade_package", refuse)
    code = main(["check", "--path", str(TINY / "solutions"), "--assignment", str(TINY)])
    err = capsys.readouterr().err
    assert code == 2
    assert "could not start the sandbox that runs your code" in err
    assert "not of your code" in err and "bwrap: execvp /x/python" in err
    assert "Traceback" not in err


def test_an_import_error_is_explained_once_with_a_hint(tmp_path):
    import io

    from autograder.checker import check

    _package(tmp_path, "import pandas_is_not_here\n" + WRONG_OPS)
    stream = io.StringIO()
    check(path=tmp_path, assignment=TINY, color=False, stream=stream)
    out = stream.getvalue()
    assert out.count("No module named 'pandas_is_not_here'") == 1
    assert out.count("importing `tinymath.ops` failed, so none of its functions can run") == 3
    assert out.count("(the same error as above)") == 2
    assert "`pandas_is_not_here` is not installed where your code is graded" in out


def test_feedback_counts_the_cases_that_failed_the_same_way(tiny, oracle, tmp_path):
    pkg = _package(tmp_path, "import pandas_is_not_here\n" + WRONG_OPS)
    result = grading.grade_package(tiny, pkg, oracle, "imports")
    text = results.feedback_markdown(result)
    cases = sum(len(f.cases) for q in result.questions for f in q.functions)
    functions = sum(len(q.functions) for q in result.questions)
    assert text.count("No module named 'pandas_is_not_here'") == functions
    assert text.count("more case") == sum(
        len(f.cases) > 1 for q in result.questions for f in q.functions)
    assert cases > functions


def test_results_json_shows_a_repeated_error_once_per_test(tiny, oracle, tmp_path):
    pkg = _package(tmp_path, "import pandas_is_not_here\n" + WRONG_OPS)
    public, *tests = results.gradescope_results(
        grading.grade_package(tiny, pkg, oracle, "x"))["tests"]
    assert tests and all(t["output"].count("No module named 'pandas_is_not_here'") == 1
                         for t in tests)
    assert public["output"].count("No module named 'pandas_is_not_here'") <= len(tests)


def test_a_missing_function_is_named_not_taken_for_an_import_error(tiny, oracle, tmp_path):
    reference = (TINY / "solutions" / "tinymath" / "ops.py").read_text()
    source = reference.replace("def square_backward(", "def square_backwards(")
    assert source != reference
    result = grading.grade_package(tiny, _package(tmp_path, source), oracle, "renamed")
    functions = {f.name: f for q in result.questions for f in q.functions}
    message = functions["ops.square_backward"].cases[0].message
    assert "`square_backward` is missing: `tinymath/ops.py` has no 'square_backward' " \
           "(keep the starter code's names)" in message
    assert "importing" not in message
    assert functions["ops.square_forward"].status == "passed"


def test_check_prints_no_terminal_escape_a_submission_raised(tmp_path):
    import io

    from autograder.checker import check

    _package(tmp_path, 'raise ValueError("\\x1b[2J\\x1b]0;owned\\x07cleared\\rover")\n'
             + WRONG_OPS)
    stream = io.StringIO()
    check(path=tmp_path, assignment=TINY, color=False, stream=stream)
    out = stream.getvalue()
    assert "cleared" in out
    assert not any(ch in out for ch in "\x1b\x07\r")
