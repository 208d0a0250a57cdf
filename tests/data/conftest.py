"""Fixtures for the data tests: an isolated data search path and writers for small IDX files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from ganvae.data import idx


@pytest.fixture
def isolated_search(tmp_path, monkeypatch):
    """No $GANVAE_DATA, the cache under tmp_path, no system folders: only what a test puts there is found."""
    monkeypatch.delenv("GANVAE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(idx, "SYSTEM_DATA_DIRS", ())
    return tmp_path


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """The IDX encoding of a uint8 array: magic, one big-endian uint32 per dimension, the bytes."""
    return struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


@pytest.fixture
def write_idx_split():
    """write(folder, split, images (N, 28, 28) uint8, labels (N,), gz=True) -> (images_path, labels_path)."""

    def write(folder: Path, split: str, images: np.ndarray, labels: np.ndarray, gz: bool = True):
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for stem, array, magic in zip(idx.SPLIT_FILES[split], (images, labels), (idx.IMAGES_MAGIC, idx.LABELS_MAGIC),
                                      strict=True):
            raw = idx_bytes(array, magic)
            path = folder / (stem + (".gz" if gz else ""))
            path.write_bytes(gzip.compress(raw) if gz else raw)
            paths.append(path)
        return tuple(paths)

    return write


@pytest.fixture
def small_split():
    """12 random 28x28 images and labels 0..9 (uint8)."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8), (np.arange(12) % 10).astype(np.uint8)


@pytest.fixture
def make_idx_bytes():
    return idx_bytes
