"""`user` isolation (no bubblewrap, as on a TA's machine where it cannot be installed).

The sandbox's uid then sees the whole file system with its own permissions. So
`autograder grade` refuses, with one line naming the paths and the fix, while the
reference solutions, the case generator, the submissions or the output folder are
readable by that uid; and submissions graded side by side cannot read each other's
files in the shared world-writable folders (/tmp, /dev/shm, /var/tmp, lock folders).
Forced with `--isolation user` / ``isolation="user"``; needs root (dedicated uids).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from autograder import cli, scratch
from autograder import sandbox as sb
from autograder.sandbox import Limits, Sandbox

TINY = Path(__file__).parent / "fixtures" / "tiny"
SYSTEM_PYTHON = "/usr/bin/python3"
ROOT = os.geteuid() == 0
pytestmark = pytest.mark.skipif(not ROOT or "user" not in sb.available_isolations(),
                                reason="needs root and setpriv (dedicated uids)")


@pytest.fixture(scope="module")
def world():
    """A root-owned folder every uid can traverse, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="user-isolation-"))
    folder.chmod(0o711)
    yield folder
    scratch.remove_tree(folder)


@pytest.fixture(scope="module")
def world_python(world):
    """An interpreter the sandbox's uid can start, importing NumPy (as setup.sh makes on
    Gradescope): a venv of the system Python with this venv's packages, NumPy copied in
    when this venv is under a folder other users cannot enter."""
    probe = "import sys; sys.exit(sys.version_info[:2] != (3, 11))"
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run([SYSTEM_PYTHON, "-c", probe]).returncode:
        pytest.skip("no system Python 3.11 to make a world-reachable venv from")
    venv = world / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", venv], check=True)
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    target = venv / "lib" / "python3.11" / "site-packages"
    if not sb.reachable(site, 65534):
        for name in ("numpy", "numpy.libs"):
            if (site / name).is_dir():
                shutil.copytree(site / name, target / name, symlinks=True)
    (target / "here.pth").write_text(f"{site}\n")
    return str(venv / "bin" / "python")


def _private(path: Path) -> Path:
    path.chmod(0o700)
    return path


