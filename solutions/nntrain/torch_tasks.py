"""The lecture's training recipe in PyTorch: a batch-normalized MLP on the digits.

The recipe: He initialization, batch normalization, dropout, AdamW (decoupled weight
decay) with a cosine learning-rate schedule, data augmentation (random translations and
Gaussian noise, no flips: digits are not mirror-symmetric), an exponential moving average
(EMA) of the weights, and early stopping on validation accuracy.

Runs on CUDA when `torch.cuda.is_available()` and on the CPU otherwise; on the CPU a
fixed seed gives the same weights and history every time.

Example:
    data = load_digits()
    model = make_model(64, 10)
    history = train(model, data["X_train"], data["y_train"], data["X_val"], data["y_val"])
    test_acc = (predict(model, data["X_test"]) == data["y_test"]).mean()
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import regularization

# Hyper-parameters of the recipe that `train` does not take as arguments.
EMA_DECAY = 0.98      # ema = EMA_DECAY * ema + (1 - EMA_DECAY) * weights, after every step
CROP_PADDING = 1      # random translations of up to 1 pixel in each direction
CROP_FRACTION = 0.5   # probability that an image of a batch is translated at all
NOISE_STD = 0.05      # pixel noise, for images with values in [0, 1]
PREDICT_BATCH = 1024  # rows per forward pass in `predict`


def default_device():
    """
    The device to compute on: CUDA when available, else the CPU.

    Returns:
    - device: torch.device, 'cuda' if torch.cuda.is_available() else 'cpu'.
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_model(in_features, num_classes, hidden=(128, 64), keep_prob=0.8):
    """
    A fully connected network with batch normalization and dropout.

    For every hidden size h, in order, four layers

        Linear(d, h) -> BatchNorm1d(h) -> ReLU -> Dropout(1 - keep_prob)

    (nn.Dropout takes the probability of DROPPING a unit, the lecture's p is the
    probability of keeping it), then a final Linear(d, num_classes) giving the scores.
    Every Linear has He (Kaiming normal, fan_in, ReLU gain) weights and zero biases:

        W ~ N(0, 2 / fan_in),  b = 0

    Inputs:
    - in_features: Integer D, the number of input features (64 for the 8x8 digits).
    - num_classes: Integer C, the number of classes.
    - hidden: Tuple of integers (H1, ..., HL), the hidden layer sizes (default (128, 64)).
    - keep_prob: Scalar in (0, 1], the probability of keeping a hidden unit (default 0.8).

    Returns:
    - model: torch.nn.Sequential with 4 L + 1 modules, mapping inputs of shape (N, D)
      to scores of shape (N, C).
    """
    # BEGIN SOLUTION: [Linear, BatchNorm1d, ReLU, Dropout(1 - keep_prob)] per h, Linear; He, zero b
    layers = []
    dim = in_features
    for h in hidden:
        layers += [nn.Linear(dim, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(1 - keep_prob)]
        dim = h
    layers.append(nn.Linear(dim, num_classes))
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)
    # END SOLUTION


