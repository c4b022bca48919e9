"""Graded functions that never return."""

import signal
import time

CATCHABLE = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU, signal.SIGALRM,
             signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT)


def busy_loop(*args, **kwargs):
    """Spin on the CPU forever."""
    while True:
        pass


def deaf_sleeper(*args, **kwargs):
    """Ignore every signal that can be ignored, then sleep forever."""
    for sig in CATCHABLE:
        signal.signal(sig, signal.SIG_IGN)
    while True:
        try:
            time.sleep(3600)
        except BaseException:  # noqa: BLE001, S110 - nothing may stop it
            pass
