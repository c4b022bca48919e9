"""Gradescope: the autograder zip is an Otter-Grader 7 autograder; the sandbox grades.

The zip's layout is what Otter's runner reads, plus this framework::

    run_autograder      Gradescope's entry point (bash): locks down, moves the student's
                        files aside, runs run_otter.py under a hard timeout, always results
    setup.sh            runs once at image build: Python 3.11 venv outside source/ (pip,
                        no Miniforge), otter-grader[grading], torch's CPU build, bubblewrap
    run_otter.py        Otter's: `otter.run.run_autograder.main(ROOT)`
    otter_config.json   Otter's configuration (`AutograderConfig`), checked by `otter_config`;
                        its `plugins` start with this framework's (`otter_plugin.PLUGIN`)
    tests/              Otter copies it into the submission folder; it holds no test code
                        (the cases run in the sandbox), only a README saying so
    files/              Otter copies it into the submission folder: only the placeholder
                        notebook Otter resolves as "the submission" (`otter_plugin`)
    requirements.txt    what the grading environment installs (pip, with constraints.txt)
    constraints.txt     pins (torch 2.13.0 CPU build, otter-grader 7.0.0)
    autograder/         this framework (the plugin imports it from here on Gradescope)
    assignment/         assignment.toml, cases.py (hidden cases), checks.py
    solutions/<pkg>/    the reference solution: the oracle, kept by the harness
    <plugin modules>    an instructor's own Otter plugins, when `plugins` names any

Neither `tests/` nor `files/` holds anything of the assignment's: Otter copies both into
the submission folder. `otter run -a autograder.zip SUBMISSION` grades with the same
plugin from the installed framework.

`otter_config.json`: every key of Otter's `AutograderConfig` is either honoured with
Otter's meaning (`HONOURED`: Otter applies them itself, or the plugin does: `seed`) or
rejected at build with the reason (`REJECTED`); unknown keys are rejected too (Otter would
ignore them silently).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from autograder import otter_plugin

TEMPLATES = Path(__file__).parent / "gradescope_files"
CONFIG_NAME = "otter_config.json"
TESTS_README = """\
This folder is where Otter-Grader's runner expects test files; Otter copies it into the
submission folder. This autograder's tests are the assignment's cases, run by the plugin
{plugin} in a sandbox (see autograder/otter_plugin.py), never in Otter's kernel.
"""

_BOOL = (bool,)
_NUMBER = (int, float)
HONOURED = {
    # key: the JSON types it takes (None allowed where Otter's default is None)
    "points_possible": _NUMBER, "score_threshold": _NUMBER, "seed": (int,),
    "show_stdout": _BOOL, "show_hidden": _BOOL, "show_all_public": _BOOL,
    "force_public_test_summary": _BOOL, "debug": _BOOL, "logo": _BOOL,
    "print_summary": _BOOL, "print_score": _BOOL, "log_level": (int, str),
    "lang": (str,), "plugins": (list,),
}
PDF = "PDFs are made from a submitted notebook; submissions here are Python packages"
REJECTED = {
    "seed_variable": "it names a variable of the student's notebook, which is never run "
                     "here; use `seed` (NumPy is seeded before every case)",
    "grade_from_log": "Otter would unpickle the student's log in its own process: running "
                      "student code outside the sandbox",
    "serialized_variables": "it only applies with grade_from_log, which is rejected",
    "zips": "the grader reads a zip left in the submission itself, within limits and "
            "without following links; Otter would extract it unchecked",
    "assignment_name": "it checks a submitted notebook's metadata; submissions here are "
                       "Python packages",
    "miniconda_path": "the zip installs with pip into a venv (setup.sh): there is no mamba",
    "autograder_dir": "Otter's runner sets it (the grading root)",
    "pdf": PDF, "token": PDF, "course_id": PDF, "assignment_id": PDF, "filtering": PDF,
    "pagebreaks": PDF, "warn_missing_pdf": PDF, "submit_blank_pdf_on_export_failure": PDF,
    "use_submission_pdf": PDF, "pdf_via_html": PDF,
}


RESERVED = {"autograder", "assignment", "solutions", "tests", "files", "run_otter", "nntrain"}


class ConfigError(ValueError):
    """An `otter_config.json` key this autograder cannot honour, with the reason."""


def _check_value(key: str, value, types: tuple) -> list[str]:
    if value is None and key in ("points_possible", "score_threshold", "seed", "log_level"):
        return []
    if isinstance(value, bool) and bool not in types:
        return [f"{key}: must be {' or '.join(t.__name__ for t in types)}, not {value!r}"]
    if not isinstance(value, types):
        return [f"{key}: must be {' or '.join(t.__name__ for t in types)}, not {value!r}"]
    if key == "lang" and value != "python":
        return [f"lang: this autograder grades Python (\"python\"), not {value!r}"]
    if key == "score_threshold" and not 0 <= value <= 1:
        return [f"score_threshold: a fraction of the points, from 0 to 1, not {value!r}"]
    if key == "points_possible" and value < 0:
        return [f"points_possible: must not be negative, not {value!r}"]
    return []


def _plugin_name(entry) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        return next(iter(entry))
    raise ConfigError(f"plugins: each entry is a name or {{name: options}}, not {entry!r}")


def with_our_plugin(plugins: Sequence) -> tuple[list, list[str]]:
    """`plugins` with this framework's plugin first (its options kept or checked), and
    the instructor's plugin names in their order."""
    ours = {}
    others = []
    for entry in plugins:
        name = _plugin_name(entry)
        if name == otter_plugin.PLUGIN:
            options = entry.get(name) if isinstance(entry, dict) else {}
            otter_plugin.PluginOptions.from_dict(options)  # ValueError: reported
            ours = options or {}
        else:
            others.append(entry)
    return [{otter_plugin.PLUGIN: ours}, *others], [_plugin_name(e) for e in others]


