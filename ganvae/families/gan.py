"""The GAN objective: the non-saturating loss on logits (the article's BCE-with-logits), and what every GAN
family shares: an exponential moving average (EMA) of the generator's weights used for sampling, and DiffAugment
of the images the discriminator sees (`augment.py`), on request (`--augment on`; auto leaves it off, as measured)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets import Architecture
from ..nets.conv import record_reference_statistics
from . import augment
from .base import FAMILIES, Batch, Defaults, Family, LossDict, Phase, setting

EMA_NET = "generator_ema"  # key in `nets` of the averaged copy of the generator
AUGMENT_HELP = ("DiffAugment (colour, translation, cutout) of the real and generated images the discriminator "
                "sees: on, off, or auto (" + (f"on for sets of fewer than {augment.AUTO_AUGMENT_BELOW:,} images"
                                               if augment.AUTO_AUGMENT_BELOW else
                                               "off: on 40 to 4,000 images it raised the FID at every size measured, "
                                               "docs/performance.md") + ")")


@dataclass(frozen=True)
class GANSettings:
    """Settings of every GAN family; a subclass's own Settings should inherit these (its flags then apply)."""

    ema_decay: float = setting(0.999, "decay of the moving average of the generator's weights that samples are "
                                      "drawn from (0: sample the trained generator itself)", minimum=0.0,
                               maximum=1.0)
    augment: str = setting("auto", AUGMENT_HELP, choices=("auto", "on", "off"))
    d_norm: str = setting("batch", "normalisation in the discriminator of the conv networks: batch (BatchNorm "
                                   "over each batch of real or generated images, as in DCGAN) or none; the MLPs "
                                   "have none", choices=("batch", "none"))


@dataclass(frozen=True)
class PlainGANSettings(GANSettings):
    """The plain GAN's settings: every GAN family's, and how its fakes are made."""

    reuse_fakes: str = setting("on", "on: the discriminator's step makes the batch of fakes with the generator's "
                                     "graph kept, and the generator's step backpropagates through those same "
                                     "fakes, as a plain DCGAN loop does (one generator forward per step instead "
                                     "of two); off: each step makes its own", choices=("on", "off"))


