"""Everything ganvae knows about each metric, in one table: ``METRICS``, one ``MetricSpec`` per metric.

Evaluate computes a metric through the group its spec names (``ganvae.evaluation.METRIC_GROUPS``); the
report table, the verdict, the curves, the intervals' clipping and ``advise`` read how to name it, which way is
better, what range it takes, which families it means something for and which user needs it measures from here.
Adding a metric is one group function plus one entry here.

This module imports only the standard library (no torch, no numpy), so reports can be read and written from it
alone. Which family has which capability is the families' own declaration (``Family.capabilities``), looked
up lazily by ``family_capabilities``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

# Which way is better. "target": real data scores a known value and both sides of it are worse; "neither": a
# diagnostic with no better direction.
LOWER, HIGHER, TARGET, NEITHER = "lower", "higher", "target", "neither"
DIRECTIONS = (LOWER, HIGHER, TARGET, NEITHER)
# The ranges metrics take (lower, upper; None for no bound). A t interval over few seeds can reach past them.
UNIT = (0.0, 1.0)
NON_NEGATIVE = (0.0, None)
# The share of held-out real examples that memorisation counts by construction (its threshold is this quantile
# of test-to-train distances), so fresh real data reads this value.
MEMORIZATION_QUANTILE = 0.05


@dataclass(frozen=True)
class MetricSpec:
    """One metric: what it is, how reports name and judge it, and who it applies to.

    name: the key in evaluate's ``metrics`` and in summary.json.
    label: how sentences and tables name it ("FID", "smallest class share").
    group: the metric group of ``evaluate.METRIC_GROUPS`` that computes it.
    direction: "lower", "higher" or "neither"; give ``target`` instead for a two-sided metric (direction
        becomes "target": the value real data scores is best, both sides of it are worse).
    valid_range: (lower, upper) the value can take, None for no bound; intervals over seeds are clipped to it.
    unit: appended to quoted values ("nats").
    requires: the family capability it needs (``Family.capabilities``, e.g. "likelihood"), None for every family.
    needs: the ``advise`` needs it measures -> its position among that need's metrics (the order they are
        weighed and quoted in). "stable-training" metrics are those whose seed-to-seed spread is compared.
    winner_phrase: the verdict's sentence opening when a family clearly wins, "{W}" for "the GAN"; None gives
        "{W} is better on <label>".
    tie_phrase: the verdict's opening when intervals overlap; None gives "Neither family is clearly better on
        <label>".
    target_sides: for a two-sided metric, what a value below and above the target means.
    report_rank: its position in the report's tables and the verdict (fidelity, coverage, copying, likelihood);
        None lists it after the ranked ones, by name.
    curve_rank: its position among the headline panels of the metric-versus-time figure; None: after them.
    in_curves: whether the metric-versus-time figure draws it at all.
    """

    name: str
    label: str
    description: str
    computed_by: str
    group: str
    direction: Optional[str] = None
    target: Optional[float] = None
    valid_range: Optional[tuple[Optional[float], Optional[float]]] = None
    unit: str = ""
    requires: Optional[str] = None
    needs: Mapping[str, int] = field(default_factory=dict)
    winner_phrase: Optional[str] = None
    tie_phrase: Optional[str] = None
    target_sides: Optional[tuple[str, str]] = None
    report_rank: Optional[int] = None
    curve_rank: Optional[int] = None
    in_curves: bool = True

    def __post_init__(self):
        if self.target is not None:
            if self.direction not in (None, TARGET):
                raise ValueError(f"metric {self.name!r} has a target, so its direction is 'target', "
                                 f"not {self.direction!r}")
            object.__setattr__(self, "direction", TARGET)
        elif self.direction not in (LOWER, HIGHER, NEITHER):
            raise ValueError(f"metric {self.name!r} needs a direction ({LOWER}, {HIGHER} or {NEITHER}) or a "
                             f"target value, not {self.direction!r}")
        if self.target_sides is not None and self.target is None:
            raise ValueError(f"metric {self.name!r} has target_sides but no target")

    def applies_to(self, capabilities) -> bool:
        """Whether the metric means something for a family with these capabilities."""
        return self.requires is None or self.requires in capabilities

    def info(self) -> dict:
        """The plain-dict form of ``METRIC_INFO``: direction, description, computed_by, requires, [target]."""
        info = {"direction": self.direction, "description": self.description, "computed_by": self.computed_by,
                "requires": self.requires}
        if self.target is not None:
            info["target"] = self.target
        return info


# In the order evaluate lists them (its table and metrics.json); report_rank orders the report.
METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in (
    MetricSpec("fid", "FID", "Frechet distance between Gaussians fitted to real and generated features "
          "(Heusel et al. 2017).", "frechet_distance", "distribution", LOWER, valid_range=NON_NEGATIVE,
          needs={"sharp-samples": 2, "stable-training": 1},
          winner_phrase="{W}'s samples are closer to the data",
          tie_phrase="Neither family's samples are clearly closer to the data", report_rank=1, curve_rank=1),
    MetricSpec("kid", "KID", "Kernel distance: unbiased polynomial-kernel MMD^2 averaged over subsets "
          "(Binkowski et al. 2018); about 0 for a perfect model.", "kernel_distance()['mean']", "distribution",
          LOWER, needs={"sharp-samples": 3, "stable-training": 2},
          winner_phrase="{W}'s samples are closer to the data by kernel distance",
          tie_phrase="Neither family's samples are clearly closer to the data by kernel distance", report_rank=2),
    MetricSpec("sharpness", "sharpness", "Mean energy of the images' Laplacian over that of real images, in pixel "
          "space (variance of the Laplacian, Pech-Pacheco et al. 2000): 1 for real images, below 1 for blurrier "
          "samples, above 1 for noisier ones. Images only.", "sharpness_ratio()['ratio']", "sharpness",
          target=1.0, valid_range=NON_NEGATIVE, needs={"sharp-samples": 1},
          winner_phrase="{W}'s images are closer to real images in fine detail",
          tie_phrase="Neither family's images are clearly closer to real images in fine detail",
          target_sides=("images are blurrier than real ones", "images are noisier than real ones"),
          report_rank=3, curve_rank=2),
    MetricSpec("precision", "precision", "Share of generated samples inside the real data's k-NN manifold "
          "(Kynkaanniemi et al. 2019): fidelity.", "prdc()['precision']", "distribution", HIGHER,
          valid_range=UNIT, needs={"stable-training": 3},
          winner_phrase="{W}'s samples fall inside the real data's neighbourhoods more often (fidelity in the "
                        "feature space, which blur does not lower: read it with sharpness)",
          tie_phrase="Neither family's samples are clearly more faithful", report_rank=4, curve_rank=3),
    MetricSpec("recall", "recall", "Share of real samples inside the generated samples' k-NN manifold "
          "(Kynkaanniemi et al. 2019): diversity.", "prdc()['recall']", "distribution", HIGHER, valid_range=UNIT,
          needs={"coverage": 1, "stable-training": 4}, winner_phrase="{W} covers more of the real data",
          tie_phrase="Neither family covers the data better", report_rank=6, curve_rank=4),
    MetricSpec("density", "density", "Mean number of real k-NN balls holding each generated sample, over k "
          "(Naeem et al. 2020); about 1 for a perfect model, above 1 when samples crowd the dense regions of the "
          "data, below 1 when they stray from it.", "prdc()['density']", "distribution", target=1.0,
          valid_range=NON_NEGATIVE, needs={"stable-training": 6},
          winner_phrase="{W}'s density is closer to the 1 that real data scores",
          tie_phrase="Neither family's density is clearly closer to the 1 that real data scores",
          target_sides=("samples stray from the real data", "samples crowd its dense regions"), report_rank=5),
    MetricSpec("coverage", "coverage", "Share of real k-NN balls holding at least one generated sample "
          "(Naeem et al. 2020); about 1 - 2^-k (0.97 for k=5) for a perfect model.", "prdc()['coverage']",
          "distribution", HIGHER, valid_range=UNIT, needs={"coverage": 2, "stable-training": 5},
          winner_phrase="{W} covers more of the real data's neighbourhoods",
          tie_phrase="Neither family covers the data better", report_rank=7, curve_rank=5),
    MetricSpec("modes_captured", "modes captured", "Mixture modes with at least one sample within 3 sigma "
          "(VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).", "mode_metrics()['modes_captured']",
          "modes", HIGHER, valid_range=NON_NEGATIVE, needs={"coverage": 3},
          winner_phrase="{W} captures more of the data's modes",
          tie_phrase="Neither family captures clearly more modes", report_rank=8, curve_rank=7),
    MetricSpec("high_quality_share", "high-quality share", "Share of samples within 3 sigma of their nearest mode; "
          "0.989 for exact draws of a 2-D mixture.", "mode_metrics()['high_quality_share']", "modes", HIGHER,
          valid_range=UNIT, winner_phrase="more of {W}'s samples land on a mode", report_rank=9),
    MetricSpec("mode_kl", "mode KL", "KL(high-quality samples' mode histogram || uniform); 0 when balanced, "
          "log(n_modes) when one mode.", "mode_metrics()['kl_to_uniform']", "modes", LOWER,
          valid_range=NON_NEGATIVE, needs={"coverage": 6},
          winner_phrase="{W} spreads its samples more evenly over the modes", report_rank=10),
    MetricSpec("class_kl", "class KL", "KL(predicted-class histogram of samples || that of real data).",
          "class_coverage()['kl']", "classes", LOWER, valid_range=NON_NEGATIVE, needs={"coverage": 5},
          winner_phrase="{W}'s mix of classes is closer to the real data's", report_rank=12),
    MetricSpec("min_class_share", "smallest class share", "Smallest predicted-class share among samples; 0 when a "
          "class is missing.", "class_coverage()['min_class_share']", "classes", HIGHER, valid_range=UNIT,
          needs={"coverage": 4}, winner_phrase="{W}'s rarest class is better represented", report_rank=11,
          curve_rank=6),
    MetricSpec("cluster_share", "clusters reached", "Share of the k-means bins of the real data's features that the "
          "samples reach (k = clamp(n_real / 50, 10, 50); a bin where the samples should put 10 or more is reached "
          "when it gets a tenth of that): a label-free count of the kinds of examples kept; 1 for exact draws, "
          "lower when a kind of example is dropped.", "cluster_coverage()['cluster_share']", "clusters", HIGHER,
          valid_range=UNIT, needs={"coverage": 7}, winner_phrase="{W}'s samples reach more of the real data's clusters",
          tie_phrase="Neither family's samples clearly reach more of the real data's clusters", report_rank=13),
    MetricSpec("ndb_k", "NDB/k", "Number of statistically different bins over k (Richardson & Weiss 2018): the "
          "share of the k-means bins whose share of samples differs from their share of real examples "
          "(two-proportion z-test, alpha 0.05); about 0.05 for exact draws, higher when samples over-fill some "
          "bins and leave others.", "cluster_coverage()['ndb_k']", "clusters", LOWER, valid_range=UNIT,
          needs={"coverage": 8}, winner_phrase="{W}'s samples fill the real data's clusters in closer proportions",
          tie_phrase="Neither family's samples fill the real data's clusters in clearly closer proportions",
          report_rank=14),
    MetricSpec("memorization", "memorization share", "Share of samples closer to a training example than the 5th "
          "percentile of test-to-train distances: 0.05 for fresh real data; above it a model copies its training "
          "set, below it its samples lie further from the data than real data does (both sides are worse; "
          "compare the two-sided test of Meehan et al. 2020).", "memorization_share()['share']", "memorization",
          target=MEMORIZATION_QUANTILE, valid_range=UNIT,
          winner_phrase=f"{{W}}'s memorization share is closer to the {MEMORIZATION_QUANTILE:g} that fresh real "
                        f"data scores",
          tie_phrase=f"Neither family's memorization share is clearly closer to the {MEMORIZATION_QUANTILE:g} "
                     f"that fresh real data scores",
          target_sides=("samples lie further from the training set than held-out real data does",
                        "samples copy training examples"), report_rank=15),
    MetricSpec("nll", "NLL", "Negative log-likelihood in nats from the importance-weighted bound "
          "(Burda et al. 2016).", "-importance_weighted_log_likelihood", "likelihood", LOWER, unit="nats",
          requires="likelihood", needs={"likelihood": 1}, report_rank=16, curve_rank=8),
    MetricSpec("bits_per_dim", "bits per dim", "NLL divided by (data dimensions x ln 2).", "bits_per_dim",
          "likelihood", LOWER, unit="bits", requires="likelihood", report_rank=17),
    MetricSpec("neg_elbo", "negative ELBO", "Negative evidence lower bound: reconstruction NLL plus KL to the prior "
          "(Kingma & Welling 2014); an upper bound on the NLL.", "reconstruction + gaussian_kl sum", "likelihood",
          LOWER, unit="nats", requires="likelihood", needs={"likelihood": 2}, report_rank=18),
    MetricSpec("kl_per_dim", "KL per latent dimension", "KL to the prior per latent dimension (Kingma & Welling "
          "2014); a diagnostic: near 0 means posterior collapse, large means a costly code.", "gaussian_kl",
          "likelihood", NEITHER, valid_range=NON_NEGATIVE, unit="nats", requires="encoder", report_rank=21),
    MetricSpec("active_units", "active units", "Latent units whose posterior mean varies over the data by more than "
          "0.01 (Burda et al. 2016).", "active_units", "likelihood", HIGHER, valid_range=NON_NEGATIVE,
          requires="encoder", report_rank=20),
    MetricSpec("reconstruction_error", "reconstruction error", "Error between inputs and their reconstructions.",
          "computed by the VAE family", "likelihood", LOWER, valid_range=NON_NEGATIVE, requires="encoder",
          report_rank=19),
)}


def spec_of(metric: str) -> Optional[MetricSpec]:
    """The metric's spec, or None for a name ganvae does not know (reports still show such metrics)."""
    return METRICS.get(metric)


