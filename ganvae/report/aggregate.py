"""Aggregation over seeds: means with Student-t intervals, and which family is better on a metric.

An interval is a plain dict, so it goes into summary.json unchanged:
    {"mean", "low", "high", "half_width", "std", "n", "confidence", "values"}
With one value the interval is undefined: low = high = mean, and std and half_width are None.

Two families differ clearly on a metric when their intervals do not overlap. That is a conservative test
(non-overlapping 95% intervals imply p < 0.01 or so), which suits a report that must not overclaim on 3 seeds.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Optional, Sequence

from ..errors import ConfigError, RunError
from ..metrics.spec import HIGHER, LOWER, NEITHER, NON_NEGATIVE, TARGET, family_capabilities, metric_range, spec_of
from ..metrics.spec import applies_to as spec_applies_to

COST_KEYS = ("seconds", "images_seen", "parameters")
# The range a value can take. A t interval is symmetric and can reach past it (a share above 1, a negative
# FID) on few seeds; aggregate_runs clips low and high to the range, keeping half_width as computed. A metric's
# range is its spec's valid_range; costs are never negative.
COST_RANGES = {key: NON_NEGATIVE for key in COST_KEYS}
# compare_metric statuses: what the comparison of families on one metric found.
CLEAR, OVERLAP, SINGLE_SEED = "clear", "overlap", "single-seed"
# Three or more families: some are clearly apart, but no one family is clearly better than every other.
RANKED = "ranked"
NO_DIRECTION, NOT_ENOUGH = "no-direction", "not-enough-families"
DIRECTIONAL = (LOWER, HIGHER, TARGET)  # directions under which one value is better than another


def value_range(name: str) -> Optional[tuple[Optional[float], Optional[float]]]:
    """(lower, upper) a metric or cost can take (None for no bound), or None when unbounded or unknown."""
    return COST_RANGES.get(name) or metric_range(name)


def direction(metric: str) -> str:
    """'lower', 'higher', 'target' (closest to the spec's target is best) or 'neither' (also for a metric
    the spec does not know)."""
    spec = spec_of(metric)
    return spec.direction if spec is not None else NEITHER


def target(metric: str) -> Optional[float]:
    """The value real data gets on a 'target' metric (density 1, memorisation 0.05), else None."""
    spec = spec_of(metric)
    return None if spec is None or spec.target is None else float(spec.target)


def direction_phrase(metric: str) -> str:
    """'lower is better', 'higher is better', 'closer to 1 is better', or '' without a better direction."""
    way = direction(metric)
    if way == TARGET:
        return f"closer to {target(metric):g} is better"
    return f"{way} is better" if way in (LOWER, HIGHER) else ""


def applies_to(metric: str, family: str, capabilities: Optional[Iterable[str]] = None) -> bool:
    """Whether the metric means something for the family: the family has the capability its spec requires.

    capabilities: the family's, as a summary stores them; None looks the name up in the family registry
    (an unknown family has none). Unknown metrics apply to every family.
    """
    if capabilities is None:
        capabilities = family_capabilities(family)
    return spec_applies_to(metric, frozenset(capabilities))


def _regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) by the continued fraction of Numerical Recipes (Lentz's method), accurate to ~1e-14."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    # The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a).
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _regularized_incomplete_beta(1.0 - x, b, a)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * fraction / a


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with df degrees of freedom."""
    tail = 0.5 * _regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t (scipy.stats.t.ppf without scipy), by bisection on t_cdf."""
    if not 0.0 < p < 1.0:
        raise ConfigError(f"a quantile needs 0 < p < 1, got {p}.")
    if df <= 0:
        raise ConfigError(f"degrees of freedom must be positive, got {df}.")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * max(1.0, high):
            break
    return 0.5 * (low + high)


def mean_interval(values: Iterable[float], confidence: float = 0.95) -> dict:
    """Mean and two-sided Student-t interval: mean +- t_{(1+confidence)/2, n-1} * s / sqrt(n).

    s is the sample standard deviation (ddof 1). With n = 1 the interval is undefined: low = high = mean,
    std and half_width are None.
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be between 0 and 1 (such as 0.95), got {confidence}.")
    values = [float(value) for value in values]
    if not values:
        raise ConfigError("mean_interval needs at least one value.")
    n = len(values)
    mean = math.fsum(values) / n
    result = {"mean": mean, "low": mean, "high": mean, "half_width": None, "std": None, "n": n,
              "confidence": confidence, "values": values}
    if n >= 2:
        std = math.sqrt(math.fsum((value - mean) ** 2 for value in values) / (n - 1))
        half_width = t_quantile(0.5 + confidence / 2.0, n - 1) * std / math.sqrt(n)
        result.update(std=std, half_width=half_width, low=mean - half_width, high=mean + half_width)
    return result


