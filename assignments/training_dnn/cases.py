"""Graded cases of the assignment "Training Deep Neural Networks" (grader side only).

`generate()` returns every public and hidden case. Inputs come from fixed seeds, so the
cases are the same on every run. Deterministic functions are compared with the reference
solution (`close`, `exact`); backward passes also with numeric gradients of the
submission's own forward pass; random functions by properties (`checks.py`).

Cases that make NumPy raise on overflow come last: if one fails half-way, the setting
stays on in that worker, and only those cases follow it.
"""

from __future__ import annotations

import functools
import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

import numpy as np

from autograder.cases import (
    Case,
    Check,
    Diagnosis,
    LazyInputs,
    Step,
    attr,
    call,
    close,
    context,
    got,
    numeric_gradient_case,
    prop,
    record,
    ref,
    with_consistency,
)

F32 = {"rtol": 1e-4, "atol": 1e-6}
ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "elu")
KINKED = ("relu", "leaky_relu", "elu")


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def generate() -> list[Case]:
    """Every case, public and hidden."""
    builders = [
        activation_cases, prelu_cases, maxout_cases, weight_init_cases, batchnorm_cases,
        layernorm_cases, dropout_cases, penalty_cases, ema_cases, augmentation_cases,
        early_stopping_cases, optimizer_cases, schedule_cases, preprocessing_cases,
        torch_model_cases, torch_train_cases, torch_predict_cases, curve_point_cases,
        fit_bezier_cases, overflow_cases,
    ]
    return [case for build in builders for case in build()]


# ----------------------------------------------------------------------------- activations
def _edge_x() -> np.ndarray:
    """Zeros, tiny, moderate and huge values of both signs, non-square (3, 6)."""
    return np.array([[-1000.0, -50.0, -5.0, -1.0, -1e-9, 0.0],
                     [0.0, 1e-9, 1.0, 5.0, 50.0, 1000.0],
                     [-0.5, 0.0, 0.5, -20.0, 20.0, 0.0]])


def _with_zeros(seed: int, shape, dtype=np.float64) -> np.ndarray:
    """Normal values with about a quarter of them exactly 0."""
    rng = _rng(seed)
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.25] = 0.0
    return x.astype(dtype)


def _extra(alpha=None) -> tuple:
    """The positional hyper-parameter passed after x (leaky ReLU's and ELU's alpha)."""
    return () if alpha is None else (alpha,)


def _forward(name, id, x, visibility, description, alpha=None, tol=None):
    """Case `name`_forward/`id`: the output against the reference."""
    extra = _extra(alpha)
    return Case(
        id=f"{name}_forward/{id}", function=f"activations.{name}_forward", inputs={"x": x},
        steps=[call(f"activations.{name}_forward", ref("x"), *extra, assign=["out", "cache"])],
        checks=[close("out", **(tol or {}))], visibility=visibility, description=description)


def _backward(name, id, x, dout, visibility, description, alpha=None, tol=None):
    """Case `name`_backward/`id`: dx after the forward pass, against the reference."""
    extra = _extra(alpha)
    return with_consistency(Case(
        id=f"{name}_backward/{id}", function=f"activations.{name}_backward",
        inputs={"x": x, "dout": dout},
        steps=[call(f"activations.{name}_forward", ref("x"), *extra, assign=["out", "cache"]),
               call(f"activations.{name}_backward", ref("dout"), ref("cache"), assign="dx")],
        checks=[close("dx", **(tol or {})),
                context("out", f"activations.{name}_forward", **(tol or {}))],
        visibility=visibility, description=description),
        f"activations.{name}_forward", [ref("x"), *extra])


def _numeric(name, x, dout):
    return numeric_gradient_case(
        id=f"{name}_backward/numeric-gradient", function=f"activations.{name}_backward",
        forward=f"activations.{name}_forward", forward_args=[ref("x")],
        backward_steps=[call(f"activations.{name}_backward", ref("dout"), ref("cache"),
                             assign="dx")],
        inputs={"x": x, "dout": dout}, grads={"x": "dx"}, seed=1,
        description="dx against central differences of your forward pass (x away from 0)")


ALPHAS = {"leaky_relu": 0.2, "elu": 1.5}


def activation_cases() -> list[Case]:
    """Forward and backward cases of the five elementwise activations."""
    cases = []
    for k, name in enumerate(ELEMENTWISE):
        cases += _elementwise_cases(name, 100 + 10 * k)
    return cases


def _elementwise_cases(name: str, seed: int) -> list[Case]:
    rng = _rng(seed)
    alpha = ALPHAS.get(name)
    x, dout = _with_zeros(seed, (4, 5)), rng.standard_normal((4, 5))
    x32 = (3 * rng.standard_normal((5, 3))).astype(np.float32)
    dout32 = rng.standard_normal((5, 3)).astype(np.float32)
    edge, dout_edge = _edge_x(), rng.standard_normal((3, 6))
    smooth = rng.uniform(0.1, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))
    at_zero = "; at x = 0 the gradient is the x <= 0 side's" if name in KINKED else ""
    cases = [
        _forward(name, "random", x, "public", "random (4, 5) input with some exact zeros"),
        _forward(name, "edge-values", edge, "hidden",
                 "x = 0 exactly, tiny and huge values (up to +-1000): no NaN or inf"),
        _forward(name, "float32", x32, "hidden", "float32 input: the output stays float32",
                 tol=F32),
        _backward(name, "random", x, dout, "public",
                  f"random (4, 5) input with some exact zeros{at_zero}"),
        _backward(name, "edge-values", edge, dout_edge, "hidden",
                  f"x = 0 exactly, tiny and huge values: no NaN at +-1000{at_zero}"),
        _backward(name, "float32", x32, dout32, "hidden",
                  "float32 input: the gradient stays float32", tol=F32),
        _numeric(name, smooth, rng.standard_normal((3, 4))),
    ]
    shaped = _rng(seed + 5)  # hidden inputs of their own, no public one transformed
    x4, dout4 = _with_zeros(seed + 5, (2, 3, 4, 5)), shaped.standard_normal((2, 3, 4, 5))
    cases += [
        _forward(name, "4d-input", x4, "hidden",
                 "input of shape (2, 3, 4, 5): any shape works, the output has x's shape"),
        _backward(name, "4d-input", x4, dout4, "hidden",
                  f"input of shape (2, 3, 4, 5): dx has x's shape{at_zero}"),
    ]
    if alpha is not None:
        xa, douta = _with_zeros(seed + 6, (4, 5)), shaped.standard_normal((4, 5))
        cases += [
            _forward(name, "custom-alpha", xa, "hidden",
                     f"alpha = {alpha} passed explicitly", alpha=alpha),
            _backward(name, "custom-alpha", xa, douta, "hidden",
                      f"alpha = {alpha} passed explicitly: the x <= 0 slope uses it",
                      alpha=alpha),
        ]
    return cases


def prelu_cases() -> list[Case]:
    """PReLU: one slope per feature (D,), gradients with respect to x and alpha."""
    rng = _rng(200)
    x, alpha = _with_zeros(201, (5, 3)), np.array([0.1, 0.25, 0.5])
    x_wide, alpha_wide = _with_zeros(202, (3, 7)), rng.uniform(0.05, 0.6, 7)
    dout, dout_wide = rng.standard_normal((5, 3)), rng.standard_normal((3, 7))
    x32 = _with_zeros(203, (5, 3), np.float32)
    a32 = np.array([0.15, 0.3, 0.45], dtype=np.float32)

    def fwd(id, x, a, vis, desc, tol=None):
        return Case(id=f"prelu_forward/{id}", function="activations.prelu_forward",
                    inputs={"x": x, "alpha": a},
                    steps=[call("activations.prelu_forward", ref("x"), ref("alpha"),
                                assign=["out", "cache"])],
                    checks=[close("out", **(tol or {}))], visibility=vis, description=desc)

    def bwd(id, x, a, d, vis, desc, tol=None):
        return with_consistency(Case(
                    id=f"prelu_backward/{id}", function="activations.prelu_backward",
                    inputs={"x": x, "alpha": a, "dout": d},
                    steps=[call("activations.prelu_forward", ref("x"), ref("alpha"),
                                assign=["out", "cache"]),
                           call("activations.prelu_backward", ref("dout"), ref("cache"),
                                assign=["dx", "dalpha"])],
                    checks=[close("dx", **(tol or {})), close("dalpha", **(tol or {})),
                            context("out", "activations.prelu_forward", **(tol or {}))],
                    visibility=vis, description=desc),
            "activations.prelu_forward", [ref("x"), ref("alpha")])

    smooth = rng.uniform(0.1, 2, (6, 4)) * rng.choice([-1, 1], (6, 4))
    return [
        fwd("random", x, alpha, "public", "(5, 3) input, one slope per feature"),
        fwd("wide", x_wide, alpha_wide, "hidden", "(3, 7) input: alpha broadcasts over rows"),
        fwd("float32", x32, a32, "hidden", "float32 inputs: the output stays float32", F32),
        bwd("random", x, alpha, dout, "public",
            "dx, and dalpha summed over the samples where x <= 0"),
        bwd("wide", x_wide, alpha_wide, dout_wide, "hidden",
            "(3, 7) input: dalpha has shape (D,), summed over the N rows"),
        bwd("float32", x32, a32, _rng(204).standard_normal((5, 3)).astype(np.float32), "hidden",
            "float32 inputs: the gradients stay float32", F32),
        numeric_gradient_case(
            id="prelu_backward/numeric-gradient", function="activations.prelu_backward",
            forward="activations.prelu_forward", forward_args=[ref("x"), ref("alpha")],
            backward_steps=[call("activations.prelu_backward", ref("dout"), ref("cache"),
                                 assign=["dx", "dalpha"])],
            inputs={"x": smooth, "alpha": rng.uniform(0.1, 0.5, 4),
                    "dout": rng.standard_normal((6, 4))},
            grads={"x": "dx", "alpha": "dalpha"}, seed=2,
            description="dx and dalpha against central differences of your forward pass"),
    ]


