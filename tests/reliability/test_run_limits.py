"""Limits found before anything is written (a budget that overflows, networks too big for the memory), true
messages when training cannot start, and a run folder whose checkpoint is checked against its config.json;
`sample` and `evaluate` say when the run they read has not finished."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

import ganvae
from ganvae.config import BudgetConfig, CompareConfig, validate_compare
from ganvae.errors import ConfigError
from ganvae.train.checkpoint import LATEST

STEPS = ["--steps", "6", "--checkpoint-every", "3"]


@pytest.mark.parametrize("argv", [
    ["train", "gan", "--data", "ring8", "--epochs", "1e308"],
    ["train", "gan", "--data", "ring8", "--epochs", "1e308", "--print-config"],
    ["compare", "--data", "ring8", "--epochs", "1e308"],
], ids=["train", "print-config", "compare"])
def test_an_epoch_budget_that_would_overflow_is_one_line_before_anything_is_written(tmp_path, cli, tools, argv):
    run_dir = tmp_path / "run"
    code, out, err = cli(*argv, "--out", run_dir)
    line = tools.one_line(err)
    assert code == 2 and "--epochs must be" in line and "1,000,000" in line, line
    assert not run_dir.exists()


def test_compare_config_bounds_epochs():
    with pytest.raises(ConfigError, match="--epochs must be a positive number of at most 1,000,000"):
        validate_compare(CompareConfig(budget=BudgetConfig(epochs=1e308)))


def test_a_saved_epoch_budget_that_would_overflow_names_the_key(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, *STEPS, "--out", run_dir)[0] == 0
    config = json.loads((run_dir / "config.json").read_text())
    config["budget"] = {"epochs": 1e308, "steps": None, "minutes": None}
    (run_dir / "config.json").write_text(json.dumps(config))
    code, out, err = cli("train", "--resume", "--out", run_dir, "--no-progress")
    line = tools.one_line(err)
    assert code == 2 and "budget.epochs must be at most 1,000,000" in line, line
    assert json.loads((run_dir / "status.json").read_text())["state"] == "finished"


@pytest.mark.parametrize("extra", [[], ["--print-config"]], ids=["train", "print-config"])
def test_networks_too_big_for_the_memory_are_refused_before_anything_is_written(tmp_path, cli, tools, extra):
    run_dir = tmp_path / "run"
    code, out, err = cli("train", "gan", "--data", "ring8", "--hidden", "100000", "--out", run_dir, *extra)
    line = tools.one_line(err)
    assert code == 2 and "--hidden 100000" in line and "GiB of parameters" in line, line
    assert not run_dir.exists() and out == ""


def test_the_memory_estimate_counts_the_parameters_without_building_them():
    from ganvae.api import parameter_bytes

    model = ganvae.GAN(hidden=16, steps=1, batch_size=32)
    cfg, dataset = model.resolved_config("ring8")
    family = model.fit(dataset).family_
    # every parameter held, the GAN's moving average of its generator too (n_parameters leaves that copy out)
    assert parameter_bytes(cfg, dataset.info()) == 4 * sum(p.numel() for p in family.parameters())
    assert sum(p.numel() for p in family.parameters()) > sum(family.n_parameters().values())


def test_a_vae_on_one_example_says_why_it_cannot_start_and_that_no_checkpoint_exists(tmp_path, cli, tools):
    data = tmp_path / "one.npy"
    np.save(data, np.array([[0.5, 2.0]], np.float32))
    run_dir = tmp_path / "run"
    code, out, err = cli("train", "vae", "--data", data, "--batch-size", "1", "--steps", "5", "--device", "cpu",
                         "--no-progress", "--out", run_dir)
    line = tools.one_line(err)  # and no torch warning above it
    assert code == 1 and "training cannot start" in line and "1 example;" in line, line
    assert "no checkpoint was written" in line and "is kept" not in line
    assert not (run_dir / LATEST).exists()
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"


def test_a_divergence_without_a_run_folder_does_not_claim_a_checkpoint():
    import torch

    from ganvae.train.loop import fit

    model = ganvae.GAN(steps=2, batch_size=16, hidden=8).fit("ring8")
    with torch.no_grad():
        for p in model.family_.nets["generator"].parameters():
            p.fill_(float("nan"))
    with pytest.raises(ganvae.RunError, match="became nan between steps 0 and 1; no run folder, so no checkpoint; start a new"):
        fit(model.family_, ganvae.load_dataset("ring8").x, model.config_, run_dir=None, progress=False)


@pytest.fixture
def gan_and_vae_runs(tmp_path, cli, tools, no_figures):
    for family in ("gan", "vae"):
        assert cli("train", family, *tools.TOY, *STEPS, "--out", tmp_path / family)[0] == 0
    return tmp_path / "gan", tmp_path / "vae"


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_stray_checkpoint_of_another_run_is_refused(tmp_path, cli, tools, gan_and_vae_runs, command):
    gan_dir, vae_dir = gan_and_vae_runs
    shutil.copy(vae_dir / LATEST, gan_dir / LATEST)  # step 6 of the VAE now outranks the GAN's step 3
    argv = ["sample", gan_dir, "-n", "5", "-o", tmp_path / "s.npy"] if command == "sample" else \
        ["evaluate", gan_dir, "-n", "50"]
    code, out, err = cli(*argv)
    line = tools.one_line(err)
    assert code == 1 and f"{gan_dir / LATEST} holds a VAE (mlp, hidden 16, latent 2)" in line, line
    assert f"{gan_dir / 'config.json'} describes a GAN (mlp, hidden 16, latent 2)" in line
    assert "is not this run's" in line and not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize("state", ["running", "failed"])
def test_reading_an_unfinished_run_says_so_in_one_line(tmp_path, gan_and_vae_runs, caplog, state):
    gan_dir, _ = gan_and_vae_runs
    (gan_dir / "status.json").write_text(json.dumps({"state": state, "message": "disk full"}))
    with caplog.at_level(logging.WARNING, logger="ganvae"):
        model = ganvae.load(gan_dir)
    assert model.sample(3).shape == (3, 2)
    notes = [r.getMessage() for r in caplog.records if r.name == "ganvae"]
    assert len(notes) == 1 and f"the run in {gan_dir}" in notes[0] and f"status.json says {state}" in notes[0]
    assert "\n" not in notes[0] and "step 6" in notes[0]
    (gan_dir / "status.json").write_text(json.dumps({"state": "finished"}))
    caplog.clear()
    ganvae.load(gan_dir)
    assert not [r for r in caplog.records if r.name == "ganvae"]


def test_sample_from_a_running_run_prints_the_note_on_stderr(tmp_path, tools, fork, gan_and_vae_runs):
    gan_dir, _ = gan_and_vae_runs
    (gan_dir / "status.json").write_text(json.dumps({"state": "running"}))
    proc = fork("sample", gan_dir, "-n", "5", "-o", tmp_path / "s.npy")
    assert proc.wait() == 0
    out, err = proc.output()
    assert err.strip().startswith(f"ganvae: note: the run in {gan_dir} is still training"), err
    assert len(err.strip().splitlines()) == 1 and (tmp_path / "s.npy").exists()
