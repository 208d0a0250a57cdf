"""Configuration as data: one small frozen dataclass per component, combined into a RunConfig.

This module knows no family: `ganvae.families.resolve` fills every default that depends on the family, the
architecture or the data from the registries, so the config written to a run folder is complete. Named presets
(the article's `seed` settings) are small differences from a family's defaults, declared by the family.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, Optional

from .errors import ConfigError

MAX_EXAMPLES = 10_000_000  # --n-samples
MAX_IMAGE_SIZE = 1024  # --image-size
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DataConfig:
    """Which data, and how much of it.

    name: a registered dataset name, or a path to a folder of images, a .npy/.npz array or a .csv file.
    n_samples: for toy sets, how many points to draw; for stored sets, keep the first n after a seeded shuffle.
    seed: the data's own seed (toy-set draws, the subset), kept apart from the training seed.
    """

    name: str = "mnist5k"
    split: str = "train"
    n_samples: Optional[int] = None
    seed: int = 0
    data_dir: Optional[str] = None
    image_size: Optional[int] = None
    download: bool = True


@dataclass(frozen=True)
class ModelConfig:
    """Which family and networks. None means "the default for this family, architecture and data".

    settings: the family's own settings by name (its `Settings` dataclass; e.g. a VAE's kl_weight); missing
    ones take the family's defaults.
    """

    family: str = ""  # a registered family's name (ganvae.families.FAMILIES); checked by families.resolve
    arch: str = "mlp"
    latent_dim: Optional[int] = None
    hidden: Optional[int] = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    lr: Optional[float] = None
    betas: Optional[tuple[float, float]] = None
    batch_size: Optional[int] = None


@dataclass(frozen=True)
class BudgetConfig:
    """How long to train: the first limit reached stops the run. All None means the family default epochs."""

    epochs: Optional[float] = None
    steps: Optional[int] = None
    minutes: Optional[float] = None


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    seed: int = 0
    device: str = "auto"
    log_every: int = 20  # steps between log rows
    checkpoint_every: int = 500  # steps between checkpoints (one is always written at the end)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        """Rebuild from `to_dict` output; unknown keys are an error naming the key."""
        if not isinstance(d, dict):
            raise ConfigError("a run config must be a JSON object; re-create the run with `ganvae train`")
        parts = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "budget": BudgetConfig}
        kwargs: dict[str, Any] = {}
        known = {f.name for f in fields(cls)}
        for key, value in d.items():
            if key not in known:
                raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(sorted(known))}")
            if key in parts:
                sub = parts[key]
                sub_known = {f.name for f in fields(sub)}
                if key == "model" and isinstance(value, dict) and "beta" in value:
                    # Written by ganvae 0.1: the VAE's KL weight (now its setting kl_weight), 1 for a GAN.
                    value = dict(value)
                    beta = value.pop("beta")
                    if beta != 1.0:
                        value["settings"] = {"beta": beta, **(value.get("settings") or {})}
                if not isinstance(value, dict) or not set(value) <= sub_known:
                    bad = sorted(set(value) - sub_known) if isinstance(value, dict) else value
                    raise ConfigError(f"config section {key!r} has unknown keys {bad}")
                if key == "optim" and value.get("betas") is not None:
                    if not isinstance(value["betas"], (list, tuple)):
                        raise ConfigError(f"Adam betas must be two numbers in [0, 1), not {value['betas']!r}")
                    value = {**value, "betas": tuple(value["betas"])}
                kwargs[key] = sub(**value)
            else:
                kwargs[key] = value
        return validate(cls(**kwargs))


def validate(cfg: RunConfig) -> RunConfig:
    """Check every value where it enters; raise a ConfigError naming the flag and the allowed values."""
    m, o, b = cfg.model, cfg.optim, cfg.budget
    if not isinstance(m.family, str):
        raise ConfigError(f"the family must be the name of a registered family, not {m.family!r}")
    if not isinstance(m.settings, dict) or not all(isinstance(k, str) for k in m.settings):
        raise ConfigError(f"model settings must be a mapping of setting names to values, not {m.settings!r}")
    if cfg.device not in DEVICES:
        raise ConfigError(f"--device must be one of {', '.join(DEVICES)}, not {cfg.device!r}")
    _positive_int("--latent-dim", m.latent_dim)
    _positive_int("--hidden", m.hidden)
    _positive_int("--batch-size", o.batch_size)
    _positive_int("--steps", b.steps)
    _positive_int("--n-samples", cfg.data.n_samples)
    _positive_int("--image-size", cfg.data.image_size)
    _positive_int("log_every", cfg.log_every, allow_none=False)
    _positive_int("checkpoint_every", cfg.checkpoint_every, allow_none=False)
    for flag, value in (("--epochs", b.epochs), ("--minutes", b.minutes), ("--lr", o.lr)):
        if value is not None and not (isinstance(value, (int, float)) and value > 0 and value == value
                                      and value != float("inf")):
            raise ConfigError(f"{flag} must be a positive number, not {value!r}")
    if o.betas is not None:
        if len(o.betas) != 2 or not all(isinstance(v, (int, float)) and 0 <= v < 1 for v in o.betas):
            raise ConfigError(f"Adam betas must be two numbers in [0, 1), not {o.betas!r}")
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool) or not 0 <= cfg.seed < 2**32:
        raise ConfigError(f"--seed must be a whole number from 0 to {2**32 - 1}, not {cfg.seed!r}")
    # Beyond these a value is surely a typo, and numpy or the memory would fail deep inside instead.
    if cfg.data.n_samples is not None and cfg.data.n_samples > MAX_EXAMPLES:
        raise ConfigError(f"--n-samples must be at most {MAX_EXAMPLES:,}, not {cfg.data.n_samples:,}")
    if cfg.data.image_size is not None and cfg.data.image_size > MAX_IMAGE_SIZE:
        raise ConfigError(f"--image-size must be at most {MAX_IMAGE_SIZE} pixels, not {cfg.data.image_size:,}")
    if not isinstance(cfg.data.seed, int) or isinstance(cfg.data.seed, bool) or not 0 <= cfg.data.seed < 2**32:
        raise ConfigError(f"--data-seed must be a whole number from 0 to {2**32 - 1}, not {cfg.data.seed!r}")
    if cfg.data.split not in ("train", "test"):
        raise ConfigError(f"--split must be train or test, not {cfg.data.split!r}")
    return cfg


def _positive_int(flag: str, value: Any, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{flag} must be a whole number >= 1, not {value!r}")


@dataclass(frozen=True)
class CompareConfig:
    """A fair comparison: every family gets the same data, budget per run, and seeds."""

    data: DataConfig = field(default_factory=DataConfig)
    families: tuple[str, ...] = ()  # () means the registry's default families (the plain GAN and VAE)
    arch: str = "auto"  # auto: conv for 8/28/32-pixel square images, mlp otherwise
    budget: BudgetConfig = field(default_factory=lambda: BudgetConfig(minutes=1.0))
    images: Optional[int] = None  # budget in images seen per run (turned into steps)
    seeds: int = 3
    n_eval: int = 10000  # samples scored per run (capped by the reference split's size)
    iw_samples: int = 1000  # VAE: importance samples K per example for the NLL
    nll_examples: int = 100  # VAE: test examples the NLL is averaged over
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_duration(text: str, flag: str = "--budget") -> float:
    """'10m', '90s', '1.5h' or a bare number of minutes -> minutes."""
    units = {"s": 1 / 60, "m": 1.0, "h": 60.0}
    value = str(text).strip().lower()
    scale = units.get(value[-1:], None)
    number = value[:-1] if scale is not None else value
    try:
        minutes = float(number) * (scale if scale is not None else 1.0)
    except ValueError:
        raise ConfigError(f"{flag} must be a duration such as 90s, 10m or 1h, not {text!r}") from None
    if not minutes > 0 or minutes == float("inf"):
        raise ConfigError(f"{flag} must be a positive duration such as 90s, 10m or 1h, not {text!r}")
    return minutes


def validate_compare(cfg: CompareConfig) -> CompareConfig:
    if len(set(cfg.families)) != len(cfg.families):
        raise ConfigError(f"--families must list distinct families, not {','.join(cfg.families)}")
    _positive_int("--seeds", cfg.seeds, allow_none=False)
    _positive_int("--images", cfg.images)
    _positive_int("-n", cfg.n_eval, allow_none=False)
    _positive_int("--iw-samples", cfg.iw_samples, allow_none=False)
    _positive_int("--nll-examples", cfg.nll_examples, allow_none=False)
    b = cfg.budget
    if sum(v is not None for v in (b.minutes, b.epochs, b.steps, cfg.images)) != 1:
        raise ConfigError("give exactly one budget: --budget DURATION, --images N or --epochs N")
    if cfg.device not in DEVICES:
        raise ConfigError(f"--device must be one of {', '.join(DEVICES)}, not {cfg.device!r}")
    return cfg
