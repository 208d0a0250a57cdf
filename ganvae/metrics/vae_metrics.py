"""Likelihood metrics of a fitted VAE on real data: negative ELBO, importance-sampled NLL, bits per dimension,
reconstruction error, KL per latent dimension and active units.

Each function takes a fitted ``VAEFamily`` and examples x in the model's space (images (N, C, H, W) in [0, 1],
vectors (N, D) as the model was trained on them), and for a conditional family (the cVAE) their labels (N,),
and runs the networks; the formulas themselves live in
``ganvae.metrics.likelihood``. The log-densities used:
log p(x|z) from ``family.log_likelihood``; log p(z) = log N(z; 0, I); log q(z|x) = log N(z; mu(x), diag
exp(logvar(x))), each summed over dimensions. log p(z) may be another prior's (``log_prior``: a mixture fitted to
the encoded training set after training, ``ganvae.latent_prior``); the decoder with that prior is another density
model of the data, estimated with the same encoder as the importance sampler. Randomness is drawn from a generator seeded by ``seed``, so the
same call gives the same numbers.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from ..config import IW_SAMPLES, NLL_EXAMPLES

from ganvae.errors import ConfigError
from ganvae.metrics.likelihood import active_units, bits_per_dim, gaussian_kl, importance_weighted_log_likelihood

__all__ = ["posterior_moments", "negative_elbo", "importance_weighted_nll", "reconstruction_error",
           "kl_per_dimension", "vae_metrics"]

BATCH = 500
MAX_DECODES = 4096  # z samples decoded at once by the IWAE estimate: bounds its memory for any K
LOG_2PI = math.log(2 * math.pi)
LogPrior = Callable[[torch.Tensor], torch.Tensor]  # codes (..., L) -> log p(z) (...)


def _batches(x: torch.Tensor, size: int, labels: Optional[torch.Tensor] = None):
    """(x batch, {"labels": its labels} or {}): the keyword a conditional family's networks take, on x's way."""
    for start in range(0, len(x), size):
        yield x[start:start + size], ({} if labels is None else {"labels": labels[start:start + size]})


def _on(device, given: dict) -> dict:
    return {key: value.to(device) for key, value in given.items()}


def _standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last axis."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def _diagonal_normal_log_density(eps: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(mu + sigma eps; mu, diag sigma^2) summed over the last axis, from the standardised eps."""
    return -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)


