"""Solver: trains a classification model with mini-batch gradient descent (provided, not graded).

A model is any object with
- `params`: dict of name -> numpy array, the learnable parameters
- `loss(X, y=None)`: scores of shape (N, C) when y is None (test mode), else
  `(loss, grads)` with `grads` holding a gradient for every key of `params`
and, optionally, `dropout_param` (a dict); when the model has one, the solver
gives it a fresh 'seed' from its own generator before every step, so the masks
change from step to step while a seeded run stays reproducible.

Example:
    data = load_digits()
    model = FullyConnectedNet([100], weight_scale='he', keep_prob=0.9)
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-3},
                    lr_schedule=('cosine_warm_restarts', {'period': 20}), num_epochs=20)
    solver.train()
    solver.check_accuracy(data['X_test'], data['y_test'])

Learning-rate schedules. At the start of epoch e (0-based) the solver computes a
multiplier m(e) = schedule(e) * lr_decay**e, where schedule(e) is
- the callable `lr_schedule(e)`, or
- for `lr_schedule = (name, kwargs)`: `getattr(schedules, name)(1.0, e, **kwargs)`, the
  schedule evaluated with lr0 = 1 (so `cosine_warm_restarts`'s `lr_min` is a fraction
  of the base learning rate), or
- 1 when `lr_schedule` is None.
A rule whose config has a `schedule_multiplier` (adamw) gets `schedule_multiplier = m(e)`,
Loshchilov and Hutter's eta_t, which scales its step and its decoupled weight decay
alike; every other rule gets `learning_rate = base * m(e)`, where base is the
`learning_rate` of `optim_config` or, when absent, the rule's default.

Accuracies are measured at the end of every epoch (`train_acc_history[e]`,
`val_acc_history[e]`); with `ema_decay` they are those of the exponential moving
average of the weights, and those averaged weights are what `best_params` keeps
(batch normalization's running statistics are the live model's, not averaged).
At the end of `train`, `model.params` holds `best_params`, and a model's `bn_params`
(CS231n's list of batch normalization dicts, when it has one) holds the running
statistics of the same epoch.
"""

import copy

import numpy as np

from . import optim, regularization, schedules


