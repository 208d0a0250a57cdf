"""The verdict: plain-words sentences, each resting on numbers that the report's tables show.

Every sentence is a dict {"text", "metric", "values", "kind", "winner"}: `metric` is the metric it rests on
(None for the opening overview), `values` maps each family to the {"mean", "low", "high", "n"} quoted.
No sentence is written without a number in it.
"""

from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

from .aggregate import (
    CLEAR,
    OVERLAP,
    RANKED,
    SINGLE_SEED,
    aggregate_costs,
    DIRECTIONAL,
    compare_metric,
    direction,
    direction_phrase,
    interval_defined,
    t_quantile,
    target,
)
from ..families import family_label, split_entry  # how the family calls itself ("GAN"; an unknown name in capitals)
from ..metrics.spec import (family_capabilities, metric_label, metric_sort_key, metric_unit, need_metrics, spec_of,
                            spread_metrics)

POSTERIOR_COLLAPSE_KL = 0.01  # nats per latent dimension: below this the code carries almost nothing
FAILED_STATES = ("failed", "diverged", "interrupted")


def winner_phrase(metric: str) -> str:
    """What being clearly better on the metric means, "{W}" standing for the better family ("the GAN")."""
    spec = spec_of(metric)
    phrase = spec.winner_phrase if spec is not None else None
    return phrase or "{W} is better on " + metric_label(metric)


def tie_phrase(metric: str, n_families: int = 2) -> str:
    """How the verdict opens when no family is clearly better on the metric ("Neither family ..." for two,
    "No family ..." for more)."""
    spec = spec_of(metric)
    phrase = spec.tie_phrase if spec is not None else None
    phrase = phrase or f"Neither family is clearly better on {metric_label(metric)}"
    if n_families > 2 and phrase.startswith("Neither family"):
        phrase = "No family" + phrase[len("Neither family"):]
    return phrase


def _decimals(*numbers: Optional[float]) -> int:
    """Decimals that show the largest finite number to three significant digits (at least one below 1000)."""
    finite = [abs(x) for x in numbers if x is not None and math.isfinite(x) and x != 0]
    if not finite:
        return 3
    magnitude = math.floor(math.log10(max(finite)))
    return min(8, max(1 if magnitude < 3 else 0, 2 - magnitude))


def format_number(value: Optional[float], decimals: Optional[int] = None) -> str:
    """3 significant digits (23.1, 0.620, 250.3); integers of 1000 or more with thousands separators."""
    if value is None:
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool) and decimals is None:
        return f"{value:,}"
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if decimals is None:
        if abs(value) >= 1000 and value == round(value):
            return f"{value:,.0f}"
        decimals = _decimals(value)
    return f"{value:,.{decimals}f}"


def format_interval(interval: Optional[Mapping], unit: str = "") -> str:
    """'23.1 [20.5, 25.7]' (the 95% interval), '23.1 (one seed)' when undefined, 'n/a' for None."""
    if interval is None:
        return "n/a"
    suffix = f" {unit}" if unit else ""
    if not interval_defined(interval):
        return f"{format_number(interval['mean'])}{suffix} (one seed)"
    if interval["half_width"] == 0:
        return f"{format_number(interval['mean'])}{suffix} (every seed)"
    decimals = _decimals(interval["mean"], interval["low"], interval["high"])
    text = ", ".join(format_number(interval[key], decimals) for key in ("low", "high"))
    return f"{format_number(interval['mean'], decimals)} [{text}]{suffix}"


def _quoted(interval: Mapping) -> dict:
    return {key: interval.get(key) for key in ("mean", "low", "high", "n")}


