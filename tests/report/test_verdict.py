"""The verdict: every sentence rests on numbers, names the right winner, and says so when nothing separates."""

from __future__ import annotations

import re

import pytest

from ganvae.report import aggregate_runs, build_summary, verdict
from ganvae.report.verdict import format_interval, format_number

NUMBER = re.compile(r"\d")


def run(family, seed, status="finished", **metrics):
    return {"family": family, "seed": seed, "status": status, "metrics": metrics,
            "cost": {"seconds": 60.0 + seed, "images_seen": 20000, "parameters": 1000}}


def summary_of(runs, **data):
    return build_summary(data={"name": "toy", **data}, budget={"minutes": 1}, seeds=[0, 1, 2], runs=runs)


def gan_sharp_vae_covering():
    runs = []
    for seed in range(3):
        runs.append(run("gan", seed, fid=20.0 + seed, precision=0.90 + 0.01 * seed, recall=0.40 + 0.01 * seed,
                        coverage=0.60 + 0.05 * seed, nll=None))
        runs.append(run("vae", seed, fid=40.0 + seed, precision=0.60 + 0.01 * seed, recall=0.80 + 0.01 * seed,
                        coverage=0.62 + 0.05 * seed, nll=250.0 + seed))
    return runs


def by_metric(sentences, metric):
    return [s for s in sentences if s["metric"] == metric]


def test_every_sentence_has_a_number_and_a_metric_or_overview():
    sentences = verdict(summary_of(gan_sharp_vae_covering()))
    assert sentences
    for sentence in sentences:
        assert NUMBER.search(sentence["text"]), sentence["text"]
        assert sentence["metric"] is not None or sentence["kind"] == "overview"
        assert sentence["text"].endswith(".")


def test_clear_winner_sentence_quotes_both_intervals():
    summary = summary_of(gan_sharp_vae_covering())
    [fid] = by_metric(summary["verdict"], "fid")
    assert fid["winner"] == "gan"
    gan, vae = summary["aggregate"]["gan"]["fid"], summary["aggregate"]["vae"]["fid"]
    assert format_interval(gan) in fid["text"] and format_interval(vae) in fid["text"]
    assert fid["text"].startswith("The GAN's samples are closer to the data: FID 21.0 [")
    assert "lower is better" in fid["text"]
    assert fid["values"]["gan"]["mean"] == 21.0
    [recall] = by_metric(summary["verdict"], "recall")
    assert recall["winner"] == "vae" and "higher is better" in recall["text"]


def test_overlapping_intervals_say_no_clear_difference():
    [coverage] = by_metric(verdict(summary_of(gan_sharp_vae_covering())), "coverage")
    assert coverage["winner"] is None
    assert coverage["text"].startswith("Neither family covers the data better: coverage 0.650 [")
    assert "intervals overlap" in coverage["text"]


def test_two_sided_metrics_name_the_target_and_which_side_each_family_is_on():
    runs = []
    for seed in range(3):
        runs.append(run("gan", seed, density=1.30 + 0.01 * seed, memorization=0.004 + 0.001 * seed))
        runs.append(run("vae", seed, density=0.95 + 0.01 * seed, memorization=0.006 + 0.001 * seed))
    sentences = verdict(summary_of(runs))
    [density] = by_metric(sentences, "density")
    assert density["winner"] == "vae"  # 0.04 from 1 beats 0.31 from 1, and the intervals keep apart
    assert density["text"].startswith("The VAE's density is closer to the 1 that real data scores: density 0.960 [")
    assert "(closer to 1 is better); below 1 for the VAE: samples stray from the real data; " \
           "above 1 for the GAN: samples crowd its dense regions." in density["text"]
    wide = [run("gan", 0, sharpness=0.93), run("gan", 1, sharpness=1.02), run("vae", 0, sharpness=0.231),
            run("vae", 1, sharpness=0.235)]
    wide_sentences = verdict(summary_of(wide))
    [sharpness] = by_metric(wide_sentences, "sharpness")
    # With two seeds the overview says how wide an interval is (t with 1 degree of freedom: 12.7).
    assert wide_sentences[0]["kind"] == "overview"
    assert wide_sentences[0]["text"].endswith("With 2 seeds per family a 95% interval is the mean \u00b1 12.7 "
                                              "standard errors, so only large differences separate; more seeds "
                                              "narrow it (\u00b1 2.78 with 5).")
    assert sharpness["winner"] == "gan"
    assert sharpness["text"].endswith("below 1 for the VAE: images are blurrier than real ones; the GAN's interval "
                                      "includes 1.")
    [memorization] = by_metric(sentences, "memorization")
    assert memorization["winner"] is None and "intervals overlap" in memorization["text"]
    assert memorization["text"].endswith("below 0.05 for both: samples lie further from the training set than "
                                         "held-out real data does.")


