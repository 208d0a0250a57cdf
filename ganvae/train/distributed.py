"""Training on several processes with torch.distributed, as `torchrun` launches them.

`torchrun --nproc-per-node N -m ganvae train ...` starts N copies of ganvae, each with RANK, WORLD_SIZE and
LOCAL_RANK in its environment. `World.from_env()` joins them into one process group (gloo on CPU, NCCL on CUDA),
and the training loop then:
- wraps each network a phase updates in DistributedDataParallel while that phase runs, so only its gradients
  are averaged over the ranks (a network a phase only reads is called as itself, without a wrapper);
- gives each rank a disjoint share of every global batch (`--batch-size` is the global batch);
- draws different noise on each rank, from a seed of (run seed, rank);
- decides together whether to stop (a budget in minutes, Ctrl-C/SIGTERM on any rank, a divergence), so no rank
  waits for one that has left;
- writes the log, checkpoints and the run folder on rank 0 only, with every rank's random state in the
  checkpoint.

A single process (no torchrun, or WORLD_SIZE 1) gets `World()`: rank 0 of 1, and the loop runs as without it.
"""

from __future__ import annotations

import atexit
import datetime
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError, RunError, one_line

# How long a collective waits for a rank that neither answers nor has closed its connection (a rank that died
# closes it, and the others fail at once).
TIMEOUT = datetime.timedelta(minutes=10)


def check_gpus_per_process() -> None:
    """On CUDA each process of a machine trains on a GPU of its own: ConfigError, on every rank alike, when torchrun
    started more processes on this machine than it has GPUs (rather than CUDA's "invalid device ordinal")."""
    processes = int(os.environ.get("LOCAL_WORLD_SIZE") or int(os.environ["LOCAL_RANK"]) + 1)
    gpus = torch.cuda.device_count()
    if processes > gpus:
        raise ConfigError(f"torchrun started {processes} processes on this machine but it has {gpus} CUDA "
                          f"GPU{'s' * (gpus != 1)}, and each process trains on a GPU of its own: use "
                          f"--nproc-per-node {gpus}, or train on the CPU with --device cpu")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes: rank `rank` of `size`; `local_rank` on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files and prints progress."""
        return self.rank == 0

    @staticmethod
    def launched() -> bool:
        """Whether this process was started by torchrun (or an equivalent launcher) with more than one rank."""
        try:
            return int(os.environ.get("WORLD_SIZE", "1")) > 1
        except ValueError:
            return False

    @classmethod
    def launched_rank(cls) -> int:
        """This process's rank as torchrun's environment gives it, before the process group is joined (0 when
        not launched by torchrun)."""
        try:
            return int(os.environ.get("RANK", "0")) if cls.launched() else 0
        except ValueError:
            return 0

    @classmethod
    def current(cls) -> "World":
        """The process group this process already belongs to, or a single process."""
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
        return cls()

    @classmethod
    def from_env(cls, device: torch.device) -> "World":
        """Join the process group torchrun describes in the environment (once per process; gloo on CPU, NCCL on
        CUDA); a single process when not launched by torchrun."""
        if not cls.launched():
            return cls.current()
        if not dist.is_available():
            raise ConfigError("this PyTorch has no torch.distributed; run ganvae without torchrun, or install a "
                              "PyTorch build with distributed support")
        if not dist.is_initialized():
            for name in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
                if name not in os.environ:
                    raise ConfigError(f"WORLD_SIZE is {os.environ['WORLD_SIZE']} but {name} is not set: launch "
                                      f"several processes with torchrun (torchrun --nproc-per-node N -m ganvae "
                                      f"...), or unset WORLD_SIZE for a single process")
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                check_gpus_per_process()
                torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
            dist.init_process_group(backend, timeout=TIMEOUT)
            atexit.register(_leave)
        return cls.current()

    def device(self, device: torch.device) -> torch.device:
        """This rank's device: its own GPU (cuda:LOCAL_RANK) on CUDA, else `device`."""
        if self.distributed and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def share(self, batch_size: int) -> int:
        """Examples per rank of a global batch; ConfigError when the ranks cannot share it equally."""
        if batch_size % self.size:
            lower = max(self.size, batch_size - batch_size % self.size)
            raise ConfigError(f"--batch-size {batch_size} is the global batch and {self.size} processes cannot share "
                              f"it equally; use a multiple of {self.size}, such as {lower} or {lower + self.size}")
        return batch_size // self.size

    def maximum(self, values: list[int], device: torch.device) -> list[int]:
        """Each of `values` (small whole numbers), as its largest over the ranks, on every rank."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64 if device.type == "cpu" else torch.float32, device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [int(v) for v in tensor.tolist()]

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of `values` over the ranks (a float tensor of the same shape on every rank)."""
        if not self.distributed:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values / self.size

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order, on every rank."""
        if not self.distributed:
            return [obj]
        out: list[Any] = [None] * self.size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj`, on every rank."""
        if not self.distributed:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


