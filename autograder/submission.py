"""Finding and safely copying one submission's package folder.

A submission is a folder or a `.zip` holding the package folder (`nntrain/` by default) at
its root or one folder down (`alice.zip` holding `alice/nntrain/...`). Students' archives
are hostile or broken until proven otherwise, so `prepare` copies only the package
folder's regular files into a private folder, with fixed permissions, within size and
count limits, and never follows a symbolic link, extracts outside that folder or keeps
compiled bytecode. Whatever is wrong ends in a `Prepared` with a short status and plain
words, never an exception.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import stat
import struct
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from autograder.cleanup import remove_tree

STATUSES = ("ok", "missing", "bad-archive", "empty", "no-package", "ambiguous", "too-large",
            "unsafe-entries")
CHUNK = 1 << 16
MAX_LISTED = 10  # skipped entries named in a message
ARCHIVES = (".zip", ".tar", ".tgz", ".gz", ".tar.bz2", ".tar.xz", ".rar", ".7z")  # .gz: .tar.gz
EXPORT_METADATA = "submission_metadata.yml"  # at the top of a Gradescope class export
MAX_KEPT = 50  # skipped entries remembered at all
MAX_DEPTH = 16  # folders below the package folder; deeper entries are skipped
MAX_NAME_BYTES = 255  # one file name, as most file systems allow
MAX_PATH_CHARS = 1024  # a path below the package folder
MAX_CENTRAL_DIRECTORY = 2 * 1024 * 1024  # bytes of a zip's table of contents
JUNK_DIRS = {"__MACOSX"}
JUNK_FILES = {".DS_Store", "Thumbs.db"}
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError,
              RuntimeError, ValueError, OSError)
SKIP_REASONS = {
    "link": "a symbolic link, not followed",
    "special": "not a regular file: a device, pipe or socket",
    "unsafe": "its path leaves the submission folder",
    "name": "its name is not valid UTF-8 or has control characters",
    "deep": f"more than {MAX_DEPTH} folders below the package folder",
    "long": f"its name or path is longer than a file system allows ({MAX_NAME_BYTES} bytes "
            f"a name, {MAX_PATH_CHARS} characters a path)",
}


@dataclass
class Prepared:
    """What `prepare` made of one submission.

    status: "ok" or one of `STATUSES`; package_dir is None unless the status is "ok".
    message: plain words for the student or TA, naming the entries that were skipped.
    warnings: further notes (ignored folders, dropped bytecode, duplicates).
    """

    name: str
    package_dir: Path | None
    status: str
    message: str
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """How much of a package may be copied."""

    max_bytes: int
    max_files: int
    max_file_bytes: int


class Rejected(Exception):
    """The submission cannot be used: a status and a message for `Prepared`."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Notes:
    """What was skipped, dropped or noticed while reading a submission."""

    skipped: list[str] = field(default_factory=list)
    skipped_count: int = 0
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)

    def skip(self, shown: str, reason: str) -> None:
        """Record an entry left out for `reason`."""
        self.skipped_count += 1
        if len(self.skipped) < MAX_KEPT:
            self.skipped.append(f"{show(shown)} ({reason})")

    def skipped_sentence(self) -> str:
        """'Skipped N entries: a (why); b (why).', or '' when none were skipped."""
        if not self.skipped_count:
            return ""
        listed = "; ".join(self.skipped[:MAX_LISTED])
        more = self.skipped_count - min(len(self.skipped), MAX_LISTED)
        extra = f"; and {more} more" if more else ""
        noun = "entry" if self.skipped_count == 1 else "entries"
        return f"Skipped {self.skipped_count} {noun}: {listed}{extra}."

    def all_warnings(self) -> list[str]:
        """The warnings, with a note on dropped bytecode."""
        dropped = ([f"dropped {self.dropped} compiled Python entries (__pycache__, .pyc); "
                    "the .py sources are graded"] if self.dropped else [])
        return self.warnings + dropped


