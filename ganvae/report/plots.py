"""Figures that show what a run learned: image grids, real-vs-generated scatters, loss curves.

Every `save_*` function takes numpy arrays (or CPU tensors), writes one PNG atomically (a temporary
file in the same folder, then `os.replace`, so a reader never sees half a file) and returns its Path.
Figures use matplotlib's object API with the Agg canvas: no pyplot, no global state, no display.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from ..errors import ConfigError, DataError

PathLike = Union[str, os.PathLike]

# Small images are blown up with NEAREST until the PNG is at least this wide.
MIN_GRID_WIDTH_PX = 400
DPI = 100
PANEL_SIZE = (6.0, 4.5)  # inches per panel
REAL_COLOUR = "tab:blue"
GENERATED_COLOUR = "tab:orange"
# Columns that are clocks, not measurements: never plotted as a curve.
CLOCK_KEYS = ("step", "epoch", "images_seen", "seconds")
def _to_numpy(array) -> np.ndarray:
    """Accept numpy arrays, lists and (CPU or GPU) tensors without importing torch."""
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def write_atomically(path: PathLike, write: Callable[[object], None]) -> Path:
    """Call write(file_object) on an in-memory buffer, then put its bytes at `path` atomically (the checkpoints'
    mechanism: temporary file, fsync, rename). A failure raises its OSError and leaves an earlier file as it was."""
    from ..storage import replace_atomically

    buffer = io.BytesIO()
    write(buffer)
    replace_atomically(Path(path), buffer.getvalue())
    return Path(path)


def save_figure(figure: Figure, path: PathLike) -> Path:
    FigureCanvasAgg(figure)
    return write_atomically(path, lambda stream: figure.savefig(stream, format="png", dpi=DPI))


def _as_image_batch(images, name: str = "images") -> np.ndarray:
    """(N, C, H, W) with C in {1, 3}, or (N, H, W) taken as grey -> float (N, C, H, W)."""
    images = _to_numpy(images).astype(np.float64, copy=False)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise DataError(
            f"{name} must have shape (N, C, H, W) with C = 1 or 3, got {tuple(images.shape)}; "
            "pass channels-first arrays (use x.transpose(0, 3, 1, 2) for channels-last ones)."
        )
    if images.shape[0] == 0:
        raise DataError(f"{name} is empty; pass at least one image.")
    return images


def image_grid(images, nrow: Optional[int] = None, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile images into one uint8 picture.

    images: (N, C, H, W) floats in [0, 1] (values outside are clipped, NaN becomes 0), C in {1, 3}.
    nrow: images per row (as in torchvision's make_grid); default ceil(sqrt(N)).
    padding: pixels between images and around the border, filled with pad_value (in [0, 1]).
    Returns (H', W', 3) for colour or (H', W') for grey, with
    H' = rows * (H + padding) + padding and W' = nrow * (W + padding) + padding.
    """
    images = _as_image_batch(images)
    n_images, channels, height, width = images.shape
    if nrow is None:
        nrow = math.ceil(math.sqrt(n_images))
    if nrow < 1:
        raise ConfigError(f"nrow must be at least 1, got {nrow}.")
    if padding < 0:
        raise ConfigError(f"padding must be 0 or more, got {padding}.")
    ncol = min(nrow, n_images)
    rows = math.ceil(n_images / ncol)
    cell_h, cell_w = height + padding, width + padding
    grid = np.full((channels, rows * cell_h + padding, ncol * cell_w + padding), float(pad_value))
    for index in range(n_images):
        top = (index // ncol) * cell_h + padding
        left = (index % ncol) * cell_w + padding
        grid[:, top:top + height, left:left + width] = images[index]
    grid = np.clip(np.nan_to_num(grid, nan=0.0), 0.0, 1.0)
    grid = np.rint(grid * 255.0).astype(np.uint8)  # (C, H', W')
    return grid[0] if channels == 1 else grid.transpose(1, 2, 0)


def _write_grid(grid: np.ndarray, path: PathLike, scale: Optional[int]) -> Path:
    """Upscale a uint8 grid by an integer factor (NEAREST keeps pixels sharp) and write it as PNG."""
    if scale is None:
        scale = max(1, math.ceil(MIN_GRID_WIDTH_PX / grid.shape[1]))
    if scale < 1:
        raise ConfigError(f"scale must be a whole number of at least 1, got {scale}.")
    picture = Image.fromarray(grid, mode="L" if grid.ndim == 2 else "RGB")
    if scale > 1:
        picture = picture.resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    return write_atomically(path, lambda stream: picture.save(stream, format="PNG"))


def save_image_grid(images, path: PathLike, nrow: Optional[int] = None, scale: Optional[int] = None) -> Path:
    """Write images (N, C, H, W) in [0, 1] as one PNG grid.

    scale: integer upscaling factor; default: the smallest that makes the PNG at least 400 px wide.
    """
    return _write_grid(image_grid(images, nrow=nrow), path, scale)


def _as_points(points, name: str) -> np.ndarray:
    """(N,) or (N, D...) -> float (N, D)."""
    points = _to_numpy(points).astype(np.float64, copy=False)
    if points.ndim == 0:
        raise DataError(f"{name} must be an array of points, got a scalar.")
    if points.ndim == 1:
        points = points[:, None]
    points = points.reshape(points.shape[0], -1)
    if points.shape[0] == 0:
        raise DataError(f"{name} is empty; pass at least one point.")
    return points


def _subsample(points: np.ndarray, max_points: int, rng: np.random.Generator) -> np.ndarray:
    if len(points) <= max_points:
        return points
    return points[np.sort(rng.choice(len(points), size=max_points, replace=False))]


def principal_axes(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (D,), the first two principal directions (D, 2) and their share of the variance (2,)."""
    mean = reference.mean(axis=0)
    _, singular_values, directions = np.linalg.svd(reference - mean, full_matrices=False)
    variance = singular_values**2
    share = variance / variance.sum() if variance.sum() > 0 else np.zeros_like(variance)
    axes = np.zeros((reference.shape[1], 2))
    kept = min(2, directions.shape[0])
    axes[:, :kept] = directions[:kept].T
    return mean, axes, np.pad(share[:kept], (0, 2 - kept))


def _opaque_legend(axes, **kwargs) -> None:
    """A legend whose markers are readable even when the points are drawn faint."""
    legend = axes.legend(markerscale=3, **kwargs)
    for handle in getattr(legend, "legend_handles", None) or getattr(legend, "legendHandles", []):
        handle.set_alpha(1.0)


def save_scatter(
    real,
    generated,
    path: PathLike,
    title: str = "",
    labels: Sequence[str] = ("real", "generated"),
    max_points: int = 5000,
) -> Path:
    """Real and generated (or reconstructed) points in one figure.

    real, generated: (N, D) arrays with the same D; real may be None (only the generated are drawn).
    D = 2: one scatter, equal aspect, shared limits covering both sets.
    D > 2: both projected onto the first two principal components of real (axes "PC 1", "PC 2").
    D = 1: overlaid histograms on shared bins.
    Each set is subsampled to max_points with a fixed seed, so the same inputs give the same figure.
    """
    generated = _as_points(generated, "generated")
    real = None if real is None else _as_points(real, "real")
    if real is not None and real.shape[1] != generated.shape[1]:
        raise DataError(
            f"real has {real.shape[1]} dimensions but generated has {generated.shape[1]}; "
            "pass points from the same data space."
        )
    if max_points < 1:
        raise ConfigError(f"max_points must be at least 1, got {max_points}.")
    rng = np.random.default_rng(0)
    generated = _subsample(generated, max_points, rng)
    real = None if real is None else _subsample(real, max_points, rng)
    sets = ([] if real is None else [(real, labels[0], REAL_COLOUR)]) + [(generated, labels[1], GENERATED_COLOUR)]
    dims = generated.shape[1]

    figure = Figure(figsize=PANEL_SIZE if dims == 1 else (6.0, 5.5), dpi=DPI)
    axes = figure.add_subplot()
    if dims == 1:
        values = np.concatenate([points[:, 0] for points, _, _ in sets])
        values = values[np.isfinite(values)]
        bins = np.histogram_bin_edges(values if values.size else [0.0, 1.0], bins=60)
        for points, label, colour in sets:
            axes.hist(points[:, 0], bins=bins, density=True, alpha=0.5, color=colour, label=label)
        axes.set_xlabel("x")
        axes.set_ylabel("density")
        axes.legend()
    else:
        if dims == 2:
            axis_labels = ("x1", "x2")
        else:
            mean, directions, share = principal_axes(real if real is not None else generated)
            sets = [((points - mean) @ directions, label, colour) for points, label, colour in sets]
            source = labels[0] if real is not None else labels[1]
            axis_labels = tuple(
                f"PC {i + 1} of {source} ({100 * share[i]:.0f}% of variance, {dims}-D data)" for i in range(2)
            )
        size = 6 if max(len(points) for points, _, _ in sets) < 1000 else 3
        for points, label, colour in sets:
            axes.scatter(points[:, 0], points[:, 1], s=size, alpha=0.35, color=colour, label=label,
                         linewidths=0, rasterized=True)
        both = np.concatenate([points for points, _, _ in sets])
        both = both[np.isfinite(both).all(axis=1)]
        if len(both):
            low, high = both.min(axis=0), both.max(axis=0)
            centre, half = (low + high) / 2, max(float((high - low).max()) / 2, 1e-6) * 1.05
            axes.set_xlim(centre[0] - half, centre[0] + half)
            axes.set_ylim(centre[1] - half, centre[1] + half)
        axes.set_aspect("equal", adjustable="box")
        axes.set_xlabel(axis_labels[0])
        axes.set_ylabel(axis_labels[1])
        axes.grid(alpha=0.2)
        _opaque_legend(axes, loc="upper right")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    return save_figure(figure, path)


def _numeric_column(values) -> Optional[np.ndarray]:
    """A log column as floats (None -> NaN), or None when it is not numbers or holds no finite value."""
    try:
        column = np.array([np.nan if value is None else value for value in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if column.ndim != 1 or not np.isfinite(column).any():
        return None
    return column


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred mean over `window` points, shrinking at the ends so the curve keeps its length."""
    kernel = np.ones(window)
    sums = np.convolve(values, kernel, mode="same")
    counts = np.convolve(np.ones_like(values), kernel, mode="same")
    return sums / counts


def _plot_series(axes, x: np.ndarray, y: np.ndarray, label: str, colour) -> bool:
    """Raw values faint, plus a moving average when there are enough points for noise to hide the trend.

    Returns whether the curve was smoothed, so the figure can say so.
    """
    if len(y) != len(x):
        # A column logged at a different rate than the clock: spread it over the same range.
        x = np.linspace(x[0], x[-1], len(y)) if len(x) else np.arange(len(y), dtype=np.float64)
    keep = np.isfinite(y) & np.isfinite(x)
    x, y = x[keep], y[keep]
    if len(y) >= 50:
        axes.plot(x, y, color=colour, alpha=0.25, linewidth=0.8)
        axes.plot(x, _moving_average(y, max(3, len(y) // 50)), color=colour, linewidth=1.8, label=label)
        return True
    axes.plot(x, y, color=colour, linewidth=1.5, marker="o" if len(y) < 20 else None, markersize=3, label=label)
    return False


def save_loss_plot(log: Mapping[str, Sequence[float]], path: PathLike, family: str, x_key: str = "step") -> Path:
    """Training curves for one run.

    log: column name -> values, one per logged step (e.g. "step", "epoch", "images_seen", "seconds",
    and the family's losses); None or NaN marks a step where a column was not logged.
    family: a registered family's name; its `loss_panels` group the columns (a VAE's reconstruction, KL and
    negative ELBO; a GAN's two losses, and its discriminator's outputs with a dashed line at 0.5).
    Any other numeric column goes to an "Other logged values" panel rather than being dropped.
    An empty log gives a figure that says "no steps logged yet".
    """
    columns = {key: _numeric_column(values) for key, values in log.items()}
    columns = {key: column for key, column in columns.items() if column is not None}
    if x_key in columns:
        x, x_label = columns[x_key], x_key.replace("_", " ")
    else:
        length = max((len(column) for column in columns.values()), default=0)
        x, x_label = np.arange(length, dtype=np.float64), "logged row"
    curves = {key: column for key, column in columns.items() if key not in CLOCK_KEYS and key != x_key}

    panels = []
    used = set()
    from ..families import FAMILIES, family_label  # the families declare their panels; only a run's figures need them

    name = family_label(family) if family in FAMILIES else family  # "GAN", as the reports name it

    declared = FAMILIES.get(family).loss_panels if family in FAMILIES else ()
    for title, keys, y_label, reference, y_limits in declared:
        present = [key for key in keys if key in curves]
        if present:
            panels.append((title, present, y_label, reference, y_limits))
            used.update(present)
    others = [key for key in curves if key not in used]
    if others:
        panels.append(("Other logged values", others, "value", None, None))

    if not panels:
        figure = Figure(figsize=PANEL_SIZE, dpi=DPI)
        axes = figure.add_subplot()
        axes.text(0.5, 0.5, "no steps logged yet", ha="center", va="center", fontsize=16, color="0.4",
                  transform=axes.transAxes)
        axes.set_axis_off()
        axes.set_title(f"{family} training losses")
        return save_figure(figure, path)

    ncols = min(len(panels), 3)
    nrows = math.ceil(len(panels) / ncols)
    figure = Figure(figsize=(PANEL_SIZE[0] * ncols, PANEL_SIZE[1] * nrows), dpi=DPI)
    palette = [f"C{i}" for i in range(10)]
    smoothed = False
    for index, (title, keys, y_label, reference, y_limits) in enumerate(panels):
        axes = figure.add_subplot(nrows, ncols, index + 1)
        for series, key in enumerate(keys):
            smoothed |= _plot_series(axes, x, curves[key], key, palette[series % len(palette)])
        if reference is not None:
            axes.axhline(reference, color="0.3", linestyle="--", linewidth=1, label=f"{reference:g}")
        if y_limits is not None:
            axes.set_ylim(*y_limits)
        axes.set_title(title)
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        if x_key in ("step", "epoch", "images_seen") or x_label == "logged row":
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    note = " (faint: every logged value; bold: moving average)" if smoothed else ""
    figure.suptitle(f"{name} training losses{note}")
    figure.tight_layout()
    return save_figure(figure, path)


def _is_image_batch(array: np.ndarray) -> bool:
    return array.ndim in (3, 4)


def save_reconstructions(originals, reconstructions, path: PathLike, n: int = 8) -> Path:
    """Originals next to their reconstructions.

    Images (N, C, H, W): the first n originals on the top row, their reconstructions below.
    Vectors (N, D): a real-vs-reconstructed scatter (see save_scatter).
    """
    originals, reconstructions = _to_numpy(originals), _to_numpy(reconstructions)
    if originals.shape[1:] != reconstructions.shape[1:]:
        raise DataError(
            f"originals have shape {tuple(originals.shape)} but reconstructions {tuple(reconstructions.shape)}; "
            "pass reconstructions of the originals, one per example."
        )
    if not _is_image_batch(originals):
        return save_scatter(originals, reconstructions, path, title="real vs reconstructed",
                            labels=("real", "reconstructed"))
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}.")
    shown = min(n, len(originals), len(reconstructions))
    if shown == 0:
        raise DataError("originals and reconstructions are empty; pass at least one image.")
    pairs = np.concatenate([originals[:shown], reconstructions[:shown]])  # (2 * shown, C, H, W)
    return _write_grid(image_grid(pairs, nrow=shown), path, scale=None)


GRID_IMAGES = 100  # a sample grid is 10 x 10
SCATTER_POINTS = 5000  # save_scatter's default max_points
# More samples than this for one picture is a mistake (it shows at most SCATTER_POINTS): refused before drawing.
PNG_MAX_SAMPLES = 10_000


def shown_in_png(kind: str) -> int:
    """How many samples a picture of this kind shows."""
    return GRID_IMAGES if kind == "image" else SCATTER_POINTS


def save_samples(samples, path: PathLike, real=None, kind: str = "image") -> Path:
    """Generated samples: a 10 x 10 grid of up to 100 images, or for vectors a scatter against real."""
    samples = _to_numpy(samples)
    if len(samples) > PNG_MAX_SAMPLES:
        raise ConfigError(f"{len(samples)} samples are too many for one picture (it shows at most "
                          f"{shown_in_png(kind)}); pass at most {PNG_MAX_SAMPLES}.")
    if kind == "image":
        return save_image_grid(samples[:GRID_IMAGES], path, nrow=10)
    if kind == "vector":
        return save_scatter(real, samples, path, title="real vs generated" if real is not None else "generated",
                            max_points=SCATTER_POINTS)
    raise ConfigError(f"kind must be 'image' or 'vector', got {kind!r}.")
