"""Student notebooks: built from "percent"-format Python sources, and executed headless.

A source is a `.py` file whose cells start with a marker line::

    # %% [markdown]
    # # A title
    # Text with $\\LaTeX$; every line is a comment, `# ` is stripped.

    # %%
    x = 1 + 1

Lines before the first marker (a file header) are not part of the notebook. Sources
diff and lint like code; `build` turns every `*.py` of a folder into an `.ipynb` with
nbformat, and `execute` runs one notebook end to end with nbclient, the way a student's
Jupyter would, with matplotlib on the headless Agg backend.

Command line: `python -m autograder.notebooks SRC_DIR OUT_DIR [--execute]`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

MARKER = re.compile(r"^# %%(?P<rest>.*)$")
MARKDOWN = re.compile(r"^\s*\[(markdown|md)\]")
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _markdown_line(line: str) -> str:
    """A markdown line from its comment form: '# text' -> 'text', '#' -> ''."""
    if line.startswith("# "):
        return line[2:]
    if line.startswith("#"):
        return line[1:]
    raise ValueError(f"a markdown cell line must be a comment: {line!r}")


def _trim(lines: list[str]) -> str:
    """The lines joined, without leading and trailing blank lines."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


def parse(text: str) -> list[tuple[str, str]]:
    """The cells of a percent-format source, as (kind, source) with kind 'markdown'/'code'.

    Empty cells are dropped; a markdown cell's lines lose their leading '# ' (or '#').
    """
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        match = MARKER.match(line)
        if match:
            kind = "markdown" if MARKDOWN.match(match["rest"]) else "code"
            cells.append((kind, []))
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [_markdown_line(line) if line.strip() else "" for line in lines]
        source = _trim(lines)
        if source:
            out.append((kind, source))
    return out


def to_notebook(text: str) -> nbformat.NotebookNode:
    """A validated nbformat v4 notebook from a percent-format source.

    Cell ids are their positions ("cell-0", "cell-1", ...), so that building the same
    source twice gives the same file.
    """
    cells = []
    for i, (kind, src) in enumerate(parse(text)):
        make = new_markdown_cell if kind == "markdown" else new_code_cell
        cells.append(make(src, id=f"cell-{i}"))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": KERNEL,
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


def sources(src_dir: Path | str) -> list[Path]:
    """The notebook sources of a folder: its `*.py` files not starting with '_', sorted."""
    return sorted(p for p in Path(src_dir).glob("*.py") if not p.name.startswith("_"))


def build(src_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Write `out_dir/<name>.ipynb` for every source `src_dir/<name>.py`; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources(src_dir):
        path = out_dir / f"{src.stem}.ipynb"
        nbformat.write(to_notebook(src.read_text(encoding="utf-8")), path)
        written.append(path)
    return written


def execute(path: Path | str, cwd: Path | str, timeout: int = 600,
            env: dict | None = None) -> nbformat.NotebookNode:
    """Run every cell of the notebook at `path` in a fresh "python3" kernel started in `cwd`.

    matplotlib uses the Agg backend (MPLBACKEND=Agg, over the environment's). Stops at
    the first cell that raises (nbclient's CellExecutionError); each cell may take up to
    `timeout` seconds. Returns the notebook with its outputs; the file is not rewritten.
    """
    nb = nbformat.read(path, as_version=4)
    kernel_env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute(cwd=str(cwd), env=kernel_env)
    return nb


def cell_text(cell) -> str:
    """Everything a code cell printed: streams, results and error tracebacks, as text."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback))
    return "".join(parts)


def main(argv=None) -> int:
    """Build the notebooks of SRC_DIR into OUT_DIR; with --execute, also run them there."""
    parser = argparse.ArgumentParser(prog="python -m autograder.notebooks",
                                     description=main.__doc__)
    parser.add_argument("src_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--execute", action="store_true",
                        help="run each notebook with OUT_DIR as the working directory and "
                             "save its outputs")
    args = parser.parse_args(argv)
    for path in build(args.src_dir, args.out_dir):
        if args.execute:
            nbformat.write(execute(path, Path(args.out_dir)), path)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
