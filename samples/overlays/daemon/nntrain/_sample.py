"""A daemon that tries to outlive grading: double fork, setsid, signals ignored, exec."""

import functools
import os
import signal
import sys

from nntrain import _hostile_tools as tools

DAEMON = r"""
import os, sys, time
token, marker = sys.argv[1], sys.argv[2]
places = [marker, os.path.join(os.getcwd(), "daemon-marker"), "/tmp/daemon-marker",
          os.path.expanduser("~/daemon-marker")]
while True:
    for place in places:
        try:
            with open(place, "a") as f:
                f.write(f"{token} pid {os.getpid()} at {time.time()}\n")
        except OSError:
            pass
    time.sleep(0.2)
"""


def start_daemon() -> None:
    """Double fork; the grandchild leaves the session and execs a marker-writing loop."""
    target = tools.targets()
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    os.execv(sys.executable, [sys.executable, "-c", DAEMON, target["token"],
                              target["marker"] + "-daemon"])


def with_daemon(fn):
    """`fn`, after starting the daemon once per worker."""
    started = []

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        if not started:
            started.append(True)
            start_daemon()
        return fn(*args, **kwargs)
    return inner
