"""Figures and reports that put GAN and VAE runs side by side."""

from .plots import (
    image_grid,
    save_image_grid,
    save_loss_plot,
    save_reconstructions,
    save_samples,
    save_scatter,
)

__all__ = [
    "image_grid",
    "save_image_grid",
    "save_loss_plot",
    "save_reconstructions",
    "save_samples",
    "save_scatter",
]
