# Notebook source (percent format): `autograder.notebooks` builds the .ipynb from it.

# %% [markdown]
# # Part 2: Normalization and preprocessing
#
# *Training Deep Neural Networks*, part 2 of 5.
#
# Part 1 showed that a deep network trains only when its activations keep a reasonable
# scale, and that a careful initialization buys this at the start of training. **Batch
# normalization** enforces it at every step instead: each layer's pre-activations are
# normalized to zero mean and unit variance over the mini-batch, then scaled and shifted by
# learned parameters. **Layer normalization** does the same per example. **Preprocessing**
# does it once for the inputs: zero-centering and standardizing with statistics of the
# training set.
#
# ## Your to-do list
#
# - [ ] `nntrain/normalization.py`, checked by `check("normalization")`: `batchnorm_forward`,
#   `batchnorm_backward`, `batchnorm_backward_alt`, `layernorm_forward`,
#   `layernorm_backward`.
# - [ ] `nntrain/preprocessing.py`, checked by `check("preprocessing")`: `fit_center`,
#   `apply_center`, `fit_standardize`, `apply_standardize`.
#
# Each function's docstring gives its shapes and formula; until you write it, it raises
# `NotImplementedError` with a hint, and the cells below that need it say so and move on.
# The training experiments also use your ReLU from part 1.

# %%
import contextlib
import json
import time

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from nntrain import gradient_check, normalization, preprocessing
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
# ## 1. Batch normalization
#
# For a mini-batch $\mathcal B = \{x_1, \dots, x_m\}$ of pre-activations, per feature:
#
# $$\mu_{\mathcal B} = \frac1m \sum_{i=1}^m x_i, \qquad
# \sigma^2_{\mathcal B} = \frac1m \sum_{i=1}^m (x_i - \mu_{\mathcal B})^2, \qquad
# \hat x_i = \frac{x_i - \mu_{\mathcal B}}{\sqrt{\sigma^2_{\mathcal B} + \epsilon}}, \qquad
# y_i = \gamma \hat x_i + \beta.$$
#
# The learned $\gamma$ and $\beta$ let the network undo the normalization where that helps
# ($\gamma = \sqrt{\sigma^2 + \epsilon}$, $\beta = \mu$ recovers the identity). At **test
# time** there is no batch: the layer uses running averages kept during training,
#
# $$\mu_{\text{run}} \leftarrow m\, \mu_{\text{run}} + (1 - m)\, \mu_{\mathcal B}, \qquad
# \sigma^2_{\text{run}} \leftarrow m\, \sigma^2_{\text{run}} + (1 - m)\, \sigma^2_{\mathcal B},
# \qquad m = 0.9 \text{ (momentum)},$$
#
# so that the test-time layer is a fixed affine map. Implement `batchnorm_forward`. The
# cell feeds it features with means around 5 to 20 and scales around 1 to 10.

# %%
rng = np.random.default_rng(0)
x = 5 + 15 * rng.random(4) + rng.standard_normal((200, 4)) * np.array([1.0, 3.0, 5.0, 10.0])
with todo():
    print("before: means", np.round(x.mean(axis=0), 2), " stds", np.round(x.std(axis=0), 2))
    out, _ = normalization.batchnorm_forward(x, np.ones(4), np.zeros(4), {"mode": "train"})
    print("gamma = 1, beta = 0:  means", np.round(out.mean(axis=0), 6),
          " stds", np.round(out.std(axis=0), 4))
    gamma, beta = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, -1.0, 1.0, 2.0])
    out, _ = normalization.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    print("gamma = 1..4, beta = 0,-1,1,2: means", np.round(out.mean(axis=0), 4),
          " stds", np.round(out.std(axis=0), 4))
    record(bn_train_stds=out.std(axis=0), bn_train_means=out.mean(axis=0))

# %% [markdown]
# ### Train mode, test mode and the running statistics
#
# Run many train-mode forward passes on batches from a fixed distribution and watch
# `bn_param["running_mean"]` and `bn_param["running_var"]` converge to the distribution's
# mean and variance. Then use them in test mode.

