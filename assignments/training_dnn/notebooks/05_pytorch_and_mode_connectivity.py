# Notebook source (percent format): `autograder.notebooks` builds the .ipynb from it.

# %% [markdown]
# # Part 5: Training in PyTorch, and mode connectivity
#
# *Training Deep Neural Networks*, part 5 of 5.
#
# Parts 1 to 4 built every piece of the lecture's recipe by hand. In practice they are a few
# lines of PyTorch each. In this part you put the whole recipe together:
#
# - **He initialization** (`nn.init.kaiming_normal_`) and zero biases;
# - **batch normalization** after every hidden `Linear`, then ReLU, then **dropout**;
# - **AdamW**, Adam with decoupled weight decay, with a **cosine learning-rate schedule**;
# - **data augmentation** with your own `random_crop` and `add_gaussian_noise` (no flips:
#   a mirrored 2 is not a 2);
# - an **exponential moving average** of the weights, with your `ema_update`;
# - **early stopping** on the validation accuracy, with your `EarlyStopping`.
#
# The extra-credit experiment then reproduces the result the lecture opened with: two
# networks trained independently are joined by a simple curve in weight space along which
# the loss stays low, while the straight line between them crosses a barrier (Garipov et al.,
# *Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs*, NeurIPS 2018).
#
# Everything here runs on a GPU when PyTorch sees one (`torch.cuda.is_available()`), and on
# the CPU otherwise, in well under a minute.
#
# ## Your to-do list
#
# - [ ] `nntrain/torch_tasks.py`, graded by training: `make_model`, `train`, `predict`.
#   The grader builds your model, trains it on its training split, and scores your
#   predictions on held-out digits whose labels it keeps; it also checks the architecture,
#   the initial weight statistics, and that a fixed seed gives the same run on the CPU.
# - [ ] Extra credit, `nntrain/mode_connectivity.py`: `bezier_point`, `line_point`,
#   `fit_bezier`.
#
# Each function's docstring gives its shapes and formula; until you write it, it raises
# `NotImplementedError` with a hint, and the cells below that need it say so and move on.

# %%
import contextlib
import json

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from nntrain.data import load_digits

try:
    from autograder import check
except ImportError as exc:
    CHECKER_ERROR = str(exc)

    def check(question=None, path="."):
        """Stand-in for the checker when the autograder package cannot be imported."""
        print(f"The checker is not available here ({CHECKER_ERROR}): run this notebook "
              "from the assignment's folder, the one holding nntrain/.")

try:
    import torch

    from nntrain import mode_connectivity, torch_tasks
except ImportError as exc:
    torch = torch_tasks = mode_connectivity = None
    IMPORT_ERROR = str(exc)
    print(f"PyTorch or this part's modules cannot be imported ({IMPORT_ERROR}); "
          "the cells that need them will say so.")

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


def require(module, name):
    """Raise NotImplementedError (reported by todo) when a module could not be imported."""
    if module is None:
        raise NotImplementedError(f"{name}: nntrain/{name}.py or PyTorch could not be imported")


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


digits = load_digits()
if torch is not None:
    # These networks are tiny: on a CPU, one thread is faster than several fighting over them.
    torch.set_num_threads(1)
    print("computing on", torch_tasks.default_device())

# %% [markdown]
# ## 1. The model: `make_model`
#
# For every hidden size $h$, four layers
#
# $$\texttt{Linear}(d, h) \to \texttt{BatchNorm1d}(h) \to \texttt{ReLU} \to
# \texttt{Dropout}(1 - p_{\text{keep}}),$$
#
# then a final `Linear` to the class scores. PyTorch's `nn.Dropout` takes the probability of
# *dropping* a unit; the lecture's $p$ is the probability of keeping one. Initialize every
# `Linear` with He's $W \sim \mathcal N(0, 2 / \text{fan\_in})$ and zero biases. The cell prints
# your model and compares each layer's initial weight standard deviation with
# $\sqrt{2 / \text{fan\_in}}$.

# %%
with todo():
    require(torch_tasks, "torch_tasks")
    torch.manual_seed(0)
    model = torch_tasks.make_model(64, 10, hidden=(128, 64), keep_prob=0.8)
    print(model)
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            std = float(layer.weight.detach().std())
            print(f"Linear({layer.in_features}, {layer.out_features}): weight std {std:.4f} "
                  f"(He: {np.sqrt(2 / layer.in_features):.4f}), "
                  f"largest |bias| {float(layer.bias.detach().abs().max()):.1e}")
    record(layer_types=[type(layer).__name__ for layer in model])

# %% [markdown]
# ## 2. Training: `train` and `predict`
#
# `train(model, X_train, y_train, X_val, y_val, epochs=30, ...)` runs the recipe and leaves
# the model holding the weights it judges best (the EMA or the live weights, of the best
# epoch); it returns the history `{"train_loss": [...], "val_acc": [...], "best_epoch": ...}`.
# `predict(model, X)` returns the predicted labels, with the model in evaluation mode
# (`model.eval()`: dropout off, batch norm's running statistics) and without gradients.

