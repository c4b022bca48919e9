"""Writing results: Gradescope's results.json, the gradebook, and readable feedback.

results.json follows Gradescope's schema with the autograder zip's test layout (Otter's):
a visible "Public Tests" summary of the public cases, then one test per graded function,
named like it (`activations.relu_backward`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from autograder.grading import CaseResult, SubmissionResult
from autograder.text import clean, code_block, csv_cell, markdown_text

GRADEBOOK_FIXED = ["submission", "status", "score", "max_score"]
MAX_RESULTS_BYTES = 1_000_000  # a results.json, whatever a submission returned or printed
MAX_OUTPUT_CHARS = 20_000  # one test's output in results.json
CUT_NOTE = "\n[... cut: {n:,} more characters]"


def atomic_write(path: Path, text: str):
    """Write `text` to `path` so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def gradescope_results(result: SubmissionResult) -> dict:
    """The submission as a Gradescope results.json document, with the autograder zip's
    test layout: what Otter's `GradingResults.to_gradescope_dict` writes for it under the
    default `otter_config.json` (`autograder.otter_tests`), so that a TA sees what the
    student sees; plus the total and this framework's own data."""
    from otter.run.run_autograder.autograder_config import AutograderConfig

    from autograder import otter_tests

    doc = otter_tests.grading_results(result).to_gradescope_dict(AutograderConfig())
    return {
        "score": result.score,
        "execution_time": result.seconds,
        **doc,
        "output_format": "text",
        "test_output_format": "text",
        "extra_data": {
            "submission": result.submission, "status": result.status,
            "max_score": result.max_score,
            "questions": {q.id: {"score": q.score, "points": q.points}
                          for q in result.questions},
        },
    }


def write_results(result: SubmissionResult, folder: Path):
    """OUT/<submission>/results.json and feedback.md."""
    atomic_write(folder / "results.json",
                 json.dumps(bounded_results(gradescope_results(result)), indent=2))
    atomic_write(folder / "feedback.md", feedback_markdown(result))


# ----------------------------------------------------------------------------- bounds
def cut(text: str, limit: int) -> str:
    """`text`, its end replaced by a note of how much was cut when it is over `limit`."""
    if len(text) <= limit:
        return text
    return text[:limit] + CUT_NOTE.format(n=len(text) - limit)


def _cleaned(value, limit: int):
    """Every string in a JSON document without control characters and at most `limit`
    characters long."""
    if isinstance(value, str):
        return cut(clean(value), limit)
    if isinstance(value, dict):
        return {k: _cleaned(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cleaned(v, limit) for v in value]
    return value


def bounded_results(doc: dict, max_bytes: int = MAX_RESULTS_BYTES) -> dict:
    """A results.json document whose text is clean and whose JSON (indented as written)
    stays under `max_bytes`: each string is cut to `MAX_OUTPUT_CHARS`, then shorter
    until the whole fits (scores, names and the other fields are kept as they are)."""
    limit = MAX_OUTPUT_CHARS
    while True:
        bounded = _cleaned(doc, limit)
        if len(json.dumps(bounded, indent=4).encode()) < max_bytes or limit < 100:
            return bounded
        limit //= 2


def error_detail(message: str) -> str:
    """A case message's lines after its first (a traceback, say); "" when it has one line."""
    return message.partition("\n")[2]


def failure_groups(cases: list[CaseResult]) -> list[list[CaseResult]]:
    """The failing cases, those in a row with the same detail (`error_detail`, not empty:
    an import error, the same exception) in one group, so that a report can show it once."""
    groups: list[list[CaseResult]] = []
    for case in (c for c in cases if not c.passed):
        detail = error_detail(case.message)
        if groups and detail and error_detail(groups[-1][0].message) == detail:
            groups[-1].append(case)
        else:
            groups.append([case])
    return groups


def more_cases(group: list) -> str:
    """"(and 3 more cases with the same error)", or "" for a group of one."""
    more = len(group) - 1
    return f"(and {more} more case{'s' if more > 1 else ''} with the same error)" if more else ""


def feedback_markdown(result: SubmissionResult, show_hidden: bool = True) -> str:
    """A report to hand back: points per question, status and messages per function."""
    lines = [f"# Feedback for {markdown_text(result.submission)}", "",
             f"**Score: {result.score:g} / {result.max_score:g}** "
             f"({markdown_text(result.status)})", ""]
    if result.message:
        lines += [*code_block(result.message), ""]
    for q in result.questions:
        tag = " (extra credit)" if q.extra_credit else ""
        lines += [f"## {q.title}{tag}: {q.score:g} / {q.points:g}", "",
                  "| function | points | status |", "|---|---|---|"]
        lines += [f"| `{f.name}` | {f.score:g} / {f.points:g} | {f.status} |"
                  for f in q.functions]
        lines.append("")
        for f in q.functions:
            shown = [c for c in f.cases if show_hidden or c.visibility == "public"]
            for group in failure_groups(shown):
                c = group[0]
                lines += [f"- `{f.name}` ({c.visibility}): ", "", *code_block(c.message, "  ")]
                lines += [f"  {more_cases(group)}", ""] if len(group) > 1 else []
        lines.append("")
    return "\n".join(lines)


def gradebook_row(result: dict, question_ids: list[str]) -> dict:
    """One gradebook row from a `SubmissionResult.to_dict()`."""
    row = {"submission": result["submission"], "status": result["status"],
           "score": f"{result['score']:g}", "max_score": f"{result['max_score']:g}"}
    scores = {q["id"]: q["score"] for q in result["questions"]}
    row.update({qid: f"{scores[qid]:g}" if qid in scores else "" for qid in question_ids})
    return row


def write_gradebook_rows(results: list[dict], question_ids: list[str], path: Path,
                         roster: dict[str, dict[str, str]] | None = None,
                         sources: dict[str, str] | None = None):
    """OUT/gradebook.csv, one row per submission, sorted by submission name. With a
    `roster` ({submission: {column: value}}, from `roster.export_roster`), its columns
    follow `submission`, empty for a submission it does not name. With `sources`
    ({submission: the path it was graded from}), a last column `source` says which file
    or folder each row is (given where a name had to differ from its file's)."""
    roster, sources = roster or {}, sources or {}
    extra = list(next(iter(roster.values()), {}))
    columns = GRADEBOOK_FIXED[:1] + extra + GRADEBOOK_FIXED[1:] + question_ids \
        + (["source"] if sources else [])
    blank = dict.fromkeys(extra, "")
    rows = sorted((gradebook_row(r, question_ids) | roster.get(r["submission"], blank)
                   | ({"source": sources.get(r["submission"], "")} if sources else {})
                   for r in results), key=lambda r: r["submission"])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: csv_cell(v) for k, v in r.items()} for r in rows)
    atomic_write(path, buffer.getvalue())
