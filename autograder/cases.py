"""Graded cases: what the harness asks the worker to run, and how it judges the answer.

A `Case` is a small program of calls (`Step`s) over named inputs, written as data so that
it can cross the trust boundary: the worker runs it against the submission, the harness
runs it against the reference solution, and `Check`s compare the two (or test a property
of the submission's values). An assignment's case generator builds cases with the helpers
below::

    x = rng.standard_normal((4, 5))
    Case(
        id="relu_backward/zero-inputs",
        function="activations.relu_backward",
        inputs={"x": x, "dout": dout},
        steps=[call("activations.relu_forward", ref("x"), assign=["out", "cache"]),
               call("activations.relu_backward", ref("dout"), ref("cache"), assign="dx")],
        checks=[close("dx")],
    )

Visibility: "public" cases ship to students with their expected values; "hidden" cases
exist only where the reference solution is, and their messages never show expected values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from autograder.worker import LazyMapping


def ref(name: str) -> dict:
    """A reference to the variable `name` (an input or an earlier step's result)."""
    return {"$ref": name}


def got(name: str) -> dict:
    """In a check's params: the value the worker returned for the variable `name` (e.g. a
    model's weights before training, to compare with those after). The variable is
    returned with the case's other values."""
    return {"$got": name}


def _got_names(params) -> list[str]:
    """The variables that `got(...)`s inside `params` name."""
    if isinstance(params, Mapping) and set(params) == {"$got"}:
        return [params["$got"]]
    if isinstance(params, Mapping):
        return [n for v in params.values() for n in _got_names(v)]
    if isinstance(params, (list, tuple)):
        return [n for v in params for n in _got_names(v)]
    return []


@dataclass(frozen=True)
class Step:
    """One call or attribute read in the worker.

    - call: "module.function" in the student package, or "variable.method".
    - getattr: "variable.attribute" (instead of call).
    - assign: the variable name for the result, or a list of names to unpack a tuple.
    """

    call: str | None = None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    getattr: str | None = None
    assign: str | list[str] | None = None


def call(target: str, *args, assign=None, **kwargs) -> Step:
    """A step calling `target` with `args`/`kwargs` (values or `ref(...)`s)."""
    return Step(call=target, args=args, kwargs=kwargs, assign=assign)


def attr(target: str, *, assign: str) -> Step:
    """A step reading the attribute `target` ("variable.attribute")."""
    return Step(getattr=target, assign=assign)


@dataclass(frozen=True)
class Check:
    """A judgement of one returned variable.

    kind:
    - "close": same shape, same dtype (when `dtype` is "match"), finite where expected is,
      and |got - expected| <= atol + rtol |expected| elementwise.
    - "exact": equal value (numbers, booleans, strings, integer arrays).
    - "property": `fn` (a name in the assignment's checks module) is called as
      fn(got, **params) in the harness and returns None (pass) or a message. Params may
      hold `ref(...)`s to the case's inputs, resolved by the harness.
    - "gradient": `value` is an analytic gradient; compared with central differences of
      the submission's own forward outputs (see `numeric_gradient_case`).
    - "record": `fn` returns a note about the value (e.g. the device a model trained on);
      it never fails and is shown with the case's result.
    - "context": compared like "close" but never graded: when the case fails, a mismatch
      here names `params["function"]` as the one to fix (a backward pass's case checks
      the output of the submission's own forward pass this way).
    """

    value: str
    kind: str = "close"
    rtol: float = 1e-6
    atol: float = 1e-8
    dtype: str = "match"
    fn: str | None = None
    params: dict = field(default_factory=dict)
    label: str | None = None

    def variables(self) -> list[str]:
        """The worker variables this check reads."""
        if self.kind == "gradient":
            return [self.value, *self.params["plus"], *self.params["minus"]]
        if self.kind == "property" and isinstance(self.params, LazyInputs):
            return [self.value, *self.params.returned]
        if self.kind == "property" and not isinstance(self.params, LazyMapping):
            return [self.value, *_got_names(self.params)]
        return [self.value]


def close(value: str, rtol: float = 1e-6, atol: float = 1e-8, dtype: str = "match") -> Check:
    return Check(value=value, kind="close", rtol=rtol, atol=atol, dtype=dtype)


def exact(value: str) -> Check:
    return Check(value=value, kind="exact")


def prop(value: str, fn: str, label: str | None = None, **params) -> Check:
    return Check(value=value, kind="property", fn=fn, params=params, label=label)


def record(value: str, fn: str, **params) -> Check:
    return Check(value=value, kind="record", fn=fn, params=params)


def context(value: str, function: str, rtol: float = 1e-6, atol: float = 1e-8,
            label: str | None = None) -> Check:
    """`value` (made by `function`, a step before the graded one) compared with the
    reference's, only to say which function to fix when the case fails."""
    return Check(value=value, kind="context", rtol=rtol, atol=atol, dtype="any",
                 params={"function": function}, label=label)


@dataclass(frozen=True)
class Diagnosis:
    """Why a failing case failed, beyond which value differs.

    `fn` names a function of the assignment's diagnoses module (`diagnoses` in its
    assignment.toml, grader side only). When a case fails, the harness calls
    ``fn(got, expected, inputs, reveal, **params)`` with the worker's values of
    `values` (returned with the case's other values, never graded), the reference's
    (None where it has none), and the case's inputs; it answers None or a message (the
    first step where the submission's values leave the reference's, a known mistake that
    explains them). `reveal` is False for hidden cases: no expected value may appear.
    """

    fn: str
    values: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)


