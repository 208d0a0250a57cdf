import dataclasses
import gzip
import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ganvae.config import DataConfig
from ganvae.data import idx, load_dataset
from ganvae.errors import DataError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize("gz", [True, False])
def test_round_trip(isolated_search, write_idx_split, small_split, gz):
    images, labels = small_split
    write_idx_split(isolated_search / "d", "train", images, labels, gz=gz)
    data = load_dataset(DataConfig(name="mnist", data_dir=str(isolated_search / "d"), download=False))
    assert data.x.shape == (12, 1, 28, 28) and data.x.dtype == torch.float32
    assert np.array_equal(np.round(data.x[:, 0].numpy() * 255).astype(np.uint8), images)
    assert data.y.dtype == torch.int64 and data.y.tolist() == labels.tolist()
    assert data.class_names == tuple("0123456789")


def _read_images(path):
    return idx.read_idx(path, idx.IMAGES_MAGIC)


def test_parse_rejects_wrong_magic(tmp_path, make_idx_bytes, small_split):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(make_idx_bytes(small_split[1], idx.LABELS_MAGIC))  # a labels file where images belong
    with pytest.raises(DataError, match=r"magic number 0x00000801, not 0x00000803") as info:
        _read_images(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("cut,problem", [(10, "ends inside its IDX header"), (1000, "truncated"), (-1, "longer")])
def test_parse_rejects_truncated_and_over_long(tmp_path, make_idx_bytes, small_split, cut, problem):
    raw = make_idx_bytes(small_split[0], idx.IMAGES_MAGIC)
    raw = raw + b"\x00" if cut == -1 else raw[:cut]
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(DataError, match=problem) as info:
        _read_images(path)
    assert str(path) in str(info.value)


def test_parse_rejects_too_short(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="too short"):
        _read_images(path)


def test_bad_gzip_is_named(tmp_path, make_idx_bytes, small_split):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    compressed = gzip.compress(make_idx_bytes(small_split[0], idx.IMAGES_MAGIC))
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="not a valid gzip file") as info:
        _read_images(path)
    assert str(path) in str(info.value)
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="not a valid gzip file"):
        _read_images(path)


def test_wrong_image_dims_are_rejected(isolated_search, write_idx_split):
    images = np.zeros((5, 27, 28), dtype=np.uint8)
    write_idx_split(isolated_search / "d", "train", images, np.zeros(5, dtype=np.uint8))
    with pytest.raises(DataError, match=r"shape \[5, 27, 28\]"):
        load_dataset(DataConfig(name="mnist", data_dir=str(isolated_search / "d"), download=False))


def test_count_mismatch_names_both_files(isolated_search, write_idx_split, small_split):
    images, labels = small_split
    paths = write_idx_split(isolated_search / "d", "train", images, labels[:11])
    with pytest.raises(DataError, match="12 images but .* 11 labels") as info:
        load_dataset(DataConfig(name="mnist", data_dir=str(isolated_search / "d"), download=False))
    assert all(str(p) in str(info.value) for p in paths)


def test_label_out_of_range(isolated_search, write_idx_split, small_split):
    images, labels = small_split
    write_idx_split(isolated_search / "d", "train", images, np.full(12, 10, dtype=np.uint8))
    with pytest.raises(DataError, match="label 10"):
        load_dataset(DataConfig(name="fashion-mnist", data_dir=str(isolated_search / "d"), download=False))


def _marked_split(value):
    """Two images filled with `value`, so a test can tell which folder was read."""
    return np.full((2, 28, 28), value, dtype=np.uint8), np.zeros(2, dtype=np.uint8)


def _loaded_value(**cfg):
    data = load_dataset(DataConfig(name="mnist", download=False, **cfg))
    return int(round(float(data.x[0, 0, 0, 0]) * 255))


