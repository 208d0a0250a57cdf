"""Independent jobs in worker processes, each pinned to its share of the CPU cores, or to one GPU of several.

`ganvae compare --workers N` trains its grid of runs this way. The processes are started with `spawn` (a fork
of a process whose torch has started thread pools, or CUDA, is unsafe). Each worker takes one `Slot` before it
imports torch: its cores (os.sched_setaffinity, and as many torch threads), and with several CUDA GPUs visible
its GPU (CUDA_VISIBLE_DEVICES). This module imports no torch at the top, so the GPU is chosen first.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass(frozen=True)
class Slot:
    """What one worker process may use."""

    cores: tuple[int, ...]  # CPU cores it is pinned to; () where affinity cannot be set (not Linux)
    threads: int  # torch's intra-op threads
    gpu: Optional[str] = None  # its CUDA_VISIBLE_DEVICES entry; None: the parent's view of the GPUs


def usable_cores() -> tuple[int, ...]:
    """The cores this process may run on (its affinity mask), or () where the platform does not say."""
    try:
        return tuple(sorted(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return ()


def visible_gpus(device: str) -> list[str]:
    """The CUDA GPUs a run on `device` would use, as CUDA_VISIBLE_DEVICES entries; [] for the CPU, or when
    fewer than two are visible (one GPU is simply shared)."""
    if device not in ("auto", "cuda"):
        return []
    import torch

    if not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        return []
    listed = [entry.strip() for entry in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if entry.strip()]
    return (listed or [str(index) for index in range(torch.cuda.device_count())])[:torch.cuda.device_count()]


def plan_slots(workers: int, cores: Sequence[int], cpus: int, gpus: Sequence[str] = ()) -> list[Slot]:
    """One slot per worker: the cores cut into `workers` contiguous parts as equal as possible (with more
    workers than cores, worker i shares core i mod n), each with as many threads as cores, within the `cpus`
    that a CPU quota allows; worker i gets GPU i mod len(gpus)."""
    per_worker = max(1, cpus // workers)
    slots = []
    for index in range(workers):
        if not cores:
            share: tuple[int, ...] = ()
        elif workers <= len(cores):
            share = tuple(cores[index * len(cores) // workers:(index + 1) * len(cores) // workers])
        else:
            share = (cores[index % len(cores)],)
        threads = max(1, min(len(share), per_worker)) if share else per_worker
        slots.append(Slot(share, threads, gpus[index % len(gpus)] if gpus else None))
    return slots


def describe_slots(slots: Sequence[Slot]) -> str:
    """'2 worker processes (cores 0-3, 4-7; 4 threads each)' and the like, for a one-line note."""
    details = []
    if all(slot.cores for slot in slots):
        details.append("cores " + ", ".join(f"{s.cores[0]}-{s.cores[-1]}" if len(s.cores) > 1 else str(s.cores[0])
                                            for s in slots))
    threads = sorted({slot.threads for slot in slots})
    details.append(f"{'-'.join(map(str, threads))} thread{'s' if threads[-1] > 1 else ''} each")
    if any(slot.gpu is not None for slot in slots):
        details.append("GPUs " + ", ".join(str(slot.gpu) for slot in slots))
    return f"{len(slots)} worker processes ({'; '.join(details)})"


def _take_slot(slots) -> None:
    """The initializer of each worker process: take a slot and apply it, before torch is imported."""
    slot: Slot = slots.get()
    # Signals: a Ctrl-C reaches every process of the terminal's group; the training loop catches it (stops at the
    # next step with a checkpoint) while it trains, and a worker between runs or scoring one lets it pass, so the
    # run it scores is still written. The parent stops handing out runs.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if slot.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = slot.gpu
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(slot.threads)  # numpy's BLAS reads these at import
    if slot.cores:
        try:
            os.sched_setaffinity(0, slot.cores)
        except (AttributeError, OSError):
            pass
    import torch

    torch.set_num_threads(slot.threads)


def worker_pool(slots: Sequence[Slot]) -> ProcessPoolExecutor:
    """A pool of len(slots) spawned processes, each holding one of the slots."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    for slot in slots:
        queue.put(slot)
    return ProcessPoolExecutor(max_workers=len(slots), mp_context=context, initializer=_take_slot,
                               initargs=(queue,))


def stop_pool(pool: ProcessPoolExecutor, signal_workers: bool) -> None:
    """Start no further runs in pool; with signal_workers, also SIGTERM each worker: a run it trains stops at its
    next step with a checkpoint (the loop's handler), and a worker between runs or scoring one ignores it (see
    _take_slot). The executor keeps its processes in a private mapping, which shutdown empties, so they are
    taken first; without it there is nothing to signal."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes if signal_workers else ():
        try:
            os.kill(process.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
