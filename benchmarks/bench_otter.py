"""(c) Against Otter-Grader 7.0.0's `otter run` on the same submissions, equivalent tests.

The Otter side is generated from training_dnn's own cases: one Otter test file per
question, one `test_case` per case (public ones visible, hidden ones hidden, the
function's points shared between its cases as ours are). Each test runs the case's steps
in the notebook's kernel with our worker's `Runner` (shipped in the autograder's files/)
and compares with the expected values by `np.testing.assert_allclose` or equality;
property and gradient checks only require the case to run (so Otter's scores can be a
little higher than ours on wrong submissions). The submission is a notebook whose one
cell unpacks the student's `nntrain/` next to it and imports it.

Both tools grade each submission with a command of its own, one after the other
(`otter run -a autograder.zip sub.ipynb`; `autograder grade sub --workers 1`); ours also
as one batch of all of them. Otter runs without Docker (`otter run`), as measured in
FIELD_NOTES.md. Otter 7.0.0 is one of this project's dependencies: the venv's `otter` is
used unless `--otter` names another::

    .venv/bin/python benchmarks/bench_otter.py [--n 10] [--otter PATH/TO/otter]

(Otter's own notebook runner, as Otter users write tests for it; for this project's zip
run by Otter's runner, see bench_gradescope_otter.py.)
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import nbformat
import numpy as np
from common import (
    ROOT,
    grade_cmd,
    load_note,
    make_class,
    median,
    numpy_questions,
    question_args,
    snapshot,
    table,
    timed,
)

from autograder import assignment as asg
from autograder import batch, grading
from autograder import worker as wire
from autograder.session import encode_request

RUNNER = '''
import json, os, sys
import numpy as np
sys.path.insert(0, os.getcwd())
import worker as wire

DATA = json.load(open("ag_data.json"))
ARRAYS = np.load("ag_data.npz", allow_pickle=False)
_RUNNER = []


def check(i):
    if not _RUNNER:
        _RUNNER.append(wire.Runner(os.path.abspath("nntrain")))
    entry = DATA[i]
    inputs = {k: ARRAYS[f"c{i}_in_{k}"] for k in entry["in_keys"]}
    reply, values = _RUNNER[0].execute(entry["request"], inputs)
    assert reply["status"] == "ok", reply["message"]
    if entry["expected"] is None:
        return
    arrays = {k: ARRAYS[f"c{i}_ex_{k}"] for k in entry["ex_keys"]}
    expected = wire.decode(entry["expected"], arrays)
    for c in entry["checks"]:
        got, want = values.get(c["value"]), expected.get(c["value"])
        if c["kind"] == "close":
            np.testing.assert_allclose(got, want, rtol=c["rtol"], atol=c["atol"])
        elif c["kind"] == "exact":
            assert np.array_equal(np.asarray(got), np.asarray(want)), "not equal"
'''

CELL = '''import base64, io, zipfile
zipfile.ZipFile(io.BytesIO(base64.b64decode("{data}"))).extractall(".")
import nntrain'''


def otter_data(a: asg.Assignment, questions: list[str]) -> tuple[list[dict], dict]:
    """Each case's request, inputs and expected values, as Otter's files will hold them."""
    store = batch.precompute(a, grading.GradeOptions(questions=tuple(questions)))
    functions = a.functions()
    entries, arrays = [], {}
    for i, case in enumerate(a.cases()):
        if functions[case.function].question not in questions:
            entries.append(None)
            continue
        request, inputs = encode_request(case, f"c{i}")
        arrays.update({f"c{i}_in_{k}": v for k, v in inputs.items()})
        expected, ex_arrays = None, {}
        if case.id in store:
            expected = wire.encode(store[case.id].values, ex_arrays)
            arrays.update({f"c{i}_ex_{k}": v for k, v in ex_arrays.items()})
        entries.append({"request": request, "in_keys": sorted(inputs),
                        "expected": expected, "ex_keys": sorted(ex_arrays),
                        "checks": [{"kind": c.kind, "value": c.value, "rtol": c.rtol,
                                    "atol": c.atol} for c in case.checks]})
    return entries, arrays


def test_files(a: asg.Assignment, questions: list[str]) -> dict[str, str]:
    """One Otter test file per question, one test_case per case."""
    functions = a.functions()
    per_function = Counter(c.function for c in a.cases())
    files = {}
    for q in a.questions:
        if q.id not in questions:
            continue
        lines = ["OK_FORMAT = False", "from otter.test_files import test_case",
                 f"name = {q.id!r}", ""]
        for i, case in enumerate(a.cases()):
            if functions[case.function].question != q.id:
                continue
            points = functions[case.function].points / per_function[case.function]
            lines += [f"@test_case(points={points!r}, hidden={case.visibility == 'hidden'})",
                      f"def test_case_{i}(env):", "    import ag_runner",
                      f"    ag_runner.check({i})", ""]
        files[f"{q.id}.py"] = "\n".join(lines)
    return files


def build_otter(work: Path, a: asg.Assignment, questions: list[str], otter: str) -> Path:
    """autograder.zip for Otter, from the cases of the assignment's `questions`."""
    folder = work / "otter"
    (folder / "tests").mkdir(parents=True)
    entries, arrays = otter_data(a, questions)
    (folder / "ag_data.json").write_text(json.dumps(entries))
    np.savez(folder / "ag_data.npz", **arrays)
    (folder / "ag_runner.py").write_text(RUNNER)
    shutil.copy(ROOT / "autograder" / "worker.py", folder / "worker.py")
    for name, text in test_files(a, questions).items():
        (folder / "tests" / name).write_text(text)
    subprocess.run([otter, "generate", "-t", "tests", "--no-requirements", "--no-environment",
                    "-o", "autograder.zip", "ag_runner.py", "worker.py", "ag_data.json",
                    "ag_data.npz"], cwd=folder, check=True, capture_output=True)
    return folder / "autograder.zip"