# %%
with todo():
    require(torch_tasks, "torch_tasks")
    model = torch_tasks.make_model(64, 10)
    history = torch_tasks.train(model, digits["X_train"], digits["y_train"], digits["X_val"],
                                digits["y_val"], epochs=30, seed=0)
    predictions = torch_tasks.predict(model, digits["X_test"])
    test_acc = float(np.mean(predictions == digits["y_test"]))
    best = history["best_epoch"]
    print(f"{len(history['val_acc'])} epochs; best epoch {best} with validation accuracy "
          f"{history['val_acc'][best]:.3f}; test accuracy {test_acc:.3f}")
    record(torch_test_acc=test_acc, torch_epochs_run=len(history["val_acc"]),
           torch_best_epoch=best)

    fig, ax = plt.subplots(1, 2, figsize=(12, 3.6))
    ax[0].plot(history["train_loss"], "o-")
    ax[0].set_title("training loss (augmented batches, dropout on)")
    ax[1].plot(history["val_acc"], "o-")
    ax[1].set_title("validation accuracy")
    for a in ax:
        a.axvline(best, color="green", ls="--", label=f"best epoch ({best})")
        a.set_xlabel("epoch")
        a.legend()
    fig.tight_layout()
    show(fig)

# %%
_ = check("torch_training")

# %% [markdown]
# ### Questions
#
# **Q1.** Why must `predict` call `model.eval()`? What would batch normalization and dropout
# do to a prediction made in training mode, for a batch of one image?
#
# **Q2.** PyTorch's `AdamW(lr, weight_decay=wd)` shrinks the weights by $\text{lr} \cdot
# \text{wd}$ per step, while `nntrain.optim.adamw` shrinks them by $\text{wd}$. Which
# `weight_decay` gives your numpy AdamW the same steps as `torch.optim.AdamW(lr=3e-3,
# weight_decay=1e-2)`? And what does the cosine schedule do to the decay?
#
# *Your answers:*

# %% [markdown]
# ## 3. Extra credit: mode connectivity
#
# Train two networks $w_1$ and $w_2$ from different random initializations (the provided
# `train_mlp`, a 64-32-32-10 ReLU network trained with Adam). Both reach a low loss; are they
# in the same valley? Along the straight line $w(t) = (1 - t)\, w_1 + t\, w_2$ the loss rises
# far above the ends: a barrier. Garipov et al. look instead for a curve, the quadratic
# Bezier curve with one free bend $\theta$,
#
# $$\phi_\theta(t) = (1 - t)^2\, w_1 + 2t(1 - t)\, \theta + t^2\, w_2, \qquad t \in [0, 1],$$
#
# and train $\theta$ to minimize the loss averaged along the curve,
#
# $$\min_\theta\ \mathbb E_{t \sim U(0, 1)}\, L\big(\phi_\theta(t)\big),$$
#
# stochastically: one $t$ per mini-batch, gradients to $\theta$ only. Implement
# `bezier_point`, `line_point` and `fit_bezier` (start $\theta$ at the midpoint
# $(w_1 + w_2)/2$, where the curve is the straight line).

# %%
endpoints = {}
with todo():
    require(mode_connectivity, "mode_connectivity")
    for seed in (1, 2):
        endpoints[seed] = mode_connectivity.train_mlp(digits["X_train"], digits["y_train"],
                                                      seed=seed)
    w1, w2 = endpoints[1], endpoints[2]
    for name, w in (("w1", w1), ("w2", w2)):
        scores = mode_connectivity.mlp_forward(w, digits["X_test"])
        loss = mode_connectivity.mean_cross_entropy(scores, digits["y_test"])
        print(f"{name}: test loss {loss:.3f}, "
              f"test accuracy {np.mean(scores.argmax(axis=1) == digits['y_test']):.3f}")
    distance = np.sqrt(sum(np.sum((w1[k] - w2[k]) ** 2) for k in w1))
    print(f"distance between w1 and w2: {distance:.1f}")

# %%
curve_fit = {}
with todo():
    require(mode_connectivity, "mode_connectivity")
    if len(endpoints) == 2:
        mid = mode_connectivity.line_point(w1, w2, 0.5)
        same = all(np.allclose(mode_connectivity.bezier_point(w1, mid, w2, 0.3)[k],
                               mode_connectivity.line_point(w1, w2, 0.3)[k]) for k in w1)
        print("with theta at the midpoint the curve is the line:", same)
        curve_fit["theta"] = mode_connectivity.fit_bezier(w1, w2, digits["X_train"],
                                                          digits["y_train"], steps=1500, seed=0)
        ts, line, curve = mode_connectivity.path_losses(w1, curve_fit["theta"], w2,
                                                        digits["X_test"], digits["y_test"])
        line_barrier = mode_connectivity.barrier(ts, line)
        curve_barrier = mode_connectivity.barrier(ts, curve)
        print(f"test-loss barrier: straight line {line_barrier:.3f} nats, "
              f"Bezier curve {curve_barrier:.3f} nats")
        record(line_barrier=line_barrier, curve_barrier=curve_barrier,
               line_losses=line, curve_losses=curve)

        fig, ax = plt.subplots(figsize=(7, 3.8))
        ax.plot(ts, line, "o-", label="straight line")
        ax.plot(ts, curve, "o-", label="Bezier curve (trained bend)")
        ax.set_xlabel("t")
        ax.set_ylabel("test loss (nats)")
        ax.legend()
        show(fig)

