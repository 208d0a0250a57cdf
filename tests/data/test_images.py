import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from ganvae.config import DataConfig
from ganvae.data import IMAGE, load_dataset


def test_digits_shapes_range_labels_and_split():
    train = load_dataset(DataConfig(name="digits"))
    test = load_dataset(DataConfig(name="digits", split="test"))
    assert train.kind == IMAGE and train.shape == (1, 8, 8)
    assert (len(train), len(test)) == (1438, 359)
    assert train.x.dtype == torch.float32
    assert float(train.x.min()) == 0.0 and float(train.x.max()) == 1.0
    assert train.class_names == tuple("0123456789")
    assert test.split == "test"
    # The split is a partition of the 1,797 bundled digits.
    reference = load_digits().data / 16.0
    rows = {tuple(r) for r in np.concatenate([train.x.reshape(-1, 64).numpy(), test.x.reshape(-1, 64).numpy()])}
    assert rows == {tuple(r) for r in reference.astype(np.float32)}


def test_digits_split_ignores_the_data_seed():
    a = load_dataset(DataConfig(name="digits", split="test", seed=0))
    b = load_dataset(DataConfig(name="digits", split="test", seed=5))
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)


def test_digits_image_matches_its_label():
    reference = load_digits()
    train = load_dataset(DataConfig(name="digits"))
    first = train.x[0, 0].numpy()
    matches = np.flatnonzero((np.abs(reference.images / 16.0 - first) < 1e-6).all(axis=(1, 2)))
    assert int(train.y[0]) in reference.target[matches]


def test_mnist5k_shapes_range_labels_and_split():
    train = load_dataset(DataConfig(name="mnist5k"))
    test = load_dataset(DataConfig(name="mnist5k", split="test"))
    assert (len(train), len(test)) == (4000, 1000)
    assert train.shape == (1, 28, 28) and train.kind == IMAGE
    assert 0.0 <= float(train.x.min()) and float(train.x.max()) == 1.0
    counts = np.bincount(np.concatenate([train.y.numpy(), test.y.numpy()]), minlength=10)
    assert counts.tolist() == [500] * 10
    # The digit strokes cover a minority of pixels: this is MNIST, not noise.
    assert 0.05 < float((train.x > 0.5).float().mean()) < 0.25


@pytest.mark.parametrize("name", ["digits", "mnist5k"])
def test_n_examples_keeps_a_seeded_subset(name):
    full = load_dataset(DataConfig(name=name))
    part = load_dataset(DataConfig(name=name, n_examples=100, seed=2))
    again = load_dataset(DataConfig(name=name, n_examples=100, seed=2))
    other = load_dataset(DataConfig(name=name, n_examples=100, seed=3))
    assert len(part) == 100
    assert torch.equal(part.x, again.x) and not torch.equal(part.x, other.x)
    rows = np.random.default_rng(2).permutation(len(full))[:100]
    assert torch.equal(part.x, full.x[rows]) and torch.equal(part.y, full.y[rows])
