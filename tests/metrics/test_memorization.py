"""Memorization share for a copying model, a fresh-data model and a brute-force reference."""

import numpy as np
import pytest

from ganvae.metrics import memorization_share


def test_copies_of_training_points_score_one():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(1000, 16)), rng.normal(size=(500, 16))
    copies = train[rng.integers(1000, size=300)]
    result = memorization_share(copies, train, test)
    assert result["share"] == 1.0
    assert result["threshold"] > 1.0


@pytest.mark.parametrize("quantile", [0.05, 0.5])
def test_fresh_draws_score_about_the_quantile(quantile):
    rng = np.random.default_rng(1)
    train, test, fake = rng.normal(size=(1000, 8)), rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    assert memorization_share(fake, train, test, quantile=quantile)["share"] == pytest.approx(quantile, abs=0.025)


def test_matches_brute_force_with_small_chunks():
    rng = np.random.default_rng(2)
    train, test, fake = rng.normal(size=(90, 3)), rng.normal(size=(70, 3)), rng.normal(size=(60, 3)) * 0.8
    nearest = lambda q: np.linalg.norm(q[:, None] - train[None], axis=-1).min(axis=1)  # noqa: E731
    threshold = np.quantile(nearest(test), 0.1)
    result = memorization_share(fake, train, test, quantile=0.1, chunk_size=7)
    assert result["threshold"] == pytest.approx(threshold, rel=1e-9)
    assert result["share"] == np.mean(nearest(fake) < threshold)