# %% [markdown]
# ### The loss surface through $w_1$, $w_2$ and $\theta$
#
# The three points span a plane in weight space, and the whole Bezier curve lies in it (each
# of its points is a weighted average of the three). Take orthonormal axes $u \parallel w_2 -
# w_1$ and $v$ along the part of $\theta - w_1$ orthogonal to $u$, and evaluate the test loss
# at $w_1 + a\,u + b\,v$ over a grid of $(a, b)$.

# %%
def flatten(params, keys):
    """One vector holding the arrays of `params` in the order of `keys`."""
    return np.concatenate([params[k].ravel() for k in keys])


def unflatten(vector, like, keys):
    """The dictionary with the shapes of `like` read back from a flat vector."""
    out, start = {}, 0
    for k in keys:
        size = like[k].size
        out[k] = vector[start:start + size].reshape(like[k].shape)
        start += size
    return out


def loss_plane(w1, theta, w2, X, y, num=31):
    """Test loss over the plane through w1, w2, theta, with the three points' coordinates."""
    keys = sorted(w1)
    p1, pt, p2 = (flatten(w, keys) for w in (w1, theta, w2))
    u = (p2 - p1) / np.linalg.norm(p2 - p1)
    v = (pt - p1) - np.dot(pt - p1, u) * u
    v /= np.linalg.norm(v)
    coords = {name: (np.dot(p - p1, u), np.dot(p - p1, v))
              for name, p in (("w1", p1), ("theta", pt), ("w2", p2))}
    a = np.linspace(-0.25, 1.25, num) * coords["w2"][0]
    b = np.linspace(-0.5, 1.3, num) * coords["theta"][1]
    losses = np.empty((num, num))
    for i, bi in enumerate(b):
        for j, aj in enumerate(a):
            w = unflatten(p1 + aj * u + bi * v, w1, keys)
            losses[i, j] = mode_connectivity.mean_cross_entropy(
                mode_connectivity.mlp_forward(w, X), y)
    return a, b, losses, coords


with todo():
    require(mode_connectivity, "mode_connectivity")
    if "theta" in curve_fit:
        a, b, losses, coords = loss_plane(w1, curve_fit["theta"], w2, digits["X_test"],
                                          digits["y_test"])
        fig, ax = plt.subplots(figsize=(8, 5.5))
        levels = np.quantile(losses, np.linspace(0, 0.95, 20))
        surface = ax.contourf(a, b, np.log10(losses), levels=np.log10(np.unique(levels)),
                              cmap="viridis_r", extend="max")
        fig.colorbar(surface, label="log10 test loss")
        t = np.linspace(0, 1, 50)[:, None]
        (x1, y1), (xt, yt), (x2, y2) = coords["w1"], coords["theta"], coords["w2"]
        ax.plot((1 - t) ** 2 * x1 + 2 * t * (1 - t) * xt + t**2 * x2,
                (1 - t) ** 2 * y1 + 2 * t * (1 - t) * yt + t**2 * y2, "w-", lw=2,
                label="Bezier curve")
        ax.plot([x1, x2], [y1, y2], "r--", lw=1.5, label="straight line")
        for name, (x, y) in coords.items():
            ax.plot(x, y, "k*" if name != "theta" else "wo", ms=12)
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6), color="k")
        ax.legend(loc="lower right")
        ax.set_title("test loss in the plane of w1, w2 and the bend theta")
        show(fig)
        record(plane_loss_min=losses.min(), plane_loss_max=losses.max())

# %%
_ = check("mode_connectivity")

# %% [markdown]
# ### Questions
#
# **Q3.** The two endpoints have about the same loss, and so does every point of the curve.
# Why is the midpoint of the straight line so much worse? (Think of what swapping two hidden
# units does to a network's function and to its weight vector.)
#
# **Q4.** Garipov et al. use such curves for *fast ensembling*: averaging the predictions of
# networks sampled along the curve. Why would that beat a single network, and why is it
# cheaper than training several networks from scratch?
#
# *Your answers:*

# %% [markdown]
# ## Summary
#
# The numbers this notebook found, on one line (the course's own tests read it):

# %%
print("RESULT", json.dumps(findings))
