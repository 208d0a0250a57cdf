"""Label-free coverage: k-means bins of real features, the share the samples reach, and NDB (Richardson & Weiss
2018) against hand computations, scipy, and the issue's scenario (a CSV of six clusters, one dropped)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganvae.errors import ConfigError
from ganvae.evaluation import evaluate, format_table
from ganvae.metrics.clusters import (assign_clusters, cluster_count, cluster_coverage, fit_clusters,
                                     reached_threshold, two_proportion_z_test)


def blobs(n_per_blob: int, centres: np.ndarray, rng: np.random.Generator, keep=None) -> np.ndarray:
    """n_per_blob points around each kept centre (sigma 0.1; centres are 10 apart)."""
    kept = centres if keep is None else centres[keep]
    return np.concatenate([c + 0.1 * rng.standard_normal((n_per_blob, centres.shape[1])) for c in kept])


@pytest.fixture(scope="module")
def centres():
    return 10.0 * np.random.default_rng(0).standard_normal((10, 16))  # 10 well-separated blobs in 16-D


def test_cluster_count_rule():
    assert [cluster_count(n) for n in (5, 10, 100, 499, 600, 1000, 2500, 10_000)] == [5, 10, 10, 10, 12, 20, 50, 50]
    with pytest.raises(ConfigError, match="n_real"):
        cluster_count(0)


def test_samples_from_every_cluster_reach_all_and_ndb_is_small(centres):
    rng = np.random.default_rng(1)
    real = blobs(100, centres, rng)
    found = fit_clusters(real, k=10, seed=0)
    # k-means finds the blobs: each centre lies on one of them.
    assert np.sort(assign_clusters(centres, found)).tolist() == list(range(10))
    fake = blobs(100, centres, rng)
    result = cluster_coverage(assign_clusters(fake, found), assign_clusters(real, found), k=10)
    assert result["cluster_share"] == 1.0
    assert result["ndb"] == 0 and result["ndb_k"] == 0.0  # equal shares: z = 0 in every bin
    np.testing.assert_allclose(result["real_share"], 0.1)


def test_samples_from_half_the_clusters_reach_half_and_ndb_is_large(centres):
    rng = np.random.default_rng(2)
    real = blobs(100, centres, rng)
    found = fit_clusters(real, k=10, seed=0)
    fake = blobs(200, centres, rng, keep=slice(0, 5))  # the same number of samples, from 5 of the 10 kinds
    result = cluster_coverage(assign_clusters(fake, found), assign_clusters(real, found), k=10)
    assert result["cluster_share"] == 0.5
    # Kept bins hold 0.2 of the samples against 0.1 of the real data, dropped ones 0: every bin differs.
    assert result["ndb"] == 10 and result["ndb_k"] == 1.0


def test_exact_draws_of_gaussian_data_read_about_alpha():
    """With real and sampled features from one distribution, about alpha of the bins differ by chance and every
    judged bin is reached (the k-means bins are fitted on the real features, as evaluate does)."""
    ndb_k, shares = [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        real, fake = rng.standard_normal((2000, 8)), rng.standard_normal((2000, 8))
        found = fit_clusters(real, seed=0)
        assert len(found) == 40
        result = cluster_coverage(assign_clusters(fake, found), assign_clusters(real, found), len(found))
        ndb_k.append(result["ndb_k"])
        shares.append(result["cluster_share"])
    assert shares == [1.0] * 5
    assert np.mean(ndb_k) <= 0.1


def test_z_test_against_a_hand_computation_and_scipy():
    # p1 = 0.3 of 100, p2 = 0.2 of 200: pooled 70/300, se = sqrt(0.2333 * 0.7667 * (1/100 + 1/200)) = 0.051801.
    z, p_value = two_proportion_z_test(0.3, 100, 0.2, 200)
    pooled = 70 / 300
    assert float(z) == pytest.approx(0.1 / math.sqrt(pooled * (1 - pooled) * 0.015), rel=1e-12)
    assert float(z) == pytest.approx(1.93046, abs=1e-5)
    stats = pytest.importorskip("scipy.stats")
    assert float(p_value) == pytest.approx(2 * stats.norm.sf(float(z)), rel=1e-10)
    assert float(p_value) == pytest.approx(0.05355, abs=1e-5)  # just above alpha 0.05: not a different bin
    # Vectorised over bins; a pooled share of 0 (nobody in the bin) is no difference.
    z, p_value = two_proportion_z_test(np.array([0.0, 0.1, 0.0]), 500, np.array([0.0, 0.0, 0.1]), 500)
    assert z[0] == 0.0 and p_value[0] == 1.0
    assert z[1] == pytest.approx(-z[2]) and p_value[1] == pytest.approx(p_value[2])
    assert p_value[1] == pytest.approx(2 * stats.norm.sf(abs(z[1])), rel=1e-10) and p_value[1] < 1e-6


def test_a_few_stray_samples_do_not_reach_a_bin_and_tiny_bins_are_not_judged():
    real = np.repeat([0, 1, 2], [495, 495, 10])  # bin 2: 1% of the real data
    # 1000 samples: bin 0 expects 495 (reached from 50), bin 2 expects 10 (judged, reached from 1).
    judged, threshold = reached_threshold(np.bincount(real) / len(real), 1000)
    assert judged.tolist() == [True, True, True] and threshold.tolist() == pytest.approx([49.5, 49.5, 1.0])
    fake = np.repeat([0, 1, 2], [951, 49, 0])  # bin 1 got 49 stray samples of the 495 it should: not reached
    result = cluster_coverage(fake, real, k=3)
    assert result["reached"].tolist() == [True, False, False] and result["cluster_share"] == pytest.approx(1 / 3)
    # With 500 samples, bin 2 expects 5: too few to judge, so missing it is no evidence.
    result = cluster_coverage(np.repeat([0, 1], 250), real, k=3)
    assert result["judged"].tolist() == [True, True, False] and result["cluster_share"] == 1.0
    assert math.isnan(cluster_coverage(np.zeros(10, int), real, k=3)["cluster_share"])  # nothing to judge


def test_bad_inputs_are_one_sentence():
    with pytest.raises(ConfigError, match="bin indices from 0 to 2"):
        cluster_coverage(np.array([0, 3]), np.array([0, 1]), k=3)
    with pytest.raises(ConfigError, match="1 to the 4 real examples"):
        fit_clusters(np.zeros((4, 2)), k=5)


def six_cluster_table(path, n_per_cluster: int, seed: int, keep=range(6)) -> np.ndarray:
    """Six clusters in 5 columns (in units of a few hundred, as a user's table might be)."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(123).uniform(-1, 1, (6, 5)) * [300, 20, 5, 1000, 50]
    spread = np.array([300, 20, 5, 1000, 50]) * 0.05
    rows = np.concatenate([centres[c] + spread * rng.standard_normal((n_per_cluster, 5)) for c in keep])
    if path is not None:
        np.savetxt(path, rows, delimiter=",", header="a,b,c,d,e", comments="")
    return rows.astype(np.float32)


def test_evaluate_reports_a_dropped_cluster_in_a_csv_without_labels(tmp_path):
    """The issue's scenario: a 5-column CSV with six clusters and no labels; a "model" whose samples miss one
    cluster reads below 1 on clusters reached and high on NDB/k, one that keeps all six reads 1 and low."""
    table = tmp_path / "six.csv"
    six_cluster_table(table, 100, seed=0)
    all_six, five = tmp_path / "all_six.npy", tmp_path / "five.npy"
    np.save(all_six, six_cluster_table(None, 100, seed=1))
    np.save(five, six_cluster_table(None, 120, seed=2, keep=range(5)))
    good = evaluate(str(all_six), data=str(table), n_samples=600, cache=False)
    bad = evaluate(str(five), data=str(table), n_samples=600, cache=False)
    for result in (good, bad):
        assert result["details"]["clusters"] == 12  # 600 real rows: 600 // 50
        assert result["metrics"]["class_kl"] is None  # no labels: the class metrics cannot say it
    assert good["metrics"]["cluster_share"] == 1.0 and good["metrics"]["ndb_k"] <= 0.1
    # The dropped cluster's bins (1/6 of the real data) get no sample; the five others' bins are over-filled.
    real_share, sample_share = (np.array(bad["details"][key]) for key in ("cluster_real_share",
                                                                          "cluster_sample_share"))
    empty = sample_share == 0
    assert real_share[empty].sum() == pytest.approx(1 / 6, abs=0.02)
    assert bad["metrics"]["cluster_share"] == pytest.approx(1 - empty.sum() / 12) and empty.sum() >= 1
    assert bad["metrics"]["ndb_k"] >= empty.sum() / 12
    assert bad["details"]["clusters_reached"] < bad["details"]["clusters_judged"] == 12
    table_text = format_table(bad)
    assert "cluster_share" in table_text and "ndb_k" in table_text
