"""Otter-Grader plugin grading with this framework's sandbox: Otter drives, the sandbox grades.

Listed first in `otter_config.json`'s `plugins` (the build puts it there)::

    {"plugins": [{"autograder.otter_plugin.SandboxGrader":
                  {"isolation": "auto", "grading_seconds": 540}}, ...]}

Otter's runner (`otter.run.run_autograder.main`, from `otter run` or the zip's
`run_otter.py`) copies `files/` and `tests/` into the submission folder, resolves the
submission file (the zip's placeholder notebook, `PLACEHOLDER`), loads the plugins and then
calls, in order:

- ``before_grading(config)``: the student's files leave the submission folder for a
  root-only one beside it (`UPLOAD`; `run_autograder` moved them there already on
  Gradescope), before Otter reads anything of theirs: its kernel starts in the submission
  folder, which then holds only this autograder's files, and Otter would unpickle a
  `.OTTER_LOG` found there in its own process. The resolved submission file is overwritten
  with the placeholder.
- ``before_execution(notebook)``: returns the placeholder notebook (no cell), so Otter's
  kernel runs nothing but Otter's own set-up and export cells.
- ``after_grading(results)``: the harness grades the upload (`batch.grade_one`: the safe
  copy of `nntrain/`, a sandboxed worker, the oracle in this process) and its results
  replace the kernel's in Otter's `GradingResults` (`otter_tests.fill`). Otter then writes
  results.json with `GradingResults.to_gradescope_dict` and runs the next plugins (an
  instructor's own, e.g. `otter.plugins.builtin.RateLimiting`).

Options (the plugin's entry in `plugins`): ``isolation`` ("auto", "bwrap", "user"),
``grading_seconds`` (default 540: no case starts later than the longest case's limit and
30 s before it; `run_autograder` kills everything at ``grading_seconds + 50``) and
``questions`` (grade only these question ids, e.g. to try the autograder on part of the
assignment; default all).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin

PLUGIN = "autograder.otter_plugin.SandboxGrader"
PLACEHOLDER = "autograder_placeholder.ipynb"
UPLOAD = "upload"
START_MARGIN_SECONDS = 30.0
ISOLATIONS = ("auto", "bwrap", "user")


@dataclass(frozen=True)
class PluginOptions:
    """The plugin's own options, from its entry in `otter_config.json`'s `plugins`."""

    isolation: str = "auto"
    grading_seconds: float = 540.0
    questions: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> PluginOptions:
        """Checked options; a ValueError names what is wrong."""
        data = data or {}
        if not isinstance(data, dict):
            raise ValueError(f"{PLUGIN}'s options must be a JSON object, not {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{PLUGIN} has no option {', '.join(unknown)} "
                             f"(it takes {', '.join(sorted(known))})")
        if data.get("questions") is not None:
            questions = data["questions"]
            if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
                raise ValueError("questions must be a list of question ids")
            data = {**data, "questions": tuple(questions)}
        options = cls(**data)
        if options.isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}")
        seconds = options.grading_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
            raise ValueError("grading_seconds must be a positive number of seconds")
        return options


def placeholder_notebook() -> nbformat.NotebookNode:
    """The notebook Otter executes instead of anything the student sent: no cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def write_placeholder(path: Path):
    """The placeholder notebook at `path` (the zip's `files/` holds one)."""
    nbformat.write(placeholder_notebook(), str(path))


def ours(entry: os.DirEntry, source: Path) -> bool:
    """Whether a file at the top of the submission folder is Otter's copy of this
    autograder's (`tests/`, `files/`) or Otter's own empty `__init__.py`."""
    if entry.name == "tests" or (source / "files" / entry.name).exists():
        return True
    return entry.name == "__init__.py" and entry.is_file(follow_symlinks=False) \
        and entry.stat(follow_symlinks=False).st_size == 0


