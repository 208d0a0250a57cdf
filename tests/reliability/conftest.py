"""Shared helpers of the fault and bad-input tests: ganvae in this process, or as a real process to kill."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNNER = HERE / "train_runner.py"
# A run that trains a few hundred steps a second on one core: small MLP networks on 8 Gaussians.
TOY = ["--data", "ring8", "--hidden", "16", "--batch-size", "32", "--device", "cpu", "--no-progress"]


def one_line(err: str) -> str:
    """The single line a user sees for an error; fails if there are more (a traceback) or none."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    assert "Traceback" not in err
    return lines[0]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def spawn(*argv: str, stall: str | None = None) -> subprocess.Popen:
    """Start `ganvae ARGV` as its own process (through the runner, which can stall in a checkpoint write)."""
    command = [sys.executable, str(RUNNER)] + (["--stall", stall] if stall else []) + [str(a) for a in argv]
    return subprocess.Popen(command, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def last_logged_step(run_dir: Path) -> int:
    """The highest step in log.csv (0 if there is none yet); tolerates a row cut short."""
    path = Path(run_dir) / "log.csv"
    try:
        rows = list(csv.reader(path.read_text().splitlines()[1:]))
    except (FileNotFoundError, UnicodeDecodeError):
        return 0
    steps = [int(row[0]) for row in rows if row and row[0].isdigit()]
    return max(steps, default=0)


def wait_for(condition, timeout: float, proc: subprocess.Popen | None = None, poll: float = 0.005) -> bool:
    """Poll until condition() is true; False on timeout or when `proc` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(poll)
    return False


class Forked:
    """One `ganvae` process forked from a server that has torch and ganvae imported already."""

    def __init__(self, context, argv, stall, folder: Path):
        import train_runner

        self.stdout_path, self.stderr_path = folder / "stdout.txt", folder / "stderr.txt"
        argv = (["--stall", stall] if stall else []) + [str(a) for a in argv]
        self.process = context.Process(target=train_runner.run_forked,
                                       args=(argv, str(self.stdout_path), str(self.stderr_path)))
        self.process.start()
        self.pid = self.process.pid

    def poll(self):
        return None if self.process.is_alive() else self.process.exitcode

    def kill(self) -> int:
        os.kill(self.pid, signal.SIGKILL)
        return self.wait()

    def wait(self, timeout: float = 300) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join(30)
            raise AssertionError(f"ganvae process {self.pid} did not end within {timeout} s")
        return self.process.exitcode

    def output(self) -> tuple[str, str]:
        read = lambda p: p.read_text() if p.exists() else ""
        return read(self.stdout_path), read(self.stderr_path)


@pytest.fixture(scope="session")
def fork_server():
    """A multiprocessing forkserver whose server imported ganvae once, with one thread per process."""
    import multiprocessing

    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "ganvae.cli", "train_runner"])
    try:
        warm = context.Process(target=os.getpid)  # starts the server now, with the environment above
        warm.start()
        warm.join(120)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return context


@pytest.fixture
def fork(fork_server, tmp_path):
    """fork(*argv, stall=None) -> a started Forked process running `ganvae ARGV`."""
    counter = iter(range(10**6))

    def start(*argv, stall=None) -> Forked:
        folder = tmp_path / f"process-{next(counter)}"
        folder.mkdir()
        return Forked(fork_server, argv, stall, folder)

    return start


@pytest.fixture
def tools():
    """The helpers above, for test modules (pytest's importlib mode keeps conftest out of their imports)."""
    from types import SimpleNamespace

    return SimpleNamespace(spawn=spawn, one_line=one_line, last_logged_step=last_logged_step, wait_for=wait_for,
                           child_env=child_env, TOY=TOY, ROOT=ROOT, RUNNER=RUNNER)


@pytest.fixture
def no_figures(monkeypatch):
    """Skip the plots at the end of a run (about a second each); the tests here look at checkpoints."""
    import ganvae.report.figures

    monkeypatch.setattr(ganvae.report.figures, "write_run_figures", lambda *args, **kwargs: {})