def clip_interval(interval: dict, bounds: Optional[tuple[Optional[float], Optional[float]]]) -> dict:
    """Clip low and high to bounds (lower, upper; None for no bound), in place; half_width is kept."""
    if bounds is not None:
        lower, upper = bounds
        if lower is not None:
            interval["low"] = max(interval["low"], lower)
        if upper is not None:
            interval["high"] = min(interval["high"], upper)
    return interval


def interval_defined(interval: Optional[Mapping]) -> bool:
    return interval is not None and interval.get("half_width") is not None


def _as_number(value, what: str) -> Optional[float]:
    """A metric or cost value as a finite float; None, NaN and infinity are 'no value'."""
    if value is None:
        return None
    if isinstance(value, Mapping):  # parameters per network -> their total
        parts = [_as_number(part, what) for part in value.values()]
        return None if not parts or any(part is None for part in parts) else math.fsum(parts)
    if isinstance(value, bool):
        raise RunError(f"{what} is {value!r}, not a number; metrics and costs must be numbers or None.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RunError(f"{what} is {value!r}, not a number; metrics and costs must be numbers or None.") from None
    return number if math.isfinite(number) else None


def _family_order(runs: Sequence[Mapping]) -> list[str]:
    families: list[str] = []
    for run in runs:
        if run["family"] not in families:
            families.append(run["family"])
    return families


def _aggregate(runs: Sequence[Mapping], section: str, keys: Optional[Sequence[str]], confidence: float) -> dict:
    for index, run in enumerate(runs):
        if not isinstance(run, Mapping) or "family" not in run:
            raise RunError(f"run {index} has no 'family'; each run must be a dict with family, seed and metrics.")
    result: dict[str, dict] = {}
    for family in _family_order(runs):
        family_runs = [run for run in runs if run["family"] == family]
        names: list[str] = list(keys) if keys is not None else []
        if keys is None:
            for run in family_runs:
                names += [name for name in (run.get(section) or {}) if name not in names]
        result[family] = {}
        for name in names:
            values = [_as_number((run.get(section) or {}).get(name),
                                 f"{section} {name!r} of the {family} run with seed {run.get('seed')}")
                      for run in family_runs]
            present = [value for value in values if value is not None]
            if not present:
                result[family][name] = None
                continue
            interval = clip_interval(mean_interval(present, confidence), value_range(name))
            interval["n_missing"] = len(values) - len(present)
            result[family][name] = interval
    return result


def aggregate_runs(runs: Sequence[Mapping], confidence: float = 0.95) -> dict:
    """Per family, per metric: mean_interval over the runs (seeds) -> {family: {metric: interval or None}}.

    runs: dicts like {"family": "gan", "seed": 0, "metrics": {name: float or None}, ...}. A metric that is
    None (or NaN) in every run of a family is None (n/a); with some values missing the rest are aggregated,
    n counts them and n_missing the runs without one. low and high are clipped to the metric's range
    (its spec's valid_range: shares to [0, 1], distances to 0 or more). Families keep the order of their first run.
    """
    return _aggregate(runs, "metrics", None, confidence)


def aggregate_costs(runs: Sequence[Mapping], confidence: float = 0.95) -> dict:
    """Per family: intervals of the runs' cost {"seconds", "images_seen", "parameters"} (parameters given
    per network are summed)."""
    return _aggregate(runs, "cost", COST_KEYS, confidence)


def deviation_interval(interval: Mapping, goal: float) -> dict:
    """mean_interval of |value - goal| over an interval's per-seed values (its "values"; else its mean)."""
    values = interval.get("values") or [interval["mean"]]
    deviation = mean_interval([abs(float(value) - goal) for value in values],
                              float(interval.get("confidence") or 0.95))
    return clip_interval(deviation, NON_NEGATIVE)


def better(metric: str, a: Optional[float], b: Optional[float]) -> Optional[bool]:
    """Whether value a is strictly better than value b on the metric (its spec's direction; for 'target'
    metrics, strictly closer to the target).

    None when there is no better direction ('neither' or an unknown metric) or a value is missing.
    """
    way = direction(metric)
    if way not in DIRECTIONAL or a is None or b is None:
        return None
    if way == TARGET:
        return abs(a - target(metric)) < abs(b - target(metric))
    return a < b if way == LOWER else a > b


def clearly_better(way: str, a: Mapping, b: Mapping) -> bool:
    """Whether interval a is better than and disjoint from interval b under direction `way` (HIGHER, or LOWER:
    for a 'target' metric pass the intervals of the distance from the target, which is lower-better)."""
    if not (interval_defined(a) and interval_defined(b)):
        return False
    return a["low"] > b["high"] if way == HIGHER else a["high"] < b["low"]


def compare_metric(aggregate: Mapping[str, Mapping], metric: str) -> dict:
    """How the families compare on one metric.

    Returns {"metric", "direction", "families": [with a value], "winner": family or None, "leader", "order",
    "beats", "leaders", "status"}. "order" lists the families best mean first; "beats" maps each family to those
    it is clearly better than (its interval better than and disjoint from theirs; for a 'target' metric, the
    intervals of each run's distance from the target, lower being better); "leaders" are the families no other
    is clearly better than, in order. status: "clear" (one family is clearly better than every other: the
    winner), "ranked" (3+ families: some are clearly apart, and the leaders, 2 or more, are not clearly apart
    from each other), "overlap" (no family is clearly better than any other), "single-seed" (a family has one
    value, so no interval; "leader" names the better mean), "no-direction" ('neither' or unknown metric) or
    "not-enough-families" (fewer than two have a value).
    """
    way = direction(metric)
    present = {family: metrics.get(metric) for family, metrics in aggregate.items()
               if metrics is not None and metrics.get(metric) is not None}
    result = {"metric": metric, "direction": way, "families": list(present), "winner": None, "leader": None,
              "order": [], "beats": {}, "leaders": []}
    if len(present) < 2:
        return {**result, "status": NOT_ENOUGH}
    if way not in DIRECTIONAL:
        return {**result, "status": NO_DIRECTION}
    goal = target(metric)
    if way == TARGET:
        # Each run's distance from the target, aggregated over seeds: a family whose seeds land on both sides
        # of the target (0.6 and 1.4) is 0.4 away, not perfect on average. Then lower is better.
        present = {family: deviation_interval(interval, goal) for family, interval in present.items()}
        way = LOWER
    sign = -1.0 if way == HIGHER else 1.0
    ranked = sorted(present, key=lambda family: sign * present[family]["mean"])  # stable: ties keep their order
    leader = ranked[0]
    if present[leader]["mean"] == present[ranked[1]]["mean"]:
        leader = None
    result.update(leader=leader, order=ranked)
    if not all(interval_defined(interval) for interval in present.values()):
        return {**result, "status": SINGLE_SEED}
    beats = {family: [other for other in ranked if clearly_better(way, present[family], present[other])]
             for family in ranked}
    leaders = [family for family in ranked if not any(family in beaten for beaten in beats.values())]
    result.update(beats=beats, leaders=leaders)
    if len(leaders) == 1:
        return {**result, "winner": leaders[0], "status": CLEAR}
    return {**result, "status": OVERLAP if len(leaders) == len(ranked) else RANKED}


def pairwise_scores(aggregate: Mapping[str, Mapping], metrics: Iterable[str]) -> dict[str, int]:
    """Per family, over the metrics: the families it is clearly better than minus those clearly better than it
    (compare_metric's "beats"), summed. With two families this is the difference of their clear wins; with more,
    a family that leads a group counts each family it is ahead of. Every family of the aggregate is scored."""
    return scores_of([compare_metric(aggregate, metric) for metric in metrics], aggregate)


def scores_of(comparisons: Iterable[Mapping], families: Iterable[str]) -> dict[str, int]:
    """pairwise_scores from comparisons already made (compare_metric results), for the given families."""
    scores = {family: 0 for family in families}
    for comparison in comparisons:
        for family, beaten in comparison["beats"].items():
            scores[family] += len(beaten)
            for other in beaten:
                scores[other] -= 1
    return scores


def best_family(aggregate: Mapping[str, Mapping], metric: str) -> Optional[str]:
    """The family whose interval is better than and disjoint from every other family's, else None.

    None means no clear difference: intervals overlap, a family has only one seed (no interval), the metric
    has no better direction, or fewer than two families have a value.
    """
    return compare_metric(aggregate, metric)["winner"]
