"""One yardstick for GANs and VAEs: samples and real data through one feature space, then every metric.

``evaluate(source, data)`` takes a run folder or checkpoint, a fitted ``ganvae.GAN``/``VAE``, a ``.npy`` of
samples or an array of samples in the data's units. It draws (or loads) n samples, loads the reference split,
maps both into the dataset's feature space (``features.feature_extractor_for``), and runs every registered
metric group (``METRIC_GROUPS``: one function per group, computing its metrics from the prepared ``EvalInputs``)
to fill every metric of ``spec.METRICS``. A metric that does not apply (metrics needing an encoder or a
likelihood for a GAN or for bare samples, mode metrics off the 2-D mixtures, class metrics without a
classifier) reads None, shown as n/a, never 0; the result says why. Features and statistics of real data are
cached on disk per (dataset, split, feature space, n).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import torch

from ._version import __version__
from ganvae.config import IW_SAMPLES, N_EVAL, NLL_EXAMPLES, DataConfig
from ganvae.data import IMAGE, MODE_MEANS, MODE_SIGMA, VECTOR, Dataset, load_dataset, safe_chars
from ganvae.storage import atomic_write_bytes, cache_dir, cached_file, write_cache_file
from ganvae.errors import ConfigError, DataError
from ganvae.notebook import EvaluationResult, format_value
from ganvae.latent_prior import GMM_COMPONENTS, check_prior, resolve_prior
from ganvae.metrics.spec import MEMORIZATION_QUANTILE, METRICS, TARGET, capable_families, group_metrics
from ganvae.metrics.clusters import (KMEANS_INITS, MIN_EXPECTED, NDB_ALPHA, assign_clusters, cluster_count,
                                     cluster_coverage, fit_clusters)
from ganvae.metrics.coverage import class_coverage
from ganvae.feature_nets import data_sha256
from ganvae.metrics.features import FeatureExtractor, feature_extractor_for
from ganvae.metrics.fid import feature_statistics, frechet_distance_from_stats
from ganvae.metrics.kid import kernel_distance
from ganvae.metrics.modes import mode_metrics
from ganvae.metrics.prdc import nearest_distances, prdc
from ganvae.metrics.sharpness import sharpness_ratio
from ganvae.metrics.vae_metrics import vae_metrics

__all__ = ["evaluate", "format_table", "save_metrics", "metrics_path_for", "real_features", "EvalInputs",
           "GroupResult", "MetricGroup", "METRIC_GROUPS", "NotApplicable", "metric_group", "DEFAULT_N_SAMPLES",
           "DEFAULT_IW_SAMPLES", "DEFAULT_NLL_EXAMPLES", "PRDC_K", "MEMORIZATION_QUANTILE"]

DEFAULT_N_SAMPLES = N_EVAL
DEFAULT_IW_SAMPLES = IW_SAMPLES
# Test examples the importance-sampled NLL is averaged over: each costs K decodes, so 100 x 1000 decodes of a
# conv decoder take about a minute on 2 CPU cores. The result records the count and the NLL's standard error.
DEFAULT_NLL_EXAMPLES = NLL_EXAMPLES
PRDC_K = 5
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
MIN_SAMPLES = 10
CLUSTER_SEED = 0  # k-means of the real reference: fixed, so its cached centres serve every evaluation
REFERENCE_SEED = 0  # the reference subset is fixed, so its cached statistics serve every evaluation
IMAGE_RANGE_SLACK = 1e-3

SourceLike = Union[str, Path, np.ndarray, torch.Tensor, Any]


def evaluate(source: SourceLike, data: Union[str, DataConfig, None] = None, split: Optional[str] = None,
             n_eval: int = DEFAULT_N_SAMPLES, features: str = "auto", seed: int = 0,
             iw_samples: int = DEFAULT_IW_SAMPLES, nll_examples: Optional[int] = DEFAULT_NLL_EXAMPLES,
             data_dir: Optional[str] = None, download: bool = True, cache: bool = True,
             progress: bool = False, prior: str = "auto", gmm_components: int = GMM_COMPONENTS,
             n_samples: Optional[int] = None, device: str = "cpu") -> dict:
    """Measure a model or a set of samples against real data on the shared metric suite.

    Args:
        source: a run folder or checkpoint path, a fitted ``ganvae.GAN``/``VAE``, a ``.npy`` path of samples,
            or an array of samples in the data's units (images (N, C, H, W) in [0, 1]).
        data: the dataset the samples imitate (a name, path or DataConfig); defaults to a run's own dataset.
        split: the reference split, "test" or "train"; None means test where the data has one, else train.
        n_eval: samples scored: drawn from a model, or the first n of given samples (`--n-eval`, as in
            ``compare``); the reference uses as many real examples, up to the size of its split.
        features: "auto", "classifier", "raw" or "inception" (see ``features.feature_extractor_for``).
        seed: seed of the samples a model draws, KID's subsets and the VAE metrics' noise.
        iw_samples: importance samples K per example for the VAE's NLL.
        nll_examples: reference examples the NLL is averaged over (None: all of them).
        cache: read and write cached real-data features and statistics.
        prior: where a model's codes come from: "normal" (N(0, I)), "gmm" (a Gaussian mixture of
            gmm_components fitted to the encoded training data, for a family with an encoder; its NLL, bits per
            dimension and negative ELBO are then of the decoder with the mixture as its prior), or "auto" (the
            default: "gmm" for an unconditional family with an encoder whose decoder is not also a GAN's generator,
            as the VAE's and the IWAE's; "normal" for the others, the VAE-GAN's included).
        n_samples: the old name of n_eval, still accepted.
        device: where a run given as a path is loaded, sampled and scored: "cpu" (the default), "auto", "cuda" or
            "mps"; a fitted model is used on the device it is on.

    Returns:
        A JSON-able dict: source, family ("gan", "vae" or None for bare samples), data, split, n_samples,
        n_reference, n_train_reference, feature_space, metrics {name: float, int or None}, not_applicable
        (names), notes {name: why it is None}, details (histograms, per-dimension KL, KID's spread...),
        settings, seconds.
    """
    start = time.perf_counter()
    if n_samples is not None:  # the old name
        if n_eval not in (DEFAULT_N_SAMPLES, n_samples):
            raise ConfigError(f"n_eval {n_eval!r} and its old name n_samples {n_samples!r} disagree; "
                              f"give only n_eval")
        n_eval = n_samples
    n_samples = n_eval
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < MIN_SAMPLES:
        raise ConfigError(f"--n-eval must be a whole number >= {MIN_SAMPLES}, not {n_samples!r}")
    if split not in (None, "train", "test"):
        raise ConfigError(f"--split must be train or test, not {split!r}")
    model, given_samples, label, run_data = _resolve_source(source, device)
    if model is not None:
        prior = resolve_prior(prior, model.family_.capabilities)
    elif check_prior(prior, auto=True) == "auto":
        prior = "normal"
    if prior != "normal" and model is None:
        raise ConfigError(f"--prior {prior} draws a model's codes from a fitted prior, and {label} holds samples, not "
                          f"a model; evaluate the run folder instead")
    family = model.family_name if model is not None else None
    train_cfg = _data_config(data, run_data, data_dir, download)
    train_data = load_dataset(replace(train_cfg, split="train"))
    split = split or ("test" if _has_test_split(train_cfg) else "train")
    reference = _reference(train_cfg, split, n_samples)

    if model is not None:
        if tuple(model.data_info_["shape"]) != train_data.shape:
            raise ConfigError(f"the model makes examples of shape {tuple(model.data_info_['shape'])}, but "
                              f"{train_data.name} holds {train_data.shape}; pass the --data it was trained on")
        fitted = _fitted_prior(model, gmm_components, train_data) if prior != "normal" else None
        samples = model.sample(n_samples, seed=seed, prior=prior)
    else:
        samples = given_samples[:n_samples]
    samples = _check_samples(samples, train_data)
    extractor = feature_extractor_for(train_data, features, progress=progress)

    fake_features, fake_predictions = extractor.embed(samples)
    inputs = EvalInputs(
        samples=samples, train_data=train_data, reference=reference, split=split,
        has_test_split=_has_test_split(train_cfg), extractor=extractor, fake_features=fake_features,
        fake_predictions=fake_predictions, real=real_features(reference, extractor, cache=cache, progress=progress),
        model=model, seed=seed, iw_samples=iw_samples, nll_examples=nll_examples, cache=cache, progress=progress,
        prior=prior, latent_prior=fitted if model is not None else None)
    capabilities = frozenset(model.family_.capabilities) if model is not None else frozenset()
    metrics, notes, details, settings = _run_groups(inputs, family, capabilities)
    metrics = {name: _plain(value) for name, value in metrics.items()}
    for name, value in metrics.items():
        if value is None and name not in notes:
            notes[name] = "undefined for these samples"
    not_applicable = [name for name in METRICS if metrics[name] is None and not notes[name].startswith("undefined")]
    return EvaluationResult({  # a dict that shows itself as a table in a notebook
        "source": label,
        "family": family,
        "data": train_data.name,
        "split": split,
        "n_samples": int(len(samples)),
        "n_reference": int(len(reference)),
        "n_train_reference": len(train_data) if inputs.train_features_used else None,
        "feature_space": extractor.name,
        "feature_dim": int(fake_features.shape[1]),
        "feature_info": _jsonable(extractor.info),
        "metrics": metrics,
        "not_applicable": not_applicable,
        "notes": notes,
        "details": _jsonable(details),
        "settings": {"seed": seed, "prdc_k": PRDC_K, **settings, "reference_seed": REFERENCE_SEED,
                     **({"prior": prior, "gmm_components": gmm_components} if prior != "normal" else {})},
        "ganvae_version": __version__,
        "seconds": round(time.perf_counter() - start, 2),
    })


def _fitted_prior(model, gmm_components: int, train_data: Dataset):
    """The model's mixture prior, fitted to its own training data: the evaluation's training split where it is
    that data (as this evaluation read it: its --data-dir, no download), else the data reloaded by the run's
    config; where that cannot be loaded (a model fitted on arrays), the evaluation's training split."""
    if model.data_info_.get("sha256") and model.data_info_["sha256"] == train_data.checksum():
        return model.latent_prior(gmm_components, data=train_data)
    try:
        return model.latent_prior(gmm_components)
    except ConfigError:
        if tuple(model.data_info_["shape"]) != train_data.shape:
            raise
        return model.latent_prior(gmm_components, data=_in_data_units(train_data))  # mapped as the model maps data


# --- the metric groups: each computes its metrics (those whose spec names the group) from the prepared inputs ---

@dataclass
class EvalInputs:
    """What every metric group may read: samples and real data, in data units and in the feature space."""

    samples: np.ndarray  # (N, *example shape) float32, in the data's units (images in [0, 1])
    train_data: Dataset  # the training split
    reference: Dataset  # the real examples compared against (n from `split`)
    split: str  # "test" or "train": the split `reference` comes from
    has_test_split: bool  # whether the data has a held-out split at all
    extractor: FeatureExtractor
    fake_features: np.ndarray  # (N, F) float32
    fake_predictions: Optional[np.ndarray]  # (N,) predicted classes, or None without a classifier
    real: dict  # real_features(reference): features (M, F), predictions (M,), mu (F,), sigma (F, F)
    model: Any = None  # the fitted ganvae.GAN/VAE, None for bare samples
    seed: int = 0
    iw_samples: int = DEFAULT_IW_SAMPLES
    nll_examples: Optional[int] = DEFAULT_NLL_EXAMPLES
    cache: bool = True
    progress: bool = False
    prior: str = "normal"  # where the model's codes came from: "normal" or "gmm" (a fitted mixture)
    latent_prior: Any = None  # the fitted mixture (a LatentPrior) when prior is "gmm"
    _train: Optional[dict] = field(default=None, init=False, repr=False)

    def train_features(self) -> dict:
        """real_features of the whole training split, computed (or read from the cache) once, on first use."""
        if self._train is None:
            self._train = real_features(self.train_data, self.extractor, cache=self.cache, progress=self.progress)
        return self._train

    @property
    def train_features_used(self) -> bool:
        return self._train is not None


@dataclass
class GroupResult:
    """What a group found: metric values (None where undefined), why a value is missing (notes), extras kept
    in the result's details, and settings it used (keys of the result's settings)."""

    metrics: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


class NotApplicable(Exception):
    """Raised by a group whose metrics do not apply to these inputs; its message is every metric's note."""


@dataclass(frozen=True)
class MetricGroup:
    """A function computing the metrics whose spec names this group, and the family capabilities it needs
    (evaluate skips it, with a note, for a source without them)."""

    name: str
    compute: Callable[[EvalInputs], GroupResult]
    requires: frozenset[str] = frozenset()


# Run in this order; a group's metrics come from the spec (spec.group_metrics).
METRIC_GROUPS: dict[str, MetricGroup] = {}


def metric_group(name: str, requires: tuple[str, ...] = ()):
    """Register the decorated function as the metric group `name` (see MetricGroup)."""
    def decorator(compute: Callable[[EvalInputs], GroupResult]) -> Callable[[EvalInputs], GroupResult]:
        if name in METRIC_GROUPS:
            raise ValueError(f"metric group {name!r} is registered twice")
        METRIC_GROUPS[name] = MetricGroup(name, compute, frozenset(requires))
        return compute

    return decorator


def _run_groups(inputs: EvalInputs, family: Optional[str], capabilities: frozenset[str]) -> tuple[dict, ...]:
    """Every registered group in turn -> (metrics in spec order, notes, details, settings); a group the source
    lacks the capabilities for, or that does not apply here, leaves its metrics None and says why in notes."""
    metrics: dict[str, Any] = {name: None for name in METRICS}
    notes: dict[str, str] = {}
    details: dict[str, Any] = {}
    # Every key is present whichever groups run; a group's result fills in its own.
    settings: dict[str, Any] = {"kid_subsets": None, "kid_subset_size": None,
                                "memorization_quantile": MEMORIZATION_QUANTILE, "iw_samples": None}
    for group in METRIC_GROUPS.values():
        names = group_metrics(group.name)
        if not names:
            continue
        missing = group.requires - capabilities
        if missing:
            notes.update({name: _needs_capability(group.requires, missing, family) for name in names})
            continue
        try:
            result = group.compute(inputs)
        except NotApplicable as reason:
            notes.update({name: str(reason) for name in names})
            continue
        strays = sorted(set(result.metrics) - set(names))
        if strays:
            raise ValueError(f"metric group {group.name!r} returned {strays}, which the spec does not assign to "
                             f"it; add them to ganvae.metrics.spec.METRICS with group={group.name!r}")
        metrics.update(result.metrics)
        notes.update(result.notes)
        details.update(result.details)
        settings.update(result.settings)
    return metrics, notes, details, settings


def _needs_capability(requires: frozenset[str], missing: frozenset[str], family: Optional[str]) -> str:
    """'VAE only: a GAN has no encoder or likelihood', naming the registered families that have them as reports
    name them ("cVAE or IWAE or VAE")."""
    from ganvae.families import family_label  # on first use, as metrics.spec reads the registry

    holders = " or ".join(family_label(name) for name in capable_families(requires)) or \
        f"a family with {' and '.join(sorted(requires))}"
    if family is None:
        return f"{holders} only: needs a {holders} model, not bare samples"
    return f"{holders} only: a {family_label(family)} has no {' or '.join(sorted(missing))}"


@metric_group("distribution")
def _distribution_metrics(inputs: EvalInputs) -> GroupResult:
    """FID, KID, precision, recall, density and coverage in the feature space."""
    fake_features, real = inputs.fake_features, inputs.real
    mu, sigma = feature_statistics(fake_features)
    metrics = {"fid": frechet_distance_from_stats(mu, sigma, real["mu"], real["sigma"])}
    subset_size = min(KID_SUBSET_SIZE, len(real["features"]), len(fake_features))
    # When one subset holds both whole sets every round draws the same sets: one round gives the same mean.
    n_subsets = 1 if len(real["features"]) == len(fake_features) == subset_size else KID_SUBSETS
    kid = kernel_distance(real["features"], fake_features, n_subsets=n_subsets, subset_size=subset_size,
                          seed=inputs.seed)
    metrics["kid"] = kid["mean"]
    metrics.update(prdc(real["features"], fake_features, k=PRDC_K))
    return GroupResult(metrics, details={"kid_std": kid["std"]},
                       settings={"kid_subsets": n_subsets, "kid_subset_size": subset_size})


@metric_group("modes")
def _mode_metrics(inputs: EvalInputs) -> GroupResult:
    """Mode coverage on the raw samples, for the 2-D mixtures whose modes are known."""
    data = inputs.train_data
    if not (data.kind == VECTOR and data.name in MODE_MEANS and data.shape == (2,)):
        raise NotApplicable(f"only for the 2-D mixtures {' and '.join(sorted(MODE_MEANS))}")
    modes = mode_metrics(inputs.samples, MODE_MEANS[data.name], MODE_SIGMA[data.name])
    result = GroupResult({"modes_captured": modes["modes_captured"], "high_quality_share": modes["high_quality_share"],
                          "mode_kl": modes["kl_to_uniform"]},
                         details={"mode_histogram": [int(v) for v in modes["mode_histogram"]]})
    if math.isnan(modes["kl_to_uniform"]):
        result.notes["mode_kl"] = "undefined: no sample lies within 3 sigma of a mode"
    return result


@metric_group("sharpness")
def _sharpness(inputs: EvalInputs) -> GroupResult:
    """Laplacian energy of the samples against the reference images, in pixel space (images only)."""
    reference = inputs.reference
    if reference.kind != IMAGE or min(reference.shape[-2:]) < 3:
        raise NotApplicable("images only: it measures fine detail in pixels")
    result = sharpness_ratio(inputs.samples, _in_data_units(reference))
    return GroupResult({"sharpness": result["ratio"]},
                       details={"laplacian_energy": {"samples": result["fake_energy"], "real": result["real_energy"]}})


@metric_group("classes")
def _class_metrics(inputs: EvalInputs) -> GroupResult:
    """Class coverage from the feature space's classifier, against its predictions on the real reference."""
    extractor = inputs.extractor
    if extractor.n_classes is None:
        raise NotApplicable(f"needs a feature space that predicts classes (a classifier), not {extractor.name}")
    classes = class_coverage(inputs.fake_predictions, inputs.real["predictions"], extractor.n_classes)
    return GroupResult({"class_kl": classes["kl"], "min_class_share": classes["min_class_share"]},
                       details={"class_histogram": [round(float(v), 6) for v in classes["histogram"]]})


@metric_group("clusters")
def _cluster_metrics(inputs: EvalInputs) -> GroupResult:
    """Label-free coverage: k-means bins of the real reference's features (cached), filled by the samples."""
    real = inputs.real
    k = cluster_count(len(real["features"]))
    key = hashlib.sha256(f"{real['key']}|kmeans|{k}|{CLUSTER_SEED}|{KMEANS_INITS}".encode()).hexdigest()
    centres = _cached_arrays("kmeans-centres", key, lambda: {
        "centres": fit_clusters(real["features"], k, seed=CLUSTER_SEED)}, inputs.cache)["centres"]
    result = cluster_coverage(assign_clusters(inputs.fake_features, centres),
                              assign_clusters(real["features"], centres), k)
    details = {"clusters": k, "ndb": result["ndb"], "clusters_judged": int(result["judged"].sum()),
               "clusters_reached": int(result["reached"].sum()),
               "cluster_real_share": [round(float(v), 6) for v in result["real_share"]],
               "cluster_sample_share": [round(float(v), 6) for v in result["fake_share"]]}
    outcome = GroupResult({"cluster_share": result["cluster_share"], "ndb_k": result["ndb_k"]}, details=details,
                          settings={"clusters": k, "cluster_seed": CLUSTER_SEED, "ndb_alpha": NDB_ALPHA})
    if math.isnan(result["cluster_share"]):
        outcome.notes["cluster_share"] = (f"undefined: too few samples for {k} bins (a bin is judged when the "
                                          f"samples should put {MIN_EXPECTED} or more in it); draw more with -n")
    return outcome


@metric_group("memorization")
def _memorization(inputs: EvalInputs) -> GroupResult:
    """Share of samples nearer a training example than held-out real data usually is (needs a held-out split)."""
    if inputs.split == "train":
        raise NotApplicable("needs a held-out split to calibrate against: evaluate with --split test"
                            if inputs.has_test_split else
                            f"needs held-out data to calibrate against, and {inputs.train_data.name} has one split")
    train = inputs.train_features()
    threshold = _memorization_threshold(inputs.real, train, inputs.cache)
    share = float((nearest_distances(inputs.fake_features, train["features"]) < threshold).mean())
    return GroupResult({"memorization": share}, details={"memorization_threshold": threshold})


# --- inputs ---------------------------------------------------------------------------------------------------

def _resolve_source(source, device: str = "cpu") -> tuple[Any, Optional[np.ndarray], str, Optional[DataConfig]]:
    """(model or None, samples or None, a label for the result, the run's DataConfig or None); a run given as a
    path is loaded on `device`."""
    from ganvae.api import Model, load

    if isinstance(source, Model):
        source._check_fitted()
        label = str(source.run_dir_) if source.run_dir_ is not None else f"fitted {type(source).__name__}"
        return source, None, label, source.config_.data
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray):
        return None, source, "array", None
    if not isinstance(source, (str, Path)):
        raise ConfigError(f"evaluate takes a run folder, a checkpoint, a .npy of samples, a fitted GAN/VAE or an "
                          f"array, not {type(source).__name__}")
    path = Path(source).expanduser()
    if path.is_dir() or path.suffix == ".pt":
        model = load(path, device=device)
        return model, None, str(path), model.config_.data
    if path.suffix == ".npy":
        if not path.is_file():
            raise DataError(f"{path} does not exist; give the .npy that `ganvae sample -o` wrote")
        try:
            samples = np.load(path, allow_pickle=False)
        except Exception as error:  # numpy raises many types for a corrupt or pickled file
            raise DataError(f"cannot read {path} as a NumPy array ({error}); save samples with numpy.save") from None
        return None, samples, str(path), None
    if not path.exists():
        raise ConfigError(f"{path} does not exist; give a run folder, a checkpoint (.pt) or samples (.npy)")
    raise ConfigError(f"{path} is neither a run folder, a checkpoint (.pt) nor samples (.npy)")


def _data_config(data, run_data: Optional[DataConfig], data_dir: Optional[str], download: bool) -> DataConfig:
    """The DataConfig of the training split: a run's own (same subset, seed and image size) unless --data
    names other data."""
    if isinstance(data, DataConfig):
        cfg = data
    elif data is not None:
        if not isinstance(data, (str, Path)):
            raise ConfigError(f"--data must be a dataset name or path, not {type(data).__name__}")
        from ganvae.api import stored_data_name

        # A run records path data by its absolute path: `--data ok.csv` from the run's own folder is the same.
        same_as_run = run_data is not None and stored_data_name(str(data)) == run_data.name
        cfg = run_data if same_as_run else DataConfig(name=str(data))
    elif run_data is not None:
        cfg = run_data
    else:
        raise ConfigError("evaluating samples needs --data NAME: the dataset the samples imitate "
                          "(see `ganvae datasets`)")
    if data_dir is not None:
        cfg = replace(cfg, data_dir=data_dir)
    return replace(cfg, download=download and cfg.download)


def _has_test_split(cfg: DataConfig) -> bool:
    from ganvae.data import DATASETS

    return cfg.name in DATASETS  # registered sets have a test split; a user's files have only one


def _reference(train_cfg: DataConfig, split: str, n_samples: int) -> Dataset:
    """The real examples metrics compare against: n from `split` (a fixed subset, or a toy set's own draw)."""
    from ganvae.data.toy import TOY_NAMES

    if train_cfg.name in TOY_NAMES:
        return load_dataset(replace(train_cfg, split=split, n_examples=n_samples))
    full = load_dataset(replace(train_cfg, split=split, n_examples=None))
    if len(full) <= n_samples:
        return full
    rows = torch.from_numpy(np.random.default_rng(REFERENCE_SEED).permutation(len(full))[:n_samples])
    return replace(full, x=full.x[rows], y=None if full.y is None else full.y[rows])


def _check_samples(samples, data: Dataset) -> np.ndarray:
    """Samples as float32 in the data's units and example shape; one-sentence errors otherwise."""
    samples = np.asarray(samples)
    if samples.dtype.kind not in "iuf":
        raise DataError(f"samples must be numbers, not {samples.dtype}")
    if data.kind == IMAGE and samples.ndim == 3 and data.shape[0] == 1:
        samples = samples[:, None]  # (N, H, W) -> (N, 1, H, W)
    if samples.shape[1:] != data.shape:
        raise DataError(f"samples have shape {list(samples.shape)}, but {data.name} examples have shape "
                        f"{list(data.shape)}; pass samples of shape (N, {', '.join(map(str, data.shape))})")
    if len(samples) < MIN_SAMPLES:
        raise DataError(f"only {len(samples)} samples; the metrics need at least {MIN_SAMPLES}")
    samples = samples.astype(np.float32)
    if not np.isfinite(samples).all():
        raise DataError("samples contain NaN or infinite values; the model diverged or the file is damaged")
    if data.kind == IMAGE:
        low, high = float(samples.min()), float(samples.max())
        if low < -IMAGE_RANGE_SLACK or high > 1 + IMAGE_RANGE_SLACK:
            raise DataError(f"image samples span [{low:g}, {high:g}], but must lie in [0, 1] as `ganvae sample` "
                            f"writes them; rescale them (for 0..255 divide by 255, for [-1, 1] map (x + 1) / 2)")
        samples = np.clip(samples, 0.0, 1.0)
    return samples


def _in_data_units(data: Dataset) -> np.ndarray:
    """A dataset's examples in its own units (vectors un-standardised), the units samples come in."""
    return data.to_original(data.x.detach().cpu().numpy())


# --- cached real-data features and statistics ------------------------------------------------------------------

def _stats_dir() -> Path:
    return cache_dir() / "stats"


def _cached_arrays(label: str, key: str, compute, cache: bool) -> dict[str, np.ndarray]:
    path = _stats_dir() / f"{label}-{key[:16]}.npz"
    if cache and cached_file(path):
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {name: stored[name] for name in stored.files}
        except Exception:  # a damaged cache file is recomputed and replaced
            pass
    arrays = compute()
    if cache:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_cache_file(path, buffer.getvalue())  # an unwritable cache: a note, and the arrays from memory
    return arrays


def real_features(data: Dataset, extractor: FeatureExtractor, cache: bool = True,
                  progress: bool = False) -> dict[str, np.ndarray]:
    """Features (N, F) float32, predicted classes (N,) (empty without classes), mu (F,) and sigma (F, F) of
    real data, cached by the feature space and a sha256 of the examples (so a changed file is recomputed)."""
    key = hashlib.sha256(f"{extractor.name}|{data_sha256(data.x)}".encode()).hexdigest()
    safe = safe_chars(f"{data.name}-{data.split}-{len(data)}")

    def compute():
        if progress:
            print(f"computing {extractor.name} features of {len(data)} {data.name} {data.split} examples "
                  f"(once; cached in {_stats_dir()})", flush=True)
        feats, predictions = extractor.embed(_in_data_units(data))
        mu, sigma = feature_statistics(feats)
        return {"features": feats.astype(np.float32), "mu": mu, "sigma": sigma, "key": np.array(key),
                "predictions": predictions if predictions is not None else np.zeros(0, np.int64)}

    arrays = _cached_arrays(safe, key, compute, cache)
    return arrays


def _memorization_threshold(test: dict, train: dict, cache: bool) -> float:
    """The MEMORIZATION_QUANTILE of test-to-nearest-train distances, as ``memorization_share`` computes it
    (cached: it depends on real data only)."""
    key = hashlib.sha256(f"{test['key']}|{train['key']}|{MEMORIZATION_QUANTILE}".encode()).hexdigest()

    def compute():
        distances = nearest_distances(test["features"], train["features"])
        return {"threshold": np.array(np.quantile(distances, MEMORIZATION_QUANTILE))}

    return float(_cached_arrays("memorization-threshold", key, compute, cache)["threshold"])


# --- metrics of a model with an encoder and a likelihood (the VAE) -------------------------------------------

@metric_group("likelihood", requires=("encoder", "likelihood"))
def _likelihood_metrics(inputs: EvalInputs) -> GroupResult:
    """NLL, bits per dimension, negative ELBO, KL per latent dimension, active units and reconstruction error
    on the reference split, mapped into the model's space."""
    model = inputs.model
    info = model.data_info_
    x = _in_data_units(inputs.reference)
    log_scale_sum = 0.0
    if info.get("offset") is not None:
        scale = np.asarray(info["scale"], np.float32)
        x = (x - np.asarray(info["offset"], np.float32)) / scale
        log_scale_sum = float(np.log(scale.astype(np.float64)).sum())
    values = vae_metrics(model.family_, torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
                         n_importance=inputs.iw_samples, nll_examples=inputs.nll_examples, seed=inputs.seed,
                         log_scale_sum=log_scale_sum,
                         labels=inputs.reference.y if "conditional" in model.family_.capabilities else None,
                         log_prior=None if inputs.latent_prior is None else
                         inputs.latent_prior.for_likelihood().log_density)
    per_dim = values["kl_per_dim"]
    metrics = {name: values[name] for name in group_metrics("likelihood")}
    metrics["kl_per_dim"] = float(np.mean(per_dim))  # mean over latent dimensions; each one in details
    details = {"kl_per_latent_dim": per_dim, "nll_examples": values["nll_examples"],
               "iw_samples": values["iw_samples"], "nll_std_error": values["nll_std_error"],
               "likelihood": model.family_.likelihood, "label_prior_nats": values["label_prior_nats"]}
    if inputs.latent_prior is not None:  # the likelihood's prior: the mixture, N(0, 1) on its inactive units
        details["prior_inactive_units"] = [int(d) for d in inputs.latent_prior.inactive_units()]
    return GroupResult(metrics, details=details, settings={"iw_samples": inputs.iw_samples})


# --- output ---------------------------------------------------------------------------------------------------

def _plain(value):
    """Python float/int for JSON; NaN and infinities become None."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (float, int, np.floating, np.integer, bool, np.bool_)) or obj is None:
        return _plain(obj)
    return str(obj)


def format_table(result: dict) -> str:
    """The result as a plain-text table: metric, value ("n/a" where it does not apply), which way is better,
    and why a value is missing."""
    who = result["family"].upper() if result["family"] else "samples"
    if result["settings"].get("prior", "normal") != "normal":
        who += f", {result['settings']['prior'].upper()} prior of {result['settings']['gmm_components']} components"
    lines = [f"{result['source']} ({who}): {result['n_samples']} samples against {result['n_reference']} real "
             f"examples of {result['data']} ({result['split']} split)",
             f"feature space: {result['feature_space']} ({result['feature_dim']}-d)", ""]
    width = max(len(name) for name in result["metrics"])
    lines.append(f"{'metric':<{width}}  {'value':>10}  better")
    for name, value in result["metrics"].items():
        spec = METRICS.get(name)
        direction = "" if spec is None else f"near {spec.target:g}" if spec.direction == TARGET else spec.direction
        note = result["notes"].get(name, "")
        lines.append(f"{name:<{width}}  {format_value(value):>10}  {direction:<9} {note}".rstrip())
    lines.append("")
    lines.append(f"{result['seconds']:.1f} s")
    return "\n".join(lines)


def metrics_path_for(source) -> Optional[Path]:
    """Where metrics.json goes by default: into a run folder; beside a checkpoint (<name>.metrics.json) or a
    .npy (<name>.metrics.json); None for in-memory sources without a run folder."""
    from ganvae.api import Model

    if isinstance(source, Model):
        return Path(source.run_dir_) / "metrics.json" if source.run_dir_ is not None else None
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if path.is_dir():
            return path / "metrics.json"
        return path.with_name(f"{path.stem}.metrics.json")
    return None


def save_metrics(result: dict, path: Union[str, Path]) -> Path:
    """Write the result as JSON, atomically."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, (json.dumps(result, indent=2) + "\n").encode())
    except OSError as error:
        raise ConfigError(f"cannot write {path} ({error.strerror or error}); choose another --out") from None
    return path
