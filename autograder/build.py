"""`autograder build ASSIGNMENT -o DIST`: the student bundle and Gradescope's autograder zip.

    DIST/student/         what students get; DIST/student.zip holds it in one folder
        <package>/        the starter code: stubs generated from the solutions
        assignment/       assignment.toml (without paths to solutions or cases), checks.py,
                          public_cases.json + .npz (the public cases and expected values)
        autograder/       this framework, for `python -m autograder.cli check` and
                          `from autograder import check` (it holds no solution)
        *.ipynb           the notebooks, built from the assignment's notebooks/*.py
        README.md         for students
    DIST/autograder.zip   for Gradescope and `otter run`: an Otter-Grader 7 autograder whose
                          plugin grades in the sandbox (`autograder.gradescope`)

Everything is staged in a temporary folder beside DIST and verified before anything is
written: the reference solution scores full marks on every question, the stubs score zero
on every graded question, and the student bundle holds no secret, judged by content: no
line of solution code (every stripped line of 20 characters or more inside the solutions'
`# BEGIN SOLUTION` blocks, less boilerplate such as `for _ in range(steps):` and lines
that the solutions show outside their blocks too), no hidden case's input array
(bytewise, in any npz array, any JSON list of numbers, or any file's bytes; arrays that a
public case also takes are published by design), no hidden case id, not the case
generator. The committed starter code must be what the solutions generate.
On a failure the build prints the report, returns non-zero and leaves DIST as it was.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
import tempfile
import tomllib
import traceback
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder import assignment as asg
from autograder import derived, gradescope, otter_plugin, public, stubgen
from autograder.grading import GradeOptions, Oracle, SubmissionResult, grade_package

FRAMEWORK = Path(__file__).resolve().parent
REPO = FRAMEWORK.parent
MIN_LINE = 20
MIN_ARRAY_BYTES = 16
SHOWN = 10
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
EXECUTABLES = {"run_autograder", "setup.sh"}
OTTER_LAYOUT = ("run_autograder", "setup.sh", "run_otter.py", "otter_config.json", "tests",
                "files")
OTTER_COPIED = {"tests/README.md", f"files/{otter_plugin.PLACEHOLDER}"}
NOT_FOR_GRADING = {"nbformat", "nbclient", "ipykernel", "dask", "pyyaml"}  # yaml: TAs' exports
STUDENT_EXTRAS = ["jupyter"]
NOT_FOR_STUDENTS = {"otter-grader"}  # Gradescope's runner; `autograder check` needs none of it
BEGIN, END = stubgen.BEGIN, stubgen.END
HEADER = re.compile(r"^(for|while|with|if|elif|else|try|except|finally)\b.*:$")
OPERATOR = re.compile(r"[-+*/%@<>=!&|^~]")
SIMPLE = r"\s*[\w.'\"]+\s*"
BARE_CALL = re.compile(rf"^[\w.]+\(({SIMPLE}(,{SIMPLE})*)?\)$")


@dataclass
class Finding:
    """One verification: whether it holds, what it checked, and what went wrong."""

    ok: bool
    title: str
    details: list[str] = field(default_factory=list)


@dataclass
class Report:
    """The verification report printed by the build."""

    assignment: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def text(self) -> str:
        lines = [f"Verification of {self.assignment}:"]
        for f in self.findings:
            lines.append(f"  [{'ok' if f.ok else 'FAIL'}] {f.title}")
            lines += [f"         {d}" for d in f.details]
        lines += [f"  note: {n}" for n in self.notes]
        lines.append("Verified: writing the bundle and the autograder zip." if self.ok
                     else "Verification FAILED: nothing was written.")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- files
def _skipped(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo")


def copy_tree(src: Path, dst: Path, pattern: str = "**/*"):
    """Copy the files of `src` matching `pattern` to `dst`, without bytecode."""
    for path in sorted(src.glob(pattern)):
        rel = path.relative_to(src)
        if path.is_file() and not _skipped(rel):
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)


def copy_framework(dst: Path):
    """The framework package: its modules only (no caches, no Gradescope templates)."""
    copy_tree(FRAMEWORK, dst, "*.py")
    if (FRAMEWORK / "py.typed").exists():
        shutil.copyfile(FRAMEWORK / "py.typed", dst / "py.typed")


def rewrite_toml(text: str, changes: dict[str, str | None]) -> str:
    """`text` with top-level string keys set to new values (None: removed).

    Edits lines, so comments and layout stay; the result is parsed to prove it says
    exactly the original with the changes.
    """
    key = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
    out, pending, top = [], dict(changes), True
    for line in text.splitlines():
        if top and line.lstrip().startswith("["):
            out += [f"{k} = {json.dumps(v)}" for k, v in pending.items() if v]
            pending, top = {}, False
        match = key.match(line) if top else None
        if match and match[1] in changes:
            value = pending.pop(match[1], None)
            out += [f"{match[1]} = {json.dumps(value)}"] if value else []
            continue
        out.append(line)
    out += [f"{k} = {json.dumps(v)}" for k, v in pending.items() if v]
    result = "\n".join(out) + "\n"
    want = {k: v for k, v in {**tomllib.loads(text), **changes}.items() if v is not None}
    if tomllib.loads(result) != want:
        raise ValueError("assignment.toml could not be rewritten line by line")
    return result


def write_zip(folder: Path, path: Path, prefix: str = ""):
    """Zip `folder`'s files (sorted, fixed times; scripts executable) under `prefix`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = file.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(prefix + rel, ZIP_TIME)
            mode = 0o755 if file.name in EXECUTABLES else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, file.read_bytes())


