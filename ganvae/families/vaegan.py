"""VAE-GAN (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric"): a VAE whose
decoder is also a GAN's generator, and whose reconstruction error is measured in the discriminator's features.

Three networks and three phases, each updating one network with Larsen's weighting:
- encoder:       KL(q(z|x) || N(0, I)) + L_feature
- decoder:       gamma * L_feature + the non-saturating GAN loss of reconstructions and of prior samples
- discriminator: real examples against reconstructions and prior samples (binary cross-entropy)
where L_feature = 1/2 ||D_l(x) - D_l(x~)||^2 per example, D_l being the discriminator up to its last Linear
layer and x~ the decoding of a code drawn from q(z|x). Larsen updates all three from one forward pass; here each
phase runs its own (the one loop runs phases in turn), so the decoder sees the encoder's update of this step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..nets import Architecture
from .base import FAMILIES, Batch, Defaults, Family, LossDict, Phase, setting
from .vae import gaussian_kl


@dataclass(frozen=True)
class VAEGANSettings:
    gamma: float = setting(0.01, "weight of the feature reconstruction against the GAN loss in the decoder's "
                                 "update (Larsen's gamma; not tuned here)", minimum=0.0)


@FAMILIES.register("vaegan")
class VAEGANFamily(Family):
    """Encoder q(z|x) = N(mu, diag sigma^2), decoder = generator z -> x, discriminator x -> logit."""

    name = "vaegan"
    label = "VAE-GAN"
    summary = "VAE whose decoder is a GAN generator, reconstructing in discriminator features (Larsen et al. 2016)"
    Settings = VAEGANSettings
    capabilities = frozenset({"encoder", "adversarial"})
    compare_by_default = False
    style = ("tab:pink", "v")
    defaults = Defaults(lr=3e-4, betas=(0.5, 0.999), batch_size=64, epochs=10, latent_dim=32)
    loss_panels = (
        ("Feature reconstruction", ("feature_reconstruction",), "1/2 ||D_l(x) - D_l(x~)||^2 per example", None,
         None),
        ("KL divergence", ("kl",), "KL(q(z|x) || p(z)) per example (nats)", None, None),
        ("Adversarial losses", ("d_loss", "g_loss"), "loss", None, None),
    )

    def __init__(self, arch: Architecture, kind: str, data_shape, latent_dim: int, hidden: int,
                 settings: Optional[VAEGANSettings] = None, n_classes: int = 0):
        super().__init__(arch, kind, data_shape, latent_dim, hidden, settings, n_classes)
        self.nets["encoder"] = arch.encoder(self.data_shape, latent_dim, hidden)
        self.nets["decoder"] = arch.decoder(latent_dim, self.data_shape, hidden)
        self.nets["discriminator"] = arch.discriminator(self.data_shape, hidden)
        layers = list(self.nets["discriminator"])
        self._head_start = max(i for i, layer in enumerate(layers) if isinstance(layer, nn.Linear))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, *data_shape) -> mu, logvar, each (B, latent_dim)."""
        return self.nets["encoder"](x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> the decoder's mean in the discriminator's space (images in [-1, 1])."""
        raw = self.nets["decoder"](z)
        return torch.tanh(raw) if self.kind == "image" else raw

    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 - 1 if self.kind == "image" else x

    def to_data_space(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 1) / 2 if self.kind == "image" else x

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The discriminator's features before its last Linear layer (B, F) and its logits (B,), in one pass."""
        layers = list(self.nets["discriminator"])
        features = x
        for layer in layers[:self._head_start]:
            features = layer(features)
        logits = features
        for layer in layers[self._head_start:]:
            logits = layer(logits)
        return features.flatten(1), logits

    def _forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One pass of Larsen's graph: codes, reconstructions, prior samples and the discriminator on all three."""
        real = self.to_model_space(batch.x)
        mu, logvar = self.encode(batch.x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        reconstruction = self.decode(z)
        prior_samples = self.decode(self.noise(len(batch)))
        real_features, real_logits = self.features_and_logits(real)
        fake_features, recon_logits = self.features_and_logits(reconstruction)
        _, prior_logits = self.features_and_logits(prior_samples)
        return {"kl": gaussian_kl(mu, logvar).sum(1).mean(),
                "feature_reconstruction": 0.5 * (real_features - fake_features).pow(2).sum(1).mean(),
                "real_logits": real_logits, "recon_logits": recon_logits, "prior_logits": prior_logits}

    def encoder_loss(self, batch: Batch) -> LossDict:
        out = self._forward(batch)
        loss = out["kl"] + out["feature_reconstruction"]
        return {"loss": loss, "kl": out["kl"], "feature_reconstruction": out["feature_reconstruction"]}

    def decoder_loss(self, batch: Batch) -> LossDict:
        out = self._forward(batch)
        fakes = torch.cat([out["recon_logits"], out["prior_logits"]])
        # Non-saturating: the decoder raises log D of its reconstructions and prior samples.
        g_loss = F.binary_cross_entropy_with_logits(fakes, torch.ones_like(fakes))
        loss = self.settings.gamma * out["feature_reconstruction"] + g_loss
        return {"loss": loss, "g_loss": g_loss}

    def discriminator_loss(self, batch: Batch) -> LossDict:
        with torch.no_grad():
            mu, logvar = self.encode(batch.x)
            reconstruction = self.decode(mu + torch.randn_like(mu) * (0.5 * logvar).exp())
            prior_samples = self.decode(self.noise(len(batch)))
        real_logits = self.nets["discriminator"](self.to_model_space(batch.x))
        fake_logits = self.nets["discriminator"](torch.cat([reconstruction, prior_samples]))
        loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        return {"loss": loss, "d_loss": loss, "d_accuracy": d_accuracy}

    def phases(self) -> list[Phase]:
        return [Phase("encoder", ("encoder",), self.encoder_loss),
                Phase("decoder", ("decoder",), self.decoder_loss),
                Phase("discriminator", ("discriminator",), self.discriminator_loss)]

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The decoder's output for codes z (B, latent_dim), in data space (images in [0, 1])."""
        return self.to_data_space(self.decode(z))

    @torch.no_grad()
    def sample(self, n_samples: int, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.from_latent(self.noise(n_samples))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the posterior mean of each x, in data space."""
        mu, _ = self.encode(x)
        return self.from_latent(mu)

    @classmethod
    def describe_settings(cls, settings: dict) -> str:
        return f"feature reconstruction weighted {settings.get('gamma', 0.01):g} against the GAN loss (gamma)"
