"""Files written so that no reader ever sees half of one, and the cache folder: the I/O every layer shares.

`replace_atomically` writes to a temporary file beside the target, fsyncs it, renames it over the target and
fsyncs the folder; `atomic_write_bytes` does the same with a failure (full disk, no permission) raised as one
line. The cache (`$XDG_CACHE_HOME/ganvae`) is optional: a cache that cannot be written is said once and the
result is used from memory.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Optional

from .errors import RunError


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_synced(tmp: Path, data: bytes) -> None:
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def cannot_write_error(path: Path, exc: OSError, kept: str, then: str) -> RunError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space"
    elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
        fix = "check that the folder exists"
    else:
        fix = "choose a writable place"
    return RunError(f"cannot write {path} ({exc.strerror or exc}); {kept}: {fix}, then {then}")


def replace_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush and fsync it, then rename over `path` and fsync the folder.

    A failure raises the OSError and leaves any earlier `path` untouched, without a temporary file."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        write_synced(tmp, data)
        os.replace(tmp, path)
    finally:
        remove_quietly(tmp)
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """``replace_atomically``, with a failure (full disk, no permission) raised as a one-line RunError."""
    try:
        replace_atomically(path, data)
    except OSError as exc:
        raise cannot_write_error(Path(path), exc, "the earlier file, if any, is unchanged", "try again") from None


def remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/ganvae, or ~/.cache/ganvae."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "ganvae"


# Cache folders that could not be written, each said once per process.
_UNWRITABLE_CACHES: set[str] = set()


def cached_file(path: Path) -> Optional[Path]:
    """path if a cache file is there to read, else None (also when the cache folder cannot even be looked at)."""
    try:
        return path if path.is_file() else None
    except OSError:
        return None


def write_cache_file(path: Path, data: bytes) -> bool:
    """Write a cache file atomically. A cache that cannot be written (read-only, full, under a file) is not an
    error: the result was computed in memory and is used from there; one line on stderr says so, once per
    folder. Returns whether the file was written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, data)
        return True
    except OSError as exc:
        folder = str(path.parent)
        if folder not in _UNWRITABLE_CACHES:
            _UNWRITABLE_CACHES.add(folder)
            print(f"ganvae: note: cannot write the cache in {folder} ({exc.strerror or exc}); going on without "
                  f"it (computed in memory; set XDG_CACHE_HOME to a writable folder to keep results)",
                  file=sys.stderr, flush=True)
        return False
