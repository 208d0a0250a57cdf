"""Label-free coverage: k-means bins of the real data's features, and how generated samples fill them.

Without labels a dropped kind of example is invisible to the class metrics. Here the real features are cut
into k bins by k-means (the bins stand in for the kinds of examples), each sample goes to its nearest centre,
and two numbers are read from the counts:

- ``cluster_share``: the share of bins the samples reach (of those big enough to judge);
- NDB, the number of statistically different bins (Richardson & Weiss 2018, "On GANs and GMMs"): bins whose
  share of samples differs from their share of real examples by a two-proportion z-test at alpha 0.05; NDB/k.

Staged as features -> centres (``fit_clusters``, cached by evaluate) -> counts (``assign_clusters``) ->
scores (``cluster_coverage``, ``two_proportion_z_test``).
"""

from __future__ import annotations

import math

import numpy as np

from ganvae.errors import ConfigError
from ganvae.metrics.fid import as_feature_array, check_same_dim
from ganvae.metrics.prdc import distance_blocks

__all__ = ["cluster_count", "fit_clusters", "assign_clusters", "reached_threshold", "two_proportion_z_test",
           "cluster_coverage", "REAL_PER_CLUSTER", "MIN_CLUSTERS", "MAX_CLUSTERS", "MIN_EXPECTED", "REACHED_FRACTION",
           "NDB_ALPHA"]

# k = clamp(n_real // REAL_PER_CLUSTER, MIN_CLUSTERS, MAX_CLUSTERS), at most n_real. About 50 real examples per
# bin give the z-test power: a bin holding 1/k of 500 real examples that the samples leave empty reads z = 7 at
# k = 10. At least 10 bins, so the share reads in steps of a tenth or finer and a dropped kind shows even when
# the data has a few kinds; at most 50, so k-means on 10,000 x 128 features stays cheap and each bin stays a
# recognisable region rather than a handful of points (Richardson & Weiss use 100 bins on 20,000+ examples).
REAL_PER_CLUSTER = 50
MIN_CLUSTERS, MAX_CLUSTERS = 10, 50
# A bin is judged when the samples should put at least MIN_EXPECTED in it (n_samples x its real share): k-means
# can give a handful of outlying real examples a bin of their own, which even exact draws often leave empty. A
# judged bin is reached when it receives at least REACHED_FRACTION of the samples its real share predicts: a few
# stray samples do not cover a region the model has dropped (every sample falls in some bin, however far from its
# centre), while exact draws miss a judged bin with probability below 1e-4 (Poisson(10) < 1).
MIN_EXPECTED = 10
REACHED_FRACTION = 0.1
NDB_ALPHA = 0.05
KMEANS_INITS = 3


