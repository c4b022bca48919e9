"""Preparing submissions: good ones are copied, hostile or broken ones get a clear status.

Every archive is built here, at test time, in tmp_path.
"""

import io
import os
import re
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from autograder import submission
from autograder.cleanup import remove_tree
from autograder.submission import discover, prepare, submission_name

GOOD = {"__init__.py": b"", "layers.py": b"def f():\n    return 1\n", "data/w.txt": b"1 2 3\n"}


# ---- building archives ---------------------------------------------------------------------

def good(prefix: str = "", files: dict = GOOD) -> list:
    """Members of a good package under `prefix`."""
    return [(f"{prefix}nntrain/{name}", data) for name, data in files.items()]


def special(name: str, mode: int, data: bytes = b"") -> tuple:
    """A member whose Unix mode bits say `mode` (a link, a fifo, a setuid file...)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info, data


def link(name: str, target: str) -> tuple:
    """A symbolic-link member pointing at `target`."""
    return special(name, stat.S_IFLNK | 0o777, target.encode())


def write_zip(path: Path, members: list) -> Path:
    """A zip at `path` holding `members` ((name or ZipInfo, bytes) pairs), deflated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are on purpose
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def patch_bytes(path: Path, old: bytes, new: bytes) -> Path:
    """Replace `old` by `new` (same length) everywhere in the file: names in both headers."""
    data = path.read_bytes()
    assert old in data and len(old) == len(new)
    path.write_bytes(data.replace(old, new))
    return path


def patch_central(path: Path, name: str, offset: int, fmt: str, value: int) -> Path:
    """Overwrite a field of `name`'s central-directory record (offset from its start)."""
    data = bytearray(path.read_bytes())
    start = data.find(b"PK\x01\x02")
    while start >= 0:
        length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + length] == name.encode():
            struct.pack_into(fmt, data, start + offset, value)
            path.write_bytes(bytes(data))
            return path
        start = data.find(b"PK\x01\x02", start + 4)
    raise AssertionError(f"{name} not in {path}")


def members_zip(members):
    """A builder of a zip of `members` named alice.zip."""
    return lambda d: write_zip(d / "alice.zip", members)


def zip_bytes(members: list) -> bytes:
    """A zip of `members`, as bytes (to put inside another zip)."""
    return write_zip(io.BytesIO(), members).getvalue()


def encrypted_inner(d: Path) -> Path:
    path = write_zip(d / "alice.zip", [("inner.zip", zip_bytes(good()))])
    return patch_central(path, "inner.zip", 8, "<H", 1)


def truncated(d: Path) -> Path:
    path = write_zip(d / "alice.zip", good())
    path.write_bytes(path.read_bytes()[:-40])
    return path


def not_a_zip(d: Path) -> Path:
    path = d / "alice.zip"
    path.write_bytes(b"this is not a zip file, it only has the name of one\n")
    return path


def empty_zip(d: Path) -> Path:
    return write_zip(d / "alice.zip", [])


def encrypted(d: Path) -> Path:
    return patch_central(write_zip(d / "alice.zip", good()), "nntrain/layers.py", 8, "<H", 1)


def bad_utf8_name(d: Path) -> Path:
    path = write_zip(d / "alice.zip", good() + [("nntrain/café.txt", b"x")])
    return patch_bytes(path, "café".encode(), b"caf\xff\xfe")


def cp437_name(d: Path) -> Path:
    """A name written by an old tool in code page 437 (0x82 is 'é'), no UTF-8 flag."""
    return patch_bytes(write_zip(d / "alice.zip", good() + [("nntrain/cafX.txt", b"x")]),
                       b"cafX", b"caf\x82")


def unflagged_utf8_name(d: Path) -> Path:
    """UTF-8 name bytes without the UTF-8 flag, as macOS's Archive Utility writes them."""
    return patch_bytes(write_zip(d / "alice.zip", good() + [("nntrain/cafXY.txt", b"x")]),
                       b"cafXY", "café".encode())


