"""Whatever bytes a user's file holds, a loader either loads it or raises DataError: no other exception type."""

import gzip
import struct
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganvae.data import files, idx
from ganvae.errors import DataError

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_or_data_error(load, path: Path) -> None:
    try:
        load(path)
    except DataError:
        pass


def _write(folder: Path, name: str, raw: bytes) -> Path:
    path = folder / name  # examples share tmp_path; each overwrites the file it reads
    path.write_bytes(raw)
    return path


@SETTINGS
@given(st.binary(max_size=300), st.booleans())
def test_idx_gz_of_random_bytes(tmp_path, raw, compress):
    path = _write(tmp_path, "train-images-idx3-ubyte.gz", gzip.compress(raw) if compress else raw)
    _load_or_data_error(lambda p: idx.read_idx(p, idx.IMAGES_MAGIC), path)


@SETTINGS
@given(st.lists(st.integers(0, 6), min_size=0, max_size=3), st.binary(max_size=200))
def test_idx_with_a_valid_magic_and_random_dims(tmp_path, dims, body):
    raw = struct.pack(">I", 0x800 | len(dims)) + struct.pack(f">{len(dims)}I", *dims) + body
    path = _write(tmp_path, "x.gz", gzip.compress(raw))
    for magic in (idx.IMAGES_MAGIC, idx.LABELS_MAGIC):
        _load_or_data_error(lambda p, magic=magic: idx.read_idx(p, magic), path)


@SETTINGS
@given(st.binary(max_size=400))
def test_npy_of_random_bytes(tmp_path, raw):
    _load_or_data_error(files.load_array, _write(tmp_path, "a.npy", raw))
    _load_or_data_error(files.load_array, _write(tmp_path, "a.npz", raw))


@SETTINGS
@given(st.binary(max_size=100))
def test_npy_with_a_valid_header_and_random_body(tmp_path, body):
    header = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + (
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2, 2), }".ljust(117) + b"\n")
    _load_or_data_error(files.load_array, _write(tmp_path, "a.npy", header + body))


@SETTINGS
@given(st.binary(max_size=300))
def test_csv_of_random_bytes(tmp_path, raw):
    _load_or_data_error(files.load_csv, _write(tmp_path, "t.csv", raw))


@SETTINGS
@given(st.lists(st.lists(st.sampled_from(["1", "-2.5", "", "x", "nan", "1e400", " 3 ", '"4"', "a,b"]),
                         min_size=1, max_size=4), max_size=6))
def test_csv_of_random_cells(tmp_path, rows):
    text = "\n".join(",".join(row) for row in rows)
    _load_or_data_error(files.load_csv, _write(tmp_path, "t.csv", text.encode()))


@SETTINGS
@given(st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_]),
       st.lists(st.integers(0, 4), min_size=1, max_size=5),
       st.floats(allow_nan=True, allow_infinity=True, width=32))
def test_arrays_of_any_shape_and_value(tmp_path, dtype, shape, value):
    with np.errstate(all="ignore"):
        values = np.full(shape, value).astype(dtype)
    path = _write(tmp_path, "a.npy", b"")
    np.save(path, values)
    _load_or_data_error(files.load_array, path)
