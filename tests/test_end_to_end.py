"""End-to-end tests: FullyConnectedNet trained by Solver on the digits, and the Solver's options."""

import numpy as np
import pytest

from nntrain.data import load_digits
from nntrain.fc_net import FullyConnectedNet
from nntrain.solver import Solver


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def _small(data, n):
    return {k: (v[:n] if k.endswith("train") else v) for k, v in data.items()}


def test_batchnorm_dropout_net_overfits_50_examples(digits):
    small = _small(digits, 50)
    model = FullyConnectedNet([100, 100], normalization="batchnorm", keep_prob=0.75,
                              weight_scale="he", seed=0)
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    batch_size=25, num_epochs=30, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


def test_adam_reaches_90_percent_on_digits_with_schedule_ema_and_early_stopping(digits):
    model = FullyConnectedNet([128, 64], normalization="batchnorm", keep_prob=0.8,
                              weight_scale="he", seed=0)
    solver = Solver(model, digits, update_rule="adam", optim_config={"learning_rate": 3e-3},
                    lr_schedule=("cosine_warm_restarts", {"period": 20}), ema_decay=0.9,
                    early_stopping_patience=5, batch_size=64, num_epochs=20,
                    verbose=False, seed=0)
    solver.train()
    assert solver.best_val_acc >= 0.90
    assert solver.check_accuracy(digits["X_val"], digits["y_val"]) == solver.best_val_acc
    assert solver.check_accuracy(digits["X_test"], digits["y_test"]) >= 0.90


def _linear_solver(data, **kwargs):
    model = FullyConnectedNet([], weight_scale=1e-2, seed=0)
    options = dict(update_rule="sgd", optim_config={"learning_rate": 0.5}, batch_size=100,
                   num_epochs=5, verbose=False, seed=0)
    return Solver(model, data, **{**options, **kwargs})


SCHEDULE_CASES = [
    # (id, solver keyword arguments, expected learning rate in each of 5 epochs)
    ("step_decay_by_name", dict(lr_schedule=("step_decay", {"drop": 0.5, "every": 2})),
     [0.5, 0.5, 0.25, 0.25, 0.125]),
    ("exponential_by_name", dict(lr_schedule=("exponential_decay", {"k": 0.1})),
     [0.5 * np.exp(-0.1 * e) for e in range(5)]),
    ("callable_multiplier", dict(lr_schedule=lambda e: 1.0 / (1 + e)),
     [0.5 / (1 + e) for e in range(5)]),
    ("lr_decay", dict(lr_decay=0.9), [0.5 * 0.9**e for e in range(5)]),
    ("rule_default_rate", dict(optim_config={}, lr_schedule=lambda e: 2.0**-e),
     [1e-2 * 2.0**-e for e in range(5)]),
]


@pytest.mark.parametrize("name,kwargs,rates", SCHEDULE_CASES, ids=[c[0] for c in SCHEDULE_CASES])
def test_schedule_sets_learning_rate_each_epoch(digits, name, kwargs, rates):
    seen = []

    def recording_sgd(w, dw, config):
        config.setdefault("learning_rate", 1e-2)
        if w.shape in ((64, 10), (10,)):  # the model's W1 and b1, not the solver's probe
            seen.append(config["learning_rate"])
        return w - config["learning_rate"] * dw, config

    solver = _linear_solver(_small(digits, 200), **kwargs)
    solver.update_rule = recording_sgd
    solver.train()
    per_epoch = np.array(seen).reshape(5, -1)  # 5 epochs x (2 steps * 2 parameters)
    np.testing.assert_allclose(per_epoch, np.array(rates)[:, None] * np.ones_like(per_epoch))


def test_adamw_schedule_sets_schedule_multiplier(digits):
    solver = _linear_solver(_small(digits, 200), update_rule="adamw",
                            optim_config={"learning_rate": 1e-3, "weight_decay": 1e-3},
                            lr_schedule=("step_decay", {"drop": 0.1, "every": 3}))
    solver.train()
    for config in solver.optim_configs.values():
        assert config["schedule_multiplier"] == pytest.approx(0.1)
        assert config["learning_rate"] == 1e-3
    np.testing.assert_allclose(solver.lr_history, [1, 1, 1, 0.1, 0.1])


def test_ema_decay_zero_is_plain_training_and_one_keeps_initial_weights(digits):
    data = _small(digits, 300)
    plain = _linear_solver(data)
    plain.train()
    ema0 = _linear_solver(data, ema_decay=0.0)
    ema0.train()
    assert ema0.val_acc_history == plain.val_acc_history
    initial = {k: v.copy() for k, v in _linear_solver(data).model.params.items()}
    ema1 = _linear_solver(data, ema_decay=1.0)
    ema1.train()
    for k in initial:
        np.testing.assert_array_equal(ema1.best_params[k], initial[k])
    assert len(set(ema1.val_acc_history)) == 1


def test_early_stopping_stops_after_patience_epochs(digits):
    solver = _linear_solver(_small(digits, 200), optim_config={"learning_rate": 0.0},
                            early_stopping_patience=3, num_epochs=20)
    solver.train()
    assert solver.stopped_epoch == 3
    assert len(solver.val_acc_history) == 4
    assert solver.best_epoch == 0


def test_best_params_restored_after_training_gets_worse(digits):
    calls = []

    def good_then_bad(w, dw, config):
        calls.append(1)
        if len(calls) <= 24:  # first epoch: 12 steps x 2 parameters
            return w - 0.5 * dw, config
        return w + 0.5 * dw, config

    solver = _linear_solver(digits, update_rule=good_then_bad, early_stopping_patience=2,
                            num_epochs=10)
    solver.train()
    assert solver.best_epoch == 0 and solver.stopped_epoch == 2
    for k, v in solver.best_params.items():
        np.testing.assert_array_equal(solver.model.params[k], v)
    assert solver.check_accuracy(digits["X_val"], digits["y_val"]) == solver.best_val_acc
    assert solver.best_val_acc > solver.val_acc_history[-1]


def test_seeded_runs_are_reproducible_and_dropout_masks_change(digits):
    def run():
        model = FullyConnectedNet([30], keep_prob=0.5, seed=0)
        solver = Solver(model, _small(digits, 200), update_rule="sgd_momentum",
                        batch_size=50, num_epochs=2, verbose=False, seed=3)
        seeds = []
        loss = model.loss
        model.loss = lambda X, y=None: (seeds.append(model.dropout_param.get("seed")),
                                        loss(X, y))[1]
        solver.train()
        return solver.loss_history, [s for s in seeds if s is not None]

    losses_a, seeds_a = run()
    losses_b, seeds_b = run()
    assert losses_a == losses_b
    assert len(set(seeds_a)) > 1 and seeds_a == seeds_b


def test_augment_is_applied_to_each_batch(digits):
    shapes = []

    def augment(x, rng):
        assert isinstance(rng, np.random.Generator)
        shapes.append(x.shape)
        return x + 0.01 * rng.standard_normal(x.shape)

    solver = _linear_solver(_small(digits, 200), augment=augment, num_epochs=2)
    solver.train()
    assert shapes == [(100, 1, 8, 8)] * 4


def test_check_accuracy_subsamples(digits):
    solver = _linear_solver(digits)
    acc = solver.check_accuracy(digits["X_val"], digits["y_val"], num_samples=30, batch_size=7)
    assert acc * 30 == pytest.approx(round(acc * 30))


def test_unknown_update_rule_raises(digits):
    with pytest.raises(ValueError, match="no_such_rule"):
        _linear_solver(digits, update_rule="no_such_rule")
