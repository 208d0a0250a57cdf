"""Advice: which family to train for what the user needs, weighed against what a comparison measured.

Hard needs decide alone: only a VAE has an encoder and a likelihood bound. Soft needs vote: sharp samples,
coverage and stable training each favour the family the measurements favour on this data (weight 2 when the
95% intervals separate, 1 for a one-seed hint). Without a measurement, sharp samples and stable training fall
back on the general property (weight 1, and the reason says it is a prior, not a measurement); coverage and
collapse are never assumed. When a measurement contradicts the general property, the measurement wins and the
reason says so. Every reason names the measurement (metric and values) or the property it rests on.
"""

from __future__ import annotations

import math
import shlex
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

from ..errors import ConfigError
from ..families import FAMILIES, capabilities_of, compare_defaults, flag_of, split_entry
from ..metrics.spec import capable_families, metric_unit, need_metrics, spread_metrics
from .aggregate import CLEAR, OVERLAP, RANKED, SINGLE_SEED, compare_metric, direction_phrase, scores_of
from .summary import summary_capabilities
from .verdict import (
    FAILED_STATES,
    collapse_findings,
    join_words,
    SPREAD_RATIO,
    family_label,
    format_interval,
    format_number,
    metric_label,
    metric_sort_key,
    seed_spread,
)

NEEDS = ("encoder", "likelihood", "sharp-samples", "coverage", "stable-training", "conditional")
# The metrics that measure each need are those whose spec lists it (spec.need_metrics). Sharp samples: detail
# in pixels, and closeness to the data (precision and density are left out: blur moves features toward typical
# ones and can raise both, docs/metrics.md); coverage: diversity and collapse; stable training: the seed-to-seed
# spread of the distribution metrics.
# The general expectation for a soft need, and the property it rests on.
# Each names the capabilities of the family it favours (the first compared family that has them).
PRIORS = {
    "sharp-samples": (("adversarial",), "GANs usually give sharper samples than VAEs, whose Gaussian decoder "
                                        "averages over what it cannot tell apart"),
    "stable-training": (("likelihood",), "a VAE minimises one objective (the negative ELBO) while a GAN plays a "
                                         "two-player game that can oscillate, diverge or collapse"),
}
# Needs that are family capabilities (Family.capabilities): only a family that declares them can serve them.
HARD_PROPERTIES = {
    "encoder": "only a VAE learns an encoder q(z|x) that maps data to latent codes; a GAN has none",
    "likelihood": "only a VAE gives a likelihood bound (the ELBO, tightened by importance sampling); a GAN "
                  "defines no likelihood",
}
HARD_TITLES = {"encoder": "an encoder", "likelihood": "a likelihood bound"}
MEASURED, HINT, PRIOR = 2, 1, 1  # vote weights
SETTING_KEYS = (("model", "latent_dim"), ("model", "hidden"), ("model", "settings"), ("optim", "lr"),
                ("optim", "batch_size"))


@dataclass(frozen=True)
class Advice:
    """The recommended family and settings, with the reasons (each naming its evidence) and warnings."""

    family: str
    settings: dict
    reasons: list[str]
    warnings: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_needs(needs: Optional[Iterable[str] | str]) -> list[str]:
    """'encoder, sharp_samples' or an iterable -> ['encoder', 'sharp-samples'] in NEEDS order; ConfigError
    naming the allowed values for anything else."""
    if needs is None:
        return []
    items = needs.split(",") if isinstance(needs, str) else list(needs)
    parsed = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"--need takes names, got {item!r}; choose from {', '.join(NEEDS)}.")
        name = item.strip().lower().replace("_", "-")
        if not name:
            continue
        if name not in NEEDS:
            raise ConfigError(f"--need {item.strip()!r} is not a need ganvae knows; choose from {', '.join(NEEDS)}.")
        parsed.append(name)
    return [need for need in NEEDS if need in parsed]


def _quote(aggregate: Mapping, metric: str, families: Sequence[str], first: Optional[str] = None) -> str:
    """'23.1 [20.5, 25.7] for the GAN vs 41.0 [...] for the VAE', with `first` quoted first."""
    ordered = sorted(families, key=lambda f: f != first)
    return " vs ".join(f"{format_interval(aggregate[f][metric])} for the {family_label(f)}" for f in ordered)