def _maxout_inputs(seed: int, n=5, d=4, m=3, ties=False, dtype=np.float64) -> dict:
    """x (n, d), two pieces (d, m) and (m,); with ties, the pieces agree on columns 0 and 2."""
    rng = _rng(seed)
    values = {"x": rng.standard_normal((n, d)),
              "W1": rng.standard_normal((d, m)), "b1": rng.standard_normal(m),
              "W2": rng.standard_normal((d, m)), "b2": rng.standard_normal(m),
              "dout": rng.standard_normal((n, m))}
    if ties:
        for key in ("W", "b"):
            values[f"{key}2"][..., [0, 2]] = values[f"{key}1"][..., [0, 2]]
    return {k: v.astype(dtype) for k, v in values.items()}


MAXOUT_ARGS = [ref("x"), ref("W1"), ref("b1"), ref("W2"), ref("b2")]
MAXOUT_GRADS = ["dx", "dW1", "db1", "dW2", "db2"]


def maxout_cases() -> list[Case]:
    """Maxout with two pieces: non-square shapes, ties (first piece wins), float32."""
    def fwd(id, inputs, vis, desc, tol=None):
        return Case(id=f"maxout_forward/{id}", function="activations.maxout_forward",
                    inputs={k: v for k, v in inputs.items() if k != "dout"},
                    steps=[call("activations.maxout_forward", *MAXOUT_ARGS,
                                assign=["out", "cache"])],
                    checks=[close("out", **(tol or {}))], visibility=vis, description=desc)

    def bwd(id, inputs, vis, desc, tol=None):
        return with_consistency(Case(
                    id=f"maxout_backward/{id}", function="activations.maxout_backward",
                    inputs=inputs,
                    steps=[call("activations.maxout_forward", *MAXOUT_ARGS,
                                assign=["out", "cache"]),
                           call("activations.maxout_backward", ref("dout"), ref("cache"),
                                assign=MAXOUT_GRADS)],
                    checks=[*[close(g, **(tol or {})) for g in MAXOUT_GRADS],
                            context("out", "activations.maxout_forward", **(tol or {}))],
                    visibility=vis, description=desc),
            "activations.maxout_forward", MAXOUT_ARGS)

    plain, ties = _maxout_inputs(300), _maxout_inputs(301, n=6, d=2, m=5, ties=True)
    f32 = _maxout_inputs(302, n=3, d=5, m=2, dtype=np.float32)
    smooth = _maxout_inputs(303, n=4, d=3, m=2)
    return [
        fwd("random", plain, "public", "x (5, 4), pieces (4, 3): out has shape (5, 3)"),
        fwd("ties", ties, "hidden", "both pieces equal on some columns"),
        fwd("float32", f32, "hidden", "float32 inputs: the output stays float32", F32),
        bwd("random", plain, "public", "all five gradients for x (5, 4), pieces (4, 3)"),
        bwd("ties", ties, "hidden",
            "both pieces equal on columns 0 and 2: the gradient goes to the FIRST piece"),
        bwd("float32", f32, "hidden", "float32 inputs: the gradients stay float32", F32),
        numeric_gradient_case(
            id="maxout_backward/numeric-gradient", function="activations.maxout_backward",
            forward="activations.maxout_forward", forward_args=MAXOUT_ARGS,
            backward_steps=[call("activations.maxout_backward", ref("dout"), ref("cache"),
                                 assign=MAXOUT_GRADS)],
            inputs=smooth, grads=dict(zip(["x", "W1", "b1", "W2", "b2"], MAXOUT_GRADS,
                                          strict=True)),
            seed=3, max_points=6,
            description="dx, dW1, db1, dW2, db2 against central differences"),
    ]


# ----------------------------------------------------------------------------- weight init
INITS = ("small_random_init", "xavier_init", "he_init")


def _init_std(name: str, fan_in: int, scale=None) -> float:
    """The standard deviation the SPEC gives for W (scale 0.01 by default)."""
    if name == "small_random_init":
        return 0.01 if scale is None else scale
    return float(np.sqrt((2 if name == "he_init" else 1) / fan_in))


def _init_case(name, id, fan_in, fan_out, seed, vis, desc, scale=None, stats=True):
    kwargs = {} if scale is None else {"scale": scale}
    steps = []
    if seed is not None:
        steps.append(call("numpy.random.default_rng", seed, assign="rng"))
        kwargs["rng"] = ref("rng")
    steps.append(call(f"weight_init.{name}", fan_in, fan_out, assign="W", **kwargs))
    std = _init_std(name, fan_in, scale)
    return Case(id=f"{name}/{id}", function=f"weight_init.{name}", inputs={}, steps=steps,
                checks=[prop("W", "normal_weights", shape=(fan_in, fan_out), std=std,
                             stats=stats)],
                visibility=vis, description=desc)


def _same_seed_case(name) -> Case:
    steps = [call("numpy.random.default_rng", 5, assign="rng_a"),
             call("numpy.random.default_rng", 5, assign="rng_b"),
             call(f"weight_init.{name}", 30, 20, rng=ref("rng_a"), assign="W_a"),
             call(f"weight_init.{name}", 30, 20, rng=ref("rng_b"), assign="W_b"),
             call("numpy.stack", [ref("W_a"), ref("W_b")], assign="pair")]
    return Case(id=f"{name}/uses-rng", function=f"weight_init.{name}", inputs={}, steps=steps,
                checks=[prop("pair", "same_draws")], visibility="hidden",
                description="two generators with the same seed give the same weights")


def weight_init_cases() -> list[Case]:
    """Shapes and statistics; fan_in 500 vs fan_out 300 and the reverse catch a swapped fan."""
    cases = []
    for name in INITS:
        scale = 0.05 if name == "small_random_init" else None
        cases += [
            _init_case(name, "500x300", 500, 300, 11, "public",
                       "W (500, 300): mean 0, standard deviation of the formula"),
            _init_case(name, "300x500", 300, 500, 12, "hidden",
                       "W (300, 500): the standard deviation depends on fan_in only",
                       scale=scale),
            _init_case(name, "tall-1000x20", 1000, 20, 13, "hidden",
                       "W (1000, 20): fan_in much larger than fan_out"),
            _init_case(name, "no-rng", 400, 100, None, "hidden",
                       "rng=None: a fresh generator is used"),
            _init_case(name, "tiny-3x1", 3, 1, 14, "public", "W (3, 1): shape (fan_in, fan_out)",
                       stats=False),
            _same_seed_case(name),
        ]
    return cases


# ----------------------------------------------------------------------------- normalization
def _bn_inputs(seed, n, d, scale=1.0, dtype=np.float64) -> dict:
    rng = _rng(seed)
    x = scale * (rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + rng.uniform(-2, 2, d))
    return {"x": x.astype(dtype), "gamma": rng.uniform(0.5, 2, d).astype(dtype),
            "beta": rng.standard_normal(d).astype(dtype),
            "dout": rng.standard_normal((n, d)).astype(dtype)}


BN_ARGS = [ref("x"), ref("gamma"), ref("beta")]
RUNNING = ["running_mean", "running_var"]


def _bn_forward(id, inputs, bn_param, vis, desc, tol=None, running=True):
    """One forward call; with `running`, also the running averages left in bn_param."""
    steps = [call("normalization.batchnorm_forward", *BN_ARGS, ref("bn_param"),
                  assign=["out", "cache"])]
    names = ["out"]
    if running:
        steps += [call("bn_param.get", key, assign=key) for key in RUNNING]
        names += RUNNING
    return Case(id=f"batchnorm_forward/{id}", function="normalization.batchnorm_forward",
                inputs={"x": inputs["x"], "gamma": inputs["gamma"], "beta": inputs["beta"],
                        "bn_param": bn_param},
                steps=steps, checks=[close(n, **(tol or {})) for n in names],
                visibility=vis, description=desc)


def _bn_train_then_test(id, seed, bn_param, vis, desc, dtype=np.float64, tol=None) -> Case:
    """Three train steps on different batches, then test mode with the running averages."""
    batches = [_bn_inputs(seed + k, 7, 3, dtype=dtype) for k in range(4)]
    gamma, beta = batches[0]["gamma"], batches[0]["beta"]
    inputs = {"gamma": gamma, "beta": beta, "bn_param": bn_param}
    steps = []
    for k, batch in enumerate(batches):
        inputs[f"x{k}"] = batch["x"]
        if k == 3:
            steps.append(call("bn_param.__setitem__", "mode", "test"))
        steps.append(call("normalization.batchnorm_forward", ref(f"x{k}"), ref("gamma"),
                          ref("beta"), ref("bn_param"), assign=[f"out{k}", f"cache{k}"]))
        if k == 2:
            steps += [call("bn_param.get", key, assign=key) for key in RUNNING]
    checks = [close("out2", **(tol or {})), close("out3", **(tol or {})),
              *[close(key, **(tol or {}), dtype="any") for key in RUNNING]]
    return Case(id=f"batchnorm_forward/{id}", function="normalization.batchnorm_forward",
                inputs=inputs, steps=steps, checks=checks, visibility=vis, description=desc)


def _norm_backward(kind, fn, id, inputs, param, vis, desc, tol=None):
    forward = f"normalization.{kind}_forward"
    steps = [call(forward, *BN_ARGS, param, assign=["out", "cache"]),
             call(f"normalization.{fn}", ref("dout"), ref("cache"),
                  assign=["dx", "dgamma", "dbeta"])]
    return with_consistency(
        Case(id=f"{fn}/{id}", function=f"normalization.{fn}", inputs=inputs, steps=steps,
             checks=[*[close(g, **(tol or {})) for g in ("dx", "dgamma", "dbeta")],
                     context("out", forward, **(tol or {}))],
             visibility=vis, description=desc),
        forward, [*BN_ARGS, param])


