"""Figures that put the runs of a comparison side by side: quality planes (precision-recall, density-coverage)
and metric-versus-training-time curves, every run of every family in one picture (from summary.json alone).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Optional, Sequence

from matplotlib.figure import Figure

from .plots import DPI, PANEL_SIZE, PathLike, save_figure

SPARE_MARKERS = ("^", "D", "v", "P", "X")
LEGEND_INSIDE_MAX = 3  # families whose legend a quality plane draws over the plane itself
CURVE_CLOCKS = ("seconds", "images_seen", "step", "epoch")


def _label(family: str) -> str:
    """A family's name in a legend as the report writes it: "cGAN", "VAE (GMM prior)"."""
    from ..families import family_label

    return family_label(family)


PRIOR_MARKER = "p"  # a family's runs sampled from a fitted latent prior: the family's colour, a pentagon


def _family_styles(runs: Sequence[Mapping]) -> dict[str, tuple[str, str]]:
    """entry -> (colour, marker): the style its family declares (the GAN red circles, the VAE green squares), unless
    a family earlier in the figure already has that colour; an entry sampled from a fitted prior ("vae+gmm") its
    family's colour with pentagons; the others (a family of your own) colours of the cycle no family declares,
    then any not yet in the figure."""
    from matplotlib.colors import to_hex

    from ..families import FAMILIES, split_entry

    declared = {name: FAMILIES.get(name).style for name in FAMILIES.names() if FAMILIES.get(name).style}
    cycle = [to_hex(f"C{i}") for i in range(10)]
    spare = [c for c in cycle if c not in {to_hex(colour) for colour, _ in declared.values()}] + cycle
    entries = list(dict.fromkeys(str(run.get("family")) for run in runs))
    styles: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    # families first, so that an entry of a fitted prior listed before its family does not take the colour
    for family in sorted(entries, key=lambda entry: bool(split_entry(entry)[1])):
        base, prior = split_entry(family)
        if prior and base in styles:
            styles[family] = (styles[base][0], PRIOR_MARKER)
            continue
        style = declared.get(base)
        if style is None or to_hex(style[0]) in used:
            colour = next((c for c in spare if c not in used), spare[len(styles) % len(spare)])
            style = (colour, SPARE_MARKERS[len(styles) % len(SPARE_MARKERS)])
        styles[family] = (style[0], PRIOR_MARKER) if prior else style
        used.add(to_hex(style[0]))
    return styles


def _placeholder(title: str, message: str, path: PathLike) -> Path:
    figure = Figure(figsize=PANEL_SIZE, dpi=DPI)
    axes = figure.add_subplot()
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=14, color="0.4", transform=axes.transAxes)
    axes.set_axis_off()
    axes.set_title(title)
    return save_figure(figure, path)


