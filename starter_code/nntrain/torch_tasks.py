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
    raise NotImplementedError('make_model: [Linear, BatchNorm1d, ReLU, Dropout(1 - keep_prob)] per h, Linear; He, zero b')


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
    raise NotImplementedError('train: seed; per epoch: shuffle, augment, AdamW, EMA; keep best of live/EMA; stop')




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
    raise NotImplementedError('predict: eval mode, no_grad; flatten X; batches of PREDICT_BATCH; argmax as int64')
