"""fit() takes a torch tensor, a map-style torch Dataset or a DataLoader, with labels when there are any."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

import ganvae
from ganvae.data import torch_inputs
from ganvae.api import as_dataset
from ganvae.errors import one_line
from ganvae.errors import ConfigError, DataError


def images_and_labels(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, n)


class PairDataset(torch.utils.data.Dataset):
    """Yields (image tensor (C, H, W) in [0, 1], int label), as a torchvision set with ToTensor does."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return torch.from_numpy(self.x[index]), int(self.y[index])


class PILDataset(PairDataset):
    """Yields (PIL image, label), as a torchvision set without a transform does."""

    def __getitem__(self, index):
        return Image.fromarray((self.x[index, 0] * 255).round().astype(np.uint8)), int(self.y[index])


class Points(torch.utils.data.Dataset):
    """Yields vectors only, no labels."""

    def __init__(self, values):
        self.values = values

    def __len__(self):
        return len(self.values)

    def __getitem__(self, index):
        return torch.from_numpy(self.values[index])


def test_a_tensor_is_read_like_the_same_numpy_array():
    x, _ = images_and_labels()
    from_tensor = as_dataset(torch.from_numpy(x))
    assert torch.equal(from_tensor.x, as_dataset(x).x) and torch.equal(from_tensor.x, torch.from_numpy(x))


def test_a_map_style_dataset_of_pairs_keeps_images_and_labels():
    x, y = images_and_labels()
    dataset = as_dataset(PairDataset(x, y))
    assert dataset.kind == "image" and dataset.shape == (1, 8, 8)
    assert torch.equal(dataset.x, torch.from_numpy(x))
    assert dataset.y is not None and dataset.y.dtype == torch.int64 and dataset.y.tolist() == y.tolist()
    assert "PairDataset" in dataset.source


def test_pil_images_become_the_same_values_as_an_image_folder():
    x, y = images_and_labels()
    dataset = as_dataset(PILDataset(x, y))
    assert dataset.shape == (1, 8, 8) and dataset.y.tolist() == y.tolist()
    assert np.abs(dataset.x.numpy() - x).max() <= 0.5 / 255 + 1e-6  # uint8 0..255 -> [0, 1]


def test_vectors_without_labels_are_standardised_like_an_array():
    values = np.random.default_rng(1).normal(50.0, 5.0, (60, 3)).astype(np.float32)
    dataset = as_dataset(Points(values))
    assert dataset.kind == "vector" and dataset.y is None
    assert np.allclose(dataset.to_original(dataset.x.numpy()), values, atol=1e-3)
    assert np.allclose(dataset.x.numpy().mean(0), 0, atol=1e-5)


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_dataloader_is_read_once_with_its_labels(shuffle):
    x, y = images_and_labels(n=45)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=7, shuffle=shuffle)
    dataset = as_dataset(loader)
    assert len(dataset) == 45 and dataset.y is not None
    order = np.lexsort(dataset.x.flatten(1).numpy().T) if shuffle else np.arange(45)
    reference = np.lexsort(x.reshape(45, -1).T) if shuffle else np.arange(45)
    assert np.array_equal(dataset.x.numpy()[order], x[reference])
    assert dataset.y.numpy()[order].tolist() == y[reference].tolist()  # each label stays with its image


def test_an_unbatched_dataloader_and_one_of_bare_tensors():
    x, y = images_and_labels(n=10)
    unbatched = as_dataset(DataLoader(PairDataset(x, y), batch_size=None))
    assert torch.equal(unbatched.x, torch.from_numpy(x)) and unbatched.y.tolist() == y.tolist()
    bare = as_dataset(DataLoader(torch.from_numpy(x), batch_size=4))
    assert torch.equal(bare.x, torch.from_numpy(x)) and bare.y is None


def test_fit_trains_on_a_dataloader_and_on_a_torch_dataset():
    x, y = images_and_labels(n=64)
    gan = ganvae.GAN(arch="mlp", steps=2, hidden=8, batch_size=16).fit(
        DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=16))
    assert gan.sample(3).shape == (3, 1, 8, 8) and gan.data_info_["n_examples"] == 64
    vae = ganvae.VAE(arch="mlp", steps=2, hidden=8, batch_size=16).fit(PairDataset(x, y))
    assert vae.sample(2).shape == (2, 1, 8, 8) and vae.data_info_["name"] == "PairDataset"


def test_a_dataset_too_big_for_memory_is_one_sentence_before_loading(monkeypatch):
    x, y = images_and_labels(n=40)
    monkeypatch.setattr(torch_inputs, "available_memory", lambda: 1000)  # 40 x 64 floats take 10,240 bytes
    read = []

    class Counting(PairDataset):
        def __getitem__(self, index):
            read.append(index)
            return super().__getitem__(index)

    with pytest.raises(DataError) as error:
        as_dataset(Counting(x, y))
    message = one_line(error.value)
    assert "would take 0.0 GB" in message and "40 examples of shape (1, 8, 8)" in message
    assert "torch.utils.data.Subset" in message and read == [0]  # only the first item was read
    with pytest.raises(DataError, match="would take"):
        as_dataset(DataLoader(TensorDataset(torch.from_numpy(x)), batch_size=8))
    monkeypatch.setattr(torch_inputs, "available_memory", lambda: 10_240)  # exactly enough
    assert len(as_dataset(PairDataset(x, y))) == 40


def test_a_long_dataset_shows_a_progress_bar(monkeypatch, capsys):
    x, y = images_and_labels(n=30)
    monkeypatch.setattr(torch_inputs, "PROGRESS_MIN_EXAMPLES", 20)
    as_dataset(PairDataset(x, y))
    assert "loading PairDataset" in capsys.readouterr().err
    as_dataset(PairDataset(x[:10], y[:10]))
    assert "loading" not in capsys.readouterr().err


def test_bad_torch_data_gets_one_sentence():
    class Ragged(PairDataset):
        def __getitem__(self, index):
            image = torch.zeros(1, 8, 8) if index != 3 else torch.zeros(1, 9, 9)
            return image, 0

    class Stream(IterableDataset):
        def __iter__(self):
            yield torch.zeros(2)

    class Strings(Points):
        def __getitem__(self, index):
            return "a picture"

    with pytest.raises(DataError, match=r"example 3 of the Ragged has shape \(1, 9, 9\), but example 0 has"):
        as_dataset(Ragged(*images_and_labels(n=5)))
    with pytest.raises(ConfigError, match="has no length; give a map-style Dataset"):
        as_dataset(Stream())
    with pytest.raises(DataError, match="yields str; it must yield tensors"):
        as_dataset(Strings(np.zeros((3, 2))))
    with pytest.raises(DataError, match="is empty"):
        as_dataset(Points(np.zeros((0, 2), np.float32)))
    labels_that_are_not_classes = TensorDataset(torch.rand(12, 3), torch.rand(12))  # regression targets
    assert as_dataset(labels_that_are_not_classes).y is None