class Budget:
    """Counts files and declared bytes against the limits."""

    def __init__(self, limits: Limits, package: str):
        self.limits, self.package = limits, package
        self.files = self.total = 0

    def add(self, shown: str, size: int) -> None:
        """Count one file of `size` bytes, or reject the submission as too large."""
        lim = self.limits
        self.files += 1
        self.total += size
        if self.files > lim.max_files:
            raise Rejected("too-large", f"{self.package}/ holds more than {lim.max_files} files.")
        if size > lim.max_file_bytes:
            raise Rejected("too-large", f"{show(shown)} is {size_text(size)}, more than the "
                           f"{size_text(lim.max_file_bytes)} allowed for one file.")
        if self.total > lim.max_bytes:
            raise Rejected("too-large", f"{self.package}/ holds more than "
                           f"{size_text(lim.max_bytes)}, the most allowed.")


# ---- names -------------------------------------------------------------------------------

def submission_name(path: Path) -> str:
    """A stable, filesystem-safe name: the file name without `.zip`, or the folder's name.

    Characters other than letters, digits, '.', '_' and '-' become '_', and the name starts
    with a letter, a digit or '_' (never '.', '-' or a spreadsheet's formula sign); when
    anything had to change, a short hash of the original name keeps two different names
    apart. `batch.unique_names` makes names unique within a batch.
    """
    original = Path(os.path.abspath(path)).name
    stem = original[:-4] if original.lower().endswith(".zip") else original
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).lstrip("._-")[:80].rstrip("._") \
        or "submission"
    if safe == stem:
        return safe
    digest = hashlib.sha1(stem.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    return f"{safe}-{digest}"


def show(name: str) -> str:
    """`name` fit to print: non-printable characters escaped, long names shortened."""
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in name)
    return text if len(text) <= 200 else text[:197] + "..."


def size_text(n: int) -> str:
    """A byte count in words."""
    return f"{n:,} bytes" if n < 1_000_000 else f"{n / 1e6:,.0f} MB"


def is_junk(name: str) -> bool:
    """Operating-system litter: `__MACOSX/`, `._*` resource forks, `.DS_Store`."""
    return name in JUNK_DIRS or name in JUNK_FILES or name.startswith("._")


def is_bytecode(parts: tuple[str, ...]) -> bool:
    """Compiled Python, which must not shadow the sources."""
    return "__pycache__" in parts or parts[-1].endswith((".pyc", ".pyo"))


def valid_name(name: str) -> bool:
    """A name that is valid UTF-8 (no surrogate escapes) without control characters."""
    return name.isprintable()


def path_problem(parts: tuple[str, ...]) -> str | None:
    """Why a path below the package folder (its parts) is skipped: "deep", "long" or
    None. The file itself is parts[-1]; folders are counted by the parts before it."""
    if len(parts) > MAX_DEPTH + 1:
        return "deep"
    if (any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts)
            or sum(len(p) + 1 for p in parts) > MAX_PATH_CHARS):
        return "long"
    return None


def file_kind(mode: int) -> str:
    """'dir', 'file', 'link' or 'special' for a stat mode (0, as DOS zips write, is a file)."""
    fmt = stat.S_IFMT(mode)
    if fmt == stat.S_IFLNK:
        return "link"
    if fmt == stat.S_IFDIR:
        return "dir"
    return "file" if fmt in (0, stat.S_IFREG) else "special"


# ---- choosing the package folder ----------------------------------------------------------

def choose(found: set[tuple[str, ...]], package: str, notes: Notes) -> tuple[str, ...]:
    """The package folder among `found` (paths ending in it): at the root, else the only
    one a folder down."""
    top = [p for p in found if len(p) == 1]
    down = sorted(p for p in found if len(p) == 2)
    if top:
        for other in (p for p in down if p[0] != package):
            notes.warnings.append(f"ignored {'/'.join(other)}/: graded {package}/ at the top")
        return top[0]
    if len(down) == 1:
        return down[0]
    if down:
        where = ", ".join("/".join(p) + "/" for p in down)
        raise Rejected("ambiguous", f"Found several {package}/ folders one folder down "
                       f"({show(where)}); submit only one.")
    raise not_found(found, package, notes)


