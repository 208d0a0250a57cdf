"""Training, resuming, sampling and scoring on a CUDA GPU, in each precision a GPU run can use (fp32, bf16 where the
GPU has it, fp16 with a gradient scaler). Skipped where no CUDA GPU is visible, as on the project's CI machines;
run on a lent GPU with `python -m pytest tests/train/test_cuda.py`."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ganvae
from ganvae.cli import main
from ganvae.train.checkpoint import latest_valid_checkpoint

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _images(n: int = 256, side: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, 1, side, side)) > 0.5).astype(np.float32)


def _finite(model: ganvae.Model) -> bool:
    return all(torch.isfinite(v).all() for v in model.family_.state_dict().values() if v.is_floating_point())


def test_auto_trains_on_the_gpu_in_fp32_and_bf16_when_asked():
    # measured: the default networks' steps are slower in bf16 or fp16 on a GPU (docs/performance.md)
    model = ganvae.GAN(arch="conv", steps=4, batch_size=32).fit(_images())
    assert next(model.family_.parameters()).device.type == "cuda"
    assert model.config_.precision == "fp32" and _finite(model)
    if torch.cuda.is_bf16_supported():
        model = ganvae.GAN(arch="conv", steps=4, batch_size=32, precision="bf16").fit(_images())
        assert model.config_.precision == "bf16" and _finite(model)


@pytest.mark.parametrize("family", ["gan", "vae"])
def test_fp16_keeps_its_gradient_scaler_in_the_checkpoint_and_a_resume_goes_on_from_it(family, tmp_path):
    kwargs = dict(arch="conv", batch_size=32, seed=1, precision="fp16", device="cuda", checkpoint_every=5)
    whole = ganvae.Model(family, steps=10, out=tmp_path / "whole", **kwargs).fit(_images())
    assert whole.config_.precision == "fp16" and _finite(whole)
    _, state, _ = latest_valid_checkpoint(tmp_path / "whole")
    scale = state["grad_scaler"]["scale"]
    assert math.isfinite(scale) and scale > 0

    ganvae.Model(family, steps=5, out=tmp_path / "parts", **kwargs).fit(_images())
    _, half, _ = latest_valid_checkpoint(tmp_path / "parts")
    assert half["grad_scaler"]["scale"] > 0
    resumed = ganvae.Model(family, steps=10, out=tmp_path / "parts", **kwargs).fit(_images(), resume=True)
    assert _finite(resumed)
    _, end, _ = latest_valid_checkpoint(tmp_path / "parts")
    assert end["train_state"]["step"] == 10 and end["grad_scaler"]["scale"] > 0
    # The same ten steps, in one go or in two: equal up to the GPU's own non-determinism (cuDNN's summation order).
    worst = max(float((a.float() - b.float()).abs().max())
                for a, b in zip(resumed.family_.state_dict().values(), whole.family_.state_dict().values())
                if a.is_floating_point())
    print(f"{family} fp16: largest weight difference, whole against resumed: {worst:.3g}")
    assert worst < 1e-2


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_each_precision_learns_a_two_dimensional_ring_on_the_gpu(precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    model = ganvae.VAE(arch="mlp", steps=400, batch_size=128, seed=0, precision=precision, device="cuda").fit("ring8")
    samples = model.sample(2000, seed=0)
    assert isinstance(samples, np.ndarray) and np.isfinite(samples).all()
    # ring8's eight modes lie on the unit circle: the samples' mean radius is near 1 (0.92 in fp32 on a CPU)
    radius = float(np.linalg.norm(samples, axis=1).mean())
    print(f"VAE {precision}: mean radius {radius:.3f}")
    assert 0.75 < radius < 1.25


def test_a_gpu_run_evaluates_on_the_gpu_and_loads_and_samples_on_the_cpu(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "vae", "--data", "digits", "--steps", "200", "--device", "cuda", "--precision", "fp16",
                 "--out", str(run), "--no-progress"]) == 0
    assert json.loads((run / "config.json").read_text())["precision"] == "fp16"
    assert main(["evaluate", str(run), "--n-eval", "500"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())["metrics"]
    assert math.isfinite(metrics["fid"]) and metrics["fid"] > 0
    on_cpu = ganvae.load(run, device="cpu")
    assert next(on_cpu.family_.parameters()).device.type == "cpu"
    images = on_cpu.sample(16, seed=0)
    assert images.shape == (16, 1, 8, 8) and 0 <= images.min() and images.max() <= 1
    # ... and a resume of it on the CPU (no fp16 there): one line, and the run is kept
    code = main(["train", "--resume", "--out", str(run), "--steps", "210", "--device", "cpu", "--no-progress"])
    err = capsys.readouterr().err
    assert code != 0 and "fp16" in err
    assert latest_valid_checkpoint(run)[1]["train_state"]["step"] == 200


def _fused(run) -> list:
    """Whether each optimiser of the run's newest checkpoint took the fused update."""
    state = latest_valid_checkpoint(run)[1]
    return [bool(opt["param_groups"][0].get("fused")) for opt in state["optimizers"].values()]


