"""A stronger multilayer perceptron: three hidden layers of width `hidden`, for vectors and small images.

For images the generator normalises each hidden layer with LayerNorm, which steadies GAN training like
BatchNorm does but keeps every sample independent of the rest of its batch (and works for a batch of one). For
vectors it is a plain ReLU perceptron: LayerNorm and LeakyReLU there spread a GAN's samples over the lines and
the box between the modes of grid25 (measured in docs/guide.md). The discriminator has no normalisation, so its
gradient for one example does not depend on the others.
"""

from __future__ import annotations

from torch import nn

from ..data.base import IMAGE
from .base import ARCHS, Architecture, GaussianEncoder, kind_of, n_features, to_logits

DEPTH = 3  # hidden layers in every network
SLOPE = 0.2  # LeakyReLU slope


def hidden_layers(n_in: int, hidden: int, layer_norm: bool = False, relu: bool = False) -> list[nn.Module]:
    """DEPTH blocks of Linear [-> LayerNorm] -> LeakyReLU (or ReLU): (B, n_in) -> (B, hidden)."""
    layers: list[nn.Module] = []
    for i in range(DEPTH):
        layers.append(nn.Linear(n_in if i == 0 else hidden, hidden))
        if layer_norm:
            layers.append(nn.LayerNorm(hidden))
        layers.append(nn.ReLU() if relu else nn.LeakyReLU(SLOPE))
    return layers


class MLPArch(Architecture):
    name = "mlp"
    summary = (f"{DEPTH}-hidden-layer perceptrons (LeakyReLU; G: LayerNorm for images, plain ReLU for vectors), "
               f"for vectors and images of any size")

    def generator(self, latent_dim, data_shape, hidden):
        image = kind_of(data_shape) == IMAGE
        return self._z_to_x(latent_dim, data_shape, hidden, layer_norm=image, relu=not image)

    def discriminator(self, data_shape, hidden):
        return nn.Sequential(
            nn.Flatten(),  # (B, D) or (B, C*H*W)
            *hidden_layers(n_features(data_shape), hidden),  # (B, hidden)
            nn.Linear(hidden, 1),  # (B, 1)
            to_logits(),  # (B,)
        )

    def encoder(self, data_shape, latent_dim, hidden):
        body = nn.Sequential(
            nn.Flatten(),  # (B, D) or (B, C*H*W)
            *hidden_layers(n_features(data_shape), hidden),  # (B, hidden)
        )
        return GaussianEncoder(body, hidden, latent_dim)

    def decoder(self, latent_dim, data_shape, hidden):
        return self._z_to_x(latent_dim, data_shape, hidden, layer_norm=False)

    @staticmethod
    def _z_to_x(latent_dim, data_shape, hidden, layer_norm: bool, relu: bool = False) -> nn.Sequential:
        return nn.Sequential(
            *hidden_layers(latent_dim, hidden, layer_norm, relu),  # (B, hidden)
            nn.Linear(hidden, n_features(data_shape)),  # (B, D) or (B, C*H*W)
            nn.Unflatten(1, tuple(data_shape)),  # (B, *data_shape)
        )


ARCHS.add(MLPArch.name, MLPArch())
