"""advise on synthetic summaries: hard needs, measured needs, priors, and needs that measurements contradict."""

from __future__ import annotations

import pytest

from ganvae.errors import ConfigError
from ganvae.report import NEEDS, Advice, advise, build_summary, parse_needs


def run(family, seed, status="finished", arch="mlp", **metrics):
    return {"family": family, "seed": seed, "status": status, "metrics": metrics,
            "config": {"model": {"arch": arch, "latent_dim": 8 if family == "vae" else 100, "beta": 1.0},
                       "optim": {"lr": 2e-4, "batch_size": 128}},
            "cost": {"seconds": 60.0, "images_seen": 20000, "parameters": 1000}}


def summary_of(gan, vae, seeds=3, families=("gan", "vae"), **data):
    """gan, vae: metric -> list of per-seed values (or a callable of the seed)."""
    runs = []
    for family, metrics in (("gan", gan), ("vae", vae)):
        if family not in families:
            continue
        for seed in range(seeds):
            runs.append(run(family, seed, **{name: values[seed] for name, values in metrics.items()}))
    return build_summary(data={"name": "toy", **data}, budget={"minutes": 5}, seeds=list(range(seeds)),
                         runs=runs, families=list(families))


GAN_SHARP = dict(fid=[20.0, 21.0, 22.0], sharpness=[0.96, 0.97, 0.98], precision=[0.90, 0.91, 0.92],
                 recall=[0.40, 0.41, 0.42])
VAE_BLURRY = dict(fid=[40.0, 41.0, 42.0], sharpness=[0.40, 0.41, 0.42], precision=[0.60, 0.61, 0.62],
                  recall=[0.80, 0.81, 0.82], nll=[250.0, 251.0, 252.0])
GAN_BLURRY = dict(fid=[60.0, 61.0, 62.0], precision=[0.50, 0.51, 0.52], recall=[0.30, 0.31, 0.32])
VAE_SHARP = dict(fid=[15.0, 15.5, 16.0], precision=[0.85, 0.86, 0.87], recall=[0.80, 0.81, 0.82])


def test_needs_encoder_gives_vae_whatever_the_measurements():
    advice = advise({"encoder", "sharp-samples"}, summary_of(GAN_SHARP, VAE_BLURRY))
    assert isinstance(advice, Advice) and advice.family == "vae"
    assert any("only a VAE learns an encoder" in reason for reason in advice.reasons)
    # The measured GAN advantage is not hidden: it is named, and overruled explicitly.
    assert any("point to the GAN" in reason and "encoder require" in reason for reason in advice.reasons)
    assert any("FID 21.0 [" in reason for reason in advice.reasons)


def test_needs_likelihood_cites_measured_nll():
    advice = advise({"likelihood"}, summary_of(GAN_SHARP, VAE_BLURRY))
    assert advice.family == "vae"
    [reason] = advice.reasons
    assert "only a VAE gives a likelihood bound" in reason and "NLL 251.0 [" in reason


def test_sharp_samples_measured_gan_better():
    advice = advise({"sharp-samples"}, summary_of(GAN_SHARP, VAE_BLURRY))
    assert advice.family == "gan"
    assert advice.reasons[0].startswith("Sharp samples: measured on this data, the GAN is better (sharpness 0.970 [")
    assert "(closer to 1 is better); FID 21.0 [" in advice.reasons[0]
    assert "precision" not in advice.reasons[0]  # blur can raise precision: it does not vote on sharpness
    assert "prior" not in advice.reasons[0]


def test_sharp_samples_but_vae_measured_better_follows_the_measurement():
    advice = advise({"sharp-samples"}, summary_of(GAN_BLURRY, VAE_SHARP))
    assert advice.family == "vae"
    reason = advice.reasons[0]
    assert "GANs usually give sharper samples" in reason
    assert "on this data the VAE measured better" in reason
    assert "the measurement overrides the general expectation" in reason
    assert "FID 15.5 [14.3, 16.7] for the VAE vs 61.0 [58.5, 63.5] for the GAN" in reason