class LazyInputs(LazyMapping):
    """Case inputs, or a check's parameters, computed on first use (e.g. networks the
    harness must train first, held-out labels from a data set slow to load).

    Only the cases that are actually run or judged pay for them: selecting questions or
    loading the assignment does not. `returned` names the worker variables that `got(...)`s
    among the parameters read (known without computing them).
    """

    def __init__(self, load, returned: tuple[str, ...] = ()):
        super().__init__(load)
        self.returned = tuple(returned)

    def __reduce__(self):  # pickled (e.g. to a harness process) as the plain dict
        return (dict, (self._get(),))


@dataclass(frozen=True)
class Case:
    """One graded case of one function.

    - id: unique, readable ("relu_backward/x-equals-zero").
    - function: the graded function it scores ("activations.relu_backward").
    - inputs: variable name -> value (NumPy arrays, numbers, strings, lists, dicts), or a
      `LazyInputs` that computes them when the case first runs.
    - steps: the program run in the worker and against the reference.
    - checks: how the returned variables are judged; the variables returned are theirs.
    - visibility: "public" or "hidden".
    - needs_reference: False when every check is a property (no expected values needed).
    - seconds: wall-clock limit for this case in the worker (None: the assignment's).
    - description: what the case exercises, shown in messages.
    - partial: when True each non-record check earns an equal share of the case, so one
      run can give partial credit (e.g. accuracy thresholds); otherwise all must pass.
    - diagnosis: what explains a failure (`Diagnosis`), or None.
    """

    id: str
    function: str
    inputs: Mapping[str, Any]
    steps: list[Step]
    checks: list[Check]
    visibility: str = "public"
    seconds: float | None = None
    description: str = ""
    partial: bool = False
    diagnosis: Diagnosis | None = None

    @property
    def returns(self) -> list[str]:
        names: list[str] = []
        traced = list(self.diagnosis.values) if self.diagnosis else []
        for name in [n for check in self.checks for n in check.variables()] + traced:
            if name not in names:
                names.append(name)
        return names

    @property
    def needs_reference(self) -> bool:
        return any(c.kind in ("close", "exact", "context") for c in self.checks)


def step_to_json(step: Step) -> dict:
    """The wire form of a step (values still raw; the session encodes them)."""
    data: dict[str, Any] = {"assign": step.assign}
    if step.getattr is not None:
        data["getattr"] = step.getattr
    else:
        data.update(call=step.call, args=list(step.args), kwargs=dict(step.kwargs))
    return data


