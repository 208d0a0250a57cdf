"""`compare` end to end on a toy set: both families, two seeds, the three report files, reuse and resume."""

import json
import re

import pytest
from PIL import Image

from ganvae.config import BudgetConfig, CompareConfig, DataConfig
from ganvae.errors import ConfigError
from ganvae.comparison import CURVE_POINTS, compare, segment_budgets


def small(**kw):
    kw.setdefault("budget", BudgetConfig(steps=8))
    return CompareConfig(data=DataConfig(name="ring8", n_examples=400), seeds=2, n_eval=200, iw_samples=20,
                         nll_examples=50, **kw)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    summary, paths = compare(small(), out, progress=False, say=lambda _: None)
    return out, summary, paths


def test_compare_writes_the_three_report_files(compared):
    out, summary, paths = compared
    assert {p.name for p in paths.values()} == {"report.html", "report.md", "summary.json"}
    html = paths["html"].read_text()
    assert "http://" not in html and "https://" not in html
    # by default the VAE is reported twice: from N(0, I) and from the mixture fitted to its codes
    assert json.loads(paths["summary"].read_text())["families"] == ["gan", "vae", "vae+gmm"]
    for name in re.findall(r"\(figures/([^)]+\.png)\)", paths["markdown"].read_text()):
        Image.open(out / "figures" / name).verify()


def test_every_family_and_seed_ran_with_the_same_budget(compared):
    _, summary, _ = compared
    runs = [r for r in summary["runs"] if r["run_dir"]]  # the trained runs, not their fitted-prior entries
    assert sorted((r["family"], r["seed"]) for r in runs) == [("gan", 0), ("gan", 1), ("vae", 0), ("vae", 1)]
    assert {r["cost"]["images_seen"] for r in runs} == {800}  # 8 steps = 2 epochs of 400 points (batches 128, 128, 128, 16)
    assert all(len(r["curve"]) == CURVE_POINTS for r in runs)
    assert all(r["curve"][-1]["step"] == 8 for r in runs)
    gan = next(r for r in runs if r["family"] == "gan")
    assert gan["metrics"]["nll"] is None and gan["metrics"]["fid"] is not None
    assert summary["aggregate"]["vae"]["nll"]["n"] == 2


def test_complete_runs_are_reused(compared):
    out, summary, _ = compared
    checkpoint = out / "runs" / "gan-seed0" / "checkpoint.pt"
    before = checkpoint.stat().st_mtime_ns
    said = []
    again, _ = compare(small(), out, progress=False, say=said.append)
    assert checkpoint.stat().st_mtime_ns == before
    assert sum("reusing" in line for line in said) == 4
    assert again["aggregate"]["gan"]["fid"]["mean"] == summary["aggregate"]["gan"]["fid"]["mean"]


def test_the_result_unpacks_and_shows_the_verdict_table_and_a_link_in_a_notebook(compared, monkeypatch):
    out, summary, _ = compared
    monkeypatch.chdir(out.parent)
    result = compare(small(), out, progress=False, say=lambda _: None)  # every run reused
    again, paths = result
    assert result.summary is again and result.paths is paths
    html = result._repr_html_()
    assert f'href="{out.name}/report.html"' in html
    assert '<th style="text-align:left">GAN</th><th style="text-align:left">VAE</th>' in html
    assert all(sentence["text"].replace("'", "&#x27;") in html for sentence in again["verdict"])
    from ganvae.report.verdict import format_interval

    assert format_interval(again["aggregate"]["vae"]["nll"]) in html


def test_rescore_scores_finished_runs_again_without_training(compared):
    out, summary, _ = compared
    run_dir = out / "runs" / "vae-seed1"
    checkpoint, metrics_file = run_dir / "checkpoint.pt", run_dir / "metrics.json"
    before = checkpoint.stat().st_mtime_ns
    stored = json.loads((run_dir / "compare.json").read_text())
    stored["run"]["metrics"]["fid"] = 12345.0  # as if scored by an older version
    (run_dir / "compare.json").write_text(json.dumps(stored))
    said = []
    again, _ = compare(small(), out, progress=False, say=said.append, rescore=True)
    assert checkpoint.stat().st_mtime_ns == before  # no training
    assert sum("scoring its final weights again" in line for line in said) == 4
    vae1 = next(r for r in again["runs"] if r["family"] == "vae" and r["seed"] == 1)
    # Same weights, same seeds: the score equals the first one, not the planted value.
    original = next(r for r in summary["runs"] if r["family"] == "vae" and r["seed"] == 1)
    assert vae1["metrics"]["fid"] == pytest.approx(original["metrics"]["fid"])
    assert json.loads(metrics_file.read_text())["metrics"]["fid"] == pytest.approx(original["metrics"]["fid"])
    assert vae1["curve"] == original["curve"]


def test_an_interrupted_run_continues(tmp_path, monkeypatch):
    import ganvae.comparison as compare_module

    cfg = CompareConfig(data=DataConfig(name="ring8", n_examples=400), families=("gan",),
                        budget=BudgetConfig(steps=8), seeds=1, n_eval=200, iw_samples=20)
    real_score, calls = compare_module._score, []

    def dies_at_the_third_score(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # killed after training segment 3, before scoring it
            raise KeyboardInterrupt
        return real_score(*args, **kwargs)

    monkeypatch.setattr(compare_module, "_score", dies_at_the_third_score)
    with pytest.raises(KeyboardInterrupt):
        compare(cfg, tmp_path, progress=False, say=lambda _: None)
    monkeypatch.setattr(compare_module, "_score", real_score)
    summary, _ = compare(cfg, tmp_path, progress=False, say=lambda _: None)
    assert [p["step"] for p in summary["runs"][0]["curve"]] == [2, 4, 6, 8]


def test_other_settings_in_the_same_folder_are_refused(compared):
    out, _, _ = compared
    with pytest.raises(ConfigError, match="other settings"):
        compare(small(budget=BudgetConfig(steps=9)), out, progress=False, say=lambda _: None)


def test_segment_budgets_end_at_the_whole_budget():
    assert [b.steps for b in segment_budgets(small(), 128, 4)] == [2, 4, 6, 8]
    images = CompareConfig(budget=BudgetConfig(), images=1000)
    assert segment_budgets(images, 128, 4)[-1].steps == 8
    minutes = segment_budgets(CompareConfig(budget=BudgetConfig(minutes=2.0)), 128, 4)
    assert [b.minutes for b in minutes] == [0.5, 1.0, 1.5, 2.0]


def test_two_budgets_are_refused():
    with pytest.raises(ConfigError, match="exactly one budget"):
        compare(CompareConfig(budget=BudgetConfig(minutes=1.0), images=100), "/tmp/unused", say=lambda _: None)
