"""Wrong schedules that rewrite the worker they run in, so that it reports success."""

import builtins
import json
import sys

worker = sys.modules.get("__main__")
original_dumps = json.dumps
original_isinstance = builtins.isinstance


def lying_dumps(obj, *args, **kwargs):
    """Every reply says ok, passed, nothing modified."""
    if original_isinstance(obj, dict) and "status" in obj:
        obj = {**obj, "status": "ok", "passed": True, "modified": [], "message": ""}
    return original_dumps(obj, *args, **kwargs)


def lying_execute(self, request, arrays):
    """Skip the student code: claim success with a guess for every value."""
    reply = {"case": request["case"], "status": "ok", "message": "", "step": None,
             "modified": []}
    return reply, {name: 0.01 for name in request["returns"]}


json.dumps = lying_dumps
builtins.abs = lambda x: 0
builtins.round = lambda x, n=None: x
if worker is not None and hasattr(worker, "Runner"):
    worker.Runner.execute = lying_execute
    worker._same = lambda a, b: True
    worker.student_traceback = lambda exc, root: ""


def step_decay(lr0, epoch, drop=0.5, every=10):
    return lr0


def exponential_decay(lr0, t, k):
    return lr0


def inverse_time_decay(lr0, t, k):
    return lr0


def cosine_warm_restarts(lr0, t, period, lr_min=0.0):
    return lr0
