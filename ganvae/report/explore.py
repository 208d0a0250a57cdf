"""Latent exploration of a trained run (`ganvae explore RUN`): what single latent dimensions do, what lies on
great circles between prior codes, and for a 2-D latent the whole decoded plane.

Written into the run folder, beside samples.png, and shown by the comparison report when present:

- traversals.png: one row per latent dimension, the code of one prior draw with that dimension swept from -3
  to 3 prior standard deviations. For a family with an encoder the dimensions are the most active ones, by mean
  KL(q(z_d|x) || N(0, 1)) on the training data (Higgins et al. 2017 read beta-VAE traversals this way); for a
  GAN, whose code has no such measure, the first ones.
- slerp.png: spherical interpolation between pairs of prior draws (White 2016, "Sampling generative networks"):
  a Gaussian code of dimension D has norm about sqrt(D), and a straight line between two such codes passes
  through norms about sqrt(D / 2) that the decoder never saw in training; the great circle keeps them typical.
- latent-map.png (2-D latent only, as the article's VAE on make_circles): the decoded latent plane over
  [-3, 3]^2 (a grid of images, or for vectors the image of the grid's lines in data space), beside the
  encoded training data coloured by label.

Images are tiled with ``plots.image_grid``; vectors are drawn in data space (projected onto the real data's
first two principal axes beyond 2-D, as ``plots.save_scatter`` does).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
from matplotlib.figure import Figure

from .plots import DPI, principal_axes, image_grid, save_figure

N_TRAVERSED = 8  # latent dimensions traversed (rows)
TRAVERSAL_STEPS = 9  # values per dimension, from -TRAVERSAL_SPAN to TRAVERSAL_SPAN
TRAVERSAL_SPAN = 3.0  # in prior standard deviations
N_SLERP_PAIRS, SLERP_STEPS = 6, 10
MAP_STEPS = 15  # the decoded latent plane: MAP_STEPS x MAP_STEPS codes over [-MAP_SPAN, MAP_SPAN]^2
MAP_SPAN = 3.0
KL_EXAMPLES = 2000  # training examples the per-dimension KL is averaged over
N_POINTS = 2000  # training examples drawn behind vector figures and encoded into the latent map
FIGURE_NAMES = {"traversals": "traversals.png", "slerp": "slerp.png", "latent-map": "latent-map.png"}
PARALLEL_COSINE = 1 - 1e-7  # codes this close in direction are interpolated linearly (the great circle is undefined)

PathLike = Union[str, Path]


def slerp(start, end, weights) -> np.ndarray:
    """Spherical interpolation: (B, D) start and end codes, (T,) weights in [0, 1] -> (B, T, D).

    z(t) = sin((1 - t) omega) / sin(omega) start + sin(t omega) / sin(omega) end, omega the angle between them
    (Shoemake 1985; White 2016). t = 0 gives start and t = 1 end exactly; between codes of equal norm every
    point keeps that norm. Nearly parallel codes fall back to the straight line.
    """
    start, end = np.atleast_2d(np.asarray(start, np.float64)), np.atleast_2d(np.asarray(end, np.float64))
    t = np.asarray(weights, np.float64).reshape(1, -1, 1)  # (1, T, 1)
    norms = np.linalg.norm(start, axis=1) * np.linalg.norm(end, axis=1)
    cosine = np.clip(np.einsum("bd,bd->b", start, end) / np.where(norms > 0, norms, 1.0), -1.0, 1.0)
    omega = np.arccos(cosine)[:, None, None]  # (B, 1, 1)
    sin_omega = np.sin(omega)
    parallel = (np.abs(cosine) >= PARALLEL_COSINE)[:, None, None] | (norms == 0)[:, None, None]
    safe = np.where(parallel, 1.0, sin_omega)
    curved_start, curved_end = np.sin((1 - t) * omega) / safe, np.sin(t * omega) / safe
    a = np.where(parallel, 1 - t, curved_start)
    b = np.where(parallel, t, curved_end)
    path = a * start[:, None, :] + b * end[:, None, :]  # (B, T, D)
    path[:, t[0, :, 0] == 0] = start[:, None, :]  # exactly, not up to sin(omega) / sin(omega) rounding
    path[:, t[0, :, 0] == 1] = end[:, None, :]
    return path


def traversal_codes(base, dims: Sequence[int], values) -> np.ndarray:
    """Copies of the base code (D,) with dimension dims[i] set to each of values (T,): (len(dims) * T, D),
    row by row (one dimension per row of a grid with T columns)."""
    base = np.asarray(base, np.float64)
    values = np.asarray(values, np.float64)
    codes = np.tile(base, (len(dims), len(values), 1))  # (R, T, D)
    for row, dim in enumerate(dims):
        codes[row, :, dim] = values
    return codes.reshape(-1, base.shape[0])


def mean_kl_per_dim(model, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Mean KL(q(z_d | x) || N(0, 1)) over examples x (in the data's units), per latent dimension (D,), nats."""
    import torch

    from ..metrics.likelihood import gaussian_kl

    family = model._check_fitted()
    total = np.zeros(family.latent_dim)
    was_training = family.training
    family.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                mu, logvar = family.encode(model._to_model(x[start:start + batch_size]))
                total += gaussian_kl(mu, logvar).double().sum(0).cpu().numpy()
    finally:
        family.train(was_training)
    return total / len(x)