def grading_requirements() -> list[str]:
    """What grading installs: the project's dependencies less the notebook/cluster tools."""
    pyproject = REPO / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"] \
        if pyproject.exists() else ["numpy", "torch"]
    name = re.compile(r"^[A-Za-z0-9_.-]+")
    return [d for d in deps if name.match(d)[0].lower() not in NOT_FOR_GRADING]


def constraints_text() -> str:
    path = REPO / "constraints.txt"
    return path.read_text() if path.exists() else "torch==2.13.0\n"


# ----------------------------------------------------------------------------- staging
def _assignment_files(a: asg.Assignment, dst: Path, changes: dict, cases: bool):
    dst.mkdir(parents=True, exist_ok=True)
    text = (a.root / "assignment.toml").read_text()
    checks = a.checks_file if a.checks_file and a.checks_file.exists() else None
    # Diagnoses ship with the public cases; the known mistakes they run as variants are
    # grader side, like the case generator.
    diagnoses = _named_file(a, "diagnoses")
    mistakes = _named_file(a, "mistakes") if cases else None
    changes = {"solutions": None, "starter": None, "cases": None, "notebooks": None,
               "checks": "checks.py" if checks else None,
               "diagnoses": "diagnoses.py" if diagnoses else None,
               "mistakes": "mistakes.py" if mistakes else None, **changes}
    (dst / "assignment.toml").write_text(rewrite_toml(text, changes))
    if checks:
        shutil.copyfile(checks, dst / "checks.py")
    if cases:
        shutil.copyfile(a.cases_file, dst / "cases.py")
    for source, name in ((diagnoses, "diagnoses.py"), (mistakes, "mistakes.py")):
        if source:
            shutil.copyfile(source, dst / name)


def _named_file(a: asg.Assignment, key: str) -> Path | None:
    """The file assignment.toml names by `key`, where it names one that exists."""
    path = a.root / a.raw[key] if a.raw.get(key) else None
    return path if path is not None and path.is_file() else None


def _notebooks(a: asg.Assignment, dst: Path) -> tuple[list[str], str | None]:
    """Build the notebooks into `dst`: (their names, a note when none were built)."""
    src = a.root / a.raw.get("notebooks", "notebooks")
    if not src.is_dir():
        return [], f"no notebooks: {src} does not exist"
    try:
        from autograder import notebooks
    except ImportError as exc:
        return [], f"notebooks skipped: autograder.notebooks cannot be imported ({exc})"
    return [p.name for p in notebooks.build(src, dst)], None


def stage_student(a: asg.Assignment, oracle: Oracle, dst: Path) -> list[str]:
    """Write the student bundle into `dst`; returns notes for the report.

    The starter code is the assignment's committed `starter` folder when it names one
    (verified to be what the solutions generate), else generated from the solutions.
    """
    if a.starter:
        copy_tree(a.starter, dst / a.package)
    else:
        stubgen.generate(a.solutions, dst / a.package)
    _assignment_files(a, dst / "assignment", {}, cases=False)
    public.save(a.cases(), oracle, dst / "assignment")
    copy_framework(dst / "autograder")
    built, note = _notebooks(a, dst)
    (dst / "README.md").write_text(student_readme(a, built))
    return [note] if note else []


