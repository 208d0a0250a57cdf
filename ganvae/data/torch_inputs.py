"""A torch Dataset or DataLoader read once into memory, as ganvae trains: one tensor of examples (and labels).

Map-style datasets are read item by item (with a progress bar from PROGRESS_MIN_EXAMPLES on), DataLoaders batch
by batch; items may be tensors, arrays or PIL images, alone or as (x, y) pairs whose whole-number targets become
labels. The result follows the rules of a .npy file (rank 2: standardised vectors; rank 3-4: images in [0, 1]).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset as TorchDataset, IterableDataset
from tqdm.auto import tqdm

from ..errors import ConfigError, DataError
from ..sizes import available_memory
from .base import Dataset

PROGRESS_MIN_EXAMPLES = 10_000  # a torch Dataset at least this long is loaded with a progress bar


def from_torch(data: Union[TorchDataset, DataLoader]) -> Dataset:
    """A torch Dataset or DataLoader read once into memory, by the same rules as an array (see as_dataset)."""
    from .files import array_dataset

    name = type(data.dataset if isinstance(data, DataLoader) else data).__name__
    if isinstance(data, DataLoader):
        values, labels = _read_loader(data, name)
    else:
        if isinstance(data, IterableDataset) or not hasattr(data, "__len__"):
            raise ConfigError(f"fit() loads a torch Dataset by index, but this {name} has no length; give a "
                              f"map-style Dataset (with __len__ and __getitem__), or a DataLoader over it")
        values, labels = _read_map_dataset(data, name)
    what = "DataLoader" if isinstance(data, DataLoader) else "torch Dataset"
    dataset = array_dataset(values, Path(name), labels)
    return replace(dataset, source=f"a {what} ({name}) passed to fit()")


def _read_map_dataset(data: TorchDataset, name: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Every item of a map-style dataset, stacked into one float32 array, and integer labels if it has them."""
    n_examples = len(data)
    if n_examples == 0:
        raise DataError(f"the {name} passed to fit() is empty; it needs at least one example")
    first_x, first_y = _split_item(data[0], name)
    _check_fits_in_memory(first_x, n_examples, name)
    values = np.empty((n_examples, *first_x.shape), dtype=np.float32)  # filled in place: one copy in memory
    labels: Optional[list[Any]] = [] if first_y is not None else None
    with tqdm(total=n_examples, desc=f"loading {name}", unit="example", disable=n_examples < PROGRESS_MIN_EXAMPLES,
              leave=False, dynamic_ncols=True) as bar:
        for index in range(n_examples):
            x, y = (first_x, first_y) if index == 0 else _split_item(data[index], name)
            if x.shape != first_x.shape:
                raise DataError(f"example {index} of the {name} has shape {tuple(x.shape)}, but example 0 has "
                                f"{tuple(first_x.shape)}; give examples of one shape (resize them in its transform)")
            values[index] = x
            if labels is not None:
                labels.append(y)
            bar.update(1)
    return values, _labels_array(labels)


def _read_loader(loader: DataLoader, name: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Every batch of a DataLoader, concatenated, and integer labels if its batches are (x, y) pairs."""
    batched = loader.batch_sampler is not None  # batch_size=None: the loader yields single examples

    def next_batch(iterator) -> Optional[tuple[np.ndarray, Any]]:
        item = next(iterator, None)
        if item is None:
            return None
        x, y = _split_item(item, name)
        return (x, y) if batched else (x[None], None if y is None else np.asarray([y]))

    iterator = iter(loader)
    first = next_batch(iterator)
    if first is None:
        raise DataError(f"the DataLoader over {name} yielded no batches; it needs at least one example")
    if first[0].ndim == 0:
        raise DataError(f"the DataLoader over {name} yields single numbers; its batches must hold examples "
                        f"along the first axis")
    try:
        n_examples = len(loader) * len(first[0])  # the last batch may be smaller: an upper bound
    except TypeError:  # an iterable dataset without a length
        n_examples = len(first[0])
    _check_fits_in_memory(first[0][0], n_examples, name)
    batches, label_batches = [first[0].astype(np.float32, copy=False)], [first[1]]
    with tqdm(total=n_examples, initial=len(first[0]), desc=f"loading {name}", unit="example", leave=False,
              disable=n_examples < PROGRESS_MIN_EXAMPLES, dynamic_ncols=True) as bar:
        for x, y in iter(lambda: next_batch(iterator), None):
            if x.shape[1:] != batches[0].shape[1:]:
                raise DataError(f"a batch from the DataLoader over {name} has examples of shape "
                                f"{tuple(x.shape[1:])}, but the first batch's are {tuple(batches[0].shape[1:])}; "
                                f"give examples of one shape (resize them in the dataset's transform)")
            batches.append(x.astype(np.float32, copy=False))
            label_batches.append(y)
            bar.update(len(x))
    values = np.concatenate(batches)
    if any(y is None or np.ndim(y) != 1 or len(y) != len(x) for x, y in zip(batches, label_batches)):
        return values, None
    return values, _labels_array([label for y in label_batches for label in y])


def _split_item(item: Any, name: str) -> tuple[np.ndarray, Any]:
    """(x, y) from what a dataset yields: x alone, or a pair (x, y, ...) whose second part is the label."""
    if isinstance(item, (tuple, list)):
        if not item:
            raise DataError(f"the {name} passed to fit() yields empty tuples; it must yield x or (x, y)")
        x, y = item[0], (item[1] if len(item) > 1 else None)
    else:
        x, y = item, None
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    elif isinstance(x, Image.Image):  # a torchvision dataset without a transform yields PIL images
        x = np.asarray(x)
    elif not isinstance(x, (np.ndarray, np.generic, int, float)):
        raise DataError(f"the {name} passed to fit() yields {type(x).__name__}; it must yield tensors, NumPy "
                        f"arrays or PIL images (or (x, y) pairs of them)")
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    return np.asarray(x), y


def _labels_array(labels: Optional[list[Any]]) -> Optional[np.ndarray]:
    """Labels as int64 (N,) when every one is a whole number >= 0 (class labels); otherwise none are kept."""
    if not labels:
        return None
    values = np.asarray(labels)
    if values.ndim != 1 or values.dtype.kind not in "iu" or values.min() < 0:
        return None  # targets that are not class labels (masks, regression values) say nothing fit() uses
    return values.astype(np.int64)


def _check_fits_in_memory(example: np.ndarray, n_examples: int, name: str) -> None:
    """Raise one sentence before loading when n_examples like `example`, as float32, exceed the free memory."""
    needed = int(np.asarray(example).size) * 4 * n_examples
    free = available_memory()
    if free is not None and needed > free:
        raise DataError(f"the {name} passed to fit() would take {needed / 1e9:.1f} GB in memory ({n_examples:,} "
                        f"examples of shape {tuple(np.shape(example))} as float32), more than the {free / 1e9:.1f} GB "
                        f"free; pass a subset (torch.utils.data.Subset) or smaller examples")
