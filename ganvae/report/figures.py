"""The figures of one run folder: samples, losses, latent interpolations and (VAE) reconstructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .plots import save_image_grid, save_loss_plot, save_reconstructions, save_samples

N_GRID = 100  # samples in an image grid (10 x 10)
N_SCATTER = 2000  # points in a 2-D scatter
N_PAIRS, N_STEPS = 6, 10  # latent interpolations: rows and columns
PER_CLASS = 10  # a conditional family's samples.png: one row of this many samples per class
MAX_CLASS_ROWS = 20  # ... for at most this many classes (the first ones)


def class_rows(n_classes: int) -> np.ndarray:
    """The labels of a per-class grid: PER_CLASS of class 0, then of class 1, ..., (rows * PER_CLASS,)."""
    return np.repeat(np.arange(min(n_classes, MAX_CLASS_ROWS)), PER_CLASS)


@torch.no_grad()
def latent_interpolations(model, real: np.ndarray, n_pairs: int = N_PAIRS, n_steps: int = N_STEPS,
                          seed: int = 0, labels=None) -> np.ndarray:
    """Decode straight lines in latent space, (n_pairs * n_steps, *shape) in data space, row by row.

    A family with an encoder: from the code of one real example to another's (posterior means); any other:
    between two prior draws. A conditional family holds one class along each row: the class of the row's first
    example (labels (N,) of `real`, which a conditional encoder needs), or without an encoder row i's class i.
    """
    family = model.family_
    conditional = "conditional" in model.capabilities
    generator = torch.Generator().manual_seed(seed)
    row_labels = None
    if "encoder" in model.capabilities:
        # With fewer than 2 * n_pairs examples, some are used twice.
        picks = torch.randint(len(real), (2 * n_pairs,), generator=generator).numpy() if len(real) < 2 * n_pairs \
            else torch.randperm(len(real), generator=generator)[: 2 * n_pairs].numpy()
        picked_labels = None if not conditional else np.asarray(labels)[picks]
        codes = torch.from_numpy(model.encode(real[picks], labels=picked_labels))
        if conditional:
            row_labels = torch.from_numpy(picked_labels[:n_pairs]).long()
    else:
        codes = torch.randn(2 * n_pairs, family.latent_dim, generator=generator)
        if conditional:
            row_labels = torch.arange(n_pairs) % family.n_classes
    start, end = codes[:n_pairs], codes[n_pairs:]
    weights = torch.linspace(0, 1, n_steps).view(1, n_steps, 1)
    path = (start[:, None] * (1 - weights) + end[:, None] * weights).reshape(-1, family.latent_dim)
    given = {} if row_labels is None else {"labels": row_labels.repeat_interleave(n_steps).to(family.device)}
    was_training = family.training
    family.eval()
    out = family.from_latent(path.to(family.device), **given).float().cpu().numpy()
    family.train(was_training)
    return model._to_original(out)


def write_run_figures(model, dataset, run_dir: Path) -> dict[str, Path]:
    """Write samples.png, losses.png, interpolations.png (images) and, for a family with an encoder,
    reconstructions.png and (unconditional) samples-gmm.png, its samples with codes from the mixture fitted to
    the encoded training data. A conditional family's samples.png of images has one row per class.

    model: a fitted ganvae.Model; dataset: the Dataset it was fitted on.
    """
    from ..train.run import RunFolder

    run_dir = Path(run_dir)
    kind = dataset.kind
    real = dataset.to_original(dataset.x[:N_SCATTER].numpy())
    real_labels = None if dataset.y is None else dataset.y[:N_SCATTER].numpy()
    conditional = "conditional" in model.capabilities
    if conditional and kind == "image":
        labels = class_rows(model.family_.n_classes)
        sample_picture = save_image_grid(model.sample(len(labels), seed=0, labels=labels), run_dir / "samples.png",
                                         nrow=PER_CLASS)
    else:
        n = N_GRID if kind == "image" else min(N_SCATTER, len(dataset))
        sample_picture = save_samples(model.sample(n, seed=0), run_dir / "samples.png", real=real, kind=kind)
    written = {
        "samples": sample_picture,
        "losses": save_loss_plot(RunFolder(run_dir).read_log(), run_dir / "losses.png", family=model.family_name),
    }
    if kind == "image":
        written["interpolations"] = save_image_grid(
            latent_interpolations(model, real, labels=real_labels), run_dir / "interpolations.png", nrow=N_STEPS)
    if "encoder" in model.capabilities and not conditional:
        # The same weights sampled from the Gaussian mixture fitted to the encoded training data (Ghosh et al.
        # 2020), as `compare` reports them beside the N(0, I) samples; the mixture is cached for sample/evaluate.
        model.latent_prior(data=dataset)
        written["samples-gmm"] = save_samples(model.sample(n, seed=0, prior="gmm"), run_dir / "samples-gmm.png",
                                              real=real, kind=kind)
    if "encoder" in model.capabilities:
        originals = real[:8] if kind == "image" else real
        given = real_labels[:len(originals)] if conditional else None
        written["reconstructions"] = save_reconstructions(
            originals, model.reconstruct(originals, labels=given), run_dir / "reconstructions.png")
    return written