def _norm_numeric(kind, fn, inputs, param, seed) -> Case:
    return numeric_gradient_case(
        id=f"{fn}/numeric-gradient", function=f"normalization.{fn}",
        forward=f"normalization.{kind}_forward", forward_args=[*BN_ARGS, param],
        backward_steps=[call(f"normalization.{fn}", ref("dout"), ref("cache"),
                             assign=["dx", "dgamma", "dbeta"])],
        inputs=inputs, grads={"x": "dx", "gamma": "dgamma", "beta": "dbeta"}, seed=seed,
        description="dx, dgamma and dbeta against central differences of your forward pass")


def _backward_set(kind, fn, seed, param) -> list[Case]:
    return [
        _norm_backward(kind, fn, "random", _bn_inputs(seed, 5, 3), param, "public",
                       "x (5, 3): all three gradients"),
        _norm_backward(kind, fn, "tall-9x4", _bn_inputs(seed + 1, 9, 4), param, "hidden",
                       "x (9, 4): sums over the right axis"),
        _norm_backward(kind, fn, "wide-2x7", _bn_inputs(seed + 2, 2, 7), param, "hidden",
                       "x (2, 7): fewer samples than features"),
        _norm_backward(kind, fn, "float32", _bn_inputs(seed + 3, 6, 4, dtype=np.float32),
                       param, "hidden", "float32 inputs: the gradients stay float32",
                       {"rtol": 1e-3, "atol": 1e-4}),
        _norm_numeric(kind, fn, _bn_inputs(seed + 4, 4, 3), param, seed),
    ]


def batchnorm_cases() -> list[Case]:
    """Train and test mode, running averages over several steps, both backward passes."""
    train = {"mode": "train"}
    cases = [
        _bn_forward("train-step", _bn_inputs(400, 6, 4), dict(train), "public",
                    "one train step: batch statistics; running averages from zeros and ones"),
        _bn_forward("test-mode", _bn_inputs(401, 5, 3),
                    {"mode": "test", "running_mean": np.array([0.5, -1.0, 2.0]),
                     "running_var": np.array([2.0, 0.5, 1.5])}, "public",
                    "test mode normalizes with the given running averages", running=False),
        _bn_forward("small-variance", _bn_inputs(402, 8, 3, scale=1e-3), dict(train),
                    "hidden", "features with variance near eps: eps goes inside the sqrt"),
        _bn_forward("tall-9x2", _bn_inputs(403, 9, 2), {"mode": "train", "momentum": 0.5,
                                                        "eps": 1e-3}, "hidden",
                    "x (9, 2), momentum 0.5, eps 1e-3 from bn_param; biased variance"),
        _bn_forward("test-mode-no-running", _bn_inputs(406, 4, 5), {"mode": "test"}, "hidden",
                    "test mode before any train step: the running averages start as zeros "
                    "and ones", running=False),
        _bn_forward("float32-running-created", _bn_inputs(405, 6, 3, dtype=np.float32),
                    {"mode": "train"}, "hidden", "float32 input and no running averages yet: "
                    "they are created as float32 zeros and ones, and stay float32", tol=F32),
        _bn_train_then_test("running-averages", 410, {"mode": "train"}, "hidden",
                            "three train steps (default momentum 0.9), then test mode "
                            "with the running averages"),
        _bn_train_then_test("momentum-0.7", 420, {"mode": "train", "momentum": 0.7}, "hidden",
                            "momentum 0.7: running = momentum * running + (1 - momentum) * "
                            "batch statistic"),
        _bn_train_then_test("float32", 430, {"mode": "train"}, "hidden",
                            "float32 inputs: the outputs stay float32, in train and test mode",
                            dtype=np.float32, tol={"rtol": 1e-3, "atol": 1e-5}),
    ]
    cases += _backward_set("batchnorm", "batchnorm_backward", 440, {"mode": "train"})
    cases += _backward_set("batchnorm", "batchnorm_backward_alt", 450, {"mode": "train"})
    return cases


def _ln_forward(id, inputs, ln_param, vis, desc, tol=None):
    return Case(id=f"layernorm_forward/{id}", function="normalization.layernorm_forward",
                inputs={k: inputs[k] for k in ("x", "gamma", "beta")},
                steps=[call("normalization.layernorm_forward", *BN_ARGS, ln_param,
                            assign=["out", "cache"])],
                checks=[close("out", **(tol or {}))], visibility=vis, description=desc)


def layernorm_cases() -> list[Case]:
    """Per-sample statistics: batch size 1, non-square shapes, eps inside the sqrt."""
    def rowwise(seed, n, d, scale=1.0):
        inputs = _bn_inputs(seed, d, n, scale=scale)
        inputs["x"] = np.ascontiguousarray(inputs["x"].T)
        rng = _rng(seed + 50)
        inputs.update(gamma=rng.uniform(0.5, 2, d), beta=rng.standard_normal(d))
        return inputs

    return [
        _ln_forward("random", rowwise(500, 4, 6), {}, "public",
                    "x (4, 6): statistics per sample, over the features"),
        _ln_forward("batch-of-one", rowwise(501, 1, 7), {}, "public",
                    "a single sample (1, 7)"),
        _ln_forward("tall-8x3", rowwise(502, 8, 3), {"eps": 1e-3}, "hidden",
                    "x (8, 3) with eps 1e-3: per sample, not per feature"),
        _ln_forward("small-variance", rowwise(503, 3, 5, scale=1e-3), {}, "hidden",
                    "samples with variance near eps: eps goes inside the sqrt"),
        _ln_forward("float32", _bn_inputs(504, 5, 4, dtype=np.float32), {}, "hidden",
                    "float32 inputs: the output stays float32", F32),
        *_backward_set("layernorm", "layernorm_backward", 510, {}),
    ]


# ----------------------------------------------------------------------------- dropout
def _dropout_diagnosis(param, forward_first=False, tol=None) -> Diagnosis | None:
    """For a seeded train-mode case: the known mistake that gives the submission's mask."""
    if param.get("mode") != "train" or "seed" not in param:
        return None
    return Diagnosis("dropout", ("out",), {"p": param["p"], "seed": param["seed"],
                                           "forward_first": forward_first})


def _dropout_forward(id, x, param, checks, vis, desc):
    return Case(id=f"dropout_forward/{id}", function="regularization.dropout_forward",
                inputs={"x": x, "dropout_param": param},
                steps=[call("regularization.dropout_forward", ref("x"), ref("dropout_param"),
                            assign=["out", "cache"])],
                checks=checks, visibility=vis, description=desc,
                diagnosis=_dropout_diagnosis(param))


def _dropout_backward(id, x, dout, param, vis, desc, tol=None):
    """dx after the submission's own forward pass; its `out` is compared too, to name
    dropout_forward when that is what is wrong."""
    case = Case(id=f"dropout_backward/{id}", function="regularization.dropout_backward",
                inputs={"x": x, "dout": dout, "dropout_param": param},
                steps=[call("regularization.dropout_forward", ref("x"), ref("dropout_param"),
                            assign=["out", "cache"]),
                       call("regularization.dropout_backward", ref("dout"), ref("cache"),
                            assign="dx")],
                checks=[close("dx", **(tol or {})),
                        context("out", "regularization.dropout_forward", **(tol or {}))],
                visibility=vis, description=desc,
                diagnosis=_dropout_diagnosis(param, forward_first=True))
    return with_consistency(case, "regularization.dropout_forward",
                            [ref("x"), ref("dropout_param")])


def dropout_cases() -> list[Case]:
    """The seeded recipe exactly; keep rate, 1/p scaling and test mode by properties; any
    shape (images (N, C, H, W) and a 3-D input, not only (N, D))."""
    rng = _rng(600)
    x = rng.standard_normal((50, 40))
    big = rng.uniform(0.5, 1.5, (200, 300)) * rng.choice([-1, 1], (200, 300))
    dout = rng.standard_normal((50, 40))
    hidden = _rng(610)  # hidden cases draw their own inputs: none is a public one transformed
    xh, douth = hidden.standard_normal((30, 20)), hidden.standard_normal((30, 20))
    x32, dout32 = (hidden.standard_normal((40, 25)).astype(np.float32) for _ in range(2))
    big_h = hidden.uniform(0.5, 1.5, (150, 400)) * hidden.choice([-1, 1], (150, 400))
    images = hidden.standard_normal((6, 3, 5, 4))
    images_big = hidden.uniform(0.5, 1.5, (40, 3, 10, 10)) * hidden.choice([-1, 1],
                                                                         (40, 3, 10, 10))
    dout_images = hidden.standard_normal((6, 3, 5, 4))
    cube, dout_cube = hidden.standard_normal((4, 3, 6)), hidden.standard_normal((4, 3, 6))
    return [
        _dropout_forward("seeded", x, {"p": 0.7, "mode": "train", "seed": 3},
                         [close("out")], "public",
                         "train mode, p = 0.7 (keep), seed 3: the SPEC's recipe exactly"),
        _dropout_forward("test-mode", x, {"p": 0.7, "mode": "test"},
                         [prop("out", "equals_input", x=ref("x"))], "public",
                         "test mode: out = x, nothing scaled"),
        _dropout_forward("keep-rate", big_h, {"p": 0.8, "mode": "train", "seed": 21},
                         [prop("out", "dropout_train", x=ref("x"), p=0.8)], "hidden",
                         "p = 0.8 is the probability of KEEPING a unit; kept units scaled 1/p"),
        _dropout_forward("no-seed", big, {"p": 0.35, "mode": "train"},
                         [prop("out", "dropout_train", x=ref("x"), p=0.35)], "hidden",
                         "no seed given: about 35 % kept, each scaled by 1 / 0.35"),
        _dropout_forward("keep-all", xh, {"p": 1.0, "mode": "train", "seed": 4},
                         [prop("out", "equals_input", x=ref("x"))], "hidden",
                         "p = 1 keeps every unit unchanged"),
        _dropout_forward("float32", x32, {"p": 0.6, "mode": "train", "seed": 5},
                         [close("out", **F32)], "hidden",
                         "float32 input: the output stays float32"),
        _dropout_forward("images-seeded", images, {"p": 0.6, "mode": "train", "seed": 9},
                         [close("out")], "hidden",
                         "images (6, 3, 5, 4), seed 9: one draw per unit, "
                         "rng.random(x.shape) for any shape"),
        _dropout_forward("images-keep-rate", images_big, {"p": 0.5, "mode": "train"},
                         [prop("out", "dropout_train", x=ref("x"), p=0.5)], "hidden",
                         "images (40, 3, 10, 10), no seed: every unit kept or dropped on "
                         "its own, about half kept"),
        _dropout_forward("images-test-mode", images, {"p": 0.3, "mode": "test"},
                         [prop("out", "equals_input", x=ref("x"))], "hidden",
                         "images in test mode: out = x"),
        _dropout_forward("3d-seeded", cube, {"p": 0.45, "mode": "train", "seed": 12},
                         [close("out")], "hidden", "a (4, 3, 6) input, seed 12"),
        _dropout_backward("seeded", x, dout, {"p": 0.7, "mode": "train", "seed": 3}, "public",
                          "train mode: dx = dout * mask"),
        _dropout_backward("test-mode", xh, douth, {"p": 0.7, "mode": "test"}, "hidden",
                          "test mode: dx = dout"),
        _dropout_backward("float32", x32, dout32, {"p": 0.4, "mode": "train", "seed": 6},
                          "hidden", "float32 inputs: the gradient stays float32", F32),
        _dropout_backward("images", images, dout_images,
                          {"p": 0.55, "mode": "train", "seed": 13}, "hidden",
                          "images (6, 3, 5, 4): dx = dout * mask, mask of x's shape"),
        _dropout_backward("3d", cube, dout_cube, {"p": 0.8, "mode": "train", "seed": 14},
                          "hidden", "a (4, 3, 6) input"),
        numeric_gradient_case(
            id="dropout_backward/numeric-gradient", function="regularization.dropout_backward",
            forward="regularization.dropout_forward",
            forward_args=[ref("x"), {"p": 0.6, "mode": "train", "seed": 8}],
            backward_steps=[call("regularization.dropout_backward", ref("dout"),
                                 ref("cache"), assign="dx")],
            inputs={"x": rng.standard_normal((6, 5)), "dout": rng.standard_normal((6, 5))},
            grads={"x": "dx"}, seed=4,
            description="dx against central differences of your forward pass (fixed seed)"),
    ]