def test_a_run_moves_between_the_cpu_and_the_gpu_with_the_fused_adam_on_the_gpu_only(tmp_path):
    kwargs = dict(arch="conv", batch_size=32, seed=2, precision="fp32", out=tmp_path / "run")
    ganvae.GAN(steps=4, device="cpu", **kwargs).fit(_images())
    assert _fused(tmp_path / "run") == [False, False]
    resumed = ganvae.GAN(steps=8, device="cuda", **kwargs).fit(_images(), resume=True)
    assert next(resumed.family_.parameters()).device.type == "cuda" and _finite(resumed)
    assert _fused(tmp_path / "run") == [True, True]
    back = ganvae.GAN(steps=12, device="cpu", **kwargs).fit(_images(), resume=True)
    assert _finite(back) and _fused(tmp_path / "run") == [False, False]


@pytest.mark.parametrize("family, data", [("gan", "ring8"), ("vae", "ring8"), ("cvae", "digits"), ("cgan", "digits")])
def test_a_seed_draws_the_same_samples_on_the_gpu_as_the_run_loaded_on_the_cpu(family, data, tmp_path):
    # The codes, classes and a vector VAE's decoder noise are drawn on the CPU while sampling; the MLP's fp32
    # matrix products on the GPU round as the CPU's nearly do (the conv networks' TF32 convolutions would not).
    model = ganvae.Model(family, arch="mlp", steps=50, batch_size=64, device="cuda", out=tmp_path / "run").fit(data)
    on_cpu = ganvae.load(tmp_path / "run", device="cpu")
    np.testing.assert_allclose(model.sample(300, seed=5), on_cpu.sample(300, seed=5), atol=1e-4, rtol=1e-4)


def test_the_vae_likelihood_is_the_same_estimate_on_the_gpu_and_on_the_cpu(tmp_path):
    model = ganvae.VAE(arch="mlp", steps=50, device="cuda", out=tmp_path / "run").fit("digits")
    on_cpu = ganvae.load(tmp_path / "run", device="cpu")
    gpu, cpu = (ganvae.evaluate(m, n_eval=200, nll_examples=100, iw_samples=20, prior="normal")["metrics"]
                for m in (model, on_cpu))
    print(f"NLL on the GPU {gpu['nll']:.6f}, on the CPU {cpu['nll']:.6f}")
    assert gpu["nll"] == pytest.approx(cpu["nll"], rel=1e-4)
    assert gpu["fid"] == pytest.approx(cpu["fid"], rel=1e-3)


@pytest.mark.skipif(torch.cuda.device_count() > 1, reason="needs a machine with a single GPU")
def test_more_processes_than_gpus_is_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                             "-m", "ganvae", "train", "gan", "--data", "ring8", "--steps", "2", "--no-progress",
                             "--out", str(tmp_path / "run")], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert ("torchrun started 2 processes on this machine but it has 1 CUDA GPU, and each process trains on a GPU "
            "of its own: use --nproc-per-node 1, or train on the CPU with --device cpu") in result.stderr
    assert "invalid device ordinal" not in result.stderr and not (tmp_path / "run").exists()
