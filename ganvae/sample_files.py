"""Samples written to a file: .npy streamed through a memory map, .csv and .parquet with the data's own column
names and units, .png as a picture. Each size is checked first, and each file is written to a temporary file
beside the target and renamed into place, so a full disk or Ctrl-C never leaves half a file."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .sizes import check_disk, human_bytes
from .storage import fsync_dir, temporary_path

SUFFIXES = (".npy", ".png", ".csv", ".parquet")
# "%.9g" gives back every float32 exactly and is at most 15 characters ("-1.23456789e+30"), plus a comma.
CSV_FORMAT, CSV_BYTES_PER_VALUE = "%.9g", 16


def write_samples(model, n_samples: int, path, seed: int = 0, labels=None) -> tuple[int, ...]:
    """Draw n_samples from a fitted GAN or VAE into `path` (by its suffix); returns the shape of one sample.
    labels (a conditional family only): one class for all, or one per sample.

    Sample i is the same in every format and for every n_samples (see `sample_blocks` in the API)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(f"-o must end in {', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]}, not {path.name!r}")
    info = model.data_info_
    shape, kind = tuple(info["shape"]), info["kind"]
    what = f"{n_samples} samples of shape {shape}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".png":
            _write_png(model, n_samples, path, seed, kind, what, labels)
        elif suffix == ".npy":
            check_disk(4 * n_samples * math.prod(shape) + 128, path.parent, f"{what} in {path.name}",
                       "lower -n, or write to a disk with more room")
            _in_place(path, lambda tmp: _write_npy(model, n_samples, tmp, seed, shape, labels))
        else:
            columns = _columns(info, path)
            n_bytes = n_samples * len(columns) * (CSV_BYTES_PER_VALUE if suffix == ".csv" else 4)
            check_disk(n_bytes, path.parent, f"{what} in {path.name}", "lower -n, or write to a disk with more room")
            write = _write_csv if suffix == ".csv" else _write_parquet
            _in_place(path, lambda tmp: write(model, n_samples, tmp, seed, columns, labels))
    except OSError as exc:
        raise ConfigError(f"cannot write -o {path} ({exc.strerror or exc}); choose a writable path") from None
    return shape


def _write_png(model, n_samples: int, path: Path, seed: int, kind: str, what: str, labels=None) -> None:
    from .report.plots import PNG_MAX_SAMPLES, save_samples, shown_in_png

    if n_samples > PNG_MAX_SAMPLES:
        per_sample = 4 * math.prod(model.data_info_["shape"])
        raise ConfigError(f"-n {n_samples} is too many for a PNG: it shows at most {shown_in_png(kind)} of them, "
                          f"and drawing {what} would take {human_bytes(n_samples * per_sample)}; use -n "
                          f"{shown_in_png(kind)}, or write every sample to a .npy file")
    save_samples(model.sample(n_samples, seed=seed, labels=labels), path, kind=kind)


def _columns(info: dict, path: Path) -> list[str]:
    if info["kind"] != "vector":
        raise ConfigError(f"-o {path.name}: a {path.suffix} table holds vectors, and this run's samples are images "
                          f"of shape {tuple(info['shape'])}; write them to .npy or .png")
    return list(info.get("columns") or [f"x{i + 1}" for i in range(info["shape"][0])])


def _in_place(path: Path, write) -> None:
    """write(temporary path), fsync, rename over `path`; the temporary never outlives a failure or Ctrl-C."""
    tmp = temporary_path(path)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass
    fsync_dir(path.parent)


def _write_npy(model, n_samples: int, tmp: Path, seed: int, shape: tuple[int, ...], labels=None) -> None:
    # A memory map of the file: each block goes straight to disk, so memory holds one block, not N samples.
    array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n_samples, *shape))
    try:
        for start, block in model.sample_blocks(n_samples, seed=seed, labels=labels):
            array[start:start + len(block)] = block
        array.flush()
    finally:
        del array


def _write_csv(model, n_samples: int, tmp: Path, seed: int, columns: list[str], labels=None) -> None:
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow(columns)
        for _, block in model.sample_blocks(n_samples, seed=seed, labels=labels):
            np.savetxt(f, block, fmt=CSV_FORMAT, delimiter=",")


def check_format(model, path) -> None:
    """ConfigError, before any sample is drawn (or a prior fitted), when `path`'s format cannot hold the model's
    samples (images in a table) or needs a package that is not installed (.parquet: pyarrow)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".parquet"):
        _columns(model.data_info_, Path(path))
    if suffix == ".parquet":
        _pyarrow()


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("writing .parquet needs pyarrow: `pip install pyarrow` (or write .csv or .npy)") from None
    return pa, pq


def _write_parquet(model, n_samples: int, tmp: Path, seed: int, columns: list[str], labels=None) -> None:
    pa, pq = _pyarrow()
    schema = pa.schema([(name, pa.float32()) for name in columns])
    with pq.ParquetWriter(str(tmp), schema) as writer:
        for _, block in model.sample_blocks(n_samples, seed=seed, labels=labels):
            writer.write_table(pa.Table.from_arrays([pa.array(block[:, j]) for j in range(len(columns))],
                                                    schema=schema))
