"""The figures of one run folder: samples, losses, latent interpolations and (VAE) reconstructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .plots import save_image_grid, save_loss_plot, save_reconstructions, save_samples

N_GRID = 100  # samples in an image grid (10 x 10)
N_SCATTER = 2000  # points in a 2-D scatter
N_PAIRS, N_STEPS = 6, 10  # latent interpolations: rows and columns


@torch.no_grad()
def latent_interpolations(model, real: np.ndarray, n_pairs: int = N_PAIRS, n_steps: int = N_STEPS,
                          seed: int = 0) -> np.ndarray:
    """Decode straight lines in latent space, (n_pairs * n_steps, *shape) in data space, row by row.

    A family with an encoder (the VAE): from the code of one real example to another's (posterior means);
    without one (the GAN): between two prior draws.
    """
    family = model.family_
    generator = torch.Generator().manual_seed(seed)
    if "encoder" in family.capabilities:
        # With fewer than 2 * n_pairs examples, some are used twice.
        picks = torch.randint(len(real), (2 * n_pairs,), generator=generator).numpy() if len(real) < 2 * n_pairs \
            else torch.randperm(len(real), generator=generator)[: 2 * n_pairs].numpy()
        codes = torch.from_numpy(model.encode(real[picks]))
    else:
        codes = torch.randn(2 * n_pairs, family.latent_dim, generator=generator)
    start, end = codes[:n_pairs], codes[n_pairs:]
    weights = torch.linspace(0, 1, n_steps).view(1, n_steps, 1)
    path = (start[:, None] * (1 - weights) + end[:, None] * weights).reshape(-1, family.latent_dim)
    was_training = family.training
    family.eval()
    out = family.from_latent(path.to(family.device)).float().cpu().numpy()
    family.train(was_training)
    return model._to_original(out)


def write_run_figures(model, dataset, run_dir: Path) -> dict[str, Path]:
    """Write samples.png, losses.png, interpolations.png (images) and, for a family with an encoder (the VAE),
    reconstructions.png.

    model: a fitted ganvae.GAN or ganvae.VAE; dataset: the Dataset it was fitted on.
    """
    from ..train.run import RunFolder

    run_dir = Path(run_dir)
    kind = dataset.kind
    real = dataset.to_original(dataset.x[:N_SCATTER].numpy())
    n = N_GRID if kind == "image" else min(N_SCATTER, len(dataset))
    written = {
        "samples": save_samples(model.sample(n, seed=0), run_dir / "samples.png", real=real, kind=kind),
        "losses": save_loss_plot(RunFolder(run_dir).read_log(), run_dir / "losses.png", family=model.family_name),
    }
    if kind == "image":
        written["interpolations"] = save_image_grid(
            latent_interpolations(model, real), run_dir / "interpolations.png", nrow=N_STEPS)
    if "encoder" in model.family_.capabilities:
        originals = real[:8] if kind == "image" else real
        written["reconstructions"] = save_reconstructions(
            originals, model.reconstruct(originals), run_dir / "reconstructions.png")
    return written
