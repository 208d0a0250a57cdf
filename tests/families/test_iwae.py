"""IWAE: the k-sample bound against its definitions (k = 1 is the one-sample ELBO for the same noise; the bound
exceeds the ELBO on a trained model), and its family settings."""

import math

import pytest
import torch
from torch.distributions import Normal

import ganvae
from ganvae.data import Dataset
from ganvae.families import FAMILIES, Batch
from ganvae.families.iwae import IWAEFamily, IWAESettings
from ganvae.nets import ARCHS


def ring(n=256):
    g = torch.Generator().manual_seed(1)
    angles = torch.randint(0, 8, (n,), generator=g).float() * (2 * torch.pi / 8)
    x = torch.stack([angles.cos(), angles.sin()], 1) + 0.05 * torch.randn(n, 2, generator=g)
    return Dataset(name="ring-test", x=x, kind="vector", source="test")


@pytest.mark.parametrize("kind,shape", [("vector", (3,)), ("image", (1, 8, 8))])
def test_k1_bound_is_the_elbo_for_the_same_noise(kind, shape):
    torch.manual_seed(0)
    family = IWAEFamily(ARCHS.get("mlp"), kind, shape, latent_dim=4, hidden=16, settings=IWAESettings(k=1)).eval()
    x = torch.rand(6, *shape)
    with torch.no_grad():
        torch.manual_seed(5)
        bound = family.iw_bound(x, 1)
        torch.manual_seed(5)  # the same noise, by hand: one reparameterised code per example
        mu, logvar = family.encode(x)
        std = (0.5 * logvar).exp()
        z = mu + torch.randn_like(mu) * std
        elbo = family.log_likelihood(x, family.decode(z)) + Normal(0.0, 1.0).log_prob(z).sum(1) \
            - Normal(mu, std).log_prob(z).sum(1)
    assert torch.allclose(bound, elbo, atol=1e-4, rtol=1e-6)


def test_k1_bound_averages_to_the_closed_form_elbo():
    torch.manual_seed(0)
    family = IWAEFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8).eval()
    x = torch.randn(4, 2).repeat(4000, 1)
    with torch.no_grad():
        bound = family.iw_bound(x, 1).view(4000, 4).mean(0)
        terms = family.elbo_terms(x)  # one code each, KL in closed form
    elbo = -(terms["reconstruction"] + terms["kl"]).view(4000, 4).mean(0)
    assert torch.allclose(bound, elbo, atol=0.05)


def test_the_bound_exceeds_the_elbo_on_a_trained_model():
    data = ring()
    model = ganvae.Model.of("iwae", steps=200, batch_size=64, latent_dim=2, hidden=32, lr=3e-3, seed=0).fit(data)
    family = model.family_.eval()
    x = data.x.repeat(50, 1)
    with torch.no_grad():
        torch.manual_seed(0)
        iw5, iw50 = family.iw_bound(x, 5), family.iw_bound(x[:2560], 50)
        terms = family.elbo_terms(x)
    elbo = -(terms["reconstruction"] + terms["kl"])
    gap = iw5 - elbo
    std_error = float(gap.std()) / math.sqrt(len(gap))
    assert float(gap.mean()) > 5 * std_error  # measured: a gap of 1.2 nats, standard error 0.04
    assert float(iw50.mean()) > float(iw5[:2560].mean())  # and it rises with k


def test_training_minimises_the_negative_bound_and_logs_both_bounds(tmp_path):
    family = IWAEFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8, settings=IWAESettings(k=3))
    out = family.iw_loss(Batch(torch.randn(8, 2)))
    assert set(out) == {"loss", "neg_iw_bound", "neg_elbo", "reconstruction", "kl"}
    assert torch.equal(out["loss"].detach(), out["neg_iw_bound"])
    assert float(out["neg_iw_bound"]) <= float(out["neg_elbo"])  # log of a mean >= mean of logs (Jensen)
    (phase,) = family.phases()
    assert phase.loss == family.iw_loss


def test_k_is_a_checked_family_setting():
    assert "iwae" in FAMILIES and FAMILIES.get("iwae").capabilities == FAMILIES.get("vae").capabilities
    assert ganvae.Model.of("iwae", k=7)._config().model.settings == {"k": 7}
    with pytest.raises(ganvae.ConfigError, match="--k must be a number >= 1"):
        ganvae.Model.of("iwae", k=0)
    with pytest.raises(ganvae.ConfigError, match="--kl-weight .*does not apply to the iwae family"):
        ganvae.Model.of("iwae", kl_weight=2.0)