def otter_config(config: dict | None) -> dict:
    """The zip's `otter_config.json` from an instructor's keys, checked: every key Otter
    knows is honoured or rejected with a reason, unknown keys are rejected, and this
    framework's plugin comes first in `plugins`. Raises ConfigError naming every problem."""
    from otter.run.run_autograder import AutograderConfig

    config = dict(config or {})
    problems = []
    known = set(HONOURED) | set(REJECTED)
    for key, value in config.items():
        if key in REJECTED:
            problems.append(f"{key}: not supported: {REJECTED[key]}")
        elif key in HONOURED:
            problems += _check_value(key, value, HONOURED[key])
        else:
            problems.append(f"{key}: Otter-Grader 7 has no such key (it knows "
                            f"{', '.join(sorted(known))})")
    if isinstance(config.get("plugins", []), list) and not problems:
        try:
            config["plugins"], _ = with_our_plugin(config.get("plugins", []))
        except ValueError as exc:
            problems.append(f"plugins: {exc}")
    else:
        config["plugins"] = [{otter_plugin.PLUGIN: {}}]
    if problems:
        raise ConfigError("otter_config.json: " + "; ".join(problems))
    AutograderConfig(config, require_valid_keys=True)  # Otter's own reading of it
    return {"lang": "python", **config}


def plugin_options(config: dict) -> otter_plugin.PluginOptions:
    """This framework's plugin options in a checked `otter_config`."""
    for entry in config.get("plugins", []):
        if isinstance(entry, dict) and otter_plugin.PLUGIN in entry:
            return otter_plugin.PluginOptions.from_dict(entry[otter_plugin.PLUGIN])
    return otter_plugin.PluginOptions()


def plugin_sources(config: dict, search: Sequence[Path] = ()) -> dict[str, Path]:
    """The instructor's plugin modules to ship at the zip's top: {top-level name: its file
    or package folder}. Otter's own (`otter.*`) are installed with Otter; any other must
    be a module or package in one of the `search` folders (the config file's folder, the
    current one). One that cannot be imported, is found elsewhere, or has no such plugin
    class is a ConfigError."""
    import sys

    _, names = with_our_plugin(config.get("plugins", []))
    shipped = {}
    for name in names:
        module, _, cls = name.rpartition(".")
        if not module or module.split(".")[0] == "otter":
            _import_class(module, cls, name)
            continue
        top = module.split(".")[0]
        if top in RESERVED:
            raise ConfigError(f"plugins: {name}: a plugin module may not be named {top!r}, "
                              "a name the autograder zip uses itself")
        added = [str(p) for p in search if str(p) not in sys.path]
        sys.path[:0] = added
        try:
            spec = importlib.util.find_spec(top)
            if spec is None or spec.origin is None:
                raise ConfigError(f"plugins: {name} cannot be imported (no module {top})")
            origin = Path(spec.origin)
            path = origin.parent if origin.name == "__init__.py" else origin
            if not any(path.is_relative_to(Path(p).resolve()) for p in search):
                raise ConfigError(f"plugins: {name} is neither Otter's (otter.*) nor a "
                                  "module beside the config file or in the current folder, "
                                  "which the zip would ship: it would be missing when grading")
            _import_class(module, cls, name)
        finally:
            for p in added:
                sys.path.remove(p)
        shipped[top] = path
    return shipped


def _import_class(module: str, cls: str, name: str):
    from otter.plugins import AbstractOtterPlugin

    try:
        found = getattr(importlib.import_module(module), cls, None) if module else None
    except Exception as exc:  # noqa: BLE001 - reported at build
        raise ConfigError(f"plugins: {name} cannot be imported ({exc})") from None
    if not (isinstance(found, type) and issubclass(found, AbstractOtterPlugin)):
        raise ConfigError(f"plugins: {name} is not an Otter plugin class "
                          "(a subclass of otter.plugins.AbstractOtterPlugin)")


def stage_files(folder: Path, config: dict, requirements: list[str], constraints: str,
                plugins: dict[str, Path] | None = None):
    """Otter's files and Gradescope's scripts at the zip's root (`config`: checked by
    `otter_config`; `plugins`: the instructor's plugin modules, from `plugin_sources`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("run_autograder", "setup.sh", "run_otter.py"):
        (folder / name).write_bytes((TEMPLATES / name).read_bytes())
        os.chmod(folder / name, 0o755 if name != "run_otter.py" else 0o644)
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    (folder / "tests").mkdir(exist_ok=True)
    (folder / "tests" / "README.md").write_text(TESTS_README.format(plugin=otter_plugin.PLUGIN))
    (folder / "files").mkdir(exist_ok=True)
    otter_plugin.write_placeholder(folder / "files" / otter_plugin.PLACEHOLDER)
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (folder / "constraints.txt").write_text(constraints)
    for top, path in (plugins or {}).items():
        if path.is_dir():
            shutil.copytree(path, folder / top, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(path, folder / path.name)