def _evidence(aggregate: Mapping, comparison: Mapping, family: str) -> str:
    """One metric's numbers for a family the metric favours: both families' intervals for two; with more, the
    family's, those leading with it and how many it is clearly better than."""
    metric, families = comparison["metric"], comparison["families"]
    if len(families) <= 2:
        return f"{metric_label(metric)} {_quote(aggregate, metric, families, family)} ({direction_phrase(metric)})"
    unit = metric_unit(metric)
    text = f"{metric_label(metric)} {format_interval(aggregate[family][metric], unit)} for the {family_label(family)}"
    along = [f for f in comparison["leaders"] if f != family]
    if family in comparison["leaders"] and along:
        text += ", leading with " + join_words(
            [f"the {family_label(f)} {format_interval(aggregate[f][metric], unit)}" for f in along])
    return (text + f", clearly better than {len(comparison['beats'].get(family, []))} of the other "
            f"{len(families) - 1} ({direction_phrase(metric)})")


def _favoured(comparison: Mapping) -> str:
    return join_words([f"the {family_label(f)}" for f in comparison["leaders"] or [comparison["winner"]]])


def _measured_vote(need: str, aggregate: Mapping) -> Optional[tuple[str, int, str]]:
    """(family, weight, evidence) from the need's metrics, or None when none of them was measured.

    Where the need's metrics separate families (disjoint 95% intervals), the family with the best pairwise score
    wins (the families it is clearly better than minus those clearly better than it, summed over the metrics;
    with two families, more clear wins); with no clear difference at all, the family with more one-seed leads
    (weight HINT). Family "" means measured but not separated: the evidence then says whether the intervals
    overlap or the metrics split between the families.
    """
    comparisons = [compare_metric(aggregate, metric) for metric in need_metrics(need)]
    measured = [c for c in comparisons if c["status"] in (CLEAR, RANKED, SINGLE_SEED, OVERLAP)]
    if not measured:
        return None
    separated = [c for c in measured if c["status"] in (CLEAR, RANKED)]
    if separated:
        scores = scores_of(separated, aggregate)
        best = [family for family, score in scores.items() if score == max(scores.values())]
        if len(best) > 1:
            split = "; ".join(f"{metric_label(c['metric'])} favours {_favoured(c)}: "
                              + (_quote(aggregate, c["metric"], c["families"], c["leaders"][0])
                                 if len(c["families"]) <= 2 else _evidence(aggregate, c, c["leaders"][0]))
                              for c in separated)
            return "", 0, f"the metrics split evenly between the families ({split})"
        family = best[0]
        backing = [c for c in separated if family in c["leaders"]] or separated
        against = [c for c in separated if family not in c["leaders"]]
        text = "; ".join(_evidence(aggregate, c, family) for c in backing)
        if against and backing is not separated:
            text += "; although " + "; ".join(f"{metric_label(c['metric'])} favours {_favoured(c)}"
                                              for c in against)
        return family, MEASURED, text
    tally = Counter(c["leader"] for c in measured if c["status"] == SINGLE_SEED and c["leader"])
    if tally:
        ranked = tally.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            split = "; ".join(f"{metric_label(c['metric'])} favours the {family_label(c['leader'])}: "
                              f"{_quote(aggregate, c['metric'], c['families'], c['leader'])}"
                              for c in measured if c["status"] == SINGLE_SEED and c["leader"])
            return "", 0, f"the metrics split evenly between the families ({split})"
        family = ranked[0][0]
        backing = [c for c in measured if c["status"] == SINGLE_SEED and c["leader"] == family]
        against = [c for c in measured if c["status"] == SINGLE_SEED and c["leader"] not in (family, None)]
        text = "; ".join(f"{metric_label(c['metric'])} {_quote(aggregate, c['metric'], c['families'], family)} "
                         f"({direction_phrase(c['metric'])})" for c in backing)
        if against:
            text += "; although " + "; ".join(
                f"{metric_label(c['metric'])} favours the {family_label(c['leader'])}" for c in against)
        return family, HINT, text + " (one seed per family, so no interval: a hint, not a finding)"
    quoted = "; ".join(f"{metric_label(c['metric'])} {_quote(aggregate, c['metric'], c['families'])}"
                       for c in measured)
    return "", 0, f"no clear difference: {quoted}; the 95% intervals overlap"


def _failed_runs(summary: Mapping, families: Sequence[str]) -> dict[str, tuple[int, int]]:
    runs = summary.get("runs") or []
    result = {}
    for family in families:
        family_runs = [run for run in runs if run.get("family") == family]
        result[family] = (sum(run.get("status") in FAILED_STATES for run in family_runs), len(family_runs))
    return result