def _penalty(name, id, W, reg, vis, desc, tol=None):
    return Case(id=f"{name}/{id}", function=f"regularization.{name}",
                inputs={"W": W},
                steps=[call(f"regularization.{name}", ref("W"), reg, assign=["loss", "dW"])],
                checks=[close("loss", **(tol or {}), dtype="any"), close("dW", **(tol or {}))],
                visibility=vis, description=desc)


def penalty_cases() -> list[Case]:
    """L2 and L1: the loss (a float) and its gradient."""
    rng = _rng(700)
    W = rng.standard_normal((4, 6))
    W3 = rng.standard_normal((3, 2, 5))
    Wz = _with_zeros(701, (6, 3))
    W32 = _rng(702).standard_normal((5, 4)).astype(np.float32)
    cases = []
    for name in ("l2_regularization", "l1_regularization"):
        cases += [
            _penalty(name, "random", W, 0.1, "public", "W (4, 6), reg 0.1"),
            _penalty(name, "3d-weights", W3, 2.5, "public", "W of shape (3, 2, 5), reg 2.5"),
            _penalty(name, "exact-zeros", Wz, 0.3, "hidden",
                     "W with exact zeros" + (": sign(0) = 0" if name[1] == "1" else "")),
            _penalty(name, "float32", W32, 0.05, "hidden",
                     "float32 W: dW stays float32", F32),
        ]
    return cases


def ema_cases() -> list[Case]:
    """Polyak averaging: first step, several steps, a new key, inputs left alone."""
    rng = _rng(800)
    shapes = {"W": (3, 4), "b": (4,)}

    def params(seed, dtype=np.float64):
        r = _rng(seed)
        return {k: r.standard_normal(s).astype(dtype) for k, s in shapes.items()}

    def case(id, ema, steps_params, decay, vis, desc, tol=None):
        inputs = {"ema0": ema}
        steps = []
        for k, p in enumerate(steps_params):
            inputs[f"params{k}"] = p
            args = [ref(f"ema{k}"), ref(f"params{k}")] + ([] if decay is None else [decay])
            steps.append(call("regularization.ema_update", *args, assign=f"ema{k + 1}"))
        last = f"ema{len(steps_params)}"
        steps += [call(f"{last}.get", key, assign=f"avg_{key}") for key in shapes]
        checks = [prop(last, "dict_keys", keys=list(shapes)),
                  *[close(f"avg_{key}", **(tol or {})) for key in shapes],
                  prop("ema0", "unchanged_dict", original=ref("ema0")),
                  prop("params0", "unchanged_dict", original=ref("params0"))]
        return Case(id=f"ema_update/{id}", function="regularization.ema_update", inputs=inputs,
                    steps=steps, checks=checks, visibility=vis, description=desc)

    partial = {"W": rng.standard_normal((3, 4))}
    return [
        case("first-step", {}, [params(801)], 0.9, "public",
             "empty ema: every average starts at the parameter's value"),
        case("one-step", params(802), [params(803)], 0.9, "public",
             "decay 0.9: 0.9 * ema + 0.1 * params"),
        case("many-steps", {}, [params(810 + k) for k in range(6)], None, "hidden",
             "six steps with the default decay 0.995"),
        case("new-key", partial, [params(820), params(821)], 0.8, "hidden",
             "a key missing from ema starts at the parameter's value; ema is not modified"),
        case("float32", params(830, np.float32), [params(831, np.float32)], 0.7, "hidden",
             "float32 arrays stay float32", F32),
    ]


# ----------------------------------------------------------------------------- augmentation
def _images(seed, shape, dtype=np.float64, offsets=False) -> np.ndarray:
    """Random images without zeros or symmetric images; with offsets, per-image means differ."""
    rng = _rng(seed)
    x = rng.uniform(0.1, 1.0, shape) * rng.choice([-1, 1], shape)
    if offsets:
        x = x + rng.uniform(-3, 3, (shape[0], 1, 1, 1))
    return x.astype(dtype)


def _augment(name, id, x, kwargs, check, vis, desc, seed=7):
    return Case(id=f"{name}/{id}", function=f"regularization.{name}", inputs={"x": x},
                steps=[call("numpy.random.default_rng", seed, assign="rng"),
                       call(f"regularization.{name}", ref("x"), ref("rng"), assign="out",
                            **kwargs)],
                checks=[check], visibility=vis, description=desc)


def augmentation_cases() -> list[Case]:
    """The four augmentations, judged by what any correct draw must look like."""
    many, few = _images(900, (400, 2, 5, 6)), _images(901, (6, 3, 4, 4))
    crop_many, crop32 = _images(902, (500, 1, 6, 7)), _images(903, (300, 2, 4, 5), np.float32)
    shifted = _images(904, (400, 2, 6, 5), offsets=True)
    flat = _images(905, (60, 3, 8, 8), offsets=True)
    # Hidden cases take images of their own: none is a public case's, cast or sliced.
    many_h, few_h = _images(910, (400, 2, 5, 6)), _images(911, (6, 3, 4, 4))
    crop_h = _images(912, (500, 1, 6, 7))
    shifted_h = _images(914, (400, 2, 6, 5), offsets=True)

    def flip(p):
        return prop("out", "flipped", x=ref("x"), p=p)

    def crop(padding, all_offsets=True):
        return prop("out", "cropped", x=ref("x"), padding=padding, all_offsets=all_offsets)

    def contrast(low, high, spread=True):
        return prop("out", "contrasted", x=ref("x"), low=low, high=high, spread=spread)

    def noise(std):
        return prop("out", "noised", x=ref("x"), std=std)

    return [
        _augment("random_horizontal_flip", "default-p", many, {}, flip(0.5), "public",
                 "400 images, p = 0.5: each is itself or mirrored along W, about half flipped"),
        _augment("random_horizontal_flip", "p-0.2", many_h, {"p": 0.2}, flip(0.2), "hidden",
                 "p = 0.2 is the probability of flipping, drawn independently per image"),
        _augment("random_horizontal_flip", "never", few_h, {"p": 0.0}, flip(0.0), "hidden",
                 "p = 0: no image is flipped"),
        _augment("random_horizontal_flip", "always", few, {"p": 1.0}, flip(1.0), "public",
                 "p = 1: every image is mirrored along W (the last axis)"),
        _augment("random_horizontal_flip", "float32", many_h.astype(np.float32), {"p": 0.7},
                 flip(0.7), "hidden", "float32 images stay float32"),
        _augment("random_crop", "default-padding", crop_many, {}, crop(2), "public",
                 "500 images (1, 6, 7), padding 2: each a window of the zero-padded image, "
                 "all 25 offsets used"),
        _augment("random_crop", "padding-1", crop_h, {"padding": 1}, crop(1), "hidden",
                 "padding 1: offsets 0, 1, 2 in both directions, independently per image"),
        _augment("random_crop", "no-padding", few_h, {"padding": 0}, crop(0), "hidden",
                 "padding 0: the output equals the input"),
        _augment("random_crop", "float32", crop32, {"padding": 1}, crop(1), "hidden",
                 "float32 images (2, 4, 5) stay float32"),
        _augment("random_crop", "few-images", few, {"padding": 3}, crop(3, all_offsets=False),
                 "public", "six images, padding 3: each a window of its own padded image"),
        _augment("random_contrast", "default-range", shifted, {}, contrast(0.8, 1.2),
                 "public", "400 images with different means: each keeps its own mean"),
        _augment("random_contrast", "wide-range", shifted_h, {"low": 0.2, "high": 3.0},
                 contrast(0.2, 3.0), "hidden",
                 "factors drawn uniformly from [0.2, 3.0], one per image"),
        _augment("random_contrast", "fixed-factor", flat, {"low": 1.5, "high": 1.5},
                 contrast(1.5, 1.5), "public", "low = high = 1.5: every image scaled by 1.5"),
        _augment("random_contrast", "float32", shifted_h.astype(np.float32),
                 {"low": 0.5, "high": 1.5}, contrast(0.5, 1.5), "hidden",
                 "float32 images stay float32"),
        _augment("add_gaussian_noise", "default-std", many, {}, noise(0.1), "public",
                 "std 0.1: noise with mean 0 and standard deviation 0.1"),
        _augment("add_gaussian_noise", "std-0.5", crop_h, {"std": 0.5}, noise(0.5),
                 "hidden", "std 0.5: the variance is std ** 2, independent per pixel"),
        _augment("add_gaussian_noise", "zero-std", few, {"std": 0.0}, noise(0.0), "public",
                 "std 0: the output equals the input"),
        _augment("add_gaussian_noise", "float32", many_h.astype(np.float32), {"std": 0.2},
                 noise(0.2), "hidden", "float32 images stay float32"),
    ]


