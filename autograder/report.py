"""Printing for people: the gradebook table and a student's check summary."""

from __future__ import annotations

import sys

from autograder.results import gradebook_row
from autograder.text import clean

GREEN, RED, YELLOW, RESET = "\033[32m", "\033[31m", "\033[33m", "\033[0m"


def use_color(color: bool | None, stream=None) -> bool:
    """Colour only on a terminal (`stream`, by default today's sys.stdout), unless forced
    either way."""
    return (stream or sys.stdout).isatty() if color is None else color


def paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{RESET}" if color else text


def table(rows: list[list[str]]) -> str:
    """Rows of cells as aligned plain text (the first row is the header), each cell on one
    line without control characters."""
    rows = [[" ".join(clean(c).split()) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_gradebook(results: list[dict], assignment, stream=None):
    """The gradebook as a table: one row per submission (and who made it, for a Gradescope
    export), one column per question."""
    stream = stream or sys.stdout  # the one of the moment (a notebook, pytest replace it)
    qids = [q.id for q in assignment.questions]
    named = any("submitters" in r for r in results)
    rows = [["submission", *(["submitters"] * named), "status", "score", *qids]]
    for r in sorted(results, key=lambda r: r["submission"]):
        row = gradebook_row(r, qids)
        who = [r.get("submitters", "")] * named
        rows.append([row["submission"], *who, row["status"],
                     f"{row['score']}/{row['max_score']}", *(row[q] for q in qids)])
    print(table(rows), file=stream)
