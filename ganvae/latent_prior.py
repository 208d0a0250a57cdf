"""A latent prior fitted after training (Ghosh et al. 2020, "ex-post density estimation"): a Gaussian mixture
over the encoded means of the training set, sampled instead of N(0, I).

A VAE's aggregate posterior rarely fills N(0, I): codes drawn from the prior land in holes between the regions the
decoder was trained on, and decode to blurred or implausible examples. A mixture fitted to where the training
data actually encodes avoids those holes. The fit is cached in the run folder (latent_prior.npz) under a key of
the weights, the data, the number of components and the seed, so it is refitted when any of them changes.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .errors import ConfigError, GanvaeError
from .storage import replace_atomically

PRIORS = ("normal", "gmm")  # N(0, I), the model's own prior; a Gaussian mixture fitted to the encoded data
GMM_COMPONENTS = 10
PRIOR_FILE = "latent_prior.npz"
ENCODE_BATCH = 1000
REG_COVAR = 1e-6  # sklearn's default: keeps each covariance positive definite
# A latent unit is inactive when its encoded means vary by at most this much over the data (Burda et al. 2016, the
# threshold of ganvae.metrics.likelihood.active_units).
ACTIVE_VARIANCE = 0.01


@dataclass(frozen=True)
class LatentPrior:
    """A Gaussian mixture over codes: weights (K,), means (K, D), covariances (K, D, D), float64; `key` names the
    weights, data, component count and seed it was fitted for."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    key: str = ""

    @property
    def n_components(self) -> int:
        return int(len(self.weights))

    def mean(self) -> np.ndarray:
        """The mixture's mean, (D,)."""
        return self.weights @ self.means

    def covariance(self) -> np.ndarray:
        """The mixture's covariance, (D, D): sum_k w_k (S_k + m_k m_k^T) - m m^T."""
        mean = self.mean()
        second = np.einsum("k,kij->ij", self.weights, self.covariances + np.einsum("ki,kj->kij", self.means,
                                                                                   self.means))
        return second - np.outer(mean, mean)

    def sample(self, n_samples: int) -> torch.Tensor:
        """n codes (n, D) float32 on the CPU, drawn with torch's global random state (so a seeded block of
        samples is reproducible): a component by its weight, then its Gaussian."""
        weights = torch.from_numpy(self.weights)
        means = torch.from_numpy(self.means)
        factors = torch.linalg.cholesky(torch.from_numpy(self.covariances))  # (K, D, D)
        components = torch.multinomial(weights, n_samples, replacement=True)  # (n,)
        noise = torch.randn(n_samples, self.means.shape[1], dtype=torch.float64)  # (n, D)
        codes = means[components] + (factors[components] @ noise.unsqueeze(-1)).squeeze(-1)
        return codes.float()

    def log_density(self, z: torch.Tensor) -> torch.Tensor:
        """log g(z) of the mixture at codes z (..., D), (...) float64 on z's device:
        logsumexp_k [log w_k + log N(z; m_k, S_k)], each Gaussian's from the Cholesky factor L_k of S_k as
        -(D log 2 pi + 2 sum log diag L_k + |L_k^-1 (z - m_k)|^2) / 2."""
        z = z.to(torch.float64)
        means = torch.from_numpy(self.means).to(z.device)  # (K, D)
        factors = torch.linalg.cholesky(torch.from_numpy(self.covariances).to(z.device))  # (K, D, D)
        flat = z.reshape(-1, z.shape[-1])  # (N, D)
        centred = (flat.unsqueeze(0) - means.unsqueeze(1)).transpose(1, 2)  # (K, D, N)
        whitened = torch.linalg.solve_triangular(factors, centred, upper=False)  # (K, D, N)
        log_det = 2 * torch.log(torch.diagonal(factors, dim1=-2, dim2=-1)).sum(-1)  # (K,)
        dim = z.shape[-1]
        log_components = -0.5 * (dim * math.log(2 * math.pi) + log_det.unsqueeze(1) + whitened.pow(2).sum(1))
        log_weights = torch.log(torch.from_numpy(self.weights).to(z.device)).unsqueeze(1)  # (K, 1)
        return torch.logsumexp(log_weights + log_components, dim=0).reshape(z.shape[:-1])

    def inactive_units(self) -> np.ndarray:
        """The latent dimensions whose encoded means vary by at most ACTIVE_VARIANCE over the data the mixture
        was fitted to (the mixture's own variance there), (n,) int."""
        return np.flatnonzero(np.diag(self.covariance()) <= ACTIVE_VARIANCE)

    def with_standard_normal(self, dims) -> "LatentPrior":
        """The mixture with the dimensions `dims` replaced by N(0, 1), independent of the others and of each other
        in every component; the other dimensions' joint distribution is unchanged."""
        dims = np.asarray(dims, dtype=int)
        means, covariances = self.means.copy(), self.covariances.copy()
        means[:, dims] = 0.0
        covariances[:, dims, :] = 0.0
        covariances[:, :, dims] = 0.0
        covariances[:, dims, dims] = 1.0
        return LatentPrior(self.weights.copy(), means, covariances, self.key)

    def for_likelihood(self) -> "LatentPrior":
        """The prior the likelihood metrics use with this mixture: the mixture over the active units and N(0, 1)
        over the inactive ones. The decoder ignores an inactive unit, so which prior it has there does not change
        what the model generates; but the encoder samples it from about N(0, 1), and a mixture fitted to the
        encoded means is a needle there (variance near 0), which would cost each importance sample thousands of
        nats for nothing."""
        inactive = self.inactive_units()
        return self.with_standard_normal(inactive) if len(inactive) else self

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, weights=self.weights, means=self.means, covariances=self.covariances, key=np.array(self.key))
        return buffer.getvalue()

    @classmethod
    def read(cls, path: Path) -> Optional["LatentPrior"]:
        """The mixture stored at path, or None if there is none or it cannot be read (it is then refitted)."""
        try:
            with np.load(path, allow_pickle=False) as stored:
                return cls(stored["weights"], stored["means"], stored["covariances"], str(stored["key"]))
        except (OSError, KeyError, ValueError):
            return None