def test_overview_counts_clear_wins():
    overview = verdict(summary_of(gan_sharp_vae_covering()))[0]
    assert overview["kind"] == "overview"
    assert "Of the 4 metrics measured on both families" in overview["text"]
    assert overview["values"]["gan"] == ["fid", "precision"]
    assert overview["values"]["vae"] == ["recall"]
    assert overview["values"]["no_clear_difference"] == ["coverage"]


def test_only_the_vae_gives_a_likelihood_bound():
    [nll] = by_metric(verdict(summary_of(gan_sharp_vae_covering())), "nll")
    assert nll["text"].startswith("Only the VAE gives a likelihood bound: NLL 251.0 [")
    assert "nats" in nll["text"] and nll["winner"] == "vae"


def test_the_likelihood_sentence_says_why_each_other_entry_has_none():
    runs = gan_sharp_vae_covering() + [run("sngan", seed, fid=30.0 + seed, nll=None) for seed in range(3)] + \
        [run("vae+gmm", seed, fid=15.0 + seed, nll=None) for seed in range(3)]
    [nll] = by_metric(verdict(summary_of(runs)), "nll")
    assert nll["text"].endswith("(lower is better); the GAN and the SNGAN have no likelihood; the VAE (GMM prior) was "
                                "scored on samples only (a report from before the likelihood was measured with the "
                                "fitted prior).")
    # a fitted entry of a family without a likelihood has none either way
    runs = gan_sharp_vae_covering() + [run("vaegan+gmm", seed, fid=15.0 + seed, nll=None) for seed in range(3)]
    [nll] = by_metric(verdict(summary_of(runs)), "nll")
    assert nll["text"].endswith("the GAN and the VAE-GAN (GMM prior) have no likelihood.")
    [two] = by_metric(verdict(summary_of(gan_sharp_vae_covering())), "nll")
    assert two["text"].endswith("; the GAN has no likelihood.")


def test_single_seed_is_a_hint_not_a_finding():
    runs = [run("gan", 0, fid=20.0), run("vae", 0, fid=40.0)]
    [fid] = by_metric(verdict(summary_of(runs)), "fid")
    assert fid["winner"] is None
    assert "one seed gives no interval" in fid["text"] and "20.0 (one seed)" in fid["text"]


def test_mode_collapse_and_missing_class_are_named():
    gan_values = [(5, 0.0), (8, 0.02), (6, 0.0)]
    runs = [run("gan", s, modes_captured=m, min_class_share=c) for s, (m, c) in enumerate(gan_values)]
    runs += [run("vae", s, modes_captured=8, min_class_share=0.08) for s in range(3)]
    sentences = verdict(summary_of(runs, n_modes=8, n_classes=10))
    modes = [s["text"] for s in by_metric(sentences, "modes_captured") if s["kind"] == "collapse"]
    assert "The GAN missed modes in 2 of 3 runs: it captured 6.3 [2.5, 10.1] of the 8 modes" in modes[0]
    assert "of the 8 modes on average" in modes[0]
    assert modes[1] == "The VAE captured all 8 modes in each of its 3 runs."
    classes = [s["text"] for s in by_metric(sentences, "min_class_share") if s["kind"] == "collapse"]
    assert len(classes) == 1 and classes[0].startswith("The GAN dropped a class entirely in 2 of 3 runs")


