"""The article's networks, made to run on any data shape.

The article's generator reshaped its output to 128x4x4, which is not an image of the data; here every
network flattens its input and reshapes its output to the data's own shape. The layer sizes are otherwise
the article's: with noise 100 and hidden 128 on MNIST, G is 100 -> 128 -> 784 and D is 784 -> 128 -> 128 -> 1;
with latent 2 and hidden 4 on make_circles, the encoder is 2 -> 4 -> (2, 2) and the decoder 2 -> 4 -> 2.
"""

from __future__ import annotations

from torch import nn

from .base import ARCHS, Architecture, GaussianEncoder, n_features, to_logits


class SeedArch(Architecture):
    name = "seed"
    summary = "the article's one-hidden-layer networks (two in D), for vectors and images of any size"

    def generator(self, latent_dim, data_shape, hidden):
        return nn.Sequential(
            nn.Linear(latent_dim, hidden),  # (B, hidden)
            nn.ReLU(),
            nn.Linear(hidden, n_features(data_shape)),  # (B, D) or (B, C*H*W)
            nn.Unflatten(1, tuple(data_shape)),  # (B, *data_shape)
        )

    def discriminator(self, data_shape, hidden):
        return nn.Sequential(
            nn.Flatten(),  # (B, D) or (B, C*H*W)
            nn.Linear(n_features(data_shape), hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),  # (B, 1)
            to_logits(),  # (B,)
        )

    def encoder(self, data_shape, latent_dim, hidden):
        body = nn.Sequential(
            nn.Flatten(),  # (B, D) or (B, C*H*W)
            nn.Linear(n_features(data_shape), hidden),
            nn.ReLU(),
        )
        return GaussianEncoder(body, hidden, latent_dim)

    def decoder(self, latent_dim, data_shape, hidden):
        # The article's VAE decoder has the generator's shape.
        return self.generator(latent_dim, data_shape, hidden)


ARCHS.add(SeedArch.name, SeedArch())
