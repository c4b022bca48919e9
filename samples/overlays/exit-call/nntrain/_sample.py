"""Ways of leaving the worker from inside a graded function."""

import os
import sys


def sys_exit(*args, **kwargs):
    """SystemExit, as a script would end."""
    sys.exit(0)


def os_exit(*args, **kwargs):
    """The process ends at once, without unwinding or answering."""
    os._exit(0)


def keyboard_interrupt(*args, **kwargs):
    """A BaseException that is not an Exception."""
    raise KeyboardInterrupt
