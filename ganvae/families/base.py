"""The family contract: a family is an objective that declares its phases; the one training loop runs them.

A family owns everything that is particular to it, and the rest of ganvae asks the registry (`FAMILIES`):
- `Settings`: a small frozen dataclass of its own settings (a VAE's KL weight, later a GAN's loss or EMA decay),
  each field declared with `setting(...)`, from which the command line builds its flags and help;
- `defaults`: optimiser settings, batch size, budget and latent size for the `mlp`/`conv` architectures, and
  `presets`: small differences applied when an architecture of that name is chosen (the article's `seed`);
- `capabilities`: what it can do beyond sampling ("encoder", "likelihood", "adversarial", "conditional"),
  which metrics, figures and `advise` read instead of family names;
- its networks (built from the architecture registry), its phases, and its sampling.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar, Mapping, Optional

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import Registry

LossDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Batch:
    """One batch of training data: x (B, *data_shape) in the data convention, y (B,) int64 labels or None."""

    x: torch.Tensor
    y: Optional[torch.Tensor] = None

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class Phase:
    """One optimisation step of a family.

    modules: names (keys of `family.nets`, or parameter attributes) whose parameters this phase updates; only
        these have `requires_grad` while the phase runs.
    loss: Batch -> dict of named scalars; the key "loss" is minimised, the others are reported in the log.
    every: run this phase on every n-th step (n_critic schedules, lazy penalties); its logged values are averaged
        over the steps that ran it.
    lr, betas: this phase's Adam settings (None: the run's --lr and the family's betas), for two-timescale rules.
    optimizer: the name of the optimiser this phase steps (default its own name); phases naming the same
        optimiser share it.
    keeps_graph_of: networks this phase runs with gradients on without updating them, so that a later phase
        of the same step can backpropagate through what it computed (a GAN's fakes, made once for both phases).
    """

    name: str
    modules: tuple[str, ...]
    loss: Callable[[Batch], LossDict]
    every: int = 1
    lr: Optional[float] = None
    betas: Optional[tuple[float, float]] = None
    optimizer: Optional[str] = None
    keeps_graph_of: tuple[str, ...] = ()

    @property
    def optimizer_name(self) -> str:
        return self.optimizer or self.name


@dataclass(frozen=True)
class Defaults:
    """A family's defaults for the `mlp` and `conv` architectures. `latent_dim` is for images; vectors of D
    features get min(D, 16) (at least 2)."""

    lr: float
    betas: tuple[float, float]
    batch_size: int
    epochs: float
    latent_dim: int


def setting(default: Any, help: str, minimum: Optional[float] = None, aliases: tuple[str, ...] = (),
            maximum: Optional[float] = None, choices: tuple[str, ...] = ()) -> Any:
    """Declare one family setting: its default, its help text, the smallest and largest values allowed (a float
    setting must also be finite), old names still accepted (as flags `--OLD` and as keys of saved configs), and
    for a text setting the values it may take."""
    return field(default=default, metadata={"help": help, "minimum": minimum, "maximum": maximum,
                                            "aliases": tuple(aliases), "choices": tuple(choices)})


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def _named(f: dataclasses.Field) -> str:
    """A setting's flag with its old names, as messages name it: `--kl-weight (--beta)`."""
    aliases = f.metadata.get("aliases", ())
    return flag_of(f.name) + (f" ({', '.join(flag_of(a) for a in aliases)})" if aliases else "")


@dataclass(frozen=True)
class NoSettings:
    """A family without settings of its own."""


def settings_fields(settings_cls: type) -> list[dataclasses.Field]:
    return list(fields(settings_cls))


def make_settings(family: "type[Family]", values: Optional[Mapping[str, Any]]) -> Any:
    """The family's Settings from a plain mapping (a config's `model.settings`), aliases accepted; every value
    checked, with a ConfigError naming the flag."""
    values = dict(values or {})
    known = {f.name: f for f in settings_fields(family.Settings)}
    for f in known.values():
        for alias in f.metadata.get("aliases", ()):
            if alias in values:
                value = values.pop(alias)
                values.setdefault(f.name, value)
    unknown = sorted(set(values) - set(known))
    if unknown:
        others = {f.name: f for name in FAMILIES.names() for f in settings_fields(FAMILIES.get(name).Settings)}
        named = ", ".join(_named(others[n]) if n in others else flag_of(n) for n in unknown)
        allowed = ", ".join(flag_of(n) for n in known) or "none"
        raise ConfigError(f"{named} does not apply to the {family.name} family (its settings: {allowed}); "
                          f"leave it out")
    for name, value in values.items():
        f = known[name]
        default = f.default
        flag = _named(f)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{flag} must be true or false, not {value!r}")
        elif isinstance(default, int) and not isinstance(default, bool):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"{flag} must be a whole number, not {value!r}")
        elif isinstance(default, float):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ConfigError(f"{flag} must be a finite number, not {value!r}")
            values[name] = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{flag} must be text, not {value!r}")
        minimum, maximum = f.metadata.get("minimum"), f.metadata.get("maximum")
        if minimum is not None and values[name] < minimum:
            raise ConfigError(f"{flag} must be a number >= {minimum:g}, not {value!r}")
        if maximum is not None and values[name] > maximum:
            raise ConfigError(f"{flag} must be a number <= {maximum:g}, not {value!r}")
        choices = f.metadata.get("choices", ())
        if choices and values[name] not in choices:
            raise ConfigError(f"{flag} must be one of {', '.join(choices)}, not {value!r}")
    return family.Settings(**values)


