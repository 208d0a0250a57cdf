"""The public Python API: GAN(...).fit(data), .sample(n_samples); VAE adds encode, reconstruct, score.

The command line calls these same classes.
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Optional, Union

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset as TorchDataset

from ._version import __version__
from .config import (CHECKPOINT_EVERY, LOG_EVERY, BudgetConfig, DataConfig, ModelConfig, OptimConfig,
                     RunConfig)
from .data import Dataset, load_dataset, name_part
from .errors import ConfigError, RunError, one_line
from .families import (FAMILIES, Family, GANFamily, VAEFamily, family_label, flag_of, given_settings,
                       make_settings, settings_dict)
from .families.base import with_settings_before
from .families.resolve import check_model, resolve
from .latent_prior import GMM_COMPONENTS
from .nets import ARCHS, AUTO
from .nets.given import GivenNetworks, check_networks, check_recorded, class_names, latent_size, take_networks
from .sizes import check_memory
from .train.checkpoint import latest_valid_checkpoint, load_checkpoint, save_checkpoint
from .train.distributed import RankZeroFailed, World
from .train.loop import Interrupted, autocast_for, fit as fit_loop, resolve_device, resolve_precision
from .train.lock import FolderLock
from .train.run import CONFIG, RunFolder

DataLike = Union[str, Path, DataConfig, Dataset, np.ndarray, torch.Tensor, TorchDataset, DataLoader]
# Samples are drawn in whole blocks of this many; sample i comes from block i // SAMPLE_CHUNK.
SAMPLE_CHUNK = 1000


def block_seed(seed: int, index: int) -> int:
    """The torch seed of block `index` of sample(n, seed): block i holds samples i*SAMPLE_CHUNK onwards, and its
    noise is torch.randn from this seed (so a user can feed an exported generator the same codes)."""
    return int(np.random.SeedSequence([seed % 2**64, index]).generate_state(1, np.uint64)[0])


def build_family(cfg: RunConfig, data_info: dict[str, Any], networks: Optional[dict[str, torch.nn.Module]] = None
                 ) -> Family:
    """Networks and objective for a resolved config and the data described by `data_info` (Dataset.info());
    weights drawn from the current torch seed. A conditional family gets the data's number of classes.
    networks: modules of the user's own, by network name, used instead of the architecture's (ganvae.nets.given)."""
    kind, data_shape = data_info["kind"], tuple(data_info["shape"])
    arch = ARCHS.get(cfg.model.arch)
    if networks:
        arch = GivenNetworks(arch, networks)
    arch.check(kind, data_shape)
    family_cls = FAMILIES.get(cfg.model.family)
    n_classes = 0
    if "conditional" in family_cls.capabilities:
        n_classes = int(data_info.get("n_classes") or 0)
        if n_classes < 2:
            raise ConfigError(f"the {family_cls.name} family is conditional and needs labelled data with at least "
                              f"2 classes (a folder of images in class subfolders, or a labelled dataset such as "
                              f"mnist5k); this data has {'no labels' if n_classes == 0 else 'one class'}")
    return family_cls(arch, kind, data_shape, latent_dim=cfg.model.latent_dim, hidden=cfg.model.hidden,
                      settings=make_settings(family_cls, cfg.model.settings), n_classes=n_classes)


def as_dataset(data: DataLike, data_cfg: Optional[DataConfig] = None) -> Dataset:
    """Accept a dataset name or path, a DataConfig, a Dataset, an array or tensor of examples, a map-style
    torch.utils.data.Dataset or a DataLoader (loaded into memory once; labels kept when it yields (x, y))."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, DataConfig):
        return load_dataset(data)
    if isinstance(data, (str, Path)):
        return load_dataset(replace(data_cfg or DataConfig(), name=str(data)))
    if isinstance(data, (np.ndarray, torch.Tensor)):
        from .data.files import array_dataset

        array = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else data
        # The same rules as a .npy file: rank 2 is standardised vectors, rank 3-4 images in [0, 1].
        return replace(array_dataset(array, Path("array")), source="an array passed to fit()")
    if isinstance(data, (TorchDataset, DataLoader)):
        from .data.torch_inputs import from_torch

        return from_torch(data)
    raise ConfigError(f"fit() takes a dataset name, a path, a Dataset, an array, a torch Dataset or a DataLoader, "
                      f"not {type(data).__name__}")


def stored_data_name(name: str) -> str:
    """How a run records its data: a registered name stays a name; a path becomes its absolute, resolved path,
    so resume and evaluate find it from any working folder (and a folder named like a registered set, say
    `digits`, is never mistaken for it)."""
    from .data import DATASETS

    if name in DATASETS:
        return name
    return str(Path(name).expanduser().resolve())


DATA_FLAGS = (("split", "--split"), ("n_examples", "--n-examples"), ("seed", "--data-seed"),
              ("image_size", "--image-size"))


def _resume_data(saved: DataConfig, run: RunFolder, data: DataLike, data_cfg: Optional[DataConfig]
                 ) -> tuple[Dataset, DataConfig, dict, list[str]]:
    """The data a resume trains on: the saved run's, or `data` if given (another location of the same
    examples: the subset settings must agree and the checksum in data.json must match).
    Returns the dataset, its DataConfig, its data.json and the changes to say."""
    requested: Optional[DataConfig] = None
    if data is None:
        requested = saved
    elif isinstance(data, DataConfig):
        requested = data
    elif isinstance(data, (str, Path)):
        requested = replace(data_cfg or saved, name=str(data))
    if requested is not None:
        requested = replace(requested, name=stored_data_name(requested.name))
        for key, flag in DATA_FLAGS:
            asked, kept = getattr(requested, key), getattr(saved, key)
            if asked != kept:
                raise ConfigError(f"{flag} {_shown(asked)} contradicts the run in {run.path}, which was trained "
                                  f"with {flag} {_shown(kept)}; drop the flag or start a new run with another --out")
        dataset = load_dataset(requested)
        data_cfg = replace(saved, name=requested.name, data_dir=requested.data_dir, download=requested.download)
    else:  # in memory: it cannot be reloaded by name, so the caller passes it again
        dataset, data_cfg = as_dataset(data), saved
    trained_on = run.read_data_info()
    if list(dataset.shape) != list(trained_on.get("shape", [])):
        raise ConfigError(f"the data given to resume has examples of shape {dataset.shape}, but the run "
                          f"in {run.path} was trained on {tuple(trained_on.get('shape', []))}")
    checksum = dataset.checksum()
    if trained_on.get("sha256") not in (None, checksum):
        raise ConfigError(f"the data given to resume ({data_cfg.name}) is not the data the run in {run.path} was "
                          f"trained on (its sha256 differs from data.json's); give --data the data it was trained "
                          f"on, or start a new run with another --out")
    changes = [f"--data {data_cfg.name} (was {saved.name}; the same examples by checksum)"
               if trained_on.get("sha256") else f"--data {data_cfg.name} (was {saved.name})"] \
        if data_cfg.name != saved.name else []
    return dataset, data_cfg, {**dataset.info(), "sha256": checksum}, changes


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _budget_text(budget: BudgetConfig) -> str:
    parts = [f"--{key} {_shown(value)}" for key, value in (("epochs", budget.epochs), ("steps", budget.steps),
                                                           ("minutes", budget.minutes)) if value is not None]
    return " ".join(parts) or "none"


