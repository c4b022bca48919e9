"""Why a case of "Training Deep Neural Networks" failed: where it leaves the reference,
and which known mistake explains it.

Shipped with the students' public cases and with the grader. When an optimizer or
dropout case fails, the harness calls the function the case names with the values the
submission returned (per call: the weights and a copy of the config), the reference's,
and the case's inputs. The answer says where the submission's values first leave the
reference's (the call, and the piece of state: velocity, m, v, t, grad_squared) and,
where a variant of `mistakes.py` gives exactly the submission's numbers at every call,
which mistake that is. The optimizer variants are grader side only (they are the update
rules with one mistake each): for them a student's `autograder check` says where, the
grader also says which mistake. Nothing here reads the submission's source.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.diagnosis import agree, explained_by, first_divergence, load_file, replay

MISTAKES = Path(__file__).with_name("mistakes.py")


def _mistakes():
    """The known mistakes (`mistakes.py` beside this file), or None where it is absent."""
    return load_file(MISTAKES, "_training_dnn_mistakes") if MISTAKES.is_file() else None


# ----------------------------------------------------------------------------- optimizers
STATE = {
    "sgd": [],
    "sgd_momentum": ["velocity"],
    "nesterov_momentum": ["velocity"],
    "adagrad": ["grad_squared"],
    "rmsprop": ["grad_squared"],
    "adam": ["t", "m", "v"],
    "adamw": ["t", "m", "v"],
}


def _trace(values: dict | None, steps: int, state: list[str]) -> list[dict] | None:
    """Per call: {"w": weights, state key: value} from the values w1.. and config1.."""
    if values is None:
        return None
    trace = []
    for k in range(1, steps + 1):
        config = values.get(f"state{k}")
        config = config if isinstance(config, dict) else {}
        trace.append({"w": values.get(f"w{k}"), **{s: config.get(s) for s in state}})
    return trace


PIECES = {"w": "your weights `next_w`", "velocity": "`config['velocity']`",
          "m": "`config['m']`", "v": "`config['v']`", "t": "`config['t']`",
          "grad_squared": "`config['grad_squared']`"}


def optimizer(got, expected, inputs, reveal, rule, steps, changes=None, rtol=1e-6,
              atol=1e-8):
    """Where a sequence of `steps` calls of optim.`rule` leaves the reference, and which
    known mistake (a variant run here on the same inputs) explains it."""
    state = STATE[rule]
    mine = _trace(got, steps, state)
    reference = _trace(expected, steps, state)
    changes = {int(k): v for k, v in (changes or {}).items()}
    calls = [{"dw": inputs[f"dw{k}"], "set": changes.get(k)} for k in range(steps)]
    first = {"w": inputs["w0"], "config": inputs.get("config0")}
    parts = []
    if reference is not None:
        where = first_divergence(mine, reference, [*state, "w"], rtol, atol)
        if where:
            weights = next((k for k, (g, e) in enumerate(zip(mine, reference, strict=True), 1)
                            if not agree(g["w"], e["w"], rtol, atol)), None)
            tail = f"; your weights first differ after call {weights}" \
                if weights and where.piece != "w" else ""
            parts.append(f"your values first leave the reference's at call {where.step} of "
                         f"{steps}: {where.describe(reveal, PIECES)}{tail}")
    known = _mistakes()
    found = []
    for name, (rule_fn, mistakes) in (known.variants(rule) if known else {}).items():
        trace = replay(rule_fn, first, calls, state)
        if explained_by(mine, {name: trace}, ["w"], rtol, atol):
            found.append(mistakes)
    if found:
        parts.append(known.describe(min(found, key=len)))
    return _sentence("; ".join(parts)) if parts else None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------- dropout
# The masks of known dropout mistakes are no secret (the starter's docstring and stub give
# the recipe), so they ship with the public cases: a student's check names them too.
def _dropout_masks(x: np.ndarray, p: float, seed) -> dict[str, tuple]:
    """name -> (mask a known mistake draws, what it is)."""
    u = np.random.default_rng(seed).random(x.shape)
    legacy = np.random.RandomState(0).random_sample(x.shape)  # the worker seeds np.random: 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "drop-ge": ((u >= p) / (1 - p), "p taken as the probability of DROPPING a unit "
                        "(mask = (u >= p) / (1 - p))"),
            "drop-lt": ((u < 1 - p) / (1 - p), "p taken as the probability of DROPPING a "
                        "unit (mask = (u < 1 - p) / (1 - p))"),
            "drop-gt-scaled-p": ((u > p) / p, "units kept where u > p (p is then the "
                                 "probability of dropping)"),
            "unscaled": ((u < p) * 1.0, "kept units not scaled by 1 / p"),
            "times-p": ((u < p) * p, "kept units multiplied by p instead of divided"),
            "global-rng": ((legacy < p) / p, "the mask drawn with np.random, ignoring "
                           "dropout_param['seed']"),
        }


DROPOUT_FIX = ("p is the probability of KEEPING a unit: mask = (u < p) / p with "
               "u = np.random.default_rng(seed).random(x.shape)")


def _dropout_mistake(value: np.ndarray, x_in: np.ndarray, p: float, seed) -> str | None:
    """The known mistake whose mask gives exactly `value` from `x_in`, in words with the
    fix, or None."""
    for mask, what in _dropout_masks(x_in, p, seed).values():
        candidate = x_in.astype(np.float64) * mask
        if candidate.shape == value.shape and agree(value, candidate, 1e-4, 1e-8):
            return f"{what}. The fix: {DROPOUT_FIX}"
    return None


def dropout(got, expected, inputs, reveal, p, seed, x="x", out="out", forward_first=False):
    """A seeded train-mode dropout whose output is not the reference's: which known
    mistake gives exactly the submission's `out` (with `forward_first`, a backward case's
    forward pass)."""
    value = got.get(out)
    if not isinstance(value, np.ndarray):
        return None
    found = _dropout_mistake(value, np.asarray(inputs[x]), p, seed)
    if found is None:
        return None
    head = "The output of your `dropout_forward` (this case runs it first)" \
        if forward_first else "Your `out`"
    return f"{head} is exactly that of a known mistake, {found}"