# %%
def running_statistics(steps=60, batch=50, seed=0):
    """Running mean/var of one feature over `steps` train-mode passes on N(5, 3^2) batches."""
    rng = np.random.default_rng(seed)
    bn_param = {"mode": "train"}
    means, variances = [], []
    for _ in range(steps):
        xb = 5.0 + 3.0 * rng.standard_normal((batch, 3))
        normalization.batchnorm_forward(xb, np.ones(3), np.zeros(3), bn_param)
        means.append(bn_param["running_mean"][0])
        variances.append(bn_param["running_var"][0])
    return bn_param, np.array(means), np.array(variances)


with todo():
    bn_param, means, variances = running_statistics()
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.2))
    ax[0].plot(means)
    ax[0].axhline(5.0, ls="--", color="grey")
    ax[0].set_title("running_mean (true mean 5)")
    ax[1].plot(variances)
    ax[1].axhline(9.0, ls="--", color="grey")
    ax[1].set_title("running_var (true variance 9)")
    for a in ax:
        a.set_xlabel("train-mode forward passes")
    fig.tight_layout()
    show(fig)
    print(f"after 60 passes: running mean {means[-1]:.3f}, running var {variances[-1]:.3f}")
    record(running_mean=means[-1], running_var=variances[-1])

    # Test mode: one example, normalized with the running statistics, whatever the batch.
    bn_param["mode"] = "test"
    one = np.array([[8.0, 8.0, 8.0]])
    alone, _ = normalization.batchnorm_forward(one, np.ones(3), np.zeros(3), bn_param)
    crowd = np.vstack([one, 5.0 + 3.0 * np.random.default_rng(1).standard_normal((9, 3))])
    in_crowd, _ = normalization.batchnorm_forward(crowd, np.ones(3), np.zeros(3), bn_param)
    print("test mode, x = 8: alone", np.round(alone[0], 4), " in a batch",
          np.round(in_crowd[0], 4), " ((8 - 5) / 3 = 1)")
    # Train mode on a batch of one: the batch mean is the example itself.
    single, _ = normalization.batchnorm_forward(one, np.ones(3), np.full(3, 0.5),
                                                {"mode": "train"})
    print("train mode on a batch of one (beta = 0.5):", single[0])
    record(test_mode_alone=alone[0], test_mode_in_batch=in_crowd[0],
           train_mode_single=single[0])

# %% [markdown]
# ### The backward pass
#
# `batchnorm_backward` backpropagates through the computation graph stage by stage
# ($x \to \mu \to x - \mu \to \sigma^2 \to \hat x \to y$). Working the sums out by hand gives
# the closed form for `batchnorm_backward_alt`, with $\mathrm d\hat x = \gamma \odot
# \mathrm dy$:
#
# $$\mathrm d\gamma = \sum_i \mathrm dy_i \odot \hat x_i, \qquad
# \mathrm d\beta = \sum_i \mathrm dy_i, \qquad
# \mathrm dx_i = \frac{1}{m \sqrt{\sigma^2_{\mathcal B} + \epsilon}}
# \Big(m\, \mathrm d\hat x_i - \sum_j \mathrm d\hat x_j
# - \hat x_i \sum_j \mathrm d\hat x_j \odot \hat x_j\Big).$$
#
# Both must match the numeric gradients, and each other.

# %%
def grad_error(f, x, dout, analytic):
    """Relative error between an analytic gradient and the numeric one of f at x."""
    numeric = gradient_check.eval_numerical_gradient_array(f, x, dout)
    return gradient_check.rel_error(numeric, analytic)


def check_norm(forward, backward, param, seed=0):
    """Numeric gradient check of a normalization layer in x, gamma and beta."""
    rng = np.random.default_rng(seed)
    x = 5 * rng.standard_normal((4, 5)) + 12
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))
    dx, dgamma, dbeta = backward(dout, forward(x, gamma, beta, dict(param))[1])
    return {
        "dx": grad_error(lambda v: forward(v, gamma, beta, dict(param))[0], x, dout, dx),
        "dgamma": grad_error(lambda v: forward(x, v, beta, dict(param))[0], gamma, dout, dgamma),
        "dbeta": grad_error(lambda v: forward(x, gamma, v, dict(param))[0], beta, dout, dbeta),
    }


