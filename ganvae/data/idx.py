"""MNIST and Fashion-MNIST from the standard IDX files (gzipped or not).

Where the files are looked for, in order (for each root, `<root>/<name>` first, then the root itself):
cfg.data_dir, $GANVAE_DATA, the user cache ($XDG_CACHE_HOME/ganvae/<name> or ~/.cache/ganvae/<name>),
/usr/share/datasets/<name> (where Debian's dataset-fashion-mnist puts them). If none holds them and
cfg.download is true, the two files of the split are downloaded into the cache and checked by sha256.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..config import DataConfig
from ..errors import DataError
from .base import DATASETS, IMAGE, Dataset, DatasetEntry, tensor
from ..storage import cache_dir, cached_file
from .download import fetch

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (N, rows, cols)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (N,)
IMAGE_SIDE = 28
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SYSTEM_DATA_DIRS = (Path("/usr/share/datasets"),)
DATA_ENV = "GANVAE_DATA"


@dataclass(frozen=True)
class IdxSource:
    """Where a set of IDX files comes from: mirrors, and the sha256 and size of each .gz file."""

    name: str
    description: str
    mirrors: tuple[str, ...]
    sha256: dict[str, str]
    n_bytes: dict[str, int]
    class_names: tuple[str, ...]
    n_examples: dict[str, int]
    install_hint: str = ""


# MNIST sha256s: the values TensorFlow Datasets and several independent downloaders pin for these files
# (torchvision pins md5s f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d... for the same bytes).
# Fashion-MNIST sha256s: the upstream release files. Debian's package recompresses them without the
# gzip name field, so its copies hash differently; local files are checked by their IDX headers instead.
SOURCES: dict[str, IdxSource] = {
    "mnist": IdxSource(
        name="mnist",
        description="the 70,000 28x28 MNIST handwritten digits (official 60,000/10,000 split)",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        sha256={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        n_bytes={"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
                 "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
        class_names=tuple(str(d) for d in range(10)),
        n_examples={"train": 60000, "test": 10000},
    ),
    "fashion-mnist": IdxSource(
        name="fashion-mnist",
        description="Zalando's 70,000 28x28 clothing images in 10 classes (official 60,000/10,000 split)",
        mirrors=("https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
                 "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        sha256={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        n_bytes={"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
                 "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148},
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Bag", "Sneaker", "Ankle boot"),
        n_examples={"train": 60000, "test": 10000},
        install_hint="`apt-get install dataset-fashion-mnist`",
    ),
}


def parse_idx(raw: bytes, expected_magic: int, where: str) -> np.ndarray:
    """Strictly parse IDX bytes: magic number, one big-endian uint32 per dimension, exactly prod(dims) bytes."""
    what = "images" if expected_magic == IMAGES_MAGIC else "labels"
    if len(raw) < 4:
        raise DataError(f"{where} is {len(raw)} bytes long, too short to be an IDX {what} file; download it again")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise DataError(f"{where} starts with magic number 0x{magic:08x}, not 0x{expected_magic:08x}, so it is not "
                        f"an IDX {what} file; check the file name or download it again")
    n_dims = expected_magic & 0xFF
    header_bytes = 4 + 4 * n_dims
    if len(raw) < header_bytes:
        raise DataError(f"{where} ends inside its IDX header ({len(raw)} of {header_bytes} bytes); "
                        f"the file is truncated, download it again")
    dims = struct.unpack(f">{n_dims}I", raw[4:header_bytes])
    expected_bytes = math.prod(dims)
    data_bytes = len(raw) - header_bytes
    if data_bytes != expected_bytes:
        problem = "truncated" if data_bytes < expected_bytes else "longer than its header says"
        raise DataError(f"{where} holds {data_bytes} data bytes but its header {list(dims)} needs {expected_bytes}; "
                        f"the file is {problem}, download it again")
    return np.frombuffer(raw, dtype=np.uint8, count=expected_bytes, offset=header_bytes).reshape(dims)


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read an IDX file (gunzipped first if its name ends in .gz) into a uint8 array of its dimensions."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error}); check its permissions") from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path} is not a valid gzip file ({error}); download it again") from None
    return parse_idx(raw, expected_magic, str(path))


def read_idx_pair(images_path: Path, labels_path: Path, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) uint8 from a matching pair of IDX files."""
    images = read_idx(images_path, IMAGES_MAGIC)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE) or len(images) == 0:
        raise DataError(f"{images_path} holds images of shape {list(images.shape)}, not (N>0, {IMAGE_SIDE}, "
                        f"{IMAGE_SIDE}); it is not an MNIST-style file, download it again")
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(labels) != len(images):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
                        f"the two files do not belong together, download them again")
    if labels.max() >= n_classes:
        raise DataError(f"{labels_path} holds label {int(labels.max())}, outside 0..{n_classes - 1}; "
                        f"download the file again")
    return images, labels


