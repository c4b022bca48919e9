"""(e) A CPU hog beside a normal submission: the normal one's grading time against alone.

The hog is a sandboxed process with the assignment's limits (what a worker gets) that
forks two processes per core, each in a session of its own (so that the kernel's
per-session autogroup scheduling, on here, gives each a full share, as it would give
each of many submissions), each spinning two threads that release the GIL; when a limit
ends it, it is started again, for as long as the measurement runs. The normal submission is
training_dnn's reference, its NumPy questions, graded by `grading.grade_package` one case
at a time (as each slot of a batch does). Timed alone, then beside the hog, then alone
again, in one process; with the per-submission cgroup (an equal CPU weight and a 1-core
quota for the hog's tree) and, in another process, without it (``AUTOGRADER_NO_CGROUPS=1``:
rlimits only), alternately, `--rounds` times. Prints each run, the ratio beside / alone
(the faster of the two alone runs around it) for each, and whether any case of the
normal submission ran past its time limit.

    .venv/bin/python benchmarks/bench_cpu_hog.py [--rounds 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from common import load_note, median, numpy_questions, snapshot, table  # noqa: E402

from autograder import assignment as asg  # noqa: E402
from autograder import batch, grading  # noqa: E402
from autograder.sandbox import Sandbox, cpu_count  # noqa: E402

HOG = """
import hashlib, os, threading
block = bytes(1 << 20)
def spin():  # hashing a large buffer releases the GIL: every thread burns a core
    while True:
        hashlib.sha256(block).digest()
for _ in range({processes}):
    if os.fork() == 0:
        os.setsid()  # a session of its own: the kernel's autogroup gives each a full share
        for _ in range(2):
            threading.Thread(target=spin, daemon=True).start()
        threading.Event().wait()
threading.Event().wait()
"""


class Hog:
    """A sandboxed CPU hog, restarted whenever a limit ends it, until `stop()`."""

    def __init__(self, limits, folder: Path):
        rw = Path(tempfile.mkdtemp(dir=folder))
        rw.chmod(0o711)
        self.sandbox = Sandbox(limits, rw_dir=rw)
        self.stopped = threading.Event()
        self.starts = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        code = HOG.format(processes=2 * cpu_count())
        while not self.stopped.is_set():
            process = self.sandbox.spawn(self.sandbox.python_argv("-c", code))
            self.starts += 1
            while not self.stopped.is_set() and process.wait(0.2) is None:
                pass
            process.kill()

    def stop(self):
        self.stopped.set()
        self.thread.join()
        self.sandbox.close()


def child(work: Path) -> dict:
    """One round in this process: alone, beside the hog, alone again."""
    a = asg.load(snapshot(work))
    options = grading.GradeOptions(questions=tuple(numpy_questions(a)), pipeline=False)
    oracle = grading.Oracle(store=batch.precompute(a, options))
    package = work / "normal" / "nntrain"
    shutil.copytree(a.solutions, package)

    def grade() -> tuple[float, int, list[str]]:
        start = time.perf_counter()
        result = grading.grade_package(a, package, oracle, "normal", options)
        late = sum(c.status == "timeout" for q in result.questions for f in q.functions
                   for c in f.cases)
        return time.perf_counter() - start, late, result.isolation

    grade()  # warm: imports, page cache
    alone, late_alone, layers = grade()
    hog = Hog(grading.limits_for(a), work)
    time.sleep(1.0)
    try:
        beside, late_beside, _ = grade()
    finally:
        hog.stop()
    again, _, _ = grade()
    return {"alone": min(alone, again), "beside": beside, "late": late_beside + late_alone,
            "hog_starts": hog.starts, "layers": layers}


def run_child(cgroup: bool) -> dict:
    env = dict(os.environ)
    env.pop("AUTOGRADER_NO_CGROUPS", None)
    if not cgroup:
        env["AUTOGRADER_NO_CGROUPS"] = "1"
    done = subprocess.run([sys.executable, __file__, "--child"], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory(prefix="bench-hog-") as folder:
            work = Path(folder)
            work.chmod(0o711)
            print(json.dumps(child(work)))
        return 0
    print(load_note())
    runs: dict[bool, list[dict]] = {True: [], False: []}
    rows = []
    for round_ in range(args.rounds):
        for cgroup in (True, False):
            got = run_child(cgroup)
            runs[cgroup].append(got)
            rows.append([str(round_ + 1), "cgroup" if cgroup else "rlimits only",
                         f"{got['alone']:.2f}", f"{got['beside']:.2f}",
                         f"{got['beside'] / got['alone']:.2f}x", str(got["late"]),
                         str(got["hog_starts"])])
    print(table([["round", "limits", "alone s", "beside hog s", "ratio", "cases late",
                  "hog starts"], *rows]))
    for cgroup in (True, False):
        ratios = [r["beside"] / r["alone"] for r in runs[cgroup]]
        label = "with the cgroup" if cgroup else "without (rlimits only)"
        print(f"{label}: median ratio {median(ratios):.2f}x, best {min(ratios):.2f}x, "
              f"worst {max(ratios):.2f}x; layers: {', '.join(runs[cgroup][0]['layers'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
