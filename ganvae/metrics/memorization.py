"""Memorization: how often generated samples sit closer to a training example than fresh real data does."""

import numpy as np

from ganvae.errors import ConfigError
from ganvae.metrics.fid import as_feature_array, check_same_dim
from ganvae.metrics.prdc import DEFAULT_CHUNK_SIZE, nearest_distances

__all__ = ["memorization_share"]


def memorization_share(fake_features, train_features, test_features, quantile=0.05, chunk_size=DEFAULT_CHUNK_SIZE):
    """Share of generated samples closer to their nearest training example than real held-out data usually is.

    threshold = the ``quantile``-th quantile (numpy's linear interpolation) of the distances from each test
    example to its nearest training example; share = fraction of fake samples whose nearest-training-example
    distance is strictly below the threshold. Lower is better.

    A model whose samples behave like fresh draws from the data distribution scores about ``quantile`` (0.05 by
    default): its samples are as close to the training set as unseen test data is. A model that copies training
    examples scores near 1. This is the nearest-neighbour copy test of generative-model memorization studies
    (e.g. the distance-to-closest-record check; Meehan et al. 2020, "A Non-Parametric Test to Detect
    Data-Copying in Generative Models", motivate comparing against held-out test distances), reduced to one
    number; with the train/test split held fixed it can be compared across models.

    Distances are Euclidean in float64 (expanded ||x||^2 - 2 x.y + ||y||^2, so an exact copy measures about
    1e-8 times the feature norm rather than 0), found in chunks of ``chunk_size`` query rows.

    Args:
        fake_features: (M, D) generated samples or their features.
        train_features: (N_train, D) the data the model was trained on.
        test_features: (N_test, D) real data the model never saw, from the same distribution.
        quantile: in (0, 1]; which test-to-train distance counts as "closer than usual".

    Returns:
        ``{"share": float in [0, 1], "threshold": float}``.
    """
    fake_features = as_feature_array(fake_features, "fake_features")
    train_features = as_feature_array(train_features, "train_features")
    test_features = as_feature_array(test_features, "test_features")
    check_same_dim(fake_features, train_features, "fake_features", "train_features")
    check_same_dim(test_features, train_features, "test_features", "train_features")
    if not (0 < quantile <= 1):
        raise ConfigError(f"`quantile` must be in (0, 1], got {quantile!r}.")
    test_to_train = nearest_distances(test_features, train_features, chunk_size)  # (N_test,)
    threshold = float(np.quantile(test_to_train, quantile))
    fake_to_train = nearest_distances(fake_features, train_features, chunk_size)  # (M,)
    return {"share": float((fake_to_train < threshold).mean()), "threshold": threshold}
