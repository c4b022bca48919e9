"""Mode connectivity (extra credit): a low-loss curve between two trained networks.

The lecture's opening result (Garipov et al., "Loss Surfaces, Mode Connectivity, and
Fast Ensembling of DNNs", NeurIPS 2018): two networks w1 and w2 trained independently
from different initializations are joined by a quadratic Bezier curve in weight space,

    phi_theta(t) = (1 - t)^2 w1 + 2 t (1 - t) theta + t^2 w2,    t in [0, 1],

along which the loss stays as low as at the ends, once its bend theta is trained to
minimise the expected loss E_{t ~ U(0, 1)}[L(phi_theta(t))]; the straight line
(1 - t) w1 + t w2 between the same two networks crosses a high barrier.

Parameters are dictionaries of NumPy arrays for a fixed ReLU MLP with L layers,
{"W1", "b1", ..., "WL", "bL"}, where Wl has shape (fan_in, fan_out) and bl shape
(fan_out,); the forward passes (mlp_forward in NumPy, torch_mlp_forward in PyTorch)
and two helpers to make trained endpoints (init_mlp, train_mlp) are provided.

Example:
    data = load_digits()
    w1 = train_mlp(data["X_train"], data["y_train"], seed=1)
    w2 = train_mlp(data["X_train"], data["y_train"], seed=2)
    theta = fit_bezier(w1, w2, data["X_train"], data["y_train"])
    ts, line, curve = path_losses(w1, theta, w2, data["X_test"], data["y_test"])
    barrier(ts, line), barrier(ts, curve)      # about 0.9 and 0.005 nats
"""

import numpy as np
import torch
import torch.nn.functional as F


