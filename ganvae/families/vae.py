"""The VAE objective: the negative ELBO, one optimiser over encoder and decoder."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..nets import Architecture
from .base import FAMILIES, Batch, Defaults, Family, LossDict, Phase, setting

# Lower bound on the Gaussian decoder's standard deviation, so the likelihood cannot run off to +inf
# on data that lies on a curve (the toy sets).
MIN_LOG_SIGMA = math.log(1e-3)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per latent dimension, (B, latent_dim), in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


@dataclass(frozen=True)
class VAESettings:
    kl_weight: float = setting(1.0, "weight of the KL term (1 is the ELBO; beta-VAE above 1)", minimum=0.0,
                               aliases=("beta",))
    kl_warmup: int = setting(0, "steps over which the KL weight rises linearly from 0 to --kl-weight (0: no "
                                "warm-up)", minimum=0)


def describe_kl(kl_weight: float, kl_warmup: int) -> str:
    """The KL schedule in words, as reports say it: 'KL weight 4 reached after 1000 steps'."""
    if kl_warmup:
        return f"KL weight {kl_weight:g} reached after {kl_warmup} steps (linear warm-up from 0)"
    return f"KL weight {kl_weight:g}" + (" (the ELBO)" if kl_weight == 1 else "")


@FAMILIES.register("vae")
class VAEFamily(Family):
    """Encoder q(z|x) = N(mu, diag sigma^2), decoder p(x|z), prior N(0, I).

    Likelihood: Bernoulli on images in [0, 1] (the decoder gives logits); Gaussian on vectors, with a
    learned standard deviation per feature, so the reconstruction term is a true negative log-density.
    """

    name = "vae"
    label = "VAE"
    summary = "variational autoencoder trained on one ELBO (Kingma & Welling 2014)"
    Settings = VAESettings
    capabilities = frozenset({"encoder", "likelihood"})
    networks = ("encoder", "decoder")
    compare_by_default = True
    style = ("tab:green", "s")
    defaults = Defaults(lr=1e-3, betas=(0.9, 0.999), batch_size=128, epochs=10, latent_dim=16)
    # The article's VAE: hidden 4, latent 2, Adam 1e-3, batch 100, 10 epochs (on make_circles). On images the
    # article gives no VAE; there the seed VAE keeps latent 2 but uses hidden 128 so that it can learn at all.
    # The conv networks at base width 32 (decoder 64-32 channels, as in a plain conv VAE): at 4 minutes of CPU
    # twice the steps of width 64 and a better FID on both seeds measured (docs/performance.md).
    presets = {"seed": dict(latent_dim=2, hidden=4, hidden_image=128, lr=1e-3, betas=(0.9, 0.999),
                            batch_size=100, epochs=10),
               "conv": dict(hidden=32)}
    loss_panels = (
        ("Reconstruction", ("reconstruction",), "-log p(x|z) per example (nats)", None, None),
        ("KL divergence", ("kl",), "KL(q(z|x) || p(z)) per example (nats)", None, None),
        ("Negative ELBO", ("neg_elbo", "loss"), "reconstruction + KL (nats)", None, None),
        ("KL weight", ("kl_weight",), "weight of the KL term (warm-up)", None, None),
    )

    def __init__(self, arch: Architecture, kind: str, data_shape, latent_dim: int, hidden: int,
                 settings: Optional[VAESettings] = None, n_classes: int = 0):
        super().__init__(arch, kind, data_shape, latent_dim, hidden, settings, n_classes)
        self.kl_weight = float(getattr(self.settings, "kl_weight", 1.0))  # a subclass may have no KL weight
        self.kl_warmup = int(getattr(self.settings, "kl_warmup", 0))
        if self.kl_warmup:
            # Steps of the ELBO phase done so far: a buffer, so a checkpoint carries it and a resumed run goes on
            # with the same weights. Only with a warm-up, so a plain VAE's state (and its weights) stay as before.
            self.register_buffer("kl_steps", torch.zeros((), dtype=torch.int64))
        self.nets["encoder"] = arch.encoder(self.data_shape, latent_dim, hidden)
        self.nets["decoder"] = arch.decoder(latent_dim, self.data_shape, hidden)
        self.likelihood = "bernoulli" if kind == "image" else "gaussian"
        # log sigma per feature of the Gaussian decoder; unused (and not trained) for Bernoulli.
        self.log_sigma = nn.Parameter(torch.zeros(self.data_shape), requires_grad=self.likelihood == "gaussian")

    @torch.no_grad()
    def initialize_from_data(self, x: torch.Tensor) -> None:
        """Start the Gaussian decoder's sigma at a tenth of each feature's spread. Starting at 1 (or at the
        data's spread) lets sigma explain all variance before the encoder learns anything: the posterior
        collapses (measured on ring8: ELBO -2.14 nats with sigma starting at 1, -0.88 starting at 0.1)."""
        if self.likelihood == "gaussian":
            spread = x.flatten(1).std(0).clamp(min=1e-3).reshape(self.data_shape)
            self.log_sigma.copy_((0.1 * spread).log())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, *data_shape) -> mu, logvar, each (B, latent_dim)."""
        return self.nets["encoder"](x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> raw decoder output: Bernoulli logits or Gaussian means, (B, *data_shape)."""
        return self.nets["decoder"](z)

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z) in data space."""
        return torch.sigmoid(raw) if self.likelihood == "bernoulli" else raw

    def sigma(self) -> torch.Tensor:
        return self.log_sigma.clamp(min=MIN_LOG_SIGMA).exp()

    def log_likelihood(self, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """log p(x|z) summed over features, (B,)."""
        if self.likelihood == "bernoulli":
            # Continuous values in [0, 1] as targets: the usual "Bernoulli" VAE on grey-level images.
            return -F.binary_cross_entropy_with_logits(raw, x, reduction="none").flatten(1).sum(1)
        log_sigma = self.log_sigma.clamp(min=MIN_LOG_SIGMA)
        log_density = -0.5 * ((x - raw) / log_sigma.exp()).pow(2) - log_sigma - 0.5 * math.log(2 * math.pi)
        return log_density.flatten(1).sum(1)

    def elbo_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-example terms of one reparameterised ELBO sample: reconstruction (-log p(x|z)) and KL, (B,)."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # reparameterisation
        raw = self.decode(z)
        kl_per_dim = gaussian_kl(mu, logvar)
        return {"reconstruction": -self.log_likelihood(x, raw), "kl": kl_per_dim.sum(1),
                "kl_per_dim": kl_per_dim, "mu": mu}

    def current_kl_weight(self) -> torch.Tensor:
        """The KL weight of the coming step: kl_weight * min(1, steps done / kl_warmup), a 0-d tensor."""
        if not self.kl_warmup:
            return torch.tensor(self.kl_weight)
        return self.kl_weight * (self.kl_steps.double() / self.kl_warmup).clamp(max=1.0).float()

    def elbo_loss(self, batch: Batch) -> LossDict:
        return self.loss_of_terms(self.elbo_terms(batch.x))

    def loss_of_terms(self, terms: dict[str, torch.Tensor]) -> LossDict:
        """The minimised loss and the logged values from the per-example terms of `elbo_terms`: reconstruction plus
        the (warmed-up) weighted KL."""
        reconstruction = terms["reconstruction"].mean()
        kl = terms["kl"].mean()
        if not self.kl_warmup:
            loss = reconstruction + self.kl_weight * kl
            return {"loss": loss, "reconstruction": reconstruction, "kl": kl, "neg_elbo": reconstruction + kl}
        kl_weight = self.current_kl_weight()
        return {"loss": reconstruction + kl_weight * kl, "reconstruction": reconstruction, "kl": kl,
                "neg_elbo": reconstruction + kl, "kl_weight": kl_weight}

    def after_step(self, phase: Phase, step: int) -> None:
        if self.kl_warmup and phase.name == "elbo":
            self.kl_steps += 1

    @classmethod
    def describe_settings(cls, settings: dict) -> str:
        return describe_kl(float(settings.get("kl_weight", 1.0)), int(settings.get("kl_warmup", 0)))

    def phases(self) -> list[Phase]:
        return [Phase("elbo", ("encoder", "decoder", "log_sigma"), self.elbo_loss)]

    @torch.no_grad()
    def sample(self, n_samples: int, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Draw z from the prior and decode. Images: the Bernoulli mean (the usual grey-level picture);
        vectors: a draw from p(x|z), so a scatter shows the model's real spread."""
        return self.sample_codes(self.noise(n_samples))

    @torch.no_grad()
    def sample_codes(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Decode codes z (B, latent_dim) as `sample` does: the Bernoulli mean, or a draw from p(x|z)."""
        raw = self.decode(z)
        if self.likelihood == "bernoulli":
            return torch.sigmoid(raw)
        return raw + self.normal_like(raw) * self.sigma()

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The mean of p(x|z) for given codes z (B, latent_dim), in data space."""
        return self.mean(self.decode(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the posterior mean of each x: the mean of p(x | z = mu(x))."""
        mu, _ = self.encode(x)
        return self.mean(self.decode(mu))
