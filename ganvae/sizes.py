"""Sizes checked before allocating: a request that would not fit in memory or on the disk is one sentence
naming the size, instead of a process that grows until the system kills it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

from .errors import ConfigError, GanvaeError

# At most this share of the memory available now goes to one array: training and drawing need room too.
MEMORY_SHARE = 0.5


def human_bytes(n_bytes: float) -> str:
    """1536 -> '1.5 KiB'; 4.5e9 -> '4.2 GiB'."""
    value = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _cgroup_room() -> Optional[int]:
    """Bytes a cgroup v2 memory limit still allows this process, or None without a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" or not limit.isdigit() else max(0, int(limit) - used)


def available_memory() -> Optional[int]:
    """Bytes of memory available now (Linux MemAvailable, within a cgroup's limit), or None when unknown."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    room = _cgroup_room()
    return available if room is None else min(available, room)


def available_cpus(cgroup_cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this process may really use: those its affinity mask allows, fewer when a cgroup v2 quota
    ("QUOTA PERIOD" in cpu.max, as containers set it) allows less time than that; at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = cgroup_cpu_max.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def check_memory(n_bytes: int, what: str, fix: str, error: type[GanvaeError] = ConfigError) -> None:
    """Refuse `what` when its n_bytes exceed MEMORY_SHARE of the memory available now."""
    available = available_memory()
    if available is not None and n_bytes > MEMORY_SHARE * available:
        raise error(f"{what} would take {human_bytes(n_bytes)} of memory, more than half of the "
                    f"{human_bytes(available)} available; {fix}")


def check_disk(n_bytes: int, folder: Path, what: str, fix: str) -> None:
    """Refuse to write `what` (n_bytes) into `folder` when its disk has less free space."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:  # the folder may not exist yet
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # unknown: the write itself reports a full disk
    if n_bytes > free:
        raise ConfigError(f"{what} would take {human_bytes(n_bytes)}, and {folder} has {human_bytes(free)} free; "
                          f"{fix}")
