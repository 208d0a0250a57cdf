"""WGAN-GP (Gulrajani et al. 2017): a critic without sigmoid estimates the Wasserstein distance, kept near
1-Lipschitz by a penalty on its gradient at random points between real and generated examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch

from .base import FAMILIES, Batch, Defaults, LossDict, Phase, setting
from .gan import GANFamily, GANSettings


@dataclass(frozen=True)
class WGANGPSettings(GANSettings):
    gp_weight: float = setting(10.0, "weight of the critic's gradient penalty (lambda)", minimum=0.0)
    n_critic: int = setting(5, "critic steps per generator step", minimum=1)
    # The penalty is on each example's own gradient, which BatchNorm would tie to the rest of its batch: the
    # paper's critic has no BatchNorm (Gulrajani et al. 2017, section 4).
    d_norm: str = setting("none", "normalisation in the critic: none (the gradient penalty is per example, which "
                                  "BatchNorm would break)", choices=("none",))


def mixing_weights(real: torch.Tensor) -> torch.Tensor:
    """One weight in [0, 1) per example, shaped to broadcast over the rest: (B, 1, 1, 1) for images, (B, 1) for
    vectors. (A weight per pixel, as some popular code draws it, puts the points off the lines between pairs.)"""
    return torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """E[(||grad_x critic(x)||_2 - 1)^2] over x = w real + (1 - w) fake, one w per example (`mixing_weights`
    unless given). Differentiable with respect to the critic's parameters (the graph of the gradient is kept)."""
    weights = mixing_weights(real) if weights is None else weights
    mixed = (weights * real.detach() + (1 - weights) * fake.detach()).requires_grad_(True)  # (B, *data_shape)
    (gradient,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return (gradient.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


@FAMILIES.register("wgan-gp")
class WGANGPFamily(GANFamily):
    """Critic C: x -> score (the discriminator's logit, no sigmoid), trained n_critic times per generator step
    on critic loss E[C(fake)] - E[C(real)] + gp_weight * penalty; the generator minimises -E[C(fake)]."""

    name = "wgan-gp"
    label = "WGAN-GP"
    summary = "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017)"
    Settings = WGANGPSettings
    compare_by_default = False
    style = ("tab:purple", "^")
    # The paper's Adam(1e-4, beta1 0, beta2 0.9) and batch 64. A step is one critic batch: the generator moves
    # on every n_critic-th step, so a budget in steps or images counts the critic's batches.
    defaults = Defaults(lr=1e-4, betas=(0.0, 0.9), batch_size=64, epochs=10, latent_dim=100)
    presets = {}
    loss_panels = (
        ("Losses", ("critic_loss", "g_loss"), "loss", None, None),
        ("Wasserstein estimate", ("wasserstein",), "E[C(real)] - E[C(fake)]", 0.0, None),
        ("Gradient penalty", ("gp",), "E[(||grad C|| - 1)^2]", None, None),
    )

    def critic_loss(self, batch: Batch) -> LossDict:
        with torch.no_grad():
            fake = self.generate(len(batch))
        critic = self.nets["discriminator"]
        real = self.discriminator_input(self.to_model_space(batch.x))
        fake = self.discriminator_input(fake)
        wasserstein = critic(real).mean() - critic(fake).mean()
        # The penalty is on the critic's own input: between the examples it just scored (augmented, when on).
        penalty = gradient_penalty(critic, real, fake)
        loss = -wasserstein + self.settings.gp_weight * penalty
        return {"loss": loss, "critic_loss": loss, "wasserstein": wasserstein, "gp": penalty}

    def generator_loss(self, batch: Batch) -> LossDict:
        loss = -self.discriminate(self.generate(len(batch))).mean()
        return {"loss": loss, "g_loss": loss}

    def phases(self) -> list[Phase]:
        # The loop runs a phase with every=n on steps 0, n, 2n, ...: the critic steps on every batch and the
        # generator once every n_critic batches, so the critic takes n_critic steps per generator step.
        return [
            Phase("critic", ("discriminator",), self.critic_loss),
            Phase("generator", ("generator",), self.generator_loss, every=self.settings.n_critic),
        ]
