"""A user's own data: a folder of images, a .npy/.npz array, or a .csv table of numbers.

Folders are searched recursively for .png/.jpg/.jpeg files (hidden files and folders are skipped).
When every image sits inside a subfolder, the top-level subfolder names are the class labels.
User files have a single split: asking for the test split is a ConfigError.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from ..config import DataConfig
from ..errors import ConfigError, DataError
from ..sizes import check_memory
from .base import IMAGE, VECTOR, Dataset, tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz")
CSV_SUFFIXES = (".csv",)
DEFAULT_IMAGE_SIZE = 28  # used when a folder's images differ in size and no --image-size is given
HIGH_BIT_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N"}  # 16-bit PNGs open as one of these
GRAY_MODES = {"1", "L", "LA", "La", "F"} | HIGH_BIT_MODES
MISSING_TOKENS = {"", "na", "n/a", "nan", "null", "none"}


def is_data_path(name: str) -> bool:
    """Whether `name` names a folder or a file type that load_path reads."""
    path = Path(name).expanduser()
    return path.is_dir() or path.suffix.lower() in ARRAY_SUFFIXES + CSV_SUFFIXES


def load_path(cfg: DataConfig) -> Dataset:
    """Load cfg.name as a folder of images, a .npy/.npz array or a .csv table."""
    path = Path(cfg.name).expanduser()
    if cfg.split != "train":
        raise ConfigError(f"--split {cfg.split} needs a dataset with a test split, and {path} has only one; "
                          f"use --split train or pass your test data as its own --data path")
    if path.is_dir():
        return load_image_folder(path, cfg.image_size)
    if not path.is_file():
        raise DataError(f"{path} does not exist; check the path given to --data")
    if path.suffix.lower() in ARRAY_SUFFIXES:
        return load_array(path)
    return load_csv(path)


def standardise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: (values - mean) / std, a std of 0 counting as 1. Returns x float32, offset, scale (D,)."""
    values = values.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        offset = values.mean(axis=0)
        scale = values.std(axis=0)
    if not (np.isfinite(offset).all() and np.isfinite(scale).all()):
        raise DataError("some columns hold values too large to standardise (their mean or spread overflows); "
                        "rescale those columns first")
    scale[scale == 0] = 1.0
    return ((values - offset) / scale).astype(np.float32), offset, scale


def _vector_dataset(values: np.ndarray, path: Path, labels: Optional[np.ndarray] = None,
                    columns: Optional[list[str]] = None) -> Dataset:
    x, offset, scale = standardise(values)
    return Dataset(name=path.name, x=tensor(x), kind=VECTOR, source=str(path.resolve()), from_path=True,
                   y=None if labels is None else tensor(labels), offset=offset, scale=scale,
                   columns=None if columns is None else tuple(columns))


def _image_files(folder: Path) -> list[Path]:
    files = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _is_gray(image: Image.Image) -> bool:
    if image.mode in GRAY_MODES:
        return True
    if image.mode == "P":
        palette = image.getpalette() or []
        return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))
    return False


def _pixels(image: Image.Image, gray: bool) -> np.ndarray:
    """(H, W, C) float32 in [0, 1], C = 1 if gray else 3; transparent pixels are composited onto black."""
    if image.mode in HIGH_BIT_MODES:
        values = np.asarray(image, dtype=np.float32)[..., None] / 65535.0
    elif image.mode == "F":
        values = np.clip(np.asarray(image, dtype=np.float32), 0, 1)[..., None]
    else:
        has_alpha = image.mode in ("LA", "La", "RGBA", "RGBa", "PA") or "transparency" in image.info
        converted = image.convert(("LA" if gray else "RGBA") if has_alpha else ("L" if gray else "RGB"))
        values = np.asarray(converted, dtype=np.float32).reshape(converted.height, converted.width, -1) / 255.0
        if has_alpha:
            values = values[..., :-1] * values[..., -1:]
    if not gray and values.shape[-1] == 1:
        values = np.repeat(values, 3, axis=-1)
    return values


