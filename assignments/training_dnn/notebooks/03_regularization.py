# Notebook source (percent format): `autograder.notebooks` builds the .ipynb from it.

# %% [markdown]
# # Part 3: Regularization
#
# *Training Deep Neural Networks*, part 3 of 5.
#
# A network big enough to fit the training data well can also fit its noise. Regularization
# is whatever we add to keep the validation error close to the training error: a penalty on
# the weights (L2, L1), noise in the forward pass (dropout), more varied data (augmentation),
# stopping at the right time (early stopping), and averaging the weights over the last
# steps (an exponential moving average, Polyak averaging).
#
# ## Your to-do list
#
# - [ ] `nntrain/regularization.py`, checked by `check("dropout_regularization")`:
#   `dropout_forward`, `dropout_backward`, `l2_regularization`, `l1_regularization`.
# - [ ] `nntrain/regularization.py`, checked by `check("augmentation_early_stopping_ema")`:
#   `random_horizontal_flip`, `random_crop`, `random_contrast`, `add_gaussian_noise`,
#   the class `EarlyStopping`, `ema_update`.
#
# Each function's docstring gives its shapes and formula; until you write it, it raises
# `NotImplementedError` with a hint, and the cells below that need it say so and move on.
# The training experiments also use your ReLU from part 1.

# %%
import contextlib
import json

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from nntrain import gradient_check, layers, regularization
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


digits = load_digits()

# %% [markdown]
# ## 1. Dropout
#
# In the forward pass, dropout sets each hidden unit to zero at random, keeping it with
# probability $p$ (the lecture's $p$ is the probability of **keeping** a unit). The network
# cannot rely on any one unit, and each mini-batch trains a different "thinned" network: a
# large ensemble sharing its weights.
#
# At test time we want the ensemble's average, $E_m[f(x, m)]$. For a unit's output this is
# $E[m\, x] = p\, x$, so plain dropout would have to multiply by $p$ at test time.
# **Inverted dropout** divides by $p$ during training instead,
#
# $$m_j = \frac{[u_j < p]}{p}, \quad u_j \sim U[0, 1), \qquad
# y = x \odot m \ \text{(train)}, \qquad y = x \ \text{(test)},$$
#
# so that $E[y] = p \cdot \frac{x}{p} = x$ and the **test-time pass is unchanged**: no
# scaling, no extra work where speed matters. Backward: $\mathrm dx = \mathrm dy \odot m$.

# %%
with todo():
    x = np.random.default_rng(2024).random((500, 400)) + 0.5
    for p in (0.25, 0.5, 0.75):
        train_out, _ = regularization.dropout_forward(x, {"p": p, "mode": "train", "seed": 0})
        test_out, _ = regularization.dropout_forward(x, {"p": p, "mode": "test"})
        kept = np.mean(train_out != 0)
        ratio = train_out.mean() / x.mean()
        print(f"p = {p}: kept {kept:.3f} of the units, mean(train output) / mean(x) = "
              f"{ratio:.4f}, test output == x: {np.array_equal(test_out, x)}")
        record(**{f"dropout_kept_{p}": kept, f"dropout_mean_ratio_{p}": ratio,
                  f"dropout_test_identity_{p}": bool(np.array_equal(test_out, x))})
    a, _ = regularization.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    b, _ = regularization.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    print("the same seed gives the same mask:", np.array_equal(a, b))

# %%
def grad_error(f, x, dout, analytic):
    """Relative error between an analytic gradient and the numeric one of f at x."""
    numeric = gradient_check.eval_numerical_gradient_array(f, x, dout)
    return gradient_check.rel_error(numeric, analytic)


with todo():
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal((10, 10)) + 10, rng.standard_normal((10, 10))
    param = {"p": 0.6, "mode": "train", "seed": 123}
    dx = regularization.dropout_backward(dout, regularization.dropout_forward(x, param)[1])
    error = grad_error(lambda v: regularization.dropout_forward(v, param)[0], x, dout, dx)
    print(f"dropout_backward: dx error {error:.2e}")
    record(dropout_grad_error=error)

