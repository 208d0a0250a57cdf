"""`ganvae`, for the fault tests: optionally stalls inside one checkpoint write so a test can SIGKILL the
process at a known point of the writer (no hook of this kind exists in ganvae itself).

    python train_runner.py [--stall MODE:N:MARKER] ganvae-arguments...

or `run_forked` in a process forked from a server that has already imported torch and ganvae (so a trial
costs no interpreter start-up).

MODE is where the N-th checkpoint write of this process stops: `write` (half the bytes are in the temporary
file), `rotate` (the temporary file is complete, nothing renamed yet) or `swap` (checkpoint.pt was renamed to
checkpoint.prev.pt, the temporary not yet to checkpoint.pt). The runner creates MARKER, then sleeps until
it is killed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

STALL_SECONDS = 120  # far longer than any test waits: the test kills the process first


def _stall(marker: Path) -> None:
    marker.write_text(str(os.getpid()))
    time.sleep(STALL_SECONDS)
    raise SystemExit("train_runner: the stalled process was not killed")


def install_stall(mode: str, nth: int, marker: Path) -> None:
    """Wraps only os.fsync and os.replace (what any atomic writer calls), armed during the N-th checkpoint save."""
    from ganvae.train import checkpoint, loop

    calls = {"n": 0, "armed": False}
    real_save = loop.save_run_checkpoint
    real_fsync = os.fsync
    real_replace = os.replace

    def save(state, run_dir):
        calls["n"] += 1
        calls["armed"] = calls["n"] == nth
        try:
            return real_save(state, run_dir)
        finally:
            calls["armed"] = False

    def fsync(fd):
        if calls["armed"] and mode == "write":  # the temporary file holds all its bytes: keep half of them
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
            real_fsync(fd)
            _stall(marker)
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        if calls["armed"]:
            if mode == "rotate" and Path(dst).name == checkpoint.PREVIOUS:
                _stall(marker)
            if mode == "swap" and Path(dst).name == checkpoint.LATEST:
                _stall(marker)
        return real_replace(src, dst, *args, **kwargs)

    loop.save_run_checkpoint = save
    os.fsync = fsync
    os.replace = replace


def main(argv: list[str]) -> int:
    if argv[:1] == ["--stall"]:
        mode, nth, marker = argv[1].split(":", 2)
        install_stall(mode, int(nth), Path(marker))
        argv = argv[2:]
    from ganvae.cli import main as ganvae_main

    return ganvae_main(argv)


def run_forked(argv: list[str], stdout_path: str, stderr_path: str) -> None:
    """The target of a multiprocessing (forkserver) process: `main(argv)` with its output sent to files."""
    for fd, path in ((1, stdout_path), (2, stderr_path)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    import threading

    from tqdm.auto import tqdm

    tqdm.set_lock(threading.RLock())  # tqdm's default lock is a semaphore a SIGKILL would leak
    code = main(list(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