norm_errors = {}
CHECKS = {
    "batchnorm_backward": (normalization.batchnorm_forward, normalization.batchnorm_backward,
                           {"mode": "train"}),
    "batchnorm_backward_alt": (normalization.batchnorm_forward,
                               normalization.batchnorm_backward_alt, {"mode": "train"}),
    "layernorm_backward": (normalization.layernorm_forward, normalization.layernorm_backward,
                           {}),
}
for name, (forward, backward, param) in CHECKS.items():
    with todo():
        errors = check_norm(forward, backward, param)
        norm_errors[name] = max(errors.values())
        print(f"{name:>22}: " + ", ".join(f"{k} error {v:.2e}" for k, v in errors.items()))
record(norm_grad_errors=norm_errors)

# %%
with todo():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 200))
    dout = rng.standard_normal((500, 200))
    gamma, beta = rng.standard_normal(200), rng.standard_normal(200)
    _, cache = normalization.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    seconds = {}
    grads = {}
    for name in ("batchnorm_backward", "batchnorm_backward_alt"):
        start = time.perf_counter()
        for _ in range(20):
            grads[name] = getattr(normalization, name)(dout, cache)
        seconds[name] = (time.perf_counter() - start) / 20
    diff = max(gradient_check.rel_error(a, b) for a, b in
               zip(grads["batchnorm_backward"], grads["batchnorm_backward_alt"], strict=True))
    print(f"graph: {1e3 * seconds['batchnorm_backward']:.2f} ms, closed form: "
          f"{1e3 * seconds['batchnorm_backward_alt']:.2f} ms per call; "
          f"largest difference {diff:.1e}")
    record(bn_alt_difference=diff)

# %% [markdown]
# ## 2. Layer normalization
#
# Layer normalization computes the same statistics **per example, over the features**
# ($\mu_i = \frac1D \sum_j x_{ij}$, and so on), so it needs no batch: it behaves the same in
# training and at test time and works with a batch of one (and in recurrent networks).
# Implement `layernorm_forward` and `layernorm_backward` (its gradient check is above).

# %%
with todo():
    x = np.random.default_rng(2).standard_normal((3, 6)) * np.array([[1.0], [5.0], [20.0]]) + 3
    out, _ = normalization.layernorm_forward(x, np.ones(6), np.zeros(6), {})
    print("per example, before: means", np.round(x.mean(axis=1), 3),
          "stds", np.round(x.std(axis=1), 3))
    print("per example, after:  means", np.round(out.mean(axis=1), 6),
          "stds", np.round(out.std(axis=1), 4))
    single, _ = normalization.layernorm_forward(x[:1], np.ones(6), np.zeros(6), {})
    print("a batch of one gives the same output:", np.allclose(single[0], out[0]))
    record(layernorm_stds=out.std(axis=1))

# %%
_ = check("normalization")

# %% [markdown]
# ## 3. Batch normalization reduces the strong dependence on initialization
#
# The lecture's claim, tested: train 6-layer networks (5 hidden layers of 50 ReLU units) on
# the 8x8 digits, from weights $W \sim \mathcal N(0, s^2)$ with scales $s$ from $10^{-4}$ to
# $1$, with and without batch normalization, with the same optimizer (gradient descent with
# momentum, written out below so that this part needs nothing from part 4) and the same
# 10 epochs. (This takes a few seconds.)

# %%
def train_sgd(model, data, lr, epochs=10, batch_size=50, momentum=0.9, seed=0):
    """Mini-batch SGD with momentum on model.loss; returns the loss of every step."""
    rng = np.random.default_rng(seed)
    X, y = data["X_train"], data["y_train"]
    velocity = {k: np.zeros_like(w) for k, w in model.params.items()}
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X) - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = model.loss(X[idx], y[idx])
            losses.append(loss)
            for k in model.params:
                velocity[k] = momentum * velocity[k] - lr * grads[k]
                model.params[k] = model.params[k] + velocity[k]
    return losses


def accuracy(model, X, y):
    """Fraction of X classified correctly (test mode: batch norm's running statistics)."""
    return float(np.mean(np.argmax(model.loss(X), axis=1) == y))


digits = load_digits()
scales = np.logspace(-4, 0, 9)
sweep = {}
with todo(), np.errstate(all="ignore"):
    for norm in (None, "batchnorm"):
        for s in scales:
            model = FullyConnectedNet([50] * 5, normalization=norm, weight_scale=s, seed=0)
            losses = train_sgd(model, digits, lr=0.05)
            sweep[norm, s] = (accuracy(model, digits["X_val"], digits["y_val"]),
                              float(np.mean(losses[-10:])), model)

