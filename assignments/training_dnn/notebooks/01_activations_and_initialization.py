# Notebook source (percent format): `autograder.notebooks` builds the .ipynb from it.

# %% [markdown]
# # Part 1: Activation functions and weight initialization
#
# *Training Deep Neural Networks*, part 1 of 5.
#
# A deep network is a stack of layers $h_l = f(h_{l-1} W_l + b_l)$. Whether it trains at
# all depends on two choices made before the first step: the **activation function** $f$,
# which decides how gradients flow backwards through each layer, and the **initial
# weights** $W_l$, which decide whether the activations (and so the gradients) keep a
# useful size from the first layer to the last.
#
# In this notebook you implement the activations' forward and backward passes and three
# initializations, check your gradients numerically, and reproduce the lecture's
# experiment: a 10-layer network at initialization, where activations either collapse to
# zero, saturate, or keep their size.
#
# ## Your to-do list
#
# - [ ] `nntrain/activations.py`, checked by `check("activations")`: the forward and
#   backward passes of `sigmoid`, `tanh`, `relu`, `leaky_relu`, `prelu`, `elu` and
#   `maxout` (`sigmoid_forward`, `sigmoid_backward`, ...).
# - [ ] `nntrain/weight_init.py`, checked by `check("weight_init")`: `small_random_init`,
#   `xavier_init`, `he_init`.
#
# Each function's docstring gives its shapes and formula; until you write it, it raises
# `NotImplementedError` with a hint, and the cells below that need it say so and move on.
# Run the whole notebook again whenever you have implemented something.

# %%
import contextlib
import functools
import json

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from nntrain import activations, gradient_check, weight_init
from nntrain.data import load_digits
from nntrain.fc_net import FullyConnectedNet

try:
    from autograder import check
except ImportError as exc:
    CHECKER_ERROR = str(exc)

    def check(question=None, path="."):
        """Stand-in for the checker when the autograder package cannot be imported."""
        print(f"The checker is not available here ({CHECKER_ERROR}): run this notebook "
              "from the assignment's folder, the one holding nntrain/.")

findings = {}  # this notebook's numbers, printed on one line at the end


@contextlib.contextmanager
def todo():
    """Run a block that needs your code; if a piece is still a stub, say which and go on."""
    try:
        yield
    except NotImplementedError as exc:
        name, _, hint = str(exc).partition(": ")
        if hint:
            print(f"{name} is not implemented yet: {hint}")
        else:
            print(f"a function this cell needs is not implemented yet: {exc!r}")


def show(fig):
    """Display a figure below the cell (inline in Jupyter), then release it."""
    if matplotlib.get_backend().lower() == "agg":
        plt.close(fig)
    else:
        plt.show()


def record(**values):
    """Keep numbers for the summary at the end of the notebook (arrays become lists)."""
    for key, value in values.items():
        findings[key] = np.asarray(value).tolist()


# %% [markdown]
# ## 1. Activation functions
#
# Each activation is a layer with a forward pass `out, cache = f_forward(x)` and a backward
# pass `dx = f_backward(dout, cache)`. Elementwise activations backpropagate by the chain rule
#
# $$\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} \odot f'(x), \qquad
# y = f(x).$$
#
# | activation | $f(x)$ | $f'(x)$ |
# |---|---|---|
# | sigmoid | $\sigma(x) = \dfrac{1}{1 + e^{-x}}$ | $\sigma(x)\,(1 - \sigma(x)) \le \tfrac14$ |
# | tanh | $\tanh(x)$ | $1 - \tanh^2(x)$ |
# | ReLU | $\max(0, x)$ | $1$ if $x > 0$, else $0$ |
# | Leaky ReLU | $\max(\alpha x, x)$, $\alpha = 0.01$ | $1$ if $x > 0$, else $\alpha$ |
# | PReLU | $\max(\alpha x, x)$, $\alpha$ learned | $1$ if $x > 0$, else $\alpha$ |
# | ELU | $x$ if $x > 0$, else $\alpha(e^x - 1)$ | $1$ if $x > 0$, else $\alpha e^x$ |
# | Maxout | $\max(x^\top W_1 + b_1,\ x^\top W_2 + b_2)$ | the gradient goes to the winning piece |
#
# What the lecture says about them:
# - **sigmoid** squashes to $(0, 1)$; saturated units ($|x|$ large) kill the gradient, its
#   outputs are not zero-centred (so all the gradients on a unit's weights have the same
#   sign), and $e^{-x}$ is costly. Compute it without overflow: for $x < 0$ use
#   $e^{x} / (1 + e^{x})$.
# - **tanh** is zero-centred but still saturates.
# - **ReLU** does not saturate for $x > 0$, is cheap, and converges much faster in practice;
#   but it is not zero-centred and a unit whose input is always negative never updates
#   again (a *dead* ReLU).
# - **Leaky ReLU, PReLU, ELU** keep a small gradient for $x < 0$, so units cannot die;
#   ELU's negative part saturates smoothly, which makes it robust to noise. PReLU learns
#   one slope per feature, with $\partial f / \partial \alpha = x$ where $x \le 0$ (else 0).
# - **Maxout** generalizes ReLU and Leaky ReLU and never dies, but doubles the parameters.
#
# The cell below plots each activation (solid) and its derivative (dashed), the derivative
# computed by *your backward pass* with an upstream gradient of ones.

