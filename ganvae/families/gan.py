"""The GAN objective: the non-saturating loss on logits (the article's BCE-with-logits)."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..nets import Architecture
from ..nets.conv import record_reference_statistics
from .base import FAMILIES, Batch, Defaults, Family, LossDict, Phase


@FAMILIES.register("gan")
class GANFamily(Family):
    """Generator G: z -> x and discriminator D: x -> logit, trained in two phases per step.

    Images are shown to D in [-1, 1] and G ends in tanh (the article's generator); vectors stay linear.
    """

    name = "gan"
    label = "GAN"
    summary = "generative adversarial network, non-saturating loss (Goodfellow et al. 2014)"
    capabilities = frozenset({"adversarial"})
    networks = ("generator", "discriminator")
    compare_by_default = True
    style = ("tab:red", "o")
    defaults = Defaults(lr=2e-4, betas=(0.5, 0.999), batch_size=128, epochs=10, latent_dim=100)
    # The article's MLP GAN: noise 100, hidden 128, Adam 2e-4 (0.5, 0.999), batch 128, 20 epochs.
    presets = {"seed": dict(latent_dim=100, hidden=128, lr=2e-4, betas=(0.5, 0.999), batch_size=128, epochs=20)}
    loss_panels = (
        ("Losses", ("d_loss", "g_loss"), "loss", None, None),
        ("Discriminator output", ("d_real", "d_fake", "d_accuracy"), "mean D(x) / accuracy", 0.5, (-0.02, 1.02)),
    )
    # Sampling in eval mode normalises the generator's BatchNorm (conv) by the statistics of this fixed batch of
    # codes, recorded once per set of weights: a sample is then a function of its own code only.
    REFERENCE_CODES = 1024
    REFERENCE_SEED = 0

    def __init__(self, arch: Architecture, kind: str, data_shape, latent_dim: int, hidden: int, settings=None,
                 n_classes: int = 0):
        super().__init__(arch, kind, data_shape, latent_dim, hidden, settings, n_classes)
        self.nets["generator"] = arch.generator(latent_dim, self.data_shape, hidden)
        self.nets["discriminator"] = arch.discriminator(self.data_shape, hidden)
        self._reference_weights: tuple = ()  # which weights the recorded statistics belong to

    def generate(self, n_samples: int) -> torch.Tensor:
        """Samples in the discriminator's space: (B, *data_shape), images in [-1, 1]."""
        raw = self.nets["generator"](self.noise(n_samples))
        return torch.tanh(raw) if self.kind == "image" else raw

    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 - 1 if self.kind == "image" else x

    def discriminator_loss(self, batch: Batch) -> LossDict:
        real = self.to_model_space(batch.x)
        with torch.no_grad():
            fake = self.generate(len(batch))
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

    def generator_loss(self, batch: Batch) -> LossDict:
        fake_logits = self.nets["discriminator"](self.generate(len(batch)))
        # Non-saturating: maximise log D(G(z)) rather than minimise log(1 - D(G(z))).
        loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        return {"loss": loss, "g_loss": loss}

    def phases(self) -> list[Phase]:
        return [
            Phase("discriminator", ("discriminator",), self.discriminator_loss),
            Phase("generator", ("generator",), self.generator_loss),
        ]

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Data-space output for given codes z (B, latent_dim): images in [0, 1], vectors in model space.
        In eval mode each output depends on its own code only (see `_fix_normalisation`)."""
        # (Not while torch traces or exports this function: the statistics are fixed before, see ganvae.export.)
        if not self.training and not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            self._fix_normalisation()
        raw = self.nets["generator"](z)
        return (torch.tanh(raw) + 1) / 2 if self.kind == "image" else raw

    @torch.no_grad()
    def sample(self, n_samples: int, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.from_latent(self.noise(n_samples))

    def _fix_normalisation(self) -> None:
        """Record the generator's BatchNorm statistics on the reference codes, unless already done for these
        weights (an optimiser step, load_state_dict or a move to another device changes the key)."""
        generator = self.nets["generator"]
        weights = tuple((p.data_ptr(), p._version) for p in generator.parameters())
        if weights == self._reference_weights:
            return
        codes = torch.randn(self.REFERENCE_CODES, self.latent_dim,
                            generator=torch.Generator().manual_seed(self.REFERENCE_SEED))  # (R, latent_dim)
        record_reference_statistics(generator, codes.to(self.device))
        self._reference_weights = weights