def traversal_dimensions(model, x: np.ndarray, n_dims: int = N_TRAVERSED) -> tuple[list[int], Optional[np.ndarray]]:
    """(dimensions to traverse, their mean KL or None): the most active by mean KL on x for a family with an
    encoder, the first n_dims otherwise."""
    latent_dim = model.family_.latent_dim
    if "encoder" not in model.capabilities:
        return list(range(min(n_dims, latent_dim))), None
    kl = mean_kl_per_dim(model, x)
    order = np.argsort(-kl, kind="stable")[:n_dims]
    return [int(d) for d in order], kl[order]


def _training_data(model):
    from ..data import load_dataset

    return load_dataset(replace(model.config_.data, split="train"))


def explore(model, dataset=None, out_dir: Optional[PathLike] = None, seed: int = 0) -> dict[str, Path]:
    """Write traversals.png, slerp.png and (2-D latent) latent-map.png; return {kind: path}.

    model: a fitted ganvae.Model; dataset: the Dataset it was trained on (default: loaded from its config);
    out_dir: default the model's run folder. seed: the prior draws (base code of the traversals, slerp pairs).
    """
    from ..errors import ConfigError

    model._check_fitted()
    if out_dir is None:
        if model.run_dir_ is None:
            raise ConfigError("this model has no run folder; pass --out DIR for the figures")
        out_dir = model.run_dir_
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = _training_data(model) if dataset is None else dataset
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.permutation(len(dataset))[:max(KL_EXAMPLES, N_POINTS)])
    real = dataset.to_original(dataset.x[picks].numpy())  # (n, *shape) in the data's units
    labels = None if dataset.y is None else dataset.y[picks].numpy()
    latent_dim = model.family_.latent_dim

    dims, kl = traversal_dimensions(model, real[:KL_EXAMPLES])
    base = rng.standard_normal(latent_dim)
    values = np.linspace(-TRAVERSAL_SPAN, TRAVERSAL_SPAN, TRAVERSAL_STEPS)
    traversed = model.from_latent(traversal_codes(base, dims, values))
    row_names = [f"z{d}" + ("" if kl is None else f"\nKL {kl[i]:.2f}") for i, d in enumerate(dims)]
    how = "the most active by mean KL on the training data" if kl is not None else "the first ones: no encoder"
    title = f"Traversals: one latent dimension from -{TRAVERSAL_SPAN:g} to {TRAVERSAL_SPAN:g}, the rest fixed\n({how})"
    pairs = rng.standard_normal((2, N_SLERP_PAIRS, latent_dim))
    path = slerp(pairs[0], pairs[1], np.linspace(0, 1, SLERP_STEPS))  # (P, T, D)
    interpolated = model.from_latent(path.reshape(-1, latent_dim))
    slerp_title = f"Spherical interpolation between {N_SLERP_PAIRS} pairs of prior draws"
    written = {}
    if dataset.kind == "image":
        written["traversals"] = _save_image_rows(traversed, TRAVERSAL_STEPS, out_dir / FIGURE_NAMES["traversals"],
                                                 title, row_names, [f"{v:g}" for v in values])
        written["slerp"] = _save_image_rows(interpolated, SLERP_STEPS, out_dir / FIGURE_NAMES["slerp"], slerp_title,
                                            [f"pair {i + 1}" for i in range(N_SLERP_PAIRS)],
                                            [f"{t:.2f}" for t in np.linspace(0, 1, SLERP_STEPS)])
    else:
        written["traversals"] = _save_vector_paths(
            traversed.reshape(len(dims), TRAVERSAL_STEPS, -1), [name.replace("\n", ", ") for name in row_names],
            real[:N_POINTS], out_dir / FIGURE_NAMES["traversals"], title + f"; the large dot is +{TRAVERSAL_SPAN:g}")
        written["slerp"] = _save_vector_paths(
            interpolated.reshape(N_SLERP_PAIRS, SLERP_STEPS, -1), [f"pair {i + 1}" for i in range(N_SLERP_PAIRS)],
            real[:N_POINTS], out_dir / FIGURE_NAMES["slerp"], slerp_title + "\n(the large dot is t = 1)")
    if latent_dim == 2:
        written["latent-map"] = _save_latent_map(model, dataset, real[:N_POINTS],
                                                 None if labels is None else labels[:N_POINTS],
                                                 out_dir / FIGURE_NAMES["latent-map"])
    return written