# %%
x_grid = np.linspace(-5, 5, 401)


def curve(name):
    """(f(x), f'(x)) on x_grid from the forward and backward passes of one activation."""
    x = x_grid.reshape(-1, 1)
    ones = np.ones_like(x)
    if name == "prelu":
        out, cache = activations.prelu_forward(x, np.array([0.25]))
        dx, _ = activations.prelu_backward(ones, cache)
    elif name == "maxout":
        pieces = (np.array([[1.0]]), np.array([0.0]), np.array([[-0.5]]), np.array([-1.0]))
        out, cache = activations.maxout_forward(x, *pieces)
        dx = activations.maxout_backward(ones, cache)[0]
    else:
        extra = {"leaky_relu": (0.1,)}.get(name, ())  # a visible slope for the plot
        out, cache = getattr(activations, f"{name}_forward")(x, *extra)
        dx = getattr(activations, f"{name}_backward")(ones, cache)
    return out.ravel(), dx.ravel()


NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "maxout"]
TITLES = {"leaky_relu": "leaky ReLU (alpha 0.1)", "prelu": "PReLU (alpha 0.25)",
          "maxout": "maxout: max(x, -0.5x - 1)"}
fig, axes = plt.subplots(2, 4, figsize=(14, 6))
for ax, name in zip(axes.flat, NAMES, strict=False):
    ax.set_title(TITLES.get(name, name))
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    with todo():
        y, dy = curve(name)
        ax.plot(x_grid, y, label="f(x)")
        ax.plot(x_grid, dy, "--", label="f'(x)")
        ax.legend(loc="upper left")
        if name == "sigmoid":
            record(sigmoid_grad_max=dy.max(),
                   sigmoid_grad_at_10=activations.sigmoid_backward(
                       np.ones(1), activations.sigmoid_forward(np.array([10.0]))[1])[0])
axes.flat[-1].axis("off")
fig.tight_layout()
show(fig)
if "sigmoid_grad_max" in findings:
    print(f"largest sigmoid gradient: {findings['sigmoid_grad_max']:.4f} (at x = 0); "
          f"at x = 10: {findings['sigmoid_grad_at_10']:.2e}")

# %% [markdown]
# ### Numeric gradient checks
#
# A backward pass is right when it matches centred differences,
#
# $$\frac{\partial L}{\partial x_i} \approx
# \frac{L(x + h e_i) - L(x - h e_i)}{2h}, \qquad L = \sum (\text{dout} \odot f(x)),$$
#
# which `nntrain.gradient_check.eval_numerical_gradient_array` computes. The relative
# error $\max_i |a_i - b_i| / (|a_i| + |b_i|)$ should be around `1e-8` or smaller; `1e-2`
# means a bug. (Kinks such as ReLU's at 0 can spoil one entry; the inputs below avoid them.)

# %%
def grad_error(f, x, dout, analytic):
    """Relative error between an analytic gradient and the numeric one of f at x."""
    numeric = gradient_check.eval_numerical_gradient_array(f, x, dout)
    return gradient_check.rel_error(numeric, analytic)


def check_elementwise(name, rng):
    """Gradient check of one elementwise activation on a (4, 5) input away from 0."""
    x = rng.standard_normal((4, 5))
    x += np.sign(x) * 0.1  # keep away from the kink at 0
    dout = rng.standard_normal((4, 5))
    forward = getattr(activations, f"{name}_forward")
    dx = getattr(activations, f"{name}_backward")(dout, forward(x)[1])
    return {"dx": grad_error(lambda v: forward(v)[0], x, dout, dx)}