def notebook(sub: Path, path: Path) -> Path:
    """The submission as a notebook that unpacks its nntrain/ and imports it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for f in sorted((sub / "nntrain").rglob("*.py")):
            zf.write(f, f.relative_to(sub).as_posix())
    nb = nbformat.v4.new_notebook()
    data = base64.b64encode(buffer.getvalue()).decode()
    nb.cells = [nbformat.v4.new_code_cell(CELL.format(data=data))]
    nbformat.write(nb, path)
    return path


def otter_score(folder: Path) -> float:
    tests = json.loads((folder / "results.json").read_text())["tests"]
    return sum(t.get("score") or 0 for t in tests)


def our_scores(out: Path) -> dict[str, float]:
    with open(out / "gradebook.csv") as f:
        return {r["submission"]: float(r["score"]) for r in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--otter", default=str(Path(sys.executable).parent / "otter"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-otter-"))
    try:
        assignment = snapshot(work)
        a = asg.load(assignment)
        subs = make_class(work / "subs", args.n, seed=1, source=work)
        questions = numpy_questions(a)
        only = question_args(questions)
        zip_path = build_otter(work, a, questions, args.otter)
        notebooks = [notebook(s, work / f"{s.name}.ipynb") for s in subs]
        otter_t, ours_t, batch_t = [], [], []
        for r in range(args.rounds):
            for nb in notebooks:
                res = work / f"otter-{r}" / nb.stem
                res.mkdir(parents=True)
                otter_t.append(timed([args.otter, "run", "-a", str(zip_path), "-o", str(res),
                                      "--no-logo", str(nb)], capture_output=True))
            for s in subs:
                ours_t.append(timed(grade_cmd([s], work / f"ours-{r}", "--workers", "1",
                                              "--no-summary", *only, assignment=assignment)))
            batch_t.append(timed(grade_cmd(subs, work / f"batch-{r}", "--workers", "1",
                                           "--no-summary", *only, assignment=assignment))
                           / len(subs))
        ours = our_scores(work / "batch-0")
        otter = {nb.stem: otter_score(work / "otter-0" / nb.stem) for nb in notebooks}
        o, u, b = median(otter_t), median(ours_t), median(batch_t)
        rows = [["grader", "s per submission (median)", "speed relative to Otter"],
                ["`otter run` (Otter 7.0.0, no Docker)", f"{o:.2f}", "1.00x"],
                ["`autograder grade`, one command per submission", f"{u:.2f}", f"{o / u:.2f}x"],
                [f"`autograder grade`, one batch of {args.n} (--workers 1)", f"{b:.2f}",
                 f"{o / b:.2f}x"]]
        print(table(rows))
        print("\nscores (ours / Otter's): " + ", ".join(
            f"{k} {ours[k]:g}/{otter[k]:.4g}" for k in sorted(ours)))
        cases = grading.select_cases(a, a.cases(),
                                     grading.GradeOptions(questions=tuple(questions)))
        print(f"questions {', '.join(questions)}: {len(cases)} cases per submission; "
              f"{args.n} submissions, {args.rounds} rounds; {load_note()}")
        print(f"ratio (Otter / ours, per submission): {o / u:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
