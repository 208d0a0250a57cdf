import numpy as np
import pytest
import torch
from sklearn.datasets import make_circles

from ganvae.config import DataConfig
from ganvae.data import MODE_MEANS, MODE_SIGMA, VECTOR, load_dataset
from ganvae.data.toy import DEFAULT_N_SAMPLES, TOY_NAMES


@pytest.mark.parametrize("name", TOY_NAMES)
def test_shape_dtype_and_default_size(name):
    data = load_dataset(DataConfig(name=name))
    assert data.kind == VECTOR
    assert data.x.dtype == torch.float32
    assert tuple(data.x.shape) == (DEFAULT_N_SAMPLES[name], 2)
    assert data.shape == (2,)
    assert torch.isfinite(data.x).all()
    if data.y is not None:
        assert data.y.dtype == torch.int64 and len(data.y) == len(data)


@pytest.mark.parametrize("name", TOY_NAMES)
def test_same_seed_same_points_other_seed_other_points(name):
    first = load_dataset(DataConfig(name=name, seed=3, n_examples=300))
    again = load_dataset(DataConfig(name=name, seed=3, n_examples=300))
    other = load_dataset(DataConfig(name=name, seed=4, n_examples=300))
    test = load_dataset(DataConfig(name=name, seed=3, n_examples=300, split="test"))
    assert len(first) == 300
    assert torch.equal(first.x, again.x)
    assert not torch.equal(first.x, other.x)
    assert not torch.equal(first.x, test.x)


def test_circles_is_exactly_the_article_recipe():
    x, y = make_circles(n_samples=1000, factor=0.5, noise=0.05, random_state=7)
    expected = torch.tensor(x / x.max(), dtype=torch.float32)
    data = load_dataset(DataConfig(name="circles", seed=7))
    assert torch.equal(data.x, expected)
    assert torch.equal(data.y, torch.tensor(y, dtype=torch.int64))
    assert float(data.x.max()) == 1.0


@pytest.mark.parametrize("name,n_modes", [("ring8", 8), ("grid25", 25)])
def test_mixture_sample_means_and_spread_match_declared_modes(name, n_modes):
    data = load_dataset(DataConfig(name=name, n_examples=20000, seed=1))
    means, sigma = MODE_MEANS[name], MODE_SIGMA[name]
    assert means.shape == (n_modes, 2)
    x, y = data.x.numpy(), data.y.numpy()
    assert set(np.unique(y)) == set(range(n_modes))
    for k in range(n_modes):
        members = x[y == k]
        # The mean of m draws has standard error sigma / sqrt(m); allow 5 of them.
        assert np.allclose(members.mean(axis=0), means[k], atol=5 * sigma / np.sqrt(len(members)))
        assert np.allclose(members.std(axis=0), sigma, rtol=0.25)
    # Every point is nearest to its own mode.
    nearest = np.argmin(((x[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert np.array_equal(nearest, y)


def test_declared_geometry():
    ring = MODE_MEANS["ring8"]
    assert np.allclose(np.linalg.norm(ring, axis=1), 1.0, atol=1e-6)
    assert np.allclose(ring[2], [0.0, 1.0], atol=1e-6)
    grid = MODE_MEANS["grid25"]
    assert sorted(set(grid[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    assert len({tuple(p) for p in grid.tolist()}) == 25
    assert MODE_SIGMA == {"ring8": 0.01, "grid25": 0.05}


def test_swissroll_is_near_unit_range_and_unlabelled():
    data = load_dataset(DataConfig(name="swissroll"))
    assert data.y is None
    assert 0.8 < float(data.x.abs().max()) < 2.0


def test_moons_labels_are_the_two_moons():
    data = load_dataset(DataConfig(name="moons", n_examples=500))
    assert sorted(torch.unique(data.y).tolist()) == [0, 1]
