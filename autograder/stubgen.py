"""Generate the starter code from the reference solutions.

The solutions are the one source of truth. Inside every graded function the body after
the docstring is wrapped in markers (Otter Assign's convention)::

    # BEGIN SOLUTION: one-line hint for the student
    ...reference code...
    # END SOLUTION

and becomes, in the starter code, ``raise NotImplementedError("<function>: <hint>")`` at
the same indentation. A block opened with ``# BEGIN SOLUTION NO PROMPT`` is removed
entirely (private helpers only the solutions need). Files that are not Python are copied
as they are; ``__pycache__`` is skipped.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?P<rest>.*)$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
DEF = re.compile(r"^(?P<indent>\s*)(?:async\s+)?(?:def|class)\s+(?P<name>\w+)")


class MarkerError(ValueError):
    """A solution file whose markers are unbalanced or lack a hint."""


def _enclosing_name(lines: list[str], index: int, indent: str) -> str:
    """Name of the innermost def/class above line `index` that is less indented."""
    names: list[str] = []
    for line in reversed(lines[:index]):
        match = DEF.match(line)
        if match and len(match["indent"]) < len(indent):
            names.insert(0, match["name"])
            indent = match["indent"]
            if not indent:
                break
    return ".".join(names) or "<module>"


def stub_source(text: str, filename: str = "<string>") -> str:
    """Return `text` with every marked solution block replaced by its stub.

    Inputs:
    - text: str, the source of one solution module.
    - filename: str, used in error messages only.

    Returns:
    - str, the starter-code source (ends with a newline when `text` does).
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = BEGIN.match(lines[i])
        if not match:
            if END.match(lines[i]):
                raise MarkerError(f"{filename}:{i + 1}: END SOLUTION without BEGIN")
            out.append(lines[i])
            i += 1
            continue
        start, indent, rest = i, match["indent"], match["rest"].strip()
        i += 1
        while i < len(lines) and not END.match(lines[i]):
            if BEGIN.match(lines[i]):
                raise MarkerError(f"{filename}:{i + 1}: nested BEGIN SOLUTION")
            i += 1
        if i == len(lines):
            raise MarkerError(f"{filename}:{start + 1}: BEGIN SOLUTION without END")
        i += 1
        if rest == "NO PROMPT":
            continue
        if not rest.startswith(":") or not rest[1:].strip():
            raise MarkerError(f"{filename}:{start + 1}: write the hint as '# BEGIN SOLUTION: hint'")
        name = _enclosing_name(lines, start, indent)
        message = f"{name}: {rest[1:].strip()}"
        out.append(f"{indent}raise NotImplementedError({message!r})")
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _target_files(src: Path) -> dict[Path, bytes]:
    """Map each relative path of the starter tree to its content."""
    files: dict[Path, bytes] = {}
    for path in sorted(src.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        rel = path.relative_to(src)
        if path.suffix == ".py":
            files[rel] = stub_source(path.read_text(), str(path)).encode()
        else:
            files[rel] = path.read_bytes()
    return files


def generate(src: Path, dst: Path) -> list[Path]:
    """Write the starter tree for package folder `src` into `dst` (replaced whole).

    Returns the relative paths written.
    """
    files = _target_files(src)
    if dst.exists():
        shutil.rmtree(dst)
    for rel, content in files.items():
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).write_bytes(content)
    return list(files)


def differences(src: Path, dst: Path) -> list[str]:
    """Paths (relative) where `dst` is not exactly what `generate(src, ...)` would write."""
    want = _target_files(src)
    have = {
        p.relative_to(dst)
        for p in dst.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    } if dst.exists() else set()
    diffs = sorted(str(p) for p in have - set(want))
    for rel, content in want.items():
        if rel not in have or (dst / rel).read_bytes() != content:
            diffs.append(str(rel))
    return sorted(set(diffs))


__all__ = ["MarkerError", "differences", "generate", "stub_source"]