def header_lies(d: Path) -> Path:
    """An entry of 5 MB whose central directory says it unpacks to 100 bytes."""
    members = good() + [("nntrain/big.bin", bytes(5_000_000))]
    return patch_central(write_zip(d / "alice.zip", members), "nntrain/big.bin", 24, "<I", 100)


# ---- reading results -----------------------------------------------------------------------

def tree(root: Path) -> dict[str, bytes]:
    """Regular files under `root` (relative '/'-paths -> contents)."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def snapshot(root: Path) -> set[str]:
    """Every path under `root`, links included, as relative strings."""
    return {os.path.relpath(os.path.join(d, n), root)
            for d, dirs, files in os.walk(root) for n in dirs + files}


@pytest.fixture
def area(tmp_path):
    """(input folder, dest folder); afterwards nothing may exist outside those two."""
    inputs, dest = tmp_path / "in", tmp_path / "out" / "deep" / "dest"
    inputs.mkdir()
    yield inputs, dest
    outside = {p for p in snapshot(tmp_path)
               if not p.startswith(("in", os.path.join("out", "deep", "dest")))}
    assert outside <= {"out", os.path.join("out", "deep")}, outside


def assert_safe_copy(pkg: Path) -> None:
    """The copy holds only real files 0644 and folders 0755, no link, no bytecode."""
    for path in [pkg, *pkg.rglob("*")]:
        mode = os.lstat(path).st_mode
        assert stat.S_ISREG(mode) or stat.S_ISDIR(mode), path
        assert stat.S_IMODE(mode) == (0o755 if stat.S_ISDIR(mode) else 0o644), path
        assert "__pycache__" not in path.parts and path.suffix != ".pyc"


# ---- zip archives --------------------------------------------------------------------------

TRAVERSAL = [("../../evil.py", b"x"), ("/tmp/abs-evil.py", b"x"), ("nntrain/../../evil2.py", b"x"),
             ("..\\..\\evil3.py", b"x"), ("C:/evil4.py", b"x")]
LIMIT_SIZES = {"max_bytes": 1500}

ZIP_CASES = [
    # id, builder, limits, status, files copied (None: no package), words in message/warnings
    ("root", members_zip(good()), {}, "ok", GOOD, "Copied 3 files from nntrain/"),
    ("one-folder-down", members_zip(good("alice/")), {}, "ok", GOOD, "alice/nntrain/"),
    ("backslash-separators", members_zip([(n.replace("/", "\\"), d) for n, d in good()]), {},
     "ok", GOOD, ""),
    ("traversal-skipped", members_zip(good() + TRAVERSAL), {}, "ok", GOOD,
     "Skipped 5 entries"),
    ("traversal-only", members_zip([("../nntrain/layers.py", b"x")]), {}, "unsafe-entries",
     None, "leaves the submission folder"),
    ("symlink-entry", members_zip(good() + [link("nntrain/passwd", "/etc/passwd")]), {}, "ok",
     GOOD, "nntrain/passwd (a symbolic link"),
    ("symlinked-package", members_zip([link("nntrain", "/etc")]), {}, "unsafe-entries", None,
     "symbolic link"),
    ("write-through-symlink", members_zip([link("nntrain", "../bob/nntrain")] + good()), {},
     "ok", GOOD, "symbolic link"),
    ("fifo-entry", members_zip(good() + [special("nntrain/pipe", stat.S_IFIFO | 0o644)]), {},
     "ok", GOOD, "not a regular file"),
    ("encrypted-entry", encrypted, {}, "bad-archive", None, "encrypted"),
    ("duplicate-names", members_zip([("nntrain/layers.py", b"old")] + good()), {}, "ok", GOOD,
     "more than once"),
    ("two-folders-down", members_zip(good("a/b/")), {}, "no-package", None, "a/b/nntrain/"),
    ("root-and-one-down", members_zip(good() + good("old/", {"x.py": b""})), {}, "ok", GOOD,
     "ignored old/nntrain/"),
    ("two-one-down", members_zip(good("a/") + good("b/")), {}, "ambiguous", None,
     "a/nntrain/, b/nntrain/"),
    ("macos-junk", members_zip(good() + [("__MACOSX/nntrain/._layers.py", b"junk"),
                                         ("nntrain/._layers.py", b"junk"),
                                         ("nntrain/.DS_Store", b"junk")]), {}, "ok", GOOD, ""),
    ("bytecode-dropped", members_zip(good() + [("nntrain/__pycache__/layers.cpython-311.pyc",
                                                b"stale"), ("nntrain/old.pyc", b"stale")]),
     {}, "ok", GOOD, "dropped 2 compiled"),
    ("only-bytecode", members_zip([("nntrain/__pycache__/a.pyc", b"stale")]), {}, "empty", None,
     "holds no files"),
    ("empty-zip", empty_zip, {}, "empty", None, "no usable files"),
    ("only-folders", members_zip([("nntrain/", b""), ("nntrain/sub/", b"")]), {}, "empty", None,
     "no usable files"),
    ("no-package", members_zip([("README.md", b"hi"), ("notes/layers.py", b"")]), {},
     "no-package", None, "No usable nntrain/"),
    ("loose-modules", members_zip(list(GOOD.items())), {}, "ok", GOOD,
     "there is no nntrain/ folder: graded the files at the top of the submission"),
    ("loose-modules-and-a-deep-package", members_zip(list(GOOD.items()) + good("a/b/")), {},
     "no-package", None, "too deep"),
    ("too-many-files", members_zip(good()), {"max_files": 2}, "too-large", None,
     "more than 2 files"),
    ("file-too-large", members_zip(good()), {"max_file_bytes": 10}, "too-large", None,
     "allowed for one file"),
    ("package-too-large", members_zip(good() + [("nntrain/data/z.bin", bytes(2000))]),
     LIMIT_SIZES, "too-large", None, "more than 1,500 bytes"),
    ("archive-too-large", members_zip(good()), {"max_bytes": 100}, "too-large", None,
     "submit only the package"),
    ("truncated", truncated, {}, "bad-archive", None, "not a readable zip"),
    ("not-a-zip", not_a_zip, {}, "bad-archive", None, "not a readable zip"),
    ("header-lies-about-size", header_lies, {"max_file_bytes": 1_000_000}, "bad-archive", None,
     "damaged"),
    ("non-utf8-name-flagged-utf8", bad_utf8_name, {}, "bad-archive", None, "not valid UTF-8"),
    ("cp437-name", cp437_name, {}, "ok", {**GOOD, "café.txt": b"x"}, ""),
    ("zip-in-zip", members_zip([("alice.zip", zip_bytes(good()))]), {}, "ok", GOOD,
     "graded alice.zip, the zip inside the zip"),
    ("zip-in-zip-one-down", members_zip([("hw/alice.zip", zip_bytes(good("alice/")))]), {},
     "ok", GOOD, "alice/nntrain/"),
    ("zip-in-zip-in-zip", members_zip([("a.zip", zip_bytes([("b.zip", zip_bytes(good()))]))]),
     {}, "no-package", None, "No usable nntrain/"),
    ("two-zips-in-zip", members_zip([("a.zip", zip_bytes(good())), ("b.zip", zip_bytes(good()))]),
     {}, "no-package", None, "No usable nntrain/"),
    ("zip-in-zip-not-a-zip", members_zip([("a.zip", b"not a zip")]), {}, "bad-archive", None,
     "a.zip in the zip is not a readable zip"),
    ("zip-in-zip-too-large", members_zip([("a.zip", zip_bytes(good()) + bytes(3000))]),
     LIMIT_SIZES, "too-large", None, "a.zip in the zip is more than 1,500 bytes"),
    ("zip-in-zip-encrypted", encrypted_inner, {}, "bad-archive", None, "inner.zip is encrypted"),
    ("utf8-name-unflagged", unflagged_utf8_name, {}, "ok", {**GOOD, "café.txt": b"x"}, ""),
]


@pytest.mark.parametrize("build, limits, status, files, words",
                         [pytest.param(*case[1:], id=case[0]) for case in ZIP_CASES])
def test_zip_submission(area, build, limits, status, files, words):
    inputs, dest = area
    result = prepare(build(inputs), dest, **limits)
    assert (result.status, result.name) == (status, "alice"), result.message
    assert words in " ".join([result.message, *result.warnings])
    if files is None:
        assert result.package_dir is None and not (dest / "nntrain").exists()
    else:
        assert result.package_dir == dest / "nntrain"
        assert tree(result.package_dir) == files
        assert_safe_copy(result.package_dir)


def test_zip_bomb_is_stopped_by_its_declared_size(area):
    inputs, dest = area
    path = inputs / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("nntrain/__init__.py", b"")
        with zf.open("nntrain/bomb.bin", "w", force_zip64=True) as out:
            block = bytes(1 << 20)
            for _ in range(200):
                out.write(block)
    assert path.stat().st_size < 1_000_000
    result = prepare(path, dest, max_bytes=1_000_000, max_file_bytes=1_000_000)
    assert result.status == "too-large" and "nntrain/bomb.bin" in result.message
    assert not (dest / "nntrain").exists()


def test_zip_stream_longer_than_its_header_is_cut_off(area, monkeypatch):
    """The streamed size is checked too, should the zip reader ever yield more."""
    inputs, dest = area
    path = write_zip(inputs / "alice.zip", good())
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, info, *a, **k: io.BytesIO(bytes(10_000)))
    result = prepare(path, dest, max_file_bytes=1_000)
    assert result.status == "too-large" and "unpacks to more than" in result.message
    assert not (dest / "nntrain").exists()


def test_zip_mode_bits_are_not_kept(area):
    inputs, dest = area
    members = [special("nntrain/", stat.S_IFDIR | 0o777),
               special("nntrain/__init__.py", stat.S_IFREG | 0o4777, b""),
               special("nntrain/layers.py", stat.S_IFREG | 0o000, b"x = 1\n")]
    result = prepare(write_zip(inputs / "alice.zip", members), dest)
    assert result.status == "ok", result.message
    assert tree(result.package_dir) == {"__init__.py": b"", "layers.py": b"x = 1\n"}
    assert_safe_copy(result.package_dir)


# ---- folders -------------------------------------------------------------------------------

def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Files (relative path -> contents) under `root`."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def folder(files: dict[str, bytes], prefix: str = "nntrain/"):
    """A builder of the folder submission `alice/` holding `files` under `prefix`."""
    return lambda d: write_tree(d / "alice", {prefix + k: v for k, v in files.items()})


def with_links(d: Path) -> Path:
    """alice/nntrain with links to /etc/passwd and into the sibling submission bob/."""
    write_tree(d / "bob", {"nntrain/secret.py": b"bob's work\n"})
    root = folder(GOOD)(d)
    (root / "nntrain/passwd").symlink_to("/etc/passwd")
    (root / "nntrain/bob.py").symlink_to(d / "bob/nntrain/secret.py")
    (root / "nntrain/bobdir").symlink_to("../../bob/nntrain")
    return root


def linked_package(d: Path) -> Path:
    """alice/nntrain is itself a link to the sibling bob's package."""
    write_tree(d / "bob", {k: v for k, v in good()})
    (d / "alice").mkdir()
    (d / "alice/nntrain").symlink_to(d / "bob/nntrain")
    return d / "alice"


