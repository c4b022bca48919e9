"""Grading many submissions: one row each, always, in parallel, resumable.

For every submission the batch writes, atomically, ``OUT/<name>/results.json``
(Gradescope's schema), ``OUT/<name>/feedback.md`` and ``feedback.html``, and last
``OUT/<name>/grade.json`` (the full result, which marks the submission as done for
``--resume``). Then ``OUT/gradebook.csv`` is rebuilt from all the ``grade.json`` files, so
the gradebook is the same whatever the order, the number of workers or the interruptions;
and ``OUT/summary/`` holds the class statistics (see `autograder.summary`).

Parallelism. The harness does real CPU work per case (encoding, judging), so submissions
are graded in a pool of harness *processes* (spawned, one submission at a time each), not
threads sharing one GIL. The pool starts first; while its processes start, this process
generates the cases and computes every expected value once, and hands the selected cases
and their expected values to each process in one file, which it loads once and grades
with `grade_one` in its own sandboxed worker.
With one worker there is no pool: this process grades, one submission after another
(half the memory: a harness process holds the assignment's cases).
With ``BatchOptions.cluster`` the same work goes to a Dask scheduler instead
(`autograder.cluster`). Either way a result crosses back as a plain JSON-able dict.

A batch killed with SIGKILL loses nothing that was written: the next run with ``resume``
skips every submission whose ``grade.json`` exists, and first kills whatever processes
the killed run's sandboxes left under uids no live batch holds (`sweep_orphans`), and
removes the temporary folders the killed run left (`sweep_batch_folders`).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import pickle
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from autograder import results as out
from autograder import sandbox
from autograder.assignment import Assignment
from autograder.cleanup import remove_tree
from autograder.cluster import BUNDLE_FOLDER
from autograder.grading import (
    CaseResult,
    FunctionResult,
    GradeOptions,
    Oracle,
    QuestionResult,
    SubmissionResult,
    assemble,
    grade_package,
    select_cases,
)
from autograder.session import WORKER_FOLDER, Outcome
from autograder.submission import prepare, submission_name
from autograder.text import clean

# Temporary folders, each named PREFIX<pid of the process that made it>-...: the batch's
# cases and expected values, a submission's safe copy, a sandboxed worker's folder, a
# sandbox's private folder (staged binds, output log), a Dask worker's unpacked bundle.
BATCH_FOLDER = "autograder-batch-"
SUBMISSION_FOLDER = "nntrain-sub-"
# What the batch writes in OUT/ beside the submissions' folders: no submission is named so.
GRADEBOOK, SUMMARY = "gradebook.csv", "summary"
RESERVED = (GRADEBOOK, SUMMARY)
SOURCE = "source"  # grade.json's key for the path of the submission it grades
MAX_CASE_MESSAGE = 4_000  # characters of one case's message kept in OUT/
MAX_MESSAGE = 20_000  # characters of a submission's own message (skipped entries...)
TEMP_FOLDERS = (BATCH_FOLDER, SUBMISSION_FOLDER, WORKER_FOLDER,
                sandbox.SANDBOX_FOLDER, BUNDLE_FOLDER)


@dataclass
class BatchOptions:
    """How to run a batch.

    - workers: submissions graded side by side (local harness processes), each taking
      about one core.
    - resume: skip submissions that already have a complete ``grade.json``.
    - only: regrade just these submission names (others are left untouched).
    - quiet: no progress output.
    - grade: options for each submission (isolation, questions, visibility).
    - cluster: a Dask scheduler address ("tcp://host:8786"); None grades locally.
    - summary: write ``OUT/summary/`` after the gradebook.
    """

    workers: int = 1
    resume: bool = False
    only: tuple[str, ...] = ()
    quiet: bool = False
    grade: GradeOptions | None = None
    cluster: str | None = None
    summary: bool = True


@dataclass
class Task:
    """One submission to grade: its unique name and where it is."""

    name: str
    path: Path


@dataclass
class Plan:
    """Every submission of the batch, and those this run grades."""

    named: list[Task]
    todo: list[Task] = field(default_factory=list)
    skipped: int = 0


class UnknownSubmissions(ValueError):
    """`--only` named submissions that are not in the batch."""


# ----------------------------------------------------------------------------- results
def failed_result(assignment: Assignment, name: str, status: str, message: str,
                  options: GradeOptions) -> SubmissionResult:
    """A row for a submission that could not be graded at all: zero everywhere."""
    questions = assemble(assignment, [], options)
    return SubmissionResult(submission=name, status=status, message=message, score=0.0,
                            max_score=sum(q.points for q in questions if not q.extra_credit),
                            questions=questions)


def failed_dict(assignment: Assignment, name: str, status: str, message: str,
                options: GradeOptions) -> dict:
    """`failed_result` as the JSON-able dict that crosses process boundaries."""
    return failed_result(assignment, name, status, message, options).to_dict()


def _case_result(data: dict) -> CaseResult:
    """A CaseResult from its dict, ignoring keys this version does not know."""
    known = {f.name for f in fields(CaseResult)}
    return CaseResult(**{k: v for k, v in data.items() if k in known})


def result_from_dict(data: dict) -> SubmissionResult:
    """Rebuild a `SubmissionResult` from `SubmissionResult.to_dict()` (plain JSON data)."""
    questions = []
    for q in data.get("questions", []):
        functions = [
            FunctionResult(f["name"], f["question"], f["points"], f["score"],
                           [_case_result(c) for c in f["cases"]])
            for f in q["functions"]
        ]
        questions.append(QuestionResult(q["id"], q["title"], q["points"], q["score"],
                                        functions, q.get("extra_credit", False)))
    return SubmissionResult(
        submission=data["submission"], status=data["status"], message=data.get("message", ""),
        score=data["score"], max_score=data["max_score"], questions=questions,
        isolation=list(data.get("isolation", [])), seconds=data.get("seconds", 0.0),
        worker_starts=data.get("worker_starts", 0))


def grade_one(assignment: Assignment, path: Path, name: str, oracle: Oracle,
              options: GradeOptions) -> SubmissionResult:
    """Prepare (safely copy) and grade one submission; never raises."""
    scratch = Path(tempfile.mkdtemp(prefix=f"{SUBMISSION_FOLDER}{os.getpid()}-"))
    try:
        prepared = prepare(path, scratch, assignment.package)
        if prepared.package_dir is None:
            return failed_result(assignment, name, prepared.status, prepared.message, options)
        result = grade_package(assignment, prepared.package_dir, oracle, name, options)
        result.message = prepared_notes(prepared)
        return result
    except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
        return failed_result(assignment, name, "grader-error", grader_error(exc), options)
    finally:
        remove_tree(scratch)


def prepared_notes(prepared) -> str:
    """The notes of a successful `prepare`, as the submission's message."""
    notes = [prepared.message] if prepared.message and prepared.status == "ok" else []
    notes += prepared.warnings
    return "\n".join(n for n in notes if n)