def check_prior(prior: str, flag: str = "--prior", auto: bool = False) -> str:
    """`prior` if it is one of PRIORS (or "auto", where `auto` allows it); ConfigError otherwise."""
    allowed = PRIORS + (("auto",) if auto else ())
    if prior not in allowed:
        raise ConfigError(f"{flag} must be one of {', '.join(allowed)}, not {prior!r}")
    return prior


def takes_fitted_prior(capabilities) -> bool:
    """Whether a family with these capabilities can sample from a fitted prior: it has an encoder to fit it to,
    and is unconditional (a conditional family's codes depend on the label)."""
    return "encoder" in capabilities and "conditional" not in capabilities


def resolve_prior(prior: str, capabilities) -> str:
    """The prior "auto" stands for: the fitted mixture where the family can take one and its decoder was not
    trained adversarially on codes from N(0, I), else N(0, I). A VAE's decoder sees only encoded codes, so the
    mixture fitted to them is where it generates well; a VAE-GAN's decoder is also trained as a generator of prior
    samples (Larsen et al. 2016), and on Fashion-MNIST the mixture did not help it (FID 145 [80, 210] against 120
    [104, 135], README)."""
    if check_prior(prior, auto=True) != "auto":
        return prior
    return "gmm" if takes_fitted_prior(capabilities) and "adversarial" not in capabilities else "normal"


def check_components(n_components) -> int:
    if not isinstance(n_components, int) or isinstance(n_components, bool) or n_components < 1:
        raise ConfigError(f"--gmm-components must be a whole number >= 1, not {n_components!r}")
    return n_components


