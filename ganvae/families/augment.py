"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) of the images a discriminator sees.

With a few hundred images a large discriminator memorises the training set and a GAN collapses (Zhao et al.
2020, with BigGAN and StyleGAN2); augmenting only the
real images would teach the generator the augmentations. DiffAugment applies the same random transformations to
real and generated images before the discriminator, in every phase, through differentiable operations, so the
generator's gradient passes through them. As in the authors' code, the transformations act on the
discriminator's input (images in [-1, 1], so zero padding and cutout are mid-grey), each example drawing its own:

- colour: brightness + U(-0.5, 0.5); saturation (deviation from the channel mean) x U(0, 2); contrast (deviation
  from the image mean) x U(0.5, 1.5);
- translation by up to 1/8 of the side in each direction, in whole pixels, with zero padding;
- cutout: a square of half the side set to zero, centred anywhere in the image (it may stick out of it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TRANSLATION_RATIO = 1 / 8  # the largest shift, as a share of the image's side
CUTOUT_RATIO = 1 / 2  # the side of the cut-out square, as a share of the image's side
# "auto" augments a training set of fewer images than this: at present none. Measured (`python
# benchmarks/augment_threshold.py`, docs/performance.md): on Fashion-MNIST subsets of the default conv GAN,
# augmentation raised the FID at every size, 40 to 4,000 images (1.17x at 40, 1.30x at 64, 1.48x at 100, 1.91x at
# 250, 2.15x at 500 images after 3,000 steps, 2 seeds each; 1.33x at 100 and 1.76x at 250 after 12,000 steps),
# the ratio shrinking with the set but above 1 down to 40, the smallest set a batch of 32 trains on. It was 2,000
# (a guess), then 500 (measured from 500 up only).
AUTO_AUGMENT_BELOW = 0


def _per_example(x: torch.Tensor) -> torch.Tensor:
    """One uniform draw in [0, 1) per example, (B, 1, 1, 1)."""
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def colour(x: torch.Tensor) -> torch.Tensor:
    """Random brightness, saturation and contrast, (B, C, H, W) -> (B, C, H, W)."""
    x = x + (_per_example(x) - 0.5)
    channel_mean = x.mean(dim=1, keepdim=True)  # (B, 1, H, W)
    x = (x - channel_mean) * (_per_example(x) * 2) + channel_mean
    image_mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return (x - image_mean) * (_per_example(x) + 0.5) + image_mean


def _pixel_grid(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Indices (example, row, column), each (B, H, W)."""
    batch, _, height, width = x.shape
    return torch.meshgrid(torch.arange(batch, device=x.device), torch.arange(height, device=x.device),
                          torch.arange(width, device=x.device), indexing="ij")


def translation(x: torch.Tensor, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    """Shift each image by whole pixels, up to round(ratio * side) each way, filling with zeros; (B, C, H, W)."""
    batch, _, height, width = x.shape
    max_dy, max_dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (batch, 1, 1), device=x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (batch, 1, 1), device=x.device)
    examples, rows, columns = _pixel_grid(x)
    # Read pixel (row + dy, column + dx) of the image padded by one zero pixel: outside the image reads zero.
    rows = (rows + dy + 1).clamp(0, height + 1)
    columns = (columns + dx + 1).clamp(0, width + 1)
    padded = F.pad(x, [1, 1, 1, 1])  # (B, C, H + 2, W + 2)
    return padded.permute(0, 2, 3, 1)[examples, rows, columns].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Set a square of side round(ratio * side) to zero in each image, at a random centre; (B, C, H, W)."""
    batch, _, height, width = x.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    centre_y = torch.randint(0, height + (1 - size_y % 2), (batch, 1, 1), device=x.device)
    centre_x = torch.randint(0, width + (1 - size_x % 2), (batch, 1, 1), device=x.device)
    examples, rows, columns = _pixel_grid(x)
    rows = (rows[:, :size_y, :size_x] + centre_y - size_y // 2).clamp(0, height - 1)
    columns = (columns[:, :size_y, :size_x] + centre_x - size_x // 2).clamp(0, width - 1)
    mask = torch.ones(batch, height, width, dtype=x.dtype, device=x.device)
    mask[examples[:, :size_y, :size_x], rows, columns] = 0
    return x * mask.unsqueeze(1)


def diff_augment(x: torch.Tensor) -> torch.Tensor:
    """Colour, translation and cutout, in that order, with fresh random draws per example: (B, C, H, W) images
    in the discriminator's space -> the same shape. Differentiable with respect to x."""
    return cutout(translation(colour(x)))
