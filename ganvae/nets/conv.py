"""DCGAN-style convolutional networks for square images of 8x8, 28x28 or 32x32 pixels, any channel count.

`hidden` is the base channel width b. Every network works at two resolutions below the image, s = size / 4
(7 for 28, 8 for 32, 2 for 8):

    generator / decoder        z -> Linear -> (2b, s, s) -> ConvT -> (b, 2s, 2s) -> ConvT -> (C, 4s, 4s)
    discriminator / encoder    x (C, 4s, 4s) -> Conv -> (b/2, 2s, 2s) -> Conv -> (b, s, s) -> Linear -> heads

Kernels are 4x4 with stride 2 and padding 1, so each layer exactly halves or doubles the side. The
discriminator and encoder have half the generator's channels: the mirror image (b, 2b) makes a GAN step on
28x28 with b = 64 and a batch of 128 take about 0.12 s instead of 0.08 s on two CPU cores, and in a short
MNIST run it gave no better samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.base import IMAGE
from ..errors import ConfigError
from .base import ARCHS, Architecture, GaussianEncoder, kind_of, to_logits

SIZES = (8, 28, 32)
SLOPE = 0.2  # LeakyReLU slope in the discriminator and encoder
SUPPORTED = "--arch conv needs images of 8x8, 28x28 or 32x32 pixels"


class ReferenceBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm that normalises by the batch's own statistics in training (nn.BatchNorm2d without running
    averages, so training is unchanged), and in evaluation by statistics recorded once on a fixed reference
    batch (`record_reference_statistics`), so that a generated sample depends on its own code only, not on
    the codes drawn with it. Without a record, evaluation uses the batch's statistics as in training."""

    def __init__(self, channels: int):
        super().__init__(channels, track_running_stats=False)
        # Derived from the weights, never saved: not part of the state_dict.
        self.register_buffer("reference_mean", None, persistent=False)  # (C,)
        self.register_buffer("reference_var", None, persistent=False)  # (C,)
        self.recording = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (B, C, H, W)
        if self.recording:
            self.reference_mean = x.mean(dim=(0, 2, 3)).detach()
            self.reference_var = x.var(dim=(0, 2, 3), unbiased=False).detach()  # what training normalises by
        if self.training or self.reference_mean is None:
            return super().forward(x)
        return F.batch_norm(x, self.reference_mean, self.reference_var, self.weight, self.bias, training=False,
                            momentum=0.0, eps=self.eps)


@torch.no_grad()
def record_reference_statistics(net: nn.Module, reference_input: torch.Tensor) -> bool:
    """Run `net` on reference_input (B, ...) with training-mode BatchNorm and keep each ReferenceBatchNorm2d's
    batch mean and variance for evaluation. Returns False (and runs nothing) when net has no such layer."""
    layers = [m for m in net.modules() if isinstance(m, ReferenceBatchNorm2d)]
    if not layers:
        return False
    was_training = net.training
    for layer in layers:
        layer.recording = True
    try:
        net.train()
        net(reference_input)
    finally:
        for layer in layers:
            layer.recording = False
        net.train(was_training)
    return True


def batch_norm(channels: int) -> nn.BatchNorm2d:
    # Batch statistics in training; in evaluation those of a fixed reference batch (see ReferenceBatchNorm2d).
    return ReferenceBatchNorm2d(channels)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02), zero biases."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ConvArch(Architecture):
    name = "conv"
    summary = "DCGAN-style convolutional networks for 8x8, 28x28 and 32x32 images"
    default_hidden = 64
    bf16_pays = True

    def check(self, kind, data_shape):
        super().check(kind, data_shape)
        if kind != IMAGE:
            raise ConfigError(f"{SUPPORTED}; this data is vectors of {data_shape[0]} features: use --arch mlp")
        _, height, width = data_shape
        if height != width or height not in SIZES:
            raise ConfigError(f"{SUPPORTED}; this data is images of {height}x{width} pixels: "
                              f"resize them with --image-size 32 or 28, or use --arch mlp")

    def generator(self, latent_dim, data_shape, hidden):
        return self._z_to_x(latent_dim, data_shape, hidden, normalise=True)

    discriminator_norms = ("batch",)

    def discriminator(self, data_shape, hidden, norm: str = "none"):
        side = self._side(data_shape)
        net = nn.Sequential(
            *self._x_to_features(data_shape, hidden, batch_norm=norm == "batch"),  # (B, b*s*s)
            nn.Linear(hidden * side * side, 1),  # (B, 1)
            to_logits(),  # (B,)
        )
        net.apply(dcgan_init)
        return net

    def encoder(self, data_shape, latent_dim, hidden):
        side = self._side(data_shape)
        body = nn.Sequential(*self._x_to_features(data_shape, hidden))  # (B, b*s*s)
        net = GaussianEncoder(body, hidden * side * side, latent_dim)
        net.apply(dcgan_init)
        return net

    def decoder(self, latent_dim, data_shape, hidden):
        # No BatchNorm: a decoder's likelihood of x must not depend on the other codes in its batch.
        return self._z_to_x(latent_dim, data_shape, hidden, normalise=False)

    def _side(self, data_shape) -> int:
        """s, the side of the smallest feature map; checks the shape first."""
        self.check(kind_of(data_shape), data_shape)
        return data_shape[-1] // 4

    def _z_to_x(self, latent_dim, data_shape, hidden, normalise: bool) -> nn.Sequential:
        side = self._side(data_shape)
        channels = data_shape[0]

        def norm_relu(width: int) -> list[nn.Module]:
            return [batch_norm(width), nn.ReLU()] if normalise else [nn.ReLU()]

        # Biases before a BatchNorm would be cancelled by it, so those layers have none.
        net = nn.Sequential(
            nn.Linear(latent_dim, 2 * hidden * side * side, bias=not normalise),  # (B, 2b*s*s)
            nn.Unflatten(1, (2 * hidden, side, side)),  # (B, 2b, s, s)
            *norm_relu(2 * hidden),
            nn.ConvTranspose2d(2 * hidden, hidden, 4, stride=2, padding=1, bias=not normalise),  # (B, b, 2s, 2s)
            *norm_relu(hidden),
            nn.ConvTranspose2d(hidden, channels, 4, stride=2, padding=1),  # (B, C, 4s, 4s)
        )
        net.apply(dcgan_init)
        return net

    @staticmethod
    def _x_to_features(data_shape, hidden, batch_norm: bool = False) -> list[nn.Module]:
        """Two strided convolutions. batch_norm (a GAN's discriminator, as in DCGAN): BatchNorm after the second,
        over the batch it is shown (real or generated, each on its own), never over running averages; the
        encoder has none, since an encoding must not depend on the other examples in its batch."""
        channels = data_shape[0]
        narrow = max(1, hidden // 2)
        norm = [nn.BatchNorm2d(hidden, track_running_stats=False)] if batch_norm else []
        return [
            nn.Conv2d(channels, narrow, 4, stride=2, padding=1),  # (B, b/2, 2s, 2s)
            nn.LeakyReLU(SLOPE),
            nn.Conv2d(narrow, hidden, 4, stride=2, padding=1, bias=not batch_norm),  # (B, b, s, s)
            *norm,
            nn.LeakyReLU(SLOPE),
            nn.Flatten(),  # (B, b*s*s)
        ]


ARCHS.add(ConvArch.name, ConvArch())
