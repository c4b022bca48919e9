"""nntrain.weight_init: shapes, scales, reproducibility, and the lecture's experiment."""

from functools import partial

import numpy as np
import pytest

from nntrain import weight_init as W

# name: (init function, std as a function of fan_in)
INITS = {
    "small_random": (W.small_random_init, lambda fan_in: 0.01),
    "small_random_0.1": (partial(W.small_random_init, scale=0.1), lambda fan_in: 0.1),
    "xavier": (W.xavier_init, lambda fan_in: 1 / np.sqrt(fan_in)),
    "he": (W.he_init, lambda fan_in: np.sqrt(2 / fan_in)),
}
NAMES = list(INITS)
FANS = [(2000, 500), (500, 2000)]
FAN_IDS = ["wide-in", "wide-out"]


@pytest.mark.parametrize("fans", [(3, 7), (7, 3), (1, 4)], ids=["3x7", "7x3", "1x4"])
@pytest.mark.parametrize("name", NAMES)
def test_shape_and_dtype(name, fans):
    init, _ = INITS[name]
    w = init(*fans, rng=np.random.default_rng(0))
    assert w.shape == fans and w.dtype == np.float64


@pytest.mark.parametrize("fans", FANS, ids=FAN_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_empirical_std_matches_formula(name, fans):
    init, std = INITS[name]
    w = init(*fans, rng=np.random.default_rng(1))
    assert abs(w.std() / std(fans[0]) - 1) < 0.02
    assert abs(w.mean()) < 0.01 * std(fans[0])


@pytest.mark.parametrize("name", NAMES)
def test_draws_are_standard_normal_times_std(name):
    init, std = INITS[name]
    w = init(30, 20, rng=np.random.default_rng(2))
    expected = np.random.default_rng(2).standard_normal((30, 20)) * std(30)
    np.testing.assert_allclose(w, expected, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_reproducible_for_a_seed(name):
    init, _ = INITS[name]
    a = init(40, 30, rng=np.random.default_rng(3))
    b = init(40, 30, rng=np.random.default_rng(3))
    c = init(40, 30, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("name", NAMES)
def test_default_rng(name):
    init, std = INITS[name]
    a, b = init(400, 300), init(400, 300)
    assert a.shape == (400, 300)
    assert not np.allclose(a, b)
    assert abs(a.std() / std(400) - 1) < 0.05


def test_rng_is_advanced():
    rng = np.random.default_rng(5)
    assert not np.allclose(W.xavier_init(10, 10, rng=rng), W.xavier_init(10, 10, rng=rng))


# ---------------------------------------------------------------- activation statistics


def stats(init_fn, nonlinearity, **kwargs):
    return W.activation_statistics(init_fn, nonlinearity, rng=np.random.default_rng(0), **kwargs)


def test_activation_statistics_shapes_and_reproducibility():
    s = stats(W.xavier_init, "tanh", num_layers=4, hidden=50, n=80, return_activations=True)
    assert s["mean"].shape == (4,) and s["std"].shape == (4,)
    assert len(s["activations"]) == 4 and all(h.shape == (80, 50) for h in s["activations"])
    np.testing.assert_allclose(s["std"], [h.std() for h in s["activations"]])
    again = stats(W.xavier_init, "tanh", num_layers=4, hidden=50, n=80)
    np.testing.assert_array_equal(s["std"], again["std"])
    assert "activations" not in again


def test_activation_statistics_callable_nonlinearity():
    by_name = stats(W.he_init, "relu", num_layers=3, hidden=40, n=60)
    by_callable = stats(W.he_init, lambda h: np.maximum(h, 0), num_layers=3, hidden=40, n=60)
    np.testing.assert_allclose(by_name["std"], by_callable["std"])
    np.testing.assert_allclose(by_name["mean"], by_callable["mean"])


def test_small_random_init_activations_collapse():
    s = stats(W.small_random_init, "tanh")
    assert s["std"][0] < 0.3
    assert np.all(np.diff(s["std"]) < 0)
    assert s["std"][-1] < 1e-4
    assert np.all(np.abs(s["mean"]) <= s["std"] + 1e-12)


def test_unit_init_tanh_saturates():
    s = stats(partial(W.small_random_init, scale=1.0), "tanh", return_activations=True)
    assert np.all(s["std"] > 0.95)
    assert np.mean(np.abs(s["activations"][-1]) > 0.99) > 0.8


def test_xavier_tanh_keeps_a_healthy_scale():
    s = stats(W.xavier_init, "tanh")
    # the lecture's numbers: std 0.63 at layer 1 shrinking slowly to 0.23 at layer 10
    assert 0.55 < s["std"][0] < 0.7
    assert 0.15 < s["std"][-1] < 0.35
    assert np.all(s["std"][1:] / s["std"][:-1] > 0.7)
    assert np.all(np.abs(s["mean"]) < 0.01)


def test_xavier_relu_halves_the_variance_per_layer():
    s = stats(W.xavier_init, "relu")
    ratios = (s["std"][1:] / s["std"][:-1]) ** 2
    assert 0.4 < np.median(ratios) < 0.6
    assert s["std"][-1] < 0.05


def test_he_relu_keeps_the_scale():
    s = stats(W.he_init, "relu")
    assert np.all((s["std"] > 0.5) & (s["std"] < 1.5))
    assert s["std"][-1] / s["std"][0] > 0.6
    ratios = (s["std"][1:] / s["std"][:-1]) ** 2
    assert 0.85 < np.median(ratios) < 1.15