def _stability_vote(summary: Mapping, families: Sequence[str]) -> Optional[tuple[str, int, str]]:
    """(family, weight, evidence) from failed runs, then from seed-to-seed spread; None if not measurable;
    family "" when measured and alike."""
    failed = _failed_runs(summary, families)
    rates = {f: n / total for f, (n, total) in failed.items() if total}
    counts = "; ".join(f"{n} of {total} {family_label(f)} runs failed or diverged" for f, (n, total) in failed.items())
    if any(failed[f][0] for f in rates):
        lowest = [f for f in rates if rates[f] == min(rates.values())]
        if len(lowest) == 1:
            return lowest[0], MEASURED, counts
        failures = counts
    else:
        failures = "no run failed"
    aggregate = summary["aggregate"]
    for metric in spread_metrics():
        spread = seed_spread({f: aggregate.get(f) or {} for f in families}, metric)
        if spread is None:
            continue
        steadiest, shakiest = min(spread, key=spread.get), max(spread, key=spread.get)
        text = "; ".join(
            f"{metric_label(metric)} standard deviation {format_number(aggregate[f][metric]['std'])} around "
            f"{format_number(aggregate[f][metric]['mean'])} over {aggregate[f][metric]['n']} seeds for the "
            f"{family_label(f)}" for f in spread)
        if spread[shakiest] > 0 and spread[shakiest] >= SPREAD_RATIO * spread[steadiest]:
            return steadiest, MEASURED, f"{failures}, and the seed-to-seed spread differs: {text}"
        return "", 0, f"{failures}, and the seed-to-seed spread is similar: {text}"
    if failures != "no run failed":
        return "", 0, f"{failures}; the seed-to-seed spread could not be measured (it needs 2 or more seeds)"
    return None


def _collapse_warnings(summary: Mapping, family: str) -> list[str]:
    """Runs of the family that missed modes of a known mixture, dropped a class entirely or, where neither is
    counted, left k-means clusters of the real data unreached (verdict.collapse_findings, the verdict's rule)."""
    n_modes = (summary.get("data") or {}).get("n_modes")
    aggregate = {family: (summary.get("aggregate") or {}).get(family) or {}}
    warnings = []
    for found in collapse_findings(summary.get("runs") or [], aggregate, summary.get("data") or {}):
        hit, n, label = found["hit"], found["n"], family_label(family)
        if found["kind"] == "missed-modes":
            warnings.append(f"The {label} showed mode collapse in {len(hit)} of {n} runs: "
                            f"modes captured {', '.join(format_number(v) for v in hit)} of {n_modes}.")
        elif found["kind"] == "dropped-class":
            warnings.append(f"The {label} dropped a class entirely in {len(hit)} of {n} runs (smallest class "
                            f"share 0): a sign of mode collapse.")
        elif found["kind"] == "unreached-clusters":
            warnings.append(f"The {label} left some k-means clusters of the real data without samples in "
                            f"{len(hit)} of {n} runs (clusters reached {', '.join(format_number(v) for v in hit)}): "
                            f"it dropped a kind of example.")
    return warnings


