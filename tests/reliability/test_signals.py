"""Ctrl-C (SIGINT) and SIGTERM save a checkpoint, exit with code 130 (SIGINT) or 143 (SIGTERM), as a shell
reports them, and one line that says how to resume."""

from __future__ import annotations

import json
import re
import signal
import time

import pytest

from ganvae.train.checkpoint import LATEST, latest_valid_checkpoint

LONG = ["--steps", "1000000", "--checkpoint-every", "1000000", "--log-every", "1"]


def _interrupt_and_check(proc, send, run_dir, tools, cli, min_step=20, expected_code=130):
    assert tools.wait_for(lambda: tools.last_logged_step(run_dir) >= min_step, 120, proc), "training never started"
    send()
    code = proc.wait(120)
    out, err = proc.output()
    assert code == expected_code, err
    line = tools.one_line(err)
    assert f"resume with: ganvae train --resume --out {run_dir}" in line and "a checkpoint was saved" in line
    step = int(re.search(r"at step (\d+)", line)[1])
    assert step >= min_step
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "interrupted" and f"at step {step}" in status["message"]
    path, state, skipped = latest_valid_checkpoint(run_dir)
    assert path == run_dir / LATEST and state["train_state"]["step"] == step and not skipped
    assert tools.last_logged_step(run_dir) == step  # the log was flushed up to the saved step

    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", step + 5, "--no-progress")
    assert code == 0, err
    assert f"resumed from {run_dir / LATEST} (step {step})" in out and f"{step + 5} steps" in out
    assert json.loads((run_dir / "status.json").read_text())["state"] == "finished"


class _Popen:
    """subprocess.Popen with the small interface of a forked process (wait, output)."""

    def __init__(self, proc):
        self.proc, self.pid, self._output = proc, proc.pid, None

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout):
        self._output = self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    def output(self):
        return self._output


def test_ctrl_c_to_a_real_ganvae_process(tmp_path, tools, cli, no_figures):
    run_dir = tmp_path / "run"
    proc = _Popen(tools.spawn("train", "gan", *tools.TOY, *LONG, "--out", run_dir))
    _interrupt_and_check(proc, lambda: proc.proc.send_signal(signal.SIGINT), run_dir, tools, cli)


@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT]], ids=["sigterm", "sigint-twice"])
def test_sigterm_and_a_double_ctrl_c(tmp_path, tools, cli, fork, no_figures, signals):
    """SIGTERM behaves as Ctrl-C. A second Ctrl-C while the first is being handled must not leave a traceback
    or a damaged folder (whichever of the two wins, the run can be resumed)."""
    import os

    run_dir = tmp_path / "run"
    proc = fork("train", "gan", *tools.TOY, *LONG, "--out", run_dir)
    if len(signals) == 1:
        _interrupt_and_check(proc, lambda: os.kill(proc.pid, signals[0]), run_dir, tools, cli, expected_code=143)
        return
    assert tools.wait_for(lambda: tools.last_logged_step(run_dir) >= 20, 120, proc)
    os.kill(proc.pid, signal.SIGINT)
    time.sleep(0.002)
    os.kill(proc.pid, signal.SIGINT)
    code = proc.wait(120)
    out, err = proc.output()
    assert code == 130 and "Traceback" not in err, err
    assert "ganvae train --resume --out" in tools.one_line(err)
    path, state, skipped = latest_valid_checkpoint(run_dir)
    assert state is not None and not skipped
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", state["train_state"]["step"] + 5,
                         "--no-progress")
    assert code == 0, err