def _run_value(run: Mapping, metric: str) -> Optional[float]:
    value = (run.get("metrics") or {}).get(metric)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def save_quality_plane(
    runs: Sequence[Mapping],
    path: PathLike,
    x_metric: str,
    y_metric: str,
    title: str = "",
    x_label: Optional[str] = None,
    y_label: Optional[str] = None,
    reference: Optional[tuple[float, float]] = None,
) -> Path:
    """Every run as a point (x_metric, y_metric), coloured by family, with each family's mean and 95% interval.

    runs: dicts {"family", "seed", "metrics": {name: float or None}}; runs missing either metric are left out,
    and a figure with none says "not measured". reference: an ideal point drawn as a star.
    """
    from .aggregate import clip_interval, mean_interval, value_range

    points: dict[str, list[tuple[float, float, object]]] = {}
    for run in runs:
        x, y = _run_value(run, x_metric), _run_value(run, y_metric)
        if x is not None and y is not None:
            points.setdefault(str(run.get("family")), []).append((x, y, run.get("seed")))
    title = title or f"{y_metric} vs {x_metric}"
    if not points:
        return _placeholder(title, f"{x_metric} and {y_metric} not measured", path)
    styles = _family_styles(runs)
    # More than a few families: the legend (two rows each) beside the plane rather than over its points.
    beside = len(points) > LEGEND_INSIDE_MAX
    figure = Figure(figsize=(9.5 if beside else 6.0, 5.5), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    everything = [value for family_points in points.values() for x, y, _ in family_points for value in (x, y)]
    for family, family_points in points.items():
        colour, marker = styles[family]
        xs, ys = [p[0] for p in family_points], [p[1] for p in family_points]
        axes.scatter(xs, ys, s=40, color=colour, marker=marker, alpha=0.55, linewidths=0,
                     label=f"{_label(family)} runs ({len(xs)})")
        if len(family_points) <= 10:
            for x, y, seed in family_points:
                axes.annotate(f"s{seed}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7,
                              color=colour)
        # Error bars span the family's 95% interval, clipped to the metric's range (a share stays in [0, 1]).
        x_mean = clip_interval(mean_interval(xs), value_range(x_metric))
        y_mean = clip_interval(mean_interval(ys), value_range(y_metric))
        x_err, y_err = (None if interval["half_width"] is None else
                        [[interval["mean"] - interval["low"]], [interval["high"] - interval["mean"]]]
                        for interval in (x_mean, y_mean))
        axes.errorbar(x_mean["mean"], y_mean["mean"], xerr=x_err, yerr=y_err, color=colour, marker=marker,
                      markersize=11, markeredgecolor="black", capsize=4, linewidth=1.5,
                      label=f"{_label(family)} mean" + (" \u00b1 95% interval" if x_err is not None else ""))
        everything += [x_mean["low"], x_mean["high"], y_mean["low"], y_mean["high"]]
    if reference is not None:
        axes.scatter([reference[0]], [reference[1]], marker="*", s=220, color="gold", edgecolors="black",
                     zorder=5, label="ideal")
        everything += list(reference)
    unit_square = all(0.0 <= value <= 1.0 for value in everything)
    if unit_square:
        axes.set_xlim(-0.02, 1.04)
        axes.set_ylim(-0.02, 1.04)
    axes.set_xlabel(x_label or x_metric)
    axes.set_ylabel(y_label or y_metric)
    axes.grid(alpha=0.3)
    if beside:
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    else:
        axes.legend(fontsize=8, loc="best")
    axes.set_title(title)
    return save_figure(figure, path)


def save_precision_recall_plane(runs: Sequence[Mapping], path: PathLike) -> Path:
    """Precision (sharp, faithful samples) against recall (covering the data): the GAN/VAE trade-off."""
    return save_quality_plane(runs, path, "recall", "precision", title="Precision-recall plane",
                              x_label="recall: share of real data the samples cover \u2192",
                              y_label="precision: share of samples that look real \u2192", reference=(1.0, 1.0))


def save_density_coverage_plane(runs: Sequence[Mapping], path: PathLike) -> Path:
    """Density (about 1 for a perfect model) against coverage (about 0.97 with k = 5)."""
    return save_quality_plane(runs, path, "coverage", "density", title="Density-coverage plane",
                              x_label="coverage: share of real neighbourhoods reached \u2192",
                              y_label="density: real neighbourhoods per sample (1 is ideal)",
                              reference=(0.97, 1.0))


def save_metric_curves(
    runs: Sequence[Mapping],
    path: PathLike,
    metrics: Optional[Sequence[str]] = None,
    x_key: Optional[str] = None,
    max_panels: int = 9,
) -> Path:
    """Metric versus training time: one panel per metric, one line per run, coloured by family.

    runs: dicts with "family", "seed" and "curve": [{"seconds", "images_seen", metric: value, ...}, ...].
    x_key: the clock on the x axis; default "seconds" when every point has it, else "images_seen".
    metrics: which to plot; default every non-clock key with a number that the metric spec draws in curves
    (in_curves), headline metrics first (curve_rank), then the report's order; at most max_panels of them.
    """
    from ..metrics.spec import curve_sort_key, in_curves
    from .aggregate import direction_phrase, target
    from .verdict import metric_label

    curves = [(run, run.get("curve") or []) for run in runs]
    curves = [(run, curve) for run, curve in curves if curve]
    if not curves:
        return _placeholder("Metrics during training", "no curves recorded", path)
    points = [point for _, curve in curves for point in curve]
    if x_key is None:
        x_key = next((key for key in CURVE_CLOCKS if all(point.get(key) is not None for point in points)), None)
    if metrics is None:
        metrics = []
        for point in points:
            for key, value in point.items():
                if key not in CURVE_CLOCKS and key not in metrics and isinstance(value, (int, float)) \
                        and not isinstance(value, bool) and in_curves(key):
                    metrics.append(key)
        # The headline metrics first (closeness, detail, fidelity, diversity, collapse), then the report's order.
        metrics.sort(key=curve_sort_key)
    metrics = list(metrics)[:max_panels]
    if not metrics:
        return _placeholder("Metrics during training", "no metric in the curves", path)

    styles = _family_styles(runs)
    ncols = min(len(metrics), 3)
    nrows = math.ceil(len(metrics) / ncols)
    # constrained layout leaves the figure's title its own row (tight_layout let it touch the panels' titles)
    figure = Figure(figsize=(5.0 * ncols, 3.8 * nrows), dpi=DPI, layout="constrained")
    for index, metric in enumerate(metrics):
        axes = figure.add_subplot(nrows, ncols, index + 1)
        labelled = set()
        for run, curve in curves:
            family = str(run.get("family"))
            pairs = [(point.get(x_key) if x_key else position, point.get(metric))
                     for position, point in enumerate(curve)]
            pairs = [(float(x), float(y)) for x, y in pairs
                     if x is not None and y is not None and math.isfinite(float(y))]
            if not pairs:
                continue
            colour, marker = styles[family]
            axes.plot([p[0] for p in pairs], [p[1] for p in pairs], color=colour, marker=marker, markersize=3,
                      linewidth=1.3, alpha=0.8, label=None if family in labelled else _label(family))
            labelled.add(family)
        way, goal = direction_phrase(metric), target(metric)
        if goal is not None:  # what real data scores: the line a good model's curve approaches
            axes.axhline(goal, color="0.4", linestyle="--", linewidth=1, label=f"real data ({goal:g})")
        axes.set_title(metric_label(metric) + (f" ({way})" if way else ""))
        axes.set_xlabel((x_key or "evaluation").replace("_", " "))
        axes.grid(alpha=0.3)
        if labelled:
            axes.legend(fontsize=8)
    figure.suptitle("Metrics during training (one line per run)")
    return save_figure(figure, path)
