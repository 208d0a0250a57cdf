"""The GAN objective: the non-saturating loss on logits (the article's BCE-with-logits)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..nets import Architecture
from .base import FAMILIES, Family, LossDict, Phase


@FAMILIES.register("gan")
class GANFamily(Family):
    """Generator G: z -> x and discriminator D: x -> logit, trained in two phases per step.

    Images are shown to D in [-1, 1] and G ends in tanh (the article's generator); vectors stay linear.
    """

    name = "gan"
    capabilities = frozenset()  # no encoder, no likelihood

    def __init__(self, arch: Architecture, kind: str, data_shape, latent_dim: int, hidden: int, **_):
        super().__init__(kind, data_shape, latent_dim)
        self.nets["generator"] = arch.generator(latent_dim, self.data_shape, hidden)
        self.nets["discriminator"] = arch.discriminator(self.data_shape, hidden)

    def generate(self, n_samples: int) -> torch.Tensor:
        """Samples in the discriminator's space: (B, *data_shape), images in [-1, 1]."""
        raw = self.nets["generator"](self.noise(n_samples))
        return torch.tanh(raw) if self.kind == "image" else raw

    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 - 1 if self.kind == "image" else x

    def discriminator_loss(self, batch: torch.Tensor) -> LossDict:
        real = self.to_model_space(batch)
        with torch.no_grad():
            fake = self.generate(batch.shape[0])
        real_logits = self.nets["discriminator"](real)
        fake_logits = self.nets["discriminator"](fake)
        loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        # D's mean probability on each side, and its accuracy at telling them apart: the meaningful
        # replacement for the article's "test accuracy", which compared logits to digit labels.
        d_real = torch.sigmoid(real_logits).mean()
        d_fake = torch.sigmoid(fake_logits).mean()
        d_accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        return {"loss": loss, "d_loss": loss, "d_real": d_real, "d_fake": d_fake, "d_accuracy": d_accuracy}

    def generator_loss(self, batch: torch.Tensor) -> LossDict:
        fake_logits = self.nets["discriminator"](self.generate(batch.shape[0]))
        # Non-saturating: maximise log D(G(z)) rather than minimise log(1 - D(G(z))).
        loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        return {"loss": loss, "g_loss": loss}

    def phases(self) -> list[Phase]:
        return [
            Phase("discriminator", ("discriminator",), self.discriminator_loss),
            Phase("generator", ("generator",), self.generator_loss),
        ]

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Data-space output for given codes z (B, latent_dim): images in [0, 1], vectors in model space."""
        raw = self.nets["generator"](z)
        return (torch.tanh(raw) + 1) / 2 if self.kind == "image" else raw

    @torch.no_grad()
    def sample(self, n_samples: int) -> torch.Tensor:
        return self.from_latent(self.noise(n_samples))