def test_coverage_is_measured():
    advice = advise({"coverage"}, summary_of(GAN_SHARP, VAE_BLURRY))
    assert advice.family == "vae"
    assert advice.reasons[0].startswith("Coverage: measured on this data, the VAE is better (recall 0.810 [")


def test_coverage_without_measurement_is_not_assumed():
    advice = advise({"coverage"}, None)
    assert not any("Coverage:" in reason for reason in advice.reasons)
    assert any("measured, not assumed" in warning for warning in advice.warnings)


def test_mode_collapse_in_the_chosen_family_is_a_warning():
    gan = dict(GAN_SHARP, modes_captured=[5, 8, 8])
    vae = dict(VAE_BLURRY, modes_captured=[8, 8, 8])
    advice = advise({"sharp-samples"}, summary_of(gan, vae, n_modes=8))
    assert advice.family == "gan"
    assert any(warning == "The GAN showed mode collapse in 1 of 3 runs: modes captured 5 of 8."
               for warning in advice.warnings)


def test_sharp_samples_with_overlapping_measurements_do_not_vote():
    gan = dict(fid=[20.0, 30.0, 40.0], precision=[0.7, 0.8, 0.9])
    vae = dict(fid=[25.0, 30.0, 35.0], precision=[0.75, 0.8, 0.85])
    advice = advise({"sharp-samples"}, summary_of(gan, vae))
    assert advice.reasons[0].startswith("Sharp samples: measured on this data, no clear difference: FID 30.0 [")
    assert "intervals overlap; so this need does not separate the families." in advice.reasons[0]
    # Nothing separates them, so the default is the VAE, and that reason is marked as a prior.
    assert advice.family == "vae"
    assert "a prior, not a measurement" in advice.reasons[-1]


def test_no_summary_gives_priors_marked_as_priors():
    advice = advise({"sharp-samples"}, None)
    assert advice.family == "gan"
    assert "a prior and not a measurement on your data" in advice.reasons[0]
    advice = advise({"stable-training"}, None)
    assert advice.family == "vae"
    assert "a prior and not a measurement" in advice.reasons[0]
    assert "one objective" in advice.reasons[0]


def test_stable_training_measured_by_failed_runs_overrides_prior():
    runs = [run("gan", s, fid=20.0 + s) for s in range(3)]
    runs += [run("vae", 0, fid=30.0), run("vae", 1, status="diverged", fid=None), run("vae", 2, fid=31.0)]
    summary = build_summary(data={"name": "toy"}, budget={"minutes": 5}, seeds=[0, 1, 2], runs=runs)
    advice = advise({"stable-training"}, summary)
    assert advice.family == "gan"
    assert "0 of 3 GAN runs failed or diverged; 1 of 3 VAE runs failed or diverged" in advice.reasons[0]
    assert "the measurement overrides that expectation" in advice.reasons[0]


def test_stable_training_measured_by_seed_spread():
    gan = dict(fid=[10.0, 30.0, 50.0])
    vae = dict(fid=[30.0, 31.0, 32.0])
    advice = advise({"stable-training"}, summary_of(gan, vae))
    assert advice.family == "vae"
    assert "seed-to-seed spread differs: FID standard deviation 20.0 around 30.0 over 3 seeds for the GAN" \
        in advice.reasons[0]


def test_conditional_is_a_plain_warning_and_other_needs_decide():
    advice = advise({"conditional", "encoder"}, None)
    assert advice.family == "vae"
    assert "Conditional: of the families here, cgan, cvae can be told which class to generate" in advice.warnings[0]
    plain = advise({"conditional", "encoder"}, summary_of(GAN_SHARP, VAE_BLURRY))
    assert any("none of the families compared here can; cgan, cvae can" in warning for warning in plain.warnings)


def test_unknown_need_is_a_config_error_naming_the_allowed_values():
    with pytest.raises(ConfigError, match="choose from encoder, likelihood, sharp-samples"):
        advise({"speed"}, None)


def test_parse_needs_accepts_commas_underscores_and_order():
    assert parse_needs("sharp_samples, Encoder") == ["encoder", "sharp-samples"]
    assert parse_needs(None) == [] and parse_needs("") == []
    assert set(NEEDS) == {"encoder", "likelihood", "sharp-samples", "coverage", "stable-training", "conditional"}


