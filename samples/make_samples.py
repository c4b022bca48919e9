"""Generate the sample submissions in `samples/submissions/` (or `--out DIR`), fresh each time.

Each sample is an overlay, `samples/overlays/<name>/`, applied to a base package copied at
run time from `solutions/nntrain` ("reference") or `starter_code/nntrain` ("starter"), so
that no solution code is kept twice in the repository. An overlay holds:

    overlay.toml   what to build and what grade it should get (read by the tests)
    nntrain/       files that replace or join the base package's files
    root/          files placed next to nntrain/ at the submission's top (optional)

`overlay.toml`::

    description = "one line: what the sample does"
    base = "reference"              # or "starter", or "none" (an empty package)
    form = "folder"                 # or "zip"
    recipe = "plain"                # zip only: "plain", "truncated", "not-a-zip",
                                    # "traversal", "symlink", "bomb", "crowded" (25,000
                                    # entries), "long-names" (names over 255 bytes, paths
                                    # 3,000 folders deep beside the package)
    top = "alice"                   # zip only: put nntrain/ one folder down
    path = "twin.zip"               # the submission's file name (default: NAME, NAME.zip)
    deep = 3000                     # folder only: nntrain/d/d/.../d/x.py, this many deep
    from_starter = ["optim.py"]     # these files come from the starter code instead
    tools = true                    # add nntrain/_hostile_tools.py (samples/common/)
    targets = true                  # add nntrain/sample_targets.json (see --targets)
    questions = ["schedules"]       # the questions the tests grade (all when absent)

    [[edit]]                        # textual edits of the base files, in order:
    file = "optim.py"               #   old/new: `old` must occur exactly once
    old = "..."                     #   append/prepend: text added at the end/start
    new = "..."

    [expect]                        # the outcome on `questions`, checked by the tests
    status = "graded"               # the gradebook status
    score = [13.5, 13.5]            # bounds on the score
    lost = ["schedules.step_decay"] # functions or modules that must score 0
    below_full = ["optim.adam"]     # functions that must lose some of their points
    rest_full = true                # every other graded function scores full points
    case_statuses = ["timeout"]     # case statuses that must occur

Targets are the host-side things the hostile samples aim at (a TCP port the tests listen
on, a victim file, a marker path, a daemon's token); `--targets JSON` overrides the
defaults. Usage::

    .venv/bin/python samples/make_samples.py [--out DIR] [--targets JSON] [NAME...]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import stat
import sys
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from autograder.cleanup import remove_tree  # noqa: E402 - found from the repository root

OVERLAYS = HERE / "overlays"
TOOLS = HERE / "common" / "hostile_tools.py"
BASES = {"reference": ROOT / "solutions" / "nntrain", "starter": ROOT / "starter_code" / "nntrain"}
DEFAULT_OUT = HERE / "submissions"
PACKAGE = "nntrain"
DEFAULT_TARGETS = {
    "port": 47391,
    "victim": "/tmp/autograder-samples-victim",
    "marker": "/tmp/autograder-samples-marker",
    "token": "autograder-sample-daemon",
}
RECIPES = ("plain", "truncated", "not-a-zip", "traversal", "symlink", "bomb", "crowded",
           "long-names")
CROWD = 25_000
BOMB_BYTES = 200 * 1024 * 1024


def read_overlay(name: str) -> dict:
    """The parsed overlay.toml of sample `name`, with defaults filled in."""
    data = tomllib.loads((OVERLAYS / name / "overlay.toml").read_text())
    data.setdefault("base", "reference")
    data.setdefault("form", "folder")
    data.setdefault("recipe", "plain")
    data.setdefault("expect", {})
    data["name"] = name
    if data["form"] not in ("folder", "zip") or data["recipe"] not in RECIPES:
        raise ValueError(f"{name}: unknown form {data['form']!r} or recipe {data['recipe']!r}")
    return data


def overlay_names() -> list[str]:
    """Every sample, sorted by name."""
    return sorted(p.parent.name for p in OVERLAYS.glob("*/overlay.toml"))


# ----------------------------------------------------------------------------- the package
def copy_base(base: str, dest: Path) -> None:
    """Copy the base package (without bytecode) to `dest`, or make an empty package."""
    if base == "none":
        dest.mkdir(parents=True)
        return
    shutil.copytree(BASES[base], dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def apply_edit(package: Path, edit: dict, sample: str) -> None:
    """One textual edit of a package file: old/new, append or prepend."""
    path = package / edit["file"]
    text = path.read_text()
    if "old" in edit:
        if text.count(edit["old"]) != 1:
            raise ValueError(f"{sample}: {edit['file']} holds {text.count(edit['old'])} "
                             f"copies of the text to replace, not 1: {edit['old'][:60]!r}")
        text = text.replace(edit["old"], edit["new"])
    text = edit.get("prepend", "") + text + edit.get("append", "")
    path.write_text(text)


def build_package(overlay: dict, dest: Path, targets: dict) -> None:
    """The sample's nntrain/ folder at `dest`."""
    copy_base(overlay["base"], dest)
    for name in overlay.get("from_starter", []):
        shutil.copy(BASES["starter"] / name, dest / name)
    source = OVERLAYS / overlay["name"] / PACKAGE
    if source.is_dir():
        shutil.copytree(source, dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for edit in overlay.get("edit", []):
        apply_edit(dest, edit, overlay["name"])
    if overlay.get("tools"):
        shutil.copy(TOOLS, dest / "_hostile_tools.py")
    if overlay.get("targets"):
        (dest / "sample_targets.json").write_text(json.dumps(targets, indent=1) + "\n")


def nest(root: Path, depth: int) -> None:
    """`depth` folders `d` nested in `root`, an `x.py` in the deepest, made relative to a
    descriptor: the whole path may be longer than the file system allows."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.close(os.open("x.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    os.close(fd)


def build_folder(overlay: dict, folder: Path, targets: dict) -> None:
    """The sample's submission folder: nntrain/ and any root/ files."""
    build_package(overlay, folder / PACKAGE, targets)
    if overlay.get("deep"):
        nest(folder / PACKAGE, overlay["deep"])
    root = OVERLAYS / overlay["name"] / "root"
    if root.is_dir():
        shutil.copytree(root, folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


# ----------------------------------------------------------------------------- archives
def zip_folder(folder: Path, zf: zipfile.ZipFile, top: str) -> None:
    """Add the files under `folder` to `zf`, below the folder `top` when given."""
    prefix = f"{top}/" if top else ""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            zf.write(path, prefix + path.relative_to(folder).as_posix())


def add_symlink(zf: zipfile.ZipFile, name: str, target: str) -> None:
    """A zip entry that unzip would create as a symbolic link to `target`."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so that the mode bits count
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)


def add_bomb(zf: zipfile.ZipFile, name: str) -> None:
    """A member that inflates to BOMB_BYTES of zeros from about 200 kB."""
    chunk = bytes(1 << 20)
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=True) as member:
        for _ in range(BOMB_BYTES // len(chunk)):
            member.write(chunk)


def recipe_extras(zf: zipfile.ZipFile, recipe: str, top: str, targets: dict) -> set[str]:
    """Add the recipe's hostile entries; the package files they replace."""
    prefix = f"{top}/{PACKAGE}" if top else PACKAGE
    marker = targets["marker"]
    if recipe == "traversal":
        zf.writestr(f"../../../../../..{marker}-traversal", "escaped through ../\n")
        zf.writestr(f"{prefix}/../../../escaped.py", "ESCAPED = True\n")
        zf.writestr(f"{marker}-absolute", "an absolute path\n")
        zf.writestr(f"{prefix}/sub/../../../../escaped_too.py", "ESCAPED = True\n")
    elif recipe == "symlink":
        add_symlink(zf, f"{prefix}/passwd.txt", "/etc/passwd")
        add_symlink(zf, f"{prefix}/schedules.py", "/etc/passwd")
        add_symlink(zf, f"{prefix}/solutions", str(BASES["reference"]))
        return {f"{PACKAGE}/schedules.py"}
    elif recipe == "bomb":
        add_bomb(zf, f"{prefix}/weights.npy")
    elif recipe == "crowded":
        for k in range(CROWD):
            zf.writestr(f"{prefix}/crowd/{k}.txt", "")
    elif recipe == "long-names":
        zf.writestr(f"{prefix}/{'n' * 300}.py", "LONG = True\n")
        zf.writestr(f"{prefix}/{'d/' * 3000}x.py", "DEEP = True\n")
        zf.writestr(f"{prefix}/{('p' * 250 + '/') * 8}x.py", "LONG_PATH = True\n")
    return set()


def build_zip(overlay: dict, path: Path, scratch: Path, targets: dict) -> None:
    """The sample as a .zip, made hostile or broken as its recipe says."""
    recipe, top = overlay["recipe"], overlay.get("top", "")
    if recipe == "not-a-zip":
        path.write_text("This is a Word document, honest. Not a zip archive.\n")
        return
    folder = scratch / overlay["name"]
    build_folder(overlay, folder, targets)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        replaced = recipe_extras(zf, recipe, top, targets)
        for name in replaced:
            (folder / name).unlink()
        zip_folder(folder, zf, top)
    data = buffer.getvalue()
    if recipe == "truncated":
        data = data[: len(data) // 2]
    path.write_bytes(data)


# ----------------------------------------------------------------------------- all samples
def file_name(overlay: dict) -> str:
    """The sample's name in the samples folder: `path`, else NAME or NAME.zip."""
    default = f"{overlay['name']}.zip" if overlay["form"] == "zip" else overlay["name"]
    return overlay.get("path", default)


def build(name: str, out: Path, targets: dict, scratch: Path) -> Path:
    """Generate sample `name` into `out`; its path."""
    overlay = read_overlay(name)
    path = out / file_name(overlay)
    if overlay["form"] == "zip":
        build_zip(overlay, path, scratch, targets)
    else:
        build_folder(overlay, path, targets)
    return path


def make_samples(out: Path = DEFAULT_OUT, targets: dict | None = None,
                 names: list[str] | None = None) -> list[Path]:
    """Regenerate `out` holding the samples `names` (all by default); their paths."""
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    out = Path(out)
    if out.exists():
        remove_tree(out)  # it may hold a sample deeper than shutil.rmtree can recurse
    out.mkdir(parents=True)
    scratch = out / ".scratch"
    try:
        return [build(name, out, targets, scratch) for name in names or overlay_names()]
    finally:
        remove_tree(scratch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only these samples (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--targets", type=json.loads, default=None,
                        help="JSON object overriding the hostile samples' targets")
    args = parser.parse_args(argv)
    paths = make_samples(args.out, args.targets, args.names or None)
    print(f"wrote {len(paths)} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
