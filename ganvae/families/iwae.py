"""The importance-weighted autoencoder (Burda et al. 2016): the VAE's networks trained on the k-sample bound.

For each x, k codes z_1..z_k are drawn from q(z|x) and weighted by w_i = p(x|z_i) p(z_i) / q(z_i|x); the bound
log (1/k) sum_i w_i is a lower bound on log p(x) that rises with k (k = 1 is the one-sample ELBO). Training on it
lets the encoder be less exact than the ELBO demands, which usually gives more active latent dimensions and a
better likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .base import FAMILIES, Batch, LossDict, Phase, setting
from .vae import VAEFamily, gaussian_kl

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class IWAESettings:
    k: int = setting(5, "importance samples per example in the IWAE bound (k = 1 is the ELBO)", minimum=1)


@FAMILIES.register("iwae")
class IWAEFamily(VAEFamily):
    """A VAE (same networks, likelihood and sampling) whose training objective is the k-sample IWAE bound."""

    name = "iwae"
    label = "IWAE"
    summary = "importance-weighted autoencoder, k-sample bound (Burda et al. 2016)"
    Settings = IWAESettings
    compare_by_default = False
    style = ("tab:olive", "D")
    loss_panels = (
        ("Negative bounds", ("neg_iw_bound", "neg_elbo"), "-bound per example (nats; IWAE below ELBO)", None, None),
        ("Reconstruction", ("reconstruction",), "-log p(x|z) per example (nats)", None, None),
        ("KL divergence", ("kl",), "KL(q(z|x) || p(z)) per example (nats)", None, None),
    )

    def log_weights(self, x: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
        """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for k reparameterised codes per example, (k, B),
        with log p(x|z_i) (k, B) and the encoder's mu, logvar (B, latent_dim)."""
        mu, logvar = self.encode(x)
        eps = torch.randn((k, *mu.shape), device=mu.device, dtype=mu.dtype)  # (k, B, latent_dim)
        z = mu + eps * (0.5 * logvar).exp()
        raw = self.decode(z.flatten(0, 1))  # (k * B, *data_shape)
        repeated = x.unsqueeze(0).expand(k, *x.shape).flatten(0, 1)
        log_px = self.log_likelihood(repeated, raw).view(k, -1)
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        log_qz = -0.5 * (eps.pow(2) + LOG_2PI + logvar).sum(-1)  # (z - mu)^2 / sigma^2 = eps^2
        return {"log_w": log_px + log_pz - log_qz, "log_px": log_px, "mu": mu, "logvar": logvar}

    def iw_bound(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """The k-sample bound log (1/k) sum_i w_i per example, (B,), nats."""
        return torch.logsumexp(self.log_weights(x, k)["log_w"], 0) - math.log(k)

    def iw_loss(self, batch: Batch) -> LossDict:
        k = int(self.settings.k)
        terms = self.log_weights(batch.x, k)
        bound = torch.logsumexp(terms["log_w"], 0) - math.log(k)
        loss = -bound.mean()
        # For the log: the ELBO estimated from the same k codes (its gap to the bound is what IWAE gains), and
        # its two usual terms (reconstruction averaged over the codes, KL in closed form).
        kl = gaussian_kl(terms["mu"], terms["logvar"]).sum(1).mean()
        return {"loss": loss, "neg_iw_bound": loss.detach(), "neg_elbo": -terms["log_w"].mean().detach(),
                "reconstruction": -terms["log_px"].mean().detach(), "kl": kl.detach()}

    def phases(self) -> list[Phase]:
        return [Phase("iwae", ("encoder", "decoder", "log_sigma"), self.iw_loss)]

    @classmethod
    def describe_settings(cls, settings: dict) -> str:
        return f"k = {settings.get('k', 5)} importance samples per example"