def _tick_positions(n: int, size: int, padding: int = 2) -> np.ndarray:
    """Pixel centres of n cells of `size` pixels in an image_grid with this padding."""
    return padding + np.arange(n) * (size + padding) + size / 2


def _save_image_rows(images: np.ndarray, ncol: int, path: Path, title: str, row_names: Sequence[str],
                     column_names: Sequence[str]) -> Path:
    """An image grid (image_grid) with one named row per traversal or pair and named columns."""
    grid = image_grid(images, nrow=ncol)
    height, width = images.shape[-2:]
    rows = len(images) // ncol
    scale = max(1.0, 48 / max(height, width))  # each image at least about 48 px on screen
    figure = Figure(figsize=(grid.shape[1] * scale / DPI + 1.6, grid.shape[0] * scale / DPI + 1.2), dpi=DPI)
    axes = figure.add_subplot()
    axes.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    axes.set_yticks(_tick_positions(rows, height), list(row_names), fontsize=8)
    axes.set_xticks(_tick_positions(ncol, width), list(column_names), fontsize=8)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path)


def _projection(real: np.ndarray):
    """(function (N, D) -> (N, 2), axis labels) for drawing vectors: identity for 2-D, the real data's principal
    axes beyond, and the value against its position along the path for 1-D."""
    dims = real.shape[1]
    if dims == 2:
        return (lambda points: points), ("x1", "x2")
    if dims == 1:
        return None, ("step along the path", "x")
    mean, directions, share = principal_axes(real)
    return (lambda points: (points - mean) @ directions), tuple(
        f"PC {i + 1} of the data ({100 * share[i]:.0f}% of variance, {dims}-D)" for i in range(2))


def _save_vector_paths(paths: np.ndarray, names: Sequence[str], real: np.ndarray, path: Path, title: str) -> Path:
    """Decoded paths (R, T, D) as lines over the real data (grey), in data space."""
    real = real.reshape(len(real), -1)
    project, axis_labels = _projection(real)
    figure = Figure(figsize=(7.0, 6.0), dpi=DPI)
    axes = figure.add_subplot()
    colours = [f"C{i % 10}" for i in range(len(paths))]
    if project is None:
        for row, (points, name) in enumerate(zip(paths, names)):
            axes.plot(np.arange(points.shape[0]), points[:, 0], "-o", color=colours[row], markersize=3, label=name)
    else:
        shown = project(real)
        axes.scatter(shown[:, 0], shown[:, 1], s=3, color="0.75", linewidths=0, rasterized=True, label="training data")
        for row, (points, name) in enumerate(zip(paths, names)):
            line = project(points.reshape(points.shape[0], -1))
            axes.plot(line[:, 0], line[:, 1], "-o", color=colours[row], markersize=3, linewidth=1.2, label=name)
            axes.plot(line[-1, 0], line[-1, 1], "o", color=colours[row], markersize=8)
        axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel(axis_labels[0])
    axes.set_ylabel(axis_labels[1])
    axes.grid(alpha=0.2)
    _legend(axes)
    axes.set_title(title, fontsize=9, wrap=True)
    figure.tight_layout()
    return save_figure(figure, path)


def _legend(axes) -> None:
    """A small legend whose scatter markers are readable although the points are drawn tiny."""
    entries = len(axes.get_legend_handles_labels()[0])
    legend = axes.legend(fontsize=7, loc="upper right", ncols=2 if entries > 5 else 1)
    for handle in getattr(legend, "legend_handles", None) or getattr(legend, "legendHandles", []):
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([20])
            handle.set_alpha(1.0)