def _class(world: Path, exposed: str) -> dict[str, Path]:
    """The tiny assignment, a submission and an output folder, each private (0700) but
    `exposed` (left world-readable, as a fresh copy or checkout is)."""
    base = Path(tempfile.mkdtemp(dir=world))
    base.chmod(0o711)
    paths = {"assignment": base / "assignment", "submissions": base / "submissions",
             "output": base / "out"}
    shutil.copytree(TINY, paths["assignment"])
    for student in ("alice", "bob"):  # two: a folder of submissions, not one named after it
        shutil.copytree(TINY / "solutions", paths["submissions"] / student)
    paths["output"].mkdir()
    paths["solutions"] = paths["assignment"] / "solutions"
    for path in paths.values():
        for folder in [path, *(p for p in path.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)
    for name, path in paths.items():
        if name != exposed and not (exposed == "solutions" and name == "assignment"):
            _private(path)
    if exposed == "solutions":  # the assignment folder open only for its solutions
        _private(paths["assignment"]).chmod(0o711)
    return paths


def _grade(paths: dict[str, Path]) -> int:
    return cli.main(["grade", str(paths["submissions"]), "-o", str(paths["output"]),
                     "--assignment", str(paths["assignment"]), "--isolation", "user",
                     "--workers", "1", "--quiet", "--no-summary"])


@pytest.mark.parametrize("exposed", ["solutions", "assignment", "submissions", "output"])
def test_grade_refuses_while_a_secret_is_readable_by_the_sandbox_uid(
        world, world_python, monkeypatch, capsys, exposed):
    monkeypatch.setattr(sb, "this_python", lambda: world_python)
    paths = _class(world, exposed)
    assert _grade(paths) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{paths[exposed]}" in err and "chmod 700" in err and "bubblewrap" in err
    assert not list(paths["output"].glob("*"))


def test_grade_runs_when_everything_secret_is_private(world, world_python, monkeypatch,
                                                      capsys):
    monkeypatch.setattr(sb, "this_python", lambda: world_python)
    paths = _class(world, exposed="")
    assert _grade(paths) == 0, capsys.readouterr().err
    result = json.loads((paths["output"] / "alice" / "grade.json").read_text())
    assert result["status"] == "graded" and result["score"] == result["max_score"]
    assert "unprivileged-user" in result["isolation"] and "bwrap" not in result["isolation"]


def test_an_output_folder_made_by_grade_is_private(world, world_python, monkeypatch):
    monkeypatch.setattr(sb, "this_python", lambda: world_python)
    paths = _class(world, exposed="")
    shutil.rmtree(paths["output"])
    assert _grade(paths) == 0
    assert paths["output"].stat().st_mode & 0o777 == 0o700


# ----------------------------------------------------------------------------- side by side
WRITER = """
    import os, sys, tempfile, time
    made = []
    fd, name = tempfile.mkstemp()  # TMPDIR
    os.write(fd, b"secret"); os.close(fd); made.append(name)
    for folder in ("/tmp", "/dev/shm", "/var/tmp", "/run/lock"):
        if os.access(folder, os.W_OK):
            path = os.path.join(folder, f"writer-{os.getpid()}")
            with open(path, "w") as handle:
                handle.write("secret")
            made.append(path)
            os.mkdir(path + ".d")
            with open(path + ".d/inside", "w") as handle:
                handle.write("secret")
            made.append(path + ".d/inside")
    print(" ".join(made), flush=True)
    time.sleep(60)
"""

READER = """
    import os, sys
    for path in sys.argv[1:]:
        try:
            with open(path) as handle:
                print("READ", path, handle.read())
        except OSError as exc:
            print("denied", path, type(exc).__name__)
"""


def test_submissions_side_by_side_cannot_read_each_others_files(world):
    limits = Limits(cpu_seconds=20, memory_mb=1024, processes=16, wall_seconds=30)
    rw = [Path(tempfile.mkdtemp(dir=world)) for _ in range(2)]
    with Sandbox(limits, rw_dir=rw[0], isolation="user", python=SYSTEM_PYTHON) as writer, \
            Sandbox(limits, rw_dir=rw[1], isolation="user", python=SYSTEM_PYTHON) as reader:
        assert writer.uid != reader.uid
        (writer.rw_dir / "w.py").write_text(textwrap.dedent(WRITER))
        process = writer.spawn(writer.python_argv("w.py"))
        for _ in range(1000):
            if process.output().strip() or process.wait(0.02) is not None:
                break
        made = process.output().split()
        assert len(made) >= 5, process.output()
        assert made[0].startswith(str(writer.rw_dir))  # TMPDIR is the sandbox's own
        (reader.rw_dir / "r.py").write_text(textwrap.dedent(READER))
        result = reader.run(reader.python_argv("r.py", *made))
        assert "READ" not in result.output
        assert result.output.count("denied") == len(made)
        process.kill()
        leftovers = [p for p in made if os.path.lexists(p) and not p.startswith(str(rw[0]))]
        assert leftovers == []


def test_the_sweep_covers_the_lock_folders():
    assert {"/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock"} <= set(sb.SWEPT_DIRS)


def test_readable_by_finds_a_readable_file_under_a_closed_listing(world):
    folder = Path(tempfile.mkdtemp(dir=world))
    (folder / "inner").mkdir()
    (folder / "inner" / "answers.py").write_text("x = 1\n")
    folder.chmod(0o711)  # not listable, but enterable: a name guessed is readable
    (folder / "inner").chmod(0o711)
    assert sb.readable_by(folder, 61999) == folder / "inner" / "answers.py"
    (folder / "inner" / "answers.py").chmod(0o600)
    assert sb.readable_by(folder, 61999) is None
    (folder / "inner").chmod(0o755)
    assert sb.readable_by(folder, 61999) == folder / "inner"
    folder.chmod(0o700)
    assert sb.readable_by(folder / "inner", 61999) is None
