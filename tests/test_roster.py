"""Gradescope exports: who made each submission, from the export's submission_metadata.yml."""

import csv
import zipfile
from pathlib import Path

import pytest

from autograder import assignment as asg
from autograder import batch, roster
from autograder.submission import EXPORT_METADATA, discover, prepare

TINY = Path(__file__).parent / "fixtures" / "tiny"
REFERENCE = (TINY / "solutions" / "tinymath" / "ops.py").read_text()


@pytest.fixture(scope="module")
def tiny():
    return asg.load(TINY)


def _package(folder: Path, ops: str) -> Path:
    (folder / "tinymath").mkdir(parents=True)
    (folder / "tinymath" / "__init__.py").write_text("")
    (folder / "tinymath" / "ops.py").write_text(ops)
    return folder

ADA = """
submission_1:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1815'
    :email: ada@example.edu
  :created_at: 2026-11-20 21:04:11.000000000 -08:00
  :score: 95.0
"""

COLUMNS = [
    ("one-submitter", ADA, {"submitters": "Ada Lovelace", "sid": "1815",
                            "email": "ada@example.edu"}),
    ("group", """
submission_1:
  :submitters:
  - {":name": Ada Lovelace, ":sid": 1815, ":email": ada@example.edu}
  - {":name": Charles Babbage, ":sid": 1791, ":email": cb@example.edu}
""", {"submitters": "Ada Lovelace; Charles Babbage", "sid": "1815; 1791",
      "email": "ada@example.edu; cb@example.edu"}),
    ("keys-without-colons", """
submission_1: {submitters: [{name: Ada, sid: '7', email: a@x}]}
""", {"submitters": "Ada", "sid": "7", "email": "a@x"}),
    ("missing-fields", """
submission_1: {":submitters": [{":name": Ada}]}
""", {"submitters": "Ada", "sid": "", "email": ""}),
    ("no-submitters", "submission_1: {':score': 3}\n",
     {"submitters": "", "sid": "", "email": ""}),
    ("formula-and-newline", """
submission_1: {":submitters": [{":name": "=HYPERLINK(\\"http://x\\")", ":sid": "-1",
                                ":email": "a\\nb@x"}]}
""", {"submitters": "'=HYPERLINK(\"http://x\")", "sid": "'-1", "email": "a b@x"}),
    ("submitters-not-a-list-of-mappings", "submission_1: {':submitters': [3, 'x']}\n",
     {"submitters": "", "sid": "", "email": ""}),
]


@pytest.mark.parametrize("text,expected", [c[1:] for c in COLUMNS], ids=[c[0] for c in COLUMNS])
def test_metadata_gives_the_roster_columns(tmp_path, text, expected):
    (tmp_path / EXPORT_METADATA).write_text(text)
    sub, other = tmp_path / "submission_1", tmp_path / "submission_2"
    assert roster.export_roster([sub, other]) == {sub: expected}


UNUSABLE = [
    ("not-yaml", "submission_1: [unclosed", "cannot be read"),
    ("a-list", "- submission_1\n", "not a mapping"),
    ("a-python-object", "!!python/object/apply:os.system ['echo hacked']\n", "cannot be read"),
    ("binary", "\x00\x01\x02", "cannot be read"),
]


@pytest.mark.parametrize("text,said", [c[1:] for c in UNUSABLE], ids=[c[0] for c in UNUSABLE])
def test_unusable_metadata_is_reported_and_left_out(tmp_path, text, said):
    (tmp_path / EXPORT_METADATA).write_text(text)
    warnings = []
    assert roster.export_roster([tmp_path / "submission_1"], warnings.append) == {}
    assert len(warnings) == 1 and said in warnings[0]


def test_an_oversized_or_linked_metadata_file_is_not_read(tmp_path, monkeypatch):
    (tmp_path / "real.yml").write_text(ADA)
    (tmp_path / EXPORT_METADATA).symlink_to(tmp_path / "real.yml")
    assert roster.export_roster([tmp_path / "submission_1"], pytest.fail) == {}
    (tmp_path / EXPORT_METADATA).unlink()
    (tmp_path / EXPORT_METADATA).write_text(ADA)
    monkeypatch.setattr(roster, "MAX_BYTES", 10)
    warnings = []
    assert roster.export_roster([tmp_path / "submission_1"], warnings.append) == {}
    assert "not read" in warnings[0]