# Training holds each parameter four times: the weights, their gradients and Adam's two moment estimates.
TRAINING_COPIES = 4


def parameter_bytes(cfg: RunConfig, data_info: dict[str, Any]) -> int:
    """Bytes of the networks' parameters for a resolved config, counted on the meta device (nothing is
    allocated, and the random state is left as it was)."""
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        family = build_family(cfg, data_info)
    return sum(p.numel() * p.element_size() for p in family.parameters())


def device_memory(name: str) -> tuple[int, str]:
    """(bytes, what) of the memory training on `name` would use: the GPU's, or this machine's RAM."""
    if name in ("auto", "cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory, "the GPU's memory"
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's memory"
    except (ValueError, OSError, AttributeError):  # not a POSIX system: no limit known
        return 2**62, "this machine's memory"


def check_network_memory(cfg: RunConfig, data_info: dict[str, Any]) -> None:
    """ConfigError, before anything is written, when the networks could not be trained in memory."""
    needed = parameter_bytes(cfg, data_info) * TRAINING_COPIES
    available, what = device_memory(cfg.device)
    if needed > available:
        gib = 2**30
        raise ConfigError(f"--hidden {cfg.model.hidden} with --latent-dim {cfg.model.latent_dim} makes networks of "
                          f"{needed / TRAINING_COPIES / gib:,.1f} GiB of parameters ({needed / gib:,.1f} GiB to "
                          f"train with Adam), more than {what} ({available / gib:,.1f} GiB); use a smaller --hidden")


logger = logging.getLogger("ganvae")


def _from_saved(d: dict, source: str) -> RunConfig:
    """A saved run's config (RunConfig.from_saved) with the settings it predates at the values it was trained
    with (families.base.with_settings_before)."""
    return with_settings_before(RunConfig.from_saved(d, source=source))


def _check_belongs(run: RunFolder, found: Path, cfg: RunConfig, info: dict) -> None:
    """RunError when the checkpoint found in a run folder is not that run's (family, networks, data shape)."""
    folder = _from_saved(run.read_config(), source=str(run.file(CONFIG)))
    shape = run.read_data_info().get("shape")

    def describe(c: RunConfig, data_shape) -> str:
        return (f"a {family_label(c.model.family)} ({c.model.arch}, hidden {c.model.hidden}, "
                f"latent {c.model.latent_dim}) "
                f"for data of shape {list(data_shape or [])}")

    ours = (folder.model.family, folder.model.arch, folder.model.hidden, folder.model.latent_dim, shape)
    theirs = (cfg.model.family, cfg.model.arch, cfg.model.hidden, cfg.model.latent_dim, info.get("shape"))
    if ours != theirs:
        raise RunError(f"{found} holds {describe(cfg, info.get('shape'))}, but {run.file(CONFIG)} describes "
                       f"{describe(folder, shape)}: the checkpoint is not this run's; move it out of the folder "
                       f"or train the run again")


def _say_unfinished(run: RunFolder, found: Path, state: dict) -> None:
    """One line on stderr (the `ganvae` logger) when the run is still training, failed or was stopped."""
    try:
        status = run.status()
    except RunError:
        status = {"state": "unknown"}
    kind = status.get("state")
    if kind in ("running", "failed", "interrupted"):
        step = (state.get("train_state") or {}).get("step")
        why = {"running": "is still training (or was killed)", "failed": "failed", "interrupted": "was stopped"}
        message = f": {status['message']}" if status.get("message") else ""
        logger.warning(f"ganvae: note: the run in {run.path} {why[kind]} (status.json says {kind}{message}); "
                       f"using its newest checkpoint, {found.name} at step {step}")


class Model:
    """One facade for every registered family: hyperparameters in __init__, learned state after fit.

    `Model("gan", ...)` trains the family registered as "gan"; `GAN(...)` and `VAE(...)` are the same with the
    family fixed. A family's own settings (a VAE's `kl_weight`, ...) are keyword arguments too, checked against
    its `Settings`. Methods that need a capability (`encode`, `reconstruct` need an encoder, `score` a
    likelihood) say so in one line when the family lacks it.

    Your own networks are keyword arguments by the family's network names (`GAN(generator=g, discriminator=d)`,
    `VAE(encoder=e, decoder=d)`; see ganvae.nets.given). progress: a bar while training (None: in a Jupyter
    notebook only). tensorboard: also write a TensorBoard view into `out` (ganvae.report.tensorboard).
    """

    family_cls: ClassVar[Optional[type[Family]]] = None  # fixed by GAN, VAE; None: given to __init__

    def __init__(self, family: Optional[str] = None, *, arch: str = "auto", latent_dim: Optional[int] = None,
                 hidden: Optional[int] = None, lr: Optional[float] = None,
                 betas: Optional[tuple[float, float]] = None, batch_size: Optional[int] = None,
                 epochs: Optional[float] = None, steps: Optional[int] = None, minutes: Optional[float] = None,
                 seed: int = 0, device: str = "auto", precision: str = "auto",
                 out: Optional[Union[str, Path]] = None,
                 progress: Optional[bool] = None, log_every: int = LOG_EVERY,
                 checkpoint_every: int = CHECKPOINT_EVERY,
                 settings: Optional[dict[str, Any]] = None, tensorboard: bool = False, **setting_values: Any):
        if self.family_cls is not None:
            if family is not None and family != self.family_cls.name:
                raise ConfigError(f"{type(self).__name__} trains the {self.family_cls.name} family, not {family!r}; "
                                  f"use ganvae.Model({family!r}, ...)")
            family = self.family_cls.name
        elif family is None:
            raise ConfigError(f"Model needs a family: one of {', '.join(FAMILIES.names())}")
        self.family_name = family
        # The user's own nn.Modules (generator=, discriminator=; encoder=, decoder=), trained in place.
        self.networks = take_networks(FAMILIES.get(family), setting_values)
        self.arch = arch
        self.latent_dim = latent_dim if latent_dim is not None or not self.networks else latent_size(self.networks)
        self.hidden = hidden
        self.lr = lr
        self.betas = betas
        self.batch_size = batch_size
        self.epochs = epochs
        self.steps = steps
        self.minutes = minutes
        self.seed = seed
        self.device = device
        self.precision = precision
        self.out = out
        self.progress = progress
        self.log_every = log_every
        self.checkpoint_every = checkpoint_every
        self.settings = {**(settings or {}), **setting_values}
        self.tensorboard = tensorboard  # write a TensorBoard view into out/tensorboard (ganvae.report.tensorboard)
        check_model(self._config())  # validate early: a bad value fails at construction, naming the flag
        self.family_: Optional[Family] = None
        self.config_: Optional[RunConfig] = None
        self.data_info_: Optional[dict[str, Any]] = None
        self.run_dir_: Optional[Path] = None
        self.figures_: dict[str, Path] = {}
        self._figure_data: Optional[Dataset] = None  # the first real examples fit saw, which plot() shows

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.family_cls is not None:
            _FACADES[cls.family_cls.name] = cls

    @staticmethod
    def of(family: str, **kwargs: Any) -> "Model":
        """A model of the registered family `family`, as its named facade (GAN, VAE) where it has one."""
        FAMILIES.get(family)  # an unknown name is one line listing the registered families
        model_cls = _FACADES.get(family, Model)
        return model_cls(None if model_cls.family_cls is not None else family, **kwargs)

    @property
    def capabilities(self) -> frozenset[str]:
        """What the family can do beyond sampling: "encoder" (encode, reconstruct), "likelihood" (score),
        "adversarial", "conditional" (labels)."""
        return FAMILIES.get(self.family_name).capabilities

    def _require(self, capability: str, what: str) -> Family:
        family = self._check_fitted()
        if capability == "conditional" and capability not in family.capabilities:
            conditional = ", ".join(n for n in FAMILIES.names() if FAMILIES.get(n).has("conditional"))
            raise ConfigError(f"the {self.family_name} family is not conditional, so it cannot {what}; train a "
                              f"conditional family ({conditional}) on labelled data")
        if capability not in family.capabilities:
            raise ConfigError(f"the {self.family_name} family has no {capability}, so it cannot {what}")
        return family

    def _config(self, data: Optional[DataConfig] = None) -> RunConfig:
        return RunConfig(
            data=data or DataConfig(),
            model=ModelConfig(family=self.family_name, arch=self.arch, latent_dim=self.latent_dim,
                              hidden=self.hidden, settings=dict(self.settings)),
            optim=OptimConfig(lr=self.lr, betas=tuple(self.betas) if self.betas else None,
                              batch_size=self.batch_size),
            budget=BudgetConfig(epochs=self.epochs, steps=self.steps, minutes=self.minutes),
            seed=self.seed, device=self.device, precision=self.precision, log_every=self.log_every,
            checkpoint_every=self.checkpoint_every,
        )

    @classmethod
    def from_config(cls, cfg: RunConfig, out: Optional[Union[str, Path]] = None, progress: bool = False,
                    tensorboard: bool = False) -> "Model":
        """The facade for cfg's family (GAN, VAE, or Model for any other registered family)."""
        m, o, b = cfg.model, cfg.optim, cfg.budget
        return Model.of(m.family, arch=m.arch, latent_dim=m.latent_dim, hidden=m.hidden, lr=o.lr, betas=o.betas,
                        batch_size=o.batch_size, epochs=b.epochs, steps=b.steps, minutes=b.minutes, seed=cfg.seed,
                        device=cfg.device, precision=cfg.precision, out=out, progress=progress,
                        log_every=cfg.log_every, checkpoint_every=cfg.checkpoint_every, settings=dict(m.settings),
                        tensorboard=tensorboard)

    def resolved_config(self, data: DataLike, data_cfg: Optional[DataConfig] = None) -> tuple[RunConfig, Dataset]:
        """The complete config fit() would use for this data (for printing before running)."""
        dataset = as_dataset(data, data_cfg)
        if isinstance(data, DataConfig):
            data_cfg = data
        name = stored_data_name(str(data)) if isinstance(data, (str, Path)) else \
            stored_data_name(data.name) if isinstance(data, DataConfig) else dataset.name
        data_cfg = replace(data_cfg or DataConfig(), name=name)
        cfg = resolve(self._config(data_cfg), dataset.kind, dataset.shape)
        if cfg.optim.batch_size > len(dataset):
            raise ConfigError(f"--batch-size {cfg.optim.batch_size} is larger than the dataset "
                              f"({len(dataset)} examples); use --batch-size {len(dataset)} or less")
        World.current().share(cfg.optim.batch_size)  # under torchrun: a batch the ranks cannot share, before any file
        if self.networks:  # their shapes, on one dummy batch; the architecture builds the rest
            build_family(cfg, dataset.info(), self.networks)
            check_networks(self.networks, cfg.model.latent_dim, dataset.shape)
        else:
            ARCHS.get(cfg.model.arch).check(dataset.kind, dataset.shape)
            check_network_memory(cfg, dataset.info())
        device = resolve_device(cfg.device)
        # The precision the run trains in, recorded in its config.json (auto: bf16 for the conv networks where the
        # hardware has it; a user's own networks stay fp32).
        precision = resolve_precision(device, cfg.precision,
                                      bf16_pays=not self.networks and ARCHS.get(cfg.model.arch).bf16_pays)
        autocast_for(device, precision)  # fp16 off CUDA: one line before any file
        return replace(cfg, precision=precision), dataset

    def fit(self, data: DataLike, resume: bool = False, data_cfg: Optional[DataConfig] = None,
            say: Optional[Callable[[str], None]] = None) -> "Model":
        """Train on `data`: a dataset name or path, a DataConfig, a Dataset, or an array of examples.

        With `out` set, a run folder is written there, and this process holds its lock until fit returns (a
        second writer is refused, naming this one). `resume=True` continues the run in `out` from its newest
        valid checkpoint; when `out` holds no run yet and `data` is given, it starts one, so the same call can
        be repeated after a kill at any moment. On resume the saved run decides: a setting of this model that
        contradicts it (family, arch, hidden, latent_dim, beta, betas, batch_size, seed, the data's split,
        subset or image size) is refused, while a budget, lr, device, log_every, checkpoint_every or a new
        location of the same data (checked by checksum) is applied and said.
        fit draws no figures: `plot()` draws them into the run folder (`ganvae train` and `compare` call it).
        say: called with each one-line note (what was resumed or started, what was applied, a lock taken over
        from a dead process); the notes are also kept in `notes_`.

        Launched by torchrun with several processes, every process calls fit alike and trains with
        DistributedDataParallel (`batch_size` is the global batch; see ganvae.train.distributed): rank 0 prepares
        and writes the run folder, the other ranks train the same run without writing (their `plot()` draws
        nothing) and end with the same weights.
        """
        self.notes_: list[str] = []

        def note(message: str) -> None:
            self.notes_.append(message)
            if say is not None:
                say(message)

        world = World.from_env(resolve_device(self.device or "auto"))
        self.world_ = world
        if not world.distributed or self.out is None:
            return self._fit(data, resume, data_cfg, note)
        if not world.is_main:
            return self._follow(world, data, data_cfg)
        announced = False

        def announce(start: dict) -> None:
            """Tell the other ranks how the run starts: its config, data.json and checkpoint."""
            nonlocal announced
            world.broadcast(start)
            announced = True

        try:
            return self._fit(data, resume, data_cfg, note, announce)
        except BaseException as exc:
            if not announced:  # the other ranks wait to hear how the run starts: tell them it does not
                world.broadcast({"error": one_line(exc) or type(exc).__name__})
            raise

    def _follow(self, world: World, data: DataLike, data_cfg: Optional[DataConfig]) -> "Model":
        """A rank other than 0 under torchrun: train the run rank 0 prepared (its config, data and checkpoint),
        writing nothing."""
        start = world.broadcast(None)
        if "error" in start:
            raise RankZeroFailed(f"rank 0 could not start the run: {start['error']}")
        cfg = RunConfig.from_dict(start["config"], source="rank 0")
        in_memory = data is not None and not isinstance(data, (str, Path, DataConfig))
        dataset = as_dataset(data, data_cfg) if in_memory else load_dataset(cfg.data)
        resume_state = load_checkpoint(Path(start["checkpoint"])) if start["checkpoint"] else None
        return self._train(cfg, dataset, None, resume_state, start["info"], run_dir=Path(self.out))

    def _fit(self, data: DataLike, resume: bool, data_cfg: Optional[DataConfig], note: Callable[[str], None],
             announce: Optional[Callable[[dict], None]] = None) -> "Model":
        """fit, in this process (rank 0 under torchrun, which `announce`s the start to the other ranks)."""
        if self.tensorboard:
            from .report.tensorboard import summary_writer_class

            if self.out is None:
                raise ConfigError("tensorboard=True writes its view into the run folder: set out= as well")
            summary_writer_class()  # a missing package is one line, before anything is written
        if self.out is None:
            if resume:
                raise ConfigError("resume needs the run folder: set out= (on the command line, --out DIR)")
            cfg, dataset = self.resolved_config(data, data_cfg)
            return self._train(cfg, dataset, None, None, say=note)
        out = Path(self.out)
        if resume and data is None and not out.is_dir():
            RunFolder.open(out)  # nothing to continue and nothing to start one from: its one line
        if not resume:  # a bad setting fails before anything is written
            cfg, dataset = self.resolved_config(data, data_cfg)
        made = RunFolder.prepare(out)
        lock = FolderLock(out, f"ganvae train {self.family_name}")
        taken_over = lock.acquire()  # before looking for a run: two starts cannot both create one
        written = False
        try:
            if taken_over:
                note(taken_over)
            resume_state = None
            if resume and RunFolder.holds_run(out):
                run, cfg, dataset, info, resume_state = self._continue(RunFolder.open(out), data, data_cfg, note)
            else:
                if resume:
                    if data is None:
                        RunFolder.open(out)  # no config.json: its one line
                    cfg, dataset = self.resolved_config(data, data_cfg)
                    note(f"nothing to resume in {out}: started a new run there")
                run = RunFolder.create(out)
                info = {**dataset.info(), "sha256": dataset.checksum()}
                run.write_config(cfg.to_dict(), info)
            if announce is not None:
                resumed_path = self.resumed_from_[0] if resume_state is not None else None
                announce({"config": cfg.to_dict(), "info": info,
                          "checkpoint": str(resumed_path) if resumed_path else None})
            written = True
            return self._train(cfg, dataset, run, resume_state, info, say=note)
        finally:
            if made and not written:
                RunFolder.discard_empty(out)
            lock.release()

    def _continue(self, run: RunFolder, data: DataLike, data_cfg: Optional[DataConfig],
                  note: Callable[[str], None]) -> tuple[RunFolder, RunConfig, Dataset, dict, Optional[dict]]:
        """The saved run's config with this model's allowed changes, its data and data.json, and its newest
        checkpoint."""
        path, resume_state, skipped = latest_valid_checkpoint(run.path)
        if resume_state is None and skipped:
            raise RunError(f"{run.path} has no valid checkpoint to resume from ({'; '.join(skipped)}); "
                           f"start a new run")
        saved = _from_saved(run.read_config(), source=str(run.file(CONFIG)))
        cfg, changes = self._resume_config(saved, run.path)
        dataset, data_cfg, info, data_changes = _resume_data(saved.data, run, data, data_cfg)
        check_recorded((resume_state or {}).get("networks"), self.networks, run.path, family_label(self.family_name))
        if self.networks:
            check_networks(self.networks, cfg.model.latent_dim, dataset.shape)
        cfg, changes = replace(cfg, data=data_cfg), changes + data_changes
        b = cfg.budget
        if b.epochs is None and b.steps is None and b.minutes is None:
            raise ConfigError(f"{run.file(CONFIG)}: budget has no limit (epochs, steps and minutes are all null), "
                              f"so the run would never end; give one with --steps, --epochs or --minutes")
        # No checkpoint at all: the run stopped before its first step, so it starts again from step 0.
        self.resumed_from_ = (path, int(resume_state["train_state"]["step"]) if resume_state else 0, skipped)
        for why in skipped:
            note(f"skipped: {why}")
        note(f"resumed from {path} (step {self.resumed_from_[1]})" if path else
             "no checkpoint was written before the run stopped: trained again from step 0")
        for change in changes:
            note(f"applied {change}")
        if cfg != saved:  # config.json says what the run now is (data.json, where its data now is)
            run.write_config(cfg.to_dict(), info)
        return run, cfg, dataset, info, resume_state

    def _resume_config(self, saved: RunConfig, where: Path) -> tuple[RunConfig, list[str]]:
        """`saved` with this model's budget, lr, device and bookkeeping intervals where they differ (listed
        as changes); ConfigError naming the first setting that contradicts the saved run."""
        if self.family_name != saved.model.family:
            raise ConfigError(f"{where} holds a {family_label(saved.model.family)} run, not a "
                              f"{family_label(self.family_name)}; "
                              f"resume it with `ganvae train {saved.model.family} ...` (or `ganvae train --resume "
                              f"--out {where}` alone), or choose another --out")
        family_cls = FAMILIES.get(saved.model.family)
        asked_settings = settings_dict(make_settings(family_cls, self.settings))
        kept_settings = settings_dict(make_settings(family_cls, saved.model.settings))
        given = given_settings(family_cls, self.settings)  # only a setting this model names can contradict
        fixed = (("--arch", None if self.arch == AUTO else self.arch, saved.model.arch), ("--latent-dim", self.latent_dim, saved.model.latent_dim),
                 ("--hidden", self.hidden, saved.model.hidden),
                 ("--batch-size", self.batch_size, saved.optim.batch_size), ("--seed", self.seed, saved.seed),
                 ("Adam betas", tuple(self.betas) if self.betas else None, saved.optim.betas),
                 *((flag_of(name), asked_settings[name] if name in given else None, kept_settings[name])
                   for name in asked_settings))
        for flag, asked, kept in fixed:
            if asked is not None and asked != kept:
                raise ConfigError(f"{flag} {_shown(asked)} contradicts the run in {where}, which was trained with "
                                  f"{flag} {_shown(kept)}; drop the flag (a resume keeps the saved value) or start "
                                  f"a new run with another --out")
        changes: list[str] = []
        cfg = saved
        asked = self._config(saved.data)
        if asked.budget != BudgetConfig():
            if asked.budget != saved.budget:
                changes.append(f"budget {_budget_text(asked.budget)} (was {_budget_text(saved.budget)})")
            cfg = replace(cfg, budget=asked.budget)
        if self.lr is not None and self.lr != saved.optim.lr:
            changes.append(f"--lr {self.lr:g} (was {saved.optim.lr:g})")
            cfg = replace(cfg, optim=replace(cfg.optim, lr=self.lr))
        for flag, key in (("--device", "device"), ("--precision", "precision"), ("--log-every", "log_every"),
                          ("--checkpoint-every", "checkpoint_every")):
            value = getattr(self, key)
            if key == "precision" and value == "auto":
                continue  # a resumed run keeps the precision it was started with
            if value is not None and value != getattr(saved, key):
                changes.append(f"{flag} {value} (was {getattr(saved, key)})")
                cfg = replace(cfg, **{key: value})
        return cfg, changes

    def _train(self, cfg: RunConfig, dataset: Dataset, run: Optional[RunFolder], resume_state: Optional[dict],
               info: Optional[dict] = None, run_dir: Optional[Path] = None,
               say: Optional[Callable[[str], None]] = None) -> "Model":
        """Train; `run` is the folder this process writes (status, TensorBoard), `run_dir` the folder of a run
        that rank 0 writes while this rank trains beside it; `say` takes the loop's notes."""
        torch.manual_seed(cfg.seed)
        info = info or dataset.info()
        family = build_family(cfg, info, self.networks)
        self.family_, self.config_, self.data_info_ = family, cfg, info
        self.run_dir_ = run.path if run is not None else run_dir
        extra = {"config": cfg.to_dict(), "data_info": info, "ganvae_version": __version__,
                 **({"networks": class_names(self.networks)} if self.networks else {})}
        if run is not None:
            run.set_status("running")
        board = None
        if self.tensorboard and run is not None:
            from .report.tensorboard import RunBoard

            board = RunBoard(family, run.path, cfg.to_dict(), sample_every=cfg.checkpoint_every,
                             resume_step=int(resume_state["train_state"]["step"]) if resume_state else None)
        try:
            try:
                self.state_ = fit_loop(family, dataset.x, cfg, run_dir=self.run_dir_, resume=resume_state,
                                       progress=self._shows_progress(), checkpoint_extra=extra, y=dataset.y,
                                       on_log=board.log_row if board else None, say=say)
            except BaseException:
                if board is not None:
                    board.close()
                raise
            if board is not None:
                board.close(final_step=self.state_.step)  # with the last grid
            family.eval()
        except KeyboardInterrupt:  # outside the loop's own handler (a second Ctrl-C): still resumable
            if run is not None:
                run.set_status("interrupted", message="interrupted")
            raise Interrupted("interrupted; the newest valid checkpoint is kept") from None
        except Interrupted as exc:
            if run is not None:
                run.set_status("interrupted", message=str(exc))
            raise
        except RunError as exc:
            if run is not None:
                run.set_status("failed", message=str(exc))
            raise
        if run is not None:
            run.set_status("finished", step=self.state_.step, seconds=round(self.state_.seconds, 3),
                           images_seen=self.state_.images_seen)
        # The run figures show real examples beside generated ones: keep a copy of as many as they show.
        from .report.figures import N_SCATTER

        self._figure_data = replace(dataset, x=dataset.x[:N_SCATTER].clone(),
                                    y=None if dataset.y is None else dataset.y[:N_SCATTER].clone())
        return self

    def plot(self, data: DataLike = None) -> dict[str, Path]:
        """Draw the run figures into the run folder: samples.png (a 10x10 grid, or for 2-D data generated
        points over real ones), losses.png (from log.csv), interpolations.png (images) and, for a family with an
        encoder, reconstructions.png (and, unconditional, samples-gmm.png: codes from the mixture fitted to the
        encoded training data). `fit` draws none; `ganvae train` and `ganvae compare` call this after
        training. Returns {figure name: path}, also kept in `figures_`.

        data: the real examples shown beside the model's; default the data fit saw in this process, or, for a
        loaded model, the data its config names.
        Under torchrun, only rank 0 draws (the others return {}).
        """
        from .report.figures import write_run_figures

        self._check_fitted()
        if not getattr(self, "world_", World()).is_main:
            self.figures_ = {}
            return self.figures_
        if self.run_dir_ is None:
            raise ConfigError("plot draws into the run folder, and this model has none: fit it with out=DIR "
                              "(or load it from a run folder)")
        if data is not None:
            dataset = as_dataset(data)
        else:
            dataset = self._figure_data if self._figure_data is not None else self._saved_data()
        run = RunFolder(self.run_dir_)
        with FolderLock(run.path, f"ganvae: drawing the figures of a {self.family_name} run"):
            try:
                self.figures_ = write_run_figures(self, dataset, run.path)
            except KeyboardInterrupt:  # the checkpoint is saved; a resume draws the figures again
                run.set_status("interrupted", message="interrupted while drawing the figures")
                raise Interrupted("interrupted; the newest valid checkpoint is kept") from None
            except (OSError, ValueError, RuntimeError) as exc:
                raise RunError(f"training finished and its checkpoint is saved, but drawing the figures in "
                               f"{run.path} failed ({type(exc).__name__}: {exc}); `ganvae sample {run.path} -o "
                               f"grid.png` draws samples from the checkpoint") from None
        return self.figures_

    def _saved_data(self) -> Dataset:
        """The data a loaded model's config names (a registered set or a path), for its figures."""
        data_cfg = self.config_.data
        try:
            return load_dataset(data_cfg)
        except ConfigError as exc:
            raise ConfigError(f"{exc}; plot(data=...) takes the examples to show instead") from None

    def _shows_progress(self) -> bool:
        """progress=None (the default) shows a bar in a Jupyter notebook only."""
        if self.progress is None:
            from .kernel import in_notebook

            return in_notebook()
        return bool(self.progress)

    def _check_fitted(self) -> Family:
        if self.family_ is None:
            raise RunError(f"this {type(self).__name__} is not fitted yet; call fit(data) or load(path) first")
        return self.family_

    def _to_original(self, x: np.ndarray) -> np.ndarray:
        info = self.data_info_ or {}
        if info.get("offset") is None:
            return x.astype(np.float32)
        return (x * np.asarray(info["scale"], np.float32) + np.asarray(info["offset"], np.float32)).astype(np.float32)

    def _to_model(self, x) -> torch.Tensor:
        info = self.data_info_ or {}
        x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float32)
        expected = tuple(info.get("shape", ()))
        if x.shape[1:] != expected:
            raise ConfigError(f"expected examples of shape {expected}, got an array of shape {x.shape}")
        if info.get("offset") is not None:
            x = (x - np.asarray(info["offset"], np.float32)) / np.asarray(info["scale"], np.float32)
        return torch.from_numpy(np.ascontiguousarray(x)).to(self._check_fitted().device)

    def sample(self, n_samples: int, seed: Optional[int] = None, labels=None,
               prior: Optional[str] = None) -> np.ndarray:
        """n_samples new examples as float32: images (N, C, H, W) in [0, 1]; vectors in the data's units.

        With a seed, sample i depends on the seed and i only: the first 10 of sample(1000, seed) are
        sample(10, seed). labels (a conditional family only): one class for all, or one per sample.
        prior: "normal" draws codes from N(0, I); "gmm" from a Gaussian mixture fitted to the encoded training
        data (see `latent_prior`; a family with an encoder only); "auto": gmm for an unconditional family with
        an encoder and no adversarial decoder (the VAE, IWAE), else normal; None: the one `use_prior` chose, else normal."""
        shape = self._sample_shape(n_samples)
        check_memory(4 * n_samples * math.prod(shape), f"{n_samples} samples of shape {shape}",
                     "draw fewer, or stream them to a file: `ganvae sample RUN -n N -o samples.npy`")
        out = np.empty((n_samples, *shape), dtype=np.float32)
        for start, block in self.sample_blocks(n_samples, seed=seed, labels=labels, prior=prior):
            out[start:start + len(block)] = block
        return out

    sampling_prior: str = "normal"  # what sample() draws codes from when not told; set by use_prior
    latent_prior_ = None  # the fitted mixture (ganvae.latent_prior.LatentPrior), once latent_prior() ran
    _prior_options: tuple[int, int] = (GMM_COMPONENTS, 0)  # n_components, seed of the last latent_prior() call

    def latent_prior(self, n_components: int = GMM_COMPONENTS, data=None, seed: int = 0):
        """A full-covariance Gaussian mixture of n_components fitted (with this seed) to the encoded means of the
        training data (Ghosh et al. 2020): sample(prior="gmm") draws codes from it instead of N(0, I). data: the
        training examples in the data's units; None: the mixture fitted last for these weights, else the run's
        training split, reloaded. Cached in the run folder
        (latent_prior.npz) and fitted again when the weights change. Needs a family with an encoder."""
        from .latent_prior import latent_prior

        family = self._require("encoder", "fit a latent prior to its codes")
        if "conditional" in family.capabilities:
            raise ConfigError(f"the {self.family_name} family is conditional, and a fitted latent prior is for "
                              f"unconditional families; sample with labels and the N(0, I) prior")
        prior = latent_prior(self, n_components, data, seed)
        self._prior_options = (n_components, seed)
        return prior

    def use_prior(self, prior: str, n_components: int = GMM_COMPONENTS) -> "Model":
        """Make sample() (and what calls it: write_samples, `ganvae sample`) draw codes from `prior` ("normal",
        "gmm", fitted now with n_components, or "auto": gmm for an unconditional family with an encoder and no
        adversarial decoder, else normal) when not told otherwise."""
        from .latent_prior import resolve_prior

        prior = resolve_prior(prior, self.capabilities)
        if prior == "gmm":
            self.latent_prior(n_components)
        self.sampling_prior = prior
        return self

    def _codes_prior(self, prior: Optional[str]):
        """The LatentPrior to draw codes from, or None for the family's own N(0, I)."""
        from .latent_prior import check_prior, resolve_prior

        prior = self.sampling_prior if prior is None else prior
        if check_prior(prior, "prior", auto=True) == "auto":
            prior = resolve_prior(prior, self.capabilities)
        if prior == "normal":
            return None
        n_components, seed = self._prior_options
        return self.latent_prior(n_components, seed=seed)

    def sample_blocks(self, n_samples: int, seed: Optional[int] = None,
                      labels=None, prior: Optional[str] = None) -> Iterator[tuple[int, np.ndarray]]:
        """The samples of sample(n_samples, seed, labels, prior), in order, as (start, block of at most
        SAMPLE_CHUNK): any number of them in bounded memory. Every block is drawn whole, from its own seed (seed,
        block index), and cut, so no sample depends on n_samples (torch.randn(10) is not the start of
        torch.randn(1000))."""
        self._sample_shape(n_samples)
        labels = self._sample_labels(n_samples, labels)
        codes_prior = self._codes_prior(prior)
        for index, start in enumerate(range(0, n_samples, SAMPLE_CHUNK)):
            block_labels = None
            if labels is not None:  # padded to a whole block with class 0; the padding is cut off with its samples
                block_labels = torch.zeros(SAMPLE_CHUNK, dtype=torch.int64)
                part = labels[start:start + SAMPLE_CHUNK]
                block_labels[:len(part)] = part
            yield start, self._sample_block(index, seed, block_labels, codes_prior)[: n_samples - start]

    def _sample_labels(self, n_samples: int, labels) -> Optional[torch.Tensor]:
        """labels as an int64 tensor of n_samples classes, checked against the family and the data; class names
        are accepted (see class_index)."""
        if labels is None:
            return None
        family = self._require("conditional", "sample given labels")
        if isinstance(labels, str) or (isinstance(labels, (list, tuple)) and any(isinstance(v, str) for v in labels)):
            labels = [self.class_index(v) for v in ([labels] if isinstance(labels, str) else labels)]
        array = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels)
        if array.dtype.kind not in "iu" and not (array.dtype.kind == "f" and np.array_equal(array, np.round(array))):
            raise ConfigError(f"labels must be whole class numbers or class names, not values of type {array.dtype}")
        values = torch.as_tensor(array).long().reshape(-1)
        if values.numel() == 1:
            values = values.expand(n_samples).clone()
        if values.numel() != n_samples:
            raise ConfigError(f"labels must be one class or one per example ({n_samples}), not {values.numel()}")
        if bool((values < 0).any()) or bool((values >= family.n_classes).any()):
            raise ConfigError(f"labels must be classes from 0 to {family.n_classes - 1}")
        return values

    def class_index(self, label: Union[int, str]) -> int:
        """The class number of `label`: one of the data's class names (a folder's subfolder names, Fashion-MNIST's
        "Trouser" ...; a name is looked up first), or a whole number from 0 to n_classes - 1. Needs a conditional
        family; anything else is one line listing the classes."""
        family = self._require("conditional", "sample a given class")
        names = [str(name) for name in (self.data_info_ or {}).get("class_names") or []]
        if isinstance(label, str) and label in names:
            return names.index(label)
        number = label
        if isinstance(label, str):
            try:
                number = int(label.strip())
            except ValueError:
                number = None
        if isinstance(number, (int, np.integer)) and not isinstance(number, bool) and 0 <= number < family.n_classes:
            return int(number)
        shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
        choices = f"a class number from 0 to {family.n_classes - 1}" + (f" or a class name ({shown})" if names else "")
        raise ConfigError(f"label {label!r} is not a class of the data {self.data_info_.get('name')} was trained on; "
                          f"give {choices}")

    def _labels_kwarg(self, n_examples: int, labels, what: str) -> dict[str, torch.Tensor]:
        """{"labels": tensor on the family's device} for a conditional family (which needs them), {} otherwise."""
        family = self._check_fitted()
        if "conditional" not in family.capabilities:
            if labels is not None:
                self._require("conditional", f"{what} given labels")
            return {}
        if labels is None:
            raise ConfigError(f"the {self.family_name} family is conditional, so {what} needs the examples' labels: "
                              f"pass labels= (one class, or one per example)")
        return {"labels": self._sample_labels(n_examples, labels).to(family.device)}

    def _sample_shape(self, n_samples: int) -> tuple[int, ...]:
        self._check_fitted()
        if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 1:
            raise ConfigError(f"n_samples must be a whole number >= 1, not {n_samples!r}")
        return tuple(self.data_info_["shape"])

    @torch.no_grad()
    def _sample_block(self, index: int, seed: Optional[int], labels: Optional[torch.Tensor] = None,
                      codes_prior=None) -> np.ndarray:
        family = self._check_fitted()
        was_training = family.training
        family.eval()
        devices = [family.device] if family.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices) if seed is not None else nullcontext():
                if seed is not None:
                    torch.manual_seed(block_seed(seed, index))
                if labels is not None:
                    labels = labels.to(family.device)
                block = (family.sample(SAMPLE_CHUNK, labels=labels) if codes_prior is None else
                         family.sample_codes(codes_prior.sample(SAMPLE_CHUNK).to(family.device), labels=labels))
                block = block.float().cpu().numpy()
        finally:
            family.train(was_training)
        return self._to_original(block)

    @torch.no_grad()
    def from_latent(self, z) -> np.ndarray:
        """Decode latent codes z (N, latent_dim) without sampling noise, in the data's units (images in [0, 1]):
        the GAN's generator, the VAE's decoder mean. For traversals and interpolations (`ganvae explore`)."""
        family = self._check_fitted()
        codes = np.asarray(z.detach().cpu() if isinstance(z, torch.Tensor) else z, dtype=np.float32)
        if codes.ndim != 2 or codes.shape[1] != family.latent_dim:
            raise ConfigError(f"latent codes must have shape (N, {family.latent_dim}), not {codes.shape}")
        was_training = family.training
        family.eval()
        try:
            out = family.from_latent(torch.from_numpy(np.ascontiguousarray(codes)).to(family.device))
        finally:
            family.train(was_training)
        return self._to_original(out.float().cpu().numpy())

    @torch.no_grad()
    def encode(self, x, labels=None) -> np.ndarray:
        """Posterior means mu(x), (N, latent_dim). Needs a family with an encoder; a conditional one also the
        labels (one class, or one per example)."""
        family = self._require("encoder", "encode")
        x = self._to_model(x)
        mu, _ = family.encode(x, **self._labels_kwarg(len(x), labels, "encode"))
        return mu.cpu().numpy()

    @torch.no_grad()
    def reconstruct(self, x, labels=None) -> np.ndarray:
        """Decode each example's posterior mean, in the data's units. Needs a family with an encoder; a
        conditional one also the labels."""
        family = self._require("encoder", "reconstruct")
        x = self._to_model(x)
        given = self._labels_kwarg(len(x), labels, "reconstruct")
        was_training = family.training
        family.eval()
        out = family.reconstruct(x, **given).cpu().numpy()
        family.train(was_training)
        return self._to_original(out)

    @torch.no_grad()
    def score(self, x, seed: int = 0, labels=None) -> float:
        """Mean ELBO per example in nats (higher is better): a lower bound on log p(x) in model space (for a
        conditional family, given labels, on log p(x | y)). Needs a family with a likelihood."""
        family = self._require("likelihood", "score examples")
        x = self._to_model(x)
        given = self._labels_kwarg(len(x), labels, "score")
        was_training = family.training
        family.eval()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            terms = family.elbo_terms(x, **given)
        family.train(was_training)
        return float(-(terms["reconstruction"] + terms["kl"]).mean())

    HTML_GRID = (4, 8)  # rows, columns of the sample grid a notebook shows
    HTML_TILE_PX = 48  # each sample is enlarged by a whole factor to at least this many pixels a side

    def _repr_html_(self) -> str:
        """A notebook's view: a fitted model shows a sample grid (seed 0) and its resolved config; an unfitted
        one its hyperparameters."""
        from html import escape

        name = type(self).__name__
        if self.family_ is None:
            rows = [(key, "default" if value is None else value) for key, value in self._hyperparameters().items()]
            return (f"<div><strong>{name}</strong> (not fitted; call fit(data))"
                    f"{self._html_table(rows, 'hyperparameter')}</div>")
        info = self.data_info_ or {}
        shape = "x".join(str(n) for n in info.get("shape", ()))
        steps = getattr(getattr(self, "state_", None), "step", None)
        arch = self.config_.model.arch + "".join(f", your own {net}" for net in self.networks)
        summary = (f"<strong>{name}</strong> ({escape(arch)}) on "
                   f"{escape(str(info.get('name')))} ({escape(str(info.get('kind')))} {shape}), "
                   f"{sum(self.n_parameters().values()):,} parameters" + (f", {steps:,} steps" if steps else ""))
        config = self.config_.to_dict()
        rows = [(f"{section}.{key}" if isinstance(values, dict) else section, value)
                for section, values in config.items()
                for key, value in (values.items() if isinstance(values, dict) else [(section, values)])]
        return (f"<div>{summary}<br><img src=\"data:image/png;base64,{self._html_sample_png()}\" "
                f"alt=\"samples\">{self._html_table(rows, 'config')}</div>")

    def _hyperparameters(self) -> dict[str, Any]:
        import inspect

        names = [p for p in inspect.signature(Model.__init__).parameters
                 if p not in ("self", "family", "settings", "setting_values")]
        return {**{key: getattr(self, key) for key in names}, **self.settings}

    @staticmethod
    def _html_table(rows, heading: str) -> str:
        from html import escape

        body = "".join(f"<tr><td style=\"text-align:left\">{escape(str(key))}</td>"
                       f"<td style=\"text-align:left\">{escape(str(value))}</td></tr>" for key, value in rows)
        return (f"<table><thead><tr><th style=\"text-align:left\">{heading}</th><th style=\"text-align:left\">"
                f"value</th></tr></thead><tbody>{body}</tbody></table>")

    def _html_sample_png(self) -> str:
        """Samples as a base64 PNG: an image grid (HTML_GRID), or a scatter of the first two features of vectors."""
        import base64
        import io
        import math

        buffer = io.BytesIO()
        if self.data_info_["kind"] == "image":
            from .report.plots import image_grid

            rows, cols = self.HTML_GRID
            samples = self.sample(rows * cols, seed=0)  # (N, C, H, W) in [0, 1]
            grid = image_grid(samples, nrow=cols)  # uint8, 2-pixel gaps
            scale = math.ceil(self.HTML_TILE_PX / samples.shape[-1])
            picture = Image.fromarray(grid, mode="L" if grid.ndim == 2 else "RGB")
            picture.resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST).save(buffer, format="PNG")
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            points = self.sample(500, seed=0)  # (N, D) in the data's units
            figure = Figure(figsize=(3, 3), dpi=80)
            FigureCanvasAgg(figure)
            axes = figure.add_subplot()
            y = points[:, 1] if points.shape[1] > 1 else np.zeros(len(points))
            axes.scatter(points[:, 0], y, s=4, alpha=0.6)
            axes.set_title("500 samples" + (" (features 1, 2)" if points.shape[1] > 2 else ""), fontsize=9)
            figure.tight_layout()
            figure.savefig(buffer, format="png")
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def n_parameters(self) -> dict[str, int]:
        """Trained parameters per network (e.g. {"generator": ..., "discriminator": ...})."""
        return self._check_fitted().n_parameters()

    def save(self, path: Union[str, Path]) -> Path:
        """Write the fitted model (weights, config, data description) to one checkpoint file, atomically."""
        family = self._check_fitted()
        state = {"family_state": family.state_dict(), "config": self.config_.to_dict(),
                 "data_info": self.data_info_, "ganvae_version": __version__,
                 "train_state": {"step": getattr(getattr(self, "state_", None), "step", 0)}}
        if self.networks:  # loading needs the user's classes: the checkpoint names them
            state["networks"] = class_names(self.networks)
        return save_checkpoint(state, Path(path))

    @classmethod
    def load(cls, path: Union[str, Path], device: str = "cpu", **networks: torch.nn.Module) -> "Model":
        """Load a model from a run folder (its newest valid checkpoint) or a checkpoint file. A model trained with
        networks of your own needs new instances of their classes, by name (generator=MyGenerator(), ...)."""
        path = Path(path)
        if path.is_dir():
            run = RunFolder.open(path)
            found, state, skipped = latest_valid_checkpoint(path)
            if state is None:
                why = f": {'; '.join(skipped)}" if skipped else ""
                raise RunError(f"{path} has no valid checkpoint{why}; train or resume the run first")
        else:
            run, found, state = None, path, load_checkpoint(path)
        for key in ("family_state", "config", "data_info"):
            if key not in state:
                raise RunError(f"{path} lacks {key!r}; it was not written by this version of ganvae")
        cfg = _from_saved(state["config"], source=f"the config inside {found}")
        info = state["data_info"]
        if not (isinstance(info, dict) and info.get("kind") in ("image", "vector")
                and isinstance(info.get("shape"), list)):
            raise RunError(f"{found} holds no valid data description; it was not written by this version of ganvae")
        if run is not None:
            _check_belongs(run, found, cfg, info)
            _say_unfinished(run, found, state)
        model_cls = _FACADES.get(cfg.model.family, Model)
        if cls is not Model and cls is not model_cls:
            raise RunError(f"{path} holds a {cfg.model.family} model, not a {cls.__name__}; "
                           f"load it with ganvae.load")
        model = model_cls.from_config(cfg)
        info = state["data_info"]
        check_recorded(state.get("networks"), networks, found, family_label(cfg.model.family))
        model.networks = dict(networks)
        family = build_family(cfg, info, model.networks)
        try:
            family.load_state_dict(state["family_state"])
        except (RuntimeError, KeyError, TypeError) as exc:
            detail = one_line(exc)[:300]
            if networks:
                given = ", ".join(f"{name}: {cls}" for name, cls in state["networks"].items())
                raise RunError(f"{found} does not fit the networks given ({detail}); give new instances of the "
                               f"classes it was trained with, built with the same sizes ({given})") from None
            raise RunError(f"{found} does not match the networks its config describes ({detail}); "
                           f"it is damaged or was edited: train the run again") from None
        family.to(resolve_device(device)).eval()
        model.family_, model.config_, model.data_info_ = family, cfg, info
        model.run_dir_ = path if path.is_dir() else None
        return model


