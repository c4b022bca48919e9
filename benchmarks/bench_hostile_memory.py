"""(h) Harness memory on hostile submissions: peak RSS while grading one, against a normal one.

Issue 11.6: the harness's memory while grading any single hostile archive or reply stays
within a few times that of a normal submission. Each submission is graded by `grade_one`
(prepare: the safe copy; then the sandboxed worker's cases, read back by the harness) in a
fresh Python process of its own that has loaded the assignment and every expected value
first; the peak resident set of that harness process *during the grading only* is read
from /proc/self/status (VmHWM, reset through /proc/self/clear_refs just before). The
sandboxed worker is another process and is not counted: this measures what a submission
makes the harness hold. Graded on the quick questions (preprocessing, schedules).

    .venv/bin/python benchmarks/bench_hostile_memory.py [--keep DIR]

Submissions: `normal` (the reference, zipped) and `normal-folder`; archives: a 200 MB
zip bomb, 25,000 entries, 300,000 entries, a zip in a zip holding a bomb, a 45 MB zip
inside a zip, names over 255 bytes and 3,000 folders deep; folders: 3,000 deep, 1,999
files; replies: 32 MB arrays and odd values (`exotic-values`), 256 MB of output
(`stdout-flood`), a reply nested 200,000 deep (`deep-json`), a huge exception text
(`markup-message`).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from common import ROOT, load_note, table

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "samples"))

QUESTIONS = ("preprocessing", "schedules")
SAMPLES = {"normal": "zip-reference", "normal-folder": "reference", "zip-bomb": "zip-bomb",
           "zip-25k-entries": "zip-crowded", "zip-long-names": "zip-long-names",
           "folder-3000-deep": "deep-tree", "reply-32MB-arrays": "exotic-values",
           "reply-256MB-output": "stdout-flood", "reply-200k-deep-json": "deep-json",
           "reply-markup-exception": "markup-message"}
MB = 1024 * 1024


def vm(field: str) -> int:
    """A VmXXX line of /proc/self/status, in bytes."""
    with open("/proc/self/status") as handle:
        line = next(x for x in handle if x.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def measure_one(path: str) -> dict:
    """Grade `path` in this process; the peak RSS during grading and the result."""
    from autograder import assignment as asg
    from autograder.batch import grade_one, precompute
    from autograder.grading import GradeOptions, Oracle

    a = asg.load(ROOT / "assignments" / "training_dnn")
    options = GradeOptions(questions=QUESTIONS, pipeline=False)
    oracle = Oracle(store=precompute(a, options))
    before = vm("VmRSS")
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset VmHWM to the current RSS
    result = grade_one(a, Path(path), "bench", oracle, options)
    return {"before": before, "peak": vm("VmHWM"), "status": result.status,
            "score": result.score}


def zip_of(path: Path, members: list[tuple[str, bytes]], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def package_members(prefix: str = "") -> list[tuple[str, bytes]]:
    base = ROOT / "solutions" / "nntrain"
    return [(f"{prefix}nntrain/{p.relative_to(base).as_posix()}", p.read_bytes())
            for p in sorted(base.rglob("*.py"))]


def build_extra(folder: Path) -> dict[str, Path]:
    """The hostile archives and folders that are not samples."""
    made = {}
    many = folder / "zip-300k-entries.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as zf:
        for name, data in package_members():
            zf.writestr(name, data)
        for k in range(300_000):
            zf.writestr(f"j/{k}", b"")
    made["zip-300k-entries"] = many
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open(zipfile.ZipInfo("nntrain/w.npy"), "w", force_zip64=True) as member:
            for _ in range(200):
                member.write(bytes(MB))
    made["zip-in-zip-bomb"] = zip_of(folder / "zip-in-zip-bomb.zip",
                                     [("inner.zip", bomb.getvalue())])
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as zf:
        for name, data in package_members():
            zf.writestr(name, data)
        zf.writestr("nntrain/data.bin", os.urandom(45 * MB))
    made["zip-in-zip-45MB"] = zip_of(folder / "zip-in-zip-45MB.zip",
                                     [("inner.zip", inner.getvalue())], zipfile.ZIP_STORED)
    files = folder / "folder-1999-files"
    for name, data in package_members():
        (files / name).parent.mkdir(parents=True, exist_ok=True)
        (files / name).write_bytes(data)
    for k in range(1999 - len(package_members())):
        (files / "nntrain" / f"extra_{k}.txt").write_bytes(b"x" * 100)
    made["folder-1999-files"] = files
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, help="build the submissions here and keep them")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one)))
        return 0
    import make_samples

    from autograder.cleanup import remove_tree

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    subs = work / "subs"
    try:
        paths = make_samples.make_samples(subs, names=sorted(set(SAMPLES.values())))
        by_sample = {p.name.removesuffix(".zip"): p for p in paths}
        cases = {label: by_sample[name] for label, name in SAMPLES.items()}
        cases.update(build_extra(subs))
        rows, normal = [], None
        for label, path in cases.items():
            done = subprocess.run([sys.executable, __file__, "--one", str(path)],
                                  capture_output=True, text=True, cwd=ROOT,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            data = json.loads(done.stdout.strip().splitlines()[-1])
            normal = normal or data["peak"]
            rows.append([label, f"{os.path.getsize(path) / MB:.1f}" if path.is_file() else "-",
                         data["status"], f"{data['score']:g}", f"{data['before'] / MB:.0f}",
                         f"{data['peak'] / MB:.0f}", f"{data['peak'] / normal:.2f}"])
        print(load_note())
        print(table([["submission", "file MB", "status", "score", "RSS before MB",
                      "peak RSS grading MB", "x normal"], *rows]))
        worst = max(float(r[-1]) for r in rows)
        print(f"\nworst ratio of peak harness RSS, hostile / normal: {worst:.2f}")
    finally:
        if not args.keep:
            remove_tree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
