"""Every metric rejects malformed input with a ValueError that names the argument; METRIC_INFO is complete."""

import numpy as np
import pytest
import torch

from ganvae import metrics
from ganvae.families import FAMILIES
from ganvae.metrics import METRIC_INFO

GOOD = np.random.default_rng(0).normal(size=(20, 3))
WITH_NAN = GOOD.copy()
WITH_NAN[3, 1] = np.nan

BAD_FEATURES = [
    pytest.param(GOOD[:, 0], "2-D", id="rank-1"),
    pytest.param(GOOD[None], "2-D", id="rank-3"),
    pytest.param(np.empty((0, 3)), "samples", id="empty"),
    pytest.param(WITH_NAN, "NaN", id="nan"),
    pytest.param(GOOD[:, :2], "features", id="other-dim"),
]

FEATURE_METRICS = {
    "frechet_distance": lambda first, second: metrics.frechet_distance(first, second),
    "kernel_distance": lambda first, second: metrics.kernel_distance(first, second, n_subsets=1, subset_size=5),
    "prdc": lambda first, second: metrics.prdc(first, second, k=3),
    "memorization_share": lambda first, second: metrics.memorization_share(first, second, GOOD),
}
FIRST_NAME = {"memorization_share": "fake_features"}
SECOND_NAME = {"memorization_share": "train_features"}


@pytest.mark.parametrize("metric", FEATURE_METRICS)
@pytest.mark.parametrize("bad, phrase", BAD_FEATURES)
def test_bad_features_name_the_argument(metric, bad, phrase):
    first = FIRST_NAME.get(metric, "real_features")
    second = SECOND_NAME.get(metric, "fake_features")
    with pytest.raises(ValueError, match=f"`{second}`.*{phrase}|{phrase}.*`{second}`"):
        FEATURE_METRICS[metric](GOOD, bad)
    if phrase != "features":  # a dimension mismatch is reported against the second argument
        with pytest.raises(ValueError, match=f"`{first}`"):
            FEATURE_METRICS[metric](bad, GOOD)


def test_mode_and_statistics_inputs_are_checked():
    with pytest.raises(ValueError, match="`samples`"):
        metrics.mode_metrics(WITH_NAN[:, :2], GOOD[:4, :2], 0.1)
    with pytest.raises(ValueError, match="`sigma`"):
        metrics.mode_metrics(GOOD[:, :2], GOOD[:4, :2], -1.0)
    with pytest.raises(ValueError, match="`features`"):
        metrics.feature_statistics(GOOD[:1])
    with pytest.raises(ValueError, match="`sigma1`"):
        metrics.frechet_distance_from_stats(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="`k`"):
        metrics.prdc(GOOD[:4], GOOD[:4], k=5)


def test_likelihood_inputs_are_checked():
    with pytest.raises(ValueError, match="`logvar`"):
        metrics.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="`log_p_z`"):
        nan = torch.full((4, 2), float("nan"))
        metrics.importance_weighted_log_likelihood(torch.zeros(4, 2), nan, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="share one shape"):
        metrics.importance_weighted_log_likelihood(torch.zeros(4, 2), torch.zeros(4, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="`mu_over_data`"):
        metrics.active_units(torch.zeros(5))


def test_metric_info_lists_every_metric_with_a_direction():
    expected = {
        "fid", "kid", "sharpness", "precision", "recall", "density", "coverage", "modes_captured", "high_quality_share",
        "mode_kl", "class_kl", "min_class_share", "memorization", "nll", "bits_per_dim", "neg_elbo", "kl_per_dim",
        "active_units", "reconstruction_error",
    }
    assert set(METRIC_INFO) == expected
    for name, info in METRIC_INFO.items():
        assert info["direction"] in ("lower", "higher", "target", "neither"), name
        assert ("target" in info) == (info["direction"] == "target"), name
        assert "vae" in info["applies_to"] and set(info["applies_to"]) <= set(FAMILIES.names()), name
        assert info["description"].endswith("."), name
    # What real data scores on the two-sided metrics: density 1 (Naeem et al. 2020), memorisation its quantile.
    assert {name: info["target"] for name, info in METRIC_INFO.items() if "target" in info} == {
        "sharpness": 1.0, "density": 1.0, "memorization": metrics.MEMORIZATION_QUANTILE}
    assert {name for name, info in METRIC_INFO.items() if "gan" not in info["applies_to"]} == {
        "nll", "bits_per_dim", "neg_elbo", "kl_per_dim", "active_units", "reconstruction_error",
    }
