"""Grading on a Dask distributed cluster: ``autograder grade ... --cluster ADDRESS``.

The same grading as the local pool, with the harness running on the cluster's workers:

- The client (the TA's machine) makes the *assignment bundle* once: a zip of the
  assignment folder and of the reference solutions, scattered to every worker. Each
  worker process unpacks it once (keyed by its SHA-256) and computes every expected value
  there, once, so the cases and expected values are those of the machine that grades.
- Each submission is first checked and copied on the client by the same safe `prepare`
  as locally (links, traversal, zip bombs); only its package's regular files travel, as
  the bytes of a zip. On the worker `grade_remote` runs `batch.grade_one`, which
  prepares it again and grades it in that machine's sandbox.
- A result travels back as a JSON *string* (`SubmissionResult.to_dict()` dumped): the
  client never unpickles anything derived from student code.
- When the assignment has training cases (a case with ``gpu = True``, or a question
  listed in ``gpu_questions`` at the top of ``assignment.toml``) and any worker declares
  a ``GPU`` resource (``dask worker ADDRESS --resources GPU=1``), every submission is
  placed on such a worker with ``resources={"GPU": 1}``; without GPU workers the tasks
  run anywhere, on the CPU.

Workers must have this project installed (`autograder` importable, the same versions)
and should run as root, so that the sandbox can drop to its own uids; one thread per
worker process is best (``--nthreads 1 --nworkers N``), since the harness holds the GIL
while it encodes and judges.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import weakref
import zipfile
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from autograder.assignment import Assignment
from autograder.grading import GradeOptions, Oracle, select_cases

CONNECT_TIMEOUT = "30s"
BUNDLE_FOLDER = "autograder-bundle-"  # + the Dask worker's pid: its unpacked bundle
SKIPPED_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints"}
_LOADED: dict[str, tuple[Assignment, Oracle]] = {}
_LOAD_LOCK = threading.Lock()


class ClusterError(RuntimeError):
    """The Dask scheduler cannot be reached."""


# ----------------------------------------------------------------------------- bundles
def _add_tree(zf: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    """Add the regular files under `folder` (no links, no caches) as `prefix/...`."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if SKIPPED_PARTS & set(rel.parts) or path.suffix == ".pyc" or path.is_symlink():
            continue
        if path.is_file():
            zf.write(path, rel.as_posix() if prefix in ("", ".") else f"{prefix}/{rel.as_posix()}")


