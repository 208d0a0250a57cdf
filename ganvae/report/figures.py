"""The figures of one run folder: samples, losses and (VAE) reconstructions."""

from __future__ import annotations

from pathlib import Path

from .plots import save_loss_plot, save_reconstructions, save_samples

N_GRID = 100  # samples in an image grid (10 x 10)
N_SCATTER = 2000  # points in a 2-D scatter

def write_run_figures(model, dataset, run_dir: Path) -> dict[str, Path]:
    """Write samples.png, losses.png and, for a VAE, reconstructions.png; return their paths.

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
    if model.family_name == "vae":
        originals = real[:8] if kind == "image" else real
        written["reconstructions"] = save_reconstructions(
            originals, model.reconstruct(originals), run_dir / "reconstructions.png")
    return written

def describe(paths: dict[str, Path]) -> str:
    return ", ".join(f"{name}: {path}" for name, path in paths.items())

__all__ = ["write_run_figures", "describe"]