def grader_error(exc: BaseException) -> str:
    """Plain words for a failure of the grader itself."""
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return f"the grader failed on this submission: {detail}"


def bounded_result(result: dict) -> dict:
    """A result dict whose messages are clean text of bounded size: each case's at most
    `MAX_CASE_MESSAGE` characters, the submission's at most `MAX_MESSAGE` (what a
    submission returns or raises is described by the harness, but never trusted to be
    short). The dict is changed in place and returned."""
    result["message"] = out.cut(clean(result.get("message", "")), MAX_MESSAGE)
    for question in result.get("questions", []):
        for function in question.get("functions", []):
            for case in function.get("cases", []):
                for key in ("message", "note"):
                    if isinstance(case.get(key), str):
                        case[key] = out.cut(clean(case[key]), MAX_CASE_MESSAGE)
    return result


def write_submission(result: dict, out_dir: Path, source: Path | None = None) -> None:
    """results.json, feedback.md and .html, then grade.json (the done marker), atomically.
    grade.json also records `source`, the submission's path, as `SOURCE` (see `read_done`)."""
    from autograder.summary import feedback_html

    folder = out_dir / result["submission"]
    for stale in folder.glob(".*.*"):  # atomic_write's temporaries, from a killed batch
        stale.unlink(missing_ok=True)
    typed = result_from_dict(result)
    out.write_results(typed, folder)
    out.atomic_write(folder / "feedback.html", feedback_html(typed))
    marker = result | ({SOURCE: source_key(source)} if source is not None else {})
    out.atomic_write(folder / "grade.json", json.dumps(marker, indent=1))


def source_key(path: Path) -> str:
    """How grade.json names the submission it grades: its absolute path."""
    return os.path.abspath(path)


# ----------------------------------------------------------------------------- the oracle
def precompute(assignment: Assignment, options: GradeOptions) -> dict[str, Outcome]:
    """Every expected outcome the selected cases need, computed once, here."""
    cases = select_cases(assignment, assignment.cases(), options)
    if not any(c.needs_reference for c in cases):
        return {}
    oracle = Oracle(assignment.solutions)
    for case in cases:
        oracle.expected(case)
    return dict(oracle.cache)