def with_fifo(d: Path) -> Path:
    root = folder(GOOD)(d)
    os.mkfifo(root / "nntrain/pipe")
    return root


def with_device(d: Path) -> Path:
    root = folder(GOOD)(d)
    try:
        os.mknod(root / "nntrain/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot make a device file here")
    return root


def with_odd_modes(d: Path) -> Path:
    root = folder(GOOD)(d)
    os.chmod(root / "nntrain/layers.py", 0o777)
    os.chmod(root / "nntrain/data", 0o700)
    return root


def with_non_utf8_name(d: Path) -> Path:
    root = folder(GOOD)(d)
    try:
        Path(os.fsdecode(bytes(root / "nntrain") + b"/caf\xe9.txt")).write_bytes(b"x")
    except OSError:
        pytest.skip("this file system refuses non-UTF-8 names")
    return root


def gradescope_lone_zip(d: Path) -> Path:
    """Gradescope's submission folder holding only the uploaded zip."""
    (d / "submission").mkdir()
    write_zip(d / "submission/upload.zip", good())
    return d / "submission"


def link_to_submission(d: Path) -> Path:
    folder(GOOD)(d)
    (d / "alias").symlink_to(d / "alice")
    return d / "alias"


def named(name: str, data: bytes = b""):
    def build(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name
    return build


def empty_folder(d: Path) -> Path:
    (d / "alice").mkdir()
    return d / "alice"


FOLDER_CASES = [
    # id, builder, limits, status, files copied, words in message/warnings
    ("root", folder(GOOD), {}, "ok", GOOD, "Copied 3 files from nntrain/"),
    ("one-folder-down", folder(GOOD, "alice/nntrain/"), {}, "ok", GOOD, "alice/nntrain/"),
    ("links-skipped", with_links, {}, "ok", GOOD, "Skipped 3 entries"),
    ("linked-package", linked_package, {}, "unsafe-entries", None, "nntrain (a symbolic link"),
    ("fifo", with_fifo, {}, "ok", GOOD, "nntrain/pipe (not a regular file"),
    ("device", with_device, {}, "ok", GOOD, "nntrain/null (not a regular file"),
    ("odd-modes", with_odd_modes, {}, "ok", GOOD, ""),
    ("non-utf8-name", with_non_utf8_name, {}, "ok", GOOD, "caf\\udce9.txt"),
    ("bytecode-dropped", folder({**GOOD, "__pycache__/layers.cpython-311.pyc": b"stale",
                                 "old.pyc": b"stale"}), {}, "ok", GOOD, "dropped 2 compiled"),
    ("macos-junk", folder({**GOOD, "._layers.py": b"junk", ".DS_Store": b"junk"}), {}, "ok",
     GOOD, ""),
    ("two-folders-down", folder(GOOD, "a/b/nntrain/"), {}, "no-package", None, "a/b/nntrain/"),
    ("two-one-down", lambda d: write_tree(d / "alice", {k.replace("nntrain/", p + "/nntrain/"): v
                                                        for p in "ab" for k, v in good()}),
     {}, "ambiguous", None, "a/nntrain/, b/nntrain/"),
    ("too-many-files", folder(GOOD), {"max_files": 2}, "too-large", None, "more than 2 files"),
    ("file-too-large", folder(GOOD), {"max_file_bytes": 10}, "too-large", None, "one file"),
    ("empty-folder", empty_folder, {}, "empty", None, "empty folder"),
    ("empty-package", folder({"__pycache__/a.pyc": b""}), {}, "empty", None, "holds no files"),
    ("gradescope-lone-zip", gradescope_lone_zip, {}, "ok", GOOD, "Copied 3 files"),
    ("gradescope-loose-files", folder(GOOD, ""), {}, "ok", GOOD,
     "Copied 3 files from the top of the submission"),
    ("loose-files-not-python", folder({"notes.txt": b"x", "sub/layers.py": b""}, ""), {},
     "no-package", None, "No usable nntrain/"),
    ("link-to-submission", link_to_submission, {}, "unsafe-entries", None, "not followed"),
    ("missing", lambda d: d / "ghost.zip", {}, "missing", None, "does not exist"),
    ("text-file", named("alice.txt", b"my answers\n"), {}, "bad-archive", None,
     "not a readable zip"),
    ("fifo-named-zip", lambda d: (os.mkfifo(d / "alice.zip"), d / "alice.zip")[1], {},
     "bad-archive", None, "not a file or a folder"),
]


@pytest.mark.parametrize("build, limits, status, files, words",
                         [pytest.param(*case[1:], id=case[0]) for case in FOLDER_CASES])
def test_folder_submission(area, build, limits, status, files, words):
    inputs, dest = area
    result = prepare(build(inputs), dest, **limits)
    assert result.status == status, result.message
    assert words in " ".join([result.message, *result.warnings])
    if files is None:
        assert result.package_dir is None and not (dest / "nntrain").exists()
    else:
        assert tree(result.package_dir) == files
        assert_safe_copy(result.package_dir)


def test_other_package_name(area):
    inputs, dest = area
    write_tree(inputs / "alice", {"mypkg/__init__.py": b"", "nntrain/x.py": b""})
    result = prepare(inputs / "alice", dest, "mypkg")
    assert result.status == "ok" and result.package_dir == dest / "mypkg"
    assert tree(result.package_dir) == {"__init__.py": b""}


def test_existing_destination_is_refused(area):
    inputs, dest = area
    (dest / "nntrain").mkdir(parents=True)
    with pytest.raises(FileExistsError):
        prepare(folder(GOOD)(inputs), dest)


# ---- names and discovery -------------------------------------------------------------------

@pytest.mark.parametrize("path, expected", [
    pytest.param("subs/alice.zip", "alice", id="zip"),
    pytest.param("subs/alice", "alice", id="folder"),
    pytest.param("subs/Bob_2.ZIP", "Bob_2", id="upper-case-suffix"),
    pytest.param("/autograder/submission/", "submission", id="gradescope"),
    pytest.param("subs/alice.tar.gz", "alice.tar.gz", id="other-file"),
])
def test_submission_name_plain(path, expected):
    assert submission_name(Path(path)) == expected


@pytest.mark.parametrize("path", [
    pytest.param("subs/Alice Smith.zip", id="space"),
    pytest.param("subs/ålice (1).zip", id="non-ascii"),
    pytest.param("subs/.hidden.zip", id="leading-dot"),
    pytest.param("subs/.zip", id="nothing-left"),
    pytest.param(os.fsdecode(b"subs/caf\xe9.zip"), id="non-utf8"),
])
def test_submission_name_odd(path):
    name = submission_name(Path(path))
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name), name
    assert name == submission_name(Path(path))


