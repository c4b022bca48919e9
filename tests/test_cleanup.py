"""Removing temporary trees whatever a submission left in them (autograder.cleanup)."""

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from autograder import batch
from autograder.cleanup import remove_tree


def nest(root: Path, depth: int, name: str = "d", extra=None) -> None:
    """`depth` folders `name` nested under `root`, built relative to a descriptor (the
    whole path may exceed the file system's limit); `extra(fd, level)` adds to each."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for level in range(depth):
        os.mkdir(name, dir_fd=fd)
        if extra:
            extra(fd, level)
        below = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.close(fd)


def litter(outside: Path):
    """Each level gets a file, a link to `outside` and a fifo; every 50th is mode 000."""
    def add(fd: int, level: int) -> None:
        os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        os.symlink(outside, "link", dir_fd=fd)
        os.mkfifo("fifo", dir_fd=fd)
        if level % 50 == 49:
            os.chmod("d", 0, dir_fd=fd)
    return add


TREES = [
    # (id, build under the folder `root`, given a precious folder outside)
    ("deeper-than-the-recursion-limit",
     lambda root, outside: nest(root, sys.getrecursionlimit() + 500)),
    ("longer-than-PATH_MAX", lambda root, outside: nest(root, 40, "n" * 200)),
    ("links-fifos-and-mode-000", lambda root, outside: nest(root, 300, extra=litter(outside))),
    ("wide", lambda root, outside: [os.mkdir(root / str(k)) for k in range(3000)]),
    ("a-link-at-the-top", lambda root, outside: (root / "top").symlink_to(outside)),
]


@pytest.mark.parametrize("build", [pytest.param(c[1], id=c[0]) for c in TREES])
def test_remove_tree_removes_anything_and_follows_no_link(tmp_path, build):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    root = tmp_path / "root"
    root.mkdir()
    build(root, outside)
    assert remove_tree(root)
    assert not os.path.lexists(root)
    assert (outside / "keep.txt").read_text() == "keep"


def test_shutil_cannot_but_remove_tree_can(tmp_path):
    """Why `remove_tree` exists: `shutil.rmtree` raises past `ignore_errors`."""
    root = tmp_path / "deep"
    root.mkdir()
    nest(root, sys.getrecursionlimit() + 100)
    with pytest.raises(RecursionError):
        shutil.rmtree(root, ignore_errors=True)
    assert remove_tree(root) and not root.exists()


@pytest.mark.parametrize("kind", ["file", "link", "missing"])
def test_remove_tree_of_a_file_a_link_or_nothing(tmp_path, kind):
    path = tmp_path / "x"
    if kind == "file":
        path.write_text("x")
    elif kind == "link":
        path.symlink_to(tmp_path)
    assert remove_tree(path) and not os.path.lexists(path) and tmp_path.is_dir()


def test_a_killed_batchs_deep_folder_does_not_stop_the_next_sweep(tmp_path):
    dead = batch_dead_pid()
    left = tmp_path / f"{batch.WORKER_FOLDER}{dead}-x"
    left.mkdir()
    nest(left, sys.getrecursionlimit() + 500, extra=litter(tmp_path))
    os.chmod(left, stat.S_IRUSR)
    assert batch.sweep_batch_folders(tmp_path) == [left]
    assert not os.path.lexists(left)


def batch_dead_pid() -> int:
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_next_batch_grades_after_a_killed_one_left_a_deep_folder(monkeypatch):
    from autograder import assignment as asg

    tiny = Path(__file__).resolve().parent / "fixtures" / "tiny"
    temp = Path(tempfile.mkdtemp(prefix="autograder-test-cleanup-"))
    temp.chmod(0o711)  # the sandbox's uid must reach its staging folders in it
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    try:
        left = temp / f"{batch.WORKER_FOLDER}{batch_dead_pid()}-x"
        left.mkdir()
        nest(left, sys.getrecursionlimit() + 500, extra=litter(temp))
        sub = temp / "subs" / "alice"
        shutil.copytree(tiny / "solutions", sub)
        rows = batch.grade_batch(asg.load(tiny), [sub], temp / "out",
                                 batch.BatchOptions(quiet=True, summary=False))
        assert [(r["submission"], r["status"], r["score"]) for r in rows] == [
            ("alice", "graded", 6)]
        assert not os.path.lexists(left)
    finally:
        remove_tree(temp)