# ----------------------------------------------------------------------------- early stopping
def _early_stopping(id, patience, metrics, vis, desc) -> Case:
    steps = [call("regularization.EarlyStopping", patience, assign="es")]
    checks = []
    for i, metric in enumerate(metrics):
        steps += [call("es.step", metric, assign=f"stop{i}"),
                  attr("es.best_epoch", assign=f"best{i}")]
        checks += [Check(value=f"stop{i}", kind="exact",
                         label=f"`step({metric})`, call {i} (0-based)"),
                   Check(value=f"best{i}", kind="exact",
                         label=f"`best_epoch` after call {i} (0-based)")]
    return Case(id=f"EarlyStopping/{id}", function="regularization.EarlyStopping", inputs={},
                steps=steps, checks=checks, visibility=vis, description=desc)


def early_stopping_cases() -> list[Case]:
    """Sequences of metrics: ties, patience boundaries, improvements after bad steps."""
    return [
        _early_stopping("spec-example", 2, [0.5, 0.6, 0.55, 0.58], "public",
                        "SPEC's example: False, False, False, True, best_epoch 1"),
        _early_stopping("patience-1", 1, [0.1, 0.2, 0.15, 0.3, 0.25], "public",
                        "patience 1: True right after a call that does not improve"),
        _early_stopping("ties", 2, [0.5, 0.5, 0.5, 0.5], "hidden",
                        "equal metrics do not improve: best_epoch stays 0"),
        _early_stopping("recovers", 3, [0.3, 0.2, 0.25, 0.4, 0.39, 0.4, 0.38, 0.41, 0.1],
                        "hidden", "patience 3: an improvement resets the count"),
        _early_stopping("negative-metrics", 2, [-2.0, -1.5, -1.7, -1.5, -1.2, -1.3, -1.4],
                        "hidden", "negative metrics (e.g. minus a loss): the first call "
                        "always improves"),
    ]


# ----------------------------------------------------------------------------- optimizers
OPTIM_DEFAULTS = {
    "sgd": ({"learning_rate": 1e-2}, []),
    "sgd_momentum": ({"learning_rate": 1e-2, "momentum": 0.9}, ["velocity"]),
    "nesterov_momentum": ({"learning_rate": 1e-2, "momentum": 0.9}, ["velocity"]),
    "adagrad": ({"learning_rate": 1e-2, "epsilon": 1e-7}, ["grad_squared"]),
    "rmsprop": ({"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
                ["grad_squared"]),
    "adam": ({"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
              "weight_decay": 0.0}, ["m", "v", "t"]),
    "adamw": ({"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
               "weight_decay": 1e-2, "schedule_multiplier": 1.0}, ["m", "v", "t"]),
}

CUSTOM = {
    "sgd": {"learning_rate": 0.05},
    "sgd_momentum": {"learning_rate": 0.05, "momentum": 0.8},
    "nesterov_momentum": {"learning_rate": 0.05, "momentum": 0.7},
    "adagrad": {"learning_rate": 0.1, "epsilon": 1e-6},
    "rmsprop": {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6},
    "adam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
    "adamw": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6,
              "weight_decay": 0.05, "schedule_multiplier": 0.5},
}

EXTRA = {  # a hidden case each, for the hyper-parameters the other cases leave alone
    "adam": ("weight-decay", {"learning_rate": 0.02, "weight_decay": 0.1},
             "coupled L2: the gradient becomes dw + weight_decay * w before the moments"),
    "adamw": ("lr-not-scaling-decay", {"learning_rate": 0.5, "weight_decay": 0.02},
              "decoupled decay: w -= eta (lr mhat / (sqrt(vhat) + eps) + wd w), the decay "
              "not multiplied by lr"),
}


def _optim_case(rule, id, steps_count, config, vis, desc, seed, shape=(4, 5),
                grad_scale=1.0, dtype=np.float64, tol=None, defaults=False,
                changes=None) -> Case:
    """`steps_count` calls with the config threaded through; checks the last weights.

    `changes` maps a call's index to config entries set just before it (a learning rate
    changed by a schedule). After each call the worker copies the config (`state1`, ...):
    when the last weights are wrong, the diagnosis finds the first call and piece of
    state that differ, and the known mistake that explains them (diagnoses.py).
    """
    rng = _rng(seed)
    inputs = {"w0": rng.standard_normal(shape).astype(dtype), "config0": config}
    steps, changes = [], changes or {}
    for k in range(steps_count):
        scale = grad_scale * rng.uniform(0.2, 2.0)
        inputs[f"dw{k}"] = (scale * rng.standard_normal(shape)).astype(dtype)
        for key, value in changes.get(k, {}).items():
            steps.append(call(f"config{k}.__setitem__", key, value))
        steps.append(call(f"optim.{rule}", ref(f"w{k}"), ref(f"dw{k}"), ref(f"config{k}"),
                          assign=[f"w{k + 1}", f"config{k + 1}"]))
        steps.append(call("probe.snapshot", ref(f"config{k + 1}"), assign=f"state{k + 1}"))
    last = f"w{steps_count}"
    checks = [close(last, **(tol or {}))]
    if defaults:
        values, state = OPTIM_DEFAULTS[rule]
        checks.append(prop(f"config{steps_count}", "config_defaults", defaults=values,
                           state=state))
    traced = tuple(n for k in range(1, steps_count + 1) for n in (f"w{k}", f"state{k}"))
    diagnosis = Diagnosis("optimizer", traced, {
        "rule": rule, "steps": steps_count, "changes": {str(k): v for k, v in changes.items()},
        **(tol or {})})
    return Case(id=f"{rule}/{id}", function=f"optim.{rule}", inputs=inputs, steps=steps,
                checks=checks, visibility=vis, description=desc, diagnosis=diagnosis)


def optimizer_cases() -> list[Case]:
    """Each rule: defaults, custom hyper-parameters, 30 threaded steps, tiny gradients, float32."""
    cases = []
    for k, rule in enumerate(OPTIM_DEFAULTS):
        seed = 1000 + 10 * k
        adaptive = rule not in ("sgd", "sgd_momentum", "nesterov_momentum")
        cases += [
            _optim_case(rule, "defaults", 2, None, "public",
                        "config None: defaults filled in, state created; two steps",
                        seed, defaults=True),
            _optim_case(rule, "custom-3-steps", 3, dict(CUSTOM[rule]), "public",
                        "hyper-parameters from config; three steps, state carried over",
                        seed + 1),
            _optim_case(rule, "30-steps", 30, dict(CUSTOM[rule]), "hidden",
                        "30 steps with the config passed from one call to the next",
                        seed + 2, shape=(6, 3)),
            _optim_case(rule, "float32", 5, None, "hidden",
                        "float32 weights and gradients: next_w stays float32", seed + 3,
                        dtype=np.float32, tol=F32),
        ]
        if adaptive:
            cases.append(_optim_case(
                rule, "tiny-gradients", 8, None, "hidden",
                "gradients of size 1e-5, where the place of epsilon matters (outside the sqrt)",
                seed + 4, grad_scale=1e-5))
        if rule in EXTRA:
            id, config, desc = EXTRA[rule]
            cases.append(_optim_case(rule, id, 10, config, "hidden", desc, seed + 5))
        cases += [
            _optim_case(rule, "any-shape", 4, dict(CUSTOM[rule]), "hidden",
                        "weights of shape (3, 2, 4) and then (7,): any shape works",
                        seed + 6, shape=(3, 2, 4) if k % 2 else (7,)),
            _optim_case(rule, "resumed-state", 3, _resumed(rule, seed + 7), "hidden",
                        "a config that already holds state (a resumed run): the rule "
                        "continues from it instead of starting afresh", seed + 7),
        ]
        if rule in SCHEDULED:
            key, values = SCHEDULED[rule]
            cases.append(_optim_case(
                rule, "changing-" + key.replace("_", "-"), 8, dict(CUSTOM[rule]), "hidden",
                f"{key} changed between calls (as a schedule does): each call uses the "
                f"current {key}", seed + 8, changes={3: {key: values[0]}, 6: {key: values[1]}}))
    return cases


SCHEDULED = {  # rules whose step must follow a hyper-parameter changed between calls
    "sgd": ("learning_rate", (0.02, 0.2)),
    "sgd_momentum": ("learning_rate", (0.2, 0.01)),
    "nesterov_momentum": ("learning_rate", (0.2, 0.01)),
    "adam": ("learning_rate", (0.05, 0.002)),
    "adamw": ("schedule_multiplier", (0.1, 1.0)),
}