def train(model, X_train, y_train, X_val, y_val, *, epochs=30, batch_size=64, lr=3e-3,
          weight_decay=1e-2, patience=5, seed=0, device=None):
    """
    Train `model` with the lecture's recipe and leave it holding its best weights.

    Each epoch visits the training set once in a random order, in mini-batches of
    `batch_size` (a last batch of a single example is skipped: batch normalization
    needs two). Every batch of images is augmented with this package's functions:
    each image, with probability CROP_FRACTION, is translated by
    regularization.random_crop (padding CROP_PADDING; translating every image costs
    an MLP on the centred digits about 2 points of accuracy), then all get
    regularization.add_gaussian_noise (std NOISE_STD); the batch is flattened to
    (B, D) and takes one AdamW step on the mean cross-entropy:

        w <- w - lr_e (mhat / (sqrt(vhat) + eps) + weight_decay w)   (torch.optim.AdamW)

    with the cosine schedule over the epochs (torch's CosineAnnealingLR, T_max = epochs)

        lr_e = lr (1 + cos(pi e / epochs)) / 2    for epoch e = 0, 1, ...

    After every step an exponential moving average of the weights and of batch
    normalization's running statistics is updated with regularization.ema_update:

        ema = EMA_DECAY * ema + (1 - EMA_DECAY) * state

    At the end of every epoch both the live weights and the EMA are evaluated on the
    validation set; the epoch's validation accuracy is the higher of the two (the EMA
    on a tie), and those weights are kept when they are the best so far. Training
    stops after `epochs` epochs, or earlier when regularization.EarlyStopping(patience)
    says so. At the end `model` holds the kept weights, on `device`.

    Randomness: torch.manual_seed(seed) (dropout), a torch.Generator seeded with `seed`
    (the order of the examples) and np.random.default_rng(seed) (augmentation), so a
    run on the CPU is reproducible.

    Inputs:
    - model: torch.nn.Module mapping inputs of shape (B, D) to scores of shape (B, C),
      e.g. from make_model(D, C); trained in place.
    - X_train: Array of training images, shape (N, 1, H, W) or (N, D) with D = H * W
      (a 2-D input whose D is not a square is not translated, only noised).
    - y_train: Integer array of labels in [0, C), shape (N,).
    - X_val: Array of validation inputs, shape (N_val, 1, H, W) or (N_val, D).
    - y_val: Integer array of labels, shape (N_val,).
    - epochs: Integer >= 1, the largest number of epochs (default 30).
    - batch_size: Integer B, the mini-batch size (default 64).
    - lr: Scalar, AdamW's base learning rate (default 3e-3).
    - weight_decay: Scalar, torch's AdamW weight decay (default 1e-2).
    - patience: Integer, early stopping's patience in epochs (default 5).
    - seed: Integer, seed of all the random draws (default 0).
    - device: torch.device or str; default_device() when None.

    Returns:
    - history: Dictionary with the keys
      - train_loss: List of E floats, the mean training loss of each epoch run.
      - val_acc: List of E floats, the validation accuracy of each epoch run.
      - best_epoch: Integer in [0, E), the epoch of the kept weights.
    """
    # BEGIN SOLUTION: seed; per epoch: shuffle, augment, AdamW, EMA; keep best of live/EMA; stop
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    images = _as_images(np.asarray(X_train, dtype=np.float32))
    labels = torch.as_tensor(np.asarray(y_train, dtype=np.int64), device=device)
    X_val_t = _to_tensor(X_val, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    stopper = regularization.EarlyStopping(patience)
    ema = _state(model)
    best_state, history = ema, {"train_loss": [], "val_acc": []}
    for _ in range(epochs):
        loss, ema = _train_epoch(model, optimizer, images, labels, batch_size, gen, rng, ema)
        scheduler.step()
        live = _state(model)
        acc, state = _best_of(model, [ema, live], X_val_t, y_val)
        history["train_loss"].append(loss)
        history["val_acc"].append(acc)
        stop = stopper.step(acc)
        if stopper.best_epoch == len(history["val_acc"]) - 1:
            best_state = state
        model.load_state_dict(live)
        if stop:
            break
    model.load_state_dict(best_state)
    history["best_epoch"] = int(stopper.best_epoch)
    return history
    # END SOLUTION


# BEGIN SOLUTION NO PROMPT
def _as_images(X):
    """(N, D) with D = s * s becomes (N, 1, s, s); 4-D input and other shapes stay."""
    if X.ndim == 2:
        side = int(round(X.shape[1] ** 0.5))
        if side * side == X.shape[1]:
            return X.reshape(len(X), 1, side, side)
    return X


def _to_tensor(X, device):
    """Float32 tensor of shape (N, D) on device from an array of shape (N, ...)."""
    X = np.asarray(X, dtype=np.float32)
    return torch.as_tensor(X.reshape(len(X), -1), device=device)


def _state(model):
    """A detached copy of the model's state_dict (weights and buffers)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _update_ema(ema, model):
    """ema_update on the floating-point entries; integer buffers are copied."""
    state = model.state_dict()
    floats = {k: v.detach() for k, v in state.items() if v.is_floating_point()}
    with torch.no_grad():
        new = regularization.ema_update({k: ema[k] for k in floats}, floats, EMA_DECAY)
    new.update({k: v.detach().clone() for k, v in state.items() if k not in floats})
    return new


def _augment(images, rng):
    """Random translation (4-D images only) then Gaussian noise, as a flat float32 batch."""
    if images.ndim == 4 and CROP_FRACTION > 0:
        shifted = rng.random(len(images)) < CROP_FRACTION
        images = images.copy()
        images[shifted] = regularization.random_crop(images[shifted], rng, padding=CROP_PADDING)
    images = regularization.add_gaussian_noise(images, rng, std=NOISE_STD)
    return images.reshape(len(images), -1)


def _train_epoch(model, optimizer, images, labels, batch_size, gen, rng, ema):
    """One pass over the shuffled training set; returns (mean loss, updated ema)."""
    model.train()
    device = labels.device
    order = torch.randperm(len(images), generator=gen).numpy()
    total, count = 0.0, 0
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        if len(idx) < 2:
            continue
        xb = torch.as_tensor(_augment(images[idx], rng), device=device)
        loss = F.cross_entropy(model(xb), labels[torch.as_tensor(idx, device=device)])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema = _update_ema(ema, model)
        total += loss.item() * len(idx)
        count += len(idx)
    return total / max(count, 1), ema


def _accuracy(model, X, y):
    """Fraction of rows of X (a tensor of shape (N, D)) whose prediction equals y (N,)."""
    return float(np.mean(predict(model, X) == np.asarray(y)))


def _best_of(model, candidates, X_val, y_val):
    """(accuracy, state) of the first state in `candidates` with the best validation accuracy."""
    best_acc, best_state = -1.0, None
    for state in candidates:
        model.load_state_dict(state)
        acc = _accuracy(model, X_val, y_val)
        if acc > best_acc:
            best_acc, best_state = acc, state
    return best_acc, best_state
# END SOLUTION


def predict(model, X, device=None):
    """
    Class labels predicted by `model` in evaluation mode.

        labels[i] = argmax_c scores[i, c],  scores = model(X flattened to (N, D))

    The forward passes run without gradients, PREDICT_BATCH rows at a time, with
    model.eval() (dropout off, batch normalization's running statistics); the model's
    train/eval mode is restored afterwards.

    Inputs:
    - model: torch.nn.Module mapping inputs of shape (B, D) to scores of shape (B, C).
    - X: Array (or tensor) of inputs, shape (N, 1, H, W) or (N, D).
    - device: torch.device or str to run on; when None, the device of the model's
      parameters. The model is moved there.

    Returns:
    - labels: np.ndarray of dtype int64, shape (N,).
    """
    # BEGIN SOLUTION: eval mode, no_grad; flatten X; batches of PREDICT_BATCH; argmax as int64
    if device is None:
        device = next(model.parameters()).device
    model.to(device)
    X = X if torch.is_tensor(X) else torch.as_tensor(np.asarray(X, dtype=np.float32))
    X = X.reshape(len(X), -1).to(device=device, dtype=torch.float32)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = [model(X[i:i + PREDICT_BATCH]).argmax(dim=1) for i in range(0, len(X), PREDICT_BATCH)]
    model.train(was_training)
    if not out:
        return np.zeros(0, dtype=np.int64)
    return torch.cat(out).cpu().numpy().astype(np.int64)
    # END SOLUTION
