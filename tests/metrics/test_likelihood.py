"""VAE likelihood metrics against torch.distributions and a linear Gaussian model with a known log p(x)."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from ganvae.metrics import active_units, bits_per_dim, gaussian_kl, importance_weighted_log_likelihood

# Linear Gaussian model: z ~ N(0, 1), x | z ~ N(A z + B, S^2), so p(x) = N(B, A^2 + S^2) and
# p(z | x) = N(V A (x - B) / S^2, V) with V = S^2 / (S^2 + A^2).
A, B, S = 1.5, 0.5, 0.4


def log_normal(value, mean, std):
    as64 = lambda v: torch.as_tensor(v, dtype=torch.float64)  # noqa: E731  (float32 parameters cost 1e-8)
    return Normal(as64(mean), as64(std)).log_prob(value)


def model_terms(x, z):
    """log p(x|z) and log p(z) for z of shape (K, B) and x of shape (B,)."""
    return log_normal(x, A * z + B, S), log_normal(z, 0.0, 1.0)


def exact_log_px(x):
    return log_normal(x, B, math.sqrt(A**2 + S**2))


def draw_x(n, seed):
    generator = torch.Generator().manual_seed(10_000 + seed)  # a stream apart from torch.manual_seed(seed)'s
    return B + math.sqrt(A**2 + S**2) * torch.randn(n, generator=generator, dtype=torch.float64)


def test_gaussian_kl_matches_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(7, 5, generator=generator, dtype=torch.float64)
    logvar = 2 * torch.randn(7, 5, generator=generator, dtype=torch.float64)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected, rtol=1e-12, atol=1e-12)
    assert gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0


def test_k1_equals_the_elbo_sample():
    x = draw_x(10, 1)
    z = torch.randn(1, 10, dtype=torch.float64)
    log_px_z, log_pz = model_terms(x, z)
    log_qz = log_normal(z, 0.0, 1.0)
    result = importance_weighted_log_likelihood(log_px_z, log_pz, log_qz)
    torch.testing.assert_close(result, (log_px_z + log_pz - log_qz)[0], rtol=0, atol=0)


def test_exact_posterior_proposal_gives_exact_log_px():
    torch.manual_seed(2)
    x = draw_x(50, 2)
    var = S**2 / (S**2 + A**2)
    post_mean = var * A * (x - B) / S**2
    z = post_mean + math.sqrt(var) * torch.randn(1000, 50, dtype=torch.float64)  # (K, B)
    log_px_z, log_pz = model_terms(x, z)
    result = importance_weighted_log_likelihood(log_px_z, log_pz, log_normal(z, post_mean, math.sqrt(var)))
    torch.testing.assert_close(result, exact_log_px(x), rtol=0, atol=1e-10)


def test_poor_proposal_with_many_samples_approaches_log_px_from_below():
    torch.manual_seed(3)
    x = draw_x(200, 3)
    z = torch.randn(1000, 200, dtype=torch.float64)  # the prior as proposal: far wider than the posterior
    log_px_z, log_pz = model_terms(x, z)
    log_qz = log_normal(z, 0.0, 1.0)
    iwae = importance_weighted_log_likelihood(log_px_z, log_pz, log_qz).mean().item()
    elbo = importance_weighted_log_likelihood(log_px_z[:1], log_pz[:1], log_qz[:1]).mean().item()
    exact = exact_log_px(x).mean().item()
    assert iwae == pytest.approx(exact, abs=0.02)
    assert elbo < iwae - 0.5  # one sample from the prior is a loose bound


def test_bits_per_dim():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0, rel=1e-15)
    torch.testing.assert_close(bits_per_dim(torch.tensor([2.0, 4.0]), 2), torch.tensor([1.0, 2.0]) / math.log(2))
    with pytest.raises(ValueError, match="n_dims"):
        bits_per_dim(1.0, 0)


def test_active_units_counts_variance_above_threshold():
    generator = torch.Generator().manual_seed(4)
    noise = torch.randn(5000, 4, generator=generator, dtype=torch.float64)
    mu = noise * torch.tensor([1.0, 0.2, 0.05, 0.0], dtype=torch.float64) + 3.0  # variances 1, 0.04, 0.0025, 0
    assert active_units(mu) == 2
    assert active_units(mu, threshold=0.001) == 3
    two_points = torch.tensor([[0.0, 0.0], [0.3, 0.1]])  # ddof=1 variances 0.045 and 0.005
    assert active_units(two_points) == 1
    assert active_units(np.asarray(two_points)) == 1
