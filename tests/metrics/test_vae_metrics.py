"""VAE metrics that run the networks: against a linear Gaussian model whose log p(x) is known, and on tiny VAEs."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import ganvae
from ganvae.data import Dataset
from ganvae.errors import ConfigError
from ganvae.metrics.vae_metrics import (importance_weighted_nll, kl_per_dimension, negative_elbo,
                                        posterior_moments, reconstruction_error, vae_metrics)

# z ~ N(0, I_2), x | z ~ N(A z, S^2 I): p(x) = N(0, (A^2 + S^2) I),
# p(z | x) = N(A x / (A^2 + S^2), S^2 / (A^2 + S^2)).
A, S = 1.5, 0.4


class LinearGaussianFamily(nn.Module):
    """The interface the VAE metrics use (encode, decode, log_likelihood, reconstruct, device), with the exact
    posterior as encoder: every importance weight equals p(x), so the IWAE estimate is exact for any K."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # gives the module a device

    @property
    def device(self):
        return self.unused.device

    def encode(self, x):
        var = S**2 / (A**2 + S**2)
        return A * x / (A**2 + S**2), torch.full_like(x, math.log(var))

    def decode(self, z):
        return A * z

    def log_likelihood(self, x, raw):
        return (-0.5 * ((x - raw) / S) ** 2 - math.log(S) - 0.5 * math.log(2 * math.pi)).sum(1)

    def reconstruct(self, x):
        return self.decode(self.encode(x)[0])


class WidePosteriorFamily(LinearGaussianFamily):
    """The same model with a poor proposal (mean shrunk, variance inflated): the one-sample bound is loose,
    and the importance-weighted estimate approaches the exact NLL from above as K grows."""

    def encode(self, x):
        mu, logvar = super().encode(x)
        return 0.5 * mu, logvar + 1.5


def exact_nll(x):
    var = A**2 + S**2
    return (0.5 * x.pow(2) / var + 0.5 * math.log(2 * math.pi * var)).sum(1).numpy()


