"""This framework's results as Otter-Grader's test objects (`otter.test_files`).

One Otter test file per graded function (named like it: `activations.relu_backward`), one
test case per case. Otter then writes results.json itself
(`GradingResults.to_gradescope_dict`): a visible "Public Tests" summary of the public cases,
then one test per function. Scores are this framework's, exactly: a function's score is set
with `TestFile.update_score` (cases can earn partial credit, which Otter's pass/fail cases
cannot say), and its cases share its points equally.

Extra credit keeps Gradescope's convention: an extra-credit function's cases are worth 0
points, so its test shows `score / 0`, Otter's `possible` is the assignment's total without
extra credit (as `SubmissionResult.max_score`), and `points_possible` / `score_threshold`
scale from that total, so that extra credit goes above it.

A submission that could not be graded (no package, a broken archive) still lists every
function, each with one failed case saying why, worth the function's points. A failure
repeated by the cases after it (one import error, say) is shown in full once per function.
"""

from __future__ import annotations

from otter.test_files import GradingResults, TestCase, TestCaseResult, TestFile

from autograder.grading import CaseResult, FunctionResult, SubmissionResult
from autograder.results import cut, failure_groups
from autograder.text import clean

MESSAGES_BUDGET = 600_000  # characters of case messages in one results.json


class HarnessTestFile(TestFile):
    """A test file whose cases ran in this framework's sandbox, not in Otter's kernel."""

    @classmethod
    def from_file(cls, path):
        raise NotImplementedError("harness test files are made from results, not files")

    @classmethod
    def from_metadata(cls, s, path):
        raise NotImplementedError("harness test files are made from results, not metadata")

    def run(self, global_environment):
        raise NotImplementedError("harness test files run in the sandbox, not in Otter")


def case_message(case: CaseResult, same_as: str | None = None, limit: int = 4000) -> str:
    """What Otter shows under "<case> result:": the failure, partial credit, a note.
    With `same_as` (a case before it that failed with the same detail: a traceback, an
    import error), only the failure's first line and a pointer to that case. What the
    submission controls is cleaned of control characters and cut to `limit` characters."""
    lines = []
    if not case.passed:
        lines.append("❌ Test case failed" + (f" ({case.fraction:.0%} of its points)"
                                              if case.fraction else ""))
        message = cut(clean(case.message.strip()), limit)
        if same_as:
            message = f"{message.splitlines()[0]}\n(the same error as {same_as})"
        lines.append(message)
    else:
        lines.append("✅ Test case passed")
    if case.note:
        lines.append(f"Note: {case.note}")
    return "\n".join(filter(None, lines))


def _cases(f: FunctionResult, extra_credit: bool, why: str,
           limit: int = 4000) -> list[TestCaseResult]:
    """Otter's cases for `f`: its own, or one saying why it was not graded."""
    if not f.cases:
        case = TestCase(f"{f.name}: not graded", None, False, 0.0 if extra_credit else f.points,
                        None, None)
        return [TestCaseResult(case, f"❌ Not graded: {cut(clean(why), limit)}", False)]
    share = 0.0 if extra_credit else f.points / len(f.cases)
    first = {id(c): g[0].id for g in failure_groups(f.cases) for c in g[1:]}
    return [TestCaseResult(TestCase(c.id, None, c.visibility != "public", share, None, None),
                           case_message(c, first.get(id(c)), limit), c.passed) for c in f.cases]


def test_file(f: FunctionResult, extra_credit: bool = False, why: str = "",
              limit: int = 4000) -> HarnessTestFile:
    """One graded function as an Otter test file, scored exactly as this framework scored it;
    each case's message at most `limit` characters."""
    results = _cases(f, extra_credit, why, limit)
    tf = HarnessTestFile(f.name, f.name, [r.test_case for r in results], all_or_nothing=False)
    tf.test_case_results = results
    tf.update_score(round(f.score, 6))
    return tf


def not_graded_reason(result: SubmissionResult) -> str:
    """Why a submission has no case results, in plain words ("" when it was graded)."""
    if result.status == "graded":
        return "no case of this function was run"
    return f"your submission could not be graded ({result.status}): {result.message}"


def test_files(result: SubmissionResult) -> list[HarnessTestFile]:
    """Every graded function of `result`, in the assignment's order."""
    why = not_graded_reason(result)
    cases = sum(max(1, len(f.cases)) for q in result.questions for f in q.functions)
    limit = max(300, MESSAGES_BUDGET // max(1, cases))  # results.json stays under 1 MB
    return [test_file(f, q.extra_credit, why, limit)
            for q in result.questions for f in q.functions]


def top_output(result: SubmissionResult) -> str:
    """results.json's `output`: the submission's notes, or why it was not graded, and the
    isolation layers in force."""
    lines = [result.message] if result.message else []
    if result.status != "graded":
        lines = [f"Your submission could not be graded ({result.status}):", *lines]
    if result.isolation:
        lines.append("Isolation: " + ", ".join(result.isolation))
    return cut(clean("\n".join(lines)), 20_000)


def fill(results: GradingResults, result: SubmissionResult) -> GradingResults:
    """Replace what Otter's kernel reported in `results` with this framework's results."""
    results.clear_results()
    results.results = {tf.name: tf for tf in test_files(result)}
    results.set_output(top_output(result))
    return results


def grading_results(result: SubmissionResult) -> GradingResults:
    """A fresh Otter `GradingResults` holding `result`."""
    return fill(GradingResults([]), result)
