"""Metrics as pure functions over arrays, staged features -> statistics -> score.

Every metric a report can show is described once, in ``ganvae.metrics.spec.METRICS``: which direction is
better, which family capability it needs, how reports name and judge it. ``METRIC_INFO`` is its plain-dict view.
"""

from collections.abc import Mapping

from ganvae.metrics.clusters import assign_clusters, cluster_count, cluster_coverage, fit_clusters
from ganvae.metrics.coverage import class_coverage
from ganvae.metrics.fid import feature_statistics, frechet_distance, frechet_distance_from_stats
from ganvae.metrics.kid import kernel_distance
from ganvae.metrics.likelihood import active_units, bits_per_dim, gaussian_kl, importance_weighted_log_likelihood
from ganvae.metrics.memorization import memorization_share
from ganvae.metrics.modes import mode_metrics
from ganvae.metrics.prdc import nearest_neighbour_distances, prdc
from ganvae.metrics.sharpness import laplacian_energy, sharpness_ratio
from ganvae.metrics.spec import MEMORIZATION_QUANTILE, METRICS, MetricSpec, capable_families

__all__ = [
    "METRICS",
    "METRIC_INFO",
    "MEMORIZATION_QUANTILE",
    "MetricSpec",
    "active_units",
    "assign_clusters",
    "bits_per_dim",
    "class_coverage",
    "cluster_count",
    "cluster_coverage",
    "feature_statistics",
    "fit_clusters",
    "frechet_distance",
    "frechet_distance_from_stats",
    "gaussian_kl",
    "importance_weighted_log_likelihood",
    "kernel_distance",
    "laplacian_energy",
    "memorization_share",
    "mode_metrics",
    "nearest_neighbour_distances",
    "prdc",
    "sharpness_ratio",
]


class _MetricInfo(Mapping):
    """``METRIC_INFO``: the plain-dict view of ``spec.METRICS``, read live (a metric added to the spec shows).

    Each value: direction ("lower", "higher", "target" or "neither"), description, computed_by, requires (the
    family capability it needs, or None), applies_to (the registered families that have it, derived from their
    capabilities) and, for a two-sided metric, target.
    """

    def __getitem__(self, name: str) -> dict:
        metric = METRICS[name]
        info = metric.info()
        info["applies_to"] = tuple(capable_families([metric.requires] if metric.requires else []))
        return info

    def __iter__(self):
        return iter(list(METRICS))

    def __len__(self) -> int:
        return len(METRICS)


METRIC_INFO = _MetricInfo()

# The pipeline over these pure functions (feature extraction, every metric group) is `ganvae.evaluation`.
from ganvae.metrics.features import FeatureExtractor, feature_extractor_for  # noqa: E402
from ganvae.metrics.vae_metrics import importance_weighted_nll, negative_elbo, vae_metrics  # noqa: E402

__all__ += ["FeatureExtractor", "feature_extractor_for", "importance_weighted_nll", "negative_elbo", "vae_metrics"]