# ----------------------------------------------------------------------------- planning
def unique_names(paths: list[Path]) -> list[tuple[str, Path]]:
    """Submission names (`submission_name`), unique within the batch, in `paths`' order.

    Names are compared without case (a case-insensitive file system would merge
    `Alice/` and `alice/`) and never take one of `RESERVED` (the grader's own files in
    OUT/). The first path to want a name gets it; a later one gets the first free
    `name-2`, `name-3`... that no path wants for itself, so that `x/`, `x-2/` and `x.zip`
    become `x`, `x-2` and `x-3` whatever their order, and the same paths always get the
    same names (which `--resume` and `--only` rely on).
    """
    wanted = [submission_name(p) for p in paths]
    taken = {n.casefold() for n in RESERVED}
    first: dict[str, int] = {}
    for index, name in enumerate(wanted):
        if name.casefold() not in taken:
            first.setdefault(name.casefold(), index)
    claimed = taken | set(first)
    named = []
    for index, (name, path) in enumerate(zip(wanted, paths, strict=True)):
        if first.get(name.casefold()) != index:
            name = next(f"{name}-{k}" for k in itertools.count(2)
                        if f"{name}-{k}".casefold() not in claimed)
            claimed.add(name.casefold())
        named.append((name, path))
    return named


def read_done(folder: Path, source: Path | None = None) -> dict | None:
    """The complete grade.json of a submission folder, or None; also None when `source`
    is given and grade.json says it graded another path (the same name went to another
    submission since: a grade is never handed to the wrong one). Without `SOURCE`."""
    try:
        data = json.loads((folder / "grade.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "score" not in data:
        return None
    graded = data.pop(SOURCE, None)
    if source is not None and graded is not None and graded != source_key(source):
        return None
    return data


def is_done(folder: Path, source: Path | None = None) -> bool:
    return read_done(folder, source) is not None


def plan(paths: list[Path], out_dir: Path, options: BatchOptions) -> Plan:
    """Which submissions this run grades: `only` names, else all (less done ones on resume)."""
    named = [Task(n, p) for n, p in unique_names(paths)]
    names = {t.name for t in named}
    unknown = sorted(set(options.only) - names)
    if unknown:
        raise UnknownSubmissions(f"--only: not in this batch: {', '.join(unknown)} "
                                 f"(names: {', '.join(sorted(names)[:20])})")
    if options.only:
        todo = [t for t in named if t.name in options.only]
    elif options.resume:
        todo = [t for t in named if not is_done(out_dir / t.name, t.path)]
    else:
        todo = list(named)
    return Plan(named, todo, len(named) - len(todo))


# ----------------------------------------------------------------------------- progress
class Progress:
    """A tqdm bar on a terminal, plain log lines otherwise, nothing when quiet."""

    def __init__(self, total: int, quiet: bool, skipped: int = 0, stream=None):
        self.stream = stream or sys.stderr
        self.quiet, self.total, self.done, self.start = quiet, total, 0, time.monotonic()
        self.bar = None
        if quiet:
            return
        if skipped:
            print(f"resuming: {skipped} already graded, {total} to grade",
                  file=self.stream, flush=True)
        if self.stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="sub", desc="grading", file=self.stream,
                            dynamic_ncols=True)

    def update(self, result: dict):
        """One more submission graded."""
        self.done += 1
        name, status = clean(result["submission"]), clean(result["status"])
        if self.bar is not None:
            self.bar.set_postfix_str(f"{name[:24]} {status}")
            self.bar.update(1)
        elif not self.quiet:
            rate = self.done / max(time.monotonic() - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate else 0
            print(f"[{self.done}/{self.total}] {name}: {status} "
                  f"{result['score']:g}/{result['max_score']:g} ({rate:.2f}/s, eta {eta:.0f}s)",
                  file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ----------------------------------------------------------------------------- local pool
_CHILD: dict = {}


def _child_init(options: GradeOptions) -> None:
    """A harness process starts: imports done, the machine's isolation probed once."""
    if options.isolation == "auto":
        sandbox.probe()
    _CHILD["options"] = options


def _child_ready() -> int:
    """A no-op task: submitted once per process, it makes the pool spawn them now."""
    return os.getpid()


def _child_load(payload: str) -> None:
    """The batch's selected cases and expected values, from the file this batch wrote."""
    if _CHILD.get("payload") != payload:
        with open(payload, "rb") as handle:
            assignment, store = pickle.load(handle)  # written by our own parent process
        _CHILD.update(payload=payload, assignment=assignment, oracle=Oracle(store=store))


def _child_grade(payload: str, name: str, path: str) -> dict:
    """Grade one submission in a harness process; a plain dict back."""
    _child_load(payload)
    result = grade_one(_CHILD["assignment"], Path(path), name, _CHILD["oracle"],
                       _CHILD["options"])
    return result.to_dict()


def _new_pool(options: GradeOptions, workers: int) -> ProcessPoolExecutor:
    """`workers` spawned harness processes, started now (their interpreter start, imports
    and sandbox probe overlap the generation of the cases in this process)."""
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_child_init, initargs=(options,))
    for _ in range(workers):
        pool.submit(_child_ready)
    return pool


def write_payload(assignment: Assignment, options: GradeOptions, folder: Path) -> Path:
    """The selected cases (only those: pickling a case computes its lazy inputs) and every
    expected value, pickled into `folder` for the harness processes to load once."""
    selected = select_cases(assignment, assignment.cases(), options)
    store = precompute(assignment, options)
    portable = replace(assignment, _checks=None, _cases=selected)  # a module does not pickle
    path = folder / "payload.pickle"
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        pickle.dump((portable, store), handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def run_local(assignment: Assignment, tasks: list[Task], options: GradeOptions,
              workers: int) -> Iterator[dict]:
    """Grade `tasks` in `workers` harness processes, yielding results as they finish.

    If a harness process dies (the kernel's OOM killer, say), every submission the pool
    still held is tried again in a new pool, and those caught in a second break are
    tried once more each in a pool of its own: only a submission that kills its own
    harness process is reported as a grader error.
    """
    workers = max(1, min(workers, len(tasks)))
    pool = _new_pool(options, workers)
    folder = Path(tempfile.mkdtemp(prefix=f"{BATCH_FOLDER}{os.getpid()}-"))
    try:
        payload = str(write_payload(assignment, options, folder))
        suspects = yield from _pool_round(pool, assignment, tasks, payload, options)
        if suspects:
            suspects = yield from _pool_round(_new_pool(options, workers), assignment,
                                              suspects, payload, options)
        for task in suspects:
            if (yield from _pool_round(_new_pool(options, 1), assignment, [task], payload,
                                       options)):
                yield failed_dict(assignment, task.name, "grader-error",
                                  "the grading process died on this submission "
                                  "(out of memory?)", options)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        remove_tree(folder)


def _pool_round(pool, assignment: Assignment, tasks: list[Task], payload: str,
                options: GradeOptions):
    """Grade `tasks` in `pool`, yielding results; returns the tasks its breaking lost."""
    lost = []
    try:
        futures = {pool.submit(_child_grade, payload, t.name, str(t.path)): t for t in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                yield future.result()
            except BrokenProcessPool:
                lost.append(task)
            except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                yield failed_dict(assignment, task.name, "grader-error", grader_error(exc),
                                  options)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: no new submission starts
    return lost


def run_inline(assignment: Assignment, tasks: list[Task], options: GradeOptions
               ) -> Iterator[dict]:
    """Grade `tasks` one after the other in this process (one worker: no pool needed)."""
    oracle = Oracle(store=precompute(assignment, options))
    for task in tasks:
        yield grade_one(assignment, task.path, task.name, oracle, options).to_dict()


# ----------------------------------------------------------------------------- cleanup
def sweep_orphans() -> list[int]:
    """Kill the processes of sandbox uids that no live sandbox holds (root only).

    A batch killed with SIGKILL cannot clean up; its sandboxes' uids are released with it
    (their flocks die with the process), so any process still running under such a uid is
    left over. Returns the uids that were swept.
    """
    if os.geteuid() != 0:
        return []
    sandbox.sweep_leftovers()  # cgroups and capped folders first: rmtree cannot remove a mount
    swept = []
    for uid in sorted(_sandbox_uids_running()):
        try:
            lease = sandbox._UidLease(uid)  # acquiring kills the uid's processes
        except sandbox.SandboxError:
            continue  # held by a live sandbox
        lease.release()
        swept.append(uid)
    return swept


def sweep_batch_folders(root: Path | None = None) -> list[Path]:
    """Remove the temporary folders (`TEMP_FOLDERS`) whose process is gone, killed before
    it could clean up: cases and expected values, copies of submissions. Only folders of
    this user or, for root, of a sandbox uid; returns those removed."""
    owners = {os.geteuid()} | (set(sandbox.UID_POOL) if os.geteuid() == 0 else set())
    removed = []
    for entry in os.scandir(root or tempfile.gettempdir()):
        if _left_over(entry, owners):
            remove_tree(entry.path)
            removed.append(Path(entry.path))
    return removed


def _left_over(entry: os.DirEntry, owners: set[int]) -> bool:
    """Whether `entry` is a temporary folder of `owners` whose process is gone. A folder
    that vanishes meanwhile (its live owner cleaned up) is not left over."""
    prefix = next((p for p in TEMP_FOLDERS if entry.name.startswith(p)), None)
    pid = entry.name[len(prefix):].split("-", 1)[0] if prefix else ""
    try:
        return (pid.isdigit() and entry.is_dir(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid in owners
                and not _alive(int(pid)))
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


def _sandbox_uids_running() -> set[int]:
    """Uids of `sandbox.UID_POOL` that own a live process, from one pass over /proc."""
    uids: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as handle:
                line = next((x for x in handle if x.startswith("Uid:")), "")
        except OSError:
            continue
        uids.update(int(u) for u in line.split()[1:] if int(u) in sandbox.UID_POOL)
    return uids


# ----------------------------------------------------------------------------- the batch
Runner = Callable[[Assignment, list[Task], GradeOptions], Iterator[dict]]


def runner_for(options: BatchOptions) -> Runner:
    """The local process pool, or the Dask cluster when an address is given."""
    if options.cluster:
        from autograder import cluster

        return lambda a, tasks, grade: cluster.run_cluster(a, tasks, grade, options.cluster)
    if options.workers <= 1:
        return run_inline
    return lambda a, tasks, grade: run_local(a, tasks, grade, options.workers)


def gradebook_rows(assignment: Assignment, named: list[Task], out_dir: Path,
                   options: GradeOptions) -> list[dict]:
    """Every submission's result, read back from grade.json; a row even when missing."""
    rows = []
    for task in named:
        data = read_done(out_dir / task.name, task.path)
        rows.append(data or failed_dict(assignment, task.name, "not-graded",
                                        "not graded yet (see --resume / --only)", options))
    return rows


def renamed_sources(tasks: list[Task]) -> dict[str, str]:
    """{name: path} of every submission when any was named otherwise than its file (less
    `.zip`) or folder (made safe, or told apart from another), else {}: then the names
    say it all."""
    def plain(path: Path) -> str:
        name = Path(os.path.abspath(path)).name
        return name[:-4] if name.lower().endswith(".zip") else name

    if all(t.name == plain(t.path) for t in tasks):
        return {}
    return {t.name: str(t.path) for t in tasks}


def submitters(tasks: list[Task], quiet: bool) -> dict[str, dict[str, str]]:
    """The roster columns of the submissions an export's metadata names, by name."""
    from autograder.roster import export_roster

    def warn(message: str) -> None:
        if not quiet:
            print(f"autograder grade: {message}", file=sys.stderr)

    by_path = export_roster([t.path for t in tasks], warn)
    return {t.name: by_path[t.path] for t in tasks if t.path in by_path}


def grade_batch(assignment: Assignment, paths: list[Path], out_dir: Path,
                options: BatchOptions) -> list[dict]:
    """Grade `paths` into `out_dir`; returns every submission's result dict (all of them),
    with "submitters" where a Gradescope export names them."""
    # Each of `workers` takes about one core: no case pipelining inside a submission.
    grade_options = replace(options.grade or GradeOptions(), pipeline=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = plan(paths, out_dir, options)
    sweep_orphans()
    sweep_batch_folders()
    progress = Progress(len(work.todo), options.quiet, work.skipped)
    try:
        expected = {t.name: t.path for t in work.todo}
        if work.todo:
            for result in runner_for(options)(assignment, work.todo, grade_options):
                if result.get("submission") not in expected:
                    raise RuntimeError(f"a result for an unknown submission came back: "
                                       f"{str(result.get('submission'))[:80]!r}")
                write_submission(bounded_result(result), out_dir,
                                 expected[result["submission"]])
                progress.update(result)
    finally:
        progress.close()
    rows = gradebook_rows(assignment, work.named, out_dir, grade_options)
    roster = submitters(work.named, options.quiet)
    out.write_gradebook_rows(rows, [q.id for q in assignment.questions],
                             out_dir / GRADEBOOK, roster, renamed_sources(work.named))
    if options.summary:
        from autograder.summary import write_summary

        write_summary(rows, assignment, out_dir / SUMMARY)
    return [r | {"submitters": roster[r["submission"]]["submitters"]}
            if r["submission"] in roster else r for r in rows]
