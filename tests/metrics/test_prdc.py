"""PRDC against the clovaai `prdc` package, plus the expected values for two draws of one distribution."""

import contextlib
import io
import math

import numpy as np
import pytest
from prdc import compute_prdc
from prdc.prdc import compute_nearest_neighbour_distances

from ganvae.metrics import nearest_neighbour_distances, prdc


def oracle(real, fake, k):
    with contextlib.redirect_stdout(io.StringIO()):  # compute_prdc prints the sample counts
        return {name: float(value) for name, value in compute_prdc(real, fake, nearest_k=k).items()}


@pytest.mark.parametrize(
    "n_real, n_fake, dim, k, shift, chunk_size",
    [(300, 300, 8, 5, 0.0, 64), (400, 250, 16, 3, 0.7, 100), (250, 500, 4, 10, 0.3, 1000), (200, 180, 64, 1, 0.2, 7)],
)
def test_matches_prdc_package(n_real, n_fake, dim, k, shift, chunk_size):
    rng = np.random.default_rng(n_real + dim + k)
    real = rng.normal(size=(n_real, dim))
    fake = rng.normal(size=(n_fake, dim)) * 1.2 + shift
    result = prdc(real, fake, k=k, chunk_size=chunk_size)
    expected = oracle(real, fake, k)
    assert result.keys() == expected.keys()
    for name in expected:
        assert result[name] == pytest.approx(expected[name], abs=1e-12), name
    assert len({round(value, 6) for value in result.values()}) > 1  # a case where the four numbers differ


def test_float32_input_matches_package_on_float64_copy():
    rng = np.random.default_rng(11)
    real, fake = rng.normal(size=(200, 10)).astype(np.float32), rng.normal(size=(150, 10)).astype(np.float32) + 0.4
    assert prdc(real, fake, k=4, chunk_size=33) == pytest.approx(
        oracle(real.astype(np.float64), fake.astype(np.float64), 4), abs=1e-12
    )


@pytest.mark.parametrize("k", [1, 5])
def test_radii_match_package(k):
    features = np.random.default_rng(k).normal(size=(120, 6))
    expected = compute_nearest_neighbour_distances(features, k)
    np.testing.assert_allclose(nearest_neighbour_distances(features, k, chunk_size=17), expected, rtol=1e-9)
    brute = np.sort(np.linalg.norm(features[:, None] - features[None], axis=-1), axis=1)[:, k]
    np.testing.assert_allclose(nearest_neighbour_distances(features, k), brute, rtol=1e-9)


def test_same_distribution_gives_density_one_and_paper_coverage():
    """Naeem et al. (2020): E[density] = 1 and E[coverage] = 1 - prod_{t=1..k} (N - t) / (N + M - t) for fake and
    real from one distribution (the k nearest of N-1 other reals and M fakes are all real with that probability),
    which tends to 1 - 2^-k = 0.969 for k = 5 and M = N."""
    rng = np.random.default_rng(5)
    n, k = 2000, 5
    result = prdc(rng.normal(size=(n, 8)), rng.normal(size=(n, 8)), k=k)
    expected_coverage = 1 - math.prod((n - t) / (2 * n - t) for t in range(1, k + 1))
    assert expected_coverage == pytest.approx(1 - 0.5**k, abs=2e-3)
    assert result["coverage"] == pytest.approx(expected_coverage, abs=0.015)
    assert result["density"] == pytest.approx(1.0, abs=0.08)


def test_collapsed_fake_has_low_recall_and_coverage():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(500, 4))
    collapsed = real[:5].repeat(100, axis=0) + 1e-3 * rng.normal(size=(500, 4))
    result = prdc(real, collapsed, k=5)
    assert result["precision"] > 0.95
    assert result["coverage"] < 0.1  # about (1 + k) real balls per cluster: 5 * 6 / 500
    assert result["recall"] == 5 / 500  # fake balls are tiny: only the five copied reals are inside


def test_matches_prdc_package_with_ties_and_duplicates():
    """Small integer coordinates make distances exact, so radii tie and points repeat: this pins down the strict
    `<` and the radius that counts the point itself."""
    rng = np.random.default_rng(8)
    real, fake = rng.integers(0, 4, size=(80, 2)).astype(float), rng.integers(0, 5, size=(70, 2)).astype(float)
    for k in (1, 3, 6):
        assert prdc(real, fake, k=k, chunk_size=9) == pytest.approx(oracle(real, fake, k), abs=1e-12)


def test_memory_stays_at_chunk_scale():
    import tracemalloc

    rng = np.random.default_rng(9)
    real, fake = rng.normal(size=(3000, 16)), rng.normal(size=(3000, 16))
    tracemalloc.start()
    prdc(real, fake, k=5, chunk_size=100)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    full_matrix = 3000 * 3000 * 8
    assert peak < full_matrix / 4, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("offset", [0.0, 300.0])
def test_matches_package_where_float32_distances_alone_would_not(offset):
    """Distances are multiplied in float32 and only the pairs near a threshold are measured again in float64. A
    large common offset makes |x|^2 dwarf the distances, so float32's rounding is larger than many of the gaps
    between a distance and a radius: every one of those pairs must be caught by the error bound."""
    rng = np.random.default_rng(12)
    real = rng.normal(size=(600, 64)) + offset
    fake = rng.normal(size=(500, 64)) * 1.1 + offset + 0.05
    assert prdc(real, fake, k=5, chunk_size=128) == pytest.approx(oracle(real, fake, 5), abs=1e-12)
    np.testing.assert_allclose(nearest_neighbour_distances(real, 5, chunk_size=50),
                               compute_nearest_neighbour_distances(real, 5), rtol=1e-9)
    if offset:  # the float32 expansion alone would be off by more than the gaps it has to resolve
        x = real.astype(np.float32)
        squared32 = (x**2).sum(1)[:, None] - 2 * x @ x.T + (x**2).sum(1)[None, :]
        squared64 = ((real[:, None] - real[None]) ** 2).sum(-1)
        assert np.abs(squared32 - squared64).max() > 1.0
