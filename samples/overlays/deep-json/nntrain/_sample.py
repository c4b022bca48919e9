"""A reply line nested deeper than any JSON parser's recursion limit."""

import time

from nntrain import _hostile_tools as tools

DEPTH = 200_000


def deep_reply(*args, **kwargs):
    """Send '[[[[...' to the harness, then wait to be ended."""
    tools.say("[" * DEPTH + "]" * DEPTH)
    time.sleep(30)
    raise RuntimeError("the harness kept this worker alive after a nonsense answer")