def cluster_count(n_real: int) -> int:
    """k for n_real real examples: clamp(n_real // 50, 10, 50), and never more than n_real."""
    if int(n_real) != n_real or n_real < 1:
        raise ConfigError(f"`n_real` must be a positive integer, got {n_real!r}.")
    return int(min(max(int(n_real) // REAL_PER_CLUSTER, MIN_CLUSTERS), MAX_CLUSTERS, int(n_real)))


def fit_clusters(real_features, k: int | None = None, seed: int = 0) -> np.ndarray:
    """k-means centres (k, F) of the real features (N, F), float64; k defaults to ``cluster_count(N)``.

    scikit-learn's KMeans with k-means++ starts, KMEANS_INITS restarts and a fixed seed: the same features give
    the same centres.
    """
    from sklearn.cluster import KMeans

    real_features = as_feature_array(real_features, "real_features")
    k = cluster_count(len(real_features)) if k is None else k
    if int(k) != k or not 1 <= k <= len(real_features):
        raise ConfigError(f"`k` must be a whole number from 1 to the {len(real_features)} real examples, got {k!r}.")
    kmeans = KMeans(n_clusters=int(k), n_init=KMEANS_INITS, random_state=seed).fit(real_features)
    return kmeans.cluster_centers_.astype(np.float64)


def assign_clusters(features, centres) -> np.ndarray:
    """The index of each row's nearest centre (N,), int64 (ties: the lower index)."""
    features = as_feature_array(features, "features")
    centres = as_feature_array(centres, "centres")
    check_same_dim(features, centres, "features", "centres")
    nearest = np.empty(len(features), dtype=np.int64)
    for rows, block in distance_blocks(features, centres):
        nearest[rows] = block.argmin(axis=1)
    return nearest


def reached_threshold(real_share, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(judged, threshold), each (k,): whether a bin is judged (n_samples x its real share >= MIN_EXPECTED), and
    the samples it needs to count as reached (REACHED_FRACTION x n_samples x its real share)."""
    expected = n_samples * np.asarray(real_share, dtype=np.float64)
    return expected >= MIN_EXPECTED, REACHED_FRACTION * expected


def two_proportion_z_test(p1, n1: int, p2, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided z-test of equal proportions p1 (of n1 trials) and p2 (of n2), element-wise over bins.

    Pooled p = (n1 p1 + n2 p2) / (n1 + n2), standard error sqrt(p (1 - p) (1/n1 + 1/n2)), z = (p1 - p2) / se,
    p-value 2 (1 - Phi(|z|)) = erfc(|z| / sqrt 2): the test of NDB's reference code. Where the pooled share is 0
    or 1 both proportions are equal: z = 0, p-value 1. Returns (z, p_value), float64 arrays.
    """
    p1, p2 = np.asarray(p1, dtype=np.float64), np.asarray(p2, dtype=np.float64)
    pooled = (n1 * p1 + n2 * p2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = np.divide(p1 - p2, se, out=np.zeros(np.broadcast(p1, p2).shape), where=se > 0)
    p_value = np.vectorize(lambda value: math.erfc(abs(value) / math.sqrt(2)), otypes=[np.float64])(z)
    return z, p_value


def cluster_coverage(fake_clusters, real_clusters, k: int, alpha: float = NDB_ALPHA) -> dict:
    """Compare how samples and real examples fill k bins.

    Args:
        fake_clusters: (M,) bin of each generated sample (``assign_clusters``).
        real_clusters: (N,) bin of each real example.
        k: the number of bins.
        alpha: significance level of each bin's z-test.

    Returns:
        dict with
        ``cluster_share`` (float in [0, 1], higher is better): the share of the judged bins that are reached
        (``reached_threshold``: a bin is judged when the samples should put 10 or more in it, reached when it gets
        a tenth of that). 1 for exact draws; (j - d) / j when the samples leave d of j judged bins empty; NaN
        when no bin is judged (too few samples for k bins).
        ``ndb`` (int): bins whose sample share differs from the real share at level alpha (NDB).
        ``ndb_k`` (float in [0, 1], lower is better): NDB / k; about alpha for exact draws (each bin's test is
        wrong that often by chance), large when samples pile into some bins and leave others.
        ``k``, ``real_share`` and ``fake_share`` (k,), ``z`` (k,), ``judged``, ``reached`` and
        ``different`` (k,) bool.
    """
    if int(k) != k or k < 1:
        raise ConfigError(f"`k` must be a positive integer, got {k!r}.")
    if not 0 < alpha < 1:
        raise ConfigError(f"`alpha` must be in (0, 1), got {alpha!r}.")
    k = int(k)
    fake_clusters, real_clusters = np.asarray(fake_clusters), np.asarray(real_clusters)
    for name, clusters in (("fake_clusters", fake_clusters), ("real_clusters", real_clusters)):
        if clusters.ndim != 1 or clusters.size == 0:
            raise ConfigError(f"`{name}` must be a non-empty 1-D array of bin indices, got shape {clusters.shape}.")
        if not np.issubdtype(clusters.dtype, np.integer) or clusters.min() < 0 or clusters.max() >= k:
            raise ConfigError(f"`{name}` must hold whole bin indices from 0 to {k - 1}.")
    n_fake, n_real = len(fake_clusters), len(real_clusters)
    fake_counts = np.bincount(fake_clusters, minlength=k)  # (k,)
    real_share = np.bincount(real_clusters, minlength=k) / n_real  # (k,)
    fake_share = fake_counts / n_fake
    judged, threshold = reached_threshold(real_share, n_fake)
    reached = judged & (fake_counts >= threshold)
    z, p_value = two_proportion_z_test(fake_share, n_fake, real_share, n_real)
    different = p_value < alpha
    ndb = int(different.sum())
    share = float(reached.sum() / judged.sum()) if judged.any() else float("nan")
    return {"cluster_share": share, "ndb": ndb, "ndb_k": ndb / k, "k": k, "real_share": real_share,
            "fake_share": fake_share, "z": z, "judged": judged, "reached": reached, "different": different}