# %% [markdown]
# ## 2. L2 and L1 penalties
#
# A penalty $\lambda R(W)$ on the weights is added to the data loss:
#
# $$L_2:\ R = \tfrac{\lambda}{2} \sum W^2,\ \ \frac{\partial R}{\partial W} = \lambda W;
# \qquad
# L_1:\ R = \lambda \sum |W|,\ \ \frac{\partial R}{\partial W} = \lambda\, \operatorname{sign}(W).$$
#
# With gradient descent, L2 shrinks every weight by a constant *factor*
# ($W \leftarrow (1 - \eta\lambda) W - \eta\, \partial L / \partial W$, "weight decay"): big
# weights shrink fast, small ones slowly, and none reach zero. L1 subtracts a constant
# *amount* $\eta\lambda$ whatever the weight's size, so weights the data does not need are
# driven to zero: L1 makes the weights **sparse**.

# %%
with todo():
    W = np.random.default_rng(2).standard_normal((5, 4))
    for name in ("l2_regularization", "l1_regularization"):
        penalty = getattr(regularization, name)
        loss, dW = penalty(W, 0.3)
        numeric = gradient_check.eval_numerical_gradient(lambda w, p=penalty: p(w, 0.3)[0], W)
        print(f"{name}: penalty {loss:.4f}, dW error {gradient_check.rel_error(numeric, dW):.2e}")

# %%
_ = check("dropout_regularization")

# %% [markdown]
# Now train the same softmax classifier (no hidden layer: its weights are one 8x8 template
# per class) on the digits with an L2 and with an L1 penalty of comparable effect, using
# plain gradient descent, and compare the weights.

# %%
def train_sgd(model, data, lr, epochs=10, batch_size=50, momentum=0.0, seed=0,
              evaluate=None, ema_decay=None):
    """Mini-batch SGD (with optional momentum) on model.loss.

    Inputs:
    - evaluate: None, or a function (params) -> dict of numbers, called after every epoch
    - ema_decay: None, or the decay of an exponential moving average of the weights;
      `evaluate` is then also called on the average

    Returns a dict: "step_loss", the training loss of every step; "val_<key>", one list per
    key of `evaluate`'s result, and "ema_val_<key>" for the average when there is one.
    """
    rng = np.random.default_rng(seed)
    X, y = data["X_train"], data["y_train"]
    velocity = {k: np.zeros_like(w) for k, w in model.params.items()}
    ema, history = {}, {"step_loss": []}
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X) - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = model.loss(X[idx], y[idx])
            history["step_loss"].append(loss)
            for k in model.params:
                velocity[k] = momentum * velocity[k] - lr * grads[k]
                model.params[k] = model.params[k] + velocity[k]
            if ema_decay is not None:
                ema = regularization.ema_update(ema, model.params, ema_decay)
        for prefix, params in (("", model.params), ("ema_", ema)):
            if evaluate is not None and params:
                for key, value in evaluate(params).items():
                    history.setdefault(f"{prefix}val_{key}", []).append(value)
    history["ema"] = ema
    return history


def metrics(model, params, X, y):
    """Loss and accuracy of `model` with the weights `params` on (X, y)."""
    kept = model.params
    model.params = params
    try:
        scores = model.loss(X)
    finally:
        model.params = kept
    loss, _ = layers.softmax_loss(scores, y)
    return {"loss": loss, "acc": float(np.mean(np.argmax(scores, axis=1) == y))}


penalized = {}
for reg_type, reg in (("l2", 0.01), ("l1", 0.002)):
    with todo():
        model = FullyConnectedNet([], reg=reg, reg_type=reg_type, weight_scale=0.01, seed=0)
        train_sgd(model, digits, lr=0.1, epochs=30)
        W = model.params["W1"]
        acc = metrics(model, model.params, digits["X_val"], digits["y_val"])["acc"]
        near_zero = float(np.mean(np.abs(W) < 1e-3))
        penalized[reg_type] = W
        print(f"{reg_type.upper()} (lambda = {reg}): validation accuracy {acc:.3f}, "
              f"{100 * near_zero:.1f}% of the weights within 1e-3 of zero")
        record(**{f"{reg_type}_near_zero": near_zero, f"{reg_type}_val_acc": acc})