def test_no_metadata_no_columns(tmp_path):
    assert roster.export_roster([tmp_path / "alice"], pytest.fail) == {}


def make_export(root: Path) -> Path:
    """An unzipped Gradescope export: two named submissions and one the metadata misses."""
    for name in ("submission_1", "submission_2", "submission_3"):
        _package(root / name, REFERENCE)
    (root / EXPORT_METADATA).write_text(ADA + """
submission_2:
  :submitters:
  - :name: Grace Hopper
    :sid: '1906'
    :email: grace@example.edu
""")
    return root


def test_the_gradebook_names_the_submitters_of_an_export(tiny, tmp_path):
    export = make_export(tmp_path / "export")
    paths = discover([export], tiny.package)
    assert [p.name for p in paths] == ["submission_1", "submission_2", "submission_3"]
    batch.grade_batch(tiny, paths, tmp_path / "out", batch.BatchOptions(quiet=True))
    with open(tmp_path / "out" / "gradebook.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:6] == ["submission", "submitters", "sid", "email", "status", "score"]
    assert [(r["submission"], r["submitters"], r["sid"], r["score"]) for r in rows] == [
        ("submission_1", "Ada Lovelace", "1815", "6"),
        ("submission_2", "Grace Hopper", "1906", "6"),
        ("submission_3", "", "", "6")]


def test_a_plain_folder_of_submissions_keeps_the_plain_gradebook(tiny, tmp_path):
    paths = [_package(tmp_path / "subs" / "alice", REFERENCE)]
    batch.grade_batch(tiny, paths, tmp_path / "out", batch.BatchOptions(quiet=True))
    header = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()[0]
    assert header == "submission,status,score,max_score,squares,counter"


def zip_folder(folder: Path, archive: Path, top: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, top + path.relative_to(folder).as_posix())
    return archive


EXPORT_LAYOUTS = [("at-the-top", ""), ("one-folder-down", "assignment_42_export/")]


@pytest.mark.parametrize("top", [c[1] for c in EXPORT_LAYOUTS], ids=[c[0] for c in EXPORT_LAYOUTS])
def test_a_whole_export_given_as_one_zip_says_to_unzip_it(tmp_path, top):
    archive = zip_folder(make_export(tmp_path / "export"), tmp_path / "export.zip", top)
    prepared = prepare(archive, tmp_path / "dest", "tinymath")
    assert prepared.status in {"ambiguous", "no-package"}
    assert "Gradescope export of the whole class" in prepared.message
    assert "Unzip it and grade its folder" in prepared.message


def test_a_folder_holding_an_export_says_so_too(tmp_path):
    make_export(tmp_path / "downloads" / "assignment_42_export")
    prepared = prepare(tmp_path / "downloads", tmp_path / "dest", "tinymath")
    assert prepared.status == "no-package"
    assert "Gradescope export of the whole class" in prepared.message


def test_a_submission_is_not_told_about_exports_without_the_metadata(tmp_path):
    root = tmp_path / "two"
    for name in ("a", "b"):
        _package(root / name, "")
    prepared = prepare(root, tmp_path / "dest", "tinymath")
    assert prepared.status == "ambiguous" and "export" not in prepared.message


def test_the_printed_gradebook_names_the_submitters(tiny, tmp_path, capsys):
    from autograder.cli import main

    export = make_export(tmp_path / "export")
    assert main(["grade", str(export), "-o", str(tmp_path / "out"), "--assignment", str(TINY),
                 "--no-summary", "--workers", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["submission", "submitters", "status"]
    assert any(line.startswith("submission_1") and "Ada Lovelace" in line for line in lines)


def test_renamed_submissions_get_a_source_column(tiny, tmp_path):
    """`x/`, `x-2/` and `x.zip` are rows x, x-2 and x-3: the TA must see which is which."""
    subs = tmp_path / "subs"
    for name in ("x", "x-2"):
        _package(subs / name, REFERENCE)
    zip_folder(subs / "x", subs / "x.zip")
    paths = discover([subs], tiny.package)
    batch.grade_batch(tiny, paths, tmp_path / "out", batch.BatchOptions(quiet=True))
    with open(tmp_path / "out" / "gradebook.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[-1] == "source"
    assert {r["submission"]: Path(r["source"]).name for r in rows} == {
        "x": "x", "x-2": "x-2", "x-3": "x.zip"}