def choose_in(found: set[tuple[str, ...]], package: str, notes: Notes, loose: bool,
              export: Callable[[], bool]) -> tuple[str, ...]:
    """`choose`, for a source that may have no package folder but `loose` module files at
    its top (files uploaded one by one, or zipped without their folder): those are the
    package then, () for the top. A rejection says so when the source looks like a whole
    class's export (`export()`: it holds `EXPORT_METADATA` at the top or a folder down)."""
    if not found and loose:
        notes.warnings.append(f"there is no {package}/ folder: graded the files at the top of "
                              f"the submission as {package}/ (next time, zip the folder)")
        return ()
    try:
        return choose(found, package, notes)
    except Rejected as rejected:
        if not export():
            raise
        raise Rejected(rejected.status, f"{rejected.message} It holds {EXPORT_METADATA}: it "
                       "looks like a Gradescope export of the whole class, not one "
                       "submission. Unzip it and grade its folder: "
                       "`autograder grade FOLDER -o OUT`.") from None


def not_found(found: set[tuple[str, ...]], package: str, notes: Notes) -> Rejected:
    """Why no package folder was accepted: too deep, skipped as unsafe, or absent."""
    if found:
        deepest = "/".join(min(found, key=lambda p: (len(p), p)))
        return Rejected("no-package", f"Found {show(deepest)}/, which is too deep: put "
                        f"{package}/ at the top of the submission or one folder down.")
    status = "unsafe-entries" if notes.skipped_count else "no-package"
    return Rejected(status, f"No usable {package}/ folder at the top of the submission or "
                    "one folder down.")


def package_paths(dirs: tuple[str, ...], package: str) -> Iterator[tuple[str, ...]]:
    """Each prefix of the folder path `dirs` that ends in the package folder."""
    for i, part in enumerate(dirs):
        if part == package:
            yield dirs[:i + 1]


# ---- zip archives -------------------------------------------------------------------------

@dataclass(frozen=True)
class ZipEntry:
    """A zip member whose path is safe: its parts and whether it is a folder."""

    parts: tuple[str, ...]
    info: zipfile.ZipInfo
    is_dir: bool


def zip_name(info: zipfile.ZipInfo) -> str:
    """The member's name, '/'-separated, re-read as UTF-8 when the zip did not say so."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except UnicodeError:
            pass
    return name.replace("\\", "/")


def zip_parts(name: str) -> tuple[tuple[str, ...] | None, str | None]:
    """(parts, None) for a safe relative name, (None, reason) for one to skip."""
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return None, "unsafe"
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        return None, "unsafe"
    if not all(valid_name(p) for p in parts):
        return None, "name"
    return parts, None


def zip_entries(zf: zipfile.ZipFile, limits: Limits, notes: Notes) -> list[ZipEntry]:
    """The members worth looking at: junk ignored; unsafe paths, links, devices skipped."""
    if len(zf.infolist()) > max_entries(limits):  # when the end record said fewer
        raise Rejected("too-large", f"the zip holds more than {max_entries(limits):,} "
                       "entries: zip only the package folder.")
    entries = []
    for info in zf.infolist():
        name = zip_name(info)
        parts, problem = zip_parts(name)
        if parts is not None and any(is_junk(p) for p in parts):
            continue
        kind = "dir" if name.endswith("/") else file_kind(info.external_attr >> 16)
        problem = problem or (kind if kind in ("link", "special") else None)
        if problem:
            notes.skip(name, SKIP_REASONS[problem])
        elif parts:
            entries.append(ZipEntry(parts, info, kind == "dir"))
    return entries


class ZipReader:
    """A member's stream whose read errors reject the archive as damaged."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo):
        self.zf, self.info, self.stream = zf, info, None

    def damaged(self, exc: Exception) -> Rejected:
        """The rejection for a member that cannot be read."""
        return Rejected("bad-archive", f"{show(self.info.filename)} could not be read from "
                        f"the zip ({show(str(exc))}): the archive is damaged.")

    def __enter__(self) -> ZipReader:
        try:
            self.stream = self.zf.open(self.info)
        except ZIP_ERRORS as exc:
            raise self.damaged(exc) from None
        return self

    def read(self, n: int) -> bytes:
        """Up to `n` bytes of the member."""
        try:
            return self.stream.read(n)
        except ZIP_ERRORS as exc:
            raise self.damaged(exc) from None

    def __exit__(self, *exc_info) -> None:
        self.stream.close()