def starter_findings(a: asg.Assignment) -> list[Finding]:
    """The committed starter code is exactly what the solutions generate."""
    if not a.starter:
        return []
    diffs = stubgen.differences(a.solutions, a.starter) if a.starter.is_dir() else ["missing"]
    return [Finding(not diffs, f"starter code {a.starter.name}/ is generated from the current "
                    "solutions" + ("" if not diffs else "; run `autograder starter`"),
                    [f"differs: {d}" for d in diffs[:SHOWN]])]


def stage_autograder(a: asg.Assignment, dst: Path, config: dict | None = None,
                     plugin_path: tuple[Path, ...] = ()):
    """Write the autograder zip's folder: Otter's files (`config`: otter_config.json's keys,
    checked by `gradescope.otter_config`, which raises ConfigError), the instructor's plugin
    modules (looked up in `plugin_path` first), framework, assignment, oracle."""
    otter = gradescope.otter_config(config)
    unknown = set(gradescope.plugin_options(otter).questions or ()) - {q.id for q in a.questions}
    if unknown:
        raise gradescope.ConfigError(f"{otter_plugin.PLUGIN}: questions: no question "
                                     f"{', '.join(sorted(unknown))} in {a.name}")
    plugins = gradescope.plugin_sources(otter, plugin_path)
    gradescope.stage_files(dst, otter, grading_requirements(), constraints_text(), plugins)
    copy_framework(dst / "autograder")
    _assignment_files(a, dst / "assignment",
                      {"solutions": f"../solutions/{a.package}", "cases": "cases.py"},
                      cases=True)
    copy_tree(a.solutions, dst / "solutions" / a.package)


def student_readme(a: asg.Assignment, notebooks: list[str]) -> str:
    """The students' README: set-up, checking, questions and points, submitting."""
    pkg, first = a.package, a.questions[0].id
    rows = [f"| {q.title}{' (extra credit)' if q.extra_credit else ''} | `{q.id}` | "
            f"{q.points:g} |" for q in a.questions]
    books = "".join(f"- `{n}`\n" for n in notebooks) or "- (none for this assignment)\n"
    name = re.compile(r"^[A-Za-z0-9_.-]+")
    wanted = [r for r in grading_requirements() if name.match(r)[0].lower() not in NOT_FOR_STUDENTS]
    packages = " ".join(shlex.quote(r) for r in wanted + STUDENT_EXTRAS)
    return f"""# {a.title}

Your starter code is the package `{pkg}/`. Every function you implement raises
`NotImplementedError` with a one-line hint until you write it; its docstring gives the
shapes and the formula. Work in this folder: it holds `{pkg}/`, the notebooks, and the
checker.

## Set up

Python 3.11 on Linux or macOS (on Windows, use WSL), then, in this folder:

```bash
python -m venv .venv && . .venv/bin/activate
pip install {packages}
```

## Check your work

From this folder (the one holding `{pkg}/`):

```bash
python -m autograder.cli check              # every question
python -m autograder.cli check -q {first}  # one question
```

or in a notebook cell: `from autograder import check; check("{first}")`. The checker runs
the public cases (`assignment/public_cases.json`) on your code and says, for each failing
case, which function, which case and what is wrong. Hidden cases, graded after you
submit, test the same functions on other inputs and edge cases.

A backward pass is graded on your own forward pass: each backward case first calls your
forward function for the cache. A wrong forward pass therefore also costs its backward
pass's cases; the message then names the forward function as the one to fix first.
When the forward's output was right and the backward's is not, look at the backward, or
at the cache the forward passes on to it.

A function called over several steps (an update rule, say) is checked at every call:
when its final values are wrong, the checker says at which call your values first leave
the reference's and which piece of state differs first. After you submit, the grader
also names a well-known mistake when one gives exactly your numbers.

## Questions

| question | id | points |
|---|---|---|
{chr(10).join(rows)}
| **total** | | **{a.max_score:g}** |

## Notebooks

{books}
## Submit

Zip your `{pkg}/` folder and upload the zip to Gradescope:

```bash
zip -r submission.zip {pkg}
```

Only `{pkg}/` is graded. Your code runs in a sandbox, with time and memory limits, on
the public cases and on hidden ones.
"""


