"""What a student controls is shown as text: terminal, Markdown, HTML, CSV, results.json."""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from autograder import assignment as asg
from autograder import batch, results, text
from autograder.report import table

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny"

HOSTILE = [
    # (id, a text a submission controls)
    ("heading", "# Full marks\n## 100 / 100"),
    ("link-and-image", "[grade](http://evil.example) ![x](http://evil.example/i.png)"),
    ("raw-html", "<img src=x onerror=alert(1)><script>alert(2)</script>"),
    ("backticks", "``` \n# out of the fence\n```\n`` `x` ``"),
    ("terminal-escapes", "\x1b[2J\x1b]0;pwned\x07\rover\x08written\x9b31m"),
    ("bidi-override", "score \u202e001/0"),
    ("table-pipes", "| a | b |\n|---|---|"),
]
TEXTS = [pytest.param(t, id=i) for i, t in HOSTILE]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def rendered_tokens(markdown: str) -> set[str]:
    """The kinds of Markdown tokens `markdown` renders to (inline ones included)."""
    kinds = set()
    for token in MarkdownIt("commonmark").parse(markdown):
        kinds.add(token.type)
        kinds.update(child.type for child in token.children or [])
    return kinds


MARKUP = {"heading_open", "link_open", "image", "html_inline", "html_block", "table_open"}


@pytest.mark.parametrize("value", TEXTS)
def test_code_span_and_block_render_only_code(value):
    assert not rendered_tokens(text.code_span(value)) & MARKUP
    assert not rendered_tokens("\n".join(text.code_block(value))) & MARKUP
    assert not rendered_tokens(text.markdown_text(value)) & MARKUP


@pytest.mark.parametrize("value", TEXTS)
def test_controls_are_removed_and_html_escaped(value):
    assert not CONTROL.search(text.clean(value))
    escaped = text.html_text(value)
    assert "<" not in escaped and not CONTROL.search(escaped)
    assert not CONTROL.search(table([["h"], [value]]))


CELLS = [
    ("formula", "=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("plus", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("minus-text", "-2+3+cmd", "'-2+3+cmd"),
    ("at", "@SUM(A1)", "'@SUM(A1)"),
    ("tab", "\t=1", "'\t=1"),
    ("carriage-return", "\r=1", "'=1"),
    ("negative-number", "-1.5", "-1.5"),
    ("number", "6", "6"),
    ("exponent", "1e-05", "1e-05"),
    ("plain", "alice", "alice"),
]


@pytest.mark.parametrize("value, expected", [pytest.param(*c[1:], id=c[0]) for c in CELLS])
def test_csv_cells_are_never_formulas(value, expected):
    assert text.csv_cell(value) == expected


def test_results_json_stays_under_a_megabyte():
    tests = [{"name": f"t{k}", "output": "x" * 500_000 + "\x1b[31m"} for k in range(40)]
    doc = results.bounded_results({"score": 3.5, "output": "o" * 10**7, "tests": tests})
    assert len(json.dumps(doc, indent=4).encode()) < results.MAX_RESULTS_BYTES
    assert doc["score"] == 3.5 and len(doc["tests"]) == 40
    assert "more characters]" in doc["tests"][0]["output"]
    assert "\x1b" not in json.dumps(doc, ensure_ascii=False)


# ----------------------------------------------------------------------------- end to end
INJECTING_OPS = '''
import numpy as np


def square_forward(x):
    return (x * x).astype(np.float64), x


def square_backward(dout, cache):
    return 2 * cache * dout


class Counter:
    def __init__(self, start=0):
        self.total = start

    def tick(self):
        raise ValueError(MESSAGE)
'''


def test_a_hostile_message_is_text_in_every_report(tmp_path):
    message = "\n".join(t for _, t in HOSTILE) + "\n" + "z" * 3_000_000
    sub = tmp_path / "subs" / "mallory"
    (sub / "tinymath").mkdir(parents=True)
    (sub / "tinymath" / "__init__.py").write_text("")
    (sub / "tinymath" / "ops.py").write_text(f"MESSAGE = {message!r}\n" + INJECTING_OPS)
    (sub / "tinymath" / "<img src=x>.txt").write_text("x")
    (sub / "tinymath" / "#[a](b)`.txt").write_text("x")
    out = tmp_path / "out"
    batch.grade_batch(asg.load(TINY), [sub], out, batch.BatchOptions(quiet=True, workers=1))
    folder = out / "mallory"
    md = (folder / "feedback.md").read_text()
    assert "onerror" in md and "ValueError" in md  # shown...
    assert not rendered_tokens(md) - {"heading_open"} & MARKUP  # ...as text
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert all(h.startswith(("# Feedback for", "## ")) for h in headings), headings
    html = (folder / "feedback.html").read_text()
    assert "<img" not in html and "<script>alert" not in html and "&lt;img" in html
    summary = (out / "summary" / "summary.md").read_text()
    assert not rendered_tokens(summary) & {"link_open", "html_inline", "html_block"}
    images = [c.attrs["src"] for t in MarkdownIt("commonmark").parse(summary)
              for c in t.children or [] if c.type == "image"]
    assert images == ["scores.png", "pass_rates.png"]  # the summary's own plots only
    for path in folder.iterdir():
        assert not CONTROL.search(path.read_text()), path.name
        assert path.stat().st_size < results.MAX_RESULTS_BYTES, path.name
    rows = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text())))
    assert rows[1][:2] == ["mallory", "graded"]
