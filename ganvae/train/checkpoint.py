"""Checkpoints: written atomically with a checksum, the previous good one kept, loaded without pickle code."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, Optional

import torch

from ..errors import RunError

FORMAT = "ganvae-checkpoint"
VERSION = 1
LATEST = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"


def _fsync_dir(folder: Path) -> None:
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush and fsync it, then rename over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)


def _serialize(state: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    envelope = {
        "format": FORMAT,
        "version": VERSION,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8),
    }
    out = io.BytesIO()
    torch.save(envelope, out)
    return out.getvalue()


def save_checkpoint(state: dict[str, Any], path: Path) -> Path:
    """Save one checkpoint file atomically (used by `save` in the API)."""
    atomic_write_bytes(Path(path), _serialize(state))
    return Path(path)


def save_run_checkpoint(state: dict[str, Any], run_dir: Path) -> Path:
    """Save into a run folder, keeping the previous good checkpoint until the new one is complete."""
    run_dir = Path(run_dir)
    data = _serialize(state)
    latest, previous = run_dir / LATEST, run_dir / PREVIOUS
    tmp = run_dir / f".{LATEST}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if latest.exists():
            os.replace(latest, previous)
        os.replace(tmp, latest)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(run_dir)
    return latest


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and verify one checkpoint. Only tensors and plain containers are accepted (weights_only=True):
    a file that needs pickled code to load is refused."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no checkpoint at {path}; train a model first with `ganvae train`")
    try:
        envelope = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise RunError(f"{path} holds Python objects that would run code when loaded; ganvae loads only "
                           f"its own checkpoints (tensors and plain data) and refuses this file") from None
        raise RunError(f"{path} is not a readable ganvae checkpoint (truncated or corrupt: "
                       f"{type(exc).__name__}); resume from the previous one or retrain") from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise RunError(f"{path} is not a ganvae checkpoint; point at a run folder written by `ganvae train`")
    if envelope.get("version") != VERSION:
        raise RunError(f"{path} was written by an incompatible ganvae (checkpoint version "
                       f"{envelope.get('version')!r}, this ganvae reads {VERSION}); retrain with this version")
    payload = envelope["payload"].numpy().tobytes()
    if hashlib.sha256(payload).hexdigest() != envelope.get("sha256"):
        raise RunError(f"{path} fails its checksum (the file is corrupt); resume from the previous one or retrain")
    return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)


def latest_valid_checkpoint(run_dir: Path) -> tuple[Optional[Path], Optional[dict[str, Any]], list[str]]:
    """Newest loadable checkpoint in a run folder (by step), and why any others were skipped."""
    run_dir = Path(run_dir)
    found: list[tuple[int, Path, dict[str, Any]]] = []
    skipped: list[str] = []
    for path in (run_dir / LATEST, run_dir / PREVIOUS):
        if not path.exists():
            continue
        try:
            state = load_checkpoint(path)
        except RunError as exc:
            skipped.append(str(exc))
            continue
        found.append((int(state["train_state"]["step"]), path, state))
    if not found:
        return None, None, skipped
    found.sort(key=lambda item: item[0])
    _, path, state = found[-1]
    return path, state, skipped