def given_settings(family: "type[Family]", values: Optional[Mapping[str, Any]]) -> set[str]:
    """The names of the family's settings that `values` gives, by their own name or an old one."""
    values = values or {}
    return {f.name for f in settings_fields(family.Settings)
            if f.name in values or any(alias in values for alias in f.metadata.get("aliases", ()))}


def with_settings_before(cfg: Any) -> Any:
    """A saved run's RunConfig with the settings it predates (its family's `settings_before`) at the values it
    was trained with, so that it rebuilds the networks it saved; unchanged for a run that has them all."""
    family = FAMILIES.get(cfg.model.family) if cfg.model.family in FAMILIES else None
    own = {f.name for f in settings_fields(family.Settings)} if family else set()  # a subclass may lack one
    missing = {name: value for name, value in (family.settings_before if family else {}).items()
               if name in own and name not in cfg.model.settings}
    if not missing:
        return cfg
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, settings={**cfg.model.settings, **missing}))


def settings_dict(settings: Any) -> dict[str, Any]:
    """Settings as the plain dict stored in `ModelConfig.settings` (every field, defaults included)."""
    return dataclasses.asdict(settings)


class Family(nn.Module):
    """Holds the plain networks of one model family in `self.nets` and declares its phases.

    Subclasses set the class attributes below, build `self.nets`, and implement `phases()`, `sample()` and
    `from_latent()`. Data convention: images arrive in [0, 1] as (B, C, H, W); vectors as (B, D) in model space.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # how reports name it, e.g. "GAN"
    summary: ClassVar[str] = ""  # one line for --help and `ganvae families`
    Settings: ClassVar[type] = NoSettings
    defaults: ClassVar[Defaults]
    presets: ClassVar[dict[str, dict[str, Any]]] = {}  # architecture name -> settings that differ from defaults
    # Settings added after runs were saved without them, with the value those runs were trained with (a saved
    # config lists every setting, so one that lacks a key predates it; see `with_settings_before`).
    settings_before: ClassVar[dict[str, Any]] = {}
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # The names in `nets` a user may fill with modules of their own (GAN(generator=..., discriminator=...));
    # each follows the contract of ganvae.nets.base for that name. Empty: the family takes none.
    networks: ClassVar[tuple[str, ...]] = ()
    compare_by_default: ClassVar[bool] = False  # one of the families `ganvae compare` trains when none is named
    # How losses.png groups the logged values: (title, columns, y label, reference line or None, y limits or
    # None) per panel; columns no panel names go to an "other" panel.
    style: ClassVar[Optional[tuple[str, str]]] = None  # (matplotlib colour, marker) in comparison figures
    loss_panels: ClassVar[tuple[tuple[str, tuple[str, ...], str, Optional[float], Optional[tuple]], ...]] = ()

    def __init__(self, arch, kind: str, data_shape: tuple[int, ...], latent_dim: int, hidden: int,
                 settings: Any = None, n_classes: int = 0):
        super().__init__()
        self.kind = kind
        self.data_shape = tuple(data_shape)
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.settings = settings if settings is not None else self.Settings()
        self.n_classes = int(n_classes)
        self.nets = nn.ModuleDict()

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def initialize_from_data(self, x: torch.Tensor) -> None:
        """Data-dependent initialisation, called once before a new run's first step (not on resume)."""

    def after_step(self, phase: Phase, step: int) -> None:
        """Called by the loop after each optimiser step of `phase` (at training step `step`): the place for an
        EMA of weights, weight clipping or a lazy regulariser."""

    def sample(self, n_samples: int, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Draw n samples in data space: images in [0, 1], vectors in model space."""
        raise NotImplementedError

    def from_latent(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Map codes z (B, latent_dim) to data space, without sampling noise (for interpolations)."""
        raise NotImplementedError

    def sample_codes(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Samples for given codes z (B, latent_dim), as `sample` makes them from its own noise (a VAE adds its
        decoder's noise on vectors): how a latent prior other than N(0, I) is sampled."""
        return self.from_latent(z, labels)

    def noise(self, n_samples: int) -> torch.Tensor:
        """N(0, I) codes (n_samples, latent_dim) on the family's device, drawn where `random_device` says."""
        return torch.randn(n_samples, self.latent_dim, device=self.random_device()).to(self.device)

    def random_device(self) -> torch.device:
        """Where sampling noise is drawn: on the CPU while sampling (eval mode), then moved, so that a seed gives the
        same codes, classes and noise on every device (a run trained on a GPU samples as it does loaded on a CPU);
        on the family's own device while training (no copy from the host at each step)."""
        return self.device if self.training else torch.device("cpu")

    def normal_like(self, tensor: torch.Tensor) -> torch.Tensor:
        """N(0, 1) noise of tensor's shape, dtype and device, drawn where `random_device` says."""
        return torch.randn(tensor.shape, dtype=tensor.dtype, device=self.random_device()).to(tensor.device)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def parameters_of(self, names: tuple[str, ...]) -> list[nn.Parameter]:
        """The parameters a phase updates: whole networks from `nets`, or single parameters by attribute."""
        params: list[nn.Parameter] = []
        for name in names:
            if name in self.nets:
                params.extend(self.nets[name].parameters())
            else:
                params.append(getattr(self, name))
        return params

    def n_parameters(self) -> dict[str, int]:
        return {name: sum(p.numel() for p in net.parameters()) for name, net in self.nets.items()}

    @classmethod
    def has(cls, capability: str) -> bool:
        return capability in cls.capabilities

    @classmethod
    def describe_settings(cls, settings: Mapping[str, Any]) -> str:
        """The family's settings (a config's `model.settings`) in words, as reports list them ("" for none).
        Families override it to say what a setting means ("KL weight 4 reached after 1000 steps")."""
        return ", ".join(f"{name.replace('_', ' ')} {value:g}" if isinstance(value, float) else
                         f"{name.replace('_', ' ')} {value}" for name, value in settings.items())


FAMILIES: Registry[type[Family]] = Registry("family")


def capabilities_of(name: str) -> frozenset[str]:
    """A registered family's capabilities by name (empty for a name no longer registered)."""
    return FAMILIES.get(name).capabilities if name in FAMILIES else frozenset()


def split_entry(name: str) -> tuple[str, str]:
    """A comparison's entry -> (the family trained, the fitted prior its samples are drawn from, or ""): an entry
    "FAMILY+PRIOR" is the family's runs sampled from that prior; a plain family name has none."""
    family, _, prior = name.partition("+")
    return family, prior


def family_label(name: str) -> str:
    """How reports name a family ("VAE"), or a comparison's entry of a family sampled from a fitted latent
    prior ("VAE (GMM prior)"); an unknown name in capitals."""
    family, prior = split_entry(name)
    if prior:
        return f"{family_label(family)} ({prior.upper()} prior)"
    return FAMILIES.get(name).label if name in FAMILIES and FAMILIES.get(name).label else name.upper()


def compare_defaults() -> tuple[str, ...]:
    """The families `ganvae compare` trains when none are named."""
    return tuple(name for name in FAMILIES.names() if FAMILIES.get(name).compare_by_default)


@dataclass(frozen=True)
class SettingFlag:
    """A command-line flag for one family setting, shared by every family that declares a setting of that name."""

    name: str
    flag: str
    aliases: tuple[str, ...]
    default: Any
    help: str
    families: tuple[str, ...]
    choices: tuple[str, ...] = ()
    # Families whose default differs from `default` (the first family's): ((family, its default), ...).
    other_defaults: tuple[tuple[str, Any], ...] = ()

    @property
    def default_text(self) -> str:
        """'default 0.999', or 'default batch; none for sngan and wgan-gp' where families differ."""
        def shown(value: Any) -> str:
            return f"{value:g}" if isinstance(value, float) else str(value)

        text = f"default {shown(self.default)}"
        by_value: dict[str, list[str]] = {}
        for family, value in self.other_defaults:
            by_value.setdefault(shown(value), []).append(family)
        for value, families in by_value.items():
            text += f"; {value} for {' and '.join(families)}"
        return text

    @property
    def metavar(self) -> str:
        if self.choices:
            return "{" + ",".join(self.choices) + "}"
        return {bool: "BOOL", int: "N", float: "X"}.get(type(self.default), "TEXT")


def setting_flags() -> list[SettingFlag]:
    """Every registered family's settings as flags (for `ganvae train`), in registry order."""
    flags: dict[str, SettingFlag] = {}
    for family_name in FAMILIES.names():
        for f in settings_fields(FAMILIES.get(family_name).Settings):
            known = flags.get(f.name)
            if known is None:
                flags[f.name] = SettingFlag(f.name, flag_of(f.name), tuple(flag_of(a) for a in f.metadata["aliases"]),
                                            f.default, f.metadata["help"], (family_name,),
                                            f.metadata.get("choices", ()))
            else:
                others = known.other_defaults + (((family_name, f.default),) if f.default != known.default else ())
                flags[f.name] = dataclasses.replace(known, families=(*known.families, family_name),
                                                    other_defaults=others)
    return list(flags.values())
