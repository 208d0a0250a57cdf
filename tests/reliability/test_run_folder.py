"""The run folder: an unwritable or full place fails before training or cleanly, never with a folder that
claims success; folders that are not runs, or damaged ones, are one line; a damaged newest checkpoint is
skipped, said so, and the resumed run still equals an uninterrupted one."""

from __future__ import annotations

import errno
import json
import os
import pathlib

import pytest
import torch

import ganvae
from ganvae import storage
from ganvae.train import checkpoint, run
from ganvae.train.checkpoint import LATEST, PREVIOUS, load_checkpoint

SHORT = ["--steps", "30", "--checkpoint-every", "10"]


def weights(run_dir) -> dict:
    return ganvae.load(run_dir).family_.state_dict()


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def uninterrupted(tmp_path, cli, tools, no_figures):
    """The weights of `train gan TOY --steps 30` without any fault."""
    code, out, err = cli("train", "gan", *tools.TOY, *SHORT, "--out", tmp_path / "uninterrupted")
    assert code == 0, err
    return weights(tmp_path / "uninterrupted")


@pytest.mark.parametrize("where", ["under-a-file", "in-proc"])
def test_an_unwritable_out_fails_before_training_with_one_line(tmp_path, cli, tools, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out_dir = blocker / "run" if where == "under-a-file" else pathlib.Path("/proc/ganvae-test-run")
    code, out, err = cli("train", "gan", *tools.TOY, "--steps", "5", "--out", out_dir)
    line = tools.one_line(err)
    assert code == 2 and f"cannot write to --out {out_dir}" in line and "choose a writable folder" in line
    assert out == "" and not out_dir.exists()


def test_a_full_disk_when_the_folder_is_made_fails_before_training(tmp_path, cli, tools, monkeypatch):
    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    code, out, err = cli("train", "gan", *tools.TOY, "--steps", "5", "--out", tmp_path / "run")
    assert code == 2 and "No space left on device" in tools.one_line(err)
    assert not (tmp_path / "run" / "config.json").exists()


def _full_disk_after(monkeypatch, n_checkpoints: int, everything: bool):
    """From the (n+1)-th checkpoint write on, the disk is full: for checkpoints only, or for every file."""
    real_write = storage.write_synced
    real_open = open
    state = {"checkpoints": 0, "full": False}

    def write(tmp, data):
        if tmp.name.startswith(f".{LATEST}.tmp"):
            state["checkpoints"] += 1
            state["full"] = state["full"] or state["checkpoints"] > n_checkpoints
        if state["full"] and (everything or tmp.name.startswith(f".{LATEST}.tmp")):
            with real_open(tmp, "wb") as f:
                f.write(data[:4096])  # what fitted
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(tmp, data)

    def log_open(file, mode="r", *args, **kwargs):
        if state["full"] and everything and ("a" in mode or "w" in mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(storage, "write_synced", write)  # every atomic write: JSON files and figures
    monkeypatch.setattr(checkpoint, "write_synced", write)  # the checkpoints'
    monkeypatch.setattr(run, "open", log_open, raising=False)


@pytest.mark.parametrize("everything", [False, True], ids=["checkpoint-only", "every-file"])
def test_a_disk_that_fills_during_training_fails_cleanly_and_resumes(tmp_path, cli, tools, monkeypatch,
                                                                      uninterrupted, everything):
    run_dir = tmp_path / "run"
    _full_disk_after(monkeypatch, n_checkpoints=2, everything=everything)  # steps 0 and 10 fit, 20 does not
    code, out, err = cli("train", "gan", *tools.TOY, *SHORT, "--out", run_dir)
    line = tools.one_line(err)
    assert code == 1 and "No space left on device" in line and "free space" in line, line
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == ("running" if everything else "failed")  # never "finished"
    assert load_checkpoint(run_dir / LATEST)["train_state"]["step"] == 10
    assert load_checkpoint(run_dir / PREVIOUS)["train_state"]["step"] == 0
    assert not list(run_dir.glob(".checkpoint.pt.tmp-*"))
    monkeypatch.undo()  # space was freed

    import ganvae.report.figures

    monkeypatch.setattr(ganvae.report.figures, "write_run_figures", lambda *args, **kwargs: {})
    code, out, err = cli("train", "--resume", "--out", run_dir, "--no-progress")
    assert code == 0 and f"resumed from {run_dir / LATEST} (step 10)" in out, err
    assert same_weights(weights(run_dir), uninterrupted)


def test_a_log_that_cannot_be_written_fails_cleanly(tmp_path, cli, tools, monkeypatch, no_figures):
    real_open = open

    def log_open(file, mode="r", *args, **kwargs):
        if str(file).endswith("log.csv") and ("a" in mode or "w" in mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(run, "open", log_open, raising=False)
    run_dir = tmp_path / "run"
    code, out, err = cli("train", "gan", *tools.TOY, *SHORT, "--log-every", "5", "--out", run_dir)
    line = tools.one_line(err)
    assert code == 1 and f"cannot write {run_dir / 'log.csv'} (No space left on device)" in line
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"


def _truncate(path):
    path.write_bytes(path.read_bytes()[:1000])


def _flip(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x55
    path.write_bytes(bytes(raw))


def _future(path):
    envelope = torch.load(path, weights_only=True)
    torch.save({**envelope, "version": checkpoint.VERSION + 1}, path)


@pytest.mark.parametrize("damage,reason", [(_truncate, "truncated or corrupt"),
                                           (_flip, "fails its checksum|truncated or corrupt"),
                                           (_future, "incompatible ganvae")], ids=["truncated", "flipped", "future"])
def test_resume_skips_a_damaged_checkpoint_says_so_and_still_equals_an_uninterrupted_run(
        tmp_path, cli, tools, uninterrupted, damage, reason):
    import re

    run_dir = tmp_path / "run"
    code, out, err = cli("train", "gan", *tools.TOY, "--steps", "20", "--checkpoint-every", "10", "--out", run_dir)
    assert code == 0, err
    damage(run_dir / LATEST)
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", "30", "--no-progress")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"skipped: {run_dir / LATEST}") and re.search(reason, lines[0]), lines[0]
    assert lines[1] == f"resumed from {run_dir / PREVIOUS} (step 10)"
    assert same_weights(weights(run_dir), uninterrupted)


@pytest.mark.parametrize("make", ["missing", "empty-folder", "a-file"])
def test_a_folder_that_is_not_a_run_is_one_line(tmp_path, cli, tools, make):
    target = tmp_path / "target"
    if make == "empty-folder":
        target.mkdir()
    elif make == "a-file":
        target.write_text("hello")
    for argv in (["train", "--resume", "--out", target], ["sample", target, "-o", tmp_path / "s.npy"]):
        code, out, err = cli(*argv)
        line = tools.one_line(err)
        assert code != 0 and str(target) in line, line
        assert "run folder" in line or "checkpoint" in line


def test_a_new_run_into_an_existing_run_is_refused(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, "--steps", "2", "--out", run_dir)[0] == 0
    before = (run_dir / LATEST).read_bytes()
    code, out, err = cli("train", "gan", *tools.TOY, "--steps", "2", "--out", run_dir)
    assert code == 2 and "already holds a run; pass --resume" in tools.one_line(err)
    assert (run_dir / LATEST).read_bytes() == before


def test_a_config_from_a_newer_ganvae_is_one_line_naming_the_key(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, "--steps", "2", "--out", run_dir)[0] == 0
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "ema_decay": 0.999}))
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", "4", "--no-progress")
    assert code == 2 and "ema_decay" in tools.one_line(err)


def test_sample_from_a_run_of_an_incompatible_version_says_incompatible(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, "--steps", "2", "--out", run_dir)[0] == 0
    for name in (LATEST, PREVIOUS):
        _future(run_dir / name)
    code, out, err = cli("sample", run_dir, "-n", "5", "-o", tmp_path / "s.npy")
    line = tools.one_line(err)
    assert code == 1 and "incompatible ganvae (checkpoint version 2, this ganvae reads 1)" in line


def test_a_damaged_config_json_is_one_line(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, "--steps", "2", "--out", run_dir)[0] == 0
    (run_dir / "config.json").write_text('{"model": ')
    code, out, err = cli("train", "--resume", "--out", run_dir, "--no-progress")
    assert code != 0 and "config.json" in tools.one_line(err)


def test_a_run_killed_before_its_first_checkpoint_starts_again_on_resume(tmp_path, cli, tools, no_figures):
    """SIGKILL between writing config.json and the step-0 checkpoint leaves a run folder with no checkpoint."""
    code, out, err = cli("train", "gan", *tools.TOY, "--steps", "4", "--out", tmp_path / "whole")
    assert code == 0, err
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, "--steps", "4", "--out", run_dir)[0] == 0
    for name in (LATEST, PREVIOUS, "log.csv"):
        (run_dir / name).unlink(missing_ok=True)
    (run_dir / "status.json").write_text('{"state": "running"}')  # as a SIGKILL before step 0 leaves it
    code, out, err = cli("train", "--resume", "--out", run_dir, "--no-progress")
    assert code == 0 and "trained again from step 0" in out and "4 steps" in out and "None" not in out, err
    assert same_weights(weights(run_dir), weights(tmp_path / "whole"))


def test_a_checkpoint_that_does_not_fit_the_config_is_one_line(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, "--steps", "2", "--out", run_dir)[0] == 0
    config = json.loads((run_dir / "config.json").read_text())
    config["model"]["hidden"] = 24  # edited by hand after training with 16
    (run_dir / "config.json").write_text(json.dumps(config))
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", "4", "--no-progress")
    line = tools.one_line(err)
    assert code == 1 and "does not match the networks" in line and "size mismatch" in line, line


@pytest.mark.parametrize("suffix", ["npy", "png"])
def test_samples_written_under_a_regular_file_are_one_line(tmp_path, cli, tools, suffix, no_figures):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, "--steps", "2", "--out", run_dir)[0] == 0
    (tmp_path / "a-file").write_text("x")
    code, out, err = cli("sample", run_dir, "-n", "5", "-o", tmp_path / "a-file" / f"s.{suffix}")
    assert code != 0 and str(tmp_path / "a-file") in tools.one_line(err)