@FAMILIES.register("gan")
class GANFamily(Family):
    """Generator G: z -> x and discriminator D: x -> logit, trained in two phases per step.

    Images are shown to D in [-1, 1] and G ends in tanh (the article's generator). Vectors are shown to D
    standardised by the training set's mean and spread per feature, and G's linear output is read in the same
    units: on grid25 (spread 2.8) this took a hand-written GAN of this size from 22 modes and 38% high-quality
    samples to 25 and 69% in 6,000 steps (docs/guide.md, "25 Gaussians").
    """

    name = "gan"
    label = "GAN"
    summary = "generative adversarial network, non-saturating loss (Goodfellow et al. 2014)"
    Settings = PlainGANSettings
    capabilities = frozenset({"adversarial"})
    # Runs saved before the conv discriminator's BatchNorm (ganvae 0.1 to this change) had none, and runs saved
    # before reuse_fakes made new fakes in each phase.
    settings_before = {"d_norm": "none", "reuse_fakes": "off"}
    networks = ("generator", "discriminator")
    compare_by_default = True
    style = ("tab:red", "o")
    defaults = Defaults(lr=2e-4, betas=(0.5, 0.999), batch_size=128, epochs=10, latent_dim=100)
    # The article's MLP GAN: noise 100, hidden 128, Adam 2e-4 (0.5, 0.999), batch 128, 20 epochs.
    # The conv networks train with batches of 32 at base width 32 (G 64 -> 32 channels, D 16 -> 32): at a few
    # minutes of CPU a GAN gains more from more generator steps than from larger batches or wider networks.
    # Measured on 28x28 Fashion-MNIST, 5 minutes, 3 seeds: FID 30.1 against 36.2 with batch 64 at width 64
    # (2.8x the steps), and 38.3 for a plain DCGAN in the same run (docs/performance.md).
    # One batch of fakes per step (reuse_fakes, default on): 1.15x the steps per second, and at 5 minutes on
    # Fashion-MNIST FID 24.6 against 28.2 with a batch for each phase (3 seeds, docs/performance.md).
    # Learning rate 6e-4 (3x DCGAN's 2e-4) for the conv networks: at 5 minutes on Fashion-MNIST, 3 seeds, FID
    # 17.1 +- 1.6 (8e-4: 16.6 +- 1.1, the same within noise; 2e-4 in the screen: 39.5 against 26.4 at 2 minutes)
    # against a plain DCGAN's 38.3 +- 4.1 in the same run (docs/performance.md).
    presets = {"seed": dict(latent_dim=100, hidden=128, lr=2e-4, betas=(0.5, 0.999), batch_size=128, epochs=20),
               "conv": dict(batch_size=32, hidden=32, lr=6e-4)}
    loss_panels = (
        ("Losses", ("d_loss", "g_loss"), "loss", None, None),
        ("Discriminator output", ("d_real", "d_fake", "d_accuracy"), "mean D(x) / accuracy", 0.5, (-0.02, 1.02)),
    )
    # Whether initialize_from_data standardises vectors (else they stay in the data's units: offset 0, scale 1).
    standardise_vectors = True
    # Sampling in eval mode normalises the generator's BatchNorm (conv) by the statistics of this fixed batch of
    # codes, recorded once per set of weights: a sample is then a function of its own code only.
    REFERENCE_CODES = 1024
    REFERENCE_SEED = 0

    def __init__(self, arch: Architecture, kind: str, data_shape, latent_dim: int, hidden: int, settings=None,
                 n_classes: int = 0):
        super().__init__(arch, kind, data_shape, latent_dim, hidden, settings, n_classes)
        self.nets["generator"] = arch.generator(latent_dim, self.data_shape, hidden)
        norm = str(getattr(self.settings, "d_norm", "none"))
        self.nets["discriminator"] = arch.build_discriminator(self.data_shape, hidden, norm)
        # A subclass whose Settings do not inherit GANSettings still gets the default EMA.
        self.ema_decay = float(getattr(self.settings, "ema_decay", GANSettings.ema_decay))
        if self.ema_decay > 0:
            # The average starts at the initial weights and is never trained (no phase names it).
            self.nets[EMA_NET] = copy.deepcopy(self.nets["generator"]).requires_grad_(False)
            # Generator updates averaged so far: the warm-up's t, kept with the weights for an exact resume.
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.int64))
        self._reference_weights: dict[int, tuple] = {}  # id(net) -> which weights its recorded statistics are of
        self.augment_mode = str(getattr(self.settings, "augment", GANSettings.augment))
        if self.augment_mode == "on" and kind != "image":
            raise ConfigError(f"--augment on needs images; this data is vectors of {self.data_shape[0]} features: "
                              f"use --augment auto or off")
        # Whether the discriminator sees augmented images: decided once from the training set's size (auto), and
        # kept with the weights, since a resumed run does not see the data before its first step.
        self.register_buffer("augment_on", torch.tensor(self.augment_mode == "on"))
        self.augmenting = self.augment_mode == "on"  # the buffer's value, read without a device transfer per step
        if kind != "image":
            # Vectors in the discriminator's space = (x - offset) / scale, measured on the training data.
            self.register_buffer("vector_offset", torch.zeros(self.data_shape))
            self.register_buffer("vector_scale", torch.ones(self.data_shape))
        # The fakes the discriminator's step made for the generator's step, with the generator's weights'
        # versions then (a fake is used only by the step that follows, before any update of the generator).
        self.reuse_fakes = str(getattr(self.settings, "reuse_fakes", "off")) == "on"
        self._fakes: Optional[tuple[int, tuple[int, ...], torch.Tensor]] = None
        self.register_load_state_dict_pre_hook(_fill_missing_state)
        self.register_load_state_dict_post_hook(_read_augment_decision)

    def generate(self, n_samples: int) -> torch.Tensor:
        """Samples in the discriminator's space: (B, *data_shape), images in [-1, 1], vectors standardised."""
        raw = self.nets["generator"](self.noise(n_samples))
        return torch.tanh(raw) if self.kind == "image" else raw

    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        """Data (images in [0, 1]) -> the discriminator's space (images in [-1, 1], vectors standardised)."""
        if self.kind == "image":
            return x * 2 - 1
        return (x - self.vector_offset) / self.vector_scale

    def from_model_space(self, raw: torch.Tensor) -> torch.Tensor:
        """The generator's raw output -> data (images in [0, 1] through tanh, vectors in the data's units)."""
        if self.kind == "image":
            return (torch.tanh(raw) + 1) / 2
        return raw * self.vector_scale + self.vector_offset

    @torch.no_grad()
    def initialize_from_data(self, x: torch.Tensor) -> None:
        """Measure vectors' mean and spread per feature; with augment "auto", augment images when the training set
        is small. x is at most the loop's first 10,000 examples, which is enough for both."""
        if self.kind != "image" and self.standardise_vectors:
            self.vector_offset.copy_(x.mean(0))
            # A constant feature keeps scale 1 (its offset already maps it to 0); one example gives NaN, which the
            # loop reports as too little data.
            spread = x.std(0)
            self.vector_scale.copy_(torch.where(spread > 1e-6, spread, torch.ones_like(spread)))
        if self.augment_mode == "auto":
            self.augment_on.fill_(self.kind == "image" and len(x) < augment.AUTO_AUGMENT_BELOW)
            self.augmenting = bool(self.augment_on)

    def discriminator_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the discriminator is shown of x (B, *data_shape) in its space, real or generated alike: with
        augmentation on, the same random differentiable transformations for both (`augment.diff_augment`)."""
        return augment.diff_augment(x) if self.augmenting else x

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's logits (B,) for x (B, *data_shape) in its space: every phase of every GAN family
        shows it real and generated examples through here."""
        return self.nets["discriminator"](self.discriminator_input(x))

    def _generator_versions(self) -> tuple[int, ...]:
        return tuple(p._version for p in self.nets["generator"].parameters())

    def discriminator_loss(self, batch: Batch) -> LossDict:
        real = self.to_model_space(batch.x)
        if self.reuse_fakes:  # made with the generator's graph, for generator_loss; the discriminator sees a copy
            kept = self.generate(len(batch))
            self._fakes = (id(self.nets["generator"]), self._generator_versions(), kept)
            fake = kept.detach()
        else:
            with torch.no_grad():
                fake = self.generate(len(batch))
        real_logits = self.discriminate(real)
        fake_logits = self.discriminate(fake)
        loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        # D's mean probability on each side, and its accuracy at telling them apart: the meaningful
        # replacement for the article's "test accuracy", which compared logits to digit labels.
        d_real = torch.sigmoid(real_logits).mean()
        d_fake = torch.sigmoid(fake_logits).mean()
        d_accuracy = ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()) / 2
        return {"loss": loss, "d_loss": loss, "d_real": d_real, "d_fake": d_fake, "d_accuracy": d_accuracy}

    def _fakes_for_generator(self, n: int) -> torch.Tensor:
        """The fakes the discriminator's step of this step made (reuse_fakes), when they are of the same
        generator (not a process group's wrapper of it), weights and number, made with the generator's graph (a
        loop that froze the generator during the discriminator's step gets none); else new ones."""
        kept, self._fakes = self._fakes, None
        if kept is not None and kept[0] == id(self.nets["generator"]) and len(kept[2]) == n \
                and kept[2].requires_grad and kept[1] == self._generator_versions():
            return kept[2]
        return self.generate(n)

    def generator_loss(self, batch: Batch) -> LossDict:
        fake_logits = self.discriminate(self._fakes_for_generator(len(batch)))
        # Non-saturating: maximise log D(G(z)) rather than minimise log(1 - D(G(z))).
        loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        return {"loss": loss, "g_loss": loss}

    def phases(self) -> list[Phase]:
        return [
            Phase("discriminator", ("discriminator",), self.discriminator_loss,
                  keeps_graph_of=("generator",) if self.reuse_fakes else ()),
            Phase("generator", ("generator",), self.generator_loss),
        ]

    def after_step(self, phase: Phase, step: int) -> None:
        if self.ema_decay > 0 and "generator" in phase.modules:
            self.update_ema()

    @torch.no_grad()
    def update_ema(self) -> None:
        """One step of the average: ema <- d ema + (1 - d) weights, with d = min(ema_decay, (1 + t) / (10 + t))
        at the t-th generator update, so that the first (random) weights are soon forgotten in a short run.
        Computed on the device (no host transfer per step); persistent buffers are copied, not averaged."""
        t = self.ema_updates.float()
        decay = torch.clamp((1 + t) / (10 + t), max=self.ema_decay)  # () on the device
        trained, averaged, buffers = self._ema_pairs()
        torch._foreach_lerp_(averaged, trained, 1 - decay)  # one call for all weights (1 kernel each on CPU)
        if buffers:
            torch._foreach_copy_([a for a, _ in buffers], [b for _, b in buffers])
        self.ema_updates += 1

    def _ema_pairs(self) -> tuple[list[torch.Tensor], list[torch.Tensor], list[tuple[torch.Tensor, torch.Tensor]]]:
        """The generator's parameters, the average's, and (average's buffer, generator's buffer) pairs for the
        persistent buffers both have (not the reference statistics: those are recorded on the copy itself).
        Which module and name each is, is found once per pair of networks; the tensors are read from the modules
        at every call, since `to()` replaces buffers (and may replace parameters)."""
        generator, average = self.nets["generator"], self.nets[EMA_NET]
        key = (id(generator), id(average))
        if getattr(self, "_ema_key", None) != key:
            modules = dict(generator.named_modules())
            pairs = [(modules[name], module) for name, module in average.named_modules() if name in modules]
            self._ema_slots = (
                [(mine, copy, name) for mine, copy in pairs for name in copy._parameters
                 if copy._parameters[name] is not None and mine._parameters.get(name) is not None],
                [(mine, copy, name) for mine, copy in pairs for name in copy._buffers
                 if copy._buffers[name] is not None and mine._buffers.get(name) is not None
                 and name not in mine._non_persistent_buffers_set])
            self._ema_key = key
        params, buffers = self._ema_slots
        return ([mine._parameters[name] for mine, _, name in params],
                [copy._parameters[name] for _, copy, name in params],
                [(copy._buffers[name], mine._buffers[name]) for mine, copy, name in buffers])

    def sampling_net(self, ema: bool = True) -> nn.Module:
        """The generator samples come from: the moving average when there is one (and `ema`), else the trained
        generator."""
        return self.nets[EMA_NET] if ema and EMA_NET in self.nets else self.nets["generator"]

    def n_parameters(self) -> dict[str, int]:
        """Parameters per network, without the averaged copy of the generator (the same weights again)."""
        return {name: count for name, count in super().n_parameters().items() if name != EMA_NET}

    @torch.no_grad()
    def from_latent(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None, ema: bool = True) -> torch.Tensor:
        """Data-space output for given codes z (B, latent_dim): images in [0, 1], vectors in the data's units,
        from the moving average of the generator (`ema=False`: the trained generator itself).
        In eval mode each output depends on its own code only (see `_fix_normalisation`)."""
        net = self.sampling_net(ema)
        # (Not while torch traces or exports this function: the statistics are fixed before, see ganvae.export.)
        if not self.training and not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            self._fix_normalisation(net)
        return self.from_model_space(net(z))

    @torch.no_grad()
    def sample(self, n_samples: int, labels: Optional[torch.Tensor] = None, ema: bool = True) -> torch.Tensor:
        return self.from_latent(self.noise(n_samples), ema=ema)

    def _fix_normalisation(self, net: nn.Module) -> None:
        """Record net's BatchNorm statistics on the reference codes, unless already done for these weights (an
        optimiser step, an EMA update, load_state_dict or a move to another device changes the key)."""
        weights = tuple((p.data_ptr(), p._version) for p in net.parameters())
        if weights == self._reference_weights.get(id(net)):
            return
        codes = torch.randn(self.REFERENCE_CODES, self.latent_dim,
                            generator=torch.Generator().manual_seed(self.REFERENCE_SEED))  # (R, latent_dim)
        record_reference_statistics(net, codes.to(self.device))
        self._reference_weights[id(net)] = weights