def _resumed(rule: str, seed: int) -> dict:
    """CUSTOM[rule] plus the state a few earlier calls would have left (shape (4, 5))."""
    rng = _rng(seed + 100)
    config = dict(CUSTOM[rule])
    shape = (4, 5)
    for key in OPTIM_DEFAULTS[rule][1]:
        if key == "t":
            config["t"] = 6
        elif key in ("v", "grad_squared"):
            config[key] = rng.uniform(0.1, 2.0, shape)
        else:
            config[key] = rng.standard_normal(shape)
    return config


# ----------------------------------------------------------------------------- schedules
def _schedule(name, id, calls, vis, desc) -> Case:
    """One step per (args, kwargs) in `calls`, each result checked with its own label."""
    steps, checks = [], []
    for i, (args, kwargs) in enumerate(calls):
        steps.append(call(f"schedules.{name}", *args, assign=f"lr{i}", **kwargs))
        shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        checks.append(Check(value=f"lr{i}", kind="close", rtol=1e-9, atol=1e-15,
                            dtype="any", label=f"`{name}({shown})`"))
    return Case(id=f"{name}/{id}", function=f"schedules.{name}",
                inputs={}, steps=steps, checks=checks, visibility=vis, description=desc)


def schedule_cases() -> list[Case]:
    """Boundaries of the steps, fractional times, several periods."""
    def at(lr0, times, **kw):
        return [((lr0, t), kw) for t in times]

    return [
        _schedule("step_decay", "defaults", at(0.1, [0, 5, 9, 10, 25]), "public",
                  "drop 0.5 every 10 epochs: epochs 0 to 25"),
        _schedule("step_decay", "boundaries", at(1.0, [2, 3, 4, 6, 8], drop=0.1, every=3),
                  "hidden", "every 3 epochs: the drop happens AT epoch 3, not after it"),
        _schedule("step_decay", "fractional", at(0.2, [2.5, 2.999, 3.0, 7.5], every=3),
                  "hidden", "fractional epochs: floor(epoch / every)"),
        _schedule("step_decay", "every-epoch", at(0.3, [0, 1, 4], drop=0.9, every=1),
                  "public", "every = 1: one drop per epoch"),
        _schedule("exponential_decay", "basic", at(0.1, [0, 1, 5, 10], k=0.1), "public",
                  "k = 0.1 at t = 0, 1, 5, 10"),
        _schedule("exponential_decay", "fractional", at(0.5, [0.5, 3.25, 40], k=0.05),
                  "hidden", "fractional and large t"),
        _schedule("exponential_decay", "no-decay", at(0.2, [0, 7], k=0.0), "public",
                  "k = 0: the rate stays lr0"),
        _schedule("exponential_decay", "fast-decay", at(2.0, [0.2, 1, 3], k=1.5), "hidden",
                  "k = 1.5: e^(-k t), not (1 - k)^t"),
        _schedule("inverse_time_decay", "basic", at(0.1, [0, 1, 5, 10], k=0.5), "public",
                  "k = 0.5 at t = 0, 1, 5, 10"),
        _schedule("inverse_time_decay", "fractional", at(1.0, [0.25, 3.5, 100], k=0.02),
                  "hidden", "fractional and large t"),
        _schedule("inverse_time_decay", "no-decay", at(0.3, [0, 9], k=0.0), "public",
                  "k = 0: the rate stays lr0"),
        _schedule("inverse_time_decay", "fast-decay", at(0.5, [0.1, 1, 3], k=10.0), "hidden",
                  "k = 10: lr0 / (1 + k t)"),
        _schedule("cosine_warm_restarts", "first-period",
                  at(0.1, [0, 2.5, 5, 7.5, 9.99], period=10), "public",
                  "one period of 10: from lr0 towards 0"),
        _schedule("cosine_warm_restarts", "restarts",
                  at(0.1, [10, 12.5, 25, 39.5], period=10), "hidden",
                  "t beyond the first period: back to lr0 at each restart (t mod period)"),
        _schedule("cosine_warm_restarts", "fractional-period",
                  at(0.4, [1.25, 2.5, 3.75, 6.0], period=2.5, lr_min=0.01), "hidden",
                  "period 2.5 with fractional t: (t mod period) / period"),
        _schedule("cosine_warm_restarts", "lr-min",
                  at(1.0, [0, 1.5, 3, 4.5, 7], period=3, lr_min=0.1), "public",
                  "lr_min = 0.1 and period 3: lr_min + (lr0 - lr_min) (1 + cos) / 2"),
    ]


# ----------------------------------------------------------------------------- preprocessing
def _prep(name, id, inputs, args, kwargs, outs, vis, desc, tol=None):
    assign = outs if len(outs) > 1 else outs[0]
    return Case(id=f"{name}/{id}", function=f"preprocessing.{name}", inputs=inputs,
                steps=[call(f"preprocessing.{name}", *[ref(a) for a in args], assign=assign,
                            **kwargs)],
                checks=[close(o, **(tol or {})) for o in outs], visibility=vis,
                description=desc)


def preprocessing_cases() -> list[Case]:
    """Fit on the training set, apply to other sets; shapes per channel; float32."""
    rng = _rng(1100)
    imgs = rng.normal(3, 2, (10, 3, 4, 5))
    imgs_test = rng.normal(-1, 5, (4, 3, 4, 5))
    table, table_test = rng.normal(5, 3, (20, 6)), rng.normal(-2, 0.5, (7, 6))
    small = rng.normal(1, 2, (3, 4))
    constant = table.copy()
    constant[:, 2] = 4.0
    mean_img, mean_ch = imgs.mean(axis=0), imgs.mean(axis=(0, 2, 3)).reshape(3, 1, 1)
    mu, sd = table.mean(axis=0), table.std(axis=0)
    # Hidden cases draw their own data: none is a public array cast, sliced or scaled.
    hidden = _rng(1150)
    imgs_h = hidden.normal(-2, 3, (12, 3, 4, 5))
    table_h, table_test_h = hidden.normal(1, 4, (25, 6)), hidden.normal(3, 0.7, (9, 6))
    f32 = hidden.normal(2, 1.5, (8, 3, 4, 5)).astype(np.float32)
    mu_h, sd_h = table_h.mean(axis=0), table_h.std(axis=0)

    def fit_center(id, X, per_channel, vis, desc, tol=None):
        kwargs = {"per_channel": per_channel} if per_channel is not None else {}
        return _prep("fit_center", id, {"X": X}, ["X"], kwargs, ["mean"], vis, desc, tol)

    def apply(name, id, inputs, vis, desc, tol=None):
        return _prep(name, id, inputs, list(inputs), {}, ["out"], vis, desc, tol)

    def fit_std(id, X, vis, desc, tol=None):
        return _prep("fit_standardize", id, {"X": X}, ["X"], {}, ["mean", "std"], vis, desc,
                     tol)

    return [
        fit_center("mean-image", imgs, None, "public", "(10, 3, 4, 5): the mean image (3, 4, 5)"),
        fit_center("per-channel", imgs, True, "public",
                   "per_channel: one mean per channel, shape (3, 1, 1)"),
        fit_center("table", table_h, False, "hidden", "(25, 6) data: one mean per feature"),
        fit_center("float32-per-channel", f32, True, "hidden",
                   "float32 images: the mean stays float32", F32),
        apply("apply_center", "mean-image", {"X": imgs_test, "mean": mean_img}, "public",
              "test images minus the TRAINING mean image"),
        apply("apply_center", "per-channel", {"X": imgs_test, "mean": mean_ch}, "public",
              "a (3, 1, 1) per-channel mean broadcast over (4, 3, 4, 5)"),
        apply("apply_center", "table", {"X": table_test_h, "mean": mu_h}, "hidden",
              "(9, 6) rows minus the (6,) training mean"),
        apply("apply_center", "float32", {"X": f32, "mean": f32.mean(axis=0)},
              "hidden", "float32 data stays float32", F32),
        fit_std("table", table, "public", "(20, 6): per-feature mean and population std"),
        fit_std("constant-feature", constant, "public",
                "a constant feature gets std 1 (no division by zero later)"),
        fit_std("three-samples", small, "hidden",
                "three samples: the population std (divide by N, not N - 1)"),
        fit_std("images", imgs_h, "hidden", "(12, 3, 4, 5): one statistic per pixel and channel"),
        fit_std("float32", table_h.astype(np.float32), "hidden",
                "float32 data: mean and std stay float32", F32),
        _prep("fit_standardize", "custom-eps", {"X": table_h * [1, 0.01, 1, 0.2, 1, 1]}, ["X"],
              {"eps": 0.5}, ["mean", "std"], "hidden",
              "eps = 0.5: every feature whose std is below eps gets std 1"),
        apply("apply_standardize", "table", {"X": table_test, "mean": mu, "std": sd},
              "public", "test rows with the TRAINING mean and std"),
        apply("apply_standardize", "images",
              {"X": imgs_test, "mean": imgs.mean(axis=0), "std": imgs.std(axis=0)},
              "public", "images (4, 3, 4, 5) with per-pixel statistics"),
        apply("apply_standardize", "one-row", {"X": table_test_h[:1], "mean": mu_h, "std": sd_h},
              "hidden", "a single row (1, 6)"),
        apply("apply_standardize", "float32",
              {"X": table_test_h.astype(np.float32), "mean": mu_h.astype(np.float32),
               "std": sd_h.astype(np.float32)}, "hidden", "float32 data stays float32", F32),
    ]


# ----------------------------------------------------------------------------- overflow
RAISE = call("numpy.seterr", over="raise", invalid="raise", assign="fp_saved")
RESTORE = call("numpy.seterr", divide="warn", over="warn", under="ignore", invalid="warn")


