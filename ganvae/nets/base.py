"""The Architecture interface, the architecture registry, and the pieces every architecture shares.

An architecture builds four plain networks for one data shape. Every network takes and returns batches:

    generator      z (B, latent_dim)  -> x (B, *data_shape), raw (no output activation)
    discriminator  x (B, *data_shape) -> logits (B,)
    encoder        x (B, *data_shape) -> (mu, logvar), each (B, latent_dim)
    decoder        z (B, latent_dim)  -> x (B, *data_shape), raw (logits or means)

The families apply the output activations (tanh for GAN images, Bernoulli logits for VAE images).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data.base import IMAGE, VECTOR
from ..errors import ConfigError
from ..registry import Registry


class Architecture:
    """Builds the generator, discriminator, encoder and decoder of one architecture for a data shape.

    `data_shape` is (D,) for kind "vector" and (C, H, W) for kind "image". Subclasses set `name` and
    `summary`, override the four builders, and extend `check` when they cannot handle every shape.
    """

    name: str = ""
    summary: str = ""
    default_hidden: int = 256  # the width (or base channel count) when --hidden is not given
    # Whether `--precision auto` trains these networks in bf16 on a CPU that has it: measured faster for
    # convolutions; autocast's casts cost more than they save on small matrix products (docs/performance.md).
    bf16_pays: bool = False

    def check(self, kind: str, data_shape: tuple[int, ...]) -> None:
        """Raise a ConfigError, in one sentence, if this architecture cannot handle the data."""
        shape = tuple(data_shape)
        expected = {VECTOR: 1, IMAGE: 3}
        if kind not in expected:
            raise ConfigError(f"data kind must be {VECTOR!r} or {IMAGE!r}, not {kind!r}")
        if len(shape) != expected[kind] or not all(isinstance(n, int) and n >= 1 for n in shape):
            layout = "(D,)" if kind == VECTOR else "(C, H, W)"
            raise ConfigError(f"{kind} data must have a shape {layout} of positive whole numbers, not {shape}")

    def generator(self, latent_dim: int, data_shape: tuple[int, ...], hidden: int) -> nn.Module:
        raise NotImplementedError

    def discriminator(self, data_shape: tuple[int, ...], hidden: int) -> nn.Module:
        """x -> logits (B,). An architecture that offers normalisations of it lists them in
        `discriminator_norms` and takes `norm=` here; see `build_discriminator`."""
        raise NotImplementedError

    # The normalisations of the discriminator's hidden layers this architecture offers, besides "none".
    discriminator_norms: tuple[str, ...] = ()

    def build_discriminator(self, data_shape: tuple[int, ...], hidden: int, norm: str = "none") -> nn.Module:
        """The discriminator with the normalisation `norm` where this architecture offers it (else without: the
        MLPs have none); `norm=` is passed only when it is not "none", so an architecture of a user's own that
        offers none keeps the plain signature."""
        if norm != "none" and norm in self.discriminator_norms:
            return self.discriminator(data_shape, hidden, norm=norm)
        return self.discriminator(data_shape, hidden)

    def encoder(self, data_shape: tuple[int, ...], latent_dim: int, hidden: int) -> nn.Module:
        raise NotImplementedError

    def decoder(self, latent_dim: int, data_shape: tuple[int, ...], hidden: int) -> nn.Module:
        raise NotImplementedError

    def discriminator_parts(self, data_shape: tuple[int, ...], hidden: int, norm: str = "none"
                            ) -> tuple[nn.Module, nn.Linear]:
        """The discriminator split into a feature body x -> (B, F) and its last layer Linear(F, 1), as a
        projection discriminator needs them. Built by `build_discriminator` (the same layers and initialisation),
        then split; an architecture whose discriminator is not nn.Sequential(..., Linear(F, 1), to_logits())
        overrides this."""
        net = self.build_discriminator(data_shape, hidden, norm)
        if not (isinstance(net, nn.Sequential) and len(net) >= 3 and isinstance(net[-1], nn.Flatten)
                and isinstance(net[-2], nn.Linear) and net[-2].out_features == 1):
            raise ConfigError(f"the {self.name} architecture's discriminator does not end in Linear(F, 1) and "
                              f"to_logits(), so a conditional family cannot project labels onto its features; "
                              f"use --arch seed, mlp or conv")
        return net[:-2], net[-2]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


ARCHS: Registry[Architecture] = Registry("architecture")

AUTO = "auto"  # --arch auto: the convolutional networks where the images fit them, the MLP otherwise


def auto_arch(kind: str, data_shape: tuple[int, ...]) -> str:
    """What `--arch auto` picks for this data: conv for the square images it supports (8, 28 or 32 pixels),
    mlp for everything else."""
    try:
        ARCHS.get("conv").check(kind, tuple(data_shape))
        return "conv"
    except ConfigError:
        return "mlp"


def resolve_arch(name: str, kind: str, data_shape: tuple[int, ...]) -> str:
    return auto_arch(kind, data_shape) if name == AUTO else name


def kind_of(data_shape: tuple[int, ...]) -> str:
    """The data kind a shape implies: (D,) is a vector, (C, H, W) an image."""
    return VECTOR if len(data_shape) == 1 else IMAGE


def n_features(data_shape: tuple[int, ...]) -> int:
    """Numbers in one example: D for vectors, C * H * W for images."""
    return math.prod(data_shape)


class GaussianEncoder(nn.Module):
    """A body that maps x to features, and two linear heads for the posterior's mu and logvar.

    logvar is left unbounded here; the family decides whether to clamp it.
    """

    def __init__(self, body: nn.Module, n_body_features: int, latent_dim: int):
        super().__init__()
        self.body = body
        self.mu = nn.Linear(n_body_features, latent_dim)
        self.logvar = nn.Linear(n_body_features, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)  # (B, n_body_features)
        return self.mu(features), self.logvar(features)  # (B, latent_dim) each


def to_logits() -> nn.Module:
    """The last layer of a discriminator: (B, 1) -> (B,)."""
    return nn.Flatten(start_dim=0)