def _settings(summary: Optional[Mapping], family: str, budget: Optional[Mapping], data_name: Optional[str]) -> dict:
    runs = [run for run in (summary or {}).get("runs") or [] if run.get("family") == family]
    archs = [run.get("arch") or ((run.get("config") or {}).get("model") or {}).get("arch") for run in runs]
    archs = [arch for arch in archs if arch]
    settings: dict = {"arch": Counter(archs).most_common(1)[0][0] if archs else None,
                      "budget": dict(budget) if budget else dict((summary or {}).get("budget") or {}) or None}
    for section, key in SETTING_KEYS:
        values = {repr(((run.get("config") or {}).get(section) or {}).get(key)) for run in runs if run.get("config")}
        if len(values) == 1:
            value = ((runs[0].get("config") or {}).get(section) or {}).get(key)
            if value is not None:
                settings[key] = value
    settings["measured_runs"] = len(runs)
    if data_name:
        # A comparison entry "FAMILY+gmm" is that family sampled from its fitted mixture prior: train the family,
        # then sample with the prior.
        trained, prior = split_entry(family)
        flags = ["ganvae", "train", trained, "--data", shlex.quote(str(data_name))]
        if settings["arch"]:
            flags += ["--arch", shlex.quote(str(settings["arch"]))]
        batch_size = settings.get("batch_size")
        family_cls = FAMILIES.get(trained) if trained in FAMILIES else None
        default_batch = family_cls.presets.get(settings["arch"], {}).get("batch_size",
                                                                         family_cls.defaults.batch_size) \
            if family_cls is not None else None
        if batch_size is not None and batch_size != default_batch:  # small data: the comparison's common batch
            flags += ["--batch-size", str(batch_size)]
        budget = dict(settings["budget"] or {})
        if budget.get("images") is not None and batch_size:  # a budget in images is steps of that batch
            budget = {"steps": math.ceil(budget["images"] / batch_size)}
        budget_flags = {"minutes": "--minutes", "epochs": "--epochs", "steps": "--steps"}
        for key, flag in budget_flags.items():
            if budget.get(key) is not None:
                flags += [flag, shlex.quote(str(budget[key]))]
                break
        for name, value in sorted((settings.get("settings") or {}).items()):  # the family's own settings
            if family_cls is not None and value != getattr(family_cls.Settings(), name, None):
                flags += [flag_of(name), shlex.quote(str(value))]
        settings["command"] = " ".join(flags)
        if prior:
            settings["command"] += f"; then sample it with: ganvae sample RUN --prior {shlex.quote(prior)}"
    return settings


