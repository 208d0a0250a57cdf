"""Frechet distance between Gaussians fitted to two feature sets (FID when the features are Inception's).

Staged as features -> statistics -> score so the statistics of real data can be cached:
``feature_statistics`` (features -> mu, sigma), ``frechet_distance_from_stats`` (statistics -> score) and
``frechet_distance`` (both stages at once). This module also holds ``as_feature_array``, the one input check
that every array metric in this package shares.
"""

import numpy as np

from ganvae.errors import DataError

__all__ = ["as_feature_array", "feature_statistics", "frechet_distance", "frechet_distance_from_stats"]


def as_feature_array(features, name, min_samples=1):
    """Return ``features`` as a float64 array of shape (n_samples, n_features), or raise DataError.

    ``name`` is the argument's name, used in the one-sentence message.
    """
    try:
        array = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(f"`{name}` must be a numeric array of shape (n_samples, n_features); {error}.") from None
    if array.ndim != 2:
        raise DataError(
            f"`{name}` must be a 2-D array of shape (n_samples, n_features), got {array.ndim}-D shape {array.shape}."
        )
    if array.shape[1] == 0:
        raise DataError(f"`{name}` has no feature columns (shape {array.shape}); pass at least one feature.")
    if array.shape[0] < min_samples:
        raise DataError(f"`{name}` has {array.shape[0]} samples but this metric needs at least {min_samples}.")
    if not np.isfinite(array).all():
        raise DataError(f"`{name}` contains NaN or infinite values; remove or fix them before computing metrics.")
    return array


def check_same_dim(first, second, first_name, second_name):
    """Raise DataError unless two (n, d) arrays have the same feature dimension d."""
    if first.shape[1] != second.shape[1]:
        raise DataError(
            f"`{first_name}` has {first.shape[1]} features but `{second_name}` has {second.shape[1]}; "
            "both must come from the same feature extractor."
        )


def feature_statistics(features):
    """Mean and covariance of a feature set, in float64.

    Args:
        features: array (N, D) with N >= 2.

    Returns:
        ``(mu, sigma)``: mu of shape (D,), sigma of shape (D, D), the unbiased covariance (``ddof=1``, as
        ``np.cov(rowvar=False)`` in pytorch-fid's ``calculate_activation_statistics``).
    """
    features = as_feature_array(features, "features", min_samples=2)
    mu = features.mean(axis=0)
    sigma = np.cov(features, rowvar=False, ddof=1).reshape(features.shape[1], features.shape[1])
    return mu, sigma


def _check_stats(mu, sigma, mu_name, sigma_name):
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1 or mu.size == 0:
        raise DataError(f"`{mu_name}` must be a non-empty 1-D mean vector, got shape {mu.shape}.")
    if sigma.shape != (mu.size, mu.size):
        raise DataError(f"`{sigma_name}` must be a ({mu.size}, {mu.size}) covariance matrix, got shape {sigma.shape}.")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise DataError(f"`{mu_name}` or `{sigma_name}` contains NaN or infinite values.")
    scale = max(float(np.abs(sigma).max()), 1e-300)
    if not np.allclose(sigma, sigma.T, rtol=1e-6, atol=1e-9 * scale):
        raise DataError(f"`{sigma_name}` is not symmetric; pass a covariance matrix such as np.cov's output.")
    return mu, sigma


def _clip_rounding(eigenvalues):
    """Set eigenvalues that are rounding noise (below D * eps * the largest) to 0, so their square roots
    (about 1e-8 each) do not add up to a spurious distance between identical singular covariances."""
    floor = len(eigenvalues) * np.finfo(np.float64).eps * max(float(eigenvalues.max()), 0.0)
    return np.where(eigenvalues > floor, eigenvalues, 0.0)


def _psd_sqrt(sigma):
    """Symmetric square root of a symmetric PSD matrix (rounding-level and negative eigenvalues set to 0)."""
    eigenvalues, eigenvectors = np.linalg.eigh(sigma)
    return (eigenvectors * np.sqrt(_clip_rounding(eigenvalues))) @ eigenvectors.T


def _trace_sqrt_product(sigma1, sigma2):
    """tr sqrt(sigma1 sigma2) for PSD sigma1, sigma2.

    sigma1 sigma2 is similar to the symmetric PSD matrix M = sqrt(s1) s2 sqrt(s1), so both have the same
    eigenvalues; the trace of the square root is the sum of their square roots. Unlike scipy.linalg.sqrtm on the
    non-symmetric product, this never produces complex parts and stays defined for singular covariances.
    """
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    middle = 0.5 * (middle + middle.T)
    eigenvalues = np.linalg.eigvalsh(middle)
    return float(np.sqrt(_clip_rounding(eigenvalues)).sum())


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2):
    """Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2). Lower is better.

    d^2 = ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr(sqrt(sigma1 sigma2)), the squared distance that
    Heusel et al. (2017), "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium",
    call FID. The trace of the matrix square root is taken from the eigenvalues of sqrt(s1) s2 sqrt(s1) in
    float64 (see ``_trace_sqrt_product``); it agrees with pytorch-fid's scipy.linalg.sqrtm formula where that one
    is well defined.

    Args:
        mu1, mu2: means of shape (D,).
        sigma1, sigma2: covariances of shape (D, D).

    Returns:
        The squared distance as a Python float (>= 0 up to rounding).
    """
    mu1, sigma1 = _check_stats(mu1, sigma1, "mu1", "sigma1")
    mu2, sigma2 = _check_stats(mu2, sigma2, "mu2", "sigma2")
    if mu1.size != mu2.size:
        raise DataError(
            f"`mu1` has dimension {mu1.size} but `mu2` has {mu2.size}; compare statistics of one feature extractor."
        )
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * _trace_sqrt_product(sigma1, sigma2))


def frechet_distance(real_features, fake_features):
    """FID between two feature sets of shape (N, D) and (M, D): Gaussians fitted to each, then their Frechet
    distance (see ``frechet_distance_from_stats``). Lower is better; 0 for identical statistics.

    Reference: Heusel et al. (2017); statistics as in pytorch-fid (float64 mean, ``ddof=1`` covariance).
    """
    real_features = as_feature_array(real_features, "real_features", min_samples=2)
    fake_features = as_feature_array(fake_features, "fake_features", min_samples=2)
    check_same_dim(real_features, fake_features, "real_features", "fake_features")
    mu1, sigma1 = feature_statistics(real_features)
    mu2, sigma2 = feature_statistics(fake_features)
    return frechet_distance_from_stats(mu1, sigma1, mu2, sigma2)
