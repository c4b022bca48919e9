"""Learning-rate schedules of nntrain.schedules on hand-worked values."""

import math

import numpy as np
import pytest

from nntrain import schedules

# (id, function, args, kwargs, expected)
CASES = [
    ("step-spec-example", schedules.step_decay, (0.1, 25, 0.5, 10), {}, 0.025),
    ("step-epoch-0", schedules.step_decay, (0.1, 0), {}, 0.1),
    ("step-just-before-drop", schedules.step_decay, (0.1, 9), {}, 0.1),
    ("step-at-drop", schedules.step_decay, (0.1, 10), {}, 0.05),
    ("step-defaults-epoch-20", schedules.step_decay, (1.0, 20), {}, 0.25),
    ("step-drop-0.1-every-3", schedules.step_decay, (2.0, 7), {"drop": 0.1, "every": 3}, 0.02),
    ("step-fractional-epoch", schedules.step_decay, (1.0, 19.9), {}, 0.5),
    ("exp-t-0", schedules.exponential_decay, (0.1, 0, 0.5), {}, 0.1),
    ("exp-kt-1", schedules.exponential_decay, (1.0, 2, 0.5), {}, math.exp(-1)),
    ("exp-kt-3", schedules.exponential_decay, (0.5, 30, 0.1), {}, 0.5 * math.exp(-3)),
    ("inv-t-0", schedules.inverse_time_decay, (0.1, 0, 0.5), {}, 0.1),
    ("inv-1+kt-2.5", schedules.inverse_time_decay, (1.0, 3, 0.5), {}, 0.4),
    ("inv-1+kt-11", schedules.inverse_time_decay, (0.22, 100, 0.1), {}, 0.02),
    ("sgdr-start", schedules.cosine_warm_restarts, (1.0, 0, 10), {}, 1.0),
    ("sgdr-quarter", schedules.cosine_warm_restarts, (1.0, 2.5, 10), {},
     (1 + math.cos(math.pi / 4)) / 2),
    ("sgdr-half", schedules.cosine_warm_restarts, (1.0, 5, 10), {}, 0.5),
    ("sgdr-three-quarters", schedules.cosine_warm_restarts, (1.0, 7.5, 10), {},
     (1 - math.cos(math.pi / 4)) / 2),
    ("sgdr-restart-at-period", schedules.cosine_warm_restarts, (1.0, 10, 10), {}, 1.0),
    ("sgdr-second-period-half", schedules.cosine_warm_restarts, (1.0, 15, 10), {}, 0.5),
    ("sgdr-lr-min-start", schedules.cosine_warm_restarts, (0.1, 0, 4), {"lr_min": 0.01}, 0.1),
    ("sgdr-lr-min-half", schedules.cosine_warm_restarts, (0.1, 2, 4), {"lr_min": 0.01}, 0.055),
    ("sgdr-lr-min-restart", schedules.cosine_warm_restarts, (0.1, 8, 4), {"lr_min": 0.01}, 0.1),
]


@pytest.mark.parametrize(
    "fn, args, kwargs, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hand_worked_values(fn, args, kwargs, expected):
    lr = fn(*args, **kwargs)
    assert type(lr) is float
    assert lr == pytest.approx(expected, rel=1e-12, abs=1e-15)


# Integer and NumPy inputs still give a Python float.
TYPE_CASES = [
    ("step-ints", schedules.step_decay, (1, 5, 1, 10)),
    ("step-numpy", schedules.step_decay, (np.float32(0.1), np.int64(25))),
    ("exp-ints", schedules.exponential_decay, (1, 0, 1)),
    ("inv-ints", schedules.inverse_time_decay, (1, 0, 1)),
    ("sgdr-ints", schedules.cosine_warm_restarts, (1, 0, 10)),
    ("sgdr-numpy", schedules.cosine_warm_restarts, (np.float64(0.1), np.int64(3), 10)),
]


@pytest.mark.parametrize("fn, args", [c[1:] for c in TYPE_CASES], ids=[c[0] for c in TYPE_CASES])
def test_returns_python_float(fn, args):
    assert type(fn(*args)) is float


def test_sgdr_decreases_within_a_period_then_restarts():
    lrs = [schedules.cosine_warm_restarts(0.1, t, 20, lr_min=1e-4) for t in range(41)]
    assert all(a > b for a, b in zip(lrs[:19], lrs[1:20], strict=True))
    assert lrs[19] > 1e-4
    assert lrs[20] == pytest.approx(0.1)
    assert lrs[20:40] == pytest.approx(lrs[:20])