if len(penalized) == 2:
    fig = plt.figure(figsize=(13, 5))
    grid = fig.add_gridspec(2, 12)
    for row, (reg_type, W) in enumerate(penalized.items()):
        hist = fig.add_subplot(grid[row, :2])
        hist.hist(W.ravel(), bins=60)
        hist.set_title(f"{reg_type.upper()} weights")
        limit = np.abs(W).max()
        for c in range(10):
            ax = fig.add_subplot(grid[row, c + 2])
            ax.imshow(W[:, c].reshape(8, 8), cmap="RdBu", vmin=-limit, vmax=limit)
            ax.set_title(f"class {c}", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    show(fig)

# %% [markdown]
# ## 3. Data augmentation
#
# Transform each training image at random, in ways that do not change its label, and the
# network sees a new variant of every image at every epoch. Implement the four
# transformations for images of shape $(N, C, H, W)$, each taking a
# `numpy.random.Generator`:
#
# - horizontal flip with probability $p$: $x_{:, :, ::-1}$;
# - random crop: pad by $k$ zeros on each side, take an $H \times W$ window at a random offset
#   (a random translation by up to $k$ pixels);
# - random contrast: $(x - m) f + m$, with $m$ the image's mean and $f \sim U[0.8, 1.2]$;
# - Gaussian noise: $x + n$, $n \sim \mathcal N(0, \sigma^2)$.

# %%
AUGMENTATIONS = {
    "flip (p = 1)": lambda x, rng: regularization.random_horizontal_flip(x, rng, p=1.0),
    "crop (padding 2)": lambda x, rng: regularization.random_crop(x, rng, padding=2),
    "contrast [0.5, 1.5]": lambda x, rng: regularization.random_contrast(x, rng, 0.5, 1.5),
    "noise (std 0.15)": lambda x, rng: regularization.add_gaussian_noise(x, rng, std=0.15),
    "crop + contrast + noise": lambda x, rng: regularization.add_gaussian_noise(
        regularization.random_contrast(regularization.random_crop(x, rng), rng), rng),
}
originals = digits["X_train"][:8]
gallery = {"original": originals}
for name, augment in AUGMENTATIONS.items():
    with todo():
        out = augment(originals, np.random.default_rng(0))
        assert out.shape == originals.shape and out.dtype == originals.dtype
        gallery[name] = out

fig, axes = plt.subplots(len(gallery), 8, figsize=(10, 1.4 * len(gallery)), squeeze=False)
for r, (name, images) in enumerate(gallery.items()):
    for c in range(8):
        axes[r, c].imshow(images[c, 0], cmap="gray", vmin=0, vmax=1)
        axes[r, c].set_xticks([])
        axes[r, c].set_yticks([])
    axes[r, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
fig.tight_layout()
show(fig)
record(augmentations_shown=len(gallery) - 1)

# %% [markdown]
# ## 4. Early stopping
#
# Train for a long time, watch the validation accuracy after every epoch, and keep the
# weights of the best epoch; stop once the validation accuracy has not improved for
# `patience` epochs in a row. Implement `EarlyStopping(patience)`: `step(val_metric)` returns
# `True` when it is time to stop, and `best_epoch` is the 0-based index of the best call.
#
# To make overfitting show on these easy digits, the experiment trains on 300 images of
# which 30% carry a random label: the network first learns the digits, then memorizes the
# wrong labels, and its validation accuracy falls.

# %%
def noisy_labels(data, n=300, fraction=0.3, seed=0):
    """The first n training images, with a `fraction` of their labels replaced at random."""
    rng = np.random.default_rng(seed)
    y = data["y_train"][:n].copy()
    flip = rng.random(n) < fraction
    y[flip] = rng.integers(0, 10, flip.sum())
    return {**data, "X_train": data["X_train"][:n], "y_train": y}


with todo():
    noisy = noisy_labels(digits)
    model = FullyConnectedNet([100, 100], weight_scale="he", seed=0)
    history = train_sgd(model, noisy, lr=0.1, epochs=100, batch_size=20,
                        evaluate=lambda p: metrics(model, p, digits["X_val"], digits["y_val"]))
    stopper = regularization.EarlyStopping(patience=10)
    stop_epoch = None
    for epoch, acc in enumerate(history["val_acc"]):
        if stopper.step(acc):
            stop_epoch = epoch
            break
    best = stopper.best_epoch
    print(f"early stopping (patience 10) stops after epoch {stop_epoch} and keeps epoch {best}: "
          f"validation accuracy {history['val_acc'][best]:.3f}, against "
          f"{history['val_acc'][-1]:.3f} after all 100 epochs")
    record(early_stop_epoch=stop_epoch, early_best_epoch=best,
           early_best_acc=history["val_acc"][best], early_final_acc=history["val_acc"][-1])

    train_loss = np.mean(np.reshape(history["step_loss"], (100, -1)), axis=1)
    fig, ax = plt.subplots(1, 2, figsize=(12, 3.8))
    ax[0].plot(train_loss, label="training loss (noisy labels)")
    ax[0].plot(history["val_loss"], label="validation loss")
    ax[1].plot(history["val_acc"], label="validation accuracy")
    for a in ax:
        a.set_xlabel("epoch")
        a.axvline(best, color="green", ls="--", label=f"best epoch ({best})")
        if stop_epoch is not None:
            a.axvline(stop_epoch, color="red", ls=":", label=f"stop ({stop_epoch})")
        a.legend()
    fig.tight_layout()
    show(fig)

# %% [markdown]
# ## 5. Averaging the weights: an exponential moving average
#
# Polyak averaging keeps, next to the weights $\theta_t$ that SGD updates, the average
#
# $$\bar\theta_t = \beta\, \bar\theta_{t-1} + (1 - \beta)\, \theta_t, \qquad \beta = 0.99,$$
#
# and evaluates with $\bar\theta$: a cheap ensemble of the last $\approx 1 / (1 - \beta)$
# steps, which smooths out the noise of large, noisy steps. Implement `ema_update(ema, params,
# decay)` (a missing key starts at the parameter's value). The cell trains with a large
# learning rate and small batches, on purpose noisy, and evaluates the raw and the averaged
# weights on the validation set after every epoch.

# %%
with todo():
    model = FullyConnectedNet([100], weight_scale="he", seed=0)
    history = train_sgd(model, digits, lr=0.5, epochs=15, batch_size=10, ema_decay=0.99,
                        evaluate=lambda p: metrics(model, p, digits["X_val"], digits["y_val"]))
    fig, ax = plt.subplots(1, 2, figsize=(12, 3.8))
    for prefix, label in (("", "raw weights"), ("ema_", "EMA of the weights")):
        ax[0].plot(history[prefix + "val_loss"], "o-", label=label)
        ax[1].plot(history[prefix + "val_acc"], "o-", label=label)
    ax[0].set_title("validation loss")
    ax[1].set_title("validation accuracy")
    for a in ax:
        a.set_xlabel("epoch")
        a.legend()
    fig.tight_layout()
    show(fig)
    half = len(history["val_acc"]) // 2
    for prefix, label in (("", "raw"), ("ema_", "EMA")):
        loss = np.asarray(history[prefix + "val_loss"][half:])
        print(f"{label:>4}, last {len(loss)} epochs: validation loss {loss.mean():.4f} "
              f"(std {loss.std():.4f}), "
              f"accuracy {np.mean(history[prefix + 'val_acc'][half:]):.4f}")
        record(**{f"{prefix or 'raw_'}val_loss_mean": loss.mean(),
                  f"{prefix or 'raw_'}val_loss_std": loss.std()})

# %%
_ = check("augmentation_early_stopping_ema")

# %% [markdown]
# ### Questions
#
# **Q1.** With inverted dropout, why is nothing scaled at test time? What would you have to
# change at test time if the training pass kept units with probability $p$ *without*
# dividing by $p$?
#
# **Q2.** Look at the L1 and L2 templates. Which pixels does L1 set to zero, and why those?
# Why does plain gradient descent with the L1 subgradient leave weights jittering around
# zero instead of exactly at zero?
#
# **Q3.** Which of the augmentations in the gallery would you *not* use for digits, and why?
# Would your answer change for photographs of cats?
#
# **Q4.** In the early-stopping experiment, how many epochs after the best one did training
# stop, and what did the patience buy? What does the EMA experiment suggest about
# evaluating the last raw weights of a noisy run?
#
# *Your answers:*

# %% [markdown]
# ## Summary
#
# The numbers this notebook found, on one line (the course's own tests read it):

# %%
print("RESULT", json.dumps(findings))
