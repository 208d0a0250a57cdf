"""A user's bad data file, end to end through the command line: one line that names the file and what is wrong
with it, a non-zero exit, no traceback. (The loaders' own tests are in tests/data.)"""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from PIL import Image


def _png(path, size=(8, 8), value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], value, np.uint8)).save(path)


def _idx(folder, images_magic=0x803, images_shape=(4, 28, 28), cut=0):
    folder.mkdir(parents=True, exist_ok=True)
    images = np.zeros(images_shape, np.uint8)
    raw = struct.pack(">I", images_magic) + struct.pack(f">{len(images_shape)}I", *images_shape) + images.tobytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:len(raw) - cut]))
    labels = struct.pack(">II", 0x801, images_shape[0]) + bytes(images_shape[0])
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))


def empty_folder(tmp):
    (tmp / "imgs").mkdir()
    return tmp / "imgs", "no .png/.jpg/.jpeg images"


def unreadable_image(tmp):
    _png(tmp / "imgs" / "a.png")
    (tmp / "imgs" / "b.png").write_bytes(b"not a png at all")
    return tmp / "imgs", "cannot read image"


def truncated_image(tmp):
    _png(tmp / "imgs" / "a.png", size=(64, 64))
    raw = (tmp / "imgs" / "a.png").read_bytes()
    (tmp / "imgs" / "b.png").write_bytes(raw[: len(raw) // 2])
    return tmp / "imgs", "cannot read image"


def array_of_rank_1(tmp):
    np.save(tmp / "a.npy", np.arange(10.0))
    return tmp / "a.npy", "shape \\[10\\]"


def array_of_strings(tmp):
    np.save(tmp / "a.npy", np.array([["a", "b"], ["c", "d"]]))
    return tmp / "a.npy", "holds <U1 values"


def array_with_nan_and_inf(tmp):
    values = np.zeros((10, 2), np.float32)
    values[1, 0], values[2, 1] = np.nan, np.inf
    np.save(tmp / "a.npy", values)
    return tmp / "a.npy", "2 NaN or infinite values"


def array_of_pickled_objects(tmp):
    np.save(tmp / "a.npy", np.array([{"x": 1}, {"y": 2}], dtype=object), allow_pickle=True)
    return tmp / "a.npy", "cannot read .* as a NumPy array"


def npz_without_x(tmp):
    np.savez(tmp / "a.npz", first=np.zeros((4, 2)), second=np.zeros((4, 2)))
    return tmp / "a.npz", "store the data under the key 'x'"


# Text CSVs that are wrong in one way each: name -> (file contents, what the one line must say).
CSV_TEXTS = {
    "csv_with_text": ("a,b\n1,2\n3,hello\n", "non-numeric value 'hello'"),
    "csv_with_a_gap": ("a,b\n1,2\n3,\n", "missing value"),
    "csv_ragged": ("a,b\n1,2\n3,4,5\n", "has 3 values"),
    "csv_empty": ("", "at least one row of numbers"),
}


def _csv_case(name):
    text, problem = CSV_TEXTS[name]

    def make(tmp):
        (tmp / "t.csv").write_text(text)
        return tmp / "t.csv", problem

    make.__name__ = name
    return make


def csv_binary(tmp):
    (tmp / "t.csv").write_bytes(b"\xff\xfe\x00\x81" * 20)
    return tmp / "t.csv", "not UTF-8"


def missing_path(tmp):
    return tmp / "nowhere.npy", "does not exist"


CASES = [empty_folder, unreadable_image, truncated_image, array_of_rank_1, array_of_strings, array_with_nan_and_inf,
         array_of_pickled_objects, npz_without_x, *map(_csv_case, CSV_TEXTS), csv_binary, missing_path]


@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_a_bad_data_file_is_one_line_naming_it(make, tmp_path, cli, tools):
    import re

    path, problem = make(tmp_path)
    code, out, err = cli("train", "gan", "--data", path, "--print-config")
    line = tools.one_line(err)
    assert code in (1, 2) and str(path) in line and re.search(problem, line), line


IDX_CASES = {
    "wrong-magic": (dict(images_magic=0x804), "magic number 0x00000804, not 0x00000803"),
    "wrong-dimensions": (dict(images_shape=(4, 32, 32)), "shape \\[4, 32, 32\\]"),
    "truncated": (dict(cut=100), "holds .* data bytes but its header"),
}


@pytest.mark.parametrize("case", list(IDX_CASES))
def test_a_bad_idx_file_is_one_line_naming_it(case, tmp_path, cli, tools):
    import re

    kwargs, problem = IDX_CASES[case]
    _idx(tmp_path / "idx", **kwargs)
    code, out, err = cli("train", "gan", "--data", "mnist", "--data-dir", tmp_path / "idx", "--no-download",
                         "--print-config")
    line = tools.one_line(err)
    assert code == 1 and "train-images-idx3-ubyte" in line and re.search(problem, line), line


def test_a_batch_larger_than_the_data_names_the_flag_and_the_size(tmp_path, cli, tools):
    np.save(tmp_path / "a.npy", np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32))
    code, out, err = cli("train", "vae", "--data", tmp_path / "a.npy", "--batch-size", "64", "--steps", "1",
                         "--out", tmp_path / "run")
    line = tools.one_line(err)
    assert code == 2 and "--batch-size 64 is larger than the dataset (20 examples)" in line
    assert not (tmp_path / "run").exists()


def test_images_of_mixed_sizes_are_resized_and_said_so(tmp_path, cli, tools, no_figures):
    """Not an error by design: a folder of mixed sizes is resized to 28x28 (or --image-size)."""
    import json

    _png(tmp_path / "imgs" / "a.png", size=(8, 8))
    _png(tmp_path / "imgs" / "b.png", size=(12, 10))
    code, out, err = cli("train", "vae", "--data", tmp_path / "imgs", "--batch-size", "2", "--print-config")
    assert code == 0, err
    code, out, err = cli("train", "vae", "--data", tmp_path / "imgs", "--image-size", "16", "--batch-size", "2",
                         "--steps", "1", "--checkpoint-every", "1", "--no-progress", "--out", tmp_path / "run")
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "data.json").read_text())["shape"] == [1, 16, 16]


def test_a_vae_on_a_handful_of_images_finishes_with_its_figures(tmp_path, cli, tools):
    """Fewer images than the figures' latent interpolations use (12) once ended in a traceback after training."""
    for i in range(4):
        _png(tmp_path / "imgs" / f"{i}.png", value=40 * i)
    code, out, err = cli("train", "vae", "--data", tmp_path / "imgs", "--batch-size", "2", "--steps", "2",
                         "--no-progress", "--out", tmp_path / "run")
    assert code == 0, err
    assert (tmp_path / "run" / "samples.png").exists()
