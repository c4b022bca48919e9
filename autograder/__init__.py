"""The grading framework: build, check, grade, sandbox, reports, Gradescope."""


def check(question=None, path=".", **kwargs):
    """Run the public cases on your working copy (see `autograder.checker.check`)."""
    from autograder.checker import check as run

    return run(question, path, **kwargs)