def search_folders(name: str, data_dir: Optional[str]) -> list[Path]:
    """The folders to look in, in order."""
    folders: list[Path] = []
    for root in (data_dir, os.environ.get(DATA_ENV) or None):
        if root:
            folders += [Path(root).expanduser() / name, Path(root).expanduser()]
    folders.append(cache_dir() / name)
    folders += [Path(root) / name for root in SYSTEM_DATA_DIRS]
    return folders


def _file_in(folder: Path, stem: str) -> Optional[Path]:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if cached_file(candidate):  # a folder that cannot be looked at holds nothing usable
            return candidate
    return None


def find_split_files(name: str, split: str, data_dir: Optional[str]) -> Optional[tuple[Path, Path]]:
    """The first folder holding both the images and the labels of `split`, or None."""
    images_stem, labels_stem = SPLIT_FILES[split]
    for folder in search_folders(name, data_dir):
        images_path, labels_path = _file_in(folder, images_stem), _file_in(folder, labels_stem)
        if images_path and labels_path:
            return images_path, labels_path
    return None


def download_split(name: str, split: str) -> tuple[Path, Path]:
    """Download the split's two .gz files into the cache, trying each mirror in turn."""
    source = SOURCES[name]
    paths = []
    for stem in SPLIT_FILES[split]:
        file_name = f"{stem}.gz"
        destination = cache_dir() / name / file_name
        errors = []
        for mirror in source.mirrors:
            try:
                paths.append(fetch(mirror + file_name, destination, source.sha256[file_name],
                                   expected_bytes=source.n_bytes.get(file_name)))
                break
            except DataError as error:
                errors.append(str(error).split(";")[0])
        else:
            raise DataError("; ".join(errors))
    return paths[0], paths[1]


def _missing_message(name: str, split: str, data_dir: Optional[str], download_error: Optional[str]) -> str:
    source = SOURCES[name]
    images_stem, labels_stem = SPLIT_FILES[split]
    places = [str(folder) for folder in search_folders(name, data_dir)]
    if not data_dir:
        places.insert(0, "--data-dir (not given)")
    if not os.environ.get(DATA_ENV):
        places.insert(2 if data_dir else 1, f"${DATA_ENV} (not set)")
    download = (f"the download failed ({download_error})" if download_error
                else "downloading was turned off")
    fixes = [source.install_hint] if source.install_hint else []
    fixes += [f"download {', '.join(f'{stem}.gz' for pair in SPLIT_FILES.values() for stem in pair)} from "
              f"{source.mirrors[0]} into one of those folders", "pass --data-dir FOLDER"]
    if not download_error:
        fixes.append("allow downloading (drop --no-download)")
    return (f"{name} {split} files ({images_stem}[.gz], {labels_stem}[.gz]) were not found in "
            f"{', '.join(places)}, and {download}; to fix it, {', or '.join(fixes)}")


def load_idx(name: str, cfg: DataConfig) -> Dataset:
    """Load `name` ('mnist' or 'fashion-mnist'), split cfg.split, as (N, 1, 28, 28) float32 in [0, 1]."""
    source = SOURCES[name]
    found = find_split_files(name, cfg.split, cfg.data_dir)
    if found is None:
        download_error = None
        if cfg.download:
            try:
                found = download_split(name, cfg.split)
            except DataError as error:
                download_error = str(error)
        if found is None:
            raise DataError(_missing_message(name, cfg.split, cfg.data_dir, download_error))
    images_path, labels_path = found
    images, labels = read_idx_pair(images_path, labels_path, len(source.class_names))
    x = images.astype(np.float32)[:, None]  # (N, 1, 28, 28)
    x /= 255.0
    return Dataset(
        name=name,
        x=tensor(x),
        kind=IMAGE,
        source=str(images_path.parent),
        y=tensor(labels.astype(np.int64)),
        class_names=source.class_names,
        split=cfg.split,
    )


def _register(name: str) -> None:
    source = SOURCES[name]
    DATASETS.add(name, DatasetEntry(
        name, IMAGE, source.description,
        load=lambda cfg: load_idx(name, cfg),
        available=lambda data_dir: find_split_files(name, "train", data_dir) is not None,
    ))


for _name in SOURCES:
    _register(_name)

TABLE_SIZES = {name: (f"{s.n_examples['train']} train/{s.n_examples['test']} test", (1, IMAGE_SIDE, IMAGE_SIDE))
               for name, s in SOURCES.items()}
