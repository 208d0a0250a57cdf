"""Checkpoints: written atomically with a checksum, the previous good one kept, loaded without pickle code."""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from pathlib import Path
from typing import Any, Optional

import torch

from ..errors import RunError
from ..storage import (atomic_write_bytes, cannot_write_error, fsync_dir, remove_quietly,
                       temporary_path, write_synced)
from .lock import process_alive

FORMAT = "ganvae-checkpoint"
VERSION = 1
LATEST = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"
# What a checkpoint written by the training loop holds; `save` in the API writes only some of these.
TRAINING_KEYS = ("family_state", "optimizers", "train_state", "rng")
# Phrases of torch's weights_only unpickler when a file asks for a global (a class or a function to call).
# torch.load(weights_only=True) below 2.6 can be made to run code (CVE-2025-32434); below 2.10 it has
# memory-safety bugs on crafted files (CVE-2026-24747). Checkpoints come from users, so older torch is refused.
SAFE_TORCH = (2, 10)
CODE_SIGNS = ("GLOBAL", "Can only build", "Can only create new object", "reduce for unrecognized function")


def remove_stale_temporaries(run_dir: Path) -> list[Path]:
    """Delete checkpoint temporaries that a killed process left behind (they can be as large as a
    checkpoint). Files of a process that is still alive are left alone."""
    removed = []
    for path in Path(run_dir).glob(f".{LATEST}.tmp-*"):
        pid_text = path.name.rsplit("-", 1)[-1]
        pid = int(pid_text) if pid_text.isdigit() else None
        if pid == os.getpid() or (pid is not None and process_alive(pid)):
            continue
        remove_quietly(path)
        removed.append(path)
    return removed


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
    """Save into a run folder, keeping the previous good checkpoint until the new one is complete.

    Order: the new checkpoint is written and fsynced to a temporary file; only then does checkpoint.pt
    become checkpoint.prev.pt and the temporary become checkpoint.pt. A crash at any point leaves at least
    one complete checkpoint (`latest_valid_checkpoint` looks at both names).
    """
    run_dir = Path(run_dir)
    data = _serialize(state)
    latest, previous = run_dir / LATEST, run_dir / PREVIOUS
    tmp = temporary_path(latest)
    try:
        write_synced(tmp, data)
        if latest.exists():
            os.replace(latest, previous)
        os.replace(tmp, latest)
    except OSError as exc:
        raise cannot_write_error(latest, exc, "the previous checkpoint is kept", "resume") from None
    finally:
        remove_quietly(tmp)
    fsync_dir(run_dir)
    return latest


def _refuse_code(path: Path) -> RunError:
    return RunError(f"{path} holds Python objects that would run code when loaded; ganvae loads only its own "
                    f"checkpoints (tensors and plain data, torch.load weights_only=True) and refuses this file")


def _safe_load(source, path: Path, map_location) -> Any:
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols in damaged files: we say why
            warnings.simplefilter("ignore")
            return torch.load(source, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        # Every weights_only failure mentions weights_only; only these mean "a class or function was asked for"
        # (random bytes fail with "Unsupported operand" instead).
        if any(sign in str(exc) for sign in CODE_SIGNS):
            raise _refuse_code(path) from None
        raise RunError(f"{path} is not a readable ganvae checkpoint (truncated or corrupt: "
                       f"{type(exc).__name__}); resume from the previous one or retrain") from None


def _check_torch_is_safe() -> None:
    version = str(torch.__version__)
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is None or (int(found[1]), int(found[2])) < SAFE_TORCH:
        raise RunError(f"torch {version} cannot load checkpoints safely (its torch.load can be made to run code or "
                       f"corrupt memory: CVE-2025-32434, CVE-2026-24747); ganvae loads checkpoints only with torch "
                       f">= 2.10: upgrade with `pip install 'torch>=2.10'`")


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and verify one checkpoint. Only tensors and plain containers are accepted (weights_only=True):
    a file that needs pickled code to load is refused."""
    path = Path(path)
    _check_torch_is_safe()
    if not path.is_file():
        raise RunError(f"no checkpoint at {path}; train a model first with `ganvae train`")
    envelope = _safe_load(path, path, "cpu")
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise RunError(f"{path} is not a ganvae checkpoint; point at a run folder written by `ganvae train`")
    if envelope.get("version") != VERSION:
        raise RunError(f"{path} was written by an incompatible ganvae (checkpoint version "
                       f"{envelope.get('version')!r}, this ganvae reads {VERSION}); retrain with this version")
    payload_tensor = envelope.get("payload")
    if not (isinstance(payload_tensor, torch.Tensor) and payload_tensor.dtype == torch.uint8
            and isinstance(envelope.get("sha256"), str)):
        raise RunError(f"{path} is a damaged ganvae checkpoint (its payload or checksum is missing); "
                       f"resume from the previous one or retrain")
    payload = payload_tensor.numpy().tobytes()
    if hashlib.sha256(payload).hexdigest() != envelope["sha256"]:
        raise RunError(f"{path} fails its checksum (the file is corrupt); resume from the previous one or retrain")
    state = _safe_load(io.BytesIO(payload), path, map_location)
    if not isinstance(state, dict):
        raise RunError(f"{path} is not a ganvae checkpoint (it holds a {type(state).__name__}); "
                       f"point at a run folder written by `ganvae train`")
    return state


def checkpoint_step(state: dict[str, Any], path: Path) -> int:
    """The step a training checkpoint was taken at; RunError if it is not one the loop wrote."""
    missing = [key for key in TRAINING_KEYS if key not in state]
    step = state.get("train_state", {}).get("step") if isinstance(state.get("train_state"), dict) else None
    if missing or not isinstance(step, int) or isinstance(step, bool) or step < 0:
        what = f"lacks {', '.join(missing)}" if missing else "has no valid step"
        raise RunError(f"{path} is not a training checkpoint ({what}); it cannot be resumed, "
                       f"only loaded with ganvae.load")
    return step


def latest_valid_checkpoint(run_dir: Path) -> tuple[Optional[Path], Optional[dict[str, Any]], list[str]]:
    """Newest loadable checkpoint in a run folder (by step; checkpoint.pt wins a tie), and why any others
    were skipped."""
    run_dir = Path(run_dir)
    found: list[tuple[int, int, Path, dict[str, Any]]] = []
    skipped: list[str] = []
    for preference, path in ((1, run_dir / LATEST), (0, run_dir / PREVIOUS)):
        if not path.exists():
            continue
        try:
            state = load_checkpoint(path)
            step = checkpoint_step(state, path)
        except RunError as exc:
            skipped.append(str(exc))
            continue
        found.append((step, preference, path, state))
    if not found:
        return None, None, skipped
    found.sort(key=lambda item: item[:2])
    _, _, path, state = found[-1]
    return path, state, skipped