def _resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (H, W, C) float32 to size = (width, height), channel by channel, bilinear with antialiasing."""
    if values.shape[1::-1] == size:
        return values
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(values[..., c]), mode="F").resize(
        size, Image.BILINEAR)) for c in range(values.shape[-1])]
    return np.clip(np.stack(channels, axis=-1), 0, 1)


def _check_decoded_size(folder: Path, n_images: int, n_channels: int, size: tuple[int, int],
                        image_size: Optional[int]) -> None:
    """Refuse, from the image headers alone (Pillow reads pixels lazily), a folder too large to decode in memory."""
    n_bytes = 4 * n_images * n_channels * size[0] * size[1]
    smaller = max(1, min(64, (image_size or size[0]) // 2))
    check_memory(n_bytes, f"the {n_images} images in {folder}, decoded at {size[0]}x{size[1]} pixels "
                          f"({n_channels} channel{'s' if n_channels > 1 else ''}, float32),",
                 f"pass --image-size {smaller} (or another small size) to shrink them as they load",
                 error=DataError)


def load_image_folder(folder: Path, image_size: Optional[int] = None) -> Dataset:
    """All images under `folder` as (N, C, H, W) float32 in [0, 1].

    C is 1 when every image is grayscale, else 3. Images are resized (stretched, not cropped) to
    image_size x image_size when it is given, kept at their size when they all share one, and resized
    to 28 x 28 otherwise.
    """
    files = _image_files(folder)
    if not files:
        raise DataError(f"{folder} holds no {'/'.join(IMAGE_SUFFIXES)} images; put images in it "
                        f"(or in one subfolder per class)")
    sizes, grays = set(), []
    for path in files:
        try:
            with Image.open(path) as image:
                sizes.add(image.size)
                grays.append(_is_gray(image))
        except Exception as error:  # PIL raises many types for unreadable files
            raise DataError(f"cannot read image {path} ({error}); remove or replace the file") from None
    gray = all(grays)
    if image_size is not None:
        size = (image_size, image_size)
    elif len(sizes) == 1:
        size = next(iter(sizes))
    else:
        size = (DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)
    n_channels = 1 if gray else 3
    _check_decoded_size(folder, len(files), n_channels, size, image_size)
    x = np.empty((len(files), n_channels, size[1], size[0]), dtype=np.float32)  # (N, C, H, W)
    for i, path in enumerate(files):
        try:
            with Image.open(path) as image:
                values = _pixels(image, gray)
        except Exception as error:  # a header can be fine and the pixel data truncated or corrupt
            raise DataError(f"cannot read image {path} ({error}); remove or replace the file") from None
        x[i] = _resize(values, size).transpose(2, 0, 1)
    relative_parts = [path.relative_to(folder).parts for path in files]
    y, class_names = None, None
    if all(len(parts) > 1 for parts in relative_parts):
        class_names = tuple(sorted({parts[0] for parts in relative_parts}))
        index = {name: i for i, name in enumerate(class_names)}
        y = tensor(np.array([index[parts[0]] for parts in relative_parts], dtype=np.int64))
    return Dataset(name=folder.name, x=tensor(x), kind=IMAGE, source=str(folder.resolve()), from_path=True,
                   y=y, class_names=class_names)


def load_array(path: Path) -> Dataset:
    """A .npy array, or from a .npz the array under 'x' (or its only array) with labels under 'y'."""
    labels = None
    _check_array_file(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                keys = list(loaded.files)
                candidates = ["x"] if "x" in keys else [k for k in keys if k != "y"]
                if len(candidates) != 1:
                    raise DataError(f"{path} holds arrays {keys}; store the data under the key 'x' "
                                    f"(and labels, if any, under 'y')")
                values = loaded[candidates[0]]
                labels = loaded["y"] if "y" in keys else None
        else:
            values = loaded
    except DataError:
        raise
    except Exception as error:  # numpy raises many types for a corrupt or pickled file
        raise DataError(f"cannot read {path} as a NumPy array ({error}); save it with numpy.save or "
                        f"numpy.savez and without object dtype") from None
    return array_dataset(values, path, labels)


NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"  # what a .npy and a .npz file start with


def _check_array_file(path: Path) -> None:
    """Refuse a file that is neither a .npy nor a .npz (numpy would take it for a pickle and advise
    allow_pickle, which ganvae never sets)."""
    try:
        with open(path, "rb") as f:
            start = f.read(512)
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error}); check its permissions") from None
    if start.startswith(NPY_MAGIC) or start.startswith(ZIP_MAGIC):
        return
    if not start:
        raise DataError(f"{path} is empty, not a NumPy array file; save the data with numpy.save or numpy.savez")
    if start[:1] == b"\x80":
        what = "a Python pickle"
    else:
        try:
            start.decode("utf-8")
            what = "text"
        except UnicodeDecodeError:
            what = "some other binary format"
    raise DataError(f"{path} is not a NumPy array file (it holds {what}, without NumPy's header); save the data "
                    f"with numpy.save or numpy.savez, or give a table of numbers as a .csv file")


def _check_labels(labels: np.ndarray, n_examples: int, path: Path) -> np.ndarray:
    if labels.ndim != 1 or labels.dtype.kind not in "iub" or len(labels) != n_examples:
        raise DataError(f"{path}: labels 'y' must be {n_examples} whole numbers in a 1-D array, not "
                        f"{labels.dtype} of shape {list(labels.shape)}; fix or drop 'y'")
    if len(labels) and labels.min() < 0:
        raise DataError(f"{path}: labels 'y' must be >= 0, and one is {int(labels.min())}; renumber the classes")
    return labels.astype(np.int64)


def _image_values(values: np.ndarray, path: Path) -> np.ndarray:
    """Images in [0, 1] from integers 0..255 (or 0/1), or floats in [0, 1] or 0..255."""
    low, high = float(values.min()), float(values.max())
    if values.dtype.kind in "iub" and high <= 1 and low >= 0:
        return values.astype(np.float32)
    if 0 <= low and high <= 1:
        return values.astype(np.float32)
    if 0 <= low and high <= 255:
        return values.astype(np.float32) / np.float32(255)
    raise DataError(f"{path}: image values span [{low:g}, {high:g}], but images must lie in [0, 1] or 0..255; "
                    f"rescale them")


def array_dataset(values: np.ndarray, path: Path, labels: Optional[np.ndarray] = None) -> Dataset:
    """Rank 2 -> standardised vectors; rank 3 (N, H, W) or 4 (N, C, H, W) / (N, H, W, C), C in {1, 3} -> images."""
    if values.dtype.kind not in "iufb":
        raise DataError(f"{path} holds {values.dtype} values; it must hold numbers (integers or floats)")
    if values.ndim not in (2, 3, 4):
        raise DataError(f"{path} holds an array of shape {list(values.shape)}; use (N, D) vectors, "
                        f"(N, H, W) or (N, C, H, W) / (N, H, W, C) images with C = 1 or 3")
    if values.size == 0:
        raise DataError(f"{path} holds an empty array of shape {list(values.shape)}; it needs at least one example")
    if values.dtype.kind == "f":
        n_bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        if n_bad:
            raise DataError(f"{path} holds {n_bad} NaN or infinite values; remove or replace them")
    if labels is not None:
        labels = _check_labels(labels, len(values), path)
    if values.ndim == 2:
        return _vector_dataset(values, path, labels)
    if values.ndim == 3:
        values = values[:, None]
    elif values.shape[3] in (1, 3) and values.shape[1] not in (1, 3):
        values = values.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    elif values.shape[1] not in (1, 3):
        raise DataError(f"{path} holds images of shape {list(values.shape)}; 4-D images need 1 or 3 channels, "
                        f"as (N, C, H, W) or (N, H, W, C)")
    x = _image_values(np.ascontiguousarray(values), path)
    return Dataset(name=path.name, x=tensor(x), kind=IMAGE, source=str(path.resolve()), from_path=True,
                   y=None if labels is None else tensor(labels))


def _parse_number(cell: str) -> Optional[float]:
    try:
        return float(cell)
    except ValueError:
        return None


def load_csv(path: Path) -> Dataset:
    """A comma-separated table of numbers, with or without a header row, as standardised vectors.

    The first row is a header when none of its cells is a number. Blank lines are skipped.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as a UTF-8 CSV file") from None
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error}); check its permissions") from None
    if _uses_semicolons(text):
        raise DataError(f"{path} seems to use ';' to separate values, and ganvae reads commas; save it with "
                        f"commas between values and '.' as the decimal point (in pandas: "
                        f"pandas.read_csv(path, sep=';', decimal=',').to_csv(new_path, index=False))")
    reader = csv.reader(io.StringIO(text))
    header: Optional[list[str]] = None
    rows: list[list[float]] = []
    try:
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if not any(cells):
                continue
            if header is None and not rows and all(_parse_number(c) is None for c in cells):
                header = cells
                continue
            n_columns = len(header) if header is not None else len(rows[0]) if rows else len(cells)
            if len(cells) != n_columns:
                raise DataError(f"{path} line {reader.line_num} has {len(cells)} values but the table has "
                                f"{n_columns} columns; give every row the same number of columns")
            rows.append([_cell_value(cell, j, header, path, reader.line_num) for j, cell in enumerate(cells)])
    except csv.Error as error:
        raise DataError(f"{path} is not a readable CSV file (line {reader.line_num}: {error}); "
                        f"save it as plain comma-separated numbers") from None
    if not rows:
        what = "has a header but no data rows" if header is not None else "is empty"
        raise DataError(f"{path} {what}; it needs at least one row of numbers")
    return _vector_dataset(np.array(rows, dtype=np.float64), path, columns=header)


def _uses_semicolons(text: str, lines_checked: int = 20) -> bool:
    """Whether the table separates values by ';' (as spreadsheets do where ',' is the decimal mark): each of its
    first non-blank lines holds the same number of semicolons, at least one. A comma-separated table of numbers
    has none."""
    lines = [line for line in text.splitlines() if line.strip()][:lines_checked]
    counts = {line.count(";") for line in lines}
    return len(counts) == 1 and counts.pop() > 0


def _cell_value(cell: str, column: int, header: Optional[list[str]], path: Path, line: int) -> float:
    name = f"column {column + 1}" + (f" ({header[column]!r})" if header is not None else "")
    if cell.lower() in MISSING_TOKENS:
        raise DataError(f"{path} has a missing value in {name} at line {line}; fill it in or drop the row")
    value = _parse_number(cell)
    if value is None:
        raise DataError(f"{path} has the non-numeric value {cell!r} in {name} at line {line}; "
                        f"a CSV must hold only numbers, so drop or encode that column")
    if value != value or value in (float("inf"), float("-inf")):
        raise DataError(f"{path} has the non-finite value {cell!r} in {name} at line {line}; replace it")
    return value
