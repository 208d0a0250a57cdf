"""SNGAN (Miyato et al. 2018): hinge losses, and spectral normalisation of every layer of the discriminator."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..nets import Architecture
from .base import FAMILIES, Batch, Defaults, LossDict, setting
from .gan import GANFamily, GANSettings


@dataclass(frozen=True)
class SNGANSettings(GANSettings):
    # Spectral normalisation is the discriminator's normalisation (the paper's has no BatchNorm).
    d_norm: str = setting("none", "normalisation in the discriminator besides the spectral one: none (as in the "
                                  "paper) or batch", choices=("none", "batch"))


def spectrally_normalised(net: nn.Module) -> nn.Module:
    """`net` with the weight of every Conv2d and Linear layer divided by its largest singular value (torch's
    parametrisation: one power iteration per forward pass in training; its vectors u and v are buffers, so they
    are in the state_dict and a resume continues them exactly). Changes net in place and returns it."""
    for layer in [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]:
        spectral_norm(layer)
    return net


@FAMILIES.register("sngan")
class SNGANFamily(GANFamily):
    """The architecture's discriminator, spectrally normalised, trained on the hinge loss
    E[max(0, 1 - D(real))] + E[max(0, 1 + D(fake))]; the generator minimises -E[D(fake)]."""

    name = "sngan"
    label = "SNGAN"
    Settings = SNGANSettings
    summary = "hinge loss with a spectrally normalised discriminator (Miyato et al. 2018)"
    compare_by_default = False
    style = ("tab:orange", "D")
    # Adam 2e-4 with betas (0.5, 0.999) and one discriminator step per generator step: setting C of the paper's
    # Table 1, among the settings where spectral normalisation did well. Its other choice, betas (0, 0.9), comes
    # with 5 discriminator steps per generator step (their ResNet runs, after WGAN-GP); with one step, (0.5,
    # 0.999) keeps the plain GAN's schedule, so the two differ only in loss and normalisation under a budget.
    defaults = Defaults(lr=2e-4, betas=(0.5, 0.999), batch_size=64, epochs=10, latent_dim=100)
    presets = {}
    # Vectors stay in the data's units: a hinge margin of 1 on each side asks a 1-Lipschitz critic for real and
    # fake points at least 2 apart, and standardised grid25 puts its modes 0.7 apart. Measured, 1 minute: 0 modes
    # of 25 standardised (seeds 0, 1), 4 or 5 in the data's units (seeds 0-2; docs/guide.md, "25 Gaussians").
    standardise_vectors = False
    loss_panels = (
        ("Losses", ("d_loss", "g_loss"), "hinge loss", None, None),
        ("Discriminator output", ("d_real", "d_fake"), "mean D(x) (margins at -1 and 1)", 0.0, None),
        ("Discriminator accuracy", ("d_accuracy",), "accuracy", 0.5, (-0.02, 1.02)),
    )

    def __init__(self, arch: Architecture, kind: str, data_shape, latent_dim: int, hidden: int, settings=None,
                 n_classes: int = 0):
        super().__init__(arch, kind, data_shape, latent_dim, hidden, settings, n_classes)
        self.nets["discriminator"] = spectrally_normalised(self.nets["discriminator"])

    def discriminator_loss(self, batch: Batch) -> LossDict:
        with torch.no_grad():
            fake = self.generate(len(batch))
        real_out = self.discriminate(self.to_model_space(batch.x))
        fake_out = self.discriminate(fake)
        loss = F.relu(1 - real_out).mean() + F.relu(1 + fake_out).mean()
        d_accuracy = ((real_out > 0).float().mean() + (fake_out < 0).float().mean()) / 2
        return {"loss": loss, "d_loss": loss, "d_real": real_out.mean(), "d_fake": fake_out.mean(),
                "d_accuracy": d_accuracy}

    def generator_loss(self, batch: Batch) -> LossDict:
        loss = -self.discriminate(self.generate(len(batch))).mean()
        return {"loss": loss, "g_loss": loss}