def test_settings_come_from_the_chosen_familys_runs():
    advice = advise({"sharp-samples"}, summary_of(GAN_SHARP, VAE_BLURRY))
    assert advice.settings["arch"] == "mlp"
    assert advice.settings["budget"] == {"minutes": 5}
    assert advice.settings["latent_dim"] == 100 and advice.settings["measured_runs"] == 3
    assert advice.settings["command"] == "ganvae train gan --data toy --arch mlp --minutes 5"
    assert advice.to_dict()["family"] == "gan"


def test_needed_family_missing_from_the_report_is_a_warning():
    advice = advise({"encoder"}, summary_of(GAN_SHARP, VAE_BLURRY, families=("gan",)))
    assert advice.family == "vae"
    assert any("This report has no VAE runs" in warning for warning in advice.warnings)


def test_no_needs_follows_overall_measurements():
    advice = advise(set(), summary_of(GAN_SHARP, VAE_BLURRY))
    # GAN clearly better on FID, sharpness and precision, the VAE on recall: 3 vs 1, each quoted.
    assert advice.family == "gan"
    reason = advice.reasons[-1]
    assert "the GAN is clearly better on 3 metrics (FID 21.0 [" in reason and reason.endswith(") vs 1 for the VAE.")
    assert "sharpness 0.970 [" in reason and "precision 0.910 [" in reason


def test_no_needs_names_the_unseparated_metrics_and_their_mean_leaders():
    gan = dict(GAN_SHARP, coverage=[0.2, 0.5, 0.8])
    vae = dict(VAE_BLURRY, coverage=[0.3, 0.6, 0.9])
    reason = advise(set(), summary_of(gan, vae)).reasons[-1]
    assert reason.endswith("1 other metric shows no clear difference (the VAE has the better mean on coverage); "
                           "more seeds narrow the intervals and may separate them.")


def test_every_reason_names_a_number_or_a_property():
    cases = [({"sharp-samples", "coverage", "stable-training"}, summary_of(GAN_SHARP, VAE_BLURRY)),
             ({"encoder", "likelihood"}, None), ({"sharp-samples", "stable-training"}, None)]
    for needs, summary in cases:
        for reason in advise(needs, summary).reasons:
            assert any(ch.isdigit() for ch in reason) or "property" in reason or "prior" in reason, reason


def test_measurements_that_split_evenly_do_not_vote():
    # FID favours the GAN, sharpness the VAE, both clearly: sharp samples is undecided, and says why.
    gan = dict(fid=[20.0, 21.0, 22.0], sharpness=[1.50, 1.51, 1.52])
    vae = dict(fid=[40.0, 41.0, 42.0], sharpness=[0.80, 0.81, 0.82])
    advice = advise({"sharp-samples"}, summary_of(gan, vae))
    reason = advice.reasons[0]
    assert "the metrics split evenly between the families" in reason
    assert "FID favours the GAN: 21.0 [" in reason and "sharpness favours the VAE: 0.810 [" in reason


def test_no_needs_with_clear_wins_split_evenly_says_so_then_falls_back_on_the_prior():
    gan = dict(fid=[20.0, 21.0, 22.0], recall=[0.40, 0.41, 0.42])
    vae = dict(fid=[40.0, 41.0, 42.0], recall=[0.80, 0.81, 0.82])
    advice = advise(set(), summary_of(gan, vae))
    assert advice.family == "vae"
    assert advice.reasons[0].startswith("The clear differences measured split evenly between the families (the GAN "
                                        "on FID 21.0 [")
    assert "the VAE on recall 0.810 [" in advice.reasons[0]
    assert advice.reasons[1].startswith("Neither your needs nor the measurements separate the families, so the VAE")
    assert "a prior, not a measurement" in advice.reasons[1]


def test_many_clear_wins_are_named_rather_than_quoted():
    gan = dict(GAN_SHARP, kid=[1.0, 1.1, 1.2])
    vae = dict(VAE_BLURRY, kid=[5.0, 5.1, 5.2])
    reason = advise(set(), summary_of(gan, vae)).reasons[-1]
    assert "the GAN is clearly better on 4 metrics (FID, KID, sharpness and precision) vs 1 for the VAE." in reason