if len(sweep) == 2 * len(scales):
    fig, ax = plt.subplots(1, 2, figsize=(12, 3.8))
    for norm, label in ((None, "no normalization"), ("batchnorm", "batch norm")):
        accs = [sweep[norm, s][0] for s in scales]
        final = [sweep[norm, s][1] for s in scales]
        ax[0].semilogx(scales, accs, "o-", label=label)
        ax[1].semilogx(scales, final, "o-", label=label)
        record(**{f"sweep_val_acc_{norm or 'none'}": accs})
        print(f"{label:>16}: validation accuracy " + " ".join(f"{a:.2f}" for a in accs))
    ax[0].set_title("validation accuracy after 10 epochs")
    ax[1].set_title("training loss (last 10 steps)")
    ax[1].set_ylim(0, 3)
    for a in ax:
        a.set_xlabel("weight scale s")
        a.legend()
    fig.tight_layout()
    show(fig)
    record(sweep_scales=scales)

# %% [markdown]
# Without normalization only a narrow band of scales trains at all: below it the signal and
# the gradients vanish through the layers (part 1's collapse), above it they explode. With
# batch normalization every layer's pre-activations are rescaled to unit variance whatever
# $s$ is, so the same learning rate works across four orders of magnitude.
#
# The running statistics matter at test time. Take the batch-norm network trained from
# $s = 0.01$ and evaluate it with its running statistics, then with the running statistics
# left at their initial values (mean 0, variance 1), as if the training had never updated
# them:

# %%
if ("batchnorm", scales[4]) in sweep:
    model = sweep["batchnorm", scales[4]][2]
    with_running = accuracy(model, digits["X_val"], digits["y_val"])
    kept = model.bn_params
    model.bn_params = [{"mode": "test", "running_mean": np.zeros_like(p["running_mean"]),
                        "running_var": np.ones_like(p["running_var"])} for p in kept]
    with_initial = accuracy(model, digits["X_val"], digits["y_val"])
    model.bn_params = kept
    print(f"validation accuracy with the running statistics: {with_running:.3f}; "
          f"with mean 0 and variance 1 instead: {with_initial:.3f}")
    record(acc_running_stats=with_running, acc_initial_stats=with_initial)

# %% [markdown]
# ### Questions
#
# **Q1.** Batch normalization makes a layer's output invariant to the scale of its
# weights: $\mathrm{BN}(x\, (aW)) = \mathrm{BN}(x W)$ for $a > 0$. Use this to explain the
# sweep above. Why do the networks with batch normalization still get worse at $s = 1$?
#
# *Your answer:*
#
# **Q2.** What did the train-mode pass on a batch of one example output, and why? What would
# layer normalization output for the same example?
#
# *Your answer:*

# %% [markdown]
# ## 4. Preprocessing: zero-centering and standardization
#
# The lecture's recipe: compute the statistics on the **training set only**, then apply
# them, unchanged, to the training, validation and test sets:
#
# $$\mu = \frac1N \sum_{i=1}^N x_i^{\text{train}}, \qquad
# \sigma_j = \sqrt{\frac1N \sum_{i=1}^N (x_{ij}^{\text{train}} - \mu_j)^2}, \qquad
# x' = \frac{x - \mu}{\sigma}.$$
#
# Zero-centering subtracts the mean image (AlexNet) or one mean per channel (VGG);
# standardizing also divides each feature by its standard deviation. A feature that is
# constant on the training set has $\sigma_j = 0$; `fit_standardize` replaces that by 1, so it
# maps to 0 instead of dividing by zero. Fitting on the validation or test data would leak
# information about them into the model and make their scores optimistic.

# %%
with todo():
    X_train, X_val, X_test = digits["X_train"], digits["X_val"], digits["X_test"]
    mean_image = preprocessing.fit_center(X_train)
    channel_mean = preprocessing.fit_center(X_train, per_channel=True)
    centered = {name: preprocessing.apply_center(X, mean_image)
                for name, X in (("train", X_train), ("val", X_val), ("test", X_test))}
    print(f"mean image of shape {mean_image.shape}; per-channel mean of shape "
          f"{channel_mean.shape}: {channel_mean.ravel()}")
    for name, X in centered.items():
        print(f"centered {name:>5}: largest |mean of a pixel| = "
              f"{np.abs(X.mean(axis=0)).max():.2e}")
    record(centered_train_max_mean=np.abs(centered["train"].mean(axis=0)).max(),
           centered_val_max_mean=np.abs(centered["val"].mean(axis=0)).max())

