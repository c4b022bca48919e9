"""Known mistakes of "Training Deep Neural Networks", written out as variants.

Grader side only (named by `mistakes` in assignment.toml, shipped in the autograder zip,
never in the student bundle): each variant is an update rule with one well-known
mistake, so this file is close to the solutions. `diagnoses.py` runs them on a
failing case's inputs, in the harness, and names the one whose numbers the submission's
match at every call. Nothing here reads the submission's source.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------------- optimizers
DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-7},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
             "weight_decay": 0.0},
    "adamw": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
              "weight_decay": 1e-2, "schedule_multiplier": 1.0},
}


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its name (how a student would recognise it) and the fix."""

    name: str
    fix: str


def _filled(rule: str, config):
    config = {} if config is None else config
    for key, value in DEFAULTS[rule].items():
        config.setdefault(key, value)
    return config


def _momentum(form: str, rule: str):
    """sgd_momentum / nesterov_momentum in one of their known forms."""
    def step(w, dw, config):
        c = _filled(rule, config)
        lr, rho = c["learning_rate"], c["momentum"]
        old = c.get("velocity", np.zeros_like(w))
        if form == "spec-momentum":
            v = rho * old + dw
            w = w - lr * v
        elif form == "lr-inside":        # v = rho v - lr dw; w += v  (CS231n's form)
            v = rho * old - lr * dw
            w = w + v
        elif form == "sign":
            v = rho * old - dw
            w = w - lr * v
        elif form == "dampened":
            v = rho * old + (1 - rho) * dw
            w = w - lr * v
        elif form == "not-stored":   # read from config, never written back
            v = rho * old + dw
            w = w - lr * v
            return w, c
        elif form == "nesterov-as-momentum":
            v = rho * old - lr * dw
            w = w + v
        elif form == "nesterov-swapped":
            v = rho * old - lr * dw
            w = w - rho * v + (1 + rho) * old
        elif form == "nesterov-spec-velocity":   # v = rho v + dw, lookahead with it
            v = rho * old + dw
            w = w - lr * (dw + rho * v)
        else:
            raise ValueError(form)
        c["velocity"] = v
        return w, c
    return step


MOMENTUM_MISTAKES = {
    "lr-inside": Mistake(
        "momentum written as v = momentum * v - learning_rate * dw; w += v (the velocity "
        "holds the learning rate, so a learning rate changed between calls rescales the "
        "old velocity)", "keep v = momentum * v + dw and step w - learning_rate * v"),
    "sign": Mistake("the velocity accumulates -dw (v = momentum * v - dw)",
                    "v = momentum * v + dw, then w - learning_rate * v"),
    "dampened": Mistake("a dampened velocity (v = momentum * v + (1 - momentum) * dw)",
                        "v = momentum * v + dw, without the (1 - momentum) factor"),
    "not-stored": Mistake("the velocity is not carried from one call to the next",
                          "store the new v in config['velocity'] and read it back"),
}
NESTEROV_MISTAKES = {
    "nesterov-as-momentum": Mistake(
        "Nesterov written as plain momentum (w + v)",
        "w - momentum * v_old + (1 + momentum) * v_new"),
    "nesterov-swapped": Mistake("the old and new velocities swapped in the step",
                                "w - momentum * v_old + (1 + momentum) * v_new"),
    "nesterov-spec-velocity": Mistake(
        "Nesterov with the velocity v = momentum * v + dw (PyTorch's form)",
        "v = momentum * v - learning_rate * dw, then w - momentum * v_old + "
        "(1 + momentum) * v_new"),
    "not-stored": MOMENTUM_MISTAKES["not-stored"],
}


def _adaptive(rule: str, eps_inside=False, swap=False, accumulate=True):
    """adagrad / rmsprop with a known mistake."""
    def step(w, dw, config):
        c = _filled(rule, config)
        g2 = c.get("grad_squared", np.zeros_like(w))
        if not accumulate:
            g2 = np.zeros_like(w)
        if rule == "adagrad":
            g2 = g2 + dw * dw
        else:
            d = c["decay_rate"]
            g2 = (1 - d) * g2 + d * dw * dw if swap else d * g2 + (1 - d) * dw * dw
        eps = c["epsilon"]
        denominator = np.sqrt(g2 + eps) if eps_inside else np.sqrt(g2) + eps
        c["grad_squared"] = g2
        return w - c["learning_rate"] * dw / denominator, c
    return step


ADAPTIVE_MISTAKES = {
    "eps_inside": Mistake("epsilon inside the square root (dw / sqrt(g2 + eps))",
                          "dw / (sqrt(g2) + eps)"),
    "swap": Mistake("decay_rate and 1 - decay_rate swapped",
                    "g2 = decay_rate * g2 + (1 - decay_rate) * dw ** 2"),
    "no_accumulate": Mistake("the squared gradients are not accumulated across calls",
                             "add to config['grad_squared'] and store it back"),
}