def advise(
    needs: Optional[Iterable[str] | str],
    summary: Optional[Mapping] = None,
    *,
    budget: Optional[Mapping] = None,
    data: Optional[str] = None,
) -> Advice:
    """Recommend a family and settings for `needs` (a subset of NEEDS), using a comparison summary if given.

    budget: the budget to recommend (e.g. {"minutes": 10}); default: the summary's. data: the dataset name for
    the suggested `ganvae train` command; default: the summary's.
    """
    needs = parse_needs(needs)
    families = list((summary or {}).get("families") or _registered(()))  # default: every registered family
    aggregate = (summary or {}).get("aggregate") or {}
    reasons: list[str] = []
    warnings: list[str] = []
    votes: Counter = Counter()
    measured_votes: Counter = Counter()

    for need in ("sharp-samples", "coverage"):
        if need not in needs:
            continue
        vote = _measured_vote(need, aggregate) if summary else None
        title = need.replace("-", " ").capitalize()
        if vote is None:
            if need in PRIORS:
                needed, prop = PRIORS[need]
                family = _capable_family(needed, families, summary)
                votes[family] += PRIOR
                reasons.append(f"{title}: the {family_label(family)} is favoured by a general property, a prior and "
                               f"not a measurement on your data: {prop}. Run `ganvae compare` to measure it.")
            else:
                warnings.append(f"{title} is measured, not assumed (recall, coverage, modes captured, smallest "
                                f"class share), and nothing measured it here: run `ganvae compare` and pass "
                                f"--from REPORT to weigh it.")
            continue
        family, weight, evidence = vote
        if not family:
            reasons.append(f"{title}: measured on this data, {evidence}; so this need does not separate the "
                           f"families.")
            continue
        votes[family] += weight
        measured_votes[family] += weight
        prior = PRIORS.get(need)
        if prior and not _has(summary, family, prior[0]):
            reasons.append(f"{title}: {prior[1]}, but on this data the {family_label(family)} measured "
                           f"better ({evidence}); the measurement overrides the general expectation.")
        else:
            reasons.append(f"{title}: measured on this data, the {family_label(family)} is better ({evidence}).")

    if "stable-training" in needs:
        vote = _stability_vote(summary, families) if summary else None
        needed, prop = PRIORS["stable-training"]
        prior_family = _capable_family(needed, families, summary)
        if vote is None:
            votes[prior_family] += PRIOR
            reasons.append(f"Stable training: the {family_label(prior_family)} is favoured by a general property, "
                           f"a prior and not a measurement on your data: {prop}. Compare with 2 or more seeds to "
                           f"measure the spread.")
        elif not vote[0]:
            reasons.append(f"Stable training: measured, both families trained alike here ({vote[2]}), so this "
                           f"need does not separate them.")
        else:
            votes[vote[0]] += vote[1]
            measured_votes[vote[0]] += vote[1]
            override = (f"; {prop}, so the VAE is usually the steadier one, but the measurement overrides "
                        f"that expectation"
                        if not _has(summary, vote[0], needed) else "")
            reasons.append(f"Stable training: measured, the {family_label(vote[0])} trained more reliably "
                           f"({vote[2]}){override}.")

    if "conditional" in needs:
        conditional = [name for name in FAMILIES.names() if FAMILIES.get(name).has("conditional")]
        compared = [name for name in families if name in conditional]
        where = f"of the families here, {', '.join(compared)} can" if compared else \
            f"none of the families compared here can; {', '.join(conditional)} can"
        warnings.append(f"Conditional: {where} be told which class to generate (train one on labelled data, then "
                        f"`ganvae sample RUN --label K`); the recommendation follows your other needs.")

    hard = [need for need in HARD_PROPERTIES if need in needs]
    if hard:
        family = _capable_family(hard, families, summary)
        held = summary_capabilities(summary, families) if summary else {}
        capable = [f for f in families if set(hard) <= held.get(f, set())]
        if len(capable) > 1 and aggregate:
            voted = [f for f in capable if votes.get(f, 0) == max(votes.get(c, 0) for c in capable)]
            what = join_words([HARD_TITLES[need] for need in hard])
            family = voted[0] if len(voted) == 1 else _break_tie(
                voted, Counter({f: measured_votes[f] for f in voted if measured_votes.get(f)}), aggregate, reasons,
                voted[0], opening=f"Of the families with {what} ({join_words([family_label(f) for f in capable])})"
                                  f", your other needs favour none")
        for need in hard:
            reason = f"{need.capitalize()}: {HARD_PROPERTIES[need]} (a property of the model, not a measurement)"
            quoted = need_metrics(need)[:1]  # the need's headline measurement (the likelihood: NLL), if any
            measured = (aggregate.get(family) or {}).get(quoted[0]) if quoted else None
            if measured is not None:
                reason += (f"; measured here: {metric_label(quoted[0])} "
                           f"{format_interval(measured, metric_unit(quoted[0]))} per example")
            reasons.append(reason + ".")
        against = [f for f, weight in votes.items() if f != family and weight > votes.get(family, 0)]
        if against:
            reasons.append(f"Your other needs point to the {family_label(against[0])} (see above), but "
                           f"{' and '.join(hard)} require{'s' if len(hard) == 1 else ''} a {family_label(family)}, "
                           f"so the {family_label(family)} is recommended despite them.")
            warnings.append(f"Expect the {family_label(family)} to fall short where the "
                            f"{family_label(against[0])} was favoured.")
    elif votes:
        ranked = votes.most_common()
        family = ranked[0][0]
        if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
            family = _break_tie([f for f, w in ranked if w == ranked[0][1]], measured_votes, aggregate, reasons,
                                _capable_family(PRIORS["stable-training"][0], families, summary))
        else:
            others = [f"{votes.get(f, 0)} for the {family_label(f)}" for f in families
                      if f != family and votes.get(f, 0)]
            if len(others) < len(families) - 1:
                others.append("0 for " + ("the others" if others else "each of the others"))
            others = ", ".join(others)
            reasons.append(f"Weighing these, the {family_label(family)} fits your needs best (score "
                           f"{ranked[0][1]} vs {others or '0 for the others'}; a measured clear difference counts "
                           f"{MEASURED}, a one-seed hint or a general property {PRIOR}).")
    else:
        family = _break_tie(families, measured_votes, aggregate, reasons,
                            _capable_family(PRIORS["stable-training"][0], families, summary))

    if summary is not None and family not in families:
        warnings.append(f"This report has no {family_label(family)} runs, so nothing about it was measured here and "
                        f"the settings are the defaults; run `ganvae compare` with --families including {family}.")
    if summary is not None and "conditional" not in needs and _has(summary, family, ("conditional",)):
        warnings.append(_conditional_warning(family, needs, summary, budget, data))
    if summary is not None:
        warnings += _collapse_warnings(summary, family)
        n_failed, n_runs = _failed_runs(summary, [family])[family]
        if n_failed:
            warnings.append(f"{n_failed} of {n_runs} {family_label(family)} runs failed or diverged in this "
                            f"comparison; keep checkpoints and watch the losses.")
    # The runs' configs name path data by its absolute path; the summary's "data" holds only its base name.
    runs = (summary or {}).get("runs") or []
    trained_on = {((run.get("config") or {}).get("data") or {}).get("name") for run in runs}
    data_name = data or (next(iter(trained_on)) if len(trained_on) == 1 and None not in trained_on
                         else ((summary or {}).get("data") or {}).get("name"))
    return Advice(family=family, settings=_settings(summary, family, budget, data_name), reasons=reasons,
                  warnings=warnings, needs=needs)