# %%
with todo():
    mean, std = preprocessing.fit_standardize(X_train)
    standardized = {name: preprocessing.apply_standardize(X, mean, std)
                    for name, X in (("train", X_train), ("val", X_val), ("test", X_test))}
    constant = int(np.sum(X_train.std(axis=0) == 0))
    print(f"{constant} pixels are constant on the training set (their std becomes 1)")
    varying = X_train.std(axis=0) > 0
    for name, X in standardized.items():
        stds = X.std(axis=0)[varying]
        print(f"standardized {name:>5}: |mean| <= {np.abs(X.mean(axis=0)).max():.2e}, "
              f"std of the pixels that vary in training in [{stds.min():.2f}, "
              f"{stds.max():.2f}]")
    record(constant_pixels=constant,
           standardized_train_max_mean=np.abs(standardized["train"].mean(axis=0)).max(),
           standardized_val_max_mean=np.abs(standardized["val"].mean(axis=0)).max())

    fig, ax = plt.subplots(2, 6, figsize=(12, 4.4))
    ax[0, 0].imshow(mean_image[0], cmap="gray")
    ax[0, 0].set_title("mean image")
    ax[1, 0].imshow(std[0], cmap="gray")
    ax[1, 0].set_title("std image")
    for i in range(5):
        ax[0, i + 1].imshow(X_train[i, 0], cmap="gray")
        ax[0, i + 1].set_title(f"raw, label {digits['y_train'][i]}")
        ax[1, i + 1].imshow(standardized["train"][i, 0], cmap="gray")
        ax[1, i + 1].set_title("standardized")
    for a in ax.flat:
        a.axis("off")
    fig.tight_layout()
    show(fig)

# %% [markdown]
# Does it help the optimizer? A softmax classifier (no hidden layer) trained with plain
# gradient descent, learning rate 0.1, 5 epochs, on raw, centered and standardized pixels.
# The lecture's picture: with inputs far from zero-mean, the loss is very sensitive to some
# directions of the weights and not to others, which is harder to optimize.

# %%
def softmax_run(data):
    """Training loss (last 10 steps) and validation accuracy of a softmax classifier."""
    model = FullyConnectedNet([], weight_scale=0.01, seed=0)
    losses = train_sgd(model, data, lr=0.1, epochs=5, momentum=0.0)
    return float(np.mean(losses[-10:])), accuracy(model, data["X_val"], data["y_val"])


def preprocessed(data, how):
    """A copy of data whose X_train and X_val are raw, centered or standardized."""
    if how == "raw":
        return data
    if how == "centered":
        mean = preprocessing.fit_center(data["X_train"])
        return {**data, "X_train": preprocessing.apply_center(data["X_train"], mean),
                "X_val": preprocessing.apply_center(data["X_val"], mean)}
    mean, std = preprocessing.fit_standardize(data["X_train"])
    return {**data, "X_train": preprocessing.apply_standardize(data["X_train"], mean, std),
            "X_val": preprocessing.apply_standardize(data["X_val"], mean, std)}


for how in ("raw", "centered", "standardized"):
    with todo():
        loss, acc = softmax_run(preprocessed(digits, how))
        print(f"{how:>12}: training loss {loss:.3f}, validation accuracy {acc:.3f}")
        record(**{f"softmax_loss_{how}": loss})

# %%
_ = check("preprocessing")

# %% [markdown]
# ### Questions
#
# **Q3.** Why must the validation and test sets be centered with the *training* mean rather
# than their own? What would go wrong, and what would merely look better than it is?
#
# *Your answer:*
#
# **Q4.** Why is standardizing each pixel separately of little use for natural images, where
# the lecture recommends only subtracting the mean (per image or per channel)? Is it
# different for these 8x8 digits?
#
# *Your answer:*

# %% [markdown]
# ## Summary
#
# The numbers this notebook found, on one line (the course's own tests read it):

# %%
print("RESULT", json.dumps(findings))
