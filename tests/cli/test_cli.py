"""The command line end to end on toy data, as a user would call it."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from ganvae.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_vae_seed_on_circles_reproduces_the_article_setup(tmp_path, capsys):
    out_dir = tmp_path / "vae"
    code, out, err = run(capsys, "train", "vae", "--data", "circles", "--arch", "seed", "--out", str(out_dir),
                         "--no-progress")
    assert code == 0, err
    cfg = json.loads((out_dir / "config.json").read_text())
    assert cfg["model"]["hidden"] == 4 and cfg["model"]["latent_dim"] == 2
    assert cfg["optim"]["lr"] == 1e-3 and cfg["optim"]["batch_size"] == 100
    assert cfg["budget"]["epochs"] == 10
    assert "100 steps" in out  # 1000 points / batch 100 x 10 epochs
    for name in ("samples.png", "losses.png", "reconstructions.png"):
        assert Image.open(out_dir / name).size[0] > 300


def test_print_config_shows_the_seed_gan_preset(capsys):
    code, out, _ = run(capsys, "train", "gan", "--data", "digits", "--arch", "seed", "--print-config")
    assert code == 0
    cfg = json.loads(out)
    assert cfg["model"]["latent_dim"] == 100 and cfg["model"]["hidden"] == 128
    assert cfg["optim"]["lr"] == 2e-4 and cfg["optim"]["betas"] == [0.5, 0.999]
    assert cfg["optim"]["batch_size"] == 128 and cfg["budget"]["epochs"] == 20


def test_train_then_sample_npy_and_png(tmp_path, capsys):
    out_dir = tmp_path / "gan"
    code, _, err = run(capsys, "train", "gan", "--data", "ring8", "--steps", "5", "--out", str(out_dir),
                       "--no-progress")
    assert code == 0, err
    code, out, _ = run(capsys, "sample", str(out_dir), "-n", "300", "-o", str(tmp_path / "s.npy"))
    assert code == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (300, 2) and samples.dtype == np.float32
    code, _, _ = run(capsys, "sample", str(out_dir), "-n", "50", "-o", str(tmp_path / "s.png"))
    assert code == 0 and Image.open(tmp_path / "s.png").size[0] > 100


def test_resume_extends_a_run(tmp_path, capsys):
    out_dir = tmp_path / "run"
    assert run(capsys, "train", "gan", "--data", "moons", "--steps", "4", "--out", str(out_dir), "--no-progress")[0] == 0
    code, out, err = run(capsys, "train", "--resume", "--out", str(out_dir), "--steps", "8", "--no-progress")
    assert code == 0, err
    assert "resumed from" in out and "(step 4)" in out and "8 steps" in out


def test_datasets_lists_the_registry(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    for name in ("circles", "moons", "ring8", "grid25", "swissroll", "digits", "mnist5k", "mnist", "fashion-mnist"):
        assert name in out


@pytest.mark.parametrize("argv,needle", [
    (["train", "gan", "--data", "no-such-set"], "no-such-set"),
    (["train", "gan", "--data", "circles", "--arch", "conv"], "--arch conv"),
    (["train", "vae", "--data", "circles", "--batch-size", "5000"], "--batch-size"),
    (["sample", "/no/such/run", "-o", "x.npy"], "/no/such/run"),
    (["train", "--resume", "--out", "/no/such/run"], "/no/such/run"),
])
def test_bad_input_is_one_line_and_nonzero(argv, needle, capsys):
    code, out, err = run(capsys, *argv)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err


def test_bad_flag_from_a_real_process_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "ganvae", "train", "gan", "--data", "circles", "--epochs", "-3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--epochs" in proc.stderr


def test_compare_then_advise_from_its_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    code, text, err = run(capsys, "compare", "--data", "ring8", "--n-examples", "400", "--images", "512",
                          "--seeds", "1", "-n", "200", "--iw-samples", "10", "--out", str(out), "--no-progress")
    assert code == 0, err
    assert "Verdict:" in text and f"report: {out / 'report.html'}" in text
    code, text, err = run(capsys, "advise", "--from", str(out), "--need", "encoder,likelihood")
    assert code == 0, err
    assert "Recommendation: VAE" in text and "encoder" in text
    code, text, err = run(capsys, "advise", "--from", str(out), "--need", "telepathy")
    assert code == 2 and "telepathy" in err and len(err.strip().splitlines()) == 1


def test_sample_and_evaluate_load_the_run_on_the_device_asked_for(tmp_path, capsys):
    run_dir = tmp_path / "gan"
    assert run(capsys, "train", "gan", "--data", "ring8", "--steps", "5", "--out", str(run_dir), "--no-progress")[0] == 0
    for device, name in (("auto", "auto.npy"), ("cpu", "cpu.npy")):  # auto is the CPU on this machine
        code, _, err = run(capsys, "sample", str(run_dir), "-n", "200", "-o", str(tmp_path / name), "--device", device)
        assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "auto.npy"), np.load(tmp_path / "cpu.npy"))
    scores = {}
    for device in ("auto", "cpu"):
        code, _, err = run(capsys, "evaluate", str(run_dir), "-n", "300", "--device", device,
                           "--out", str(tmp_path / f"{device}.json"))
        assert code == 0, err
        scores[device] = json.loads((tmp_path / f"{device}.json").read_text())["metrics"]
    assert scores["cpu"]["fid"] == scores["auto"]["fid"] and scores["cpu"]["modes_captured"] is not None


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible here")
def test_a_device_that_is_not_there_is_one_line_and_writes_nothing(tmp_path, capsys):
    run_dir = tmp_path / "gan"
    assert run(capsys, "train", "gan", "--data", "ring8", "--steps", "5", "--out", str(run_dir), "--no-progress")[0] == 0
    for argv in (("sample", str(run_dir), "-o", str(tmp_path / "s.npy")), ("evaluate", str(run_dir), "-n", "300")):
        code, out, err = run(capsys, *argv, "--device", "cuda")
        assert code != 0
        assert err.strip().count("\n") == 0 and "--device cuda" in err and "no CUDA GPU is visible" in err, err
    assert not (tmp_path / "s.npy").exists() and not (run_dir / "metrics.json").exists()


def test_evaluate_a_run_writes_metrics_json(tmp_path, capsys):
    run_dir = tmp_path / "gan"
    assert run(capsys, "train", "gan", "--data", "ring8", "--steps", "5", "--out", str(run_dir), "--no-progress")[0] == 0
    code, text, err = run(capsys, "evaluate", str(run_dir), "-n", "300")
    assert code == 0, err
    result = json.loads((run_dir / "metrics.json").read_text())
    assert result["n_samples"] == 300 and result["metrics"]["nll"] is None
    assert result["metrics"]["modes_captured"] is not None and "fid" in text