def check_prelu(rng):
    """Gradient check of PReLU in x and in alpha."""
    x = rng.standard_normal((6, 3)) + 0.1
    alpha = np.array([0.1, 0.25, 0.5])
    dout = rng.standard_normal((6, 3))
    dx, dalpha = activations.prelu_backward(dout, activations.prelu_forward(x, alpha)[1])
    return {"dx": grad_error(lambda v: activations.prelu_forward(v, alpha)[0], x, dout, dx),
            "dalpha": grad_error(lambda a: activations.prelu_forward(x, a)[0], alpha, dout,
                                 dalpha)}


def check_maxout(rng):
    """Gradient check of maxout in x and in both pieces' weights and biases."""
    x = rng.standard_normal((5, 4))
    params = [rng.standard_normal((4, 3)), rng.standard_normal(3),
              rng.standard_normal((4, 3)), rng.standard_normal(3)]
    dout = rng.standard_normal((5, 3))
    grads = activations.maxout_backward(dout, activations.maxout_forward(x, *params)[1])
    inputs = [x, *params]
    errors = {}
    for i, label in enumerate(["dx", "dW1", "db1", "dW2", "db2"]):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return activations.maxout_forward(*args)[0]
        errors[label] = grad_error(f, inputs[i], dout, grads[i])
    return errors


grad_errors = {}
for name in ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "prelu", "maxout"]:
    rng = np.random.default_rng(0)
    with todo():
        if name == "prelu":
            errors = check_prelu(rng)
        elif name == "maxout":
            errors = check_maxout(rng)
        else:
            errors = check_elementwise(name, rng)
        grad_errors[name] = max(errors.values())
        print(f"{name:>10}: " + ", ".join(f"{k} error {v:.2e}" for k, v in errors.items()))
record(grad_errors=grad_errors)

# %% [markdown]
# Now the public test cases of this part (they also try float32 inputs, exact zeros, and
# values large enough to overflow a naive sigmoid or ELU):

# %%
_ = check("activations")

# %% [markdown]
# ### Questions
#
# **Q1.** The largest value of $\sigma'(x)$ is $\tfrac14$. What happens to the gradient that
# reaches the first layer of a 10-layer sigmoid network, even with no saturated unit?
# And with units at $|x| = 10$?
#
# *Your answer:*
#
# **Q2.** Every input to a layer after a sigmoid is positive. Show that then all the
# entries of $\partial L / \partial w$ for one unit have the same sign, and say why that
# makes gradient descent zig-zag.
#
# *Your answer:*

# %% [markdown]
# ## 2. Weight initialization
#
# Consider one unit $z = \sum_{i=1}^{n} x_i w_i$ with independent, zero-mean inputs and
# weights. Its variance is
#
# $$\operatorname{Var}(z) = n \operatorname{Var}(x) \operatorname{Var}(w).$$
#
# To keep $\operatorname{Var}(z) = \operatorname{Var}(x)$ from layer to layer we need
# $\operatorname{Var}(w) = 1/n$ with $n$ the fan-in: **Xavier** initialization,
# `W = randn(fan_in, fan_out) / sqrt(fan_in)`. A ReLU zeroes half of its inputs, so it halves
# the second moment, $E[\max(0, z)^2] = \tfrac12 \operatorname{Var}(z)$; **He** initialization
# doubles the variance to compensate: $\operatorname{Var}(w) = 2/n$,
# `W = randn(fan_in, fan_out) / sqrt(fan_in / 2)`. The naive choice, **small random numbers**
# `W = 0.01 * randn(fan_in, fan_out)`, works for small networks only.
#
# Implement the three functions in `nntrain/weight_init.py`; the cell below compares the
# standard deviation of your weights with the formula's.

# %%
INITS = {
    "small (0.01)": functools.partial(weight_init.small_random_init, scale=0.01),
    "unit (1.0)": functools.partial(weight_init.small_random_init, scale=1.0),
    "Xavier": weight_init.xavier_init,
    "He": weight_init.he_init,
}
EXPECTED_STD = {"small (0.01)": 0.01, "unit (1.0)": 1.0, "Xavier": 1 / np.sqrt(500),
                "He": np.sqrt(2 / 500)}
for label, init in INITS.items():
    with todo():
        W = init(500, 500, rng=np.random.default_rng(0))
        print(f"{label:>12}: shape {W.shape}, std {W.std():.4f} "
              f"(formula: {EXPECTED_STD[label]:.4f})")

# %%
_ = check("weight_init")