def numeric_gradient_case(
    id: str,
    function: str,
    forward: str,
    forward_args: list,
    backward_steps: list[Step],
    inputs: dict[str, Any],
    grads: dict[str, str],
    dout: str = "dout",
    out_index: int = 0,
    h: float = 1e-6,
    max_points: int = 8,
    seed: int = 0,
    rtol: float = 1e-5,
    visibility: str = "public",
    description: str = "",
) -> Case:
    """A case checking a backward pass against central differences of the forward pass.

    The worker runs `forward(*forward_args)` once as given, then the `backward_steps`
    (which must assign each gradient variable named in `grads`), and again with one element
    of an input moved by +h and -h, for up to `max_points` elements of each input in
    `grads` (input name -> gradient variable). The harness then compares, for each element
    i, the analytic gradient with (sum(dout * f(x + h e_i)) - sum(dout * f(x - h e_i))) / 2h,
    all computed with the submission's own forward pass in float64.

    `forward_args` holds values or `ref(...)`s; the forward's `out_index`-th result is the
    output, and the step assigns it to "out" and the rest to "cache" (single-result
    forwards: `out_index` None).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    steps = [_forward_step(forward, forward_args, {}, "", out_index)]
    steps += backward_steps
    all_inputs = dict(inputs)
    # A forward pass that is wrong (all zeros, say) would make any gradient look right.
    checks = [Check(value="out", kind="close", rtol=1e-6, atol=1e-8,
                    label=f"the output of your `{forward.rsplit('.', 1)[-1]}` (the numeric "
                          "gradient differentiates it)", params={"function": forward})]
    for wrt, grad in grads.items():
        x = np.asarray(inputs[wrt])
        count = min(max_points, x.size)
        indices = sorted(rng.choice(x.size, size=count, replace=False).tolist())
        plus, minus = [], []
        for i in indices:
            for sign, names in ((1, plus), (-1, minus)):
                moved = x.astype(np.float64).copy()
                moved.flat[i] += sign * h
                tag = f"{wrt}_{'p' if sign > 0 else 'm'}{i}"
                all_inputs[tag] = moved
                steps.append(_forward_step(forward, forward_args, {wrt: tag}, tag, out_index))
                names.append(f"out_{tag}")
        checks.append(Check(
            value=grad, kind="gradient", rtol=rtol,
            params={"wrt": wrt, "dout": dout, "h": h, "indices": indices,
                    "plus": plus, "minus": minus},
        ))
    return Case(id=id, function=function, inputs=all_inputs, steps=steps, checks=checks,
                visibility=visibility, description=description)


def with_consistency(case: Case, forward: str, forward_args: list, wrt: str = "x",
                     grad: str = "dx", dout: str = "dout", out_index: int | None = 0,
                     h: float = 1e-6, max_points: int = 2, seed: int = 0,
                     rtol: float = 1e-5, band: tuple[float, float] = (0.05, 50.0)) -> Case:
    """`case` (a backward case run on the submission's own forward pass) plus a context
    check: does its `grad` match central differences of that forward at a few elements
    of `wrt` (those with band[0] <= |x| <= band[1], away from kinks)? Never graded: when
    the case fails with a wrong forward output, it lets the message say the backward is
    right for that forward, so the forward is what to fix. float64 inputs only."""
    import numpy as np

    x = np.asarray(case.inputs[wrt])
    eligible = np.flatnonzero((np.abs(x) >= band[0]) & (np.abs(x) <= band[1]))
    if x.dtype != np.float64 or not eligible.size:
        return case
    rng = np.random.default_rng(seed)
    count = min(max_points, eligible.size)
    indices = sorted(int(i) for i in rng.choice(eligible, size=count, replace=False))
    inputs, steps, plus, minus = dict(case.inputs), list(case.steps), [], []
    for i in indices:
        for sign, names in ((1, plus), (-1, minus)):
            moved = x.copy()
            moved.flat[i] += sign * h
            tag = f"{wrt}_{'p' if sign > 0 else 'm'}{i}_consistency"
            inputs[tag] = moved
            steps.append(_forward_step(forward, forward_args, {wrt: tag}, tag, out_index))
            names.append(f"out_{tag}")
    check = Check(value=grad, kind="gradient", rtol=rtol, params={
        "wrt": wrt, "dout": dout, "h": h, "indices": indices, "plus": plus, "minus": minus,
        "context": True, "function": forward})
    return replace(case, inputs=inputs, steps=steps, checks=[*case.checks, check])


def _swap_refs(value, swap: dict):
    if isinstance(value, dict) and set(value) == {"$ref"}:
        return ref(swap.get(value["$ref"], value["$ref"]))
    if isinstance(value, dict):
        return {k: _swap_refs(v, swap) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_swap_refs(v, swap) for v in value)
    return value


def _forward_step(forward, args, swap, tag, out_index) -> Step:
    suffix = f"_{tag}" if tag else ""
    if out_index is None:
        assign = f"out{suffix}"
    else:
        assign = [f"_r{k}{suffix}" for k in range(2)]
        assign[out_index] = f"out{suffix}"
        assign[1 - out_index] = f"cache{suffix}"
    return call(forward, *_swap_refs(list(args), swap), assign=assign)