def zip_folder(folder: Path, prefix: str) -> bytes:
    """The regular files under `folder` as zip bytes, inside `prefix/`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        _add_tree(zf, folder, prefix)
    return buffer.getvalue()


def bundle_assignment(assignment: Assignment) -> bytes:
    """The assignment folder and its solutions, zipped with their relative layout kept.

    The assignment's files may find the solutions by the path in `assignment.toml`
    (``../../solutions/nntrain``), so both are stored relative to their common folder,
    and ``bundle.json`` says where each is.
    """
    folders = [assignment.root] + ([assignment.solutions] if assignment.solutions else [])
    base = Path(os.path.commonpath(folders))
    manifest = {"assignment": assignment.root.relative_to(base).as_posix(),
                "solutions": assignment.solutions.relative_to(base).as_posix()
                if assignment.solutions else None}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bundle.json", json.dumps(manifest))
        for i, folder in enumerate(folders):
            if not any(folder.is_relative_to(other) for other in folders[:i]):
                _add_tree(zf, folder, folder.relative_to(base).as_posix())
    return buffer.getvalue()


def unpack_bundle(bundle: bytes) -> Assignment:
    """The bundle's files in a new private folder, and its assignment loaded from there.
    The folder goes with the assignment: when it is collected, or when the process exits
    (a killed process's is removed by the next `batch.sweep_batch_folders`)."""
    from autograder import assignment as asg

    root = Path(tempfile.mkdtemp(prefix=f"{BUNDLE_FOLDER}{os.getpid()}-"))
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        zf.extractall(root)  # our own bundle, made by `bundle_assignment`
    manifest = json.loads((root / "bundle.json").read_text())
    assignment = asg.load(root / manifest["assignment"])
    solutions = manifest["solutions"]
    assignment.solutions = (root / solutions).resolve() if solutions else None
    weakref.finalize(assignment, shutil.rmtree, root, True)  # also at the process's exit
    return assignment


def load_bundle(bundle: bytes, options: GradeOptions) -> tuple[Assignment, Oracle]:
    """The bundle's assignment and its oracle (every expected value computed), cached."""
    from autograder.batch import precompute, sweep_batch_folders, sweep_orphans

    key = hashlib.sha256(bundle).hexdigest() + repr(options)
    with _LOAD_LOCK:
        if key not in _LOADED:
            sweep_orphans()  # what a killed worker's sandboxes left on this machine
            sweep_batch_folders()
            assignment = unpack_bundle(bundle)
            _LOADED[key] = (assignment, Oracle(store=precompute(assignment, options)))
        return _LOADED[key]


# ----------------------------------------------------------------------------- the task
def options_dict(options: GradeOptions) -> dict:
    """GradeOptions as plain data for the wire."""
    return asdict(options)


def options_from(data: dict) -> GradeOptions:
    """The inverse of `options_dict`."""
    questions = data.get("questions")
    return GradeOptions(isolation=data["isolation"],
                        questions=tuple(questions) if questions is not None else None,
                        visibility=tuple(data["visibility"]),
                        pipeline=bool(data.get("pipeline", False)))


def grade_remote(bundle: bytes, name: str, package_zip: bytes, options: dict) -> str:
    """Runs on a Dask worker: grade one submission shipped as zip bytes; JSON back."""
    from autograder.batch import grade_one

    grade_options = options_from(options)
    assignment, oracle = load_bundle(bundle, grade_options)
    scratch = Path(tempfile.mkdtemp(prefix="autograder-remote-"))
    try:
        path = scratch / "submission.zip"
        path.write_bytes(package_zip)
        result = grade_one(assignment, path, name, oracle, grade_options)
        return json.dumps(result.to_dict())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ----------------------------------------------------------------------------- GPUs
def needs_gpu(assignment: Assignment, options: GradeOptions) -> bool:
    """Whether grading runs training cases that want a GPU."""
    gpu_questions = set(assignment.raw.get("gpu_questions", []))
    functions = assignment.functions()
    return any(getattr(case, "gpu", False) or functions[case.function].question
               in gpu_questions for case in select_cases(assignment, assignment.cases(), options))


def gpu_workers(client) -> int:
    """How many of the cluster's workers declare a GPU resource."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return sum(1 for w in workers.values() if w.get("resources", {}).get("GPU", 0) >= 1)


# ----------------------------------------------------------------------------- the client
def package_payload(assignment: Assignment, path: Path, name: str,
                    options: GradeOptions) -> tuple[bytes | None, dict | None, str]:
    """(zip bytes, None, notes) for a usable submission; (None, failed result, "") else.

    The submission is checked and copied by the same `prepare` as a local batch, so a
    submission that cannot be graded gets the same row without leaving this machine.
    """
    from autograder.batch import failed_dict, prepared_notes
    from autograder.submission import prepare

    scratch = Path(tempfile.mkdtemp(prefix="autograder-ship-"))
    try:
        prepared = prepare(path, scratch, assignment.package)
        if prepared.package_dir is None:
            return None, failed_dict(assignment, name, prepared.status, prepared.message,
                                     options), ""
        payload = zip_folder(prepared.package_dir, assignment.package)
        return payload, None, prepared_notes(prepared)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _decode(text, name: str) -> dict:
    """A worker's JSON answer, checked to be a result for `name`."""
    data = json.loads(text) if isinstance(text, str) else None
    if not isinstance(data, dict) or data.get("submission") != name:
        raise ValueError("the worker's answer is not a result for this submission")
    return data


def _connect(address: str):
    """A client of the scheduler at `address`, or a `ClusterError` saying why not."""
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _submit_all(client, assignment: Assignment, tasks: list, options: GradeOptions):
    """Ship every usable submission; (futures -> name, notes per name, failed results)."""
    bundle = client.scatter(bundle_assignment(assignment), broadcast=True)
    gpu = needs_gpu(assignment, options) and gpu_workers(client) > 0
    wire_options = options_dict(options)
    futures, notes, failed = {}, {}, []
    for task in tasks:
        payload, bad, notes[task.name] = package_payload(assignment, task.path, task.name,
                                                         options)
        if bad is not None:
            failed.append(bad)
            continue
        future = client.submit(grade_remote, bundle, task.name, payload, wire_options,
                               resources={"GPU": 1} if gpu else None, pure=False,
                               key=f"grade-{task.name}-{os.urandom(4).hex()}")
        futures[future] = task.name
    return futures, notes, failed


def run_cluster(assignment: Assignment, tasks: list, options: GradeOptions,
                address: str) -> Iterator[dict]:
    """Grade `tasks` (batch.Task) on the Dask scheduler at `address`, results as they come."""
    from distributed import as_completed

    from autograder.batch import failed_dict, grader_error

    client = _connect(address)
    try:
        futures, notes, failed = _submit_all(client, assignment, tasks, options)
        yield from failed
        for future in as_completed(list(futures), loop=client.loop):
            name = futures.pop(future)
            try:
                result = _decode(future.result(), name)
            except Exception as exc:  # noqa: BLE001 - a lost worker fails one row, not all
                yield failed_dict(assignment, name, "grader-error", grader_error(exc), options)
                continue
            if result["status"] == "graded":
                result["message"] = notes[name]  # as a local batch words it
            yield result
    finally:
        client.close()
