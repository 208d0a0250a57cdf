"""Configuration as data: one small frozen dataclass per component, combined into a RunConfig.

This module knows no family: `ganvae.families.resolve` fills every default that depends on the family, the
architecture or the data from the registries, so the config written to a run folder is complete. Named presets
(the article's `seed` settings) are small differences from a family's defaults, declared by the family.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from .errors import ConfigError

MAX_EXAMPLES = 10_000_000  # --n-examples
# Defaults that several commands share, typed once: bookkeeping of a run, and how a run is scored.
LOG_EVERY = 20  # steps between log rows
CHECKPOINT_EVERY = 500  # steps between checkpoints (one is always written at the end)
N_EVAL = 10_000  # samples scored (capped by the reference split's size)
# VAE: importance samples K per example for the NLL, and test examples it is averaged over (at most the split).
# Chosen by benchmarks/nll_k.py (docs/metrics.md): the NLL's spread over examples (about 80 nats on
# Fashion-MNIST) outweighs K's bias, so for the same decodes 3,000 examples at K = 30 (RMSE 1.6 nats, bias 0.8)
# beat 100 examples at K = 1,000 (RMSE 7.9 nats).
IW_SAMPLES = 30
NLL_EXAMPLES = 3000
MAX_IMAGE_SIZE = 1024  # --image-size
MAX_EPOCHS = 1_000_000  # --epochs: beyond this the step count overflows, and no run gets near it
DEVICES = ("auto", "cpu", "cuda", "mps")
# Arithmetic of the training step: fp32, or autocast to bfloat16 (CPUs with AVX-512 BF16 or AMX, recent GPUs) or
# float16 (CUDA only, with a gradient scaler). Weights and optimiser state stay fp32 in every case.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# The config.json key of each flag, named when a saved config holds a bad value.
FLAG_KEYS = {
    "--family": "model.family", "--arch": "model.arch", "--latent-dim": "model.latent_dim",
    "--hidden": "model.hidden", "--family settings": "model.settings", "--lr": "optim.lr", "Adam betas": "optim.betas",
    "--batch-size": "optim.batch_size", "--epochs": "budget.epochs", "--steps": "budget.steps",
    "--minutes": "budget.minutes", "--data": "data.name", "--split": "data.split", "--n-examples": "data.n_examples",
    "--data-seed": "data.seed", "--data-dir": "data.data_dir", "--image-size": "data.image_size",
    "--no-download": "data.download", "--seed": "seed", "--device": "device", "--precision": "precision",
    "log_every": "log_every",
    "checkpoint_every": "checkpoint_every",
}
# What a saved run must hold (resolve fills them): without them its networks or optimisers cannot be rebuilt.
RESOLVED_KEYS = ("model.latent_dim", "model.hidden", "optim.lr", "optim.betas", "optim.batch_size")


@dataclass(frozen=True)
class DataConfig:
    """Which data, and how much of it.

    name: a registered dataset name, or a path to a folder of images, a .npy/.npz array or a .csv file.
    n_examples: for toy sets, how many points to draw; for stored sets, keep the first n after a seeded shuffle.
        Its old name `n_samples` collided with the samples a model draws; saved configs holding it are still
        read (OLD_KEYS) and `--n-samples` is still accepted, but DataConfig(n_samples=...) is a TypeError, so
        code written for the old name fails loudly instead of reading a quiet None.
    seed: the data's own seed (toy-set draws, the subset), kept apart from the training seed.
    """

    name: str = "mnist5k"
    split: str = "train"
    n_examples: Optional[int] = None
    seed: int = 0
    data_dir: Optional[str] = None
    image_size: Optional[int] = None
    download: bool = True


# Keys that saved configs (config.json, TOML) of earlier versions may hold: {section: {old: new}}.
OLD_KEYS = {"data": {"n_samples": "n_examples"}}


@dataclass(frozen=True)
class ModelConfig:
    """Which family and networks. None means "the default for this family, architecture and data".

    settings: the family's own settings by name (its `Settings` dataclass; e.g. a VAE's kl_weight); missing
    ones take the family's defaults.
    """

    family: str = ""  # a registered family's name (ganvae.families.FAMILIES); checked by families.resolve
    arch: str = "auto"  # a registered architecture, or auto: conv for the images it fits, mlp otherwise
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
    precision: str = "auto"
    log_every: int = LOG_EVERY
    checkpoint_every: int = CHECKPOINT_EVERY

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: Optional[str] = None) -> "RunConfig":
        """Rebuild from `to_dict` output; unknown keys are an error naming the key. Values are checked as
        strictly as flags (types included); with `source` (the file it came from) errors name its keys."""
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
                if isinstance(value, dict) and set(value) & set(OLD_KEYS.get(key, {})):
                    value = renamed_keys(value, OLD_KEYS[key], f"config section {key!r}")
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
        return validate(cls(**kwargs), source=source)

    @classmethod
    def from_saved(cls, d: dict[str, Any], source: str) -> "RunConfig":
        """A run's saved config (config.json, a checkpoint's): also every value the networks and optimisers
        are rebuilt from must be there, since a saved run was resolved when it was written."""
        cfg = cls.from_dict(d, source=source)
        for key in RESOLVED_KEYS:
            section, name = key.split(".")
            if getattr(getattr(cfg, section), name) is None:
                raise ConfigError(f"{source}: {key} is null, but a saved run holds every resolved value; write "
                                  f"the value the run was trained with there, or start a new run")
        return cfg


def renamed_keys(section: dict[str, Any], renames: dict[str, str], where: str) -> dict[str, Any]:
    """The section with old key names replaced by their new ones; both names at once is an error."""
    out = dict(section)
    for old, new in renames.items():
        if old in out:
            if new in out:
                raise ConfigError(f"{where} has both {new!r} and its old name {old!r}; keep only {new!r}")
            out[new] = out.pop(old)
    return out


def validate(cfg: RunConfig, source: Optional[str] = None) -> RunConfig:
    """Check every value where it enters; raise a ConfigError naming the flag and the allowed values
    (or, for a config read from `source`, naming its key)."""
    def fail(flag: str, text: str) -> None:
        if source is None:
            raise ConfigError(f"{flag} {text}")
        raise ConfigError(f"{source}: {FLAG_KEYS.get(flag, flag)} {text}; correct it there or start a new run")

    m, o, b, d = cfg.model, cfg.optim, cfg.budget, cfg.data
    if not isinstance(m.family, str):  # which names exist, the family registry says (families.resolve)
        fail("--family", f"must be the name of a registered family, not {m.family!r}")
    if not isinstance(m.settings, dict) or not all(isinstance(k, str) for k in m.settings):
        fail("--family settings", f"must be a mapping of setting names to values, not {m.settings!r}")
    if not isinstance(m.arch, str) or not m.arch:
        fail("--arch", f"must be an architecture name, not {m.arch!r}")
    if not isinstance(cfg.device, str) or cfg.device not in DEVICES:
        fail("--device", f"must be one of {', '.join(DEVICES)}, not {cfg.device!r}")
    if not isinstance(cfg.precision, str) or cfg.precision not in PRECISIONS:
        fail("--precision", f"must be one of {', '.join(PRECISIONS)}, not {cfg.precision!r}")
    if cfg.precision == "fp16" and cfg.device in ("cpu", "mps"):
        fail("--precision", f"fp16 needs a CUDA GPU (--device {cfg.device} was asked for); use bf16 on a CPU")
    for flag, value, allow_none in (("--latent-dim", m.latent_dim, True), ("--hidden", m.hidden, True),
                                    ("--batch-size", o.batch_size, True), ("--steps", b.steps, True),
                                    ("--n-examples", d.n_examples, True), ("--image-size", d.image_size, True),
                                    ("log_every", cfg.log_every, False),
                                    ("checkpoint_every", cfg.checkpoint_every, False)):
        if not (value is None and allow_none) and not (_is_int(value) and value >= 1):
            fail(flag, f"must be a whole number >= 1, not {value!r}")
    for flag, value in (("--epochs", b.epochs), ("--minutes", b.minutes), ("--lr", o.lr)):
        if value is not None and not (_is_number(value) and 0 < value < float("inf")):
            fail(flag, f"must be a positive number, not {value!r}")
    # Beyond this ceil(epochs * batches) overflows (1e308 epochs: an OverflowError deep in the loop).
    if b.epochs is not None and b.epochs > MAX_EPOCHS:
        fail("--epochs", f"must be at most {MAX_EPOCHS:,}, not {b.epochs:g}")
    if o.betas is not None:
        if not (isinstance(o.betas, (tuple, list)) and len(o.betas) == 2
                and all(_is_number(v) and 0 <= v < 1 for v in o.betas)):
            fail("Adam betas", f"must be two numbers in [0, 1), not {o.betas!r}")
    if not (_is_int(cfg.seed) and 0 <= cfg.seed < 2**32):
        fail("--seed", f"must be a whole number from 0 to {2**32 - 1}, not {cfg.seed!r}")
    if not isinstance(d.name, str) or not d.name:
        fail("--data", f"must be a dataset name or a path, not {d.name!r}")
    if d.data_dir is not None and not isinstance(d.data_dir, str):
        fail("--data-dir", f"must be a folder's path, not {d.data_dir!r}")
    if not isinstance(d.download, bool):
        fail("--no-download", f"must be true or false, not {d.download!r}")
    # Beyond these a value is surely a typo, and numpy or the memory would fail deep inside instead.
    if d.n_examples is not None and d.n_examples > MAX_EXAMPLES:
        fail("--n-examples", f"must be at most {MAX_EXAMPLES:,}, not {d.n_examples:,}")
    if d.image_size is not None and d.image_size > MAX_IMAGE_SIZE:
        fail("--image-size", f"must be at most {MAX_IMAGE_SIZE} pixels, not {d.image_size:,}")
    if not (_is_int(d.seed) and 0 <= d.seed < 2**32):
        fail("--data-seed", f"must be a whole number from 0 to {2**32 - 1}, not {d.seed!r}")
    if not isinstance(d.split, str) or d.split not in ("train", "test"):
        fail("--split", f"must be train or test, not {d.split!r}")
    return cfg


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """An int or a float that is not NaN (bool is not a number here, though Python says it is an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


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
    n_eval: int = N_EVAL
    iw_samples: int = IW_SAMPLES
    nll_examples: int = NLL_EXAMPLES
    device: str = "auto"
    precision: str = "auto"

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


@dataclass(frozen=True)
class Shard:
    """Part `index` of `count` of a comparison's grid of runs, numbered from 1 as a job array numbers its tasks
    (`--shard 2/4`). The grid is taken in seed-major order (seed 0's families, then seed 1's, ...) and cut into
    `count` contiguous parts as equal as possible, so a shard trains whole seeds when `count` divides --seeds."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def part(self, grid: list) -> list:
        """This shard's runs of the whole grid, in the grid's order."""
        return grid[(self.index - 1) * len(grid) // self.count:self.index * len(grid) // self.count]


def parse_shard(text: Any) -> Shard:
    """'2/4' (or a Shard) -> Shard(2, 4); anything else is one sentence naming --shard."""
    if isinstance(text, Shard):
        index, count = text.index, text.count
    else:
        index_text, slash, count_text = str(text).strip().partition("/")
        try:
            index, count = int(index_text), int(count_text)
        except ValueError:
            index, count = 0, 0
        if not slash:
            index = 0
    if not 1 <= index <= count:
        raise ConfigError(f"--shard must be I/N with whole numbers 1 <= I <= N, such as 1/4 for the first of four "
                          f"shards, not {str(text)!r}")
    return Shard(index, count)


def validate_workers(workers: Any) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"--workers must be a whole number >= 1 (1 trains the runs one after another), "
                          f"not {workers!r}")
    return workers


def validate_compare(cfg: CompareConfig) -> CompareConfig:
    if len(set(cfg.families)) != len(cfg.families):
        raise ConfigError(f"--families must list distinct families, not {','.join(cfg.families)}")
    _positive_int("--seeds", cfg.seeds, allow_none=False)
    _positive_int("--images", cfg.images)
    _positive_int("--n-eval", cfg.n_eval, allow_none=False)
    _positive_int("--iw-samples", cfg.iw_samples, allow_none=False)
    _positive_int("--nll-examples", cfg.nll_examples, allow_none=False)
    b = cfg.budget
    if sum(v is not None for v in (b.minutes, b.epochs, b.steps, cfg.images)) != 1:
        raise ConfigError("give exactly one budget: --budget DURATION, --images N or --epochs N")
    if b.epochs is not None and not (_is_number(b.epochs) and 0 < b.epochs <= MAX_EPOCHS):
        raise ConfigError(f"--epochs must be a positive number of at most {MAX_EPOCHS:,}, not {b.epochs!r}")
    if cfg.device not in DEVICES:
        raise ConfigError(f"--device must be one of {', '.join(DEVICES)}, not {cfg.device!r}")
    if cfg.precision not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, not {cfg.precision!r}")
    return cfg