def _has(summary: Optional[Mapping], family: str, capabilities: Sequence[str]) -> bool:
    """Whether the family has the capabilities (as the summary records them, else as registered)."""
    return set(capabilities) <= summary_capabilities(summary, [family])[family]


def _conditional_warning(family: str, needs: Sequence[str], summary: Mapping, budget: Optional[Mapping],
                         data: Optional[str]) -> str:
    """A conditional family was measured with the labels of the real examples it was compared with: what that
    means, and what the advice would be among the comparison's unconditional families (for data without labels)."""
    text = (f"The {family_label(family)} is conditional: it needs a class label for every training example, and "
            f"its samples here were drawn for the labels of the real examples they were scored against, help "
            f"that an unconditional family does not get.")
    held = summary_capabilities(summary, list(summary.get("families") or []))
    plain = [f for f, capabilities in held.items() if "conditional" not in capabilities]
    if plain:
        aggregate = summary.get("aggregate") or {}
        unconditional = {**summary, "families": plain, "aggregate": {f: aggregate.get(f) for f in plain},
                         "runs": [run for run in summary.get("runs") or [] if run.get("family") in plain]}
        alternative = advise(needs, unconditional, budget=budget, data=data)
        text += (f" Without labels, the advice among the unconditional families here is the "
                 f"{family_label(alternative.family)}: {alternative.settings.get('command') or ''}".rstrip(": ") + ".")
    return text


def _registered(capabilities: Sequence[str]) -> list[str]:
    """The registered families with these capabilities, the textbook ones `compare` trains by default first (so
    advice without measurements names the plain GAN or VAE, not a variant that sorts before it)."""
    from ..families import compare_defaults

    capable = capable_families(capabilities)
    return [f for f in compare_defaults() if f in capable] + [f for f in capable if f not in compare_defaults()]


def _capable_family(capabilities: Sequence[str], families: Sequence[str], summary: Optional[Mapping]) -> str:
    """The first family with every one of the capabilities: among the compared ones (as the summary records
    them), else among the registered families (then the advice warns that the report has no such runs)."""
    held = summary_capabilities(summary, families)
    for family in families:
        if set(capabilities) <= held[family]:
            return family
    registered = _registered(capabilities)
    if not registered:
        raise ConfigError(f"no family ganvae knows offers {' and '.join(capabilities)}; drop that --need.")
    return registered[0]


QUOTED_WINS = 3  # up to this many clear wins are quoted with their intervals; more are named (the report has them)


def _won(aggregate: Mapping, metrics: Sequence[str], family: str) -> str:
    """The metrics a family clearly won: 'FID 21.0 [...] for the GAN vs ...; ...', or their names when many."""
    if len(metrics) > QUOTED_WINS:
        return join_words([metric_label(metric) for metric in metrics])
    return "; ".join(f"{metric_label(m)} "
                     f"{_quote(aggregate, m, [f for f in aggregate if (aggregate[f] or {}).get(m)], family)}"
                     for m in metrics)


def _best_by_score(candidates: Sequence[str], aggregate: Mapping, reasons: list[str], opening: str) -> Optional[str]:
    """Three or more candidates: the one with the best pairwise score over every metric (the candidates it is
    clearly better than minus those clearly better than it), with the reason; None when the best score is shared
    or nothing separates them."""
    metrics = sorted({m for metrics in aggregate.values() for m in (metrics or {})}, key=metric_sort_key)
    comparisons = [compare_metric(aggregate, metric) for metric in metrics]
    scores = scores_of(comparisons, aggregate)
    ranked = sorted(candidates, key=lambda f: -scores[f])
    tied = [f for f in ranked if scores[f] == scores[ranked[0]]]
    unlabelled = [f for f in tied if not _needs_labels(f)]
    if len(tied) > 1 and len(unlabelled) != 1:
        return None
    best = tied[0] if len(tied) == 1 else unlabelled[0]
    led = [c["metric"] for c in comparisons if best in c["leaders"] and c["status"] in (CLEAR, RANKED)]
    behind = [f for f in ranked if f not in tied]
    shared = (f"the {family_label(best)} shares the best score, {scores[best]:+d}, with "
              f"{join_words([f'the {family_label(f)}' for f in tied if f != best])}, which "
              f"{'needs' if len(tied) == 2 else 'need'} the examples' labels while it does not; they are ahead of "
              if len(tied) > 1 else f"the {family_label(best)} scores {scores[best]:+d}, ahead of ")
    reasons.append(f"{opening}, so the overall measurements decide: over the {len(metrics)} metrics, counting for "
                   f"each family the families it is clearly better than (95% intervals apart) minus those clearly "
                   f"better than it, " + shared
                   + ", ".join(f"the {family_label(f)} {scores[f]:+d}" for f in behind)
                   + (f"; it leads on {join_words([metric_label(m) for m in led])}" if led else "") + ".")
    return best


