"""The update rules of nntrain.optim against torch.optim, the independent oracle.

The mapping (SPEC.md, FIELD_NOTES.md): momentum is SGD(momentum, dampening=0), Nesterov is
SGD(nesterov=True), Adagrad needs eps=1e-7, RMSprop's alpha is the decay rate, Adam's
weight_decay is coupled L2, and our AdamW(wd, eta) is torch's AdamW(lr=eta lr, weight_decay=wd/lr).
"""

import numpy as np
import pytest
import torch

from nntrain import optim

SHAPE = (6, 4)
STEPS = 60

STATE_KEYS = {
    "sgd": set(),
    "sgd_momentum": {"velocity"},
    "nesterov_momentum": {"velocity"},
    "adagrad": {"grad_squared"},
    "rmsprop": {"grad_squared"},
    "adam": {"m", "v", "t"},
    "adamw": {"m", "v", "t"},
}

DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-7},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {
        "learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
        "weight_decay": 0.0,
    },
    "adamw": {
        "learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
        "weight_decay": 1e-2, "schedule_multiplier": 1.0,
    },
}

RULES = sorted(STATE_KEYS)


def make_problem(seed=0):
    """A quadratic loss 0.5 (w - c)^T A (w - c) per column plus a fixed noise sequence."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((SHAPE[0], SHAPE[0]))
    A = M @ M.T / SHAPE[0] + 0.5 * np.eye(SHAPE[0])
    c = rng.standard_normal(SHAPE)
    noise = 0.3 * rng.standard_normal((STEPS,) + SHAPE)
    w0 = rng.standard_normal(SHAPE)

    def grad(w, t):
        return A @ (w - c) + noise[t]

    return w0, grad


def run_ours(rule, config, w0, grad):
    w = w0.copy()
    for t in range(STEPS):
        w, config = rule(w, grad(w, t), config)
    return w, config


def run_torch(make_opt, w0, grad):
    p = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = make_opt([p])
    for t in range(STEPS):
        p.grad = torch.from_numpy(grad(p.detach().numpy().copy(), t))
        opt.step()
    return p.detach().numpy()


def rel_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


# (id, rule, our config or None for the defaults, torch optimizer)
ORACLE_CASES = [
    ("sgd", optim.sgd, {"learning_rate": 0.05}, lambda p: torch.optim.SGD(p, lr=0.05)),
    ("sgd-defaults", optim.sgd, None, lambda p: torch.optim.SGD(p, lr=1e-2)),
    (
        "sgd_momentum",
        optim.sgd_momentum,
        {"learning_rate": 0.02, "momentum": 0.8},
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.8, dampening=0),
    ),
    (
        "sgd_momentum-defaults",
        optim.sgd_momentum,
        None,
        lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, dampening=0),
    ),
    (
        "nesterov_momentum",
        optim.nesterov_momentum,
        {"learning_rate": 0.02, "momentum": 0.8},
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.8, nesterov=True),
    ),
    (
        "nesterov_momentum-defaults",
        optim.nesterov_momentum,
        None,
        lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, nesterov=True),
    ),
    (
        "adagrad",
        optim.adagrad,
        {"learning_rate": 0.3, "epsilon": 1e-6},
        lambda p: torch.optim.Adagrad(p, lr=0.3, eps=1e-6, initial_accumulator_value=0),
    ),
    (
        "adagrad-defaults",
        optim.adagrad,
        None,
        lambda p: torch.optim.Adagrad(p, lr=1e-2, eps=1e-7, initial_accumulator_value=0),
    ),
    (
        "rmsprop",
        optim.rmsprop,
        {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6},
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6),
    ),
    (
        "rmsprop-defaults",
        optim.rmsprop,
        None,
        lambda p: torch.optim.RMSprop(p, lr=1e-2, alpha=0.99, eps=1e-8),
    ),
    (
        "adam",
        optim.adam,
        {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
        lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    ),
    (
        "adam-defaults",
        optim.adam,
        None,
        lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8),
    ),
    (
        "adam-coupled-weight-decay",
        optim.adam,
        {"learning_rate": 0.05, "weight_decay": 0.3},
        lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.3),
    ),
    (
        "adamw",
        optim.adamw,
        {"learning_rate": 0.05, "weight_decay": 0.02},
        lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.02 / 0.05),
    ),
    (
        "adamw-defaults",
        optim.adamw,
        None,
        lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=1e-2 / 1e-3),
    ),
    (
        "adamw-schedule-multiplier",
        optim.adamw,
        {"learning_rate": 0.05, "weight_decay": 0.02, "schedule_multiplier": 0.5,
         "beta1": 0.85, "beta2": 0.995, "epsilon": 1e-7},
        lambda p: torch.optim.AdamW(
            p, lr=0.5 * 0.05, betas=(0.85, 0.995), eps=1e-7, weight_decay=0.02 / 0.05
        ),
    ),
]


@pytest.mark.parametrize(
    "rule, config, make_opt", [c[1:] for c in ORACLE_CASES], ids=[c[0] for c in ORACLE_CASES]
)
def test_matches_torch_over_60_steps(rule, config, make_opt):
    w0, grad = make_problem()
    ours, _ = run_ours(rule, None if config is None else dict(config), w0, grad)
    theirs = run_torch(make_opt, w0, grad)
    assert not np.allclose(ours, w0), "the weights did not move"
    assert rel_error(ours, theirs) < 1e-10


@pytest.mark.parametrize("name", RULES)
def test_defaults_filled_in_when_config_is_none(name):
    rule = getattr(optim, name)
    w0, grad = make_problem()
    _, config = rule(w0, grad(w0, 0))
    for key, value in DEFAULTS[name].items():
        assert config[key] == value, key
    assert set(config) == set(DEFAULTS[name]) | STATE_KEYS[name]


@pytest.mark.parametrize("name", RULES)
def test_given_hyperparameters_are_kept(name):
    rule = getattr(optim, name)
    w0, grad = make_problem()
    given = {"learning_rate": 0.123}
    _, config = rule(w0, grad(w0, 0), given)
    assert config is given
    assert config["learning_rate"] == 0.123


@pytest.mark.parametrize("name", [n for n in RULES if STATE_KEYS[n]])
def test_state_keys_and_shapes(name):
    rule = getattr(optim, name)
    w0, grad = make_problem()
    _, config = rule(w0, grad(w0, 0))
    for key in STATE_KEYS[name] - {"t"}:
        assert config[key].shape == SHAPE, key


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_step_counter_counts_from_one(name):
    rule = getattr(optim, name)
    w0, grad = make_problem()
    w, config = w0, None
    for expected_t in (1, 2, 3):
        w, config = rule(w, grad(w, 0), config)
        assert config["t"] == expected_t


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_first_step_is_lr_times_sign(name):
    # With t = 1 the bias correction makes mhat = dw and vhat = dw^2: a step of lr sign(dw).
    rule = getattr(optim, name)
    w = np.array([[1.0, -2.0, 3.0]])
    dw = np.array([[0.5, -4.0, 1e-3]])
    config = {"learning_rate": 0.1, "weight_decay": 0.0, "epsilon": 1e-12}
    next_w, _ = rule(w, dw, config)
    np.testing.assert_allclose(next_w, w - 0.1 * np.sign(dw), rtol=1e-9)


def test_adamw_decay_is_not_scaled_by_the_learning_rate():
    # Zero gradient: the Adam part is 0, so one step is w - eta * wd * w exactly.
    w = np.array([2.0, -4.0])
    config = {"learning_rate": 1e-3, "weight_decay": 0.1, "schedule_multiplier": 0.5}
    next_w, _ = optim.adamw(w, np.zeros(2), config)
    np.testing.assert_allclose(next_w, w - 0.5 * 0.1 * w, rtol=1e-12)


def test_nesterov_hand_worked_two_steps():
    # rho 0.5, lr 0.1, dw = 1 twice: v1 = -0.1, w1 = -1.5 * 0.1 = -0.15;
    # v2 = -0.05 - 0.1 = -0.15, w2 = w1 + 0.5 * 0.1 + 1.5 * (-0.15) = -0.325.
    config = {"learning_rate": 0.1, "momentum": 0.5}
    w1, config = optim.nesterov_momentum(np.zeros(1), np.ones(1), config)
    np.testing.assert_allclose(w1, [-0.15])
    w2, config = optim.nesterov_momentum(w1, np.ones(1), config)
    np.testing.assert_allclose(w2, [-0.325])
    np.testing.assert_allclose(config["velocity"], [-0.15])


@pytest.mark.parametrize("name", RULES)
def test_float32_kept(name):
    rule = getattr(optim, name)
    w0, grad = make_problem()
    w, config = w0.astype(np.float32), None
    for t in range(3):
        w, config = rule(w, grad(w, t).astype(np.float32), config)
        assert w.dtype == np.float32
    for key in STATE_KEYS[name] - {"t"}:
        assert config[key].dtype == np.float32, key


@pytest.mark.parametrize("name", RULES)
def test_inputs_and_previous_state_untouched(name):
    rule = getattr(optim, name)
    w0, grad = make_problem()
    w, config = w0, {}
    for t in range(3):
        dw = grad(w, t)
        w_before, dw_before = w.copy(), dw.copy()
        old_state = {k: config[k] for k in STATE_KEYS[name] - {"t"} if k in config}
        old_copies = {k: v.copy() for k, v in old_state.items()}
        next_w, config = rule(w, dw, config)
        np.testing.assert_array_equal(w, w_before)
        np.testing.assert_array_equal(dw, dw_before)
        for k, v in old_state.items():
            np.testing.assert_array_equal(v, old_copies[k], err_msg=f"{k} changed in place")
        for key in STATE_KEYS[name] - {"t"}:
            assert not np.shares_memory(config[key], w), key
            assert not np.shares_memory(config[key], dw), key
            assert not np.shares_memory(config[key], next_w), key
        assert not np.shares_memory(next_w, w)
        w = next_w
