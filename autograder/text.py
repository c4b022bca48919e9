"""Showing what a student controls as text, never as markup or commands.

Names, messages and exception texts come from submissions. Before they reach a reader:

- a terminal or any file: `clean` removes control characters (ESC starts a terminal
  escape sequence; CR and backspace overwrite what was shown), keeping newlines and tabs;
- Markdown: `code_span` and `code_block` put text in code, with a fence of backticks
  longer than any run of backticks in it, so nothing in it is a heading, link, image or
  raw HTML; `markdown_text` escapes text shown outside code;
- HTML: `html_text` escapes it (and cleans it);
- a spreadsheet: `csv_cell` makes a cell starting with `=`, `+`, `-`, `@`, tab or CR
  start with `'` instead (shown as text, not run as a formula), numbers left as numbers.
"""

from __future__ import annotations

import html
import re

CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")


def clean(text) -> str:
    """`text` as a string without control characters (newline and tab kept; CR, ESC,
    backspace, C1 controls and bidirectional overrides removed)."""
    return CONTROLS.sub("", str(text).replace("\r\n", "\n"))


def _fence(text: str, minimum: int) -> str:
    """A run of backticks longer than any in `text`, at least `minimum` long."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(minimum, longest + 1)


def code_span(text) -> str:
    """`text` on one line as a Markdown code span: never markup, whatever it holds."""
    one_line = " ".join(clean(text).split())
    fence = _fence(one_line, 1)
    return f"{fence} {one_line} {fence}" if one_line else ""


def code_block(text, indent: str = "") -> list[str]:
    """`text` as the lines of a fenced Markdown code block, each after `indent`."""
    body = clean(text)
    fence = _fence(body, 3)
    return [indent + fence, *(indent + line for line in body.splitlines()), indent + fence]


def markdown_text(text) -> str:
    """`text` on one line with every Markdown special character escaped."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(clean(text).split()))


def html_text(text) -> str:
    """`text` cleaned and escaped for HTML (quotes too)."""
    return html.escape(clean(text))


def csv_cell(value) -> str:
    """`value` as a spreadsheet cell that is never a formula; a number stays a number."""
    text = clean(value)
    if NUMBER.fullmatch(text) or not text.startswith(FORMULA_STARTS):
        return text
    return "'" + text