def _sentence(text: str, metric: Optional[str], values: Mapping, kind: str, winner: Optional[str] = None) -> dict:
    return {"text": text, "metric": metric, "values": dict(values), "kind": kind, "winner": winner}


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def join_words(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _ranking_sentence(comparison: Mapping, intervals: Mapping[str, Mapping]) -> str:
    """3+ families, some clearly apart but no single winner: who leads, and whom the leaders are clearly better
    than. 'On FID (lower is better) the cGAN 20.5 [17.3, 23.8] and the cVAE 22.5 [14.9, 30.1] lead, not
    clearly apart; both are clearly better than the VAE 50.5 [48.0, 52.9], ...; the cGAN alone is clearly
    better than ...'."""
    metric = comparison["metric"]
    label, unit, way = metric_label(metric), metric_unit(metric), direction_phrase(metric)
    leaders, beats = comparison["leaders"], comparison["beats"]

    def quoted(family: str) -> str:
        return f"the {family_label(family)} {format_interval(intervals[family], unit)}"

    text = (f"On {label} ({way}) {join_words([quoted(f) for f in leaders])} lead, their 95% intervals "
            f"overlapping")
    # Every other family is clearly behind at least one leader (clearly better is transitive); group them by
    # which leaders are clearly better than them, keeping the order of their means.
    groups: dict[tuple, list[str]] = {}
    for family in comparison["order"]:
        if family not in leaders:
            ahead = tuple(leader for leader in leaders if family in beats[leader])
            groups.setdefault(ahead, []).append(family)
    parts = []
    for ahead, behind in groups.items():
        who = ("both are" if len(leaders) == 2 else f"all {len(leaders)} are") if len(ahead) == len(leaders) else \
            f"the {family_label(ahead[0])} alone is" if len(ahead) == 1 else \
            f"{join_words([f'the {family_label(f)}' for f in ahead])} are"
        parts.append(f"{who} clearly better than {join_words([quoted(f) for f in behind])}")
    return f"{text}; {'; '.join(parts)}{_target_sides(metric, intervals)}."


def _comparison_sentence(aggregate: Mapping, metric: str) -> Optional[dict]:
    comparison = compare_metric(aggregate, metric)
    status, families = comparison["status"], comparison["families"]
    if status == RANKED:
        intervals = {family: aggregate[family][metric] for family in families}
        return _sentence(_ranking_sentence(comparison, intervals), metric,
                         {family: _quoted(interval) for family, interval in intervals.items()}, "ranking")
    if status not in (CLEAR, OVERLAP, SINGLE_SEED):
        return None
    label, unit, way = metric_label(metric), metric_unit(metric), direction_phrase(metric)
    intervals = {family: aggregate[family][metric] for family in families}
    values = {family: _quoted(interval) for family, interval in intervals.items()}
    if status == CLEAR:
        winner = comparison["winner"]
        others = [f"{format_interval(intervals[f], unit)} for the {family_label(f)}" for f in families if f != winner]
        text = (f"{_capitalise(winner_phrase(metric).format(W='the ' + family_label(winner)))}: {label} "
                f"{format_interval(intervals[winner], unit)} vs {join_words(others)} ({way})"
                f"{_target_sides(metric, intervals)}.")
        return _sentence(text, metric, values, "comparison", winner)
    quoted = join_words([f"{format_interval(intervals[f], unit)} for the {family_label(f)}" for f in families])
    if status == OVERLAP:
        tie = tie_phrase(metric, len(families))
        same = len({interval["mean"] for interval in intervals.values()}) == 1
        text = (f"{tie}: {label} {quoted}; "
                f"{'the same for every family' if same else 'the 95% intervals overlap'}"
                f"{_target_sides(metric, intervals)}.")
        return _sentence(text, metric, values, "comparison")
    leader = comparison["leader"]
    hint = (f"the {family_label(leader)} leads, but one seed gives no interval, so this is a hint, not a finding"
            if leader else "the means are equal")
    text = f"On {label} ({way}) {quoted}: {hint}."
    return _sentence(text, metric, values, "comparison")


def _target_sides(metric: str, intervals: Mapping[str, Mapping]) -> str:
    """For a two-sided metric, which side of the target each family's interval lies on: '; below 1 for both:
    samples stray from the real data'; '' for other metrics. An interval that holds the target is said so."""
    spec = spec_of(metric)
    goal, sides = target(metric), spec.target_sides if spec is not None else None
    if goal is None or sides is None:
        return ""
    groups = {"below": [], "above": [], "around": []}
    for family, interval in intervals.items():
        side = "below" if interval["high"] < goal else "above" if interval["low"] > goal else "around"
        groups[side].append(family)
    parts = []
    for side, meaning in (("below", sides[0]), ("above", sides[1]), ("around", None)):
        families = groups[side]
        if not families:
            continue
        who = "both" if len(families) == len(intervals) == 2 else \
            join_words([f"the {family_label(f)}" for f in families])
        if meaning is None:
            parts.append(f"both intervals include {goal:g}" if who == "both" else
                         f"{join_words([f'the {family_label(f)}' + chr(39) + 's' for f in families])} interval "
                         f"include{'s' if len(families) == 1 else ''} {goal:g}")
        else:
            parts.append(f"{side} {goal:g} for {who}: {meaning}")
    return "; " + "; ".join(parts)


def _overview(aggregate: Mapping, metrics: Sequence[str]) -> Optional[dict]:
    wins: dict[str, list[str]] = {family: [] for family in aggregate}
    leads: dict[str, list[str]] = {family: [] for family in aggregate}  # 3+ families: leader in a group
    shared: list[str] = []  # metrics some families lead together, clearly ahead of others
    unclear: list[str] = []
    for metric in metrics:
        comparison = compare_metric(aggregate, metric)
        if comparison["status"] == CLEAR:
            wins[comparison["winner"]].append(metric)
        elif comparison["status"] == RANKED:
            shared.append(metric)
            for family in comparison["leaders"]:
                leads[family].append(metric)
        elif comparison["status"] in (OVERLAP, SINGLE_SEED):
            unclear.append(metric)
    compared = sum(len(won) for won in wins.values()) + len(shared) + len(unclear)
    if compared == 0:
        return None
    every_other = " than every other" if len(aggregate) > 2 else ""
    parts = [f"the {family_label(family)} is clearly better{every_other} on {len(won)} "
             f"({', '.join(map(metric_label, won))})" for family, won in wins.items() if won]
    if shared:
        by_count: dict[int, list[str]] = {}
        for family in sorted((f for f in leads if leads[f]), key=lambda f: -len(leads[f])):
            by_count.setdefault(len(leads[family]), []).append(f"the {family_label(family)}")
        counted = [f"{join_words(names)} on {count}{' each' if len(names) > 1 else ''}"
                   for count, names in by_count.items()]
        parts.append(f"on {len(shared)} two or more families lead together, clearly ahead of the rest "
                     f"({', '.join(map(metric_label, shared))}), with these among the leaders: {', '.join(counted)}")
    if unclear:
        parts.append(f"{len(unclear)} show{'s' if len(unclear) == 1 else ''} no clear difference "
                     f"({', '.join(map(metric_label, unclear))})")
    if not any(wins.values()) and not shared:
        parts = [f"none shows a clear difference ({', '.join(map(metric_label, unclear))})"]
    on = f"compared across the {len(aggregate)} families" if len(aggregate) > 2 else "measured on both families"
    text = f"Of the {compared} metric{'s' if compared != 1 else ''} {on}, {'; '.join(parts) if shared else join_words(parts)}."
    intervals = [interval for family in aggregate.values() for interval in (family or {}).values()
                 if interval is not None and interval.get("n")]
    if intervals and min(interval["n"] for interval in intervals) in (2, 3):
        n = min(interval["n"] for interval in intervals)
        confidence = float(intervals[0].get("confidence") or 0.95)
        quantile = 0.5 + confidence / 2
        text += (f" With {n} seeds per family a {round(100 * confidence)}% interval is the mean \u00b1 "
                 f"{t_quantile(quantile, n - 1):.3g} standard errors, so only large differences separate; more "
                 f"seeds narrow it (\u00b1 {t_quantile(quantile, 4):.3g} with 5).")
    values = {family: list(won) for family, won in wins.items()}
    values["no_clear_difference"] = unclear
    if shared:
        values["shared_lead"] = {family: list(led) for family, led in leads.items() if led}
    return _sentence(text, None, values, "overview")


def _the(families: Sequence[str]) -> str:
    """'the GAN', 'the GAN and the SNGAN', ..."""
    return join_words([f"the {family_label(f)}" for f in families])


def _only_one_family(aggregate: Mapping, metric: str) -> Optional[dict]:
    """'Only the VAE gives a likelihood bound: NLL 250.3 [...] nats.'"""
    present = [family for family, metrics in aggregate.items() if (metrics or {}).get(metric) is not None]
    if len(present) != 1 or len(aggregate) < 2:
        return None
    family = present[0]
    interval = aggregate[family][metric]
    unit = metric_unit(metric)
    others = [f for f in aggregate if f != family]
    # An entry sampled from a fitted prior of a family with a likelihood has one since 2026-12-04 (that of the
    # decoder with the mixture as its prior); a summary written before then holds none for it.
    fitted = [f for f in others if split_entry(f)[1] and "likelihood" in family_capabilities(f)]
    without = [f for f in others if f not in fitted]
    said = ([f"{_the(without)} {'has' if len(without) == 1 else 'have'} no likelihood"] if without else []) + (
        [f"{_the(fitted)} {'was' if len(fitted) == 1 else 'were'} scored on samples only (a report from before "
         f"the likelihood was measured with the fitted prior)"] if fitted else [])
    text = (f"Only the {family_label(family)} gives a likelihood bound: {metric_label(metric)} "
            f"{format_interval(interval, unit)} per example (lower is better); {'; '.join(said)}.")
    return _sentence(text, metric, {family: _quoted(interval)}, "property", family)


def _posterior_collapse(aggregate: Mapping) -> list[dict]:
    sentences = []
    for family, metrics in aggregate.items():
        kl = (metrics or {}).get("kl_per_dim")
        if kl is not None and kl["mean"] < POSTERIOR_COLLAPSE_KL:
            text = (f"The {family_label(family)}'s latent code carries almost no information (posterior collapse): "
                    f"KL per latent dimension {format_interval(kl, 'nats')}, below {POSTERIOR_COLLAPSE_KL} nats.")
            sentences.append(_sentence(text, "kl_per_dim", {family: _quoted(kl)}, "collapse", None))
    return sentences


def _runs_of(runs: Sequence[Mapping], family: str) -> list[Mapping]:
    return [run for run in runs if run.get("family") == family]


def collapse_findings(runs: Sequence[Mapping], aggregate: Mapping, data: Mapping) -> list[dict]:
    """Per family, the signs of mode collapse its runs show, the one rule the verdict and `advise` both read.

    Each finding is {"family", "kind", "metric", "interval" (over the family's runs), "hit" (the values of the
    runs that show it), "n" (runs)}; kinds: "missed-modes" / "all-modes" (a mixture of known modes),
    "dropped-class" (a class share of 0) / "under-class" (a mean smallest class share under half the fair one),
    and "unreached-clusters" (k-means clusters of the real data without samples: the label-free sign, said only
    where neither known modes nor classes are counted, since those say it better; k-means splits a known mode
    in two, and a GAN that reaches all 25 of grid25 may leave the outer half of one unsampled)."""
    findings = []
    n_modes, n_classes = data.get("n_modes"), data.get("n_classes")
    for family, metrics in aggregate.items():
        family_runs = _runs_of(runs, family)

        def values(metric: str) -> list[float]:
            found = ((run.get("metrics") or {}).get(metric) for run in family_runs)
            return [value for value in found if value is not None]

        def finding(kind: str, metric: str, hit: Sequence[float]) -> dict:
            return {"family": family, "kind": kind, "metric": metric, "interval": metrics[metric], "hit": list(hit),
                    "n": len(family_runs)}

        modes = (metrics or {}).get("modes_captured")
        if modes is not None and n_modes:
            missed = [value for value in values("modes_captured") if value < n_modes]
            findings.append(finding("missed-modes" if missed else "all-modes", "modes_captured", missed))
        share = (metrics or {}).get("min_class_share")
        if share is not None:
            dropped = [value for value in values("min_class_share") if value <= 0]
            fair = 1.0 / n_classes if n_classes else None
            if dropped:
                findings.append(finding("dropped-class", "min_class_share", dropped))
            elif fair is not None and share["mean"] < fair / 2:
                findings.append(finding("under-class", "min_class_share", []))
        clusters = (metrics or {}).get("cluster_share")
        unreached = [value for value in values("cluster_share") if value < 1]
        counted = (modes is not None and n_modes) or share is not None
        if clusters is not None and unreached and not counted:
            findings.append(finding("unreached-clusters", "cluster_share", unreached))
    return findings


def _mode_collapse(runs: Sequence[Mapping], aggregate: Mapping, data: Mapping) -> list[dict]:
    """Runs that missed modes (modes_captured below the data's n_modes) or dropped a class (share 0); families
    alike (all modes captured, a class under-produced) in one sentence."""
    n_modes, n_classes = data.get("n_modes"), data.get("n_classes")
    sentences = []
    findings = collapse_findings(runs, aggregate, data)
    for kind in ("all-modes", "under-class"):  # said once for every family alike
        alike = [f for f in findings if f["kind"] == kind]
        if len(alike) < 2:
            continue
        names = join_words([f"the {family_label(f['family'])} {format_interval(f['interval'])}" for f in alike])
        if kind == "all-modes":
            text = f"All {n_modes} modes were captured in every run by {names} (modes captured)."
        else:
            text = (f"A class is under-produced, its share below half the fair {format_number(1.0 / n_classes)} "
                    f"for {n_classes} classes, by {names} (smallest class share).")
        sentences.append(_sentence(text, alike[0]["metric"],
                                   {f["family"]: _quoted(f["interval"]) for f in alike}, "collapse"))
        findings = [f for f in findings if f["kind"] != kind]
    for found in findings:
        family, kind, interval, n = found["family"], found["kind"], found["interval"], found["n"]
        label = family_label(family)
        if kind == "missed-modes":
            text = (f"The {label} missed modes in {len(found['hit'])} of {interval['n']} runs: it captured "
                    f"{format_interval(interval)} of the {n_modes} modes on average.")
        elif kind == "all-modes":
            text = f"The {label} captured all {n_modes} modes in each of its {interval['n']} runs."
        elif kind == "dropped-class":
            text = (f"The {label} dropped a class entirely in {len(found['hit'])} of {interval['n']} runs "
                    f"(smallest class share {format_interval(interval)}): a sign of mode collapse.")
        elif kind == "under-class":
            text = (f"The {label} under-produces a class: smallest class share {format_interval(interval)} against "
                    f"a fair share of {format_number(1.0 / n_classes)} for {n_classes} classes.")
        else:
            text = (f"The {label} left some k-means clusters of the real data without samples in "
                    f"{len(found['hit'])} of {interval['n']} runs (clusters reached {format_interval(interval)}): "
                    f"it dropped a kind of example.")
        sentences.append(_sentence(text, found["metric"], {family: _quoted(interval)}, "collapse"))
    return sentences


def _failures(runs: Sequence[Mapping], families: Sequence[str]) -> list[dict]:
    sentences = []
    for family in families:
        family_runs = _runs_of(runs, family)
        failed = [run for run in family_runs if run.get("status") in FAILED_STATES]
        if failed:
            states = sorted({str(run["status"]) for run in failed})
            seeds = ", ".join(str(run.get("seed")) for run in failed)
            text = (f"{len(failed)} of {len(family_runs)} {family_label(family)} runs did not finish "
                    f"({' or '.join(states)}; seed {seeds}).")
            sentences.append(_sentence(text, "status", {family: {"failed": len(failed), "runs": len(family_runs)}},
                                       "stability"))
    return sentences


def seed_spread(aggregate: Mapping, metric: str) -> Optional[dict]:
    """Seed-to-seed spread per family on a metric: {family: coefficient of variation std/|mean|}, when every
    family has 2+ seeds and a non-zero mean."""
    spread = {}
    for family, metrics in aggregate.items():
        interval = (metrics or {}).get(metric)
        if interval is None or not interval_defined(interval) or interval["mean"] == 0:
            return None
        spread[family] = interval["std"] / abs(interval["mean"])
    return spread if len(spread) >= 2 else None


SPREAD_RATIO = 2.0  # one family's relative spread at least twice another's counts as less stable


def _stability(aggregate: Mapping) -> Optional[dict]:
    for metric in spread_metrics():
        spread = seed_spread(aggregate, metric)
        if spread is None:
            continue
        steadiest = min(spread, key=spread.get)
        shakiest = max(spread, key=spread.get)
        if spread[shakiest] < SPREAD_RATIO * spread[steadiest] or spread[shakiest] == 0:
            return None
        shaky, steady = aggregate[shakiest][metric], aggregate[steadiest][metric]
        text = (f"The {family_label(shakiest)} varied more from seed to seed: {metric_label(metric)} standard "
                f"deviation {format_number(shaky['std'])} around {format_number(shaky['mean'])} vs "
                f"{format_number(steady['std'])} around {format_number(steady['mean'])} for the "
                f"{family_label(steadiest)}.")
        values = {f: {"std": aggregate[f][metric]["std"], "mean": aggregate[f][metric]["mean"]} for f in spread}
        return _sentence(text, metric, values, "stability", steadiest)
    return None


def _cost(cost: Mapping) -> Optional[dict]:
    seconds = {family: (keys or {}).get("seconds") for family, keys in cost.items()}
    seconds = {family: interval for family, interval in seconds.items() if interval is not None}
    if len(seconds) < 2:
        return None
    parts = [f"{format_interval(interval, 's')} for the {family_label(f)}" for f, interval in seconds.items()]
    images = {family: (keys or {}).get("images_seen") for family, keys in cost.items()}
    text = f"One training run took {join_words(parts)}"
    if all(interval is not None for interval in images.values()):
        seen = [format_number(interval["mean"]) for interval in images.values()]
        text += (f", each seeing {seen[0]} images" if len(set(seen)) == 1 else
                 f", seeing {join_words([f'{n} images' for n in seen])} respectively")
    return _sentence(text + ".", "seconds", {f: _quoted(i) for f, i in seconds.items()}, "cost")


def verdict(summary_or_aggregate: Mapping) -> list[dict]:
    """Plain-words findings from a summary (see summary.py) or a bare aggregate {family: {metric: interval}}.

    Order: an overview of clear wins, one sentence per directional metric measured on 2+ families
    (a clear winner, overlapping intervals, or a single-seed hint), what only one family offers (likelihood),
    collapse (modes, classes, posterior), failed runs and seed-to-seed spread, and cost.
    """
    if "aggregate" in summary_or_aggregate and "runs" in summary_or_aggregate:
        summary = summary_or_aggregate
        aggregate, runs = summary["aggregate"], summary["runs"]
        data = summary.get("data") or {}
        cost = summary.get("cost") or aggregate_costs(runs)
    else:
        summary, aggregate, runs, data, cost = None, summary_or_aggregate, [], {}, {}
    metrics = sorted({metric for metrics in aggregate.values() for metric in (metrics or {})}, key=metric_sort_key)
    directional = [metric for metric in metrics if direction(metric) in DIRECTIONAL]

    sentences = []
    overview = _overview(aggregate, directional)
    if overview:
        sentences.append(overview)
    for metric in directional:
        sentence = _comparison_sentence(aggregate, metric)
        if sentence:
            sentences.append(sentence)
    for metric in need_metrics("likelihood"):  # the likelihood bounds, tightest first
        sentence = _only_one_family(aggregate, metric)
        if sentence:
            sentences.append(sentence)
            break
    sentences += _mode_collapse(runs, aggregate, data)
    sentences += _posterior_collapse(aggregate)
    if summary is not None:
        sentences += _failures(runs, list(aggregate))
    stability = _stability(aggregate)
    if stability:
        sentences.append(stability)
    cost_sentence = _cost(cost)
    if cost_sentence:
        sentences.append(cost_sentence)
    return sentences


__all__ = ["verdict", "collapse_findings", "format_interval", "format_number", "family_label", "metric_label", "metric_sort_key",
           "seed_spread"]