def test_hard_needs_follow_the_capabilities_a_summary_records():
    """A summary.json alone decides: a family it records with a likelihood serves that need, whatever its name."""
    summary = summary_of(GAN_SHARP, VAE_BLURRY)
    assert summary["capabilities"] == {"gan": ["adversarial"], "vae": ["encoder", "likelihood"]}
    summary["families"] = ["gan", "flow"]
    summary["capabilities"] = {"gan": [], "flow": ["likelihood"]}
    summary["aggregate"]["flow"] = summary["aggregate"].pop("vae")
    advice = advise({"likelihood"}, summary)
    assert advice.family == "flow"
    assert "; measured here: NLL 251.0 [" in advice.reasons[0] and "nats per example." in advice.reasons[0]
    # An encoder: no compared family has one, so the registered family that does, with a warning.
    advice = advise({"encoder"}, summary)
    assert advice.family == "vae" and any("This report has no VAE runs" in w for w in advice.warnings)


def test_a_summary_without_recorded_capabilities_reads_them_from_the_family_registry():
    summary = summary_of(GAN_SHARP, VAE_BLURRY)
    recorded = advise({"likelihood", "sharp-samples"}, summary).to_dict()
    del summary["capabilities"]
    assert advise({"likelihood", "sharp-samples"}, summary).to_dict() == recorded
    assert recorded["family"] == "vae"
    assert any("likelihood requires a VAE, so the VAE is recommended despite them" in r for r in recorded["reasons"])


def test_coverage_weighs_the_label_free_cluster_metrics():
    """On data without labels the cluster metrics carry the coverage need, and a dropped cluster is a warning."""
    gan = dict(cluster_share=[0.83, 0.83, 0.92], ndb_k=[0.25, 0.33, 0.25])
    vae = dict(cluster_share=[1.0, 1.0, 1.0], ndb_k=[0.0, 0.08, 0.0])
    advice = advise({"coverage"}, summary_of(gan, vae))
    assert advice.family == "vae"
    assert advice.reasons[0].startswith("Coverage: measured on this data, the VAE is better (clusters reached 1.00 "
                                        "(every seed) for the VAE vs 0.860 [0.731, 0")
    assert "NDB/k 0.027 [0.000, 0.141] for the VAE vs 0.277 [0.162, 0.391] for the GAN" in advice.reasons[0]
    assert not any("VAE left" in w for w in advice.warnings)
    sharp = advise({"sharp-samples"}, summary_of(dict(gan, fid=[1.0, 1.1, 1.2]), dict(vae, fid=[5.0, 5.1, 5.2])))
    assert sharp.family == "gan"
    assert any(w.startswith("The GAN left some k-means clusters of the real data without samples in 3 of 3 runs")
               for w in sharp.warnings)


def test_an_unreached_cluster_is_no_warning_where_every_known_mode_was_captured():
    gan = dict(modes_captured=[25, 25, 25], cluster_share=[0.98, 1.0, 0.98], fid=[1.0, 1.1, 1.2])
    vae = dict(modes_captured=[25, 25, 25], cluster_share=[1.0, 1.0, 1.0], fid=[5.0, 5.1, 5.2])
    advice = advise({"sharp-samples"}, summary_of(gan, vae, n_modes=25))
    assert not any("k-means" in w for w in advice.warnings)


def test_the_command_for_a_vae_sampled_from_its_fitted_prior_trains_the_vae_then_samples_with_the_prior():
    from ganvae.report.advise import _settings

    runs = [dict(run("vae", seed), family="vae+gmm") for seed in range(2)]
    summary = build_summary(data={"name": "toy"}, budget={"minutes": 5}, seeds=[0, 1], runs=runs,
                            families=["vae+gmm"])
    settings = _settings(summary, "vae+gmm", None, "toy")
    assert settings["command"] == ("ganvae train vae --data toy --arch mlp --minutes 5; "
                                   "then sample it with: ganvae sample RUN --prior gmm")