# ----------------------------------------------------------------------------- verification
def _question_lines(result: SubmissionResult) -> list[str]:
    return [f"{q.id}: {q.score:g} / {q.points:g}" for q in result.questions]


def grading_findings(a: asg.Assignment, oracle: Oracle, stubs: Path,
                     isolation: str) -> list[Finding]:
    """The reference earns every point of every question; the stubs earn none."""
    options = GradeOptions(isolation=isolation)
    ref = grade_package(a, a.solutions, oracle, "reference", options)
    low = [f"{q.id}: {q.score:g} / {q.points:g}" for q in ref.questions if q.score != q.points]
    failing = [c.message.splitlines()[0] for f in _functions(ref) for c in f.cases
               if not c.passed]
    stub = grade_package(a, stubs, oracle, "stubs", options)
    earned = [line for q, line in zip(stub.questions, _question_lines(stub), strict=True)
              if q.score]
    cases = sum(len(f.cases) for f in _functions(ref))
    extra = sum(q.points for q in a.questions if q.extra_credit)
    bonus = f" (+{extra:g} extra credit)" if extra else ""
    return [
        Finding(not low, f"reference solutions: {ref.score:g} / {ref.max_score:g}{bonus}, full "
                f"marks on every question ({len(ref.questions)} questions, {cases} cases)",
                low + failing[:SHOWN]),
        Finding(not earned, f"stubs: {stub.score:g} / {stub.max_score:g}, zero on every "
                "graded question", earned),
    ]


def _functions(result: SubmissionResult):
    return [f for q in result.questions for f in q.functions]


def boilerplate(line: str) -> bool:
    """A line that computes nothing: a loop, `with` or `if` header without an operator
    (`for _ in range(steps):`), or a call statement whose arguments are names or
    literals only (`optimizer.zero_grad()`, `model.train(was_training)`)."""
    return bool(HEADER.match(line) and not OPERATOR.search(line)) or bool(BARE_CALL.match(line))


def solution_lines(solutions: Path) -> tuple[dict[str, str], int]:
    """Secret solution lines -> 'file:line', and how many were left out.

    A secret line is a stripped line of >= MIN_LINE characters inside a solution block,
    unless it is boilerplate or also appears outside the blocks (in a docstring, a
    complete helper): the starter code shows those anyway.
    """
    inside: dict[str, str] = {}
    outside: list[str] = []
    for path in sorted(solutions.rglob("*.py")):
        within = False
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if BEGIN.match(line) or END.match(line):
                within = bool(BEGIN.match(line))
            elif within and len(line.strip()) >= MIN_LINE:
                inside.setdefault(line.strip(), f"{path.relative_to(solutions.parent)}:{number}")
            elif not within:
                outside.append(line.strip())
    published = "\n".join(outside)
    secret = {line: where for line, where in inside.items()
              if line not in published and not boilerplate(line)}
    return secret, len(inside) - len(secret)


def _json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_json_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


def _json_numbers(value) -> list[np.ndarray]:
    """Every list of two or more numbers in a JSON document, as float64 arrays."""
    if isinstance(value, dict):
        return [a for v in value.values() for a in _json_numbers(v)]
    if not isinstance(value, list):
        return []
    numeric = len(value) > 1 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                     for v in value)
    own = [np.asarray(value, dtype=np.float64)] if numeric else []
    return own + [a for v in value for a in _json_numbers(v)]


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return None


def bundle_texts(folder: Path) -> dict[str, str]:
    """Each file's text (JSON also with its strings decoded), lines stripped."""
    texts = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix in (".npz", ".zip"):
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix in (".json", ".ipynb"):
            text += "\n" + "\n".join(_json_strings(_read_json(path)))
        texts[path.relative_to(folder).as_posix()] = "\n".join(
            line.strip() for line in text.splitlines())
    return texts