def metric_label(metric: str) -> str:
    """'fid' -> 'FID'; an unknown metric's name with spaces for underscores."""
    spec = METRICS.get(metric)
    return spec.label if spec is not None else str(metric).replace("_", " ")


def metric_description(metric: str) -> str:
    spec = METRICS.get(metric)
    return spec.description if spec is not None else ""


def metric_unit(metric: str) -> str:
    spec = METRICS.get(metric)
    return spec.unit if spec is not None else ""


def metric_sort_key(metric: str) -> tuple:
    """The report's order: ranked metrics by report_rank, then the others by name."""
    spec = METRICS.get(metric)
    rank = spec.report_rank if spec is not None else None
    return (0, rank, "") if rank is not None else (1, 0, str(metric))


def curve_sort_key(metric: str) -> tuple:
    """The metric-versus-time figure's order: the headline metrics (curve_rank), then the report's order."""
    spec = METRICS.get(metric)
    rank = spec.curve_rank if spec is not None else None
    return ((0, rank) if rank is not None else (1, 0)) + metric_sort_key(metric)


def in_curves(metric: str) -> bool:
    spec = METRICS.get(metric)
    return spec is None or spec.in_curves


def metric_range(metric: str) -> Optional[tuple[Optional[float], Optional[float]]]:
    spec = METRICS.get(metric)
    return spec.valid_range if spec is not None else None