def draw_x(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return math.sqrt(A**2 + S**2) * torch.randn(n, 2, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("k", [1, 7, 1000])
def test_exact_posterior_gives_the_exact_nll_for_every_k(k):
    family, x = LinearGaussianFamily().double(), draw_x(40)
    np.testing.assert_allclose(importance_weighted_nll(family, x, n_importance=k, max_decodes=64),
                               exact_nll(x), rtol=1e-9)


def test_negative_elbo_is_unbiased_for_the_nll_when_the_posterior_is_exact():
    family, x = LinearGaussianFamily().double(), draw_x(20000, seed=1)
    values = negative_elbo(family, x, seed=3)
    gap = values - exact_nll(x)  # zero in expectation, since KL(q || p(z|x)) = 0
    assert abs(gap.mean()) < 4 * gap.std() / math.sqrt(len(gap))


def test_more_importance_samples_tighten_a_poor_proposal_towards_the_exact_nll():
    family, x = WidePosteriorFamily().double(), draw_x(300, seed=2)
    exact = exact_nll(x).mean()
    means = {k: importance_weighted_nll(family, x, n_importance=k, seed=0).mean() for k in (1, 10, 1000)}
    assert means[1] > means[10] + 0.1 > means[1000] + 0.1  # each bound clearly tighter
    assert exact - 0.01 < means[1000] < exact + 0.05
    many = x.repeat(50, 1)
    k1, elbo = importance_weighted_nll(family, many, n_importance=1, seed=0), negative_elbo(family, many, seed=1)
    spread = math.sqrt(k1.var() / len(k1) + elbo.var() / len(elbo))
    assert abs(k1.mean() - elbo.mean()) < 4 * spread  # K = 1 is the ELBO in expectation


def test_linear_gaussian_reconstruction_and_kl():
    family, x = LinearGaussianFamily().double(), draw_x(5)
    expected = ((A**2 / (A**2 + S**2) - 1) * x).pow(2).mean(1).numpy()
    np.testing.assert_allclose(reconstruction_error(family, x), expected, rtol=1e-12)
    mu, logvar = posterior_moments(family, x)
    assert kl_per_dimension(mu, logvar).shape == (2,)


@pytest.fixture(scope="module")
def tiny_vae():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(96, 1, 6, 6, generator=generator).round()
    data = Dataset(name="binary-test", x=x, kind="image", source="test")
    model = ganvae.VAE(arch="mlp", hidden=16, latent_dim=3, steps=60, batch_size=32, log_every=10).fit(data)
    return model.family_, x


def test_k1_is_the_one_sample_elbo_from_the_same_noise(tiny_vae):
    family, x = tiny_vae
    nll = importance_weighted_nll(family, x, n_importance=1, seed=5)
    with torch.no_grad():
        mu, logvar = family.encode(x)
        eps = torch.randn((1, *mu.shape), generator=torch.Generator().manual_seed(5))[0]  # the draws nll used
        z = mu + (0.5 * logvar).exp() * eps
        log_w = (family.log_likelihood(x, family.decode(z))
                 - 0.5 * (z.pow(2)).sum(1) + 0.5 * (eps.pow(2) + logvar).sum(1))  # the 2 pi terms cancel
    np.testing.assert_allclose(nll, -log_w.double().numpy(), rtol=1e-5, atol=1e-4)


def test_k1_matches_the_negative_elbo_on_average_and_more_samples_are_not_worse(tiny_vae):
    family, x = tiny_vae
    many = x.repeat(40, 1, 1, 1)  # (3840, ...): averages out the noise of single draws
    k1 = importance_weighted_nll(family, many, n_importance=1, seed=0)
    elbo = negative_elbo(family, many, seed=1)
    spread = math.sqrt(k1.var() / len(k1) + elbo.var() / len(elbo))
    assert abs(k1.mean() - elbo.mean()) < 4 * spread
    k100 = importance_weighted_nll(family, x, n_importance=100, seed=0)
    assert k100.mean() <= k1.mean() + 2 * spread


def test_vae_metrics_are_finite_and_shaped(tiny_vae):
    family, x = tiny_vae
    values = vae_metrics(family, x, n_importance=20, nll_examples=30, seed=0)
    assert values["nll_examples"] == 30 and values["iw_samples"] == 20
    for name in ("nll", "bits_per_dim", "neg_elbo", "reconstruction_error"):
        assert np.isfinite(values[name]) and values[name] > 0, name
    assert values["bits_per_dim"] == pytest.approx(values["nll"] / (36 * math.log(2)))
    assert len(values["kl_per_dim"]) == 3 and min(values["kl_per_dim"]) >= 0
    assert 0 <= values["active_units"] <= 3
    assert vae_metrics(family, x, n_importance=20, nll_examples=30, seed=0) == values  # seeded


def test_bad_number_of_importance_samples_is_a_config_error(tiny_vae):
    family, x = tiny_vae
    with pytest.raises(ConfigError, match="importance samples"):
        importance_weighted_nll(family, x, n_importance=0)


# Another prior over codes: a mixture g(z) = sum_k w_k N(z; m_k, C_k). With x | z ~ N(A z, S^2 I) the decoder with
# that prior has the closed form p(x) = sum_k w_k N(x; A m_k, A^2 C_k + S^2 I).
MIXTURE = dict(weights=np.array([0.3, 0.7]), means=np.array([[1.0, 0.5], [-0.5, -1.0]]),
               covariances=np.array([[[0.5, 0.0], [0.0, 0.5]], [[0.3, 0.1], [0.1, 0.8]]]))


def exact_mixture_nll(x):
    log_parts = [math.log(w) + torch.distributions.MultivariateNormal(
        torch.tensor(A * m), torch.tensor(A**2 * c + S**2 * np.eye(2))).log_prob(x)
        for w, m, c in zip(MIXTURE["weights"], MIXTURE["means"], MIXTURE["covariances"])]
    return -torch.logsumexp(torch.stack(log_parts), 0).numpy()


def test_with_a_mixture_prior_the_estimates_approach_the_exact_nll_of_the_decoder_with_that_prior():
    from ganvae.latent_prior import LatentPrior

    prior = LatentPrior(**MIXTURE)
    family, x = WidePosteriorFamily().double(), draw_x(300, seed=4)
    exact = exact_mixture_nll(x)
    assert abs(exact.mean() - exact_nll(x).mean()) > 0.3  # another model than the one with N(0, I)
    k1 = importance_weighted_nll(family, x, n_importance=1, seed=0, log_prior=prior.log_density)
    k2000 = importance_weighted_nll(family, x, n_importance=2000, seed=0, log_prior=prior.log_density)
    assert k1.mean() > k2000.mean() + 0.1  # the bound tightens with K ...
    assert exact.mean() - 0.01 < k2000.mean() < exact.mean() + 0.05  # ... towards the exact NLL
    many = x.repeat(30, 1)
    k1_many = importance_weighted_nll(family, many, n_importance=1, seed=0, log_prior=prior.log_density)
    elbo = negative_elbo(family, many, seed=1, log_prior=prior.log_density)
    spread = math.sqrt(k1_many.var() / len(k1_many) + elbo.var() / len(elbo))
    assert abs(k1_many.mean() - elbo.mean()) < 4 * spread  # the one-sample KL estimate is the ELBO's


def test_a_standard_normal_mixture_prior_gives_the_models_own_nll(tiny_vae):
    from ganvae.latent_prior import LatentPrior

    family, x = tiny_vae
    standard = LatentPrior(weights=np.ones(1), means=np.zeros((1, 3)), covariances=np.eye(3)[None])
    np.testing.assert_allclose(importance_weighted_nll(family, x, 20, seed=2, log_prior=standard.log_density),
                               importance_weighted_nll(family, x, 20, seed=2), rtol=1e-6)
    with_mixture = vae_metrics(family, x, n_importance=20, seed=0, log_prior=standard.log_density)
    own = vae_metrics(family, x, n_importance=20, seed=0)
    assert with_mixture["nll"] == pytest.approx(own["nll"], rel=1e-6)
    assert with_mixture["kl_per_dim"] == own["kl_per_dim"]


class CollapsedUnitFamily(WidePosteriorFamily):
    """The wide-posterior model with a third latent unit the decoder ignores: the encoder gives it mean 0 and
    variance 1 for every x (a collapsed unit, as a VAE leaves units it does not need)."""

    def encode(self, x):
        mu, logvar = super().encode(x)
        return torch.cat([mu, torch.zeros_like(mu[:, :1])], 1), torch.cat([logvar, torch.zeros_like(logvar[:, :1])], 1)

    def decode(self, z):
        return A * z[:, :2]


def test_a_mixture_fitted_to_the_means_takes_n01_on_inactive_units_for_the_likelihood():
    from ganvae.latent_prior import LatentPrior

    # the mixture as fitting it to the encoded means gives it: the collapsed unit's means are all 0, a needle there
    needle = LatentPrior(weights=MIXTURE["weights"], means=np.pad(MIXTURE["means"], ((0, 0), (0, 1))),
                         covariances=np.stack([np.pad(c, ((0, 1), (0, 1))) + np.diag([0, 0, 1e-6])
                                               for c in MIXTURE["covariances"]]))
    assert list(needle.inactive_units()) == [2]
    prior = needle.for_likelihood()
    assert list(prior.inactive_units()) == [] and np.array_equal(prior.means[:, :2], needle.means[:, :2])
    assert np.array_equal(prior.covariances[:, :2, :2], needle.covariances[:, :2, :2])
    assert np.array_equal(prior.covariances[:, 2], [[0, 0, 1]] * 2)
    family, x = CollapsedUnitFamily().double(), draw_x(300, seed=4)
    exact = exact_mixture_nll(x)  # the decoder ignores the unit: the model's p(x) is the 2-D mixture's
    estimate = importance_weighted_nll(family, x, n_importance=2000, seed=0, log_prior=prior.log_density)
    assert exact.mean() - 0.01 < estimate.mean() < exact.mean() + 0.05
    needle_estimate = importance_weighted_nll(family, x, n_importance=30, seed=0, log_prior=needle.log_density)
    assert needle_estimate.mean() > exact.mean() + 1000  # what the needle costs every importance sample