# Adam and AdamW: the spec, and each option that departs from it.
ADAM_OPTIONS = {
    "no_bias": Mistake("no bias correction",
                       "mhat = m / (1 - beta1 ** t), vhat = v / (1 - beta2 ** t)"),
    "t_after": Mistake("t incremented after its use (the first call corrects with t = 0)",
                       "increment t first: the first call uses t = 1"),
    "t_from_one": Mistake("t counted from 1 before the first increment (the first call "
                          "uses t = 2)", "t starts at 0 and is incremented before use"),
    "eps_inside": Mistake("epsilon inside the square root (sqrt(vhat + eps))",
                          "mhat / (sqrt(vhat) + eps)"),
    "swap": Mistake("beta1 and beta2 swapped",
                    "m decays with beta1 (0.9 by default), v with beta2 (0.999)"),
    "not_carried": Mistake("m and v are not carried from one call to the next",
                           "store m and v in config and read them back"),
}
ADAM_DECAY = {  # adam's coupled L2 vs the others
    "none": Mistake("weight decay ignored", "the gradient is dw + weight_decay * w"),
    "decoupled": Mistake("decoupled (AdamW's) weight decay in adam",
                         "adam's decay is coupled: g = dw + weight_decay * w"),
}
ADAMW_DECAY = {
    "coupled": Mistake("coupled instead of decoupled weight decay (wd * w added to the "
                       "gradient, as in adam)",
                       "the moments use dw alone; the step subtracts eta * wd * w"),
    "lr_scaled": Mistake("the decay multiplied by the learning rate (eta * lr * wd * w)",
                         "w - eta * (lr * mhat / (sqrt(vhat) + eps) + wd * w)"),
    "eta_adam_only": Mistake("schedule_multiplier applied to the Adam step only",
                             "eta multiplies the decay too: w - eta * (lr * mhat / ... "
                             "+ wd * w)"),
    "none": Mistake("weight decay ignored", "subtract eta * weight_decay * w"),
}


def _adam(rule: str, options: frozenset, decay: str):
    """adam / adamw with the `options` of ADAM_OPTIONS and the decay form `decay`."""
    def step(w, dw, config):
        c = _filled(rule, config)
        lr, eps, wd = c["learning_rate"], c["epsilon"], c["weight_decay"]
        b1, b2 = c["beta1"], c["beta2"]
        if "swap" in options:
            b1, b2 = b2, b1
        eta = c.get("schedule_multiplier", 1.0)
        fresh = "not_carried" in options
        m = np.zeros_like(w) if fresh else c.get("m", np.zeros_like(w))
        v = np.zeros_like(w) if fresh else c.get("v", np.zeros_like(w))
        t = c.get("t", 0)
        if "t_from_one" in options and t == 0:
            t = 1
        used = t if "t_after" in options else t + 1
        t = t + 1
        g = dw + wd * w if decay == "coupled" else dw
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        with np.errstate(divide="ignore", invalid="ignore"):
            if "no_bias" in options:
                mhat, vhat = m, v
            else:
                mhat, vhat = m / (1 - b1 ** used), v / (1 - b2 ** used)
            adam_step = lr * mhat / (np.sqrt(vhat + eps) if "eps_inside" in options
                                     else np.sqrt(vhat) + eps)
        if rule == "adam":
            w = w - adam_step - (wd * w if decay == "decoupled" else 0)
        elif decay == "coupled":
            w = w - eta * adam_step
        elif decay == "lr_scaled":
            w = w - eta * (adam_step + lr * wd * w)
        elif decay == "eta_adam_only":
            w = w - eta * adam_step - wd * w
        elif decay == "none":
            w = w - eta * adam_step
        else:
            w = w - eta * (adam_step + wd * w)
        c["m"], c["v"], c["t"] = m, v, t
        return w, c
    return step


def _adam_variants(rule: str) -> dict[str, tuple]:
    """Every variant with one or two departures from the spec: name -> (step, mistakes)."""
    spec_decay = "coupled" if rule == "adam" else "decoupled"
    decays = ADAM_DECAY if rule == "adam" else ADAMW_DECAY
    departures = [("option", k) for k in ADAM_OPTIONS] + [("decay", k) for k in decays]
    variants = {}
    for size in (1, 2):
        for combo in itertools.combinations(departures, size):
            options = frozenset(k for kind, k in combo if kind == "option")
            chosen = [k for kind, k in combo if kind == "decay"]
            if len(chosen) > 1 or {"t_after", "t_from_one"} <= options:
                continue
            decay = chosen[0] if chosen else spec_decay
            mistakes = [ADAM_OPTIONS[k] for k in sorted(options)] + \
                [decays[k] for k in chosen]
            name = " + ".join(k for _, k in combo)
            variants[name] = (_adam(rule, options, decay), mistakes)
    return variants


def variants(rule: str) -> dict[str, tuple]:
    """name -> (update rule with a known mistake, [Mistake, ...]) for `rule`."""
    if rule == "sgd_momentum":
        return {k: (_momentum(k, rule), [v]) for k, v in MOMENTUM_MISTAKES.items()}
    if rule == "nesterov_momentum":
        return {k: (_momentum(k, rule), [v]) for k, v in NESTEROV_MISTAKES.items()}
    if rule in ("adagrad", "rmsprop"):
        options = {"eps_inside": {"eps_inside": True}, "no_accumulate": {"accumulate": False}}
        if rule == "rmsprop":
            options["swap"] = {"swap": True}
        return {k: (_adaptive(rule, **kw), [ADAPTIVE_MISTAKES[k]]) for k, kw in options.items()}
    if rule in ("adam", "adamw"):
        return _adam_variants(rule)
    return {}


def describe(mistakes: list[Mistake]) -> str:
    names = " and ".join(m.name for m in mistakes)
    fixes = "; ".join(m.fix for m in mistakes)
    return f"your numbers are exactly those of a known mistake, {names}. The fix: {fixes}"