def test_submission_names_stay_apart():
    names = {submission_name(Path(p)) for p in ["a b.zip", "a_b.zip", "a?b.zip", "a:b"]}
    assert len(names) == 4


def test_discover(tmp_path):
    subs = write_tree(tmp_path / "subs", {"carol/nntrain/__init__.py": b"",
                                          "notes.txt": b"", ".hidden/x": b"",
                                          "__MACOSX/x": b""})
    for name in ["bob.zip", "alice.ZIP"]:
        write_zip(subs / name, good())
    (subs / "dan.tar.gz").write_bytes(b"\x1f\x8b not a zip")
    solo = write_tree(tmp_path / "solo", {"nntrain/__init__.py": b""})
    stray = write_tree(tmp_path, {"stray.txt": b""}) / "stray.txt"
    (tmp_path / "solo-link").symlink_to(solo)
    found = discover([subs, tmp_path / "solo-link", stray, tmp_path / "ghost", subs / "bob.zip"])
    assert found == [subs / "alice.ZIP", subs / "bob.zip", subs / "carol", subs / "dan.tar.gz",
                     solo, stray, tmp_path / "ghost"]
    rejected = prepare(subs / "dan.tar.gz", tmp_path / "dest")
    assert rejected.status == "bad-archive" and "make a new .zip" in rejected.message