def _needs_labels(family: str) -> bool:
    """Whether a family (or a comparison's entry of one sampled from a fitted prior) is conditional, sampled given
    labels."""
    return "conditional" in capabilities_of(split_entry(family)[0])


def _break_tie(candidates: Sequence[str], measured_votes: Counter, aggregate: Mapping, reasons: list[str],
               steady: str, opening: str = "Nothing in your needs separates the families") -> str:
    """Measured evidence first, then the overall measurements among the candidates (two: the count of clear
    wins; more: the pairwise score), then `steady` (the family the stable-training prior favours, a VAE) as the
    safer default."""
    candidates = list(candidates)
    aggregate = {family: aggregate.get(family) or {} for family in candidates}  # compared among themselves
    if measured_votes:
        best = max(candidates, key=lambda f: measured_votes.get(f, 0))
        if sum(measured_votes.get(f, 0) == measured_votes.get(best, 0) for f in candidates) == 1:
            reasons.append(f"Your needs weigh evenly, so the measured evidence decides: the {family_label(best)} "
                           f"has more of it (score {measured_votes.get(best, 0)} from measurements).")
            return best
    if len(candidates) > 2:
        best = _best_by_score(candidates, aggregate, reasons, opening)
        if best is not None:
            return best
    wins: Counter = Counter()
    won_metrics: dict[str, list[str]] = {}
    leads: dict[str, list[str]] = {}  # metrics measured on every candidate without a clear winner, by mean leader
    for metric in sorted({m for metrics in aggregate.values() for m in (metrics or {})}, key=metric_sort_key):
        comparison = compare_metric(aggregate, metric)
        if comparison["status"] == CLEAR and comparison["winner"] in candidates:
            wins[comparison["winner"]] += 1
            won_metrics.setdefault(comparison["winner"], []).append(metric)
        elif comparison["status"] in (OVERLAP, SINGLE_SEED) and comparison["leader"] in candidates:
            leads.setdefault(comparison["leader"], []).append(metric_label(metric))
    if wins:
        ranked = wins.most_common()
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            best = ranked[0][0]
            others = ", ".join(f"{wins.get(f, 0)} for the {family_label(f)}" for f in candidates if f != best)
            unclear = ""
            if leads:
                n_unclear = sum(len(names) for names in leads.values())
                leaning = "; ".join(f"the {family_label(f)} has the better mean on {', '.join(names)}"
                                    for f, names in leads.items())
                unclear = (f" {n_unclear} other metric{'s show' if n_unclear != 1 else ' shows'} no clear difference "
                           f"({leaning}); more seeds narrow the intervals and may separate them.")
            reasons.append(f"{opening}, so the overall measurements decide: the "
                           f"{family_label(best)} is clearly better on {ranked[0][1]} "
                           f"metric{'s' if ranked[0][1] != 1 else ''} ({_won(aggregate, won_metrics[best], best)}) vs "
                           f"{others}.{unclear}")
            return best
    # steady, the safer default: one objective, an encoder and a likelihood bound
    default = steady if steady in candidates else candidates[0]
    if wins:  # clear differences, but as many for each family
        split = "; ".join(f"the {family_label(f)} on {_won(aggregate, won_metrics[f], f)}" for f in won_metrics)
        reasons.append(f"The clear differences measured split evenly between the families ({split}), so they "
                       f"do not decide.")
    neither = "Neither your needs nor the measurements separate the families"
    reasons.append(f"{neither}, so the {family_label(default)} is the safer default by a general property (a prior, "
                   f"not a measurement): {PRIORS['stable-training'][1]}, and it adds an encoder and a likelihood "
                   f"bound." if default == steady else f"{neither}; the {family_label(default)} is listed first.")
    return default
