import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from ganvae.families import FAMILIES, Batch, GANFamily, VAEFamily, VAESettings, gaussian_kl
from ganvae.nets import ARCHS


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(7, 5), torch.randn(7, 5)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(torch.zeros(5), torch.ones(5)))
    assert torch.allclose(gaussian_kl(mu, logvar), expected, atol=1e-6)


def test_gaussian_kl_is_zero_at_the_prior():
    assert torch.equal(gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3, 4))


def test_vae_has_one_phase_over_encoder_and_decoder():
    vae = VAEFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8)
    (phase,) = vae.phases()
    params = {id(p) for p in vae.parameters_of(phase.modules)}
    assert {id(p) for p in vae.nets["encoder"].parameters()} <= params
    assert {id(p) for p in vae.nets["decoder"].parameters()} <= params


def test_gan_phases_update_disjoint_networks():
    gan = GANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8)
    d_phase, g_phase = gan.phases()
    assert (d_phase.name, g_phase.name) == ("discriminator", "generator")
    d_params = {id(p) for p in gan.parameters_of(d_phase.modules)}
    g_params = {id(p) for p in gan.parameters_of(g_phase.modules)}
    assert d_params and g_params and not d_params & g_params


def test_vae_bernoulli_reconstruction_equals_binary_cross_entropy():
    torch.manual_seed(0)
    vae = VAEFamily(ARCHS.get("mlp"), "image", (1, 8, 8), latent_dim=3, hidden=16)
    x = torch.rand(4, 1, 8, 8)
    raw = torch.randn(4, 1, 8, 8)
    expected = (x * torch.log(torch.sigmoid(raw)) + (1 - x) * torch.log(1 - torch.sigmoid(raw))).flatten(1).sum(1)
    assert torch.allclose(vae.log_likelihood(x, raw), expected, atol=1e-4)


def test_vae_gaussian_likelihood_is_the_normal_log_density():
    vae = VAEFamily(ARCHS.get("mlp"), "vector", (3,), latent_dim=2, hidden=8)
    with torch.no_grad():
        vae.log_sigma.copy_(torch.tensor([0.0, -1.0, 0.5]))
    x, mean = torch.randn(5, 3), torch.randn(5, 3)
    expected = Normal(mean, vae.log_sigma.exp()).log_prob(x).sum(1)
    assert torch.allclose(vae.log_likelihood(x, mean), expected, atol=1e-5)


def test_vae_loss_is_reconstruction_plus_kl_weight_times_kl():
    torch.manual_seed(0)
    vae = VAEFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8, settings=VAESettings(kl_weight=0.25))
    out = vae.elbo_loss(Batch(torch.randn(16, 2)))
    out = {k: v.detach() for k, v in out.items()}
    assert math.isclose(float(out["loss"]), float(out["reconstruction"] + 0.25 * out["kl"]), rel_tol=1e-6)
    assert math.isclose(float(out["neg_elbo"]), float(out["reconstruction"] + out["kl"]), rel_tol=1e-6)


def test_gan_discriminator_loss_at_chance_is_2_log_2():
    gan = GANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8)
    last = [m for m in gan.nets["discriminator"].modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # a discriminator that outputs logit 0 for everything
        last.weight.zero_()
        last.bias.zero_()
    out = {k: v.detach() for k, v in gan.discriminator_loss(Batch(torch.randn(8, 2))).items()}
    assert math.isclose(float(out["d_loss"]), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(float(out["d_real"]), 0.5, rel_tol=1e-6)


@pytest.mark.parametrize("family", FAMILIES.names())
def test_image_samples_lie_in_unit_interval(family):
    torch.manual_seed(0)
    # n_classes: a conditional family needs labelled data's classes; the others ignore it
    model = FAMILIES.get(family)(ARCHS.get("mlp"), "image", (1, 8, 8), latent_dim=4, hidden=16, n_classes=3)
    x = model.sample(10)
    assert x.shape == (10, 1, 8, 8)
    assert float(x.min()) >= 0 and float(x.max()) <= 1
