"""The metric spec is the one place per-metric knowledge lives: it is consistent, torch-free, matches what
evaluate produces, and a metric added to it (one spec entry plus one group function) reaches every output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.axes import Axes

import ganvae
from ganvae.data.toy import mixture_points
from ganvae.families import FAMILIES
from ganvae.metrics import METRIC_INFO, spec
from ganvae import evaluation as evaluate_module
from ganvae.evaluation import METRIC_GROUPS, GroupResult, MetricGroup, NotApplicable, evaluate, format_table
from ganvae.metrics.spec import METRICS, MetricSpec
from ganvae.report import advise, build_summary, save_metric_curves, write_report
from ganvae.report.advise import NEEDS
from ganvae.report.aggregate import aggregate_runs


def test_spec_imports_only_the_standard_library():
    """Loaded on its own with torch and numpy made unimportable, the spec module still works."""
    path = Path(spec.__file__)
    code = ("import importlib.util, sys\n"
            "sys.modules['torch'] = None; sys.modules['numpy'] = None\n"
            f"found = importlib.util.spec_from_file_location('metric_spec', {str(path)!r})\n"
            "module = importlib.util.module_from_spec(found); sys.modules['metric_spec'] = module\n"
            "found.loader.exec_module(module)\n"
            "assert not any(name.startswith('ganvae') for name in sys.modules)\n"
            "print(len(module.METRICS), module.need_metrics('sharp-samples'), module.metric_label('min_class_share'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "19 ('sharpness', 'fid', 'kid') smallest class share"


def test_every_spec_entry_is_consistent():
    capabilities = set().union(*(FAMILIES.get(name).capabilities for name in FAMILIES.names()))
    for name, metric in METRICS.items():
        assert metric.name == name
        assert metric.group in METRIC_GROUPS, f"{name}: no registered group {metric.group!r} computes it"
        assert metric.requires is None or metric.requires in capabilities, name
        assert set(metric.needs) <= set(NEEDS), name
        assert metric.description.endswith("."), name
        assert (metric.target_sides is not None) <= (metric.direction == spec.TARGET), name
        if metric.valid_range is not None and metric.target is not None:
            low, high = metric.valid_range
            assert (low is None or low <= metric.target) and (high is None or metric.target <= high), name
    for rank in ("report_rank", "curve_rank"):
        ranks = [getattr(m, rank) for m in METRICS.values() if getattr(m, rank) is not None]
        assert len(ranks) == len(set(ranks)), f"two metrics share a {rank}"
    for need in NEEDS:
        ranks = [m.needs[need] for m in METRICS.values() if need in m.needs]
        assert len(ranks) == len(set(ranks)), f"two metrics share a rank for {need}"
    for group in METRIC_GROUPS.values():
        assert spec.group_metrics(group.name), f"group {group.name!r} computes no spec metric"
        # A group needs at least the capabilities its metrics need.
        assert {METRICS[m].requires for m in spec.group_metrics(group.name)} - {None} <= group.requires


def test_the_tables_that_used_to_live_apart_are_read_from_the_spec():
    assert spec.need_metrics("sharp-samples") == ("sharpness", "fid", "kid")
    assert spec.need_metrics("coverage") == ("recall", "coverage", "modes_captured", "min_class_share", "class_kl",
                                             "mode_kl")
    assert spec.spread_metrics() == ("fid", "kid", "precision", "recall", "coverage", "density")
    assert spec.need_metrics("likelihood") == ("nll", "neg_elbo")
    assert sorted(METRICS, key=spec.metric_sort_key)[:7] == ["fid", "kid", "sharpness", "precision", "density",
                                                           "recall", "coverage"]
    assert sorted(METRICS, key=spec.curve_sort_key)[:9] == ["fid", "sharpness", "precision", "recall", "coverage",
                                                          "min_class_share", "modes_captured", "nll", "kid"]
    assert spec.metric_range("precision") == (0.0, 1.0) and spec.metric_range("kid") is None
    assert spec.metric_unit("bits_per_dim") == "bits" and spec.metric_label("unknown_thing") == "unknown thing"
    # METRIC_INFO is a view of the spec: applicability comes from the families' declared capabilities.
    with_likelihood = tuple(name for name in FAMILIES.names() if FAMILIES.get(name).has("likelihood"))
    assert "vae" in with_likelihood and "gan" not in with_likelihood
    assert {name for name, info in METRIC_INFO.items() if info["applies_to"] == with_likelihood} == {
        name for name, metric in METRICS.items() if metric.requires is not None}
    assert METRIC_INFO["nll"]["requires"] == "likelihood"
    assert METRIC_INFO["fid"]["applies_to"] == tuple(FAMILIES.names())


def test_a_spec_entry_needs_a_direction_or_a_target():
    with pytest.raises(ValueError, match="direction"):
        MetricSpec("x", "x", "X.", "f", "g")
    with pytest.raises(ValueError, match="target"):
        MetricSpec("x", "x", "X.", "f", "g", "lower", target=1.0)
    assert MetricSpec("x", "x", "X.", "f", "g", target=0.5).direction == "target"


@pytest.fixture(scope="module")
def tiny_vae():
    return ganvae.VAE(steps=5, batch_size=64, hidden=16).fit("ring8")


def test_evaluate_produces_exactly_the_spec_metrics(tiny_vae):
    samples, _ = mixture_points("ring8", 200, seed=7)
    for result in (evaluate(samples.astype(np.float32), data="ring8", n_samples=200),
                   evaluate(tiny_vae, data="ring8", n_samples=200, iw_samples=5, nll_examples=20)):
        assert list(result["metrics"]) == list(METRICS)
        for name, value in result["metrics"].items():
            assert value is not None or result["notes"][name], name
    # The VAE gets every metric of the likelihood group; bare samples get a note naming what they lack.
    assert all(result["metrics"][name] is not None for name in spec.group_metrics("likelihood"))
    assert {spec_entry.group for spec_entry in METRICS.values()} == set(METRIC_GROUPS)


# --- a metric added from outside: one spec entry and one group function ---------------------------------------

FAKE = MetricSpec("fake_share", "fake share", "Share of samples right of the origin (a test metric).",
                  "the test's group", "fake", "higher", valid_range=(0.0, 1.0), needs={"coverage": 0},
                  winner_phrase="{W} puts more samples to the right", report_rank=0, curve_rank=0)
FAKE_LATENT = MetricSpec("fake_code", "fake code size", "Latent dimensions (a test metric needing an encoder).",
                         "the test's group", "fake-latent", "higher", requires="encoder")


def _fake_group(inputs):
    return GroupResult({"fake_share": float((inputs.samples[:, 0] > 0).mean())}, details={"fake_seen": 1})


def _fake_latent_group(inputs):
    if inputs.split != "test":
        raise NotApplicable("only on a held-out split")
    return GroupResult({"fake_code": inputs.model.family_.latent_dim})


@pytest.fixture
def fake_metric(monkeypatch):
    """Register the fake metrics for one test; monkeypatch removes them afterwards."""
    monkeypatch.setitem(METRICS, FAKE.name, FAKE)
    monkeypatch.setitem(METRICS, FAKE_LATENT.name, FAKE_LATENT)
    monkeypatch.setitem(METRIC_GROUPS, "fake", MetricGroup("fake", _fake_group))
    monkeypatch.setitem(METRIC_GROUPS, "fake-latent", MetricGroup("fake-latent", _fake_latent_group,
                                                                  frozenset({"encoder"})))


def test_a_new_metric_appears_in_evaluate_and_its_table(fake_metric, tiny_vae):
    samples, _ = mixture_points("ring8", 200, seed=7)
    samples = samples.astype(np.float32)
    result = evaluate(samples, data="ring8", n_samples=200)
    assert result["metrics"]["fake_share"] == pytest.approx(float((samples[:, 0] > 0).mean()))
    assert result["details"]["fake_seen"] == 1
    assert result["metrics"]["fake_code"] is None and "fake_code" in result["not_applicable"]
    # every family with an encoder is named (the VAE, and others as they register: the cVAE)
    assert re.fullmatch(r"(\w+ or )*VAE only: needs a (\w+ or )*VAE model, not bare samples",
                        result["notes"]["fake_code"])
    table = format_table(result)
    assert re.search(r"^fake_share\s+0\.\d+\s+higher$", table, re.M), table
    vae = evaluate(tiny_vae, data="ring8", n_samples=200, iw_samples=5, nll_examples=20)
    assert vae["metrics"]["fake_code"] == tiny_vae.family_.latent_dim
    on_train = evaluate(tiny_vae, data="ring8", n_samples=200, split="train", iw_samples=5, nll_examples=20)
    assert on_train["notes"]["fake_code"] == "only on a held-out split"


def _summary_with_fake_metric():
    runs = []
    for seed in range(3):
        runs.append({"family": "gan", "seed": seed, "metrics": {"fid": 20.0 + seed, "fake_share": 0.80 + 0.01 * seed,
                                                                "fake_code": None}})
        runs.append({"family": "vae", "seed": seed, "metrics": {"fid": 21.0 + seed, "fake_share": 0.40 + 0.01 * seed,
                                                                "fake_code": 4.0 + seed}})
    for run in runs:
        run["curve"] = [{"seconds": 1.0, **run["metrics"]}, {"seconds": 2.0, **run["metrics"]}]
    return build_summary(data={"name": "toy"}, budget={"minutes": 1}, seeds=[0, 1, 2], runs=runs)


def test_a_new_metric_appears_in_the_report_the_verdict_advise_and_the_curves(fake_metric, tmp_path, monkeypatch):
    summary = _summary_with_fake_metric()
    # The verdict: its own winner phrase, its direction, ranked first (report_rank 0).
    [sentence] = [s for s in summary["verdict"] if s["metric"] == "fake_share"]
    assert sentence["text"].startswith("The GAN puts more samples to the right: fake share 0.810 [")
    assert sentence["text"].endswith("for the VAE (higher is better).") and sentence["winner"] == "gan"
    assert [s["metric"] for s in summary["verdict"] if s["kind"] == "comparison"][0] == "fake_share"
    # Its interval is clipped to its valid range, as the spec says.
    assert aggregate_runs([{"family": "gan", "seed": s, "metrics": {"fake_share": v}}
                           for s, v in enumerate([0.99, 1.0])])["gan"]["fake_share"]["high"] == 1.0
    # The report table: its label, direction, values; n/a for the GAN on the metric needing an encoder.
    paths = write_report(summary, tmp_path / "report")
    markdown = paths["markdown"].read_text()
    assert re.search(r"\| fake share \| higher \u2191 \| \*\*\u25b2 0\.810 \[[^|]+\]\*\* \| 0\.410 \[[^|]+\] \| "
                     r"GAN clearly better \|", markdown), markdown
    assert re.search(r"\| fake code size \| higher \u2191 \| n/a \| 5\.00 \[", markdown), markdown
    assert 'title="Share of samples right of the origin (a test metric)."' in paths["html"].read_text()
    # advise: the metric serves the coverage need, first among its metrics.
    advice = advise(["coverage"], summary)
    assert advice.family == "gan"
    assert advice.reasons[0].startswith("Coverage: measured on this data, the GAN is better (fake share 0.810 [")
    # The curves: drawn, first (curve_rank 0).
    titles = []
    real_set_title = Axes.set_title
    monkeypatch.setattr(Axes, "set_title", lambda axes, label, *args, **kwargs:
                        (titles.append(label), real_set_title(axes, label, *args, **kwargs))[1])
    save_metric_curves(summary["runs"], tmp_path / "curves.png")
    assert titles[:3] == ["fake share (higher is better)", "FID (lower is better)", "fake code size (higher is better)"]


def test_a_metric_can_be_left_out_of_the_curves(monkeypatch, tmp_path):
    from dataclasses import replace

    monkeypatch.setitem(METRICS, "kid", replace(METRICS["kid"], in_curves=False))
    titles = []
    real_set_title = Axes.set_title
    monkeypatch.setattr(Axes, "set_title", lambda axes, label, *args, **kwargs:
                        (titles.append(label), real_set_title(axes, label, *args, **kwargs))[1])
    runs = [{"family": "gan", "seed": 0, "curve": [{"seconds": 1.0, "fid": 3.0, "kid": 0.1, "recall": 0.5}]}]
    save_metric_curves(runs, tmp_path / "curves.png")
    assert titles == ["FID (lower is better)", "recall (higher is better)"]


def test_a_group_returning_a_metric_the_spec_does_not_assign_it_is_refused(monkeypatch):
    monkeypatch.setitem(METRICS, FAKE.name, FAKE)
    monkeypatch.setitem(METRIC_GROUPS, "fake", MetricGroup("fake", lambda inputs: GroupResult({"stray": 1.0})))
    samples, _ = mixture_points("ring8", 50, seed=7)
    with pytest.raises(ValueError, match="'stray'.*group='fake'"):
        evaluate(samples.astype(np.float32), data="ring8", n_samples=50)


def test_groups_register_once_and_the_fake_ones_are_gone_after_a_test():
    assert "fake" not in METRIC_GROUPS and "fake_share" not in METRICS
    with pytest.raises(ValueError, match="registered twice"):
        evaluate_module.metric_group("distribution")(lambda inputs: GroupResult())