# %% [markdown]
# ## 3. The lecture's experiment: activations of a deep network at initialization
#
# Take a 10-layer network with 500 units per layer and no biases, feed it 1,000 unit-Gaussian
# inputs $x \sim \mathcal N(0, 1)$, and look at each layer's activations
# $h_l = f(h_{l-1} W_l)$. `weight_init.activation_statistics` (provided) runs exactly this
# and returns each layer's mean and standard deviation. We try the four initializations
# under tanh and ReLU.

# %%
CONFIGS = [(init, nl) for nl in ("tanh", "relu") for init in INITS]
stats = {}
for init, nl in CONFIGS:
    with todo():
        stats[init, nl] = weight_init.activation_statistics(
            INITS[init], nl, num_layers=10, hidden=500, n=1000,
            rng=np.random.default_rng(0), return_activations=True)

if stats:
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True)
    layers = np.arange(1, 11)
    for col, nl in enumerate(("tanh", "relu")):
        for init in INITS:
            if (init, nl) in stats:
                s = stats[init, nl]
                plot = axes[0, col].plot if nl == "tanh" else axes[0, col].semilogy
                plot(layers, s["mean"], "o-", label=init)
                axes[1, col].semilogy(layers, s["std"], "o-", label=init)
        scale = "" if nl == "tanh" else " (log scale)"
        axes[0, col].set_title(f"{nl}: mean of each layer's activations{scale}")
        axes[1, col].set_title(f"{nl}: standard deviation (log scale)")
        axes[1, col].set_xlabel("layer")
        axes[1, col].legend()
    fig.tight_layout()
    show(fig)
    print("standard deviation of the activations, layers 1 to 10:")
    for (init, nl), s in stats.items():
        print(f"{init:>12} + {nl}: " + " ".join(f"{v:8.2e}" for v in s["std"]))
        key = f"{init.split()[0].lower()}_{nl}"
        record(**{f"std_{key}": s["std"], f"mean_{key}": s["mean"]})

# %% [markdown]
# The histograms of every layer's activations, as on the lecture's slides: each row one
# setting, each column one layer, with one horizontal scale per row ($[-1, 1]$ for tanh; for
# ReLU the scale of layer 1, leaving out the exact zeros, about half of all activations).

# %%
ROWS = [("small (0.01)", "tanh"), ("unit (1.0)", "tanh"), ("Xavier", "tanh"),
        ("Xavier", "relu"), ("He", "relu")]


def histogram_row(axes, layer_activations, nonlinearity):
    """One row of histograms, one per layer, on a common range."""
    if nonlinearity == "tanh":
        values, span = [h.ravel() for h in layer_activations], (-1.0, 1.0)
    else:
        values = [h[h > 0] for h in layer_activations]
        span = (0.0, 4.0 * float(values[0].std() + values[0].mean()))
    for l, (ax, v) in enumerate(zip(axes, values, strict=True)):
        ax.hist(np.clip(v, *span), bins=40, range=span,
                color="C0" if nonlinearity == "tanh" else "C1")
        ax.set_yticks([])
        ax.tick_params(labelsize=6)
        ax.set_title(f"layer {l + 1}", fontsize=8)


rows = [row for row in ROWS if row in stats]
if rows:
    fig, axes = plt.subplots(len(rows), 10, figsize=(20, 2.0 * len(rows)), squeeze=False)
    for r, (init, nl) in enumerate(rows):
        histogram_row(axes[r], stats[init, nl]["activations"], nl)
        axes[r, 0].set_ylabel(f"{init}\n{nl}", fontsize=9)
    fig.tight_layout()
    show(fig)

# %% [markdown]
# What to see:
# - **small (0.01) + tanh**: each layer multiplies the standard deviation by about
#   $0.01 \sqrt{500} \approx 0.22$, so by layer 10 all activations are essentially zero.
#   The gradients on the weights, $\partial L / \partial W_l = h_{l-1}^\top\, \delta_l$, are
#   then zero too: **no learning**.
# - **unit (1.0) + tanh**: the pre-activations have a standard deviation of about
#   $\sqrt{500} \approx 22$, so almost every unit is **saturated** at $\pm 1$, where
#   $\tanh' \approx 0$: again the gradients vanish.
# - **Xavier + tanh**: the distributions keep a reasonable size through all 10 layers.
# - **Xavier + ReLU**: ReLU halves the variance at every layer, so the activations shrink
#   towards zero again, by $1/\sqrt 2$ per layer.
# - **He + ReLU**: the factor 2 undoes the halving; the activations keep their size.
# - **unit (1.0) + ReLU** explodes instead: ReLU does not saturate, so nothing stops
#   the growth by $\sqrt{500/2}$ per layer.

