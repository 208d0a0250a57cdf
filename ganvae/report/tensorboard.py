"""A TensorBoard view of runs, through the `tensorboard` package (the optional extra `ganvae[tensorboard]`).

A run's view (RUN/tensorboard/) holds every value of each log.csv row as a scalar of the same name, a grid of
samples at every checkpoint interval and at the end, and the resolved config as text. A comparison's view
(OUT/tensorboard/FAMILY-seedS/) holds the metric curves of its runs. log.csv and curve.json stay the record;
these event files are written from the same rows and can be deleted at any time.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import torch

from ..errors import ConfigError

TENSORBOARD_DIR = "tensorboard"
INSTALL = "pip install 'ganvae[tensorboard]'"
GRID = (4, 8)  # rows, columns of an image grid
SCATTER_POINTS = 500  # samples drawn for a vector run's scatter
SAMPLE_SEED = 0  # the same codes at every grid, so TensorBoard's slider shows one set of samples learning
EVENT_FILE = re.compile(r"^events\.out\.tfevents\.")


def summary_writer_class() -> type:
    """torch's SummaryWriter; ConfigError in one line when the tensorboard package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(f"--tensorboard needs the tensorboard package, which is not installed; "
                          f"run: {INSTALL}") from None
    return SummaryWriter


def config_text(config: Mapping[str, Any]) -> str:
    """The resolved config as a Markdown code block (TensorBoard's text tab renders Markdown)."""
    return "```\n" + json.dumps(config, indent=2, sort_keys=True) + "\n```"


class RunBoard:
    """Writes one run's view. `log_row` is the training loop's on_log callback; `close` ends the run's view.

    The writer is opened at the first log row, after the loop's first checkpoint, so a run that stops before
    it leaves no folder behind. On resume, events from steps after the checkpoint resumed from are purged, as
    log.csv's rows are. Samples are drawn from a copy of the family in eval mode, inside a forked random
    state: training, its random numbers and its checkpoints are the same with and without TensorBoard.
    """

    def __init__(self, family, run_dir: Path, config: Mapping[str, Any], sample_every: int,
                 resume_step: Optional[int] = None):
        self.writer_class = summary_writer_class()
        self.family = family
        self.log_dir = Path(run_dir) / TENSORBOARD_DIR
        self.config = dict(config)
        self.sample_every = int(sample_every)
        self.resume_step = resume_step
        self.writer = None
        self.next_samples = None  # the step at or after which the next grid is drawn
        self.sampled_at: Optional[int] = None

    def _open(self, step: int) -> None:
        # Rows after the checkpoint resumed from are dropped from log.csv; hide their events too.
        purge = self.resume_step + 1 if self.resume_step is not None else None
        self.writer = self.writer_class(str(self.log_dir), purge_step=purge)
        self.writer.add_text("config", config_text(self.config), global_step=step)
        self.next_samples = (step // self.sample_every + 1) * self.sample_every

    def log_row(self, row: Mapping[str, float]) -> None:
        """Every value of a log row as a scalar at the row's step; a sample grid once a checkpoint interval
        has passed since the last one."""
        step = int(row["step"])
        if self.writer is None:
            self._open(step)
        for name, value in row.items():
            if name != "step":
                self.writer.add_scalar(name, value, global_step=step)
        if step >= self.next_samples:
            self.add_samples(step)
            self.next_samples = (step // self.sample_every + 1) * self.sample_every
        self.writer.flush()

    def add_samples(self, step: int) -> None:
        devices = [self.family.device] if self.family.device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(SAMPLE_SEED)
            shadow = copy.deepcopy(self.family).eval()  # eval-mode sampling may record normalisation statistics
            if self.family.kind == "image":
                samples = shadow.sample(GRID[0] * GRID[1]).float().cpu().numpy()  # (N, C, H, W) in [0, 1]
            else:
                samples = shadow.sample(SCATTER_POINTS).float().cpu().numpy()  # (N, D) in model space
        if self.family.kind == "image":
            from ..report.plots import image_grid

            grid = image_grid(samples, nrow=GRID[1])  # uint8 (H, W) or (H, W, 3)
            self.writer.add_image("samples", grid, global_step=step, dataformats="HW" if grid.ndim == 2 else "HWC")
        else:
            self.writer.add_figure("samples", scatter_figure(samples), global_step=step)
        self.sampled_at = step

    def close(self, final_step: Optional[int] = None) -> None:
        """At the end of training (final_step: the step it reached) draw the last grid; always close the file."""
        if self.writer is None:
            return
        try:
            if final_step is not None and self.sampled_at != final_step:
                self.add_samples(final_step)
        finally:
            self.writer.close()


def scatter_figure(points):
    """A matplotlib figure of the first two features of (N, D) points."""
    import numpy as np
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 4), dpi=80)
    axes = figure.add_subplot()
    y = points[:, 1] if points.shape[1] > 1 else np.zeros(len(points))
    axes.scatter(points[:, 0], y, s=4, alpha=0.6)
    axes.set_title(f"{len(points)} samples" + (" (features 1, 2)" if points.shape[1] > 2 else ""), fontsize=9)
    figure.tight_layout()
    return figure


def write_comparison_curves(out: Path, runs: Sequence[Mapping[str, Any]]) -> Path:
    """Each run's metric curve into OUT/tensorboard/FAMILY-seedS, as scalars `metrics/NAME` against the images
    the run had seen (every run of a comparison has the same image budget). Event files an earlier call wrote
    there are replaced, so a rerun does not show the points twice; other files are left alone."""
    writer_class = summary_writer_class()
    root = Path(out) / TENSORBOARD_DIR
    for run in runs:
        log_dir = root / f"{run['family']}-seed{run['seed']}"
        if log_dir.is_dir():
            for old in log_dir.iterdir():
                if old.is_file() and EVENT_FILE.match(old.name):
                    old.unlink()
        writer = writer_class(str(log_dir))
        try:
            for point in run.get("curve") or []:
                for name, value in point.items():
                    if name not in ("seconds", "images_seen", "step") and isinstance(value, (int, float)) \
                            and not isinstance(value, bool):
                        writer.add_scalar(f"metrics/{name}", value, global_step=int(point["images_seen"]))
                writer.add_scalar("metrics/seconds", point["seconds"], global_step=int(point["images_seen"]))
        finally:
            writer.close()
    return root
