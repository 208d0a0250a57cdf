"""A NaN or infinite loss stops the run with one line naming the step and the loss; the last good checkpoint
is kept, and a checkpoint of non-finite weights is never written."""

from __future__ import annotations

import json
import re

import torch

from ganvae.families.gan import GANFamily
from ganvae.train.checkpoint import LATEST, PREVIOUS, latest_valid_checkpoint, load_checkpoint

DIVERGED = re.compile(r"training diverged: (\w+) (\w+) became (nan|inf|-inf) (?:at step|between steps \d+ and) (\d+); "
                      r"the last good checkpoint \(step (\d+)\) is kept; start a new run with a lower --lr")


def all_finite(state: dict) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in state["family_state"].values() if t.is_floating_point())


def test_a_run_that_really_diverges_stops_with_the_step_and_the_loss(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "run"
    code, out, err = cli("train", "vae", *tools.TOY, "--lr", "1e30", "--steps", "50", "--checkpoint-every", "1",
                         "--out", run_dir)
    line = tools.one_line(err)
    match = DIVERGED.search(line)
    assert code == 1 and match, line
    step, kept = int(match[4]), int(match[5])
    assert kept <= step < 50
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed" and match[0] in status["message"]
    state = load_checkpoint(run_dir / LATEST)
    assert state["train_state"]["step"] == kept and all_finite(state)
    assert not (run_dir / "samples.png").exists()


def _nan_generator_loss_at(call: int):
    real = GANFamily.generator_loss
    calls = {"n": 0}

    def generator_loss(self, batch):
        calls["n"] += 1
        losses = real(self, batch)
        if calls["n"] == call:
            losses = {**losses, "g_loss": losses["g_loss"] * float("nan")}
        return losses

    return generator_loss


def test_a_nan_loss_at_a_known_step_keeps_the_checkpoint_before_it(tmp_path, cli, tools, monkeypatch, no_figures):
    monkeypatch.setattr(GANFamily, "generator_loss", _nan_generator_loss_at(8))  # the 8th step is step 7
    run_dir = tmp_path / "run"
    code, out, err = cli("train", "gan", *tools.TOY, "--steps", "20", "--checkpoint-every", "3", "--out", run_dir)
    line = tools.one_line(err)
    assert code == 1
    # Checked at the checkpoint after step 8 (losses stay on the device between checks): the window is named.
    assert "gan g_loss became nan between steps 6 and 8; the last good checkpoint (step 6) is kept" in line
    assert "lower --lr (this run used 0.0002)" in line
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"
    path, state, skipped = latest_valid_checkpoint(run_dir)
    assert path == run_dir / LATEST and state["train_state"]["step"] == 6 and not skipped and all_finite(state)
    assert load_checkpoint(run_dir / PREVIOUS)["train_state"]["step"] == 3


def test_weights_that_became_nan_under_a_finite_loss_are_never_saved(tmp_path, cli, tools, monkeypatch, no_figures):
    """An update can overflow the weights while the loss that caused it was finite: the checkpoint due right
    after must not be written, and the message must name the last good one."""
    real = GANFamily.generator_loss
    calls = {"n": 0}

    def generator_loss(self, batch):
        calls["n"] += 1
        losses = real(self, batch)
        if calls["n"] == 6:  # step 5: the loss stays finite, the generator's weights do not
            with torch.no_grad():
                next(self.nets["generator"].parameters()).fill_(float("inf"))
        return losses

    monkeypatch.setattr(GANFamily, "generator_loss", generator_loss)
    run_dir = tmp_path / "run"
    code, out, err = cli("train", "gan", *tools.TOY, "--steps", "20", "--checkpoint-every", "3", "--out", run_dir)
    line = tools.one_line(err)
    assert code == 1 and "the last good checkpoint (step 3) is kept" in line, line
    state = load_checkpoint(run_dir / LATEST)
    assert state["train_state"]["step"] == 3 and all_finite(state)
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"