_FACADES: dict[str, type[Model]] = {}  # family name -> its named facade class (GAN, VAE)


class GAN(Model):
    """A generative adversarial network: generator and discriminator, non-saturating loss.

    >>> gan = GAN(arch="mlp", epochs=5).fit("ring8")
    >>> x = gan.sample(1000)
    """

    family_cls = GANFamily


class VAE(Model):
    """A variational autoencoder trained on one ELBO; kl_weight (alias beta) weights the KL term (1 is the ELBO)."""

    family_cls = VAEFamily


def load(path: Union[str, Path], device: str = "cpu", **networks: torch.nn.Module) -> Model:
    """Load a model of any family from a run folder or checkpoint file, whichever it holds (with networks of
    your own: new instances of their classes by name, as in GAN(generator=..., discriminator=...))."""
    return Model.load(path, device=device, **networks)


def default_run_dir(family: str, data_name: str, arch: str, root: Union[str, Path] = "runs") -> Path:
    """runs/FAMILY-DATA-ARCH-TIME (without ARCH when it is `auto`: the config inside says what it became)."""
    arch_part = "" if arch == AUTO else f"{arch}-"
    return Path(root) / f"{family}-{name_part(data_name)}-{arch_part}{time.strftime('%Y%m%d-%H%M%S')}"
