"""KID against a direct double loop over the unbiased MMD^2 formula."""

import warnings

import numpy as np
import pytest

from ganvae.metrics import kernel_distance


def loop_mmd2(x, y, degree=3, coef0=1.0):
    gamma = 1.0 / x.shape[1]
    kernel = lambda a, b: (gamma * float(np.dot(a, b)) + coef0) ** degree  # noqa: E731
    m = len(x)
    within = sum(kernel(x[i], x[j]) + kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    cross = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m))
    return within / (m * (m - 1)) - 2 * cross / m**2


def test_one_whole_set_subset_equals_double_loop():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(12, 5)), rng.normal(size=(12, 5)) + 0.3
    result = kernel_distance(real, fake, n_subsets=1, subset_size=12)
    assert result["mean"] == pytest.approx(loop_mmd2(real, fake), rel=1e-12)
    assert result["std"] == 0.0


def test_subsets_follow_torch_fidelity_draws():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(30, 4)), rng.normal(size=(25, 4)) * 1.5
    draws = np.random.RandomState(7)
    expected = []
    for _ in range(5):
        x = real[draws.choice(30, 10, replace=False)]
        y = fake[draws.choice(25, 10, replace=False)]
        expected.append(loop_mmd2(x, y))
    result = kernel_distance(real, fake, n_subsets=5, subset_size=10, seed=7)
    assert result["mean"] == pytest.approx(np.mean(expected), rel=1e-10)
    assert result["std"] == pytest.approx(np.std(expected), rel=1e-8)


def test_same_distribution_near_zero_and_shift_detected():
    rng = np.random.default_rng(2)
    real, same, shifted = (rng.normal(size=(1000, 16)) for _ in range(3))
    assert abs(kernel_distance(real, same, n_subsets=10, subset_size=500)["mean"]) < 0.01
    assert kernel_distance(real, shifted + 0.5, n_subsets=10, subset_size=500)["mean"] > 0.1


def test_small_sets_warn_and_shrink_subset():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(8, 3)), rng.normal(size=(6, 3))
    with pytest.warns(UserWarning, match="subset_size=6"):
        result = kernel_distance(real, fake, n_subsets=3, subset_size=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kernel_distance(real, fake, n_subsets=3, subset_size=6) == result


def test_fewer_than_two_samples_is_a_value_error():
    with pytest.raises(ValueError, match="at least 2 samples"):
        kernel_distance(np.ones((1, 3)), np.ones((5, 3)))