def need_metrics(need: str) -> tuple[str, ...]:
    """The metrics that measure an advise need, in the order they are weighed and quoted."""
    serving = [spec for spec in METRICS.values() if need in spec.needs]
    return tuple(spec.name for spec in sorted(serving, key=lambda spec: spec.needs[need]))


def spread_metrics() -> tuple[str, ...]:
    """The metrics whose seed-to-seed spread tells how stable training is, the first measured one deciding."""
    return need_metrics("stable-training")


def group_metrics(group: str) -> tuple[str, ...]:
    """The metrics one evaluate group computes, in METRICS order."""
    return tuple(name for name, spec in METRICS.items() if spec.group == group)


def family_capabilities(family: str) -> frozenset[str]:
    """A registered family's declared capabilities (``Family.capabilities``); empty for an unknown name, such
    as a family a newer ganvae wrote into a summary. A comparison's entry "FAMILY+PRIOR" (the family's runs with
    codes from a fitted prior) has its family's: the same encoder, and a likelihood with that prior. Imports the
    families (and torch) on first use."""
    from ganvae.families import FAMILIES

    family = family.partition("+")[0]
    if family not in FAMILIES:
        return frozenset()
    return frozenset(FAMILIES.get(family).capabilities)


def capable_families(capabilities) -> list[str]:
    """The registered families that have every one of these capabilities, by name."""
    from ganvae.families import FAMILIES

    wanted = set(capabilities)
    return [name for name in FAMILIES.names() if wanted <= family_capabilities(name)]


def applies_to(metric: str, capabilities) -> bool:
    """Whether the metric means something for a family with these capabilities (an unknown metric: yes)."""
    spec = METRICS.get(metric)
    return spec is None or spec.applies_to(capabilities)


__all__ = ["METRICS", "MetricSpec", "MEMORIZATION_QUANTILE", "DIRECTIONS", "LOWER", "HIGHER", "TARGET", "NEITHER",
           "UNIT", "NON_NEGATIVE", "applies_to", "capable_families", "curve_sort_key", "family_capabilities",
           "group_metrics", "in_curves", "metric_description", "metric_label", "metric_range", "metric_sort_key",
           "metric_unit", "need_metrics", "spec_of", "spread_metrics"]
