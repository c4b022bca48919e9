"""Bezier curves between two trained MLPs in nntrain.mode_connectivity (extra credit)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nntrain import mode_connectivity as mc
from nntrain.data import load_digits

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA: torch.cuda.is_available() is False")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """These models are tiny: one intra-op thread is as fast as two on an idle machine, and
    two threads per process slow down many times when the cores are shared (pytest -n 2)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _random_params(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    shapes = {"W1": (5, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}
    return {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}


def _copy(params):
    return {k: v.copy() for k, v in params.items()}


def _error(params, X, y):
    return float(np.mean(mc.mlp_forward(params, X).argmax(axis=1) != y))


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="module")
def endpoints(digits):
    """Two MLPs 64-32-32-10 trained independently (seeds 1 and 2) with train_mlp's defaults."""
    w1 = mc.train_mlp(digits["X_train"], digits["y_train"], seed=1, device="cpu")
    w2 = mc.train_mlp(digits["X_train"], digits["y_train"], seed=2, device="cpu")
    return w1, w2


@pytest.fixture(scope="module")
def bend(endpoints, digits):
    """fit_bezier with its defaults (1,500 steps) on the training split."""
    w1, w2 = endpoints
    return mc.fit_bezier(w1, w2, digits["X_train"], digits["y_train"], device="cpu")


# ---------------------------------------------------------------- points on the paths

W1 = {"a": np.array([0.0, 4.0])}
THETA = {"a": np.array([2.0, 0.0])}
W2 = {"a": np.array([8.0, 8.0])}

BEZIER_CASES = [
    (0.0, [0.0, 4.0]),
    (0.25, [1.25, 2.75]),  # 0.5625 w1 + 0.375 theta + 0.0625 w2
    (0.5, [3.0, 3.0]),     # 0.25 w1 + 0.5 theta + 0.25 w2
    (1.0, [8.0, 8.0]),
]


@pytest.mark.parametrize("t, expected", BEZIER_CASES, ids=["t0", "t0.25", "t0.5", "t1"])
def test_bezier_point_by_hand(t, expected):
    np.testing.assert_array_equal(mc.bezier_point(W1, THETA, W2, t)["a"], expected)


LINE_CASES = [(0.0, [0.0, 4.0]), (0.25, [2.0, 5.0]), (0.5, [4.0, 6.0]), (1.0, [8.0, 8.0])]


@pytest.mark.parametrize("t, expected", LINE_CASES, ids=["t0", "t0.25", "t0.5", "t1"])
def test_line_point_by_hand(t, expected):
    np.testing.assert_array_equal(mc.line_point(W1, W2, t)["a"], expected)


def _points(w1, theta, w2, t):
    return {"bezier": mc.bezier_point(w1, theta, w2, t), "line": mc.line_point(w1, w2, t)}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("t, end", [(0.0, 0), (1.0, 1)], ids=["t0-is-w1", "t1-is-w2"])
def test_paths_start_at_w1_and_end_at_w2_exactly(dtype, t, end):
    w1, theta, w2 = (_random_params(s, dtype) for s in (0, 1, 2))
    for name, point in _points(w1, theta, w2, t).items():
        for k in w1:
            np.testing.assert_array_equal(point[k], (w1, w2)[end][k], err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("t", [0.3, np.float64(0.3), np.float32(0.7), np.linspace(0, 1, 5)[1]],
                         ids=["float", "np.float64", "np.float32", "linspace-item"])
def test_paths_keep_keys_shapes_dtype_and_inputs(dtype, t):
    w1, theta, w2 = (_random_params(s, dtype) for s in (0, 1, 2))
    before = [_copy(p) for p in (w1, theta, w2)]
    for name, point in _points(w1, theta, w2, t).items():
        assert point.keys() == w1.keys(), name
        for k in w1:
            assert point[k].shape == w1[k].shape and point[k].dtype == dtype, (name, k)
            assert not np.shares_memory(point[k], w1[k]), (name, k)
    for original, params in zip(before, (w1, theta, w2), strict=True):
        for k in params:
            np.testing.assert_array_equal(params[k], original[k])


@pytest.mark.parametrize("t", [0.1, 0.5, 0.8])
def test_bezier_formula_on_random_arrays(t):
    w1, theta, w2 = (_random_params(s) for s in (0, 1, 2))
    point = mc.bezier_point(w1, theta, w2, t)
    for k in w1:
        expected = (1 - t) ** 2 * w1[k] + 2 * t * (1 - t) * theta[k] + t ** 2 * w2[k]
        np.testing.assert_allclose(point[k], expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("t", [0.2, 0.5, 0.9])
def test_bezier_with_the_midpoint_as_bend_is_the_line(t):
    w1, w2 = _random_params(0), _random_params(2)
    mid = {k: (w1[k] + w2[k]) / 2 for k in w1}
    curve, line = mc.bezier_point(w1, mid, w2, t), mc.line_point(w1, w2, t)
    for k in w1:
        np.testing.assert_allclose(curve[k], line[k], rtol=1e-12, atol=1e-14)


def test_points_work_on_torch_tensors():
    w1, theta, w2 = (_random_params(s) for s in (0, 1, 2))
    as_torch = [{k: torch.as_tensor(v) for k, v in p.items()} for p in (w1, theta, w2)]
    curve = mc.bezier_point(*as_torch, 0.3)
    line = mc.line_point(as_torch[0], as_torch[2], 0.3)
    for k in w1:
        np.testing.assert_allclose(curve[k].numpy(), mc.bezier_point(w1, theta, w2, 0.3)[k])
        np.testing.assert_allclose(line[k].numpy(), mc.line_point(w1, w2, 0.3)[k])


# ---------------------------------------------------------------- provided helpers

BARRIER_CASES = [
    ([0.0, 0.5, 1.0], [1.0, 3.0, 2.0], 1.5),   # chord at 0.5 is 1.5
    ([0.0, 0.5, 1.0], [1.0, 1.0, 2.0], 0.0),   # below the chord: only the ends count
    ([0.0, 0.25, 0.5, 0.75, 1.0], [2.0, 2.0, 4.0, 2.0, 2.0], 2.0),
]


@pytest.mark.parametrize("ts, losses, expected", BARRIER_CASES,
                         ids=["bump", "below-chord", "flat-ends"])
def test_barrier_by_hand(ts, losses, expected):
    assert mc.barrier(np.array(ts), np.array(losses)) == pytest.approx(expected)


def test_mlp_forward_numpy_and_torch_agree_and_cross_entropy_matches_torch():
    params = mc.init_mlp(seed=0)
    X = np.random.default_rng(0).random((7, 1, 8, 8))
    y = np.arange(7)
    scores = mc.mlp_forward(params, X)
    assert scores.shape == (7, 10)
    as_torch = {k: torch.as_tensor(v) for k, v in params.items()}
    expected = mc.torch_mlp_forward(as_torch, torch.as_tensor(X.reshape(7, -1)))
    np.testing.assert_allclose(scores, expected.numpy(), rtol=1e-12)
    ce = F.cross_entropy(expected, torch.as_tensor(y)).item()
    assert mc.mean_cross_entropy(scores, y) == pytest.approx(ce, rel=1e-12)


def test_init_mlp_shapes_and_he_scale():
    params = mc.init_mlp(sizes=(400, 300, 10), seed=0)
    assert {k: v.shape for k, v in params.items()} == {
        "W1": (400, 300), "b1": (300,), "W2": (300, 10), "b2": (10,)}
    assert params["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert not params["b1"].any() and not params["b2"].any()


def test_path_losses_shapes_and_ends(endpoints, digits):
    w1, w2 = endpoints
    mid = {k: (w1[k] + w2[k]) / 2 for k in w1}
    ts, line, curve = mc.path_losses(w1, mid, w2, digits["X_val"], digits["y_val"], num_t=5)
    np.testing.assert_allclose(ts, [0, 0.25, 0.5, 0.75, 1])
    assert line.shape == curve.shape == (5,)
    ce = mc.mean_cross_entropy(mc.mlp_forward(w1, digits["X_val"]), digits["y_val"])
    assert line[0] == curve[0] == pytest.approx(ce)
    np.testing.assert_allclose(curve, line, rtol=1e-10)


def test_independent_endpoints_are_good_and_the_line_between_them_is_not(endpoints, digits):
    X, y = digits["X_test"], digits["y_test"]
    w1, w2 = endpoints
    assert _error(w1, X, y) < 0.06 and _error(w2, X, y) < 0.06
    ts, line, _ = mc.path_losses(w1, w1, w2, X, y)
    assert mc.barrier(ts, line) > 0.3


# ---------------------------------------------------------------- fit_bezier

def test_fit_bezier_curve_barrier_is_far_below_the_line_barrier(endpoints, bend, digits):
    w1, w2 = endpoints
    ts, line, curve = mc.path_losses(w1, bend, w2, digits["X_test"], digits["y_test"])
    assert mc.barrier(ts, curve) < 0.25 * mc.barrier(ts, line)


def test_fit_bezier_curve_keeps_the_test_error_low(endpoints, bend, digits):
    X, y = digits["X_test"], digits["y_test"]
    w1, w2 = endpoints
    worst_end = max(_error(w1, X, y), _error(w2, X, y))
    worst_curve = max(_error(mc.bezier_point(w1, bend, w2, t), X, y)
                      for t in np.linspace(0, 1, 11))
    worst_line = max(_error(mc.line_point(w1, w2, t), X, y) for t in np.linspace(0, 1, 11))
    assert worst_curve <= worst_end + 0.05
    assert worst_line > worst_curve + 0.1


def test_fit_bezier_returns_numpy_with_the_keys_shapes_and_dtypes_of_w1(endpoints, bend):
    w1, _ = endpoints
    assert bend.keys() == w1.keys()
    for k in w1:
        assert isinstance(bend[k], np.ndarray)
        assert bend[k].shape == w1[k].shape and bend[k].dtype == w1[k].dtype


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_fit_bezier_starts_at_the_midpoint_and_keeps_inputs(endpoints, digits, dtype):
    w1, w2 = ({k: v.astype(dtype) for k, v in w.items()} for w in endpoints)
    before = _copy(w1), _copy(w2)
    theta = mc.fit_bezier(w1, w2, digits["X_train"], digits["y_train"], steps=0, device="cpu")
    for k in w1:
        assert theta[k].dtype == dtype
        np.testing.assert_allclose(theta[k], (w1[k] + w2[k]) / 2, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(w1[k], before[0][k])
        np.testing.assert_array_equal(w2[k], before[1][k])


def test_fit_bezier_is_deterministic_for_a_fixed_seed(endpoints, digits):
    w1, w2 = endpoints
    X, y = digits["X_train"], digits["y_train"]
    a = mc.fit_bezier(w1, w2, X, y, steps=50, seed=4, device="cpu")
    b = mc.fit_bezier(w1, w2, X, y, steps=50, seed=4, device="cpu")
    c = mc.fit_bezier(w1, w2, X, y, steps=50, seed=5, device="cpu")
    for k in w1:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.array_equal(a[k], c[k]) for k in w1)


def test_fit_bezier_lowers_the_expected_training_loss(endpoints, digits):
    w1, w2 = endpoints
    X, y = digits["X_train"], digits["y_train"]
    mid = {k: (w1[k] + w2[k]) / 2 for k in w1}
    theta = mc.fit_bezier(w1, w2, X, y, steps=200, device="cpu")
    _, _, before = mc.path_losses(w1, mid, w2, X, y, num_t=11)
    _, _, after = mc.path_losses(w1, theta, w2, X, y, num_t=11)
    assert after.mean() < 0.5 * before.mean()


@requires_cuda
def test_fit_bezier_on_cuda(endpoints, digits):
    w1, w2 = endpoints
    theta = mc.fit_bezier(w1, w2, digits["X_train"], digits["y_train"], steps=300,
                          device="cuda")
    ts, line, curve = mc.path_losses(w1, theta, w2, digits["X_test"], digits["y_test"])
    assert all(isinstance(v, np.ndarray) and v.dtype == w1[k].dtype for k, v in theta.items())
    assert mc.barrier(ts, curve) < 0.25 * mc.barrier(ts, line)