def overflow_cases() -> list[Case]:
    """Sigmoid and ELU at +-1000 with NumPy raising on overflow (SPEC: no overflow)."""
    x = np.array([[-1000.0, -745.0, -100.0, 0.0], [100.0, 745.0, 1000.0, -1.0]])
    dout = _rng(1200).standard_normal(x.shape)
    desc = ("x = +-1000 with NumPy set to raise on overflow: never compute e^t for a "
            "large positive t")
    cases = []
    for name, alpha in (("sigmoid", None), ("elu", 1.0)):
        forward = call(f"activations.{name}_forward", ref("x"), *_extra(alpha),
                       assign=["out", "cache"])
        backward = call(f"activations.{name}_backward", ref("dout"), ref("cache"), assign="dx")
        for fn, steps, value in (("forward", [RAISE, forward, RESTORE], "out"),
                                 ("backward", [forward, RAISE, backward, RESTORE], "dx")):
            cases.append(Case(id=f"{name}_{fn}/no-overflow", function=f"activations.{name}_{fn}",
                              inputs={"x": x, "dout": dout} if fn == "backward" else {"x": x},
                              steps=steps, checks=[close(value)], visibility="hidden",
                              description=desc))
    return cases


# ----------------------------------------------------------------------------- reference helpers
# The harness builds the torch cases' data (the digits split) and the mode-connectivity
# endpoints with modules of the reference solution, imported by path: the folder named by
# `solutions` in this assignment's toml (also in the staged Gradescope autograder).
ASSIGNMENT_DIR = Path(__file__).resolve().parent


