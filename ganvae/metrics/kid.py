"""Kernel distance (KID): unbiased MMD^2 with a polynomial kernel, averaged over random subsets."""

import warnings

import numpy as np

from ganvae.errors import ConfigError, DataError
from ganvae.metrics.fid import as_feature_array, check_same_dim

__all__ = ["kernel_distance", "polynomial_kernel", "unbiased_mmd2"]


def polynomial_kernel(x, y, degree=3, gamma=None, coef0=1.0):
    """k(x, y) = (gamma <x, y> + coef0) ** degree for all rows of x (n, D) and y (m, D); gamma defaults to 1/D."""
    if gamma is None:
        gamma = 1.0 / x.shape[1]
    base = x @ y.T  # (n, m)
    base *= gamma
    base += coef0
    if int(degree) != degree or degree < 1:
        return base**degree
    kernel = base.copy()
    for _ in range(int(degree) - 1):  # repeated multiplication: several times faster than ** on (n, m) arrays
        kernel *= base
    return kernel


def unbiased_mmd2(k_xx, k_xy, k_yy):
    """Unbiased MMD^2 estimate from the three (m, m) kernel matrices of two equal-size samples.

    (sum_{i != j} k(x_i, x_j) + sum_{i != j} k(y_i, y_j)) / (m (m - 1)) - 2 sum_{i, j} k(x_i, y_j) / m^2.
    The cross term keeps its diagonal because x and y are independent (torch-fidelity's ``mmd_est='unbiased'``).
    """
    m = k_xx.shape[0]
    within = (k_xx.sum() - np.trace(k_xx)) + (k_yy.sum() - np.trace(k_yy))
    return float(within / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kernel_distance(
    real_features, fake_features, n_subsets=100, subset_size=1000, degree=3, gamma=None, coef0=1.0, seed=0
):
    """Kernel Inception Distance between two feature sets (N, D) and (M, D). Lower is better; 0 in expectation
    when both come from the same distribution (the estimate is unbiased, so it can be slightly negative).

    For each of ``n_subsets`` rounds, ``subset_size`` rows are drawn without replacement from each set and the
    unbiased MMD^2 with the polynomial kernel k(x, y) = (gamma x.y + coef0)^degree (gamma = 1/D by default) is
    computed; the result is the mean and standard deviation (ddof=0) over rounds. Reference: Binkowski et al.
    (2018), "Demystifying MMD GANs"; the subset protocol, defaults and random draws
    (``np.random.RandomState(seed).choice``, real then fake each round) follow torch-fidelity's
    ``kid_features_to_metric``, so equal inputs and seed draw the same subsets (computed here in float64).

    When either set has fewer than ``subset_size`` rows, ``subset_size`` becomes min(N, M) and a warning says so.

    Returns:
        ``{"mean": float, "std": float}``.
    """
    real_features = as_feature_array(real_features, "real_features")
    fake_features = as_feature_array(fake_features, "fake_features")
    check_same_dim(real_features, fake_features, "real_features", "fake_features")
    if int(n_subsets) != n_subsets or n_subsets < 1:
        raise ConfigError(f"`n_subsets` must be a positive integer, got {n_subsets!r}.")
    if int(subset_size) != subset_size or subset_size < 2:
        raise ConfigError(f"`subset_size` must be an integer of at least 2, got {subset_size!r}.")
    if int(degree) != degree or degree < 1:
        raise ConfigError(f"`degree` must be a positive integer, got {degree!r}.")
    if gamma is not None and not (np.isfinite(gamma) and gamma > 0):
        raise ConfigError(f"`gamma` must be a positive number or None (meaning 1/n_features), got {gamma!r}.")
    n_real, n_fake = len(real_features), len(fake_features)
    smallest = min(n_real, n_fake)
    if smallest < 2:
        raise DataError(
            f"KID needs at least 2 samples in each set, got {n_real} real and {n_fake} fake; pass more samples."
        )
    subset_size = int(subset_size)
    if smallest < subset_size:
        warnings.warn(
            f"KID subset_size={subset_size} is larger than the smaller set ({n_real} real, {n_fake} fake); "
            f"using subset_size={smallest} instead.",
            stacklevel=2,
        )
        subset_size = smallest

    rng = np.random.RandomState(seed)
    mmds = np.empty(int(n_subsets))
    for index in range(int(n_subsets)):
        real_subset = real_features[rng.choice(n_real, subset_size, replace=False)]  # (m, D)
        fake_subset = fake_features[rng.choice(n_fake, subset_size, replace=False)]  # (m, D)
        mmds[index] = unbiased_mmd2(
            polynomial_kernel(real_subset, real_subset, degree, gamma, coef0),
            polynomial_kernel(real_subset, fake_subset, degree, gamma, coef0),
            polynomial_kernel(fake_subset, fake_subset, degree, gamma, coef0),
        )
    return {"mean": float(mmds.mean()), "std": float(mmds.std())}
