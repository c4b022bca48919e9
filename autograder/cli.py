"""Command-line entry point `autograder`.

    autograder starter  [ASSIGNMENT] [--check]       generate starter code from solutions
    autograder check    [--question Q] [--path DIR]  students: public cases, plain messages
    autograder grade    SUBMISSIONS... -o OUT        TAs: gradebook, results.json, feedback
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_ASSIGNMENT = "assignments/training_dnn"


def _find_assignment(value: str | None) -> Path:
    """The assignment folder: as given, else the default one found upwards from here."""
    if value:
        return Path(value)
    here = Path.cwd().resolve()
    for folder in [here, *here.parents]:
        for candidate in (folder / DEFAULT_ASSIGNMENT, folder / "assignment"):
            if (candidate / "assignment.toml").exists():
                return candidate
    raise SystemExit("autograder: no assignment found; pass --assignment PATH")


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


def cmd_grade(args) -> int:
    from autograder import assignment as asg
    from autograder.batch import BatchOptions, grade_batch
    from autograder.grading import GradeOptions
    from autograder.report import print_gradebook
    from autograder.submission import discover

    a = asg.load(_find_assignment(args.assignment))
    paths = discover([Path(p) for p in args.submissions])
    if not paths:
        print("autograder grade: no submissions found", file=sys.stderr)
        return 2
    options = BatchOptions(workers=args.workers or os.cpu_count() or 1, resume=args.resume,
                           only=tuple(args.only or ()), quiet=args.quiet,
                           grade=GradeOptions(isolation=args.isolation))
    rows = grade_batch(a, paths, Path(args.output), options)
    if not args.quiet:
        print_gradebook(rows, a)
    return 0


def cmd_check(args) -> int:
    from autograder.checker import check

    summary = check(question=args.question, path=args.path, assignment=args.assignment,
                    color=None if not args.no_color else False)
    return 0 if summary.all_passed else 1


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
    p.add_argument("--workers", "-j", type=int, default=0, help="parallel submissions")
    p.add_argument("--resume", action="store_true", help="skip submissions already graded")
    p.add_argument("--only", nargs="+", metavar="NAME", help="regrade only these submissions")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "user", "none"])
    p.set_defaults(func=cmd_grade)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