def test_discover_keeps_a_linked_child_for_prepare_to_refuse(tmp_path):
    subs = write_tree(tmp_path / "subs", {"alice/nntrain/__init__.py": b""})
    (subs / "mallory").symlink_to(subs / "alice")
    assert discover([subs]) == [subs / "alice", subs / "mallory"]
    assert prepare(subs / "mallory", tmp_path / "dest").status == "unsafe-entries"


def test_statuses_are_listed():
    assert {case[3] for case in ZIP_CASES + FOLDER_CASES} <= set(submission.STATUSES)


# ---- trees too deep, too long or too many; files that cannot be copied ---------------------

def deep_tree(root: Path, depth: int, name: str = "d") -> None:
    """`depth` nested folders `name` under `root`, a file `x.py` in the deepest, made
    relative to a descriptor so that no path grows (it may exceed the file system's)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        below = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.close(os.open("x.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    os.close(fd)


def deep_folder(depth: int, name: str = "d"):
    def build(d: Path) -> Path:
        root = write_tree(d / "alice", {f"nntrain/{k}": v for k, v in GOOD.items()})
        deep_tree(root / "nntrain", depth, name)
        return root
    return build


def crowded_folder(d: Path) -> Path:
    root = write_tree(d / "alice", {f"nntrain/{k}": v for k, v in GOOD.items()})
    (root / "nntrain" / "crowd").mkdir()
    for k in range(submission.MAX_DIR_ENTRIES + 1):
        os.close(os.open(root / "nntrain" / "crowd" / f"{k}.txt", os.O_CREAT | os.O_WRONLY))
    return root


def many_entries_zip(d: Path) -> Path:
    return write_zip(d / "alice.zip", good() + [(f"junk/{k}", b"") for k in range(20_001)])


def understated_zip(d: Path) -> Path:
    """Many entries whose end record claims only 3 (the table of contents is small)."""
    path = write_zip(d / "alice.zip", good() + [(f"j/{k}", b"") for k in range(20_001)])
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 3, 3)
    path.write_bytes(bytes(data))
    return path


def huge_directory_zip(d: Path) -> Path:
    """Few entries with 60 kB extra fields each: a 3 MB table of contents."""
    members = good()
    for k in range(50):
        info = zipfile.ZipInfo(f"junk/{k}")
        info.extra = b"\xff\xff" + struct.pack("<H", 60_000) + bytes(60_000)
        members.append((info, b""))
    return write_zip(d / "alice.zip", members)


LIMIT_CASES = [
    # (id, build, status, words in the message, package files kept)
    ("folder-3000-deep", deep_folder(3000), "ok", "more than 16 folders below", GOOD),
    ("folder-path-too-long", deep_folder(8, "n" * 200), "ok", "longer than a file system",
     GOOD),
    ("folder-many-entries", crowded_folder, "too-large", "more than 20,000 entries", None),
    ("zip-deep-entry", members_zip(good() + [("nntrain/" + "d/" * 3000 + "x.py", b"1")]),
     "ok", "more than 16 folders below", GOOD),
    ("zip-long-name", members_zip(good() + [("nntrain/" + "n" * 300 + ".py", b"1")]), "ok",
     "longer than a file system", GOOD),
    ("zip-many-entries", many_entries_zip, "too-large", "lists 20,004 entries", None),
    ("zip-entry-count-understated", understated_zip, "too-large",
     "holds more than 20,000 entries", None),
    ("zip-huge-table-of-contents", huge_directory_zip, "too-large", "table of contents",
     None),
    ("inner-zip-many-entries", lambda d: write_zip(d / "alice.zip", [
        ("inner.zip", many_entries_zip(d).read_bytes())]), "too-large",
     "inner.zip in the zip lists 20,004 entries", None),
]


@pytest.mark.parametrize("build, status, words, files",
                         [pytest.param(*case[1:], id=case[0]) for case in LIMIT_CASES])
def test_trees_beyond_the_limits_are_trimmed_or_refused(area, build, status, words, files):
    inputs, dest = area
    result = prepare(build(inputs), dest)
    assert result.status == status, result.message
    assert words in result.message
    if files is None:
        assert result.package_dir is None and not (dest / "nntrain").exists()
    else:
        assert tree(result.package_dir) == files
    assert remove_tree(inputs) and remove_tree(dest)  # beyond os.walk's (the fixture's) reach


def test_a_zip_beyond_the_entry_limit_is_not_parsed(area, monkeypatch):
    inputs, dest = area
    path = many_entries_zip(inputs)
    monkeypatch.setattr(zipfile, "ZipFile", None)  # any parse would raise TypeError
    result = prepare(path, dest)
    assert result.status == "too-large" and "lists 20,004 entries" in result.message


def vanishing(original):
    """An `open_regular` that finds `layers.py` removed (or unreadable) at copy time."""
    def opener(path):
        if path.name == "layers.py":
            path.unlink()
        return original(path)
    return opener


def unreadable_folder(original):
    def read(path, *args):
        if path.name == "data":
            raise PermissionError(13, "Permission denied")
        return original(path, *args)
    return read


COPY_FAILURES = [
    ("file-vanishes", "open_regular", vanishing, "layers.py (could not be copied",
     {"__init__.py": b"", "data/w.txt": b"1 2 3\n"}),
    ("folder-unreadable", "read_dir", unreadable_folder,
     "nntrain/data (a folder that could not be read: Permission denied)",
     {"__init__.py": b"", "layers.py": GOOD["layers.py"]}),
]


@pytest.mark.parametrize("attribute, fault, words, files",
                         [pytest.param(*case[1:], id=case[0]) for case in COPY_FAILURES])
def test_what_cannot_be_copied_is_skipped_and_said(area, monkeypatch, attribute, fault, words,
                                                   files):
    inputs, dest = area
    path = folder(GOOD)(inputs)
    monkeypatch.setattr(submission, attribute, fault(getattr(submission, attribute)))
    result = prepare(path, dest)
    assert result.status == "ok" and words in result.message, result.message
    assert tree(result.package_dir) == files


# ---- which paths are one submission (issue 13.5) -------------------------------------------

ONE_OR_MANY = [
    # (id, files under the named folder, the submissions discover finds, relative to it)
    ("package-at-top", ["nntrain/__init__.py"], ["."]),
    ("package-one-folder-down", ["hw2/nntrain/__init__.py"], ["."]),
    ("package-down-beside-notes", ["hw2/nntrain/__init__.py", "notes/a.txt", "r.md"], ["."]),
    ("only-a-zip", ["hw2.zip"], ["."]),
    ("several-packages", ["a/nntrain/__init__.py", "b/nntrain/__init__.py"], ["a", "b"]),
    ("package-and-an-archive", ["a/nntrain/__init__.py", "b.zip"], ["a", "b.zip"]),
    ("one-package-in-an-export", ["a/nntrain/__init__.py", "submission_metadata.yml"], ["a"]),
]


@pytest.mark.parametrize("files, expected",
                         [pytest.param(*case[1:], id=case[0]) for case in ONE_OR_MANY])
def test_a_named_folder_is_one_submission_or_a_folder_of_them(tmp_path, files, expected):
    alice = write_tree(tmp_path / "alice", {f: b"" for f in files})
    assert discover([alice]) == [Path(os.path.normpath(alice / e)) for e in expected]


def test_students_each_holding_hw2_keep_their_own_names(tmp_path):
    paths = [write_tree(tmp_path / n, {"hw2/nntrain/__init__.py": b""}) for n in ("al", "bo")]
    assert discover(paths) == paths
    assert [submission_name(p) for p in discover(paths)] == ["al", "bo"]
    assert prepare(paths[0], tmp_path / "dest").status == "ok"


def test_a_submission_that_breaks_while_it_is_read_gets_a_status(area, monkeypatch):
    inputs, dest = area
    path = folder(GOOD)(inputs)

    def broken(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(submission, "folder_found", broken)
    result = prepare(path, dest)
    assert result.status == "unsafe-entries" and "Input/output error" in result.message
    assert not (dest / "nntrain").exists()


def test_a_submission_of_many_folders_of_many_entries_is_refused_early(area):
    inputs, dest = area
    root = inputs / "alice"
    for k in range(200):
        (root / f"f{k}").mkdir(parents=True)
        for j in range(110):
            (root / f"f{k}" / f"e{j}").mkdir()
    result = prepare(root, dest)
    assert result.status == "too-large" and "top two folder levels" in result.message