def weights_digest(family: torch.nn.Module) -> str:
    """sha256 of every weight and buffer: changes whenever training (or a load) changes the model."""
    digest = hashlib.sha256()
    for name, tensor in sorted(family.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def encoded_means(family, x: torch.Tensor) -> np.ndarray:
    """The posterior means mu(x) of examples x (N, *shape) in model space, (N, latent_dim) float64."""
    was_training = family.training
    family.eval()
    try:
        parts = [family.encode(x[start:start + ENCODE_BATCH].to(family.device))[0].double().cpu()
                 for start in range(0, len(x), ENCODE_BATCH)]
    finally:
        family.train(was_training)
    return torch.cat(parts).numpy()


def fit_mixture(codes: np.ndarray, n_components: int, seed: int, key: str = "") -> LatentPrior:
    """A full-covariance Gaussian mixture of n_components (at most one per code) fitted to codes (N, D)."""
    from sklearn.mixture import GaussianMixture

    mixture = GaussianMixture(n_components=min(n_components, len(codes)), covariance_type="full",
                              reg_covar=REG_COVAR, random_state=seed).fit(codes)
    return LatentPrior(mixture.weights_.astype(np.float64), mixture.means_.astype(np.float64),
                       mixture.covariances_.astype(np.float64), key)


def training_examples(model, data=None) -> tuple[torch.Tensor, str]:
    """The examples (model space) a prior is fitted to and a digest naming them: `data` (examples in the data's
    units, or a Dataset), else the model's training split, reloaded by its config."""
    from .data import Dataset, load_dataset

    if isinstance(data, Dataset):
        return data.x, data.checksum()
    if data is not None:
        x = model._to_model(data).cpu()
        return x, hashlib.sha256(x.numpy().tobytes() + repr(tuple(x.shape)).encode()).hexdigest()
    from dataclasses import replace

    cfg = model.config_.data
    try:
        dataset = load_dataset(replace(cfg, split="train"))
    except GanvaeError as exc:
        raise ConfigError(f"the latent prior is fitted to the training data, and the data this model was trained on "
                          f"({cfg.name}) cannot be loaded again ({exc}); pass it: model.latent_prior(data=x)") from None
    if list(dataset.shape) != list(model.data_info_["shape"]):
        raise ConfigError(f"the training data {cfg.name} now holds examples of shape {dataset.shape}, not the "
                          f"model's {tuple(model.data_info_['shape'])}; pass the training data: "
                          f"model.latent_prior(data=x)")
    return dataset.x, model.data_info_.get("sha256") or dataset.checksum()


def latent_prior(model, n_components: int = GMM_COMPONENTS, data=None, seed: int = 0) -> LatentPrior:
    """The model's fitted mixture prior: from memory if it was fitted for these weights, component count and seed
    (and this data, when `data` is given), or from the run folder's cache if it was also fitted to the model's
    training data; otherwise fitted now (and cached in the run folder)."""
    n_components = check_components(n_components)
    weights = weights_digest(model.family_)
    given = None if data is None else training_examples(model, data)
    data_key = given[1] if given is not None else model.data_info_.get("sha256")

    def fits(prior: Optional[LatentPrior], any_data: bool = False) -> bool:
        """Fitted for these weights, component count and seed, and for this data (any, when none is named)."""
        if prior is None:
            return False
        held_weights, held_data, held_components, held_seed = (prior.key.split("|") + ["", "", "", ""])[:4]
        return (held_weights, held_components, held_seed) == (weights, str(n_components), str(seed)) and \
            (any_data or data_key is None or held_data == data_key)

    held = getattr(model, "latent_prior_", None)
    if fits(held, any_data=given is None):  # with no data named, the mixture fitted last, to whatever data
        return held
    path = Path(model.run_dir_) / PRIOR_FILE if getattr(model, "run_dir_", None) is not None else None
    stored = LatentPrior.read(path) if path is not None and path.is_file() else None
    if fits(stored):
        model.latent_prior_ = stored
        return stored
    x, data_key = given if given is not None else training_examples(model)
    prior = fit_mixture(encoded_means(model.family_, x), n_components, seed,
                        key=f"{weights}|{data_key}|{n_components}|{seed}")
    if path is not None:
        try:
            replace_atomically(path, prior.to_bytes())
        except OSError:  # a read-only run folder: the mixture is used from memory, and fitted again next time
            pass
    model.latent_prior_ = prior
    return prior