def test_lookup_order(isolated_search, write_idx_split, monkeypatch):
    root = isolated_search
    system = root / "system"
    monkeypatch.setattr(idx, "SYSTEM_DATA_DIRS", (system,))
    write_idx_split(system / "mnist", "train", *_marked_split(5))
    assert _loaded_value() == 5
    write_idx_split(root / "cache" / "ganvae" / "mnist", "train", *_marked_split(4))
    assert _loaded_value() == 4
    monkeypatch.setenv("GANVAE_DATA", str(root / "env"))
    write_idx_split(root / "env", "train", *_marked_split(3))  # the folder itself
    assert _loaded_value() == 3
    write_idx_split(root / "env" / "mnist", "train", *_marked_split(2))  # <root>/<name> comes first
    assert _loaded_value() == 2
    write_idx_split(root / "given", "train", *_marked_split(1))
    assert _loaded_value(data_dir=str(root / "given")) == 1
    # A data_dir that lacks the files falls through to the next place.
    assert _loaded_value(data_dir=str(root / "empty")) == 2


def test_home_cache_when_xdg_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert idx.cache_dir() == tmp_path / ".cache" / "ganvae"


def test_missing_files_message_lists_every_place(isolated_search, monkeypatch):
    monkeypatch.setattr(idx, "SYSTEM_DATA_DIRS", (isolated_search / "system",))
    given = isolated_search / "given"
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(name="fashion-mnist", data_dir=str(given), download=False))
    message = str(info.value)
    for place in (given / "fashion-mnist", given, "$GANVAE_DATA (not set)",
                  isolated_search / "cache" / "ganvae" / "fashion-mnist", isolated_search / "system" / "fashion-mnist"):
        assert str(place) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "--data-dir" in message and "train-images-idx3-ubyte.gz" in message
    assert message.count(". ") == 0 and "\n" not in message


def _serve_locally(monkeypatch, name, folder: Path, sha256=None):
    """Point the dataset's mirrors at a local folder, with the given (or the files' true) checksums."""
    source = idx.SOURCES[name]
    true_sha = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.gz")}
    patched = dataclasses.replace(source, mirrors=(folder.as_uri() + "/",), sha256=sha256 or true_sha, n_bytes={})
    monkeypatch.setitem(idx.SOURCES, name, patched)


def test_download_from_a_mirror_into_the_cache(isolated_search, write_idx_split, small_split, monkeypatch):
    mirror = isolated_search / "mirror"
    write_idx_split(mirror, "test", *small_split)
    _serve_locally(monkeypatch, "mnist", mirror)
    data = load_dataset(DataConfig(name="mnist", split="test"))
    assert len(data) == 12
    cached = isolated_search / "cache" / "ganvae" / "mnist"
    assert sorted(p.name for p in cached.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert data.source == str(cached)


def test_download_with_wrong_checksum_leaves_nothing(isolated_search, write_idx_split, small_split, monkeypatch):
    mirror = isolated_search / "mirror"
    write_idx_split(mirror, "train", *small_split)
    _serve_locally(monkeypatch, "mnist", mirror, sha256={
        "train-images-idx3-ubyte.gz": "0" * 64, "train-labels-idx1-ubyte.gz": "0" * 64})
    with pytest.raises(DataError, match="the download failed .*sha256") as info:
        load_dataset(DataConfig(name="mnist"))
    assert "were not found" in str(info.value)
    cached = isolated_search / "cache" / "ganvae" / "mnist"
    assert not cached.exists() or list(cached.iterdir()) == []


def test_available_reports_local_files_only(isolated_search, write_idx_split, small_split):
    assert not idx.find_split_files("mnist", "train", None)
    write_idx_split(isolated_search / "d" / "mnist", "train", *small_split)
    from ganvae.data import DATASETS

    assert DATASETS.get("mnist").available(str(isolated_search / "d"))
    assert not DATASETS.get("mnist").available(None)


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason=f"{FASHION_DIR} is absent (apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist(isolated_search, monkeypatch):
    monkeypatch.setattr(idx, "SYSTEM_DATA_DIRS", (FASHION_DIR.parent,))
    start = time.perf_counter()
    train = load_dataset(DataConfig(name="fashion-mnist", download=False))
    seconds = time.perf_counter() - start
    test = load_dataset(DataConfig(name="fashion-mnist", split="test", download=False))
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert np.bincount(train.y.numpy()).tolist() == [6000] * 10
    assert np.bincount(test.y.numpy()).tolist() == [1000] * 10
    assert float(train.x.min()) == 0.0 and float(train.x.max()) == 1.0
    assert train.class_names[0] == "T-shirt/top" and train.class_names[9] == "Ankle boot"
    assert seconds < 10, f"loading 60,000 images took {seconds:.1f} s"
