"""The platform's promise: a family added in one file (extra_family.py, registered here and nowhere else) trains
from the command line with its own setting, checkpoints, resumes bit-exact, is evaluated, takes part in
`ganvae compare --families ...` and its report, and is considered by `advise`."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from ganvae.train.checkpoint import LATEST, load_checkpoint

HERE = Path(__file__).resolve().parent
TOY = ["--data", "ring8", "--hidden", "16", "--batch-size", "32", "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def lsgan():
    spec = importlib.util.spec_from_file_location("extra_family", HERE / "extra_family.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["extra_family"] = module
    spec.loader.exec_module(module)
    module.register()
    yield module
    module.unregister()
    sys.modules.pop("extra_family", None)


def state_of(run_dir: Path) -> dict:
    return load_checkpoint(run_dir / LATEST)["family_state"]


def test_it_trains_from_the_cli_with_its_own_setting_and_resumes_bit_exact(lsgan, tmp_path, cli):
    whole, part = tmp_path / "whole", tmp_path / "part"
    common = ["train", "lsgan", *TOY, "--real-target", "0.9", "--checkpoint-every", "10", "--log-every", "5"]
    code, out, err = cli(*common, "--steps", "30", "--out", whole)
    assert code == 0, err
    assert "trained LSGAN" in out
    config = json.loads((whole / "config.json").read_text())
    assert config["model"]["family"] == "lsgan" and config["model"]["settings"]["real_target"] == 0.9
    assert config["optim"]["betas"] == [0.5, 0.999] and config["model"]["latent_dim"] == 2  # vectors: min(D, 16)
    header = (whole / "log.csv").read_text().splitlines()[0].split(",")
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(header)
    assert (whole / "losses.png").exists() and (whole / "samples.png").exists()

    assert cli(*common, "--steps", "15", "--out", part)[0] == 0
    code, out, err = cli("train", "--resume", "--out", part, "--steps", "30", "--no-progress")
    assert code == 0, err
    a, b = state_of(whole), state_of(part)
    assert int(a["generator_updates"]) == 30 and int(b["generator_updates"]) == 30
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_its_setting_is_checked_and_belongs_to_it_alone(lsgan, cli):
    code, _, err = cli("train", "lsgan", "--data", "ring8", "--real-target", "-1", "--print-config")
    assert code == 2 and "--real-target must be a number >= 0" in err
    code, _, err = cli("train", "gan", "--data", "ring8", "--real-target", "0.5", "--print-config")
    assert code == 2 and "--real-target does not apply to the gan family" in err


def test_it_is_evaluated(lsgan, tmp_path, cli):
    run_dir = tmp_path / "run"
    assert cli("train", "lsgan", *TOY, "--steps", "20", "--out", run_dir)[0] == 0
    code, out, err = cli("evaluate", run_dir, "-n", "300")
    assert code == 0, err
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["family"] == "lsgan"
    assert metrics["metrics"]["fid"] is not None and metrics["metrics"]["nll"] is None  # no likelihood


def test_it_takes_part_in_compare_and_advise(lsgan, tmp_path, cli):
    out_dir = tmp_path / "cmp"
    code, out, err = cli("compare", "--data", "ring8", "--n-examples", "400", "--families", "gan,lsgan",
                         "--images", "1024", "--seeds", "1", "-n", "200", "--out", out_dir, "--no-progress")
    assert code == 0, err
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["families"] == ["gan", "lsgan"]
    assert {r["family"] for r in summary["runs"]} == {"gan", "lsgan"}
    assert "LSGAN" in (out_dir / "report.html").read_text()
    code, out, err = cli("advise", "--from", out_dir, "--need", "coverage")
    assert code == 0, err
    assert "Recommendation: " in out
    assert any(name in out for name in ("GAN", "LSGAN"))
