"""The VAE's KL warm-up: the weight rises linearly from 0 to --kl-weight over --kl-warmup steps, is logged, is
carried by checkpoints (exact resume), and the report says it in words."""

import csv

import pytest
import torch

import ganvae
from ganvae.data import Dataset
from ganvae.families import Batch, VAEFamily, VAESettings
from ganvae.nets import ARCHS
from ganvae.report import build_summary, write_report


def ring(n=96):
    g = torch.Generator().manual_seed(1)
    angles = torch.randint(0, 8, (n,), generator=g).float() * (2 * torch.pi / 8)
    x = torch.stack([angles.cos(), angles.sin()], 1) + 0.01 * torch.randn(n, 2, generator=g)
    return Dataset(name="ring-test", x=x, kind="vector", source="test")


def test_weight_rises_linearly_then_stays():
    vae = VAEFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8,
                    settings=VAESettings(kl_weight=4.0, kl_warmup=10))
    (phase,) = vae.phases()
    weights = []
    for step in range(14):
        weights.append(float(vae.current_kl_weight()))
        vae.after_step(phase, step)
    assert weights[:11] == pytest.approx([4.0 * s / 10 for s in range(11)])
    assert weights[11:] == [4.0] * 3


def test_loss_uses_the_scheduled_weight():
    torch.manual_seed(0)
    vae = VAEFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8,
                    settings=VAESettings(kl_weight=2.0, kl_warmup=4))
    vae.kl_steps.fill_(1)  # a quarter of the way: weight 0.5
    x = torch.randn(16, 2)
    torch.manual_seed(1)
    out = vae.elbo_loss(Batch(x))
    assert float(out["kl_weight"]) == 0.5
    assert torch.allclose(out["loss"], out["reconstruction"] + 0.5 * out["kl"])


def test_plain_vae_keeps_its_state_and_logs_no_weight():
    vae = VAEFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8)
    assert "kl_steps" not in vae.state_dict()
    assert "kl_weight" not in vae.elbo_loss(Batch(torch.randn(8, 2)))


def test_training_logs_the_weight_and_resume_is_exact(tmp_path):
    data = ring()
    kw = dict(kl_weight=3.0, kl_warmup=6, batch_size=16, hidden=16, latent_dim=2, log_every=1)
    whole = ganvae.VAE(steps=9, out=tmp_path / "whole", **kw).fit(data)
    ganvae.VAE(steps=4, out=tmp_path / "part", **kw).fit(data)
    resumed = ganvae.VAE(steps=9, out=tmp_path / "part", **kw).fit(data, resume=True)
    assert int(resumed.family_.kl_steps) == 9
    a, b = whole.family_.state_dict(), resumed.family_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with open(tmp_path / "part" / "log.csv") as f:
        logged = [float(row["kl_weight"]) for row in csv.DictReader(f)]
    # row k is written after step k: the weight used in step k-1 (k-1 steps done before it)
    assert logged == pytest.approx([3.0 * min(1, s / 6) for s in range(9)])
    assert whole.config_.model.settings == {"kl_weight": 3.0, "kl_warmup": 6}


def test_warmup_flag_is_checked_where_it_enters():
    with pytest.raises(ganvae.ConfigError, match="--kl-warmup must be a number >= 0"):
        ganvae.VAE(kl_warmup=-1)
    with pytest.raises(ganvae.ConfigError, match="--kl-warmup must be a whole number"):
        ganvae.VAE(kl_warmup=2.5)
    with pytest.raises(ganvae.ConfigError, match="does not apply to the gan family"):
        ganvae.GAN(kl_warmup=100)


def test_the_report_says_the_warmup_in_words(tmp_path):
    runs = [{"family": family, "seed": 0, "metrics": {"fid": 10.0 + i},
             "config": {"model": {"settings": settings}}}
            for i, (family, settings) in enumerate([("gan", {}), ("vae", {"kl_weight": 4.0, "kl_warmup": 1000})])]
    summary = build_summary(data={"name": "ring8"}, budget={"steps": 2000}, seeds=[0], runs=runs)
    paths = write_report(summary, tmp_path / "report")
    markdown = paths["markdown"].read_text()
    assert "- **Settings**: VAE: KL weight 4 reached after 1000 steps (linear warm-up from 0)" in markdown
    assert "KL weight 4 reached after 1000 steps" in paths["html"].read_text()


def test_the_report_names_a_plain_vae_weight():
    from ganvae.families import FAMILIES

    assert FAMILIES.get("vae").describe_settings({"kl_weight": 1.0, "kl_warmup": 0}) == "KL weight 1 (the ELBO)"
    assert FAMILIES.get("vae").describe_settings({"kl_weight": 0.5}) == "KL weight 0.5"