def _fill_missing_state(module: GANFamily, state_dict, prefix, *args) -> None:
    """A checkpoint written by a ganvae without the EMA, augmentation or vectors' standardisation: load its
    generator as the averaged copy too, with the warm-up restarting, without augmentation and with vectors in the
    data's own units (it was trained so), so old run folders still sample, evaluate and resume."""
    generator_key = f"{prefix}nets.generator."
    if not any(key.startswith(generator_key) for key in state_dict):
        return  # not a GAN state at all: let load_state_dict name what is missing
    state_dict.setdefault(f"{prefix}augment_on", torch.tensor(False))
    if module.kind != "image":  # trained on the data's own units
        state_dict.setdefault(f"{prefix}vector_offset", torch.zeros(module.data_shape))
        state_dict.setdefault(f"{prefix}vector_scale", torch.ones(module.data_shape))
    if EMA_NET not in module.nets:
        return
    if not any(key.startswith(f"{prefix}nets.{EMA_NET}.") for key in state_dict):
        for key in [k for k in state_dict if k.startswith(generator_key)]:
            state_dict[f"{prefix}nets.{EMA_NET}." + key[len(generator_key):]] = state_dict[key]
    state_dict.setdefault(f"{prefix}ema_updates", torch.zeros((), dtype=torch.int64))


def _read_augment_decision(module: GANFamily, incompatible_keys) -> None:
    """After load_state_dict: the augmentation decision the weights were trained with."""
    module.augmenting = bool(module.augment_on)