class Solver:
    """Trains a model on data = {X_train, y_train, X_val, y_val}.

    Attributes filled by `train`:
    - loss_history: list of floats, one training loss per step
    - train_acc_history, val_acc_history: lists of floats, one per epoch run
    - lr_history: list of floats, the schedule multiplier of each epoch (empty if none)
    - best_val_acc: float, the highest validation accuracy
    - best_epoch: int, the 0-based epoch that reached it (the first one on ties)
    - best_params: dict, a copy of the weights of that epoch (the EMA when kept)
    - stopped_epoch: int, the 0-based epoch after which early stopping ended training;
      None when all num_epochs ran
    """

    def __init__(self, model, data, update_rule="sgd", optim_config=None, lr_schedule=None,
                 lr_decay=1.0, batch_size=100, num_epochs=10, ema_decay=None,
                 early_stopping_patience=None, augment=None, num_train_samples=1000,
                 num_val_samples=None, print_every=10, verbose=True, seed=None):
        """Set up the training run; nothing is computed until `train`.

        Inputs:
        - model: the model (see the module docstring)
        - data: dict with X_train of shape (N_train, ...), y_train of shape (N_train,),
          X_val of shape (N_val, ...), y_val of shape (N_val,)
        - update_rule: name of a rule in nntrain.optim, or a callable
          rule(w, dw, config) -> (next_w, config)
        - optim_config: dict of the rule's hyper-parameters; each parameter gets a deep copy
        - lr_schedule: None, a callable epoch -> multiplier, or (name, kwargs) naming a
          function of nntrain.schedules
        - lr_decay: float, an extra multiplier lr_decay**epoch (CS231n's decay per epoch)
        - batch_size: int, examples per step
        - num_epochs: int, passes over the training data
        - ema_decay: None, or float in (0, 1): keep ema = d ema + (1 - d) params after
          every step and evaluate and keep the averaged weights
        - early_stopping_patience: None, or int: stop after this many epochs in a row
          without a strictly higher validation accuracy
        - augment: None, or a callable (x_batch, rng) -> x_batch of the same shape
        - num_train_samples: int or None, training examples used for train accuracy
        - num_val_samples: int or None, validation examples used for validation accuracy
        - print_every: int, print the loss every this many steps
        - verbose: bool, print progress
        - seed: int or None, seeds the shuffling, augmentation, subsampling and dropout
        """
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = self._resolve_rule(update_rule)
        self.optim_config = dict(optim_config or {})
        self.lr_schedule = self._resolve_schedule(lr_schedule)
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.ema_decay = ema_decay
        self.early_stopping_patience = early_stopping_patience
        self.augment = augment
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.print_every = print_every
        self.verbose = verbose
        self.seed = seed
        self._reset()

    @staticmethod
    def _resolve_rule(update_rule):
        """The update rule as a callable.

        Inputs:
        - update_rule: a callable, or the name of a function of nntrain.optim

        Returns:
        - rule: callable (w, dw, config) -> (next_w, config)
        """
        if callable(update_rule):
            return update_rule
        if not hasattr(optim, update_rule):
            raise ValueError(f'Invalid update_rule "{update_rule}"')
        return getattr(optim, update_rule)

    @staticmethod
    def _resolve_schedule(lr_schedule):
        """The schedule as a callable epoch -> multiplier, or None.

        m(e) = lr_schedule(e), or getattr(schedules, name)(1.0, e, **kwargs)

        Inputs:
        - lr_schedule: None, a callable, or a (name, kwargs) pair

        Returns:
        - schedule: None or callable int -> float
        """
        if lr_schedule is None or callable(lr_schedule):
            return lr_schedule
        name, kwargs = lr_schedule
        if not hasattr(schedules, name):
            raise ValueError(f'Invalid lr_schedule "{name}"')
        fn = getattr(schedules, name)
        return lambda epoch: fn(1.0, epoch, **kwargs)

    def _reset(self):
        """Fresh histories, optimizer states and random generator."""
        self.rng = np.random.default_rng(self.seed)
        self.epoch = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self._best_bn_params = None
        self.best_epoch = None
        self.stopped_epoch = None
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.lr_history = []
        self.optim_configs = {p: copy.deepcopy(self.optim_config) for p in self.model.params}
        self._rule_defaults = None
        self.ema_params = None
        if self.ema_decay is not None:
            self.ema_params = {k: v.copy() for k, v in self.model.params.items()}

    def _scheduled(self):
        """Whether the learning rate changes over epochs."""
        return self.lr_schedule is not None or self.lr_decay != 1.0

    def _apply_schedule(self, epoch):
        """Set every parameter's learning rate (or schedule multiplier) for this epoch.

        m = schedule(epoch) * lr_decay**epoch; config['schedule_multiplier'] = m for a rule
        that has one, else config['learning_rate'] = base * m

        Inputs:
        - epoch: int, 0-based

        Returns:
        - m: float, the multiplier
        """
        m = self.lr_decay ** epoch
        if self.lr_schedule is not None:
            m *= float(self.lr_schedule(epoch))
        if self._rule_defaults is None:
            # Probe the rule on a scratch array to learn its defaults (base rate, multiplier).
            self._rule_defaults = self.update_rule(
                np.zeros(1), np.zeros(1), copy.deepcopy(self.optim_config))[1]
        defaults = self._rule_defaults
        for config in self.optim_configs.values():
            if "schedule_multiplier" in defaults:
                config["schedule_multiplier"] = m
            else:
                config["learning_rate"] = defaults["learning_rate"] * m
        return m

    def _step(self):
        """One gradient step on a mini-batch (given by self._batch_idx)."""
        idx = self._batch_idx
        X_batch, y_batch = self.X_train[idx], self.y_train[idx]
        if self.augment is not None:
            X_batch = self.augment(X_batch, self.rng)
        if isinstance(getattr(self.model, "dropout_param", None), dict):
            self.model.dropout_param["seed"] = int(self.rng.integers(2**31 - 1))

        loss, grads = self.model.loss(X_batch, y_batch)
        self.loss_history.append(float(loss))
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config
        if self.ema_params is not None:
            self.ema_params = regularization.ema_update(
                self.ema_params, self.model.params, self.ema_decay)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of correctly classified examples, in test mode.

        acc = mean_n [argmax_c scores[n, c] == y_n]

        Inputs:
        - X: numpy array of shape (N, ...), the inputs
        - y: integer array of shape (N,), the labels
        - num_samples: int or None; if set, use a random subset of this many examples
        - batch_size: int, examples per forward pass

        Returns:
        - acc: float in [0, 1]
        """
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            mask = self.rng.choice(N, num_samples, replace=False)
            X, y, N = X[mask], y[mask], num_samples
        y_pred = [np.argmax(self.model.loss(X[i:i + batch_size]), axis=1)
                  for i in range(0, N, batch_size)]
        return float(np.mean(np.concatenate(y_pred) == y))

    def _evaluate(self):
        """Train and validation accuracy of the weights to keep (the EMA when kept).

        Returns a tuple of:
        - train_acc: float
        - val_acc: float
        """
        saved = self.model.params
        if self.ema_params is not None:
            self.model.params = {k: v.copy() for k, v in self.ema_params.items()}
        try:
            train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
            val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        finally:
            self.model.params = saved
        return train_acc, val_acc

    def _end_epoch(self, epoch):
        """Record accuracies, keep the best weights, and decide whether to stop.

        Inputs:
        - epoch: int, the 0-based epoch just finished

        Returns:
        - stop: bool, True when early stopping ends training
        """
        train_acc, val_acc = self._evaluate()
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.verbose:
            print(f"(Epoch {epoch + 1} / {self.num_epochs}) "
                  f"train acc: {train_acc:f}; val_acc: {val_acc:f}")
        if self.best_epoch is None or val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_epoch = epoch
            kept = self.ema_params if self.ema_params is not None else self.model.params
            self.best_params = {k: v.copy() for k, v in kept.items()}
            self._best_bn_params = copy.deepcopy(getattr(self.model, "bn_params", None))
        return self._stopper is not None and bool(self._stopper.step(val_acc))

    def train(self):
        """Run the optimization: num_epochs passes of shuffled mini-batches.

        Returns:
        - None; fills the histories, best_params, best_val_acc, best_epoch, stopped_epoch
          and leaves model.params = best_params
        """
        num_train = self.X_train.shape[0]
        steps_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * steps_per_epoch
        self._stopper = None
        if self.early_stopping_patience is not None:
            self._stopper = regularization.EarlyStopping(self.early_stopping_patience)

        t = 0
        for epoch in range(self.num_epochs):
            self.epoch = epoch
            if self._scheduled():
                self.lr_history.append(self._apply_schedule(epoch))
            order = self.rng.permutation(num_train)
            for i in range(steps_per_epoch):
                self._batch_idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                self._step()
                t += 1
                if self.verbose and t % self.print_every == 0:
                    print(f"(Iteration {t} / {num_iterations}) loss: {self.loss_history[-1]:f}")
            if self._end_epoch(epoch):
                self.stopped_epoch = epoch
                if self.verbose:
                    print(f"Early stopping after epoch {epoch + 1}; "
                          f"best epoch {self.best_epoch + 1}")
                break
        self.model.params = {k: v.copy() for k, v in self.best_params.items()}
        if self._best_bn_params is not None:
            self.model.bn_params = copy.deepcopy(self._best_bn_params)
