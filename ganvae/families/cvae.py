"""The conditional VAE (Sohn et al. 2015): the VAE's ELBO with the class label given to the encoder and the
decoder, q(z|x, y) and p(x|z, y), and the prior p(z) = N(0, I) for every class."""

from __future__ import annotations

from typing import Optional

import torch

from ..nets import Architecture
from ..nets.conditional import ConditionalArch
from .base import FAMILIES, Batch, LossDict
from .cgan import check_n_classes, labels_of, required_labels, uniform_labels
from .vae import VAEFamily, VAESettings, gaussian_kl


@FAMILIES.register("cvae")
class CVAEFamily(VAEFamily):
    """Encoder q(z|x, y), decoder p(x|z, y), prior N(0, I); the likelihoods of the VAE.

    Every method that runs a network takes the labels (B,) with x or z; `sample` without labels draws the
    classes uniformly. Its ELBO bounds log p(x | y); evaluation adds log p(y) of that uniform class prior
    (see ganvae.metrics.vae_metrics) to bound log p(x) like the VAE's.
    """

    name = "cvae"
    label = "cVAE"
    summary = "conditional VAE: encoder and decoder given the class label (Sohn et al. 2015)"
    capabilities = frozenset({"encoder", "likelihood", "conditional"})
    compare_by_default = False
    style = ("tab:blue", "X")

    def __init__(self, arch: Architecture, kind: str, data_shape, latent_dim: int, hidden: int,
                 settings: Optional[VAESettings] = None, n_classes: int = 0):
        check_n_classes(self.name, n_classes)
        super().__init__(ConditionalArch(arch, n_classes), kind, data_shape, latent_dim, hidden, settings,
                         n_classes)

    def encode(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, *data_shape), labels (B,) -> mu, logvar, each (B, latent_dim)."""
        return self.nets["encoder"](x, required_labels(labels, self.name, "encode"))

    def decode(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """z (B, latent_dim), labels (B,) -> raw decoder output (B, *data_shape)."""
        return self.nets["decoder"](z, required_labels(labels, self.name, "decode"))

    def elbo_terms(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """Per-example terms of one reparameterised sample of the ELBO of log p(x | y), (B,) each."""
        mu, logvar = self.encode(x, labels)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # reparameterisation
        raw = self.decode(z, labels)
        kl_per_dim = gaussian_kl(mu, logvar)
        return {"reconstruction": -self.log_likelihood(x, raw), "kl": kl_per_dim.sum(1),
                "kl_per_dim": kl_per_dim, "mu": mu}

    def elbo_loss(self, batch: Batch) -> LossDict:
        return self.loss_of_terms(self.elbo_terms(batch.x, labels_of(batch, self.name)))

    @torch.no_grad()
    def sample(self, n_samples: int, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """n samples of the given classes (B,), or of classes drawn uniformly; as the VAE's otherwise."""
        if labels is None:
            labels = uniform_labels(self, n_samples)
        raw = self.decode(self.noise(n_samples), labels)
        if self.likelihood == "bernoulli":
            return torch.sigmoid(raw)
        return raw + self.normal_like(raw) * self.sigma()

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.mean(self.decode(z, labels))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The mean of p(x | z = mu(x, y), y)."""
        mu, _ = self.encode(x, labels)
        return self.mean(self.decode(mu, labels))
