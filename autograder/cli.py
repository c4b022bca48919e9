"""Command-line entry point `autograder`.

    autograder starter  [ASSIGNMENT] [--check]       generate starter code from solutions
    autograder check    [--question Q] [--path DIR]  students: public cases, plain messages
    autograder grade    SUBMISSIONS... -o OUT        TAs: gradebook, results.json, feedback
    autograder build    [ASSIGNMENT] -o DIST         instructors: student bundle, Gradescope zip
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _find_assignment(value: str | None) -> Path:
    """The assignment folder: as given, else the one found from here upwards."""
    if value:
        return Path(value)
    from autograder.assignment import find

    try:
        return find(Path.cwd())
    except LookupError as exc:
        raise SystemExit(f"autograder: {exc}") from None


def cmd_starter(args) -> int:
    from autograder import assignment as asg
    from autograder import stubgen

    a = asg.load(_find_assignment(args.assignment))
    if args.check:
        diffs = stubgen.differences(a.solutions, a.starter)
        if diffs:
            print("starter code is out of date:", *diffs, sep="\n  ")
            return 1
        print(f"starter code matches the solutions ({a.starter})")
        return 0
    written = stubgen.generate(a.solutions, a.starter)
    print(f"wrote {len(written)} files to {a.starter}")
    return 0


def _batch_options(args):
    """The grade subcommand's arguments as `BatchOptions`."""
    from autograder.batch import BatchOptions
    from autograder.grading import GradeOptions
    from autograder.sandbox import cpu_count

    grade = GradeOptions(isolation=args.isolation, questions=tuple(args.question or ()) or None)
    return BatchOptions(workers=args.workers or cpu_count(),
                        resume=args.resume, only=tuple(args.only or ()), quiet=args.quiet,
                        grade=grade, cluster=args.cluster, summary=not args.no_summary)


def _grade_problem(args, a) -> str | None:
    """Why the grade subcommand's arguments cannot work with assignment `a`, if they cannot."""
    unknown = set(args.question or ()) - {q.id for q in a.questions}
    if unknown:
        return (f"no question {', '.join(sorted(unknown))}; questions: "
                f"{', '.join(q.id for q in a.questions)}")
    return None


def _sandbox_stops(command: str, isolation: str, private=()) -> bool:
    """Print one line and say True when submissions cannot be run here as `isolation` asks
    (e.g. `user` isolation with a Python the sandbox's uid cannot reach, or with `private`
    paths that uid could read)."""
    from autograder.sandbox import preflight

    problem = preflight(isolation, private=private)
    if problem:
        print(f"autograder {command}: {problem}", file=sys.stderr)
    return problem is not None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a number of workers (1 or more): {text!r}")
    return int(text)


def _submissions(args, package: str) -> tuple[list[Path], str | None]:
    """The submissions to grade, less the output folder and what is in it; when there are
    none, why."""
    from autograder.submission import discover

    named = [Path(p) for p in args.submissions]
    paths = discover(named, package, exclude=(Path(args.output),))
    if paths:
        return paths, None
    if discover(named, package):
        return [], f"every submission found is in the output folder {args.output}: " \
                   "choose another -o"
    return [], "no submissions found"


def cmd_grade(args) -> int:
    from autograder import assignment as asg
    from autograder.batch import UnknownSubmissions, grade_batch
    from autograder.cluster import ClusterError
    from autograder.report import print_gradebook
    from autograder.sandbox import sees_host_files

    a = asg.load(_find_assignment(args.assignment))
    paths, none_why = _submissions(args, a.package)
    problem = _grade_problem(args, a) or none_why
    if problem:
        print(f"autograder grade: {problem}", file=sys.stderr)
        return 2
    out = Path(args.output)
    made = not out.exists() and not args.cluster and sees_host_files(args.isolation)
    if made:  # private from the start: sandboxes would see the results written there
        out.mkdir(mode=0o700, parents=True)
    secret = [a.root, a.solutions, *args.submissions, out]
    if not args.cluster and _sandbox_stops("grade", args.isolation, secret):
        if made:
            out.rmdir()
        return 2
    try:
        rows = grade_batch(a, paths, out, _batch_options(args))
    except (UnknownSubmissions, ClusterError) as exc:
        print(f"autograder grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nautograder grade: interrupted; what was graded is kept: add --resume to "
              "go on", file=sys.stderr)
        return 130
    if not args.quiet:
        print_gradebook(rows, a)
        print(f"gradebook: {out / 'gradebook.csv'}; summary: {out / 'summary' / 'summary.md'}",
              file=sys.stderr)
    return 0


def cmd_check(args) -> int:
    from autograder.checker import check
    from autograder.sandbox import SandboxError
    from autograder.session import WorkerFailed

    if _sandbox_stops("check", "auto"):
        return 2
    try:
        summary = check(question=args.question, path=args.path, assignment=args.assignment,
                        color=None if not args.no_color else False)
    except (SandboxError, WorkerFailed) as exc:
        print(f"autograder check: could not start the sandbox that runs your code (a problem "
              f"of this machine's set-up, not of your code):\n{exc}", file=sys.stderr)
        return 2
    return 0 if summary.all_passed else 1


def cmd_build(args) -> int:
    import json

    from autograder.build import build

    if _sandbox_stops("build", args.isolation):
        return 2
    config = json.loads(Path(args.config).read_text()) if args.config else None
    plugin_path = (Path(args.config).resolve().parent, Path.cwd()) if args.config else ()
    report = build(_find_assignment(args.assignment), Path(args.output),
                   isolation=args.isolation, config=config, plugin_path=plugin_path)
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("starter", help="generate the starter code from the solutions")
    p.add_argument("assignment", nargs="?")
    p.add_argument("--check", action="store_true", help="only verify it is up to date")
    p.set_defaults(func=cmd_starter)

    p = sub.add_parser("check", help="run the public cases on your working copy")
    p.add_argument("--question", "-q", action="append", help="only this question (repeatable)")
    p.add_argument("--path", default=".", help="folder holding nntrain/ (default: here)")
    p.add_argument("--assignment", help=argparse.SUPPRESS)
    p.add_argument("--no-color", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("grade", help="grade submissions (folders or .zip files)")
    p.add_argument("submissions", nargs="+")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--assignment", help="assignment folder (default: the one found here)")
    p.add_argument("--workers", "-j", type=_positive, default=0,
                   help="submissions graded side by side (default: this machine's cores)")
    p.add_argument("--resume", action="store_true", help="skip submissions already graded")
    p.add_argument("--only", nargs="+", metavar="NAME", help="regrade only these submissions")
    p.add_argument("--quiet", action="store_true", help="no progress bar or log lines")
    p.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "user", "none"])
    p.add_argument("--question", "-q", action="append", metavar="ID",
                   help="grade only this question (repeatable; the others are left out)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="grade on this Dask scheduler (tcp://host:8786) instead of locally")
    p.add_argument("--no-summary", action="store_true", help="skip OUT/summary/")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("build", help="verify, then write the student bundle and the "
                                     "Gradescope autograder zip")
    p.add_argument("assignment", nargs="?", help="assignment folder (default: the one found)")
    p.add_argument("-o", "--output", default="dist", help="output folder (default: dist)")
    p.add_argument("--config", metavar="JSON", help="otter_config.json keys to set")
    p.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "user", "none"],
                   help="sandbox used to verify the solutions and stubs")
    p.set_defaults(func=cmd_build)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