def summary_of_many(values: dict, seeds: int = 3) -> dict:
    """values: family -> {metric: per-seed values}."""
    runs = [run(family, seed, **{name: v[seed] for name, v in metrics.items()})
            for family, metrics in values.items() for seed in range(seeds)]
    return build_summary(data={"name": "toy"}, budget={"minutes": 5}, seeds=list(range(seeds)), runs=runs,
                         families=list(values))


MANY = {
    "gan": dict(fid=[80.0, 81.0, 82.0], sharpness=[0.95, 0.96, 0.97], recall=[0.50, 0.51, 0.52]),
    "cgan": dict(fid=[20.0, 21.0, 22.0], sharpness=[0.90, 0.91, 0.92], recall=[0.60, 0.61, 0.62]),
    "vae": dict(fid=[50.0, 51.0, 52.0], sharpness=[0.30, 0.31, 0.32], recall=[0.80, 0.81, 0.82],
                nll=[250.0, 251.0, 252.0]),
    "iwae": dict(fid=[60.0, 61.0, 62.0], sharpness=[0.20, 0.21, 0.22], recall=[0.78, 0.79, 0.80],
                 nll=[249.0, 250.0, 251.0]),
}


def test_many_families_a_need_goes_to_the_best_pairwise_score_and_a_gan_variant_agrees_with_the_prior():
    advice = advise({"sharp-samples"}, summary_of_many(MANY))
    assert advice.family == "cgan"
    reason = advice.reasons[0]
    assert reason.startswith("Sharp samples: measured on this data, the cGAN is better (")
    assert "FID 21.0 [18.5, 23.5] for the cGAN, clearly better than 3 of the other 3 (lower is better)" in reason
    assert "overrides" not in reason  # a cGAN is adversarial: the measurement agrees with the prior


def test_a_recommended_conditional_family_warns_and_names_the_unconditional_advice():
    advice = advise({"sharp-samples"}, summary_of_many(MANY))
    [warning] = [w for w in advice.warnings if "conditional" in w]
    assert "needs a class label for every training example" in warning
    assert "Without labels, the advice among the unconditional families here is the " in warning
    assert advise({"conditional", "sharp-samples"}, summary_of_many(MANY)).warnings[0].startswith("Conditional:")


def test_a_hard_need_picks_the_best_measured_family_that_has_it():
    # Both the VAE and the IWAE have an encoder; the VAE is clearly better on FID and sharpness.
    advice = advise({"encoder"}, summary_of_many(MANY))
    assert advice.family == "vae"
    assert advice.reasons[0].startswith("Of the families with an encoder (VAE and IWAE), your other needs favour "
                                        "none, so the overall measurements decide: the VAE is clearly better on 2 "
                                        "metrics (FID 51.0 [48.5, 53.5] for the VAE vs 61.0 [58.5, 63.5] for the IWAE")


def test_no_need_with_many_families_decides_by_the_pairwise_score():
    advice = advise(None, summary_of_many(MANY))
    assert advice.family == "cgan"
    assert "the cGAN scores " in advice.reasons[0] and "ahead of the " in advice.reasons[0]


def test_a_best_score_shared_with_a_conditional_family_goes_to_the_one_that_needs_no_labels():
    # The VAE sampled from its fitted mixture and the cVAE: every metric alike, each clearly ahead of the GAN.
    alike = dict(fid=[20.0, 21.0, 22.0], recall=[0.70, 0.71, 0.72])
    values = {"gan": dict(fid=[80.0, 81.0, 82.0], recall=[0.50, 0.51, 0.52]), "cvae": alike, "vae+gmm": alike}
    advice = advise(None, summary_of_many(values))
    assert advice.family == "vae+gmm"
    assert ("the VAE (GMM prior) shares the best score, +2, with the cVAE, which needs the examples' labels while it "
            "does not; they are ahead of the GAN -4") in advice.reasons[0]
    assert "ganvae sample RUN --prior gmm" in advice.settings["command"]
    # Two unconditional families sharing the best score: the measurements do not decide between them.
    tied = advise(None, summary_of_many({**values, "cvae": dict(values["cvae"]), "vae": alike}))
    assert "shares the best score" not in " ".join(tied.reasons)
