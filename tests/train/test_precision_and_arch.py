"""The run's arithmetic (--precision) and the architecture `auto` picks for the data (train as compare does)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import ganvae
from ganvae.cli import main
from ganvae.config import RunConfig
from ganvae.errors import ConfigError
from ganvae.nets import auto_arch
from ganvae.train import loop
from ganvae.train.loop import autocast_for, resolve_precision


def _images(n: int = 64, side: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((n, 1, side, side)) > 0.5).astype(np.float32)


def test_auto_picks_conv_for_the_square_images_it_fits_and_mlp_otherwise():
    assert auto_arch("image", (1, 28, 28)) == "conv"
    assert auto_arch("image", (3, 32, 32)) == "conv"
    assert auto_arch("image", (1, 8, 8)) == "conv"
    assert auto_arch("image", (1, 20, 20)) == "mlp"
    assert auto_arch("vector", (2,)) == "mlp"


def test_a_model_without_an_arch_trains_the_conv_networks_on_images_and_the_mlp_on_vectors():
    images = ganvae.GAN(steps=2, batch_size=16).fit(_images())
    assert images.config_.model.arch == "conv"
    assert any(isinstance(m, torch.nn.Conv2d) for m in images.family_.modules())
    vectors = ganvae.VAE(steps=2, batch_size=16).fit(np.random.default_rng(0).normal(size=(64, 3)))
    assert vectors.config_.model.arch == "mlp"


def test_train_resolves_auto_in_the_saved_config_and_names_the_folder_without_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", _images())
    assert main(["train", "gan", "--data", str(tmp_path / "x.npy"), "--steps", "2", "--batch-size", "16",
                 "--no-progress"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert "-auto-" not in run.name and run.name.startswith("gan-x.npy-2")
    assert json.loads((run / "config.json").read_text())["model"]["arch"] == "conv"
    # Resuming with the default (auto) keeps the saved architecture instead of contradicting it.
    assert main(["train", "--resume", "--out", str(run), "--steps", "3", "--no-progress"]) == 0
    assert json.loads((run / "config.json").read_text())["budget"]["steps"] == 3


def test_bf16_trains_finite_weights_that_differ_from_fp32_and_resumes_bit_exact(tmp_path):
    x = np.random.default_rng(0).normal(size=(256, 2)).astype(np.float32)
    kwargs = dict(arch="mlp", batch_size=32, seed=3, checkpoint_every=4)
    fp32 = ganvae.GAN(steps=8, precision="fp32", **kwargs).fit(x)
    whole = ganvae.GAN(steps=8, precision="bf16", out=tmp_path / "whole", **kwargs).fit(x)
    assert whole.config_.precision == "bf16"
    assert json.loads((tmp_path / "whole" / "config.json").read_text())["precision"] == "bf16"
    weights = {k: v for k, v in whole.family_.state_dict().items()}
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())
    # bf16 autocast really ran: its rounding changes the trained weights.
    assert any(not torch.equal(v, fp32.family_.state_dict()[k]) for k, v in weights.items())
    ganvae.GAN(steps=4, precision="bf16", out=tmp_path / "parts", **kwargs).fit(x)
    resumed = ganvae.GAN(steps=8, precision="bf16", out=tmp_path / "parts", **kwargs).fit(x, resume=True)
    for key, value in resumed.family_.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_fp16_off_cuda_is_one_line_before_any_file_is_written(tmp_path):
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        ganvae.GAN(steps=2, precision="fp16", device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
            ganvae.GAN(steps=2, arch="mlp", precision="fp16", out=tmp_path / "run").fit("ring8")
        assert not (tmp_path / "run").exists()


def test_a_bad_precision_names_the_flag_and_the_choices():
    with pytest.raises(ConfigError, match=r"--precision must be one of auto, fp32, bf16, fp16, not 'fp8'"):
        ganvae.GAN(precision="fp8")
    with pytest.raises(ConfigError, match=r"precision must be one of"):
        RunConfig.from_dict({"precision": "half"}, source="config.json")


def test_autocast_runs_matmuls_in_bf16_and_fp32_runs_them_in_fp32():
    layer = torch.nn.Linear(4, 4)
    context, scaler = autocast_for(torch.device("cpu"), "bf16")
    with context():
        assert layer(torch.randn(2, 4)).dtype == torch.bfloat16
    assert scaler is None
    context, _ = autocast_for(torch.device("cpu"), "fp32")
    with context():
        assert layer(torch.randn(2, 4)).dtype == torch.float32


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_hardware_has_it_and_the_run_records_which(native, tmp_path,
                                                                                         monkeypatch):
    monkeypatch.setattr(loop, "native_bf16", lambda device: native)
    expected = "bf16" if native else "fp32"
    assert resolve_precision(torch.device("cpu"), "auto") == expected
    assert resolve_precision(torch.device("cpu"), "fp32") == "fp32"  # asked for: kept
    x = _images(64)
    model = ganvae.GAN(arch="conv", steps=2, batch_size=16, precision="auto", out=tmp_path / "run").fit(x)
    assert model.config_.precision == expected
    assert json.loads((tmp_path / "run" / "config.json").read_text())["precision"] == expected
    # The MLP's small matrix products lose more to autocast's casts than bf16 saves: auto keeps them in fp32.
    assert ganvae.GAN(arch="mlp", steps=1, batch_size=16, precision="auto").fit(x).config_.precision == "fp32"
    # A resume asking for auto on other hardware keeps what the run was started with.
    monkeypatch.setattr(loop, "native_bf16", lambda device: not native)
    resumed = ganvae.GAN(arch="conv", steps=3, precision="auto", out=tmp_path / "run").fit(x, resume=True)
    assert resumed.config_.precision == expected


def test_auto_precision_on_a_gpu_is_fp32_even_where_it_has_bf16(monkeypatch):
    # measured on an H200: the default networks' steps took 1.11-1.25x as long in bf16 or fp16 (docs/performance.md)
    monkeypatch.setattr(loop, "native_bf16", lambda device: True)
    assert resolve_precision(torch.device("cuda"), "auto") == "fp32"
    assert resolve_precision(torch.device("cuda"), "bf16") == "bf16"
    assert resolve_precision(torch.device("cpu"), "auto") == "bf16"


def test_native_bf16_reads_the_cpu_flags(monkeypatch, tmp_path):
    real_open = open

    def cpuinfo_with(flags):
        def fake_open(path, *args, **kwargs):
            if path == "/proc/cpuinfo":
                (tmp_path / "cpuinfo").write_text(f"processor\t: 0\nflags\t\t: fpu sse2 {flags}\n")
                return real_open(tmp_path / "cpuinfo", *args, **kwargs)
            return real_open(path, *args, **kwargs)
        return fake_open

    import builtins
    monkeypatch.setattr(builtins, "open", cpuinfo_with("avx512f avx512_bf16"))
    assert loop.native_bf16(torch.device("cpu"))
    monkeypatch.setattr(builtins, "open", cpuinfo_with("avx512f avx2"))
    assert not loop.native_bf16(torch.device("cpu"))
    assert not loop.native_bf16(torch.device("meta"))


def test_available_cpus_reads_the_affinity_mask_and_a_cgroup_quota(tmp_path, monkeypatch):
    from ganvae import sizes

    monkeypatch.setattr(sizes.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    quota = tmp_path / "cpu.max"
    assert sizes.available_cpus(tmp_path / "missing") == 4
    quota.write_text("max 100000\n")
    assert sizes.available_cpus(quota) == 4
    quota.write_text("150000 100000\n")  # 1.5 CPUs of time: two threads can use it
    assert sizes.available_cpus(quota) == 2
    quota.write_text("50000 100000\n")
    assert sizes.available_cpus(quota) == 1
    monkeypatch.setattr(sizes.os, "sched_getaffinity", lambda pid: {3})
    quota.write_text("400000 100000\n")
    assert sizes.available_cpus(quota) == 1