def bundle_blobs(folder: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(raw bytes and npz arrays per file, JSON number lists as float64 per file)."""
    raw, numbers = {}, {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                raw[rel] = b"\0".join(np.ascontiguousarray(npz[k]).tobytes() for k in npz.files)
        elif path.suffix != ".zip":
            raw[rel] = path.read_bytes()
        if path.suffix in (".json", ".ipynb"):
            numbers[rel] = b"\0".join(a.tobytes() for a in _json_numbers(_read_json(path)))
    return raw, numbers


def _arrays(value) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, Mapping):
        return [a for v in value.values() for a in _arrays(v)]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays(v)]
    return []


def distinctive(array: np.ndarray) -> bool:
    """Worth looking for: numeric, >= MIN_ARRAY_BYTES, not one value repeated."""
    flat = array.ravel()
    return (array.dtype.kind in "biuf" and array.nbytes >= MIN_ARRAY_BYTES
            and not np.array_equal(flat, np.full_like(flat, flat[0]), equal_nan=True))


def _case_arrays(case) -> list[np.ndarray]:
    """The arrays a case holds: inputs, step arguments, check parameters (e.g. labels)."""
    return _arrays([case.inputs, [[s.args, s.kwargs] for s in case.steps],
                    [c.params for c in case.checks]])


def hidden_arrays(a: asg.Assignment) -> tuple[list[tuple[str, np.ndarray]], int]:
    """(case id, array) for the distinctive arrays of hidden cases, and how many were
    left out because a public case holds them too (published by design)."""
    public_bytes = [arr.tobytes() for c in a.cases() if c.visibility == "public"
                    for arr in _case_arrays(c)]
    found, shared = [], 0
    for case in a.cases():
        if case.visibility != "hidden":
            continue
        for arr in filter(distinctive, _case_arrays(case)):
            if any(arr.tobytes() in blob for blob in public_bytes):
                shared += 1
            else:
                found.append((case.id, arr))
    return found, shared


def _leaks(needles: list[tuple[str, str]], texts: dict[str, str], what: str) -> list[str]:
    return [f"{rel} holds {what} {needle!r} ({origin})"
            for needle, origin in needles for rel, text in texts.items() if needle in text]


def _array_leaks(arrays, raw: dict[str, bytes], numbers: dict[str, bytes]) -> list[str]:
    """Files holding a hidden array's bytes (JSON numbers: compared as float64)."""
    leaks = set()
    for cid, arr in arrays:
        exact, as_float = arr.tobytes(), arr.astype(np.float64).tobytes()
        leaks |= {f"{rel} holds an input array of hidden case {cid!r}"
                  for rel, blob in raw.items() if exact in blob}
        leaks |= {f"{rel} holds an input array of hidden case {cid!r} (as JSON numbers)"
                  for rel, blob in numbers.items() if as_float in blob}
    return sorted(leaks)


def secret_findings(a: asg.Assignment, folder: Path) -> list[Finding]:
    """No solution line, hidden input array, hidden case id or case generator in `folder`."""
    texts = bundle_texts(folder)
    lines, published = solution_lines(a.solutions)
    code = _leaks(list(lines.items()), texts, "the solution line")
    raw, numbers = bundle_blobs(folder)
    arrays, shared = hidden_arrays(a)
    inputs = _array_leaks(arrays, raw, numbers)
    ids = [c.id for c in a.cases() if c.visibility == "hidden"]
    named = [f"{rel} names hidden case {cid!r}" for cid in ids for rel, text in texts.items()
             if re.search(rf"(?<![\w/.-]){re.escape(cid)}(?![\w/-]|\.\w)", text)]
    secret = {"the case generator": a.cases_file, "the known mistakes": _named_file(a, "mistakes")}
    blobs = {what: path.read_bytes() for what, path in secret.items()
             if path is not None and path.exists()}
    copies = [f"{rel} is {what}" for rel, blob in raw.items() for what, secret_blob
              in blobs.items() if blob == secret_blob]
    files = len(texts)
    return [
        Finding(not code, f"no solution code: {len(lines)} solution lines (>= {MIN_LINE} "
                f"characters) absent from {files} files ({published} more are boilerplate or "
                "appear outside the solution blocks too)", code[:SHOWN]),
        Finding(not inputs, f"no hidden input: {len(arrays)} input arrays of hidden cases "
                f"absent bytewise from {len(raw)} files ({shared} more are public cases' "
                "inputs too)", inputs[:SHOWN]),
        Finding(not named, f"no hidden case id: {len(ids)} ids absent", named[:SHOWN]),
        Finding(not copies, f"{' and '.join(blobs) or 'nothing grader-only'} "
                f"{'are' if len(blobs) > 1 else 'is'} not in the bundle", copies),
    ]


def derivation_finding(a: asg.Assignment, oracle: Oracle) -> Finding:
    """No hidden case's input or expected output is a public one cast, sliced, scaled or
    standardised (`autograder.derived`; expected values: those the grading above computed)."""
    outputs = {cid: outcome.values for cid, outcome in oracle.cache.items()}
    problems = derived.derivations(a.cases(), outputs)
    hidden = sum(c.visibility == "hidden" for c in a.cases())
    return Finding(not problems, f"no hidden case given away: the inputs and expected values "
                   f"of {hidden} hidden cases are no public case's transformed", problems[:SHOWN])


def autograder_findings(folder: Path, a: asg.Assignment) -> list[Finding]:
    """The staged autograder loads the same assignment and cases from its own files."""
    title = f"autograder zip: loads {len(a.cases())} cases and {a.max_score:g} points " \
            "from its own files"
    try:
        staged = asg.load(folder / "assignment")
        same = ([c.id for c in staged.cases()] == [c.id for c in a.cases()]
                and staged.max_score == a.max_score
                and all((folder / n).exists() for n in OTTER_LAYOUT))
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        return [Finding(False, title, [f"{type(exc).__name__}: {exc}"])]
    copied = sorted(p.relative_to(folder).as_posix() for d in ("files", "tests")
                    for p in (folder / d).rglob("*") if p.is_file())
    extra = [p for p in copied if p not in OTTER_COPIED]
    return [Finding(same, title),
            Finding(not extra, "files/ and tests/ (which Otter copies into the submission "
                    "folder) hold nothing of the assignment's: " + ", ".join(copied),
                    [f"unexpected: {p}" for p in extra])]


# ----------------------------------------------------------------------------- build
def _install(staging: Path, dist: Path):
    dist.mkdir(parents=True, exist_ok=True)
    for name in ("student", "student.zip", "autograder.zip"):
        target = dist / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        (staging / name).rename(target)


def verify(a: asg.Assignment, staging: Path, report: Report, isolation: str,
           config: dict | None, plugin_path: tuple[Path, ...] = ()) -> list[Finding]:
    """Stage the outputs in `staging` and verify them; a failure to stage is a finding."""
    try:
        oracle = Oracle(a.solutions)
        report.notes += stage_student(a, oracle, staging / "student")
        stage_autograder(a, staging / "autograder", config, plugin_path)
    except gradescope.ConfigError as exc:
        return [Finding(False, "otter_config.json: every key honoured with Otter's meaning",
                        [p.strip() for p in str(exc).removeprefix("otter_config.json: ")
                         .split("; ")])]
    except Exception as exc:  # noqa: BLE001 - reported, and nothing is written
        what = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return [Finding(False, "staging the student bundle and the autograder zip", [what])]
    return [*starter_findings(a),
            *grading_findings(a, oracle, staging / "student" / a.package, isolation),
            *secret_findings(a, staging / "student"),
            derivation_finding(a, oracle),
            *autograder_findings(staging / "autograder", a)]


def build(assignment_dir: Path | str, dist: Path | str, *, isolation: str = "auto",
          config: dict | None = None, plugin_path: tuple[Path, ...] = (),
          stream=None) -> Report:
    """Stage, verify and (only if every check holds) write the outputs into `dist`.

    `config`: otter_config.json's keys; `plugin_path`: folders holding the instructor's
    plugin modules that `config["plugins"]` names (searched before `sys.path`)."""
    stream = stream or sys.stdout
    a = asg.load(assignment_dir)
    dist = Path(dist).resolve()
    dist.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dist.name}-build-", dir=dist.parent))
    report = Report(a.name)
    try:
        report.findings += verify(a, staging, report, isolation, config, tuple(plugin_path))
        print(report.text(), file=stream)
        if report.ok:
            write_zip(staging / "student", staging / "student.zip", f"{a.name}/")
            write_zip(staging / "autograder", staging / "autograder.zip")
            _install(staging, dist)
            print(summary(dist), file=stream)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(
        p.stat().st_size for p in path.rglob("*") if p.is_file())


def summary(dist: Path) -> str:
    """What was written, with sizes."""
    lines = []
    for name in ("student", "student.zip", "autograder.zip"):
        path = dist / name
        count = sum(1 for p in path.rglob("*") if p.is_file()) if path.is_dir() else \
            len(zipfile.ZipFile(path).namelist())
        lines.append(f"wrote {path} ({count} files, {_size(path):,} bytes)")
    return "\n".join(lines)
