"""Figures and reports that put GAN and VAE runs side by side."""

from .advise import NEEDS, Advice, advise, parse_needs
from .aggregate import aggregate_costs, aggregate_runs, best_family, better, compare_metric, mean_interval
from .document import write_report
from .comparison_plots import save_density_coverage_plane, save_metric_curves, save_precision_recall_plane, \
    save_quality_plane
from .plots import image_grid, save_image_grid, save_loss_plot, save_reconstructions, save_samples, save_scatter
from .summary import build_summary, read_summary, write_summary
from .verdict import verdict

__all__ = [
    "Advice",
    "NEEDS",
    "advise",
    "aggregate_costs",
    "aggregate_runs",
    "best_family",
    "better",
    "build_summary",
    "compare_metric",
    "image_grid",
    "mean_interval",
    "parse_needs",
    "read_summary",
    "save_density_coverage_plane",
    "save_image_grid",
    "save_loss_plot",
    "save_metric_curves",
    "save_precision_recall_plane",
    "save_quality_plane",
    "save_reconstructions",
    "save_samples",
    "save_scatter",
    "verdict",
    "write_report",
    "write_summary",
]
