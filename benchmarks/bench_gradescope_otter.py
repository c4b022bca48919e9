"""(e) The zip as an Otter autograder against the hand-written one it replaced: memory and time.

Both zips are staged from training_dnn (a snapshot): "otter" from this tree (Otter's
runner, `run_otter.py`, calls this framework's plugin, which grades in the sandbox) and
"before" from the code of a git ref (`--ref`, default `main`; `git archive`, staged with it:
`python -m autograder.gradescope` wrote Otter's layout by hand). Each round runs, on a
fresh Gradescope-shaped root, `run_autograder` of each zip on the same submission, the two
alternating, and samples every process of its tree (harness,
Otter's runner and kernel, sandboxed worker, launchers): the headline is the peak of the
tree's summed PSS (a page shared by n processes counts 1/n in each), as in (d), sampled
every 20 ms. The
submissions: the reference (every question, PyTorch training included: what Gradescope
runs for a full-marks student) and the starter code's stubs (every case fails at once:
the fixed cost per submission). `otter run -a autograder.zip` on the new zip is timed too.
Time is the CPU time of the whole process tree (user + system; wall time is printed per
run): on a shared machine wall time varies by more than what is measured.

    .venv/bin/python benchmarks/bench_gradescope_otter.py [--rounds 2] [--ref main]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import psutil
from common import ROOT, load_note, median, snapshot, table

MB = 1024 * 1024
VENV = Path(sys.executable).parent.parent
STAGE = """
import sys
from pathlib import Path
from autograder import assignment as asg, build
a = asg.load(sys.argv[1])
folder = Path(sys.argv[2])
old = getattr(build, "gradescope").__dict__.get("OtterConfig")
args = (old(),) if old else ()
build.stage_autograder(a, folder / "staged", *args)
build.write_zip(folder / "staged", folder / "autograder.zip")
import autograder
print(autograder.__file__)
"""


def code_of(ref: str, dest: Path) -> Path:
    """The repository's files at git `ref`, unpacked into `dest` (no worktree made)."""
    data = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def stage(code: Path, assignment: Path, folder: Path) -> Path:
    """An autograder zip staged by the framework in `code` (imported first)."""
    folder.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", STAGE, str(assignment), str(folder)],
                          cwd=code, env=env, check=True, capture_output=True, text=True)
    assert Path(done.stdout.strip()).is_relative_to(code), done.stdout
    return folder / "autograder.zip"


def unpack(autograder_zip: Path, root: Path, submission: Path) -> Path:
    """A fresh /autograder: source/ (setup.sh run with this venv), submission/, results/."""
    shutil.rmtree(root, ignore_errors=True)
    for name in ("source", "results"):
        (root / name).mkdir(parents=True)
    (root / "submission_metadata.json").write_text("{}")
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
    env = {**os.environ, "NNTRAIN_SKIP_INSTALL": "1", "NNTRAIN_VENV": str(VENV)}
    subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, check=True,
                   capture_output=True)
    shutil.copytree(submission, root / "submission")
    return root


def sample(tree: psutil.Process) -> int:
    """The summed PSS of `tree` and its descendants now."""
    total = 0
    for proc in [tree, *tree.children(recursive=True)]:
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:
            continue
    return total


def become_subreaper():
    """Orphans of the measured tree (a sandbox's processes whose parent was killed)
    become this process's children, so that `reap_orphans` counts their CPU time."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_orphans(keep: int):
    """Wait for every exited child of this process but `keep` (the measured command)."""
    for child in psutil.Process().children():
        if child.pid != keep and child.status() == psutil.STATUS_ZOMBIE:
            os.waitpid(child.pid, os.WNOHANG)


def cpu_of_children() -> float:
    """CPU seconds (user + system) of every reaped descendant so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(cmd: list[str], env: dict) -> tuple[float, int, subprocess.CompletedProcess]:
    """(CPU seconds of the whole tree, peak summed PSS, the finished process) of `cmd`.

    CPU time, not wall time: the machine is shared, and its load changes wall times by
    more than the difference measured; every process of the tree is reaped by its
    parent or, once orphaned, by this process (`become_subreaper`), so all count."""
    cpu = cpu_of_children()
    start = time.monotonic()
    log = tempfile.TemporaryFile()
    proc = psutil.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sample(proc))
        reap_orphans(proc.pid)
        time.sleep(0.02)
    proc.wait()
    time.sleep(0.5)
    reap_orphans(proc.pid)
    seconds = cpu_of_children() - cpu
    print(f"  {' '.join(cmd[-2:])}: wall {time.monotonic() - start:.1f} s, CPU {seconds:.1f} s",
          flush=True)
    log.seek(0)
    output = log.read().decode(errors="replace")
    log.close()
    return seconds, peak, subprocess.CompletedProcess(cmd, proc.returncode, output)


