"""Sharpness: how much fine detail generated images carry compared with real ones.

The energy of the discrete Laplacian is a standard measure of focus and blur (the "variance of the
Laplacian" of Pech-Pacheco et al., ICPR 2000). Blur removes high frequencies and lowers it; pixel noise and
speckle raise it. ``sharpness_ratio`` divides the samples' mean energy by real images' mean energy, so real
images score 1, blurrier samples below 1, and noisier ones above 1: the article's "VAE samples are blurrier"
as a number, measured in pixel space, where no feature network can smooth it away.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ganvae.errors import DataError

__all__ = ["laplacian_energy", "sharpness_ratio"]

_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
_CHUNK = 4096


def laplacian_energy(images) -> np.ndarray:
    """Mean squared 4-neighbour Laplacian of each image over its interior pixels and channels.

    Args:
        images: (N, C, H, W) or (N, H, W) array or tensor of pixel values, H and W at least 3.

    Returns:
        (N,) float64 energies; 0 for a constant or linear-ramp image.
    """
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[0] == 0 or x.shape[2] < 3 or x.shape[3] < 3:
        raise DataError(f"`images` must be a non-empty (N, C, H, W) batch with H, W >= 3, got shape {tuple(x.shape)}.")
    if not torch.isfinite(x).all():
        raise DataError("`images` contain NaN or infinite values.")
    kernel = _LAPLACIAN.to(x.dtype).view(1, 1, 3, 3)
    energies = []
    for start in range(0, len(x), _CHUNK):
        chunk = x[start:start + _CHUNK]
        n, c, h, w = chunk.shape
        response = F.conv2d(chunk.reshape(n * c, 1, h, w), kernel)  # valid: interior pixels only
        energies.append(response.double().pow(2).reshape(n, -1).mean(1))
    return torch.cat(energies).numpy()


def sharpness_ratio(fake_images, real_images) -> dict:
    """Mean Laplacian energy of generated images over that of real images.

    Args:
        fake_images, real_images: image batches as ``laplacian_energy`` takes them, on the same pixel scale.

    Returns:
        {"ratio": float (1 for real data; below 1 blurrier, above 1 noisier), "fake_energy", "real_energy"}.
        The ratio is NaN when real images have no Laplacian energy (all flat).
    """
    fake, real = laplacian_energy(fake_images), laplacian_energy(real_images)
    fake_mean, real_mean = float(fake.mean()), float(real.mean())
    ratio = fake_mean / real_mean if real_mean > 0 else float("nan")
    return {"ratio": ratio, "fake_energy": fake_mean, "real_energy": real_mean}
