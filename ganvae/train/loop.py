"""The one training loop: every family, every budget, checkpoints, resume, logging and progress."""

from __future__ import annotations

import math
import signal
import sys
import time
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from tqdm.auto import tqdm

from ..config import RunConfig
from ..errors import ConfigError, RunError, one_line
from ..families import Batch, Family, Phase
from ..kernel import in_notebook
from .checkpoint import TRAINING_KEYS, remove_stale_temporaries, save_run_checkpoint
from .distributed import PhaseWrappers, World, lost_peer, peer_lost_error, rank_seed
from .run import LOG, LogWriter

BOOKKEEPING = ("step", "epoch", "images_seen", "seconds")


@dataclass
class TrainState:
    step: int = 0  # optimisation steps done (one batch each)
    epoch: int = 0  # epoch in progress
    batch_index: int = 0  # next batch within the epoch
    images_seen: int = 0
    seconds: float = 0.0  # training time, summed over resumed sessions


class Interrupted(RunError):
    """Training was stopped by SIGINT/SIGTERM; the newest valid checkpoint can be resumed. `signum` is the
    signal that stopped it, where known (the command line exits 128 + signum, as a shell does)."""

    def __init__(self, message: str, signum: Optional[int] = None):
        super().__init__(message)
        self.signum = signum


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("--device mps was asked for but Apple's MPS is not available; use --device cpu or auto")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether `device` is a CPU that does bf16 arithmetic in hardware: AVX-512 BF16 or AMX (read from
    /proc/cpuinfo; False elsewhere, and for any other device: `--precision auto` asks only of a CPU, see
    resolve_precision). Without it bf16 is emulated and slower than fp32."""
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(device: torch.device, precision: str, bf16_pays: bool = True) -> str:
    """The precision a run trains in: `auto` is bf16 on a CPU that does bf16 in hardware when the networks gain from
    it (`bf16_pays`: an architecture's `bf16_pays`), else fp32. On a GPU too: there the default networks' steps are
    too small for autocast's extra kernels to pay (on an H200 a step of the GAN took 1.11x as long in bf16 and 1.25x in
    fp16, of the VAE 1.18x and 1.22x; docs/performance.md), so reduced precision on a GPU is asked for by name."""
    if precision == "auto":
        return "bf16" if bf16_pays and device.type == "cpu" and native_bf16(device) else "fp32"
    return precision


def autocast_for(device: torch.device, precision: str) -> tuple[Callable[[], Any], Optional[torch.amp.GradScaler]]:
    """A context factory that runs a loss in the run's precision, and the gradient scaler fp16 needs.
    bf16 needs no scaler (it has fp32's exponent range); fp16 is for CUDA only."""
    precision = resolve_precision(device, precision)
    if precision == "fp32":
        return nullcontext, None
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(f"--precision fp16 needs a CUDA GPU and this run trains on {device.type}; use "
                          f"--precision bf16 (or fp32)")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    return (lambda: torch.autocast(device.type, dtype=dtype)), scaler


def batches_per_epoch(n_examples: int, batch_size: int, ranks: int = 1) -> int:
    """Full batches, plus the remainder if it gives each of `ranks` processes at least 2 examples (batch norm
    needs 2)."""
    full, rest = divmod(n_examples, batch_size)
    return full + (1 if rest // ranks >= 2 else 0)


def epoch_order(n_examples: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of one epoch, a function of (seed, epoch) alone so a resumed run sees the same."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n_examples, generator=generator)


def step_limit(cfg: RunConfig, n_batches: int) -> Optional[int]:
    limits = []
    if cfg.budget.steps is not None:
        limits.append(cfg.budget.steps)
    if cfg.budget.epochs is not None:
        limits.append(max(1, math.ceil(cfg.budget.epochs * n_batches)))
    return min(limits) if limits else None


class _StopSignal:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each step (main thread only)."""

    def __init__(self):
        self.received: Optional[int] = None
        self._previous: dict[int, Any] = {}

    def __enter__(self):
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not in the main thread: leave signals alone
            self._previous.clear()
        return self

    def _handle(self, signum, frame):
        if self.received is not None:  # a second Ctrl-C stops at once; the checkpoint writer is atomic
            raise Interrupted(f"stopped at once by a second {signal.Signals(signum).name}; the newest valid "
                              f"checkpoint is kept", signum)
        self.received = signum

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def random_state() -> dict[str, Any]:
    """This process's random state: torch's CPU generator (and CUDA's, where there is one)."""
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def set_random_state(rng: dict[str, Any]) -> None:
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def training_state(family: Family, optimizers: dict[str, torch.optim.Optimizer], state: TrainState,
                   extra: dict[str, Any], scaler: Optional[torch.amp.GradScaler] = None,
                   world: World = World()) -> dict[str, Any]:
    """Everything needed to continue exactly: weights, optimisers, counters, random state (and fp16's
    gradient scale). On several processes every rank's random state, gathered (a collective: every rank calls
    it), and the number of processes."""
    rng = random_state()
    out = {
        "family_state": family.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "train_state": asdict(state),
        "rng": rng,
        **extra,
    }
    if world.distributed:
        out["world_size"] = world.size
        out["rng_ranks"] = world.gather(rng)
    if scaler is not None:
        out["grad_scaler"] = scaler.state_dict()
    return out


def make_optimizers(family: Family, cfg: RunConfig) -> dict[str, torch.optim.Optimizer]:
    """One Adam per optimiser name the phases declare (a phase's own name unless it shares another's), with
    the phase's lr and betas where it sets them, else the run's. On a CUDA GPU the fused update (one kernel for all
    the weights: a step of the default networks 1.07x (GAN) and 1.10x (VAE) as fast on an H200); elsewhere
    torch's default (fused measured no faster on CPU; docs/performance.md)."""
    fused = True if family.device.type == "cuda" else None
    optimizers: dict[str, torch.optim.Optimizer] = {}
    for phase in family.phases():
        if phase.optimizer_name in optimizers:
            continue
        optimizers[phase.optimizer_name] = torch.optim.Adam(
            family.parameters_of(phase.modules), lr=phase.lr if phase.lr is not None else cfg.optim.lr,
            betas=tuple(phase.betas if phase.betas is not None else cfg.optim.betas), fused=fused)
    return optimizers


class _Trainable:
    """Switches `requires_grad` so that only the parameters a phase updates get gradients (in a generator phase
    no gradient is computed for the discriminator's weights); parameters that were frozen stay frozen, and
    every flag is restored on exit."""

    def __init__(self, family: Family, phases: list[Phase]):
        # The parameters are listed once: walking the modules for them at every phase of every step cost about
        # 2% of a small conv GAN's step.
        self.params = list(family.parameters())
        self.original = [p.requires_grad for p in self.params]
        self.flags = {}  # phase name -> the requires_grad of each parameter during that phase
        for phase in phases:
            mine = {id(p) for p in family.parameters_of(phase.modules + phase.keeps_graph_of)}
            self.flags[phase.name] = [was and id(p) in mine for p, was in zip(self.params, self.original)]

    def enter(self, phase: Phase) -> None:
        for p, flag in zip(self.params, self.flags[phase.name]):
            p.requires_grad_(flag)

    def restore(self) -> None:
        for p, flag in zip(self.params, self.original):
            p.requires_grad_(flag)


class _LossSums:
    """Sums of each reported value over the steps that produced it, kept on the device (no host sync per step),
    read once per log row; each value is averaged over its own count (a phase that runs every n-th step is
    averaged over the steps that ran it)."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.first_step: Optional[int] = None

    def add(self, losses: dict[str, torch.Tensor], step: int) -> None:
        if self.first_step is None:
            self.first_step = step
        for name, value in losses.items():
            value = value.detach()
            self.sums[name] = self.sums[name] + value if name in self.sums else value.clone()
            self.counts[name] = self.counts.get(name, 0) + 1

    def means(self, world: World = World()) -> dict[str, float]:
        """The means so far, as floats (one transfer from the device); on several ranks, averaged over the
        ranks (a collective: the same value on every rank)."""
        names = list(self.sums)
        if not names:
            return {}
        values = world.mean(torch.stack([self.sums[n].float().reshape(()) for n in names])).tolist()
        return {n: v / self.counts[n] for n, v in zip(names, values)}

    def reset(self) -> None:
        self.sums, self.counts, self.first_step = {}, {}, None


def _non_finite_weights(family: Family) -> list[str]:
    """Names of floating-point weights or buffers holding NaN or infinity."""
    return [name for name, tensor in family.state_dict().items()
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]


def _restore(family: Family, optimizers: dict[str, torch.optim.Optimizer], resume: dict[str, Any],
             world: World = World(), seed: int = 0) -> tuple[TrainState, Optional[str]]:
    """Load a training checkpoint into fresh networks and optimisers; RunError if it does not fit them. Returns
    the state and a note when the run continues on another number of processes than it was saved from (each
    rank then draws fresh noise, so the run no longer equals an uninterrupted one)."""
    missing = [key for key in TRAINING_KEYS if key not in resume]
    if missing:
        raise RunError(f"the checkpoint to resume from lacks {', '.join(missing)}; it was not written by the "
                       f"training loop of this ganvae, so start a new run")
    try:
        family.load_state_dict(resume["family_state"])
        for name, opt in optimizers.items():
            saved = resume["optimizers"][name]
            # this device's choice of the fused update, wherever the run was saved (torch places Adam's step
            # counters by the flag it loads)
            groups = [{**group, "fused": mine.get("fused")}
                      for group, mine in zip(saved["param_groups"], opt.param_groups)]
            opt.load_state_dict({**saved, "param_groups": groups})
        state = TrainState(**resume["train_state"])
        saved_size = int(resume.get("world_size", 1))
        note = None
        if saved_size == world.size:
            set_random_state(resume["rng_ranks"][world.rank] if world.distributed else resume["rng"])
        else:
            torch.manual_seed(rank_seed(seed + state.step, world.rank))
            note = (f"the checkpoint was written by {saved_size} process{'es' * (saved_size != 1)} and this run has "
                    f"{world.size}: the batches cover the same examples in the same order, but each process draws "
                    f"other noise (and batch norm sees other shares of each batch), so the result differs from an "
                    f"uninterrupted run; resume with {saved_size} process{'es' * (saved_size != 1)} to continue "
                    f"exactly")
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        detail = one_line(exc)[:300] or type(exc).__name__
        raise RunError(f"the checkpoint does not match the networks and optimisers of this run's config.json "
                       f"({detail}); start a new run") from None
    return state, note


def fit(family: Family, x: torch.Tensor, cfg: RunConfig, run_dir: Optional[Path] = None,
        resume: Optional[dict[str, Any]] = None, progress: bool = True,
        checkpoint_extra: Optional[dict[str, Any]] = None,
        on_log: Optional[Callable[[dict[str, float]], None]] = None,
        y: Optional[torch.Tensor] = None, world: Optional[World] = None,
        say: Optional[Callable[[str], None]] = None) -> TrainState:
    """Train `family` on `x` (N, *shape), with labels `y` (N,) when there are any, under the budget in `cfg`
    (resolved).

    run_dir: where log.csv and checkpoints go (None: nothing is written).
    resume: a loaded checkpoint to continue from; the result equals an uninterrupted run on CPU.
    Losses stay on the device between log rows; they are checked for NaN/inf at each log row and before each
    checkpoint, so a checkpoint never holds a diverged run.
    world: the processes training together (default: the process group this process belongs to, if any; see
    ganvae.train.distributed). Every rank calls fit with the same arguments; `cfg.optim.batch_size` is the global
    batch, rank 0 alone writes into run_dir and shows progress, and the ranks stop together.
    say: called with one-line notes (a resume on another number of processes).
    """
    world = world if world is not None else World.current()
    device = world.device(resolve_device(cfg.device))
    family.to(device)
    family.train()
    x = x.to(device) if device.type == "cpu" or x.numel() * 4 < 2**31 else x
    y = None if y is None else y.to(x.device)
    n_examples = int(x.shape[0])
    batch_size = int(cfg.optim.batch_size)
    if batch_size > n_examples:
        raise ConfigError(f"--batch-size {batch_size} is larger than the dataset ({n_examples} examples); "
                          f"use --batch-size {n_examples} or less")
    per_rank = world.share(batch_size)  # examples of each global batch on this rank
    n_batches = batches_per_epoch(n_examples, batch_size, world.size)
    max_steps = step_limit(cfg, n_batches)
    max_seconds = cfg.budget.minutes * 60 if cfg.budget.minutes is not None else None
    phases = family.phases()
    optimizers = make_optimizers(family, cfg)
    autocast, scaler = autocast_for(device, cfg.precision)
    state = TrainState()
    extra = checkpoint_extra or {}

    if resume is not None:
        state, note = _restore(family, optimizers, resume, world, cfg.seed)
        if note and say is not None and world.is_main:
            say(note)
        if scaler is not None and "grad_scaler" in resume:
            scaler.load_state_dict(resume["grad_scaler"])
    else:
        already = set(_non_finite_weights(family))  # the caller's own weights (a test's NaNs) are not the data's
        with warnings.catch_warnings():  # torch warns about one example's spread; the check below says why
            warnings.simplefilter("ignore")
            family.initialize_from_data(x[:10_000].to(device))
        broken = [name for name in _non_finite_weights(family) if name not in already]
        if broken:
            raise RunError(f"training cannot start: {family.name} weights {', '.join(broken[:3])} became non-finite "
                           f"when initialised from the data ({n_examples} example{'s' * (n_examples != 1)}; at "
                           f"least 2 different ones are needed to measure each feature's spread); no checkpoint "
                           f"was written: train on more data")
        if world.distributed:  # the same weights on every rank, but each rank's own noise from here on
            torch.manual_seed(rank_seed(cfg.seed, world.rank))
    writes = run_dir is not None and world.is_main  # the other ranks join rank 0's checkpoints, writing nothing
    if writes:
        remove_stale_temporaries(Path(run_dir))
    wrappers = PhaseWrappers(family, phases, world, device)

    log = LogWriter(Path(run_dir) / LOG, resume_step=state.step if resume else None) if writes else None
    last_checkpoint_step = state.step  # named in a divergence message
    saved_step: Optional[int] = state.step if resume is not None else None  # what the newest checkpoint holds
    sums = _LossSums()
    shown: dict[str, str] = {}  # the losses of the last log row, on the progress bar
    trainable = _Trainable(family, phases)

    def kept() -> str:
        if saved_step is None:  # nothing of this run was saved yet (or no run folder is written at all)
            where = "no checkpoint was written" if run_dir is not None else "no run folder, so no checkpoint"
            return f"{where}; start a new run with a lower --lr (this run used {cfg.optim.lr:g})"
        return (f"the last good checkpoint (step {last_checkpoint_step}) is kept; start a new run with a lower "
                f"--lr (this run used {cfg.optim.lr:g})")

    checked_through = state.step  # every loss before this step was finite

    def checked_means() -> dict[str, float]:
        """The means since the last log row; stop the run, naming the steps since the last check, if any of
        them is not finite."""
        nonlocal checked_through
        means = sums.means(world)
        for name in sorted(means, key=lambda n: n == "loss"):  # a named loss reads better than "loss"
            if not math.isfinite(means[name]):
                first, last = max(sums.first_step or 0, checked_through), state.step - 1
                where = f"at step {first}" if first == last else f"between steps {first} and {last}"
                raise RunError(f"training diverged: {family.name} {name} became {means[name]} {where}; {kept()}")
        checked_through = state.step
        return means

    def flush_log() -> None:
        """Write one log row: each reported value averaged over the steps that produced it."""
        if sums.first_step is None:
            return
        means = checked_means()
        sums.reset()
        row = {"step": state.step, "epoch": state.epoch + state.batch_index / n_batches,
               "images_seen": state.images_seen, "seconds": round(state.seconds, 3)}
        row.update({k: v for k, v in means.items() if k != "loss"})
        if log is not None:
            log.write(row)
        if on_log is not None:
            on_log(row)
        shown.clear()
        shown.update({k: f"{v:.3g}" for k, v in row.items() if (k.endswith("loss") or k == "neg_elbo")})

    def save() -> None:
        nonlocal last_checkpoint_step, saved_step
        if run_dir is None or saved_step == state.step:
            return
        broken = _non_finite_weights(family)
        if broken:  # finite losses can still leave NaN weights (an overflowing update): never save those
            raise RunError(f"training diverged: {family.name} weights {', '.join(broken[:3])} became non-finite "
                           f"at step {state.step}; {kept()}")
        checkpoint = training_state(family, optimizers, state, extra, scaler, world)  # every rank: it gathers
        if writes:
            save_run_checkpoint(checkpoint, Path(run_dir))
        last_checkpoint_step = saved_step = state.step

    time_up = False  # on several ranks: decided together after each step (their clocks differ slightly)

    def budget_left() -> bool:
        if max_steps is not None and state.step >= max_steps:
            return False
        if world.distributed:
            return not time_up
        if max_seconds is not None and state.seconds >= max_seconds:
            return False
        return True

    def agree_on_stopping() -> Optional[int]:
        """On several ranks, after each step: whether any rank's minutes are spent (`time_up`), and the signal
        any rank received (the largest number), so that every rank leaves the loop at the same step."""
        nonlocal time_up
        over = max_seconds is not None and state.seconds >= max_seconds
        signum, time_up = world.maximum([stop.received or 0, int(over)], device)
        return signum or None

    # In a log file (not a terminal or a notebook) a redraw is a new line: redraw rarely there.
    interactive = sys.stderr.isatty() or in_notebook()
    progress = progress and world.is_main
    bar = tqdm(total=max_steps, initial=state.step, disable=not progress, unit="step", dynamic_ncols=True,
               desc=f"{family.name}", mininterval=0.2 if interactive else 30)
    start = time.perf_counter() - state.seconds
    try:
        with _StopSignal() as stop:
            save()  # a new run has a checkpoint (step 0) from the start, so a kill at any moment can be resumed
            while budget_left():
                order = epoch_order(n_examples, cfg.seed, state.epoch)
                while state.batch_index < n_batches and budget_left():
                    index = order[state.batch_index * batch_size:(state.batch_index + 1) * batch_size]
                    if world.distributed:  # this rank's share: equal on every rank (a short last batch is cut)
                        share = min(per_rank, len(index) // world.size)
                        index = index[world.rank * share:(world.rank + 1) * share]
                    batch = Batch(x[index].to(device, non_blocking=True),
                                  None if y is None else y[index].to(device, non_blocking=True))
                    for phase in phases:
                        if state.step % phase.every:
                            continue
                        trainable.enter(phase)
                        optimizer = optimizers[phase.optimizer_name]
                        optimizer.zero_grad(set_to_none=True)
                        with wrappers.during(phase), autocast():
                            losses = phase.loss(batch)
                        if scaler is None:
                            losses["loss"].backward()
                            wrappers.average_loose(phase)
                            optimizer.step()
                        else:  # fp16: scaled so small gradients do not underflow; a step with inf/NaN is skipped
                            scaler.scale(losses["loss"]).backward()
                            wrappers.average_loose(phase)
                            scaler.step(optimizer)
                            scaler.update()
                        family.after_step(phase, state.step)
                        sums.add(losses, state.step)
                    state.step += 1
                    state.batch_index += 1
                    state.images_seen += len(batch) * world.size
                    state.seconds = time.perf_counter() - start
                    signum = agree_on_stopping() if world.distributed else stop.received
                    if state.step % cfg.log_every == 0:
                        flush_log()
                    if state.step % cfg.checkpoint_every == 0:
                        checked_means()  # never checkpoint weights whose losses were not checked
                        save()
                    if progress:
                        bar.update(1)
                        if state.step % 10 == 0:
                            speed = f"{state.images_seen / max(state.seconds, 1e-9):.0f}"
                            bar.set_postfix(img_s=speed, **shown, refresh=False)  # drawn at tqdm's own pace
                    if signum is not None:
                        flush_log()
                        save()
                        where = "" if stop.received is not None or not world.distributed else " on another rank"
                        raise Interrupted(f"stopped by {signal.Signals(signum).name}{where} at step {state.step}; "
                                          f"a checkpoint was saved", signum)
                if state.batch_index >= n_batches:
                    state.epoch += 1
                    state.batch_index = 0
        flush_log()
        save()
    except RuntimeError as exc:
        if world.distributed and lost_peer(exc):
            raise peer_lost_error(world, state.step, saved_step, exc) from None
        raise
    finally:
        trainable.restore()
        bar.close()
    return state
