"""Reports for TAs: the class summary, and each submission's feedback as HTML.

`write_summary` turns the batch's results (``SubmissionResult.to_dict()`` dicts) into
``OUT/summary/``:

- ``summary.json``: score statistics (mean, median, population std, min, max), per
  question its mean and pass rate (share of submissions with all its points), per
  function its pass rate and status counts, submission and case status counts, and the
  commonest failure messages per function;
- ``summary.md``: the same for people, ending with what to re-teach: the functions with
  the lowest pass rates and what went wrong in them;
- ``scores.png`` (a histogram of scores) and ``pass_rates.png`` (per question).

Failure messages are grouped after `normalize`: case ids and descriptions, numbers,
addresses and traceback frames are stripped, so "x/2: largest relative error 0.5 at
(1, 2)" and "x/7: largest relative error 3.1 at (0, 0)" count as one mistake. Each group
counts submissions, not cases. Everything is deterministic: the same results give the
same files whatever the order they were graded in.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path

from autograder.assignment import Assignment
from autograder.grading import SubmissionResult
from autograder.results import atomic_write
from autograder.text import code_span, html_text, markdown_text

TOP_FAILURES = 5
NOT_COUNTED = ("not-graded",)  # rows that are placeholders, not grades
NUMBER = re.compile(r"0x[0-9a-fA-F]+|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
FRAME = re.compile(r'^\s*File ".*", line .*$|^Traceback \(most recent call last\):$')


# ----------------------------------------------------------------------------- statistics
def _r(x: float) -> float:
    return round(float(x), 4)


def score_stats(scores: list[float]) -> dict:
    """mean, median, std (population), min, max of `scores` (zeros when empty)."""
    if not scores:
        return {"mean": 0.0, "median": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    return {"mean": _r(statistics.fmean(scores)), "median": _r(statistics.median(scores)),
            "std": _r(statistics.pstdev(scores)), "min": _r(min(scores)),
            "max": _r(max(scores))}


def question_stats(rows: list[dict], assignment: Assignment) -> list[dict]:
    """Per question: points, mean score and pass rate (all its points earned)."""
    stats = []
    for q in assignment.questions:
        scores = [qr["score"] for r in rows for qr in r["questions"] if qr["id"] == q.id]
        if not scores:
            continue  # not graded in this batch (--question)
        full = sum(s >= q.points - 1e-9 for s in scores)
        stats.append({"id": q.id, "title": q.title, "points": q.points,
                      "mean": _r(statistics.fmean(scores)), "pass_rate": _r(full / len(scores))})
    return stats


def _functions(row: dict) -> list[dict]:
    return [f for q in row["questions"] for f in q["functions"]]


def function_stats(rows: list[dict], assignment: Assignment) -> list[dict]:
    """Per graded function: pass rate and how many submissions had each status."""
    stats = []
    in_batch = {q["id"] for r in rows for q in r["questions"]}  # less those left out
    for name, function in assignment.functions().items():
        if function.question not in in_batch:
            continue
        statuses = Counter(f["status"] for r in rows for f in _functions(r)
                           if f["name"] == name and r["status"] == "graded")
        graded = sum(statuses.values())
        stats.append({"name": name, "question": function.question,
                      "pass_rate": _r(statuses["passed"] / graded) if graded else 0.0,
                      "statuses": dict(sorted(statuses.items()))})
    return stats


def case_status_counts(rows: list[dict]) -> dict:
    """How many cases ended with each status, over the whole class."""
    counts = Counter(c["status"] for r in rows for f in _functions(r) for c in f["cases"])
    return dict(sorted(counts.items()))


# ----------------------------------------------------------------------------- failures
def _strip_case(message: str, case_id: str, description: str = "") -> str:
    """The message without its "case-id (description): " or "case-id: " prefix."""
    for prefix in (f"{case_id} ({description}): ", f"{case_id}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def _traceback_summary(text: str) -> str:
    """A traceback cut to its first line and the exception line."""
    lines = [x for x in text.splitlines() if x.strip()]
    kept = [x for x in lines if not FRAME.match(x) and not x.startswith("    ")]
    if len(kept) > 2:
        kept = [kept[0], kept[-1]]
    return " ".join(kept)


def normalize(message: str, case_id: str = "", description: str = "") -> str:
    """A failure message with what differs between similar failures stripped."""
    text = _strip_case(message, case_id, description) if case_id else message
    text = _traceback_summary(text)
    text = NUMBER.sub("#", text)
    return re.sub(r"\s+", " ", text).strip()[:300]


def common_failures(rows: list[dict], descriptions: dict[str, str] | None = None,
                    top: int = TOP_FAILURES) -> dict[str, list[dict]]:
    """Per function, its commonest normalized failure messages, counted by submission.

    `descriptions` (case id -> description) lets the cases' prefixes be stripped exactly.
    """
    descriptions = descriptions or {}
    counts: dict[str, Counter] = {}
    shown: dict[tuple[str, str], str] = {}
    for row in rows:
        seen: set[tuple[str, str]] = set()
        for f in _functions(row):
            for case in f["cases"]:
                if case["passed"]:
                    continue
                text = normalize(case["message"], case["id"], descriptions.get(case["id"], ""))
                key = (f["name"], text.lower())
                shown.setdefault(key, text)
                seen.add(key)
        for name, key in seen:
            counts.setdefault(name, Counter())[key] += 1
    return {name: [{"message": shown[(name, key)], "submissions": n}
                   for key, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]
            for name, c in sorted(counts.items())}


# ----------------------------------------------------------------------------- assembly
def summarize(rows: list[dict], assignment: Assignment) -> dict:
    """The class summary as JSON-able data (see the module's docstring)."""
    counted = sorted((r for r in rows if r["status"] not in NOT_COUNTED),
                     key=lambda r: r["submission"])
    scores = [r["score"] for r in counted]
    descriptions = {c.id: c.description for c in assignment.cases()}
    return {
        "assignment": assignment.name,
        "submissions": len(counted),
        "max_score": max((r["max_score"] for r in counted), default=assignment.max_score),
        "statuses": dict(sorted(Counter(r["status"] for r in rows).items())),
        "score": score_stats(scores),
        "questions": question_stats(counted, assignment),
        "functions": function_stats(counted, assignment),
        "case_statuses": case_status_counts(counted),
        "common_failures": common_failures(counted, descriptions),
        "scores": [_r(s) for s in sorted(scores)],
    }


def write_summary(rows: list[dict], assignment: Assignment, folder: Path) -> dict:
    """OUT/summary/: summary.json, summary.md, scores.png and pass_rates.png."""
    folder.mkdir(parents=True, exist_ok=True)
    data = summarize(rows, assignment)
    plot_scores(data, folder / "scores.png")
    plot_pass_rates(data, folder / "pass_rates.png")
    atomic_write(folder / "summary.json", json.dumps(data, indent=1, sort_keys=True))
    atomic_write(folder / "summary.md", summary_markdown(data))
    return data


# ----------------------------------------------------------------------------- plots
def _figure(width: float, height: float):
    """A matplotlib figure drawn with Agg, without pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_scores(data: dict, path: Path) -> None:
    """A histogram of total scores."""
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    top = max(data["max_score"], max(data["scores"], default=0)) or 1
    ax.hist(data["scores"], bins=20, range=(0, top), color="#4477aa", edgecolor="white")
    ax.set_xlabel(f"score (out of {data['max_score']:g})")
    ax.set_ylabel("submissions")
    stats = data["score"]
    ax.set_title(f"{data['submissions']} submissions: mean {stats['mean']:g}, "
                 f"median {stats['median']:g}")
    fig.tight_layout()
    fig.savefig(path)


def plot_pass_rates(data: dict, path: Path) -> None:
    """Per question, the share of submissions with all its points."""
    questions = data["questions"]
    fig = _figure(6.4, 0.9 + 0.35 * max(len(questions), 1))
    ax = fig.add_subplot()
    labels = [q["id"] for q in questions][::-1]
    ax.barh(labels, [100 * q["pass_rate"] for q in questions][::-1], color="#228833")
    ax.set_xlim(0, 100)
    ax.set_xlabel("submissions with full points (%)")
    fig.tight_layout()
    fig.savefig(path)


# ----------------------------------------------------------------------------- markdown
def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows] + [""]


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def summary_markdown(data: dict) -> str:
    """summary.md: statistics, plots, per question and function, and what to re-teach."""
    s = data["score"]
    lines = [f"# Summary: {markdown_text(data['assignment'])}", "",
             f"{data['submissions']} submissions graded, out of {data['max_score']:g} points.",
             ""]
    lines += _table(["mean", "median", "std", "min", "max"],
                    [[f"{s[k]:g}" for k in ("mean", "median", "std", "min", "max")]])
    lines += ["Submission statuses: " + ", ".join(f"{k} {v}" for k, v in
                                                  data["statuses"].items()), "",
              "Case statuses: " + ", ".join(f"{k} {v}" for k, v in
                                            data["case_statuses"].items()), "",
              "![scores](scores.png)", "", "![pass rates](pass_rates.png)", "",
              "## Questions", ""]
    lines += _table(["question", "points", "mean", "pass rate"],
                    [[q["id"], f"{q['points']:g}", f"{q['mean']:g}", _pct(q["pass_rate"])]
                     for q in data["questions"]])
    lines += ["## Functions", ""]
    lines += _table(["function", "pass rate", "statuses"],
                    [[f"`{f['name']}`", _pct(f["pass_rate"]),
                      ", ".join(f"{k} {v}" for k, v in f["statuses"].items())]
                     for f in data["functions"]])
    return "\n".join(lines + reteach_markdown(data))


def reteach_markdown(data: dict) -> list[str]:
    """The functions that failed most, lowest pass rate first, with their failures."""
    lines = ["## What to re-teach", "",
             "Functions by pass rate, lowest first; each failure counted once per submission.",
             ""]
    failures = data["common_failures"]
    for f in sorted(data["functions"], key=lambda f: (f["pass_rate"], f["name"])):
        if f["name"] not in failures:
            continue
        lines += [f"### `{f['name']}` ({_pct(f['pass_rate'])} pass)", ""]
        lines += [f"- {item['submissions']} x {code_span(item['message'])}"
                  for item in failures[f["name"]]]
        lines.append("")
    return lines


# ----------------------------------------------------------------------------- feedback
STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
.passed{color:#1a7f37}.failed{color:#b42318}.not-implemented{color:#9a6700}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}"""


def _e(value) -> str:
    return html_text(value)


def _question_html(q) -> list[str]:
    tag = " (extra credit)" if q.extra_credit else ""
    parts = [f"<h2>{_e(q.title)}{tag}: {q.score:g} / {q.points:g}</h2>",
             "<table><tr><th>function</th><th>points</th><th>status</th></tr>"]
    parts += [f"<tr><td><code>{_e(f.name)}</code></td><td>{f.score:g} / {f.points:g}</td>"
              f"<td class=\"{_e(f.status)}\">{_e(f.status)}</td></tr>" for f in q.functions]
    parts.append("</table>")
    for f in q.functions:
        for c in f.cases:
            if not c.passed:
                parts += [f"<p><code>{_e(f.name)}</code> ({_e(c.visibility)}):</p>",
                          f"<pre>{_e(c.message)}</pre>"]
    return parts


def feedback_html(result: SubmissionResult) -> str:
    """feedback.md's content as a standalone HTML page (everything escaped)."""
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
             f"<title>Feedback for {_e(result.submission)}</title>",
             f"<style>{STYLE}</style></head><body>",
             f"<h1>Feedback for {_e(result.submission)}</h1>",
             f"<p><strong>Score: {result.score:g} / {result.max_score:g}</strong> "
             f"({_e(result.status)})</p>"]
    if result.message:
        parts.append(f"<pre>{_e(result.message)}</pre>")
    for q in result.questions:
        parts += _question_html(q)
    return "\n".join(parts + ["</body></html>", ""])
