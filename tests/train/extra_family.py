"""A family added in one file, as a user or a later issue would add one: the least-squares GAN (Mao et al.
2017) with a setting of its own and a counter kept by the after-step hook. Importing this module registers it
as "lsgan"; nothing else in ganvae is touched. tests/train/test_extra_family.py drives it through every command.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganvae.families import FAMILIES, Batch, Defaults, setting
from ganvae.families.gan import GANFamily, GANSettings


@dataclass(frozen=True)
class LSGANSettings(GANSettings):  # the settings every GAN family has (--ema-decay ...), and its own
    real_target: float = setting(1.0, "the discriminator's target for real examples (b in the LSGAN paper)",
                                 minimum=0.0)


class LSGANFamily(GANFamily):
    """D and G minimise squared errors: D pushes real outputs to `real_target` and fakes to 0; G pushes fakes to
    `real_target`."""

    name = "lsgan"
    label = "LSGAN"
    summary = "least-squares GAN (Mao et al. 2017), a test of the family contract"
    Settings = LSGANSettings
    defaults = Defaults(lr=2e-4, betas=(0.5, 0.999), batch_size=64, epochs=5, latent_dim=32)
    presets = {}
    compare_by_default = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # How many generator updates ran: state that a checkpoint must carry for an exact resume.
        self.register_buffer("generator_updates", torch.zeros((), dtype=torch.int64))

    def discriminator_loss(self, batch: Batch):
        with torch.no_grad():
            fake = self.generate(len(batch))
        real_out = self.nets["discriminator"](self.to_model_space(batch.x))
        fake_out = self.nets["discriminator"](fake)
        loss = 0.5 * ((real_out - self.settings.real_target).pow(2).mean() + fake_out.pow(2).mean())
        return {"loss": loss, "d_loss": loss, "d_real": real_out.mean(), "d_fake": fake_out.mean()}

    def generator_loss(self, batch: Batch):
        fake_out = self.nets["discriminator"](self.generate(len(batch)))
        loss = 0.5 * (fake_out - self.settings.real_target).pow(2).mean()
        return {"loss": loss, "g_loss": loss}

    def after_step(self, phase, step):
        if phase.name == "generator":
            self.generator_updates += 1


def register() -> None:
    if "lsgan" not in FAMILIES:
        FAMILIES.add(LSGANFamily.name, LSGANFamily)


def unregister() -> None:
    FAMILIES.remove(LSGANFamily.name)
