"""Process-level behaviour: a closed pipe, Ctrl-C and SIGTERM at moments outside the training loop (while torch
imports, while a run draws its figures, inside a weakref callback) end with one line (or none for a pipe) and the
shell's exit code: 141 for a closed pipe, 130 for SIGINT, 143 for SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
# Children start with Ctrl-C at its default, whatever the shell running the tests did (a background job ignores it).
DEFAULT_SIGINT = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
# The same as `python -m ganvae ARGV`, but says when the interpreter is up, before `import ganvae`.
AS_MODULE = "import runpy; print('started', flush=True); runpy.run_module('ganvae', run_name='__main__', alter_sys=True)"
# The console-script entry point (pyproject: ganvae = "ganvae.__main__:run").
AS_SCRIPT = "import sys; print('started', flush=True); from ganvae.__main__ import run; sys.exit(run())"


def _start(code: str, *argv, env, stdout=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *[str(a) for a in argv]], cwd=ROOT, env=env,
                            stdout=stdout, stderr=subprocess.PIPE, text=True, preexec_fn=DEFAULT_SIGINT)


def _torch_is_loading(pid: int) -> bool:
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see torch being imported")
@pytest.mark.parametrize("entry, sig, code", [(AS_MODULE, signal.SIGINT, 130), (AS_SCRIPT, signal.SIGINT, 130),
                                              (AS_SCRIPT, signal.SIGTERM, 143)],
                         ids=["python-m-sigint", "script-sigint", "script-sigterm"])
def test_a_signal_while_torch_imports_is_one_line(tools, entry, sig, code):
    proc = _start(entry, "evaluate", "no-such-run", env=tools.child_env())  # any command that needs torch
    assert proc.stdout.readline().strip() == "started"
    # libtorch is mapped at the start of `import torch`; its Python modules take a second or more after that.
    assert tools.wait_for(lambda: _torch_is_loading(proc.pid), 120, None, poll=0.001), "torch was never imported"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert tools.one_line(err) == f"ganvae: stopped by {signal.Signals(sig).name}"
    assert out == ""  # stopped before the command ran


def _wait_for_drawing(run_dir: Path, proc, tools) -> bool:
    """True once the run draws its figures (samples.png written, interpolations.png not yet)."""
    drawing = lambda: (run_dir / "samples.png").exists()  # noqa: E731
    return tools.wait_for(drawing, 300, proc, poll=0.001) and not (run_dir / "interpolations.png").exists()


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["sigint", "sigterm"])
def test_a_signal_while_the_figures_are_drawn_is_one_line_and_the_run_is_interrupted(tmp_path, tools, sig, code):
    run_dir = tmp_path / "run"
    proc = _start(AS_MODULE, "train", "gan", "--data", "digits", "--arch", "conv", "--hidden", "8", "--steps", "20",
                  "--device", "cpu", "--no-progress", "--out", run_dir, env=tools.child_env())
    if not _wait_for_drawing(run_dir, proc, tools):
        proc.communicate(timeout=120)
        pytest.skip("the figures were drawn before the signal could be sent")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    line = tools.one_line(err)
    assert "interrupted" in line and f"resume with: ganvae train --resume --out {run_dir}" in line
    assert json.loads((run_dir / "status.json").read_text())["state"] == "interrupted"


def test_an_interrupt_that_python_swallows_in_a_weakref_callback_still_stops_the_command(cli, tools, monkeypatch):
    """Python ignores an exception raised inside a weakref callback ("Exception ignored in ..."). matplotlib drops
    artists through weak references while it draws, so Ctrl-C there was lost and the command exited 0."""
    import ganvae.cli

    class Artist:
        pass

    def command(args):
        artist = Artist()
        # The signal arrives while Python runs the callback, as when matplotlib frees an artist.
        reference = weakref.ref(artist, lambda ref: (signal.raise_signal(signal.SIGINT), sum(range(1000))))
        del artist
        assert reference() is None
        print("the command went on and finished")
        return 0

    monkeypatch.setitem(ganvae.cli.COMMANDS, "datasets", command)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if tests run in the background
    try:
        code, out, err = cli("datasets")
        handler_after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130 and "went on" in out
    assert tools.one_line(err) == "ganvae: stopped by SIGINT"
    assert handler_after is signal.default_int_handler  # main() put Python's handler back


def _closed_pipe(argv, env) -> tuple[int, str]:
    """Run `ganvae ARGV` with stdout into a pipe whose reader is gone (as `| head -1` once head has exited)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "ganvae", *[str(a) for a in argv]], cwd=ROOT, env=env,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr


def test_a_closed_pipe_is_exit_141_without_a_traceback(tmp_path, tools):
    code, err = _closed_pipe(["datasets"], tools.child_env())
    assert code == 141 and err == ""

    samples = tmp_path / "samples.npy"
    np.save(samples, np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32))
    code, err = _closed_pipe(["evaluate", samples, "--data", "ring8", "-n", "300"], tools.child_env())
    assert code == 141 and "Traceback" not in err and "Error" not in err, err
    # The table could not be shown, but the work was done: the metrics file is there.
    assert json.loads((tmp_path / "samples.metrics.json").read_text())["n_samples"] == 300


def test_a_sigterm_to_a_comparison_alone_stops_the_runs_in_its_workers(tmp_path, tools):
    """kill, timeout and service managers signal the parent only: its workers must stop too (at their next step,
    with a checkpoint), not train out a 2-minute budget first."""
    out = tmp_path / "cmp"
    proc = _start(AS_SCRIPT, "compare", "--data", "ring8", "--n-examples", "400", "--families", "gan,vae",
                  "--budget", "2m", "--seeds", "1", "-n", "200", "--iw-samples", "20", "--nll-examples", "50",
                  "--device", "cpu", "--no-progress", "--workers", "2", "--out", out, env=tools.child_env())
    assert proc.stdout.readline().strip() == "started"
    checkpoints = [out / "runs" / f"{family}-seed0" / "checkpoint.pt" for family in ("gan", "vae")]
    assert tools.wait_for(lambda: all(path.exists() for path in checkpoints), 120, proc, poll=0.05), \
        "the workers never wrote a checkpoint"
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=100)  # well before the 2-minute budget ends
    assert time.monotonic() - signalled < 60
    assert proc.returncode == 143 and "stopped by SIGTERM" in err and "Traceback" not in err
    assert all(path.exists() for path in checkpoints)  # the runs are kept, to be resumed
    assert not any((out / "runs" / f"{family}-seed0" / "compare.json").exists() for family in ("gan", "vae"))
