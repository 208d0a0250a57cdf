"""Datasets: the registry, the toy 2-D sets, IDX files, and a user's folders, arrays and CSV files.

`load_dataset(cfg)` is the one way in: it resolves cfg.name (a registered name or a path), then applies
cfg.n_examples to stored sets (the first n after a shuffle seeded by cfg.seed; toy sets draw n instead)
and cfg.image_size to image sets. Importing this package registers every dataset.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np

from ..config import DataConfig
from ..errors import ConfigError
from . import files, idx, images, toy
from .base import DATASETS, IMAGE, VECTOR, Dataset, DatasetEntry, name_part, safe_chars, tensor
from .toy import MODE_MEANS, MODE_SIGMA

__all__ = ["DATASETS", "IMAGE", "VECTOR", "Dataset", "DatasetEntry", "MODE_MEANS", "MODE_SIGMA",
           "dataset_table", "load_dataset", "name_part", "safe_chars"]

_TABLE_SIZES = {**toy.TABLE_SIZES, **images.TABLE_SIZES, **idx.TABLE_SIZES}


def load_dataset(cfg: "DataConfig | str", **options) -> Dataset:
    """The dataset cfg describes, in memory as one tensor (see Dataset).

    cfg: a DataConfig, or a dataset name or path with DataConfig's fields as keywords
    (`load_dataset("fashion-mnist", split="test")`).
    """
    if not isinstance(cfg, DataConfig):
        cfg = DataConfig(name=str(cfg), **options)
    elif options:
        cfg = replace(cfg, **options)
    if cfg.split not in ("train", "test"):
        raise ConfigError(f"--split must be train or test, not {cfg.split!r}")
    if cfg.name in DATASETS:
        dataset = DATASETS.get(cfg.name).load(cfg)
        drawn = cfg.name in toy.TOY_NAMES
    elif files.is_data_path(cfg.name):
        dataset = files.load_path(cfg)
        drawn = False
    else:
        raise ConfigError(f"unknown dataset {cfg.name!r}; choose one of: {', '.join(DATASETS.names())}, "
                          f"or give a path to a folder of images, a .npy/.npz array or a .csv file")
    if cfg.n_examples is not None and not drawn:
        dataset = take_subset(dataset, cfg.n_examples, cfg.seed)
    if cfg.image_size is not None and dataset.kind == IMAGE:
        dataset = resize_images(dataset, cfg.image_size)
    return dataset


def take_subset(dataset: Dataset, n_examples: int, seed: int) -> Dataset:
    """The first n_examples examples after a shuffle seeded by `seed`."""
    if n_examples > len(dataset):
        raise ConfigError(f"--n-examples {n_examples} is more than the {len(dataset)} examples in {dataset.name} "
                          f"({dataset.split}); use at most {len(dataset)}")
    rows = tensor(np.random.default_rng(seed).permutation(len(dataset))[:n_examples])
    return replace(dataset, x=dataset.x[rows], y=None if dataset.y is None else dataset.y[rows])


def resize_images(dataset: Dataset, image_size: int) -> Dataset:
    """Images resized to image_size x image_size (bilinear, antialiased), still in [0, 1]."""
    if dataset.x.shape[-2:] == (image_size, image_size):
        return dataset
    import torch.nn.functional as F

    x = F.interpolate(dataset.x, size=(image_size, image_size), mode="bilinear", antialias=True,
                      align_corners=False).clamp_(0, 1)  # (N, C, S, S)
    return replace(dataset, x=x)


def dataset_table(data_dir: Optional[str] = None) -> list[dict]:
    """One row per registered dataset: name, kind, description, size, shape, and whether it loads offline now."""
    table = []
    for name in DATASETS.names():
        entry = DATASETS.get(name)
        size, shape = _TABLE_SIZES.get(name, (None, None))
        table.append({
            "name": name,
            "kind": entry.kind,
            "description": entry.description,
            "size": size,
            "shape": None if shape is None else list(shape),
            "available": bool(entry.available(data_dir)),
        })
    return table
