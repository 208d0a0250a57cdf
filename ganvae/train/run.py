"""The run folder: config.json, data.json, log.csv, status.json, checkpoints and plots of one run."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path
from typing import Any, Optional

from ..errors import ConfigError, RunError
from ..storage import atomic_write_bytes, cannot_write_error
from .checkpoint import LATEST, PREVIOUS

CONFIG = "config.json"
DATA_INFO = "data.json"
LOG = "log.csv"
STATUS = "status.json"


def write_json(path: Path, obj: Any) -> None:
    """Atomically; RunError (naming the file and the reason) if it cannot be written."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RunError(f"{path} is missing; this is not a complete ganvae run folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path} is unreadable ({exc}); the run folder is damaged") from None


class RunFolder:
    """One run's files. Created before training starts, so an unwritable place fails early."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def checkpoint(self) -> Path:
        return self.path / LATEST

    def file(self, name: str) -> Path:
        return self.path / name

    @classmethod
    def prepare(cls, path: Path) -> bool:
        """Make sure `path` is a folder this process can write; True when it made the folder (so a start that
        fails before writing a run can take it away again). Says nothing about whether it holds a run."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--out {path} is a file, not a folder; choose another --out")
        made = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / f".write-test-{os.getpid()}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            if made:
                cls.discard_empty(path)
            raise ConfigError(f"cannot write to --out {path} ({exc.strerror or exc}); "
                              f"choose a writable folder") from None
        return made

    @staticmethod
    def holds_run(path: Path) -> bool:
        path = Path(path)
        return any((path / name).exists() for name in (LATEST, PREVIOUS, CONFIG))

    @staticmethod
    def discard_empty(path: Path) -> None:
        """Remove a folder this process made, if it holds nothing but start-up files (lock, data.json)."""
        from .lock import LOCK_NAME

        try:
            leftovers = [p for p in Path(path).iterdir()
                         if p.name not in (LOCK_NAME, DATA_INFO) and not p.name.startswith(".write-test-")]
            if leftovers:
                return
            for p in Path(path).iterdir():
                p.unlink()
            Path(path).rmdir()
        except OSError:
            pass

    @classmethod
    def create(cls, path: Path) -> "RunFolder":
        """Make a new run folder; refuse one that already holds a run (use resume for that)."""
        cls.prepare(path)
        if cls.holds_run(path):
            raise ConfigError(f"--out {path} already holds a run; pass --resume to continue it "
                              f"or choose another --out")
        return cls(Path(path))

    @classmethod
    def open(cls, path: Path) -> "RunFolder":
        """An existing run folder (for resume, sample, evaluate)."""
        path = Path(path)
        if not path.is_dir():
            raise RunError(f"{path} is not a folder; give the run folder that `ganvae train` wrote")
        if not (path / CONFIG).exists():
            raise RunError(f"{path} is not a ganvae run folder (no {CONFIG}); give the folder `ganvae train` wrote")
        return cls(path)

    def write_config(self, config: dict, data_info: dict) -> None:
        # config.json last: its presence is what makes the folder a run (a kill in between leaves none).
        write_json(self.path / DATA_INFO, data_info)
        write_json(self.path / CONFIG, config)

    def read_config(self) -> dict:
        return read_json(self.path / CONFIG)

    def write_run_config(self, config: dict) -> None:
        """Replace config.json alone (a resume that applied a new budget, learning rate or data location)."""
        write_json(self.path / CONFIG, config)

    def read_data_info(self) -> dict:
        return read_json(self.path / DATA_INFO)

    def set_status(self, state: str, **extra: Any) -> None:
        """Record running, finished, interrupted or failed. Recording a failure is best effort: the failure may
        be the disk itself, and its own message must reach the user (status.json then still says running,
        never finished)."""
        try:
            write_json(self.path / STATUS, {"state": state, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra})
        except RunError:
            if state not in ("failed", "interrupted"):
                raise

    def status(self) -> dict:
        path = self.path / STATUS
        return read_json(path) if path.exists() else {"state": "unknown"}

    def read_log(self) -> dict[str, list[float]]:
        """The log as columns: name -> list of values."""
        path = self.path / LOG
        if not path.exists():
            return {}
        try:
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise RunError(f"{path} is unreadable ({exc}); the run folder is damaged") from None
        columns: dict[str, list[float]] = {}
        for row in rows:
            for key, value in row.items():
                if key is None:  # a damaged row with more cells than the header
                    continue
                columns.setdefault(key, []).append(_number(value))
        return columns


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):  # empty, missing, or a row cut short by a crash
        return float("nan")


class LogWriter:
    """Appends rows to log.csv; the columns are fixed by the first row of the run."""

    def __init__(self, path: Path, resume_step: Optional[int] = None):
        self.path = Path(path)
        self.fields: Optional[list[str]] = None
        if resume_step is not None and self.path.exists():
            self._truncate_after(resume_step)

    def _truncate_after(self, step: int) -> None:
        """Drop rows logged after the checkpoint we resume from, so the log matches the weights.
        Rows a crash left incomplete (fewer cells than the header, or an unreadable step) go too."""
        try:
            with open(self.path, newline="") as f:
                reader = csv.DictReader(f)
                fields = reader.fieldnames
                rows = [row for row in reader
                        if None not in row.values() and None not in row and _number(row.get("step")) <= step]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise RunError(f"{self.path} is unreadable ({exc}); move it aside and resume again") from None
        if not fields or "step" not in fields:
            return
        self.fields = list(fields)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.fields)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(self.path, buffer.getvalue().encode())

    def write(self, row: dict[str, float]) -> None:
        new_file = not self.path.exists() or self.fields is None
        if self.fields is None:
            self.fields = list(row)
        try:
            with open(self.path, "a" if not new_file else "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.fields, extrasaction="ignore")
                if new_file:
                    writer.writeheader()
                writer.writerow({k: _fmt(row.get(k)) for k in self.fields})
        except OSError as exc:
            raise cannot_write_error(self.path, exc, "the last checkpoint is kept", "resume") from None


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