def _label_colours(axes, points: np.ndarray, labels: Optional[np.ndarray], names) -> None:
    """Scatter 2-D points coloured by label (one colour without labels), with a legend of up to 10 classes."""
    if labels is None:
        axes.scatter(points[:, 0], points[:, 1], s=4, color="tab:blue", alpha=0.5, linewidths=0, rasterized=True,
                     label="training data")
        return
    classes = np.unique(labels)
    for index, label in enumerate(classes):
        chosen = labels == label
        name = names[label] if names is not None and 0 <= label < len(names) else f"class {label}"
        axes.scatter(points[chosen, 0], points[chosen, 1], s=4, color=f"C{index % 10}", alpha=0.6, linewidths=0,
                     rasterized=True, label=name if len(classes) <= 10 else None)


def _save_latent_map(model, dataset, real: np.ndarray, labels: Optional[np.ndarray], path: Path) -> Path:
    """Left: the latent plane with the encoded training data by label (a family with an encoder). Right: the
    decoded plane: a grid of images, or the image of the plane's grid lines in data space over the data."""
    values = np.linspace(-MAP_SPAN, MAP_SPAN, MAP_STEPS)
    z1, z2 = np.meshgrid(values, values[::-1])  # rows from z2 = +span (top) down to -span
    plane = np.stack([z1.ravel(), z2.ravel()], axis=1)  # (S*S, 2), row by row
    decoded = model.from_latent(plane)
    has_encoder = "encoder" in model.capabilities
    figure = Figure(figsize=(13.0 if has_encoder else 7.0, 6.2), dpi=DPI)
    panels = figure.subplots(1, 2 if has_encoder else 1, squeeze=False)[0]
    if has_encoder:
        axes = panels[0]
        codes = model.encode(real)
        _label_colours(axes, codes, labels, dataset.class_names)
        for value in values:
            axes.axhline(value, color="0.85", linewidth=0.5, zorder=0)
            axes.axvline(value, color="0.85", linewidth=0.5, zorder=0)
        axes.set_xlim(-MAP_SPAN * 1.05, MAP_SPAN * 1.05)
        axes.set_ylim(-MAP_SPAN * 1.05, MAP_SPAN * 1.05)
        axes.set_aspect("equal")
        axes.set_xlabel("z1")
        axes.set_ylabel("z2")
        axes.set_title("Encoded training data (posterior means) in the latent plane", fontsize=9)
        if labels is None or len(np.unique(labels)) <= 10:
            _legend(axes)
    axes = panels[-1]
    if dataset.kind == "image":
        grid = image_grid(decoded, nrow=MAP_STEPS, padding=1)
        axes.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest",
                    extent=(-MAP_SPAN, MAP_SPAN, -MAP_SPAN, MAP_SPAN))
        axes.set_xlabel("z1")
        axes.set_ylabel("z2")
        axes.set_title(f"Decoded latent plane: {MAP_STEPS} x {MAP_STEPS} codes over [-{MAP_SPAN:g}, {MAP_SPAN:g}]^2",
                       fontsize=9)
    else:
        flat = real.reshape(len(real), -1)
        project, axis_labels = _projection(flat)
        if project is None:  # 1-D data: the decoded value over the plane as a heat map
            shown = axes.imshow(decoded.reshape(MAP_STEPS, MAP_STEPS), extent=(-MAP_SPAN, MAP_SPAN, -MAP_SPAN,
                                                                                MAP_SPAN), cmap="viridis")
            figure.colorbar(shown, ax=axes, label="decoded x")
            axes.set_xlabel("z1")
            axes.set_ylabel("z2")
        else:
            _label_colours(axes, project(flat), labels, dataset.class_names)
            mesh = project(decoded.reshape(len(decoded), -1)).reshape(MAP_STEPS, MAP_STEPS, 2)
            for index in range(MAP_STEPS):
                axes.plot(mesh[index, :, 0], mesh[index, :, 1], color="0.3", linewidth=0.6)  # z2 fixed
                axes.plot(mesh[:, index, 0], mesh[:, index, 1], color="tab:red", linewidth=0.6)  # z1 fixed
            axes.plot(*mesh[MAP_STEPS // 2, MAP_STEPS // 2], "k*", markersize=8, label="z = 0")
            axes.set_aspect("equal", adjustable="datalim")
            axes.set_xlabel(axis_labels[0])
            axes.set_ylabel(axis_labels[1])
            _legend(axes)
        axes.set_title(f"The latent plane's {MAP_STEPS} x {MAP_STEPS} grid over [-{MAP_SPAN:g}, {MAP_SPAN:g}]^2 "
                       f"decoded\ninto data space (grey lines: z2 fixed, red: z1 fixed)", fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path)
