"""Mode counting on exact draws, on a collapsed sampler and on hand-made points."""

import math

import numpy as np
import pytest

from ganvae.metrics import mode_metrics

SIGMA = 0.05


def grid_means(side=5):
    return np.array([(x, y) for x in range(side) for y in range(side)], dtype=float) * 2.0


def test_exact_mixture_draws_capture_every_mode_with_2d_hq_share():
    rng = np.random.default_rng(0)
    means = grid_means()
    samples = means[rng.integers(len(means), size=20_000)] + SIGMA * rng.normal(size=(20_000, 2))
    result = mode_metrics(samples, means, SIGMA)
    assert result["modes_captured"] == 25
    # P(||N(0, I_2)|| <= 3) = 1 - exp(-9/2) = 0.98889, the chi-square(2) CDF; not the 1-D 0.9973
    assert result["high_quality_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.004)
    assert 0 <= result["kl_to_uniform"] < 0.01
    assert result["mode_histogram"].sum() == round(result["high_quality_share"] * 20_000)


def test_single_mode_sampler_captures_one_mode_with_kl_log_n():
    rng = np.random.default_rng(1)
    means = grid_means()
    samples = means[7] + SIGMA * rng.normal(size=(1000, 2))
    result = mode_metrics(samples, means, SIGMA)
    assert result["modes_captured"] == 1
    assert result["kl_to_uniform"] == pytest.approx(math.log(25), rel=1e-12)
    assert result["mode_histogram"][7] == result["mode_histogram"].sum()


def test_hand_made_points():
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    samples = np.array([[0.0, 2.9], [0.0, 3.1], [10.0, 0.5], [10.0, -0.5], [5.2, 5.0], [0.0, 7.0]])
    # nearest modes: 0 (HQ), 0 (not HQ), 1, 1, 1 (not HQ: 7.07 away), 2 (exactly 3 sigma: HQ)
    result = mode_metrics(samples, means, sigma=1.0)
    np.testing.assert_array_equal(result["mode_histogram"], [1, 2, 1])
    assert result["high_quality_share"] == pytest.approx(4 / 6)
    assert result["modes_captured"] == 3
    p = np.array([1, 2, 1]) / 4
    assert result["kl_to_uniform"] == pytest.approx(np.sum(p * np.log(3 * p)), rel=1e-12)
    assert mode_metrics(samples, means, sigma=1.0, min_hq_samples=2)["modes_captured"] == 1


def test_no_high_quality_sample_gives_nan_kl():
    result = mode_metrics(np.array([[50.0, 50.0]]), grid_means(2), SIGMA)
    assert result["modes_captured"] == 0 and result["high_quality_share"] == 0.0
    assert math.isnan(result["kl_to_uniform"])