def refuse_encrypted(info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise Rejected("bad-archive", f"{show(info.filename)} is encrypted: make the zip again "
                       "without a password.")


def zip_package(zf: zipfile.ZipFile, entries: list[ZipEntry], prefix: tuple[str, ...],
                budget: Budget, notes: Notes) -> dict[tuple[str, ...], Callable]:
    """The package's files (relative path -> opener), counted against the budget."""
    files: dict[tuple[str, ...], Callable] = {}
    for entry in entries:
        rel = entry.parts[len(prefix):]
        if entry.is_dir or entry.parts[:len(prefix)] != prefix or not rel:
            continue
        if is_bytecode(rel):
            notes.dropped += 1
            continue
        if problem := path_problem(rel):
            notes.skip(zip_name(entry.info), SKIP_REASONS[problem])
            continue
        refuse_encrypted(entry.info)
        budget.add(entry.info.filename, entry.info.file_size)
        if rel in files:
            notes.warnings.append(f"the zip holds {show('/'.join(entry.parts))} more than "
                                  "once: kept the last one")
        files[rel] = partial(ZipReader, zf, entry.info)
    return files


def scan_zip(zf: zipfile.ZipFile, package: str, limits: Limits, notes: Notes,
             nested: bool = False) -> tuple[tuple[str, ...], dict]:
    """The package folder's path in the zip and its files. A zip without the package
    whose only zip is at the top or one folder down (a zip zipped again) is read in its
    place, once (`nested`)."""
    entries = zip_entries(zf, limits, notes)
    if not any(not e.is_dir for e in entries):
        status = "unsafe-entries" if notes.skipped_count else "empty"
        raise Rejected(status, "The zip holds no usable files.")
    found = {p for e in entries for p in package_paths(e.parts if e.is_dir else e.parts[:-1],
                                                       package)}
    inner = [e for e in entries if not e.is_dir and len(e.parts) <= 2
             and e.parts[-1].lower().endswith(".zip")]
    if not found and not nested and len(inner) == 1:
        notes.warnings.append(f"graded {show('/'.join(inner[0].parts))}, the zip inside the zip")
        return scan_zip(inner_zip(zf, inner[0].info, limits), package, limits, notes, True)
    loose = any(len(e.parts) == 1 and e.parts[0].endswith(".py") and not e.is_dir
                for e in entries)
    prefix = choose_in(found, package, notes, loose, lambda: any(
        e.parts[-1] == EXPORT_METADATA and len(e.parts) <= 2 and not e.is_dir
        for e in entries))
    return prefix, zip_package(zf, entries, prefix, Budget(limits, package), notes)


def inner_zip(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> zipfile.ZipFile:
    """The zip stored as the member `info`, unpacked into an anonymous temporary file (at
    most `limits.max_bytes`, never held in memory) and opened after `check_directory`."""
    refuse_encrypted(info)
    spool = tempfile.TemporaryFile()
    try:
        with ZipReader(zf, info) as reader:
            while chunk := reader.read(CHUNK):
                spool.write(chunk)
                if spool.tell() > limits.max_bytes:
                    raise Rejected("too-large", f"{show(info.filename)} in the zip is more "
                                   f"than {size_text(limits.max_bytes)}: submit only the "
                                   "package.")
        shown = f"{info.filename} in the zip"
        check_directory(spool, shown, limits)
        try:
            return zipfile.ZipFile(spool)
        except ZIP_ERRORS as exc:
            raise Rejected("bad-archive", f"{show(shown)} is not a readable zip archive "
                           f"({show(str(exc))}): make a new .zip of the package.") from None
    except BaseException:
        spool.close()
        raise


def max_entries(limits: Limits) -> int:
    """The most entries a folder or zip may hold (files, folders, litter together)."""
    return 10 * limits.max_files


def check_directory(handle: BinaryIO, shown: str, limits: Limits) -> None:
    """Refuse a zip whose table of contents (central directory) declares more than
    `max_entries` entries or more than `MAX_CENTRAL_DIRECTORY` bytes, before `zipfile`
    reads it whole (it makes one object per entry). Only the end record is read here;
    an archive without one is left to `zipfile`, which refuses it."""
    try:
        end = zipfile._EndRecData(handle)  # noqa: SLF001 - the stdlib's own end-record reader
    except (OSError, struct.error, ValueError):
        end = None
    if end is None:
        return
    entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # noqa: SLF001
    if entries > max_entries(limits):
        raise Rejected("too-large", f"{show(shown)} lists {entries:,} entries, more than the "
                       f"{max_entries(limits):,} allowed: zip only the package folder.")
    if size > MAX_CENTRAL_DIRECTORY:
        raise Rejected("too-large", f"{show(shown)} has a table of contents of {size:,} "
                       f"bytes, more than the {MAX_CENTRAL_DIRECTORY:,} allowed: zip only "
                       "the package folder.")


@contextmanager
def open_zip(path: Path, size: int, limits: Limits) -> Iterator[zipfile.ZipFile]:
    """The archive opened, or a rejection saying why it cannot be."""
    if size > limits.max_bytes:
        raise Rejected("too-large", f"{show(path.name)} is {size_text(size)}, more than the "
                       f"{size_text(limits.max_bytes)} allowed: submit only the package.")
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise Rejected("bad-archive", f"{show(path.name)} cannot be read "
                       f"({show(exc.strerror or str(exc))}).") from None
    try:
        check_directory(handle, path.name, limits)
        zf = zipfile.ZipFile(handle)
    except UnicodeDecodeError:
        handle.close()
        raise Rejected("bad-archive", f"{show(path.name)} has file names that are not valid "
                       "UTF-8 although it says they are: make the zip again.") from None
    except ZIP_ERRORS as exc:
        handle.close()
        raise Rejected("bad-archive", f"{show(path.name)} is not a readable zip archive "
                       f"({show(str(exc))}): make a new .zip of the package.") from None
    except BaseException:
        handle.close()
        raise
    with handle, zf:
        yield zf


# ---- folders ------------------------------------------------------------------------------

def entry_kind(entry: os.DirEntry) -> str:
    """The kind of a folder entry, without following a symbolic link."""
    try:
        return file_kind(entry.stat(follow_symlinks=False).st_mode)
    except OSError:
        return "special"


MAX_DIR_ENTRIES = 20_000  # entries of one folder of a submission that are looked at


def list_dir(path: Path, limit: int = MAX_DIR_ENTRIES) -> list[os.DirEntry]:
    """A folder's entries sorted by name; none when it cannot be read. A folder of a
    submission holding more than `limit` entries is refused (too-large), unread."""
    try:
        return read_dir(path, limit)
    except OSError:
        return []


def read_dir(path: Path, limit: int = MAX_DIR_ENTRIES) -> list[os.DirEntry]:
    """`list_dir`, raising OSError when the folder cannot be read."""
    entries = []
    with os.scandir(path) as it:
        for entry in it:
            entries.append(entry)
            if len(entries) > limit:
                raise Rejected("too-large", f"{show(path.name)}/ holds more than {limit:,} "
                               "entries: submit only the package.")
    return sorted(entries, key=lambda e: e.name)


def folder_found(root: Path, package: str, notes: Notes) -> set[tuple[str, ...]]:
    """Real package folders up to two folders down; a linked one is skipped and noted.
    More than `MAX_DIR_ENTRIES` entries looked at in all is too large."""
    found: set[tuple[str, ...]] = set()
    level: list[tuple[str, ...]] = [()]
    seen = 0
    for _depth in range(3):
        below = []
        for rel in level:
            entries = list_dir(root.joinpath(*rel))
            seen += len(entries)
            if seen > MAX_DIR_ENTRIES:
                raise Rejected("too-large", f"{show(root.name)} holds more than "
                               f"{MAX_DIR_ENTRIES:,} entries in its top two folder levels: "
                               "submit only the package.")
            for entry in entries:
                kind = entry_kind(entry)
                if entry.name == package and kind == "link":
                    notes.skip("/".join(rel + (entry.name,)), SKIP_REASONS["link"])
                elif kind == "dir" and entry.name == package:
                    found.add(rel + (entry.name,))
                elif kind == "dir" and not is_junk(entry.name):
                    below.append(rel + (entry.name,))
        if found:
            break
        level = below
    return found


def open_regular(path: Path) -> BinaryIO:
    """A regular file opened for reading without following a link or blocking on a pipe."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path.name} is not a regular file")
    return os.fdopen(fd, "rb")


def folder_visit(entry: os.DirEntry, parts: tuple[str, ...], shown: str, budget: Budget,
                 notes: Notes) -> str:
    """Classify one entry of the package folder: 'dir', 'file' or '' (left out)."""
    if is_junk(entry.name):
        return ""
    kind = entry_kind(entry)
    if not valid_name(entry.name):
        notes.skip(shown, SKIP_REASONS["name"])
        return ""
    if kind in ("link", "special"):
        notes.skip(shown, SKIP_REASONS[kind])
        return ""
    if is_bytecode(parts):
        notes.dropped += 1
        return ""
    if problem := path_problem(parts):
        notes.skip(shown, SKIP_REASONS[problem])
        return ""
    if kind == "file":
        try:
            size = entry.stat(follow_symlinks=False).st_size
        except OSError as exc:
            notes.skip(shown, f"could not be read: {exc.strerror or exc}")
            return ""
        budget.add(shown, size)
    return kind


def folder_package(pkg_dir: Path, shown_dir: str, budget: Budget,
                   notes: Notes) -> dict[tuple[str, ...], Callable]:
    """The package folder's regular files (relative path -> opener), links not followed."""
    files: dict[tuple[str, ...], Callable] = {}
    stack: list[tuple[str, ...]] = [()]
    visited = 0
    while stack:
        rel = stack.pop()
        try:
            entries = read_dir(pkg_dir.joinpath(*rel))
        except OSError as exc:
            notes.skip("/".join((shown_dir,) + rel), f"a folder that could not be read: "
                       f"{exc.strerror or exc}")
            continue
        for entry in entries:
            visited += 1
            if visited > max_entries(budget.limits):
                raise Rejected("too-large", f"{budget.package}/ holds too many entries.")
            parts = rel + (entry.name,)
            kind = folder_visit(entry, parts, "/".join((shown_dir,) + parts), budget, notes)
            if kind == "dir":
                stack.append(parts)
            elif kind == "file":
                files[parts] = partial(open_regular, pkg_dir.joinpath(*parts))
    return files


def holds_export(root: Path) -> bool:
    """Whether `EXPORT_METADATA` is in the folder `root` or one of its folders."""
    folders = [root, *(Path(e.path) for e in list_dir(root) if entry_kind(e) == "dir")]
    return any(entry_kind(e) == "file" and e.name == EXPORT_METADATA
               for folder in folders[:MAX_LISTED * 10]
               for e in list_dir(folder, MAX_DIR_ENTRIES // 10))


def lone_zip(root: Path) -> Path | None:
    """The only `.zip` file at the top of a folder (Gradescope's upload of one zip)."""
    zips = [Path(e.path) for e in list_dir(root)
            if e.name.lower().endswith(".zip") and entry_kind(e) == "file"]
    return zips[0] if len(zips) == 1 else None


# ---- copying ------------------------------------------------------------------------------

def make_dir(path: Path) -> Path:
    """Create `path` (0755) unless it is already a real folder."""
    try:
        path.mkdir(mode=0o755)
        os.chmod(path, 0o755)
    except FileExistsError:
        if path.is_symlink() or not path.is_dir():
            raise NotADirectoryError(f"{path.name} is already a file") from None
    return path


def write_file(src, path: Path, shown: str, cap: int) -> int:
    """Copy the stream `src` into a new file (0644) at `path`; at most `cap` bytes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o644)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o644)
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > cap:
                    raise Rejected("too-large", f"{show(shown)} unpacks to more than "
                                   f"{size_text(cap)}, the most still allowed.")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return written


def copy_files(files: dict[tuple[str, ...], Callable], target: Path, shown_dir: str,
               limits: Limits, notes: Notes) -> int:
    """Write the files under `target`; the number written. Unwritable ones are skipped."""
    make_dir(target)
    copied = total = 0
    for rel in sorted(files):
        shown = "/".join((shown_dir,) + rel)
        cap = min(limits.max_file_bytes, limits.max_bytes - total)
        try:
            parent = target
            for part in rel[:-1]:
                parent = make_dir(parent / part)
            with files[rel]() as src:
                total += write_file(src, parent / rel[-1], shown, cap)
            copied += 1
        except OSError as exc:
            notes.skip(shown, f"could not be copied: {exc.strerror or exc}")
    return copied


# ---- one submission -----------------------------------------------------------------------

@contextmanager
def package_files(path: Path, package: str, limits: Limits,
                  notes: Notes) -> Iterator[tuple[str, dict]]:
    """The submission's package folder, shown as a path, and its files to copy."""
    try:
        st = os.lstat(path)
    except OSError:
        raise Rejected("missing", f"{show(path.name)} does not exist.") from None
    if stat.S_ISDIR(st.st_mode):
        if not list_dir(path):
            raise Rejected("empty", f"{show(path.name)} is an empty folder.")
        found = folder_found(path, package, notes)
        inner = None if found else lone_zip(path)
        if inner is None:
            loose = any(e.name.endswith(".py") and entry_kind(e) == "file"
                        for e in list_dir(path))
            prefix = choose_in(found, package, notes, loose, lambda: holds_export(path))
            shown = "/".join(prefix) or "."
            yield shown, folder_package(path.joinpath(*prefix), shown, Budget(limits, package),
                                        notes)
            return
        path, st = inner, os.lstat(inner)
    if stat.S_ISLNK(st.st_mode):
        raise Rejected("unsafe-entries", f"{show(path.name)} is a symbolic link; not followed.")
    if not stat.S_ISREG(st.st_mode):
        raise Rejected("bad-archive", f"{show(path.name)} is not a file or a folder.")
    with open_zip(path, st.st_size, limits) as zf:
        prefix, files = scan_zip(zf, package, limits, notes)
        yield "/".join(prefix) or ".", files


def prepare(path: Path, dest: Path, package: str = "nntrain", *, max_bytes: int = 50_000_000,
            max_files: int = 2_000, max_file_bytes: int = 20_000_000) -> Prepared:
    """Copy the package folder of the submission at `path` into `dest/<package>/`.

    Only regular files are copied (0644, folders 0755), never following a symbolic link;
    bytecode and OS litter are left out. `dest/<package>` must not exist yet (it is the
    caller's fresh folder: FileExistsError otherwise). Never raises for a bad submission.
    """
    if not package.isidentifier():
        raise ValueError(f"not a package name: {package!r}")
    name, notes = submission_name(path), Notes()
    target = Path(dest) / package
    Path(dest).mkdir(parents=True, exist_ok=True)
    if os.path.lexists(target):
        raise FileExistsError(f"{target} already exists")
    limits = Limits(max_bytes, max_files, max_file_bytes)
    try:
        with package_files(Path(path), package, limits, notes) as (shown, files):
            copied = copy_files(files, target, shown, limits, notes)
        if not copied:
            status = "unsafe-entries" if notes.skipped_count else "empty"
            raise Rejected(status, f"{show(shown)}/ holds no files to grade.")
    except OSError as exc:  # the submission changed or broke while it was read
        remove_tree(target)
        return finish(name, None, "unsafe-entries", f"The submission could not be read "
                      f"({show(exc.strerror or str(exc))}): submit it again.", notes)
    except Rejected as rejected:
        remove_tree(target)
        return finish(name, None, rejected.status, rejected.message, notes)
    if not (target / "__init__.py").is_file():
        notes.warnings.append(f"{package}/ has no __init__.py")
    noun = "file" if copied == 1 else "files"
    where = "the top of the submission" if shown == "." else f"{show(shown)}/"
    return finish(name, target, "ok", f"Copied {copied} {noun} from {where}.", notes)


def finish(name: str, package_dir: Path | None, status: str, headline: str,
           notes: Notes) -> Prepared:
    """The `Prepared` record, its message naming the skipped entries."""
    message = " ".join(filter(None, [headline, notes.skipped_sentence()]))
    return Prepared(name, package_dir, status, message, notes.all_warnings())


# ---- command-line arguments ---------------------------------------------------------------

def discover(paths: list[Path], package: str = "nntrain",
             exclude: tuple[Path, ...] = ()) -> list[Path]:
    """The submissions named on the command line.

    A folder that is one submission (`is_one_submission`: it holds the package folder at
    its top, or one folder down in its only such folder) stays one, named after it; any
    other folder is a folder of submissions and expands to its subfolders and archives,
    sorted. Anything else (a missing path, a .txt) is returned as it is, so that it gets a
    row. The folders `exclude` (the grader's output, which may lie among the submissions)
    and what is in them are left out.
    """
    found = [p for p in _named(paths, package, exclude) if not _inside(p, exclude)]
    return list(dict.fromkeys(found))


def is_one_submission(folder: Path, package: str, exclude: tuple[Path, ...] = ()) -> bool:
    """Whether a folder named on the command line is one submission, not a folder of them.

    It is one when it holds the package folder at its top; or, unless it is a Gradescope
    export (it holds `EXPORT_METADATA`), when it holds only one entry that could be a
    submission (a folder or an archive: `children`); or when exactly one of its folders
    holds the package folder at its top and it holds no archive. `alice/` holding
    `hw2/nntrain/` (and perhaps `notes/`) is thus the submission `alice`; `class/` holding
    `alice/nntrain/`, `bob/nntrain/` and `carol.zip` is three.
    """
    if os.path.lexists(folder / package):
        return True
    if os.path.lexists(folder / EXPORT_METADATA):
        return False
    kids = [k for k in children(folder) if not _inside(k, exclude)]
    if len(kids) == 1:
        return True
    holding = [k for k in kids if (k / package).is_dir()]
    return len(holding) == 1 and all(k.is_dir() for k in kids)


def _inside(path: Path, folders: tuple[Path, ...]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(os.path.realpath(f)) for f in folders)


def _named(paths: list[Path], package: str, exclude: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for arg in map(Path, paths):
        if arg.is_symlink():
            arg = arg.resolve()  # the grader's own argument, not a student's entry
        if arg.is_dir() and not is_one_submission(arg, package, exclude):
            # A folder with no submissions in it is itself one (broken) submission: a row.
            found.extend(children(arg) or [arg])
        else:
            found.append(arg)
    return found


def children(folder: Path) -> list[Path]:
    """The submissions in a folder of submissions, sorted: subfolders and archives. An
    archive other than a zip (`ARCHIVES`: .tar.gz, .rar...) gets its row too, which says
    to send a zip; other files (notes, the export's metadata) are not submissions."""
    return [Path(e.path) for e in list_dir(folder, sys.maxsize)
            if not e.name.startswith(".") and not is_junk(e.name)
            and (e.name.lower().endswith(ARCHIVES) or e.is_dir())]