class RankZeroFailed(RunError):
    """On a rank other than 0: rank 0 could not start the run (it says why; this rank stays silent)."""


def _leave() -> None:
    if dist.is_available() and dist.is_initialized():
        try:
            dist.destroy_process_group()
        except Exception:  # pragma: no cover - a peer already gone; the process is exiting anyway
            pass


def rank_seed(seed: int, rank: int) -> int:
    """The noise seed of `rank` in a run seeded `seed`: distinct per rank, and a function of both alone."""
    return (seed * 1_000_033 + rank * 7_919 + 1) % (2**63)


def lost_peer(exc: BaseException) -> bool:
    """Whether `exc` is torch.distributed reporting that another rank is gone (its connection closed or timed out)."""
    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(word in text for word in (
        "gloo", "nccl", "connection closed", "connection reset", "broken pipe", "timed out", "peer"))


def peer_lost_error(world: World, step: int, saved_step: Optional[int], exc: BaseException) -> RunError:
    """The one line a rank says when another rank is gone."""
    kept = (f"the checkpoint of step {saved_step} is kept" if saved_step is not None else
            "no checkpoint was written")
    text = one_line(exc)
    known = re.search(r"connection (?:reset|closed) by peer|timed out|broken pipe", text, re.IGNORECASE)
    detail = known.group(0).lower() if known else text[:100]
    return RunError(f"rank {world.rank} of {world.size} stopped at step {step}: another training process is gone "
                    f"({detail}); {kept}: run the same torchrun command with --resume to continue")


class PhaseWrappers:
    """DistributedDataParallel wrappers of the networks the phases update, put in `family.nets` only while the
    phase that updates them runs (`during(phase)`), so a phase averages only its own networks' gradients over
    the ranks. Phases that update single parameters (not networks) average those by hand."""

    def __init__(self, family: nn.Module, phases, world: World, device: torch.device):
        self.family, self.world = family, world
        self.wrapped: dict[str, nn.Module] = {}
        self.loose: dict[str, list[nn.Parameter]] = {}
        if not world.distributed:
            return
        ids = [device.index] if device.type == "cuda" else None
        for phase in phases:
            for name in phase.modules:
                if name in family.nets and name not in self.wrapped:
                    net = family.nets[name]
                    if any(p.requires_grad for p in net.parameters()):
                        # Built once: the wrapper copies rank 0's weights and buffers to every rank.
                        self.wrapped[name] = nn.parallel.DistributedDataParallel(net, device_ids=ids)
            self.loose[phase.name] = [getattr(family, name) for name in phase.modules if name not in family.nets]

    @contextmanager
    def during(self, phase) -> Iterator[None]:
        if not self.wrapped:
            yield
            return
        mine = [name for name in phase.modules if name in self.wrapped]
        originals = {name: self.family.nets[name] for name in mine}
        for name in mine:
            self.family.nets[name] = self.wrapped[name]
        try:
            yield
        finally:
            for name, net in originals.items():
                self.family.nets[name] = net

    def average_loose(self, phase) -> None:
        """Average the gradients of the single parameters `phase` updates (networks' are averaged by DDP)."""
        for param in self.loose.get(phase.name, ()):
            if param.grad is not None:
                dist.all_reduce(param.grad)
                param.grad /= self.world.size