def _generator(family, seed: int) -> torch.Generator:
    """The metrics' noise is drawn on the CPU (then moved), so that a seed gives the same estimate on every device."""
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def posterior_moments(family, x: torch.Tensor, labels: Optional[torch.Tensor] = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """mu, logvar of q(z|x), each (N, latent_dim)."""
    mus, logvars = [], []
    for batch, given in _batches(x, BATCH, labels):
        mu, logvar = family.encode(batch.to(family.device), **_on(family.device, given))
        mus.append(mu.cpu())
        logvars.append(logvar.cpu())
    return torch.cat(mus), torch.cat(logvars)


@torch.no_grad()
def negative_elbo(family, x: torch.Tensor, seed: int = 0, labels: Optional[torch.Tensor] = None,
                  log_prior: Optional[LogPrior] = None) -> np.ndarray:
    """-ELBO per example in nats, (N,): -log p(x|z) for one z ~ q(z|x), plus the closed-form KL to the prior.

    The same estimator the VAE is trained on (``VAEFamily.elbo_terms``); unbiased, and an upper bound on
    -log p(x) in expectation. With another prior (``log_prior``), whose KL has no closed form, the KL is the
    one-sample estimate log q(z|x) - log p(z) at the same z.
    """
    generator = _generator(family, seed)
    values = []
    for batch, given in _batches(x, BATCH, labels):
        batch, given = batch.to(family.device), _on(family.device, given)
        mu, logvar = family.encode(batch, **given)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
        z = mu + eps * (0.5 * logvar).exp()
        reconstruction = -family.log_likelihood(batch, family.decode(z, **given))
        if log_prior is None:
            values.append((reconstruction + gaussian_kl(mu, logvar).sum(1)).cpu())
        else:
            log_q = _diagonal_normal_log_density(eps, logvar).double()
            values.append((reconstruction.double() + log_q - log_prior(z).to(mu.device)).cpu())
    return torch.cat(values).double().numpy()


@torch.no_grad()
def importance_weighted_nll(family, x: torch.Tensor, n_importance: int = IW_SAMPLES, seed: int = 0,
                            max_decodes: int = MAX_DECODES, labels: Optional[torch.Tensor] = None,
                            log_prior: Optional[LogPrior] = None) -> np.ndarray:
    """-log p(x) per example in nats, (N,), by the importance-weighted bound with K = n_importance samples
    (Burda et al. 2016): -(logsumexp_k log w_k - log K), log w = log p(x|z) + log p(z) - log q(z|x); log p(z)
    is N(0, I)'s, or `log_prior`'s when given.

    K = 1 is a one-sample ELBO; larger K gives a tighter (lower) estimate. z is decoded in chunks of at most
    ``max_decodes`` so memory stays bounded whatever K is.
    """
    if int(n_importance) != n_importance or n_importance < 1:
        raise ConfigError(f"the number of importance samples must be a whole number >= 1, not {n_importance!r}")
    n_importance = int(n_importance)
    generator = _generator(family, seed)
    n_examples_at_once = max(1, min(len(x), max_decodes // min(n_importance, max_decodes)))
    values = []
    for batch, given in _batches(x, n_examples_at_once, labels):
        batch, given = batch.to(family.device), _on(family.device, given)  # (B, ...), labels (B,)
        mu, logvar = family.encode(batch, **given)  # (B, L) each
        std = (0.5 * logvar).exp()
        chunk = max(1, max_decodes // len(batch))
        log_p_x, log_p_z, log_q = [], [], []
        for start in range(0, n_importance, chunk):
            k = min(chunk, n_importance - start)
            eps = torch.randn((k, *mu.shape), generator=generator, dtype=mu.dtype).to(mu.device)  # (k, B, L)
            z = mu + std * eps
            # z row i*B + b belongs to example b: its labels repeat k times likewise.
            repeated_given = {key: value.repeat(k) for key, value in given.items()}
            raw = family.decode(z.reshape(k * len(batch), -1), **repeated_given)  # (k*B, ...)
            repeated = batch.unsqueeze(0).expand(k, *batch.shape).reshape(k * len(batch), *batch.shape[1:])
            log_p_x.append(family.log_likelihood(repeated, raw).reshape(k, len(batch)))
            log_p_z.append(_standard_normal_log_density(z) if log_prior is None else log_prior(z).to(z.device))
            log_q.append(_diagonal_normal_log_density(eps, logvar.unsqueeze(0).expand_as(eps)))
        log_likelihood = importance_weighted_log_likelihood(
            torch.cat(log_p_x).double(), torch.cat(log_p_z).double(), torch.cat(log_q).double())  # (B,)
        values.append(-log_likelihood.cpu())
    return torch.cat(values).numpy()


@torch.no_grad()
def reconstruction_error(family, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> np.ndarray:
    """Mean squared error per example, (N,), between x and the decoded posterior mean E[x | z = mu(x)],
    averaged over the example's dimensions, in the model's space (pixel values in [0, 1] for images)."""
    errors = []
    for batch, given in _batches(x, BATCH, labels):
        batch = batch.to(family.device)
        errors.append((family.reconstruct(batch, **_on(family.device, given)) - batch).pow(2).flatten(1).mean(1).cpu())
    return torch.cat(errors).double().numpy()


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> np.ndarray:
    """KL(q(z|x) || p(z)) per latent dimension averaged over the examples, (latent_dim,)."""
    return gaussian_kl(mu.double(), logvar.double()).mean(0).numpy()


def vae_metrics(family, x: torch.Tensor, n_importance: int = IW_SAMPLES, nll_examples: Optional[int] = NLL_EXAMPLES,
                seed: int = 0, log_scale_sum: float = 0.0, labels: Optional[torch.Tensor] = None,
                log_prior: Optional[LogPrior] = None) -> dict:
    """Every VAE-only metric on the examples x (model space): neg_elbo, reconstruction_error, kl_per_dim,
    active_units over all of x; nll and bits_per_dim over the first ``nll_examples`` of x (all when None).

    log_scale_sum: sum of log(scale) of a standardisation the model was trained under (CSV data); it is
    added to the NLL and the negative ELBO so both are densities of the data in its own units.
    labels (N,): a conditional family's classes of x, which it needs. Its bounds are then on -log p(x | y); adding
    -log p(y) of its uniform class prior, log K, makes them bounds on -log p(x, y) >= -log p(x), the same
    quantity as a plain VAE's (tight when the class is clear from x); reported as ``label_prior_nats``.
    log_prior: the log-density of another prior over codes (a fitted mixture's), for the NLL, bits per dimension
    and negative ELBO of the decoder with that prior; the KL per dimension stays the encoder's to N(0, I), the
    prior it was trained with (a mixture's KL does not split into dimensions).
    Returns plain floats (kl_per_dim a list), plus ``nll_examples`` and ``iw_samples`` used and the NLL's
    standard error over those examples (``nll_std_error``).
    """
    family.eval()
    conditional = "conditional" in family.capabilities
    if conditional and labels is None:
        raise ConfigError(f"the {family.name} family is conditional: its likelihood metrics need the examples' labels")
    if not conditional:
        labels = None
    label_prior_nats = math.log(family.n_classes) if conditional else 0.0
    log_scale_sum = log_scale_sum + label_prior_nats
    n_dims = int(np.prod(x.shape[1:]))
    mu, logvar = posterior_moments(family, x, labels)
    n_nll = len(x) if nll_examples is None else min(int(nll_examples), len(x))
    nll = importance_weighted_nll(family, x[:n_nll], n_importance, seed=seed,
                                  labels=None if labels is None else labels[:n_nll], log_prior=log_prior) + log_scale_sum
    return {
        "nll": float(nll.mean()),
        "nll_std_error": float(nll.std(ddof=1) / math.sqrt(n_nll)) if n_nll > 1 else None,
        "bits_per_dim": float(bits_per_dim(float(nll.mean()), n_dims)),
        "neg_elbo": float(negative_elbo(family, x, seed=seed, labels=labels, log_prior=log_prior).mean()
                          + log_scale_sum),
        "kl_per_dim": [float(v) for v in kl_per_dimension(mu, logvar)],
        "active_units": int(active_units(mu)) if len(x) >= 2 else None,
        "reconstruction_error": float(reconstruction_error(family, x, labels).mean()),
        "nll_examples": n_nll,
        "label_prior_nats": label_prior_nats,
        "iw_samples": int(n_importance),
    }
