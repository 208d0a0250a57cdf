"""The conditional GAN: the GAN's non-saturating loss, with the class label given to both networks (a label
embedding concatenated to G's code, a projection discriminator; see ganvae/nets/conditional.py)."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..errors import ConfigError, RunError
from ..nets import Architecture
from ..nets.conditional import ConditionalArch
from ..nets.conv import record_reference_statistics
from .base import FAMILIES, Batch, LossDict
from .gan import GANFamily, GANSettings


def check_n_classes(family_name: str, n_classes: int) -> None:
    if n_classes < 2:
        raise ConfigError(f"the {family_name} family is conditional and needs at least 2 classes, not {n_classes}")


def labels_of(batch: Batch, family_name: str) -> torch.Tensor:
    """The batch's labels (B,); a RunError if the data has none (build_family refuses such data first)."""
    if batch.y is None:
        raise RunError(f"the {family_name} family is conditional and was given a batch without labels")
    return batch.y


def uniform_labels(family, n_samples: int) -> torch.Tensor:
    """n_samples of a conditional family's classes drawn uniformly (B,) int64 on its device, drawn where its
    `random_device` says: what sampling without given labels uses."""
    return torch.randint(family.n_classes, (n_samples,), device=family.random_device()).to(family.device)


def required_labels(labels: Optional[torch.Tensor], family_name: str, what: str) -> torch.Tensor:
    if labels is None:
        raise ConfigError(f"the {family_name} family is conditional: {what} needs one class label per example")
    return labels


@FAMILIES.register("cgan")
class CGANFamily(GANFamily):
    """G: (z, y) -> x and the projection discriminator D: (x, y) -> logit, trained like the GAN.

    Fake labels: each phase gives its fakes the labels of the real batch it is shown, so fakes follow the
    data's class frequencies and D sees the same classes on both sides. `sample` without labels draws them
    uniformly over the classes.
    """

    name = "cgan"
    label = "cGAN"
    summary = "conditional GAN: label embedding in G, projection discriminator (Miyato & Koyama 2018)"
    capabilities = frozenset({"adversarial", "conditional"})
    compare_by_default = False
    style = ("tab:brown", "P")
    Settings = GANSettings  # the plain GAN's reuse_fakes is not implemented for labelled fakes
    # The plain GAN's conv preset moved to batch 32 at width 32 by a measurement of the GAN alone; the cGAN keeps
    # batch 64 at width 64, and takes the GAN's learning rate 6e-4 from its own measurement (2 minutes on
    # Fashion-MNIST, 3 seeds: FID 9.0-10.6 against 15.9-16.4 at DCGAN's 2e-4, with the class asked for read as
    # often: 89.7% against 89.6% after 2,000 steps; docs/guide.md).
    presets = {**GANFamily.presets, "conv": dict(batch_size=64, lr=6e-4)}

    def __init__(self, arch: Architecture, kind: str, data_shape, latent_dim: int, hidden: int, settings=None,
                 n_classes: int = 0):
        check_n_classes(self.name, n_classes)
        super().__init__(ConditionalArch(arch, n_classes), kind, data_shape, latent_dim, hidden, settings,
                         n_classes)

    def generate(self, n_samples: int, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Samples of the given classes (B,) in the discriminator's space: (B, *data_shape), images in [-1, 1]."""
        labels = required_labels(labels, self.name, "generate")
        raw = self.nets["generator"](self.noise(n_samples), labels)
        return torch.tanh(raw) if self.kind == "image" else raw

    def discriminate(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The projection discriminator's logits (B,) for x (B, *data_shape) in its space and classes (B,), shown
        through the GAN's augmentation like every GAN family's discriminator."""
        return self.nets["discriminator"](self.discriminator_input(x), required_labels(labels, self.name, "discriminate"))

    def discriminator_loss(self, batch: Batch) -> LossDict:
        labels = labels_of(batch, self.name)
        real = self.to_model_space(batch.x)
        with torch.no_grad():
            fake = self.generate(len(batch), labels)
        real_logits = self.discriminate(real, labels)
        fake_logits = self.discriminate(fake, labels)
        loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        return {"loss": loss, "d_loss": loss, "d_real": torch.sigmoid(real_logits).mean(),
                "d_fake": torch.sigmoid(fake_logits).mean(), "d_accuracy": d_accuracy}

    def generator_loss(self, batch: Batch) -> LossDict:
        labels = labels_of(batch, self.name)
        fake_logits = self.discriminate(self.generate(len(batch), labels), labels)
        loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))  # non-saturating
        return {"loss": loss, "g_loss": loss}

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None, ema: bool = True) -> torch.Tensor:
        """Data-space output for codes z (B, latent_dim) and classes labels (B,), from the moving average of the
        generator (`ema=False`: the trained generator itself)."""
        labels = required_labels(labels, self.name, "from_latent")
        net = self.sampling_net(ema)
        if not self.training and not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            self._fix_normalisation(net)
        return self.from_model_space(net(z, labels))

    @torch.no_grad()
    def sample(self, n_samples: int, labels: Optional[torch.Tensor] = None, ema: bool = True) -> torch.Tensor:
        """n samples of the given classes (B,), or of classes drawn uniformly."""
        if labels is None:
            labels = uniform_labels(self, n_samples)
        return self.from_latent(self.noise(n_samples), labels, ema=ema)

    def _fix_normalisation(self, net) -> None:
        """As the GAN's, with the reference codes paired with the classes in turn (0, 1, ..., K-1, 0, ...)."""
        weights = tuple((p.data_ptr(), p._version) for p in net.parameters())
        if weights == self._reference_weights.get(id(net)):
            return
        codes = torch.randn(self.REFERENCE_CODES, self.latent_dim,
                            generator=torch.Generator().manual_seed(self.REFERENCE_SEED))  # (R, latent_dim)
        labels = torch.arange(self.REFERENCE_CODES) % self.n_classes  # (R,)
        record_reference_statistics(net.net, net.code(codes.to(self.device), labels.to(self.device)))
        self._reference_weights[id(net)] = weights
