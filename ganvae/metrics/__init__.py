"""Metrics as pure functions over arrays, staged features -> statistics -> score.

Every metric name a report can show is described in ``METRIC_INFO``: which direction is better, which model
families it applies to, and where it comes from.
"""

from ganvae.metrics.coverage import class_coverage
from ganvae.metrics.fid import feature_statistics, frechet_distance, frechet_distance_from_stats
from ganvae.metrics.kid import kernel_distance
from ganvae.metrics.likelihood import active_units, bits_per_dim, gaussian_kl, importance_weighted_log_likelihood
from ganvae.metrics.memorization import memorization_share
from ganvae.metrics.modes import mode_metrics
from ganvae.metrics.prdc import nearest_neighbour_distances, prdc
from ganvae.metrics.sharpness import laplacian_energy, sharpness_ratio

__all__ = [
    "METRIC_INFO",
    "MEMORIZATION_QUANTILE",
    "active_units",
    "bits_per_dim",
    "class_coverage",
    "feature_statistics",
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

_BOTH = ("gan", "vae")
_VAE = ("vae",)


def _info(direction, applies_to, description, computed_by, target=None):
    info = {"direction": direction, "applies_to": applies_to, "description": description, "computed_by": computed_by}
    if target is not None:
        info["target"] = target
    return info


# The share of held-out real examples that memorisation counts by construction (its threshold is this quantile
# of test-to-train distances), so fresh real data reads this value.
MEMORIZATION_QUANTILE = 0.05

# direction: "lower" or "higher" is better; "target" when the value real data itself gets is best and both
# sides of it are worse (then "target" holds that value); "neither" for a diagnostic with no better direction.
METRIC_INFO = {
    "fid": _info("lower", _BOTH, "Frechet distance between Gaussians fitted to real and generated features "
                 "(Heusel et al. 2017).", "frechet_distance"),
    "kid": _info("lower", _BOTH, "Kernel distance: unbiased polynomial-kernel MMD^2 averaged over subsets "
                 "(Binkowski et al. 2018); about 0 for a perfect model.", "kernel_distance()['mean']"),
    "sharpness": _info("target", _BOTH, "Mean energy of the images' Laplacian over that of real images, in pixel "
                       "space (variance of the Laplacian, Pech-Pacheco et al. 2000): 1 for real images, below 1 "
                       "for blurrier samples, above 1 for noisier ones. Images only.",
                       "sharpness_ratio()['ratio']", target=1.0),
    "precision": _info("higher", _BOTH, "Share of generated samples inside the real data's k-NN manifold "
                       "(Kynkaanniemi et al. 2019): fidelity.", "prdc()['precision']"),
    "recall": _info("higher", _BOTH, "Share of real samples inside the generated samples' k-NN manifold "
                    "(Kynkaanniemi et al. 2019): diversity.", "prdc()['recall']"),
    "density": _info("target", _BOTH, "Mean number of real k-NN balls holding each generated sample, over k "
                     "(Naeem et al. 2020); about 1 for a perfect model, above 1 when samples crowd the dense "
                     "regions of the data, below 1 when they stray from it.", "prdc()['density']", target=1.0),
    "coverage": _info("higher", _BOTH, "Share of real k-NN balls holding at least one generated sample "
                      "(Naeem et al. 2020); about 1 - 2^-k (0.97 for k=5) for a perfect model.",
                      "prdc()['coverage']"),
    "modes_captured": _info("higher", _BOTH, "Mixture modes with at least one sample within 3 sigma "
                            "(VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).",
                            "mode_metrics()['modes_captured']"),
    "high_quality_share": _info("higher", _BOTH, "Share of samples within 3 sigma of their nearest mode; "
                                "0.989 for exact draws of a 2-D mixture.", "mode_metrics()['high_quality_share']"),
    "mode_kl": _info("lower", _BOTH, "KL(high-quality samples' mode histogram || uniform); 0 when balanced, "
                     "log(n_modes) when one mode.", "mode_metrics()['kl_to_uniform']"),
    "class_kl": _info("lower", _BOTH, "KL(predicted-class histogram of samples || that of real data).",
                      "class_coverage()['kl']"),
    "min_class_share": _info("higher", _BOTH, "Smallest predicted-class share among samples; 0 when a class "
                             "is missing.", "class_coverage()['min_class_share']"),
    "memorization": _info("target", _BOTH, "Share of samples closer to a training example than the 5th "
                          "percentile of test-to-train distances: 0.05 for fresh real data; above it a model "
                          "copies its training set, below it its samples lie further from the data than real "
                          "data does (both sides are worse; compare the two-sided test of Meehan et al. 2020).",
                          "memorization_share()['share']", target=MEMORIZATION_QUANTILE),
    "nll": _info("lower", _VAE, "Negative log-likelihood in nats from the importance-weighted bound "
                 "(Burda et al. 2016).", "-importance_weighted_log_likelihood"),
    "bits_per_dim": _info("lower", _VAE, "NLL divided by (data dimensions x ln 2).", "bits_per_dim"),
    "neg_elbo": _info("lower", _VAE, "Negative evidence lower bound: reconstruction NLL plus KL to the prior "
                      "(Kingma & Welling 2014); an upper bound on the NLL.", "reconstruction + gaussian_kl sum"),
    "kl_per_dim": _info("neither", _VAE, "KL to the prior per latent dimension (Kingma & Welling 2014); a "
                        "diagnostic: near 0 means posterior collapse, large means a costly code.",
                        "gaussian_kl"),
    "active_units": _info("higher", _VAE, "Latent units whose posterior mean varies over the data by more than "
                          "0.01 (Burda et al. 2016).", "active_units"),
    "reconstruction_error": _info("lower", _VAE, "Error between inputs and their reconstructions.",
                                  "computed by the VAE family"),
}

# The pipeline over the pure functions above (imported after METRIC_INFO, which it reads). The function
# evaluate is not re-exported here, so that `ganvae.metrics.evaluate` stays the module; import it from there.
from ganvae.metrics.features import FeatureExtractor, feature_extractor_for  # noqa: E402
from ganvae.metrics.vae_metrics import importance_weighted_nll, negative_elbo, vae_metrics  # noqa: E402

__all__ += ["FeatureExtractor", "feature_extractor_for", "importance_weighted_nll", "negative_elbo", "vae_metrics"]