def default_device():
    """
    The device to compute on: CUDA when available, else the CPU.

    Returns:
    - device: torch.device, 'cuda' if torch.cuda.is_available() else 'cpu'.
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _num_layers(params):
    """Number L of affine layers of an MLP parameter dict with keys W1, b1, ..., WL, bL."""
    return sum(1 for k in params if k.startswith("W"))


def mlp_forward(params, X):
    """
    Scores of a ReLU MLP, in NumPy (provided).

        h0 = X flattened to (N, D)
        hl = max(0, h(l-1) Wl + bl)    for l = 1, ..., L - 1
        scores = h(L-1) WL + bL

    Inputs:
    - params: Dictionary with keys W1, b1, ..., WL, bL; Wl of shape (D(l-1), Dl), bl of
      shape (Dl,), D0 = D and DL = C.
    - X: Array of inputs, shape (N, D) or (N, 1, H, W) with H * W = D.

    Returns:
    - scores: Array of shape (N, C).
    """
    h = np.asarray(X).reshape(len(X), -1)
    L = _num_layers(params)
    for l in range(1, L + 1):
        h = h @ params[f"W{l}"] + params[f"b{l}"]
        if l < L:
            h = np.maximum(h, 0)
    return h


def torch_mlp_forward(params, X):
    """
    Scores of the same ReLU MLP as mlp_forward, in PyTorch, differentiable (provided).

    Inputs:
    - params: Dictionary of tensors with keys W1, b1, ..., WL, bL (shapes as in mlp_forward).
    - X: Tensor of inputs, shape (N, D).

    Returns:
    - scores: Tensor of shape (N, C).
    """
    h = X
    L = _num_layers(params)
    for l in range(1, L + 1):
        h = h @ params[f"W{l}"] + params[f"b{l}"]
        if l < L:
            h = torch.relu(h)
    return h


def mean_cross_entropy(scores, y):
    """
    Mean softmax cross-entropy, computed stably in NumPy (provided).

        loss = mean_i [ log sum_c exp(scores[i, c]) - scores[i, y_i] ]

    Inputs:
    - scores: Array of shape (N, C).
    - y: Integer array of labels in [0, C), shape (N,).

    Returns:
    - loss: Python float, in nats.
    """
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_z - shifted[np.arange(len(y)), y]))


def init_mlp(sizes=(64, 32, 32, 10), seed=0, dtype=np.float64):
    """
    He-initialised parameters of a ReLU MLP (provided).

        Wl ~ N(0, 2 / D(l-1)),  bl = 0    for l = 1, ..., L

    Inputs:
    - sizes: Tuple of integers (D0, D1, ..., DL): input size, hidden sizes, classes.
    - seed: Integer seed of np.random.default_rng.
    - dtype: Floating NumPy dtype of the arrays (default float64).

    Returns:
    - params: Dictionary with keys W1, b1, ..., WL, bL; Wl of shape (D(l-1), Dl), bl of
      shape (Dl,).
    """
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(sizes)):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        W = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)
        params[f"W{l}"] = W.astype(dtype)
        params[f"b{l}"] = np.zeros(fan_out, dtype=dtype)
    return params


def _to_torch(params, device):
    """Float32 tensors on device from a dictionary of arrays."""
    return {k: torch.as_tensor(np.asarray(v, dtype=np.float32), device=device)
            for k, v in params.items()}


def _data_to_torch(X, y, device):
    """(X as float32 of shape (N, D), y as int64 of shape (N,)), tensors on device."""
    X = np.asarray(X, dtype=np.float32)
    Xt = torch.as_tensor(X.reshape(len(X), -1), device=device)
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
    return Xt, yt


def train_mlp(X, y, sizes=(64, 32, 32, 10), epochs=60, lr=3e-3, batch_size=128, seed=0,
              device=None):
    """
    Train an MLP from init_mlp(sizes, seed) with Adam on the mean cross-entropy (provided).

    Each epoch visits (X, y) once in an order drawn by a torch.Generator seeded with
    `seed`; two seeds give two independently trained networks (the endpoints w1, w2).

    Inputs:
    - X: Array of inputs, shape (N, D) or (N, 1, H, W) with D = sizes[0].
    - y: Integer array of labels, shape (N,).
    - sizes: Tuple of integers (D0, ..., DL), as in init_mlp.
    - epochs: Integer, number of passes over the data (default 60).
    - lr: Scalar, Adam's learning rate (default 3e-3).
    - batch_size: Integer, mini-batch size (default 128).
    - seed: Integer, seed of the initialization and of the order of the examples.
    - device: torch.device or str; default_device() when None.

    Returns:
    - params: Dictionary of float64 NumPy arrays, keys and shapes as in init_mlp.
    """
    device = torch.device(device) if device is not None else default_device()
    Xt, yt = _data_to_torch(X, y, device)
    params = {k: v.requires_grad_() for k, v in _to_torch(init_mlp(sizes, seed), device).items()}
    optimizer = torch.optim.Adam(params.values(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=gen).to(device)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(torch_mlp_forward(params, Xt[idx]), yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return {k: v.detach().cpu().numpy().astype(np.float64) for k, v in params.items()}


def bezier_point(w1, theta, w2, t):
    """
    The point at t of the quadratic Bezier curve from w1 to w2 with bend theta.

        phi(t)[k] = (1 - t)^2 w1[k] + 2 t (1 - t) theta[k] + t^2 w2[k]   for every key k

    so phi(0) = w1 and phi(1) = w2. Works on NumPy arrays and on torch tensors alike.

    Inputs:
    - w1: Dictionary of arrays, the start; w1[k] of any shape S_k.
    - theta: Dictionary of arrays with the keys of w1, theta[k] of shape S_k.
    - w2: Dictionary of arrays with the keys of w1, w2[k] of shape S_k.
    - t: Scalar in [0, 1].

    Returns:
    - phi: A new dictionary with the keys of w1; phi[k] is a new array of shape S_k and
      the dtype of w1[k]. No input is modified.
    """
    raise NotImplementedError('bezier_point: (1-t)^2 w1 + 2t(1-t) theta + t^2 w2 for every key (t as a Python float)')


def line_point(w1, w2, t):
    """
    The point at t of the straight line from w1 to w2.

        w(t)[k] = (1 - t) w1[k] + t w2[k]   for every key k

    so w(0) = w1 and w(1) = w2. Works on NumPy arrays and on torch tensors alike.

    Inputs:
    - w1: Dictionary of arrays, the start; w1[k] of any shape S_k.
    - w2: Dictionary of arrays with the keys of w1, w2[k] of shape S_k.
    - t: Scalar in [0, 1].

    Returns:
    - w: A new dictionary with the keys of w1; w[k] is a new array of shape S_k and the
      dtype of w1[k]. No input is modified.
    """
    raise NotImplementedError('line_point: (1-t) w1 + t w2 for every key (t as a Python float)')


def fit_bezier(w1, w2, X, y, *, steps=1500, lr=1e-2, batch_size=128, seed=0, device=None):
    """
    Train the bend theta of the Bezier curve between two fixed networks w1 and w2.

    theta starts at the midpoint (w1 + w2) / 2 (the curve is then the straight line)
    and takes `steps` Adam steps (learning rate lr) on a stochastic estimate of the
    expected loss along the curve,

        min_theta  E_{t ~ U(0, 1)} [ CE(phi_theta(t); X, y) ]

    where every step draws one t ~ U(0, 1) and one mini-batch of batch_size examples
    (uniformly, with replacement), computes the mean cross-entropy of the network
    bezier_point(w1, theta, w2, t) on it (torch_mlp_forward) and back-propagates to
    theta only; w1 and w2 stay fixed. Computed in float32 with PyTorch.

    Randomness: a torch.Generator seeded with `seed` draws t and the mini-batches, so a
    given seed gives the same theta on the CPU.

    Inputs:
    - w1: Dictionary of arrays, one trained network (keys W1, b1, ..., WL, bL).
    - w2: Dictionary of arrays with the keys and shapes of w1, another trained network.
    - X: Array of training inputs, shape (N, D) or (N, 1, H, W).
    - y: Integer array of labels, shape (N,).
    - steps: Integer, the number of Adam steps (default 1500).
    - lr: Scalar, Adam's learning rate (default 1e-2).
    - batch_size: Integer, examples per step (default 128).
    - seed: Integer, seed of the draws of t and of the mini-batches (default 0).
    - device: torch.device or str; default_device() when None.

    Returns:
    - theta: Dictionary of NumPy arrays with the keys of w1; theta[k] has the shape and
      dtype of w1[k].
    """
    raise NotImplementedError('fit_bezier: theta = (w1 + w2) / 2; each step: t ~ U(0, 1), batch, CE at bezier_point, Adam')


def path_losses(w1, theta, w2, X, y, num_t=21):
    """
    Mean cross-entropy along the straight line and along the Bezier curve (provided).

        ts = num_t equally spaced values from 0 to 1
        line_losses[i] = CE(line_point(w1, w2, ts[i]); X, y)
        curve_losses[i] = CE(bezier_point(w1, theta, w2, ts[i]); X, y)

    Inputs:
    - w1, theta, w2: Dictionaries of arrays with the same keys and shapes.
    - X: Array of inputs, shape (N, D) or (N, 1, H, W).
    - y: Integer array of labels, shape (N,).
    - num_t: Integer >= 2, the number of values of t (default 21).

    Returns a tuple of:
    - ts: Array of shape (num_t,), from 0 to 1.
    - line_losses: Array of shape (num_t,), in nats.
    - curve_losses: Array of shape (num_t,), in nats.
    """
    ts = np.linspace(0.0, 1.0, num_t)
    line = [mean_cross_entropy(mlp_forward(line_point(w1, w2, t), X), y) for t in ts]
    curve = [mean_cross_entropy(mlp_forward(bezier_point(w1, theta, w2, t), X), y) for t in ts]
    return ts, np.array(line), np.array(curve)


def barrier(ts, losses):
    """
    The loss barrier of a path: its largest excess over the straight interpolation of
    the two endpoint losses (provided).

        barrier = max_i [ losses[i] - ((1 - ts[i]) losses[0] + ts[i] losses[-1]) ]

    It is 0 for a path whose loss never rises above that chord (the endpoints give 0).

    Inputs:
    - ts: Array of shape (T,), increasing from ts[0] = 0 to ts[-1] = 1.
    - losses: Array of shape (T,), the loss at each t.

    Returns:
    - barrier: Python float >= 0, in the units of losses.
    """
    ts, losses = np.asarray(ts, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    chord = (1 - ts) * losses[0] + ts * losses[-1]
    return float(np.max(losses - chord))
