"""Aggregation over seeds: means and Student-t intervals against hand-computed values and scipy's t."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ganvae.errors import ConfigError, RunError
from ganvae.report import aggregate_costs, aggregate_runs, best_family, better, compare_metric, mean_interval
from ganvae.report.aggregate import direction_phrase, t_cdf, t_quantile


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 9, 14, 19, 29, 30, 31, 60, 120, 1000])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.95, 0.975, 0.995, 0.9995])
def test_t_quantile_matches_scipy(df, p):
    assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-10)
    assert t_quantile(1 - p, df) == pytest.approx(stats.t.ppf(1 - p, df), rel=1e-9, abs=1e-10)


@pytest.mark.parametrize("df", [1, 3, 10])
@pytest.mark.parametrize("t", [-5.0, -0.3, 0.0, 1.2, 12.7])
def test_t_cdf_matches_scipy(df, t):
    assert t_cdf(t, df) == pytest.approx(stats.t.cdf(t, df), abs=1e-12)


def test_t_quantile_textbook_values():
    # The two-sided 95% critical values printed in every statistics table.
    assert t_quantile(0.975, 1) == pytest.approx(12.706, abs=5e-4)
    assert t_quantile(0.975, 2) == pytest.approx(4.303, abs=5e-4)
    assert t_quantile(0.975, 4) == pytest.approx(2.776, abs=5e-4)
    assert t_quantile(0.975, 30) == pytest.approx(2.042, abs=5e-4)
    # Cauchy (df 1) has a closed form: tan(pi (p - 1/2)).
    assert t_quantile(0.9, 1) == pytest.approx(math.tan(math.pi * 0.4), rel=1e-10)


def test_mean_interval_hand_computed():
    # values 1..5: mean 3, s^2 = (4+1+0+1+4)/4 = 2.5, s/sqrt(5) = sqrt(0.5), t_{0.975,4} = 2.7764451.
    interval = mean_interval([1, 2, 3, 4, 5])
    half = 2.7764451051977987 * math.sqrt(0.5)
    assert interval["mean"] == 3.0
    assert interval["std"] == pytest.approx(math.sqrt(2.5))
    assert interval["half_width"] == pytest.approx(half, rel=1e-9)
    assert (interval["low"], interval["high"]) == pytest.approx((3 - half, 3 + half), rel=1e-9)
    assert interval["n"] == 5


def test_mean_interval_three_seeds_hand_computed():
    # FIDs 20, 23, 26: mean 23, s = 3, s/sqrt(3) = sqrt(3), t_{0.975,2} = 4.3026527.
    interval = mean_interval([20.0, 23.0, 26.0])
    assert interval["half_width"] == pytest.approx(4.302652729749464 * math.sqrt(3), rel=1e-9)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_mean_interval_matches_scipy_interval(confidence):
    values = np.random.default_rng(3).normal(10, 2, size=7)
    low, high = stats.t.interval(confidence, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    interval = mean_interval(values, confidence)
    assert interval["low"] == pytest.approx(low, rel=1e-9)
    assert interval["high"] == pytest.approx(high, rel=1e-9)
    assert interval["confidence"] == confidence


def test_single_value_has_no_interval():
    interval = mean_interval([4.5])
    assert interval["mean"] == interval["low"] == interval["high"] == 4.5
    assert interval["std"] is None and interval["half_width"] is None
    assert interval["n"] == 1


def test_identical_values_have_a_zero_width_interval():
    interval = mean_interval([2.0, 2.0, 2.0])
    assert interval["half_width"] == 0.0 and interval["low"] == interval["high"] == 2.0


@pytest.mark.parametrize("bad", [[], None])
def test_mean_interval_rejects_no_values(bad):
    with pytest.raises((ConfigError, TypeError)):
        mean_interval(bad)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1])
def test_mean_interval_rejects_bad_confidence(confidence):
    with pytest.raises(ConfigError, match="confidence"):
        mean_interval([1, 2], confidence)


def run(family, seed, **metrics):
    return {"family": family, "seed": seed, "metrics": metrics,
            "cost": {"seconds": 10.0 + seed, "images_seen": 1000, "parameters": {"generator": 5, "discriminator": 7}}}


def test_aggregate_runs_groups_by_family_and_metric():
    runs = [run("gan", 0, fid=20.0, nll=None), run("gan", 1, fid=23.0, nll=None), run("gan", 2, fid=26.0, nll=None),
            run("vae", 0, fid=40.0, nll=100.0), run("vae", 1, fid=42.0, nll=None), run("vae", 2, fid=44.0, nll=104.0)]
    aggregate = aggregate_runs(runs)
    assert list(aggregate) == ["gan", "vae"]
    assert aggregate["gan"]["fid"]["mean"] == 23.0
    assert aggregate["gan"]["fid"]["values"] == [20.0, 23.0, 26.0]
    assert aggregate["gan"]["nll"] is None  # all None -> n/a
    # Mixed: the two present values are aggregated, n counts them and n_missing the run without one.
    assert aggregate["vae"]["nll"]["mean"] == 102.0
    assert aggregate["vae"]["nll"]["n"] == 2 and aggregate["vae"]["nll"]["n_missing"] == 1
    # s = 2 sqrt 2, so s / sqrt 2 = 2, times t_{0.975, 1} = 12.7062.
    assert aggregate["vae"]["nll"]["half_width"] == pytest.approx(12.706204736174707 * 2.0)


def test_nan_and_infinity_count_as_missing():
    aggregate = aggregate_runs([run("gan", 0, fid=float("nan")), run("gan", 1, fid=5.0), run("gan", 2, fid=math.inf)])
    assert aggregate["gan"]["fid"]["n"] == 1 and aggregate["gan"]["fid"]["n_missing"] == 2


def test_non_numeric_metric_is_a_run_error():
    with pytest.raises(RunError, match="fid"):
        aggregate_runs([run("gan", 0, fid="high")])


def test_aggregate_costs_sums_parameters_per_network():
    costs = aggregate_costs([run("gan", 0), run("gan", 1)])
    assert costs["gan"]["parameters"]["mean"] == 12
    assert costs["gan"]["seconds"]["mean"] == 10.5
    assert costs["gan"]["images_seen"]["half_width"] == 0


def test_better_follows_direction():
    assert better("fid", 10.0, 20.0) is True
    assert better("fid", 20.0, 10.0) is False
    assert better("precision", 0.9, 0.8) is True
    assert better("precision", 0.8, 0.8) is False
    assert better("kl_per_dim", 1.0, 2.0) is None  # 'neither'
    assert better("no_such_metric", 1.0, 2.0) is None
    assert better("fid", None, 2.0) is None


def test_better_on_target_metrics_means_closer_to_what_real_data_scores():
    assert better("density", 0.95, 1.2) is True  # 0.05 from 1 beats 0.2 from 1
    assert better("density", 1.2, 0.95) is False
    assert better("density", 1.3, 0.7) is False  # both 0.3 away: neither is strictly better
    assert better("memorization", 0.05, 0.006) is True  # fresh-data rate beats straying from the data
    assert better("memorization", 0.05, 0.5) is True  # and beats copying
    assert direction_phrase("density") == "closer to 1 is better"
    assert direction_phrase("fid") == "lower is better"
    assert direction_phrase("kl_per_dim") == ""


def test_compare_metric_on_a_target_metric_needs_every_value_of_the_winner_closer():
    # gan density 1.30 +- 0.06 (crowding), vae 0.98 +- 0.03: every vae value is closer to 1.
    clear = aggregate_of([1.28, 1.30, 1.32], [0.97, 0.98, 0.99], metric="density")
    assert compare_metric(clear, "density")["status"] == "clear"
    assert best_family(clear, "density") == "vae"
    # Means 0.80 and 1.15: the vae leads (0.15 from 1 vs 0.2), but the gan's interval reaches 0.88..., which is
    # closer to 1 than the vae's far end (1.15 + its half width): no clear winner.
    overlap = aggregate_of([0.7, 0.8, 0.9], [1.10, 1.15, 1.20], metric="density")
    comparison = compare_metric(overlap, "density")
    assert comparison["leader"] == "vae" and comparison["status"] == "overlap"
    # gan 1.0 +- 0.124 straddles the target (distances 0..0.124); vae 1.5 +- 0.248 lies 0.252..0.748 away.
    straddle = aggregate_of([0.95, 1.0, 1.05], [1.4, 1.5, 1.6], metric="density")
    assert best_family(straddle, "density") == "gan"
    # Seeds on both sides of the target are as far from it as each seed is, not perfect on average.
    two_sided = aggregate_runs([run("gan", 0, density=0.6), run("gan", 1, density=1.4),
                                run("vae", 0, density=0.8), run("vae", 1, density=0.8)])
    assert two_sided["gan"]["density"]["mean"] == pytest.approx(1.0)  # on target on average ...
    assert compare_metric(two_sided, "density")["leader"] == "vae"  # ... but each seed is 0.4 away, vs 0.2
    # Values on both sides of the target at the same distances: neither leads.
    mirrored = aggregate_of([0.625, 0.75, 0.875], [1.125, 1.25, 1.375], metric="density")
    assert compare_metric(mirrored, "density")["leader"] is None


def aggregate_of(gan_values, vae_values, metric="fid"):
    return aggregate_runs([run("gan", i, **{metric: v}) for i, v in enumerate(gan_values)]
                          + [run("vae", i, **{metric: v}) for i, v in enumerate(vae_values)])


def test_best_family_with_disjoint_intervals():
    aggregate = aggregate_of([20, 21, 22], [40, 41, 42])
    assert best_family(aggregate, "fid") == "gan"
    aggregate = aggregate_of([0.5, 0.51, 0.52], [0.8, 0.81, 0.82], metric="precision")
    assert best_family(aggregate, "precision") == "vae"


def test_best_family_none_when_intervals_overlap():
    # gan 20..26 (mean 23, half width 7.45) and vae 25..31 overlap.
    aggregate = aggregate_of([20, 23, 26], [25, 28, 31])
    assert best_family(aggregate, "fid") is None
    assert compare_metric(aggregate, "fid")["status"] == "overlap"
    assert compare_metric(aggregate, "fid")["leader"] == "gan"


def test_best_family_none_for_single_seed_neither_direction_and_one_family():
    single = aggregate_of([20], [40])
    assert best_family(single, "fid") is None
    assert compare_metric(single, "fid")["status"] == "single-seed"
    assert compare_metric(single, "fid")["leader"] == "gan"
    neither = aggregate_of([0.1, 0.2], [1.0, 1.1], metric="kl_per_dim")
    assert best_family(neither, "kl_per_dim") is None
    assert compare_metric(neither, "kl_per_dim")["status"] == "no-direction"
    only_vae = aggregate_runs([run("gan", 0, nll=None), run("vae", 0, nll=3.0), run("vae", 1, nll=4.0)])
    assert best_family(only_vae, "nll") is None
    assert compare_metric(only_vae, "nll")["status"] == "not-enough-families"


def test_best_family_among_three_needs_to_beat_every_other():
    runs = [run(family, i, fid=v) for family, values in
            (("gan", [20, 21, 22]), ("vae", [40, 41, 42]), ("wgan-gp", [21, 22, 23])) for i, v in enumerate(values)]
    assert best_family(aggregate_runs(runs), "fid") is None  # gan and wgan-gp overlap
    runs = [r for r in runs if r["family"] != "wgan-gp"]
    runs += [run("wgan-gp", i, fid=v) for i, v in enumerate([30, 31, 32])]
    assert best_family(aggregate_runs(runs), "fid") == "gan"


def test_intervals_are_clipped_to_the_metrics_range():
    # recall 0.5, 0.9, 1.0: the t interval reaches past 1; FID 0.1, 5, 9: below 0. KID may be negative.
    aggregate = aggregate_runs([run("gan", 0, recall=0.5, fid=0.1, kid=-0.1),
                                run("gan", 1, recall=0.9, fid=5.0, kid=0.0),
                                run("gan", 2, recall=1.0, fid=9.0, kid=0.1)])
    recall, fid, kid = (aggregate["gan"][name] for name in ("recall", "fid", "kid"))
    raw = mean_interval([0.5, 0.9, 1.0])
    assert raw["high"] > 1 and recall["high"] == 1.0 and recall["low"] == pytest.approx(raw["low"])
    assert recall["half_width"] == pytest.approx(raw["half_width"])  # kept as computed
    assert fid["low"] == 0.0 and fid["high"] == pytest.approx(mean_interval([0.1, 5.0, 9.0])["high"])
    assert kid["low"] < 0
    costs = aggregate_costs([run("gan", 0), run("gan", 1)])
    assert costs["gan"]["seconds"]["low"] >= 0


def test_applicability_follows_the_familys_capabilities_not_its_name():
    from ganvae.report.aggregate import applies_to

    assert applies_to("nll", "vae") and not applies_to("nll", "gan") and applies_to("fid", "gan")
    # A family the registry does not know has no capabilities: the metrics every family gets still apply.
    assert applies_to("fid", "wgan-gp") and not applies_to("kl_per_dim", "wgan-gp")
    # Capabilities given (as a summary stores them) decide, whatever the name.
    assert applies_to("nll", "flow", ["likelihood"]) and not applies_to("active_units", "flow", ["likelihood"])
    assert not applies_to("nll", "vae", [])
    assert applies_to("a_metric_nobody_described", "gan")


def many_families(**values):
    """family -> FID values per seed -> the aggregate."""
    return aggregate_runs([run(family, seed, fid=value) for family, seeds in values.items()
                           for seed, value in enumerate(seeds)])


def test_three_families_two_leading_together_are_ranked_not_overlap():
    # cgan and cvae overlap each other; both are clearly ahead of vae, which is clearly ahead of gan.
    aggregate = many_families(gan=[80.0, 82.0, 84.0], cgan=[20.0, 21.0, 22.0], vae=[50.0, 51.0, 52.0],
                              cvae=[19.0, 22.0, 25.0])
    comparison = compare_metric(aggregate, "fid")
    assert comparison["status"] == "ranked" and comparison["winner"] is None
    assert comparison["leaders"] == ["cgan", "cvae"]
    assert comparison["order"] == ["cgan", "cvae", "vae", "gan"]
    assert comparison["beats"] == {"cgan": ["vae", "gan"], "cvae": ["vae", "gan"], "vae": ["gan"], "gan": []}
    assert best_family(aggregate, "fid") is None


def test_one_family_ahead_of_all_is_clear_and_none_apart_is_overlap():
    clear = compare_metric(many_families(a=[1.0, 2.0, 3.0], b=[10.0, 11.0, 12.0], c=[10.5, 11.5, 12.5]), "fid")
    assert clear["status"] == "clear" and clear["winner"] == "a" and clear["leaders"] == ["a"]
    assert clear["beats"]["a"] == ["b", "c"] and clear["beats"]["b"] == []
    overlap = compare_metric(many_families(a=[1.0, 5.0, 9.0], b=[2.0, 6.0, 10.0], c=[3.0, 7.0, 11.0]), "fid")
    assert overlap["status"] == "overlap" and overlap["leaders"] == ["a", "b", "c"]


def test_pairwise_scores_count_families_clearly_behind_minus_ahead():
    from ganvae.report.aggregate import pairwise_scores

    aggregate = many_families(gan=[80.0, 82.0, 84.0], cgan=[20.0, 21.0, 22.0], vae=[50.0, 51.0, 52.0],
                              cvae=[19.0, 22.0, 25.0])
    assert pairwise_scores(aggregate, ["fid"]) == {"gan": -3, "cgan": 2, "vae": -1, "cvae": 2}
    two = many_families(gan=[20.0, 21.0, 22.0], vae=[40.0, 41.0, 42.0])
    assert pairwise_scores(two, ["fid", "fid"]) == {"gan": 2, "vae": -2}