def run_autograder(autograder_zip: Path, root: Path, submission: Path) -> tuple[float, int, float]:
    """(seconds, peak PSS, score) of one run_autograder on `submission`."""
    unpack(autograder_zip, root, submission)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "NNTRAIN_VENV": str(VENV)}
    seconds, peak, done = measured(["bash", str(root / "source" / "run_autograder")], env)
    results = json.loads((root / "results" / "results.json").read_text())
    score = sum(t.get("score") or 0 for t in results["tests"])
    assert "Autograder Error" not in json.dumps(results), done.stdout[-3000:]
    return seconds, peak, score


def otter_run(autograder_zip: Path, upload: Path, work: Path) -> tuple[float, int, float]:
    """(seconds, peak PSS, score) of `otter run -a autograder_zip upload`."""
    out = work / "otter-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    cmd = [str(VENV / "bin" / "otter"), "run", "-a", str(autograder_zip), "-o", str(out),
           "--no-logo", str(upload)]
    seconds, peak, done = measured(cmd, dict(os.environ))
    assert done.returncode == 0, done.stdout[-3000:]
    results = json.loads((out / "results.json").read_text())
    return seconds, peak, sum(t.get("score") or 0 for t in results["tests"])


def zipped(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(file, file.relative_to(folder).as_posix())
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ref", default="main", help="the git ref of the path before")
    args = parser.parse_args()
    become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="bench-gradescope-otter-"))
    work.chmod(0o711)  # the sandbox's uid must reach the grader's temporary folders
    try:
        assignment = snapshot(work)
        zips = {"before": stage(code_of(args.ref, work / "before-code"), assignment,
                                work / "before"),
                "otter": stage(ROOT, assignment, work / "otter")}
        subs = {"reference": work / "solutions", "stubs": work / "starter_code"}
        runs: dict[tuple, list] = {}
        for r in range(args.rounds):
            for sub, folder in subs.items():
                for path in ("before", "otter") if r % 2 == 0 else ("otter", "before"):
                    key = (sub, path)
                    runs.setdefault(key, []).append(
                        run_autograder(zips[path], work / "root", folder))
                    print(key, runs[key][-1], flush=True)
                upload = zipped(folder, work / f"{sub}.zip")
                runs.setdefault((sub, "otter run"), []).append(
                    otter_run(zips["otter"], upload, work))
                print((sub, "otter run"), runs[(sub, "otter run")][-1], flush=True)
        rows = [["submission", "path", "CPU s per submission (median)", "peak MB (worst)",
                 "score", "time / before", "memory / before"]]
        for sub in subs:
            base_t = median([t for t, _, _ in runs[(sub, "before")]])
            base_m = max(m for _, m, _ in runs[(sub, "before")])
            for path in ("before", "otter", "otter run"):
                ts = [t for t, _, _ in runs[(sub, path)]]
                peak = max(m for _, m, _ in runs[(sub, path)])
                scores = sorted({s for _, _, s in runs[(sub, path)]})
                rows.append([sub, {"before": f"run_autograder, {args.ref}'s hand-written "
                                             "layout", "otter": "run_autograder, Otter's "
                                   "runner + plugin", "otter run": "`otter run -a`"}[path],
                             f"{median(ts):.1f}", f"{peak / MB:.0f}",
                             "/".join(f"{s:g}" for s in scores),
                             f"{median(ts) / base_t:.2f}x", f"{peak / base_m:.2f}x"])
        print(table(rows))
        print(f"\n{args.rounds} rounds, alternating; {load_note()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