@functools.cache
def _reference(module: str) -> ModuleType:
    """The reference solution's `module` (a file without relative imports), by path."""
    toml = tomllib.loads((ASSIGNMENT_DIR / "assignment.toml").read_text())
    path = (ASSIGNMENT_DIR / toml["solutions"] / f"{module}.py").resolve()
    spec = importlib.util.spec_from_file_location(f"_training_dnn_reference_{module}", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


@functools.cache
def _digits(seed: int) -> dict:
    """The digits split of nntrain.data.load_digits(seed), images as float32 (N, 1, 8, 8).
    Loading it imports scikit-learn (about a second): the cases below ask for it only when
    they are first run or judged (`LazyInputs`, `_lazy_prop`), so that generating the cases,
    or grading only NumPy questions, does not pay for it."""
    return _reference("data").load_digits(seed=seed, dtype=np.float32)


def _lazy_prop(value: str, fn: str, params, label: str | None = None,
               returned: tuple[str, ...] = ()) -> Check:
    """`prop` whose parameters (held-out labels, say) `params()` makes when first judged;
    `returned` names the worker values among them (`got(...)`)."""
    return Check(value=value, kind="property", fn=fn, params=LazyInputs(params, returned),
                 label=label)


# Steps after training: the model's weights replaced by a fresh model's, then predict
# again. Predictions that do not change were not computed with the model (a lookup of
# the public digits, a nearest-neighbour search): no accuracy points for them.
def _fresh_weights_steps(X: str) -> list[Step]:
    return [_make("fresh"), call("fresh.state_dict", assign="fresh_state"),
            call("model.load_state_dict", ref("fresh_state")),
            call("torch_tasks.predict", ref("model"), ref(X), assign="pred_fresh")]


def _trained_accuracy(threshold: float, trained: bool, label: str) -> Check:
    """Held-out accuracy >= threshold of predictions that depend on the weights (and,
    with `trained`, of a model whose weights training changed)."""
    def params():
        extra = {"before": got("state_before"), "after": got("state_after")} if trained else {}
        return {"labels": _digits(HIDDEN_SPLIT)["y_test"], "threshold": threshold,
                "fresh": got("pred_fresh"), **extra}
    returned = ("pred_fresh", "state_before", "state_after") if trained else ("pred_fresh",)
    return _lazy_prop("pred", "model_accuracy_at_least", params, label=label,
                      returned=returned)


# ----------------------------------------------------------------------------- torch_tasks
TORCH_SECONDS = 120   # one training run takes ~2 s on one idle core; room for a loaded one
IMPORT_SECONDS = 60   # the first case of a module imports torch in the worker (~2 s idle)
HIDDEN_SPLIT = 2      # hidden cases train and test on the split of load_digits(seed=2)
DETERMINISM = "two runs of train with the same seed and initial weights on the CPU must " \
    "give the same model: draw every random number from generators seeded with `seed`"


def _make(assign="model", **kwargs) -> Step:
    """A step building make_model(64, 10, **kwargs) into `assign`."""
    return call("torch_tasks.make_model", 64, 10, assign=assign, **kwargs)


def _train(model, assign, **kwargs) -> Step:
    """A step training the variable `model` on the case's X/y_train and X/y_val."""
    return call("torch_tasks.train", ref(model), ref("X_train"), ref("y_train"), ref("X_val"),
                ref("y_val"), assign=assign, **kwargs)


def _split(data: dict) -> dict:
    """The training and validation arrays of a digits split (the test set left out)."""
    return {k: data[k] for k in ("X_train", "y_train", "X_val", "y_val")}


def _architecture_case(id, args, hidden, keep_prob, vis, desc) -> Case:
    """make_model(*args[, hidden, keep_prob]): its leaf layers, in order (the defaults: None)."""
    kwargs = {} if hidden is None else {"hidden": hidden, "keep_prob": keep_prob}
    hidden, keep_prob = hidden or (128, 64), 0.8 if keep_prob is None else keep_prob
    return Case(
        id=f"make_model/{id}", function="torch_tasks.make_model", inputs={},
        steps=[call("torch_tasks.make_model", *args, assign="model", **kwargs),
               call("probe.module_summary", ref("model"), assign="layers")],
        checks=[prop("layers", "architecture", in_features=args[0], num_classes=args[1],
                     hidden=list(hidden), keep_prob=keep_prob)],
        visibility=vis, seconds=IMPORT_SECONDS, description=desc)


def _he_case(id, hidden, vis, desc) -> Case:
    """A fresh make_model(64, 10[, hidden]): He-normal weights and zero biases."""
    kwargs = {} if hidden is None else {"hidden": hidden}
    sizes = [64, *(hidden or (128, 64)), 10]
    return Case(id=f"make_model/{id}", function="torch_tasks.make_model", inputs={},
                steps=[_make(**kwargs), call("probe.state_arrays", ref("model"), assign="state")],
                checks=[prop("state", "he_initialized", sizes=sizes)],
                visibility=vis, seconds=IMPORT_SECONDS, description=desc)


def torch_model_cases() -> list[Case]:
    """make_model: the layers in order, dropout's p = 1 - keep_prob, He weights, zero biases."""
    return [
        _architecture_case("default-layers", (64, 10), None, None, "public",
                           "make_model(64, 10): Linear, BatchNorm1d, ReLU, Dropout(0.2) twice, "
                           "then Linear"),
        _architecture_case("three-layers-keep0.7", (64, 10), (40, 30, 20), 0.7, "hidden",
                           "hidden=(40, 30, 20), keep_prob=0.7: Dropout(0.3) in each block"),
        _architecture_case("one-layer-other-sizes", (20, 3), (50,), 0.9, "hidden",
                           "make_model(20, 3, hidden=(50,), keep_prob=0.9)"),
        _he_case("he-init-default", None, "public",
                 "fresh make_model(64, 10): weights N(0, 2 / fan_in), biases 0"),
        _he_case("he-init-wide", (256, 128), "hidden",
                 "hidden=(256, 128): weight std sqrt(2 / fan_in) within a few %, biases 0"),
    ]


def _determinism_case() -> Case:
    """Two models with the same initial weights, trained with seed 5 on the CPU."""
    kwargs = {"epochs": 3, "seed": 5, "device": "cpu"}
    steps = [_make("model_a"), _make("model_b"),
             call("model_a.state_dict", assign="initial"),
             call("model_b.load_state_dict", ref("initial")),
             _train("model_a", "history", **kwargs),
             _train("model_b", "history_b", **kwargs),
             call("torch_tasks.predict", ref("model_a"), ref("X_val"), assign="pred_a"),
             call("torch_tasks.predict", ref("model_b"), ref("X_val"), assign="pred_b"),
             call("numpy.stack", [ref("pred_a"), ref("pred_b")], assign="pair")]
    return Case(id="train/history-and-determinism", function="torch_tasks.train",
                inputs=LazyInputs(lambda: _split(_digits(0))),
                steps=steps, checks=[prop("history", "training_history", epochs=3, patience=5),
                                     prop("pair", "same_predictions", hint=DETERMINISM)],
                visibility="public", seconds=TORCH_SECONDS, partial=True,
                description="3 epochs on the CPU, twice from the same weights with seed 5: "
                            "the history's format, and the same predictions both times")


def _accuracy_case(id, thresholds, desc, flatten=False, **kwargs) -> Case:
    """Train on the hidden split, predict its test inputs; labels stay in the checks."""
    def make_inputs():
        data = _digits(HIDDEN_SPLIT)
        inputs = {**_split(data), "X_test": data["X_test"]}
        if flatten:
            inputs = {k: v.reshape(len(v), -1) if k.startswith("X") else v
                      for k, v in inputs.items()}
        return inputs

    checks = [_trained_accuracy(t, True, f"accuracy >= {t:.0%}") for t in thresholds]
    return Case(
        id=f"train/{id}", function="torch_tasks.train", inputs=LazyInputs(make_inputs),
        steps=[_make(), call("probe.state_arrays", ref("model"), assign="state_before"),
               _train("model", "history", **kwargs),
               call("probe.state_arrays", ref("model"), assign="state_after"),
               call("torch_tasks.predict", ref("model"), ref("X_test"), assign="pred"),
               call("probe.torch_device", assign="device"),
               *_fresh_weights_steps("X_test")],
        checks=[*checks, record("device", "_device_note")], visibility="hidden",
        seconds=TORCH_SECONDS, partial=True, description=desc)


def torch_train_cases() -> list[Case]:
    """train: history and determinism (public), held-out accuracy (hidden, partial credit)."""
    return [
        _determinism_case(),
        _accuracy_case("held-out-accuracy", (0.90, 0.95),
                       "make_model(64, 10) trained with every default; half the points at "
                       "90 % held-out accuracy, all at 95 % (the reference: 97-99 %)"),
        _accuracy_case("flat-inputs-accuracy", (0.90,),
                       "inputs of shape (N, 64), seed 1, 15 epochs: 90 % held-out accuracy",
                       flatten=True, seed=1, epochs=15),
    ]


def _trained_inputs() -> dict:
    """The hidden split's training and validation arrays, and its test images both as
    images (N, 1, 8, 8) and flattened (N, 64)."""
    hidden = _digits(HIDDEN_SPLIT)
    X_test = hidden["X_test"]
    return {**_split(hidden), "X_test": X_test, "X_flat": X_test.reshape(len(X_test), -1)}


def torch_predict_cases() -> list[Case]:
    """predict: int64 labels of shape (N,), eval mode (dropout off, running statistics)."""
    labels = Case(
        id="predict/int64-labels", function="torch_tasks.predict",
        inputs=LazyInputs(lambda: {"X": _digits(0)["X_val"]}),
        steps=[_make(), call("torch_tasks.predict", ref("model"), ref("X"), assign="pred")],
        checks=[_lazy_prop("pred", "int_labels",
                           lambda: {"n": len(_digits(0)["X_val"]), "num_classes": 10})],
        visibility="public",
        seconds=IMPORT_SECONDS,
        description="a fresh model's predictions for 300 images: int64, shape (300,)")
    steps = [_make(), call("torch_tasks.predict", ref("model"), ref("X"), assign="p1"),
             call("torch_tasks.predict", ref("model"), ref("X"), assign="p2"),
             attr("model.training", assign="mode"),
             call("numpy.asarray", ref("mode"), assign="training"),
             call("numpy.stack", [ref("p1"), ref("p2")], assign="pair"),
             call("torch_tasks.predict", ref("model"), ref("one"), assign="p_one")]
    eval_mode = Case(
        id="predict/eval-mode", function="torch_tasks.predict",
        inputs=LazyInputs(lambda: {"X": _digits(HIDDEN_SPLIT)["X_val"],
                                   "one": _digits(HIDDEN_SPLIT)["X_val"][:1]}), steps=steps,
        checks=[prop("pair", "same_predictions",
                     hint="predict must call model.eval() (dropout off) before the forward pass"),
                prop("training", "mode_restored"),
                prop("p_one", "int_labels", n=1, num_classes=10)],
        visibility="hidden", seconds=IMPORT_SECONDS,
        description="a model in train mode: two calls agree (dropout off), a single image "
                    "works (batch norm's running statistics), the mode is restored")
    steps = [_make(), _train("model", "history", epochs=2, device="cpu"),
             call("torch_tasks.predict", ref("model"), ref("X_test"), assign="pred"),
             call("torch_tasks.predict", ref("model"), ref("X_flat"), assign="pred_flat"),
             call("numpy.stack", [ref("pred"), ref("pred_flat")], assign="pair"),
             *_fresh_weights_steps("X_test")]
    trained = Case(
        id="predict/after-training", function="torch_tasks.predict",
        inputs=LazyInputs(_trained_inputs), steps=steps,
        checks=[_trained_accuracy(0.5, False, None),
                prop("pair", "same_predictions",
                     hint="images (N, 1, 8, 8) and the same images flattened to (N, 64) must "
                          "give the same labels (in eval mode: no dropout)")],
        visibility="hidden", seconds=TORCH_SECONDS,
        description="after 2 epochs of train: labels agree with the held-out ones (>= 50 %), "
                    "the same for images and flattened inputs")
    return [labels, eval_mode, trained]


# ----------------------------------------------------------------------------- mode connectivity
MLP_SHAPES = {"W1": (6, 4), "b1": (4,), "W2": (4, 3), "b2": (3,)}
DEEP_SHAPES = {"W1": (5, 7), "b1": (7,), "W2": (7, 6), "b2": (6,), "W3": (6, 4), "b3": (4,),
               "W4": (4, 2), "b4": (2,)}
ENDPOINT_EPOCHS = 30   # train_mlp's default is 60; 30 give endpoints as good, in half the time
# On the digits the trained curve's barrier is under 2 % of the line's (0.000-0.03 nats against
# 1.7-1.9); 50 Adam steps reach 8-16 %, a bend trained at t = 0.5 only 2-9 %; the midpoint
# (untrained: the curve is the line) keeps 100 %.
BARRIER_FRACTION = 0.25


def _params(seed, shapes=None, dtype=np.float64) -> dict:
    """A parameter dict of standard normal arrays of `shapes` (MLP_SHAPES by default)."""
    rng = _rng(seed)
    return {k: rng.standard_normal(s).astype(dtype) for k, s in (shapes or MLP_SHAPES).items()}


def _curve_case(name, id, names, t, vis, desc, shapes=None, dtype=np.float64, seed=0):
    """Case `name`/`id`: the point at t, key by key against the reference; inputs unchanged."""
    shapes = shapes or MLP_SHAPES
    inputs = {n: _params(10 * seed + k, shapes, dtype) for k, n in enumerate(names)}
    steps = [call(f"mode_connectivity.{name}", *[ref(n) for n in names], t, assign="point")]
    steps += [call("point.get", key, assign=f"point_{key}") for key in shapes]
    tol = F32 if dtype == np.float32 else {}
    checks = [prop("point", "dict_keys", keys=list(shapes)),
              *[close(f"point_{key}", **tol) for key in shapes],
              *[prop(n, "unchanged_dict", original=ref(n)) for n in names]]
    return Case(id=f"{name}/{id}", function=f"mode_connectivity.{name}", inputs=inputs,
                steps=steps, checks=checks, visibility=vis, seconds=IMPORT_SECONDS,
                description=desc)


def curve_point_cases() -> list[Case]:
    """bezier_point and line_point: the formulas per key, endpoints, float32, any depth."""
    cases = []
    for k, (name, names) in enumerate((("bezier_point", ("w1", "theta", "w2")),
                                       ("line_point", ("w1", "w2")))):
        seed = 1300 + 10 * k
        cases += [
            _curve_case(name, "t-0.3", names, 0.3, "public",
                        "a two-layer MLP's parameters at t = 0.3", seed=seed),
            _curve_case(name, "t-0", names, 0.0, "hidden", "t = 0 gives w1", seed=seed + 1),
            _curve_case(name, "t-1", names, 1, "hidden", "t = 1 (an int) gives w2",
                        seed=seed + 2),
            _curve_case(name, "float32", names, 0.7, "hidden",
                        "float32 parameters stay float32", dtype=np.float32, seed=seed + 3),
            _curve_case(name, "four-layers", names, 0.55, "hidden",
                        "eight keys (W1..W4, b1..b4): every key of w1", shapes=DEEP_SHAPES,
                        seed=seed + 4),
        ]
    return cases


@functools.cache
def _endpoints(split: int, sizes: tuple, seeds: tuple) -> tuple[dict, dict]:
    """Two MLPs trained in the harness on the split's training set (reference train_mlp)."""
    import torch

    data, mc = _digits(split), _reference("mode_connectivity")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only fight over busy cores (~40x slower)
    try:
        return tuple(mc.train_mlp(data["X_train"], data["y_train"], sizes=sizes, seed=s,
                                  epochs=ENDPOINT_EPOCHS, device="cpu") for s in seeds)
    finally:
        torch.set_num_threads(threads)


def _fit_case(id, split, sizes, seeds, evaluate, vis, desc, dtype=np.float64,
              **kwargs) -> Case:
    """fit_bezier on the training set; the barrier measured in the harness on `evaluate`."""
    public = vis == "public"

    def eval_arrays() -> dict:
        data = _digits(split)
        return {"X": data[f"X_{evaluate}"], "y": data[f"y_{evaluate}"]}

    def make_inputs():  # the endpoints are trained only when this case first runs
        data = _digits(split)
        w1, w2 = ({k: v.astype(dtype) for k, v in w.items()}
                  for w in _endpoints(split, sizes, seeds))
        inputs = {"w1": w1, "w2": w2, "X": data["X_train"], "y": data["y_train"]}
        if public:  # public checks ship as JSON: their arrays travel as inputs
            inputs.update({f"{k}_eval": v for k, v in eval_arrays().items()})
        return inputs

    def check_params() -> dict:
        evaluated = {"X": ref("X_eval"), "y": ref("y_eval")} if public else eval_arrays()
        return {"w1": ref("w1"), "w2": ref("w2"), **evaluated, "fraction": BARRIER_FRACTION}

    return Case(
        id=f"fit_bezier/{id}", function="mode_connectivity.fit_bezier",
        inputs=LazyInputs(make_inputs),
        steps=[call("mode_connectivity.fit_bezier", ref("w1"), ref("w2"), ref("X"), ref("y"),
                    assign="theta", **kwargs)],
        checks=[_lazy_prop("theta", "bend_lowers_barrier", check_params)],
        visibility=vis, seconds=TORCH_SECONDS, description=desc)


def fit_bezier_cases() -> list[Case]:
    """fit_bezier: the trained bend lowers the barrier between two endpoints."""
    return [
        _fit_case("digits-seeds-1-2", 0, (64, 32, 32, 10), (1, 2), "val", "public",
                  "endpoints 64-32-32-10 (seeds 1, 2), bend fitted with the defaults: the "
                  "curve's barrier on the validation set below 0.25 x the line's"),
        _fit_case("held-out-seeds-3-4", HIDDEN_SPLIT, (64, 40, 24, 10), (3, 4), "test",
                  "hidden", "endpoints 64-40-24-10 (seeds 3, 4), steps=500, seed=3: the "
                  "barrier on held-out data below 0.25 x the line's", steps=500, seed=3),
        _fit_case("float32-other-settings", HIDDEN_SPLIT, (64, 32, 32, 10), (5, 6), "test",
                  "hidden", "float32 endpoints (seeds 5, 6); steps=300, lr=0.02, "
                  "batch_size=64, seed=7 passed explicitly: the barrier on held-out data",
                  dtype=np.float32, steps=300, lr=0.02, batch_size=64, seed=7),
    ]
