"""The Dataset record every loader returns, and the dataset registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from ..config import DataConfig
from ..registry import Registry

if TYPE_CHECKING:
    import torch

IMAGE = "image"
VECTOR = "vector"
NAME_PART_LIMIT = 40


def safe_chars(text: str) -> str:
    """Text with every character outside letters, digits and -_. replaced by '-', for use in file names."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def name_part(name: object) -> str:
    """A dataset name or path as a short file-name part: its last component, made safe, at most 40 characters."""
    from pathlib import Path

    return safe_chars(Path(str(name)).name)[:NAME_PART_LIMIT]


def tensor(array: np.ndarray) -> "torch.Tensor":
    """torch.from_numpy(array), importing torch only here: the registry, the table of datasets and their
    descriptions load without it, so `ganvae datasets` answers in a fraction of a second."""
    import torch

    return torch.from_numpy(array)


@dataclass(frozen=True)
class Dataset:
    """Data held in memory as one tensor.

    x: float32, (N, C, H, W) with values in [0, 1] for kind 'image'; (N, D) for kind 'vector'.
    y: int64 labels (N,) or None.
    offset, scale: for vectors that were standardised (CSV), original = x * scale + offset, shape (D,).
    """

    name: str
    x: torch.Tensor
    kind: str
    source: str
    y: Optional[torch.Tensor] = None
    offset: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None
    class_names: Optional[tuple[str, ...]] = None
    split: str = "train"
    columns: Optional[tuple[str, ...]] = None  # a CSV's header names, one per feature, kept for sampled tables
    # Loaded from a user's file or folder (whatever its name), not a registered dataset: such data never gets
    # a registered dataset's shipped feature classifier.
    from_path: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example: (C, H, W) or (D,)."""
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to_original(self, x: np.ndarray) -> np.ndarray:
        """Map model-space values back to the data's own units (undo standardisation)."""
        x = np.asarray(x, dtype=np.float32)
        if self.offset is None or self.scale is None:
            return x
        return (x * self.scale + self.offset).astype(np.float32)

    def checksum(self) -> str:
        """sha256 of the examples as the model sees them (float32, C order) and their shape: a run keeps it in
        data.json, so a resume can refuse data other than what the run was trained on."""
        import hashlib

        x = self.x.detach().cpu().contiguous().numpy().astype("<f4", copy=False)
        digest = hashlib.sha256(repr(tuple(self.x.shape)).encode())
        digest.update(memoryview(x).cast("B"))
        return digest.hexdigest()

    def info(self) -> dict:
        """A JSON-able description, kept with a run so samples can be mapped back without the data."""
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape),
            "n_examples": len(self),
            "source": self.source,
            "split": self.split,
            "offset": None if self.offset is None else [float(v) for v in self.offset],
            "scale": None if self.scale is None else [float(v) for v in self.scale],
            "class_names": None if self.class_names is None else list(self.class_names),
            "n_classes": self.n_classes,
            "columns": None if self.columns is None else list(self.columns),
        }

    @property
    def n_classes(self) -> Optional[int]:
        """The number of classes of labelled data (labels run from 0), None without labels."""
        if self.y is None or len(self.y) == 0:
            return None
        return max(int(self.y.max()) + 1, len(self.class_names or ()))


@dataclass(frozen=True)
class DatasetEntry:
    """A named dataset: how to load it and whether it can be had offline now."""

    name: str
    kind: str
    description: str
    load: Callable[[DataConfig], Dataset]
    # Given data_dir (or None), says whether loading needs no network right now.
    available: Callable[[Optional[str]], bool] = field(default=lambda data_dir: True)


DATASETS: Registry[DatasetEntry] = Registry("dataset")