def test_an_unreached_cluster_is_not_called_a_dropped_kind_where_modes_or_classes_are_counted():
    """grid25, measured: the GAN reached all 25 modes and 49 of 50 k-means clusters; k-means had split a mode in two."""
    runs = [run("gan", s, modes_captured=25, cluster_share=c) for s, c in enumerate([0.98, 1.0, 0.98])]
    said = [s["text"] for s in verdict(summary_of(runs, n_modes=25)) if s["kind"] == "collapse"]
    assert said == ["The GAN captured all 25 modes in each of its 3 runs."]
    labelled = [run("gan", s, min_class_share=0.09, cluster_share=0.9) for s in range(3)]
    assert not by_metric(verdict(summary_of(labelled, n_classes=10)), "cluster_share")
    unlabelled = [run("gan", s, cluster_share=0.9) for s in range(3)]
    [dropped] = by_metric(verdict(summary_of(unlabelled)), "cluster_share")
    assert "left some k-means clusters of the real data without samples in 3 of 3 runs" in dropped["text"]


def test_three_families_are_no_family_and_all_three_not_neither_and_both():
    runs = [run(family, s, fid=20.0 + 5 * s, coverage=0.5 + 0.1 * s)
            for family in ("gan", "wgan-gp", "sngan") for s in range(3)]
    sentences = verdict(summary_of(runs))
    [overview] = [s for s in sentences if s["kind"] == "overview"]
    assert overview["text"].startswith("Of the 2 metrics compared across the 3 families, none shows a clear difference")
    [fid] = by_metric(sentences, "fid")
    assert fid["text"].startswith("No family's samples are clearly closer to the data: FID ")
    assert not any("Neither" in s["text"] or "both families" in s["text"] for s in sentences)


def test_under_represented_class_against_fair_share():
    runs = [run("gan", s, min_class_share=0.03) for s in range(2)]
    runs += [run("vae", s, min_class_share=0.09) for s in range(2)]
    sentences = [s["text"] for s in verdict(summary_of(runs, n_classes=10)) if s["kind"] == "collapse"]
    assert sentences == ["The GAN under-produces a class: smallest class share 0.0300 (every seed) against a fair "
                         "share of 0.100 for 10 classes."]


def test_posterior_collapse_failures_spread_and_cost():
    runs = [run("gan", 0, fid=10.0), run("gan", 1, fid=30.0), run("gan", 2, status="diverged", fid=None),
            run("vae", 0, fid=20.0, kl_per_dim=0.001), run("vae", 1, fid=20.5, kl_per_dim=0.002)]
    sentences = verdict(summary_of(runs))
    texts = " ".join(s["text"] for s in sentences)
    assert "posterior collapse" in texts and "0.00150" in texts
    assert "1 of 3 GAN runs did not finish (diverged; seed 2)." in texts
    [spread] = [s for s in sentences if s["kind"] == "stability" and s["metric"] == "fid"]
    assert spread["text"].startswith("The GAN varied more from seed to seed: FID standard deviation 14.1 around 20.0")
    [cost] = [s for s in sentences if s["kind"] == "cost"]
    assert "61.0 [" in cost["text"] and "20,000 images" in cost["text"]


def test_bare_aggregate_works_without_runs():
    aggregate = aggregate_runs(gan_sharp_vae_covering())
    sentences = verdict(aggregate)
    assert {s["metric"] for s in sentences} >= {"fid", "precision", "recall", "coverage", "nll"}
    assert all(NUMBER.search(s["text"]) for s in sentences)


def test_no_metric_leaves_only_the_cost_sentence():
    sentences = verdict(summary_of([run("gan", 0), run("vae", 0)]))
    assert [s["kind"] for s in sentences] == ["cost"]


