"""Likelihood-based VAE metrics as pure tensor functions: KL to the prior, the IWAE bound, bits/dim, active units.

Nothing here runs a network: callers pass the log-densities or posterior means they computed, so each formula
can be checked against a closed form.
"""

import math

import torch

from ganvae.errors import ConfigError, DataError

__all__ = ["gaussian_kl", "importance_weighted_log_likelihood", "bits_per_dim", "active_units"]


def _as_tensor(value, name):
    tensor = torch.as_tensor(value)
    if not torch.is_floating_point(tensor):
        tensor = tensor.to(torch.get_default_dtype())
    if tensor.numel() == 0:
        raise DataError(f"`{name}` is empty; pass at least one value.")
    if torch.isnan(tensor).any():
        raise DataError(f"`{name}` contains NaN values.")
    return tensor


def gaussian_kl(mu, logvar):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per latent dimension, shape (B, latent_dim).

    0.5 (mu^2 + exp(logvar) - 1 - logvar), the closed form of Kingma & Welling (2014), "Auto-Encoding
    Variational Bayes", Appendix B. Sum over the last axis for the KL term of the ELBO; lower means the posterior
    is closer to the prior (0 per dimension is a collapsed, unused unit).
    """
    mu = _as_tensor(mu, "mu")
    logvar = _as_tensor(logvar, "logvar")
    if mu.shape != logvar.shape or mu.dim() != 2:
        raise DataError(
            f"`mu` and `logvar` must both have shape (B, latent_dim), got {tuple(mu.shape)} and {tuple(logvar.shape)}."
        )
    if torch.isinf(mu).any() or torch.isinf(logvar).any():
        raise DataError("`mu` or `logvar` contains infinite values.")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def importance_weighted_log_likelihood(log_p_x_given_z, log_p_z, log_q_z_given_x):
    """IWAE estimate of log p(x), shape (B,), from K posterior samples per example.

    With z_k ~ q(z|x) and log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x), the estimate is
    logsumexp_k(log w_k) - log K (Burda et al. 2016, "Importance Weighted Autoencoders", Eq. 8). K = 1 gives the
    one-sample ELBO; its expectation is a lower bound on log p(x) that tightens as K grows. Higher is better;
    report -estimate as the NLL (lower is better).

    Args:
        log_p_x_given_z, log_p_z, log_q_z_given_x: tensors of shape (K, B), each summed over data or latent
            dimensions. -inf is allowed (a weight of zero); NaN is not.
    """
    log_p_x_given_z = _as_tensor(log_p_x_given_z, "log_p_x_given_z")
    log_p_z = _as_tensor(log_p_z, "log_p_z")
    log_q_z_given_x = _as_tensor(log_q_z_given_x, "log_q_z_given_x")
    for name, tensor in (("log_p_x_given_z", log_p_x_given_z), ("log_p_z", log_p_z)):
        if tensor.dim() != 2:
            raise DataError(f"`{name}` must have shape (K, B), got {tuple(tensor.shape)}.")
    if not (log_p_x_given_z.shape == log_p_z.shape == log_q_z_given_x.shape):
        raise DataError(
            "`log_p_x_given_z`, `log_p_z` and `log_q_z_given_x` must share one shape (K, B), got "
            f"{tuple(log_p_x_given_z.shape)}, {tuple(log_p_z.shape)} and {tuple(log_q_z_given_x.shape)}."
        )
    if torch.isinf(log_q_z_given_x).any():
        raise DataError("`log_q_z_given_x` contains infinite values; samples drawn from q have finite log q.")
    log_weights = log_p_x_given_z + log_p_z - log_q_z_given_x  # (K, B)
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


def bits_per_dim(nll_nats, n_dims):
    """Negative log-likelihood in nats per example -> bits per data dimension: nll / (n_dims ln 2). Lower is better.

    Works on floats, arrays and tensors. The NLL must be of the data as modelled (for 8-bit images, of the
    discretised or dequantised pixels), or the number is not comparable across papers.
    """
    if int(n_dims) != n_dims or n_dims < 1:
        raise ConfigError(f"`n_dims` must be a positive integer (data dimensions per example), got {n_dims!r}.")
    return nll_nats / (int(n_dims) * math.log(2.0))


def active_units(mu_over_data, threshold=0.01):
    """Number of active latent units (Burda et al. 2016, Sec. 5.2). Higher means more of the latent space is used.

    Unit u is active if Cov_x(E_q[z_u | x]) > threshold (0.01 in the paper): the variance over data points of the
    posterior mean. The variance uses ddof=1, as in the usual implementation (He et al. 2019, "Lagging Inference
    Networks and Posterior Collapse in Variational Autoencoders", ``calc_au``).

    Args:
        mu_over_data: (N, latent_dim) posterior means E_q[z|x] for N >= 2 data points.
        threshold: activity threshold on the variance.
    """
    mu = _as_tensor(mu_over_data, "mu_over_data")
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise DataError(f"`mu_over_data` must have shape (N, latent_dim) with N >= 2, got {tuple(mu.shape)}.")
    if torch.isinf(mu).any():
        raise DataError("`mu_over_data` contains infinite values.")
    if not threshold >= 0:
        raise ConfigError(f"`threshold` must be a non-negative number, got {threshold!r}.")
    variance = mu.to(torch.float64).var(dim=0, unbiased=True)  # (latent_dim,)
    return int((variance > threshold).sum())
