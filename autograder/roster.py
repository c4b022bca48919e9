"""Who made each submission, from the metadata a Gradescope export ships beside them.

Gradescope's "Download Submissions" export, unzipped, holds one folder per submission and
`submission_metadata.yml`, keyed by those folders' names (Ruby symbols as keys):

    submission_123456:
      :submitters:
      - :name: Ada Lovelace
        :sid: '1815'
        :email: ada@example.edu
      :created_at: 2026-11-20 21:04:11.000000000 -08:00
      :score: 95.0

A group submission lists several submitters. The gradebook gains the columns
`ROSTER_COLUMNS`, each submitter's value joined with "; ", so that it can be matched to
the course's roster. The file is the export's, not a student's: it is read only from the
folder the submissions were found in, with `yaml.safe_load`, and what cannot be read is
reported and left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import yaml

from autograder.submission import EXPORT_METADATA

METADATA_FILE = EXPORT_METADATA
ROSTER_COLUMNS = ("submitters", "sid", "email")
MAX_BYTES = 64 * 1024 * 1024
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_roster(paths: Iterable[Path], warn=print) -> dict[Path, dict[str, str]]:
    """The roster columns of each of `paths` that an export's metadata names.

    Inputs:
    - paths: submissions (folders or zips), as `submission.discover` found them.
    - warn: called with a message for a metadata file that cannot be used.
    Returns: {path: {"submitters": "A; B", "sid": "1; 2", "email": "a@x; b@x"}}, only for
    paths whose folder's metadata has their name.
    """
    by_folder: dict[Path, dict] = {}
    found = {}
    for path in paths:
        folder = path.parent
        if folder not in by_folder:
            by_folder[folder] = read_metadata(folder / METADATA_FILE, warn)
        entry = by_folder[folder].get(path.name)
        if entry is not None:
            found[path] = columns(entry)
    return found


def read_metadata(path: Path, warn) -> dict:
    """The export's mapping of folder name to metadata; {} when absent or unusable."""
    try:
        if not path.is_file() or path.is_symlink():
            return {}
        if os.path.getsize(path) > MAX_BYTES:
            warn(f"{path}: over {MAX_BYTES // 2**20} MB, not read: no submitter columns")
            return {}
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, yaml.YAMLError) as exc:
        warn(f"{path}: cannot be read ({type(exc).__name__}): no submitter columns")
        return {}
    if not isinstance(data, dict):
        warn(f"{path}: not a mapping of submission folders: no submitter columns")
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def columns(entry: dict) -> dict[str, str]:
    """The roster columns of one submission's metadata (missing fields are empty)."""
    people = [p for p in _field(entry, "submitters") or [] if isinstance(p, dict)]
    return {column: "; ".join(cell(_field(p, key)) for p in people)
            for column, key in zip(ROSTER_COLUMNS, ("name", "sid", "email"), strict=True)}


def _field(mapping: dict, key: str):
    """`mapping[":key"]`, as Gradescope writes it, else `mapping["key"]`."""
    return mapping.get(f":{key}", mapping.get(key))


def cell(value) -> str:
    """A value as one safe spreadsheet cell: one line, never read as a formula."""
    text = " ".join(str(value if value is not None else "").split())[:200]
    return "'" + text if text.startswith(FORMULA_STARTS) else text
