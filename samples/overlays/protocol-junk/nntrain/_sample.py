"""Malformed answers to the harness, one kind per case."""

import os
import time

import numpy as np

from nntrain import _hostile_tools as tools


def reply_missing_array(token: str) -> dict:
    np.savez(os.path.join(tools.io_dir(), f"{token}.out.npz"))
    return {"case": token, "status": "ok", "values": {"$dict": {"lr0": {"$arr": "a7"}}}}


def reply_unknown_status(token: str) -> dict:
    np.savez(os.path.join(tools.io_dir(), f"{token}.out.npz"))
    return {"case": token, "status": "passed", "values": {"$dict": {}}}


def reply_values_not_a_dict(token: str) -> dict:
    np.savez(os.path.join(tools.io_dir(), f"{token}.out.npz"))
    return {"case": token, "status": "ok", "values": {"$list": [0.1, 0.2]}}


def reply_linked_result(token: str) -> dict:
    os.symlink("/etc/shadow", os.path.join(tools.io_dir(), f"{token}.out.npz"))
    return {"case": token, "status": "ok", "values": {"$dict": {}}}


KINDS = [reply_missing_array, reply_unknown_status, reply_values_not_a_dict, reply_linked_result]


def malformed_reply(*args, **kwargs):
    """Answer the current case malformed, then sleep until the harness ends this worker."""
    token = tools.current_token()
    tools.say(KINDS[tools.token_number() % len(KINDS)](token))
    time.sleep(30)
    raise RuntimeError("the harness kept this worker alive after a malformed answer")
