"""Conditional networks: the plain networks of any architecture, given the class label y (B,) int64 as a
second input. They wrap what the architecture builds and change none of its layers:

    generator / decoder   (z, y) -> x         the plain network built for latent_dim + LABEL_DIM inputs,
                                              fed [z, embed(y)] (a learned label embedding concatenated to z)
    discriminator         (x, y) -> logits    projection discriminator (Miyato & Koyama 2018):
                                              psi(phi(x)) + <embed(y), phi(x)>, phi the plain network's body
                                              and psi its last Linear (`Architecture.discriminator_parts`)
    encoder               (x, y) -> (mu, logvar)   the plain encoder built for the input with the label added:
                                              a learned embedding appended to a vector's features, or broadcast
                                              over an image's pixels as LABEL_CHANNELS extra channels

`ConditionalArch(arch, n_classes)` is an Architecture that builds these, so a conditional family hands it to
the plain family's constructor and gets conditional networks in the same places (`nets["generator"]` ...).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .base import Architecture

LABEL_DIM = 16  # width of the label embedding concatenated to z, and appended to a vector encoder's input
# Extra input channels of an image encoder: the MLP encoders flatten the image, so each channel adds a full
# image's worth of inputs to their first layer; two carry a learned code per class at a small cost.
LABEL_CHANNELS = 2


class ConditionalGenerator(nn.Module):
    """(z (B, latent_dim), y (B,)) -> x (B, *data_shape): `net` (built for latent_dim + LABEL_DIM inputs) applied
    to [z, embed(y)]."""

    def __init__(self, net: nn.Module, n_classes: int, label_dim: int = LABEL_DIM):
        super().__init__()
        self.net = net
        self.embed = nn.Embedding(n_classes, label_dim)  # N(0, 1) entries: the scale of z itself

    def code(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The plain network's input: (B, latent_dim + label_dim)."""
        return torch.cat([z, self.embed(y)], dim=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(self.code(z, y))


class ProjectionDiscriminator(nn.Module):
    """(x (B, *data_shape), y (B,)) -> logits (B,) = head(body(x)) + <embed(y), body(x)> (Miyato & Koyama 2018):
    the label enters as an inner product with the features, not as an input, so D judges "is x a real
    example of class y"."""

    def __init__(self, body: nn.Module, head: nn.Linear, n_classes: int):
        super().__init__()
        self.body = body
        self.head = head
        self.embed = nn.Embedding(n_classes, head.in_features)
        bound = 1 / math.sqrt(head.in_features)  # the scale of the head's own weights (nn.Linear's default)
        nn.init.uniform_(self.embed.weight, -bound, bound)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        features = self.body(x)  # (B, F)
        return self.head(features).squeeze(1) + (self.embed(y) * features).sum(1)  # (B,)


class ConditionalEncoder(nn.Module):
    """(x (B, *data_shape), y (B,)) -> (mu, logvar): `net` (built for the data with the label added) applied to
    x with embed(y) appended: (B, D + E) for vectors, (B, C + E, H, W) for images (the code at every pixel)."""

    def __init__(self, net: nn.Module, n_classes: int, label_dim: int):
        super().__init__()
        self.net = net
        self.embed = nn.Embedding(n_classes, label_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.embed(y)  # (B, E)
        if x.dim() == 4:
            code = code[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])  # (B, E, H, W)
        return self.net(torch.cat([x, code], dim=1))


class ConditionalArch(Architecture):
    """The networks of `arch`, each given the label as a second input (see the module's docstring)."""

    def __init__(self, arch: Architecture, n_classes: int):
        self.arch = arch
        self.n_classes = int(n_classes)
        self.name = arch.name
        self.summary = f"{arch.summary}, conditioned on the class label"
        self.default_hidden = arch.default_hidden
        self.discriminator_norms = arch.discriminator_norms

    def check(self, kind, data_shape):
        self.arch.check(kind, data_shape)

    def generator(self, latent_dim, data_shape, hidden):
        return ConditionalGenerator(self.arch.generator(latent_dim + LABEL_DIM, data_shape, hidden), self.n_classes)

    def decoder(self, latent_dim, data_shape, hidden):
        return ConditionalGenerator(self.arch.decoder(latent_dim + LABEL_DIM, data_shape, hidden), self.n_classes)

    def discriminator(self, data_shape, hidden, norm: str = "none"):
        body, head = self.arch.discriminator_parts(data_shape, hidden, norm)
        return ProjectionDiscriminator(body, head, self.n_classes)

    def encoder(self, data_shape, latent_dim, hidden):
        data_shape = tuple(data_shape)
        extra = LABEL_DIM if len(data_shape) == 1 else LABEL_CHANNELS
        labelled_shape = (data_shape[0] + extra, *data_shape[1:])
        return ConditionalEncoder(self.arch.encoder(labelled_shape, latent_dim, hidden), self.n_classes, extra)
