"""FID against pytorch-fid's scipy.linalg.sqrtm formula and against the closed form for diagonal Gaussians."""

import numpy as np
import pytest
from scipy import linalg

from ganvae.metrics import feature_statistics, frechet_distance, frechet_distance_from_stats


def reference_frechet(mu1, sigma1, mu2, sigma2):
    """pytorch-fid's calculate_frechet_distance (without its singular-matrix fallback)."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


@pytest.mark.parametrize("dim", [16, 64])
@pytest.mark.parametrize("shift", [0.0, 0.5])
def test_matches_sqrtm_reference_on_random_gaussians(dim, shift):
    rng = np.random.default_rng(dim)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    real = rng.normal(size=(2000, dim))
    fake = rng.normal(size=(2000, dim)) @ mixing + shift  # a different, correlated Gaussian
    expected = reference_frechet(*feature_statistics(real), *feature_statistics(fake))
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-6)


def test_same_distribution_matches_reference_where_distance_is_small():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(2000, 64)), rng.normal(size=(2000, 64))
    expected = reference_frechet(*feature_statistics(real), *feature_statistics(fake))
    assert 0 < expected < 5  # mostly finite-sample bias, so cancellation is severe
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-6)


def test_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    var1, var2 = rng.uniform(0.1, 3.0, size=8), rng.uniform(0.1, 3.0, size=8)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    result = frechet_distance_from_stats(mu1, np.diag(var1), mu2, np.diag(var2))
    assert result == pytest.approx(expected, rel=1e-12)


def test_closed_form_from_samples_of_diagonal_gaussians():
    rng = np.random.default_rng(3)
    std1, std2 = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 0.5])
    real = rng.normal(size=(200_000, 3)) * std1
    fake = rng.normal(size=(200_000, 3)) * std2 + 1.0
    expected = 3.0 + np.sum((std1 - std2) ** 2)  # 3 + 2 = 5
    assert frechet_distance(real, fake) == pytest.approx(expected, abs=0.05)


def test_random_spd_statistics_match_reference_tightly():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(32, 32)), rng.normal(size=(32, 32))
    sigma1, sigma2 = a @ a.T + 0.1 * np.eye(32), b @ b.T + 0.1 * np.eye(32)
    mu1, mu2 = rng.normal(size=32), rng.normal(size=32)
    expected = reference_frechet(mu1, sigma1, mu2, sigma2)
    assert frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-9)


def test_identical_statistics_give_zero_even_when_singular():
    rng = np.random.default_rng(5)
    features = rng.normal(size=(10, 20))  # N < D: a rank-deficient covariance
    mu, sigma = feature_statistics(features)
    assert abs(frechet_distance_from_stats(mu, sigma, mu, sigma)) < 1e-9


def test_statistics_are_float64_with_ddof_1():
    features = np.random.default_rng(6).normal(size=(50, 4)).astype(np.float32)
    mu, sigma = feature_statistics(features)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(sigma, np.cov(features.astype(np.float64), rowvar=False, ddof=1), rtol=1e-12)
    one_dim_mu, one_dim_sigma = feature_statistics(features[:, :1])
    assert one_dim_sigma.shape == (1, 1)


def test_rejects_asymmetric_covariance():
    with pytest.raises(ValueError, match="sigma2"):
        frechet_distance_from_stats(np.zeros(2), np.eye(2), np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
