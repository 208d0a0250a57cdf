"""Class coverage against hand-computed histograms."""

import math

import numpy as np
import pytest

from ganvae.metrics import class_coverage


def test_identical_histograms_give_zero_kl():
    labels = np.array([0, 1, 1, 2, 2, 2])
    result = class_coverage(labels[::-1], labels, n_classes=3)
    assert result["kl"] == 0.0
    assert result["min_class_share"] == pytest.approx(1 / 6)
    np.testing.assert_allclose(result["histogram"], [1 / 6, 2 / 6, 3 / 6])


def test_one_class_sample():
    real = np.repeat(np.arange(4), [10, 20, 30, 40])
    result = class_coverage(np.full(50, 2), real, n_classes=4)
    assert result["min_class_share"] == 0.0
    assert result["kl"] == pytest.approx(math.log(1 / 0.3), rel=1e-12)


def test_matches_direct_formula_and_floors_missing_real_class():
    rng = np.random.default_rng(0)
    fake, real = rng.integers(0, 5, size=300), rng.integers(0, 4, size=400)  # real never shows class 4
    p = np.bincount(fake, minlength=5) / 300
    q = np.maximum(np.bincount(real, minlength=5) / 400, 1e-6)
    result = class_coverage(fake, real, n_classes=5)
    assert result["kl"] == pytest.approx(np.sum(p * np.log(p / q)), rel=1e-12)
    assert math.isfinite(result["kl"]) and result["kl"] > p[4] * math.log(p[4] / 1e-6) - 1


def test_accepts_integral_floats_and_rejects_out_of_range():
    assert class_coverage(np.array([0.0, 1.0]), [0, 1], n_classes=2)["kl"] == 0.0
    with pytest.raises(ValueError, match="pred_real"):
        class_coverage([0, 1], [0, 3], n_classes=3)
    with pytest.raises(ValueError, match="pred_fake"):
        class_coverage([0.5, 1], [0, 1], n_classes=2)