# %%
if stats:
    def saturated(init):
        """Fraction of |tanh| activations above 0.99, per layer, for one initialization."""
        return [float(np.mean(np.abs(h) > 0.99)) for h in stats[init, "tanh"]["activations"]]

    sat = {init: saturated(init) for init in INITS if (init, "tanh") in stats}
    for init, fractions in sat.items():
        print(f"tanh, {init:>12}: {100 * np.mean(fractions):5.1f}% of activations "
              f"saturated (|h| > 0.99)")
    record(saturated_tanh={k.split()[0].lower(): v for k, v in sat.items()})
    for init, nl in (("Xavier", "tanh"), ("Xavier", "relu"), ("He", "relu")):
        if (init, nl) in stats:
            s = stats[init, nl]["std"]
            print(f"{init} + {nl}: std of layer 1 {s[0]:.3f}, of layer 10 {s[-1]:.3f}")

# %% [markdown]
# ### Dead ReLUs
#
# A ReLU unit is *dead* on a data set when its input is negative for every example: its
# output and its gradient are then zero everywhere, and its weights never change again.
# First, at initialization: the cell counts, per layer, the units of the experiment's
# ReLU networks that are zero on all 1,000 inputs. (Why are the counts the same for all four
# scales of the weights?)

# %%
def dead_fraction(layer_activations):
    """Per layer, the fraction of units that output 0 for every example."""
    return [float(np.mean(np.all(h <= 0, axis=0))) for h in layer_activations]


dead_at_init = {init: dead_fraction(stats[init, "relu"]["activations"])
                for init in INITS if (init, "relu") in stats}
for init, fractions in dead_at_init.items():
    print(f"{init:>12} + relu, dead units per layer (%): "
          + " ".join(f"{100 * f:4.1f}" for f in fractions))
if dead_at_init:
    record(dead_at_init={k.split()[0].lower(): v for k, v in dead_at_init.items()})

# %% [markdown]
# The lecture's other cause: a **learning rate that is too high** knocks units into the
# dead region during training. The cell trains a two-hidden-layer ReLU network (He
# initialization, 100 units per layer) on the 8x8 digits with plain gradient descent,
# $W \leftarrow W - \eta\, \partial L / \partial W$, at a sensible and at a far too large
# learning rate, and counts the hidden units that are zero on the whole training set.

# %%
def train_plain_sgd(model, data, lr, epochs=5, batch_size=50, seed=0):
    """Mini-batch gradient descent on model.loss; returns the last batch's loss."""
    rng = np.random.default_rng(seed)
    X, y = data["X_train"], data["y_train"]
    loss = np.nan
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X) - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = model.loss(X[idx], y[idx])
            model.params = {k: w - lr * grads[k] for k, w in model.params.items()}
    return loss


def dead_units(model, X):
    """Per hidden layer, the fraction of ReLU units that are zero on every row of X."""
    h, fractions = X.reshape(len(X), -1), []
    for l in range(1, model.num_layers):
        h = np.maximum(0, h @ model.params[f"W{l}"] + model.params[f"b{l}"])
        fractions.append(float(np.mean(np.all(h <= 0, axis=0))))
    return fractions


digits = load_digits()
dead_after = {}
for lr in (0.05, 2.0):
    with todo():
        model = FullyConnectedNet([100, 100], weight_scale="he", seed=0)
        loss = train_plain_sgd(model, digits, lr)
        scores = model.loss(digits["X_val"])
        acc = float(np.mean(scores.argmax(axis=1) == digits["y_val"]))
        dead_after[lr] = dead_units(model, digits["X_train"])
        print(f"learning rate {lr}: final loss {loss:.3g}, validation accuracy {acc:.3f}, "
              f"dead units per hidden layer: "
              + ", ".join(f"{100 * f:.0f}%" for f in dead_after[lr]))
if dead_after:
    record(dead_after_training={str(k): v for k, v in dead_after.items()})

# %% [markdown]
# ### Questions
#
# **Q3.** Why does Xavier initialization, derived to keep the variance constant, fail with
# ReLU? Where exactly does the factor 2 in He initialization come from?
#
# *Your answer:*
#
# **Q4.** The dead-unit counts at initialization are the same for weight scales 0.01 and
# 1.0. Why? Which of Leaky ReLU, ELU or a small positive bias would avoid the dead units
# after the high learning rate, and why?
#
# *Your answer:*

# %% [markdown]
# ## Summary
#
# The numbers this notebook found, on one line (the course's own tests read it):

# %%
print("RESULT", json.dumps(findings))