def stash_upload(root: Path, keep_ours: bool = True) -> Path:
    """Move the student's files from `root/submission` to `root/UPLOAD/submission` (in a
    folder of mode 0700, made here; "submission" is the name messages show); with
    `keep_ours`, this autograder's files that Otter copied in stay.

    Renames only, never following a link: nothing of the student's is read."""
    (root / UPLOAD).mkdir(mode=0o700)
    upload = root / UPLOAD / "submission"
    upload.mkdir()
    with os.scandir(root / "submission") as entries:
        for entry in list(entries):
            if not (keep_ours and ours(entry, root / "source")):
                os.rename(entry.path, upload / entry.name)
    return upload


def budgeted(a, options: PluginOptions, seed: int | None, elapsed: float):
    """`a` whose submission time budget ends in time to write results (no case starts
    later than the longest case's limit and a margin before `grading_seconds`, counted
    from the start), its cases seeded as Otter's `seed` asks."""
    from autograder.cases import call

    limits = dict(a.limits)
    longest = max([float(limits["case_seconds"])] + [c.seconds for c in a.cases() if c.seconds])
    latest = options.grading_seconds - elapsed - longest - START_MARGIN_SECONDS
    limits["submission_seconds"] = max(1.0, min(float(limits["submission_seconds"]), latest))
    cases = a.cases()
    if seed is not None:
        first = call("numpy.random.seed", int(seed))
        cases = [replace(c, steps=[first, *c.steps]) for c in cases]
    return replace(a, limits=limits, _cases=cases)


class GraderError(RuntimeError):
    """The harness failed on this submission (not the submission's fault)."""


def grade_upload(root: Path, upload: Path, options: PluginOptions, seed: int | None,
                 elapsed: float):
    """Grade `upload` with the assignment and oracle in `root/source`."""
    from autograder import assignment as asg
    from autograder.batch import grade_one
    from autograder.grading import GradeOptions, Oracle

    a = budgeted(asg.load(root / "source" / "assignment"), options, seed, elapsed)
    result = grade_one(a, upload, "submission", Oracle(a.solutions),
                       GradeOptions(isolation=options.isolation, questions=options.questions))
    if result.status == "grader-error":
        raise GraderError(result.message)
    return result


class SandboxGrader(AbstractOtterPlugin):
    """Hands the submission to this framework's sandboxed harness; fills Otter's results."""

    def __init__(self, submission_path, submission_metadata, plugin_config):
        super().__init__(submission_path, submission_metadata, plugin_config)
        self.started = time.monotonic()
        self.options = PluginOptions.from_dict(plugin_config)
        self.root = Path(os.path.abspath(submission_path)).parent.parent
        self.seed = None
        self.result = None
        # An instructor's plugin modules ship at the zip's top: importable from here on.
        source = str(self.root / "source")
        if source not in sys.path:
            sys.path.append(source)

    def before_grading(self, config):
        """Take the student's files out of Otter's reach; the placeholder is the submission."""
        self.seed = config.seed
        if not (self.root / UPLOAD).is_dir():
            stash_upload(self.root)
        target = Path(self.submission_path)
        if target.is_symlink() or target.exists():
            target.unlink()
        write_placeholder(target)

    def before_execution(self, submission):
        """Otter's kernel executes no cell of the student's."""
        return placeholder_notebook()

    def after_grading(self, results):
        """Grade in the sandbox; this framework's results replace the kernel's."""
        from autograder import otter_tests

        try:
            self.result = grade_upload(self.root, self.root / UPLOAD / "submission",
                                       self.options, self.seed,
                                       time.monotonic() - self.started)
        except Exception as exc:  # noqa: BLE001 - Otter writes "Autograder Failed" for it
            results.clear_results()
            results._catastrophic_error = exc  # what GradingResults.without_results sets
            return
        otter_tests.fill(results, self.result)
        print(results.output, flush=True)

    def generate_report(self):
        """The plugin report's lines: scores per question (Otter prints the report)."""
        if self.result is None:
            return "not graded"
        return "\n".join(f"{q.id}: {q.score:g} / {q.points:g}"
                         + (" (extra credit)" if q.extra_credit else "")
                         for q in self.result.questions)