@pytest.mark.parametrize("value, text", [(23.14, "23.1"), (0.62, "0.620"), (250.31, "250.3"), (20000.0, "20,000"),
                                         (12345, "12,345"), (0.0012, "0.00120"), (None, "n/a")])
def test_format_number(value, text):
    assert format_number(value) == text


def test_equal_values_read_the_same_not_overlapping():
    runs = [run(family, seed, memorization=0.0) for family in ("gan", "vae") for seed in range(2)]
    [memorization] = by_metric(verdict(summary_of(runs)), "memorization")
    assert memorization["winner"] is None
    assert "0.000 (every seed) for the VAE; the same for every family; below 0.05 for both" in memorization["text"]


def test_the_verdict_reads_its_phrases_and_order_from_the_metric_spec(monkeypatch):
    from dataclasses import replace

    from ganvae.metrics.spec import METRICS

    monkeypatch.setitem(METRICS, "density", replace(METRICS["density"], label="crowding",
                                                    winner_phrase="{W} crowds the data least",
                                                    target_sides=("too thin", "too thick"), report_rank=0))
    runs = []
    for seed in range(3):
        runs.append(run("gan", seed, fid=20.0 + seed, density=1.30 + 0.01 * seed))
        runs.append(run("vae", seed, fid=40.0 + seed, density=0.95 + 0.01 * seed))
    comparisons = [s for s in verdict(summary_of(runs)) if s["kind"] == "comparison"]
    assert [s["metric"] for s in comparisons] == ["density", "fid"]
    assert comparisons[0]["text"].startswith("The VAE crowds the data least: crowding 0.960 [")
    assert "above 1 for the GAN: too thick" in comparisons[0]["text"]


def test_with_many_families_the_leaders_are_named_with_whom_they_are_clearly_ahead_of():
    runs = [run(family, s, fid=base + s) for family, base in
            (("gan", 80.0), ("cgan", 20.0), ("vae", 50.0), ("cvae", 21.0), ("wgan-gp", 49.0)) for s in range(3)]
    sentences = verdict(summary_of(runs))
    [fid] = [s for s in by_metric(sentences, "fid") if s["kind"] == "ranking"]
    assert fid["text"].startswith("On FID (lower is better) the cGAN 21.0 [18.5, 23.5] and the cVAE 22.0 [19.5, 24.5] "
                                  "lead, their 95% intervals overlapping; both are clearly better than the WGAN-GP "
                                  "50.0 [47.5, 52.5], the VAE 51.0 [48.5, 53.5] and the GAN 81.0 [78.5, 83.5]")
    [overview] = [s for s in sentences if s["kind"] == "overview"]
    assert "on 1 two or more families lead together" in overview["text"]
    assert overview["values"]["shared_lead"] == {"cgan": ["fid"], "cvae": ["fid"]}


def test_a_leader_ahead_of_only_some_families_is_said_alone():
    # a and b lead together; a is clearly ahead of c, b is not (b's interval is wide).
    runs = [run(family, s, fid=value) for family, values in
            (("a", [10.0, 11.0, 12.0]), ("b", [5.0, 15.0, 25.0]), ("c", [30.0, 31.0, 32.0])) for s, value in
            enumerate(values)]
    [fid] = [s for s in by_metric(verdict(summary_of(runs)), "fid") if s["kind"] == "ranking"]
    assert "the A alone is clearly better than the C 31.0" in fid["text"]


def test_families_under_producing_a_class_are_said_in_one_sentence():
    runs = [run(family, s, min_class_share=share) for family, share in (("gan", 0.02), ("vae", 0.03),
                                                                         ("cgan", 0.09)) for s in range(3)]
    said = [s["text"] for s in verdict(summary_of(runs, n_classes=10)) if s["kind"] == "collapse"]
    assert said == ["A class is under-produced, its share below half the fair 0.100 for 10 classes, by the GAN "
                    "0.0200 (every seed) and the VAE 0.0300 (every seed) (smallest class share)."]
