"""The report folder end to end: three files, a self-contained HTML whose images decode, escaped user strings,
Markdown whose images exist, and a summary.json that round-trips."""

from __future__ import annotations

import base64
import copy
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganvae.errors import RunError
from ganvae.report import (
    advise,
    build_summary,
    read_summary,
    save_density_coverage_plane,
    save_loss_plot,
    save_metric_curves,
    save_precision_recall_plane,
    save_reconstructions,
    save_samples,
    write_report,
    write_summary,
)

EVIL_NAME = "<script>alert(1)</script> & \"quotes\""
DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def make_run(tmp_path: Path, family: str, seed: int, rng: np.random.Generator) -> dict:
    """A run folder with real (tiny) figures drawn by plots.py, and metrics that depend on the family."""
    run_dir = tmp_path / "runs & more" / f"{family}-seed{seed}"
    run_dir.mkdir(parents=True)
    real = rng.normal(size=(200, 2))
    fake = real + rng.normal(scale=0.3 if family == "gan" else 0.6, size=real.shape)
    figures = {"samples": save_samples(fake, run_dir / "samples.png", real=real, kind="vector"),
               "losses": save_loss_plot({"step": [0, 10, 20], "d_loss": [1.0, 0.8, 0.7], "g_loss": [0.7, 0.9, 1.0]}
                                        if family == "gan" else
                                        {"step": [0, 10, 20], "reconstruction": [3, 2, 1], "kl": [0.1, 0.5, 0.6]},
                                        run_dir / "losses.png", family=family)}
    if family == "vae":
        figures["reconstructions"] = save_reconstructions(rng.random((4, 1, 8, 8)), rng.random((4, 1, 8, 8)),
                                                          run_dir / "reconstructions.png")
        figures["interpolations"] = run_dir / "interpolations.png"
        Image.fromarray((rng.random((16, 64)) * 255).astype(np.uint8)).save(figures["interpolations"])
    sharp = family == "gan"
    metrics = {"fid": (20.0 if sharp else 40.0) + seed, "precision": (0.9 if sharp else 0.6) + 0.01 * seed,
               "recall": (0.4 if sharp else 0.8) + 0.01 * seed, "density": (1.1 if sharp else 0.7) + 0.02 * seed,
               "coverage": 0.6 + 0.03 * seed, "nll": None if sharp else 250.0 + seed,
               "modes_captured": 7 if sharp else 8, "class_kl": None}
    curve = [{"seconds": t, "images_seen": 1000 * t, "fid": metrics["fid"] + 30 / t} for t in (1, 2, 4)]
    return {"family": family, "seed": seed, "run_dir": run_dir, "status": "finished", "arch": "mlp",
            "metrics": metrics, "figures": figures, "curve": curve, "notes": "note with <b>tag</b> & ampersand",
            "cost": {"seconds": 12.5 + seed, "images_seen": 4000,
                     "parameters": {"generator": 1000, "discriminator": 500} if sharp else {"vae": 900}}}


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    """Built once per module: drawing the run figures is the slow part."""
    folder = tmp_path_factory.mktemp("compare")
    rng = np.random.default_rng(0)
    runs = [make_run(folder, family, seed, rng) for family in ("gan", "vae") for seed in range(2)]
    summary = build_summary(data={"name": EVIL_NAME, "kind": "vector", "shape": [2], "n_train": 200, "n_modes": 8},
                            budget={"minutes": 0.5}, seeds=[0, 1], runs=runs,
                            notes=["data from /tmp/a&b/<i>x</i>"])
    summary["advice"] = advise({"sharp-samples"}, summary).to_dict()
    return summary


@pytest.fixture(scope="module")
def report(summary, tmp_path_factory):
    """The report of `summary`, written once: its paths."""
    return write_report(copy.deepcopy(summary), tmp_path_factory.mktemp("report"))


def test_report_writes_three_files_and_figures(report):
    assert set(report) == {"html", "markdown", "summary"}
    for path in report.values():
        assert path.is_file() and path.stat().st_size > 0
    assert not [p for p in report["html"].parent.rglob("*.tmp*")]
    assert len(list((report["html"].parent / "figures").glob("*.png"))) == 15


def test_html_is_self_contained_and_every_image_decodes(report):
    text = report["html"].read_text(encoding="utf-8")
    for forbidden in ("http://", "https://", "src=\"/", "href=", "<link", "<script", "url(", "@import"):
        assert forbidden not in text, forbidden
    images = DATA_URI.findall(text)
    # 2 runs x (samples + losses) per family, 2 x (reconstructions + interpolations) for the VAE, 2 planes, curves.
    assert len(images) == 4 + 4 + 4 + 2 + 1
    assert len(images) == text.count("<img ")
    for encoded in images:
        with Image.open(io.BytesIO(base64.b64decode(encoded, validate=True))) as picture:
            assert picture.format == "PNG"
            picture.load()
            assert picture.size[0] > 10 and picture.size[1] > 10


def test_html_escapes_user_strings(report):
    text = report["html"].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in text
    assert "<b>tag</b>" not in text and "&lt;b&gt;tag&lt;/b&gt; &amp; ampersand" in text
    assert "/tmp/a&amp;b/&lt;i&gt;x&lt;/i&gt;" in text
    assert "runs &amp; more" in text  # the run folder path
    assert "<i>" not in text


def test_html_sections_and_marked_winner(summary, report):
    text = report["html"].read_text(encoding="utf-8")
    for heading in ("Verdict", "Advice: use the GAN", "Metrics", "Samples", "Reconstructions", "Latent interpolations",
                    "Sharp samples or covering the data", "Loss curves", "Metrics during training", "Training cost"):
        assert f">{heading}</" in text or f">{heading}<" in text, heading
    # FID: GAN 20, 21 vs VAE 40, 41 -> disjoint even with t_{0.975,1}: the GAN cell is marked.
    fid_row = re.search(r"<tr><td[^>]*>FID</td>.*?</tr>", text).group(0)
    assert '<td class="best"' in fid_row and "\u25b2 20.5 [" in fid_row
    nll_row = re.search(r"<tr><td[^>]*>NLL</td>.*?</tr>", text).group(0)
    assert ">n/a</td>" in nll_row
    assert ">class KL</td>" not in text  # no family has a value: no row of blanks
    for sentence in summary["verdict"]:
        assert sentence["text"].replace("&", "&amp;").replace("'", "&#x27;") in text


def test_markdown_images_exist_and_strings_are_escaped(report):
    paths = report
    text = paths["markdown"].read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == 15
    for link in links:
        assert not link.startswith(("/", "http")) and (paths["markdown"].parent / link).is_file(), link
    assert "<script>" not in text and "\\<script\\>" in text
    assert "| **\u25b2 20.5 [" in text


def test_summary_round_trips(summary, report, tmp_path):
    again = read_summary(report["summary"])
    assert again == json.loads(json.dumps(summary, default=str))
    assert read_summary(report["summary"].parent) == again  # the folder works too
    # A rebuilt report from the read summary is the same document.
    second = write_report(again, tmp_path / "report2")
    assert second["html"].read_text() == report["html"].read_text()


def test_missing_figure_is_a_note_not_a_crash(summary, tmp_path):
    summary = copy.deepcopy(summary)
    summary["runs"][0]["figures"]["samples"] = str(tmp_path / "gone.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    summary["runs"][1]["figures"]["samples"] = str(tmp_path / "broken.png")
    text = write_report(summary, tmp_path / "report")["html"].read_text(encoding="utf-8")
    assert "gone.png was not found" in text and "broken.png could not be read" in text


def test_rewriting_a_report_removes_figures_it_no_longer_uses(summary, tmp_path):
    first = copy.deepcopy(summary)
    write_report(first, tmp_path)
    assert (tmp_path / "figures" / "gan-seed1-samples.png").is_file()
    fewer = copy.deepcopy(summary)
    fewer["runs"] = [run for run in fewer["runs"] if run["seed"] == 0]
    fewer["seeds"] = [0]
    write_report(fewer, tmp_path)
    left = {path.name for path in (tmp_path / "figures").glob("*.png")}
    assert "gan-seed1-samples.png" not in left and "gan-seed0-samples.png" in left
    referenced = set(re.findall(r"\(figures/([^)]+\.png)\)", (tmp_path / "report.md").read_text()))
    assert referenced == left


def test_report_without_prdc_or_curves(tmp_path):
    runs = [{"family": f, "seed": 0, "metrics": {"fid": 1.0 if f == "gan" else 2.0}} for f in ("gan", "vae")]
    summary = build_summary(data={"name": "plain"}, budget={}, seeds=[0], runs=runs)
    paths = write_report(summary, tmp_path / "report")
    text = paths["html"].read_text()
    assert "were not measured" in text and "<img" not in text


def test_equal_values_read_the_same_in_the_metrics_table(tmp_path):
    runs = [{"family": f, "seed": s, "metrics": {"memorization": 0.0}} for f in ("gan", "vae") for s in (0, 1)]
    summary = build_summary(data={"name": "plain"}, budget={}, seeds=[0, 1], runs=runs)
    text = write_report(summary, tmp_path / "report")["html"].read_text()
    row = re.search(r"<tr><td[^>]*>memorization share</td>.*?</tr>", text).group(0)
    assert "the same for every family" in row and "intervals overlap" not in row


@pytest.mark.parametrize("content, match", [
    ("not json", "is not JSON"),
    ("[1, 2]", "not a ganvae comparison summary"),
    ('{"schema": "ganvae.summary/1"}', "'data' is missing"),
])
def test_read_summary_rejects_what_is_not_a_summary(tmp_path, content, match):
    path = tmp_path / "summary.json"
    path.write_text(content)
    with pytest.raises(RunError, match=match):
        read_summary(path)


def test_read_summary_missing_file(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        read_summary(tmp_path / "nope.json")


def test_write_summary_turns_nan_and_numpy_into_json(tmp_path):
    runs = [{"family": "gan", "seed": np.int64(0), "metrics": {"fid": np.float32(3.5), "kid": float("nan")}}]
    summary = build_summary(data={"name": "x"}, budget={}, seeds=[0], runs=runs)
    path = write_summary(summary, tmp_path / "s.json")
    loaded = read_summary(path)
    assert loaded["runs"][0]["metrics"] == {"fid": 3.5, "kid": None}
    assert loaded["aggregate"]["gan"]["kid"] is None


def test_plane_and_curve_plots_write_pngs(tmp_path):
    runs = [{"family": f, "seed": s, "metrics": {"precision": 0.5 + 0.1 * s, "recall": 0.3, "density": 1.2,
                                                 "coverage": 0.7},
             "curve": [{"seconds": 1, "fid": 3}, {"seconds": 2, "fid": 2}]} for f in ("gan", "vae") for s in range(3)]
    for draw in (save_precision_recall_plane, save_density_coverage_plane, save_metric_curves):
        path = draw(runs, tmp_path / f"{draw.__name__}.png")
        with Image.open(path) as picture:
            assert picture.format == "PNG"
    # Nothing to draw: a placeholder, not an error.
    empty = save_precision_recall_plane([{"family": "gan", "seed": 0, "metrics": {}}], tmp_path / "empty.png")
    assert empty.is_file()


def test_na_cells_follow_the_capabilities_the_summary_records(tmp_path):
    runs = [{"family": f, "seed": s, "metrics": {"fid": 10.0 + s + (f == "flow"), "nll": 90.0 + s if f == "flow"
                                                 else None}} for f in ("gan", "flow") for s in (0, 1)]
    summary = build_summary(data={"name": "plain"}, budget={}, seeds=[0, 1], runs=runs)
    assert summary["capabilities"] == {"gan": ["adversarial"], "flow": []}  # not a registered family: no capabilities known
    summary["capabilities"]["flow"] = ["likelihood"]
    markdown = write_report(summary, tmp_path / "report")["markdown"].read_text()
    # The unregistered family gets FID like every family, and its NLL; the GAN reads n/a on NLL.
    assert re.search(r"\| FID \| lower \u2193 \| 10\.5 \[[^|]+\] \| 11\.5 \[", markdown), markdown
    assert re.search(r"\| NLL \| lower \u2193 \| n/a \| 90\.5 \[[^|]+\] \| only the FLOW has it \|", markdown), markdown


@pytest.mark.parametrize("capabilities", [["likelihood"], {"vae": "likelihood"}, {"vae": [1]}])
def test_read_summary_rejects_malformed_capabilities(tmp_path, capabilities):
    runs = [{"family": "vae", "seed": 0, "metrics": {"fid": 1.0}}]
    summary = build_summary(data={"name": "x"}, budget={}, seeds=[0], runs=runs)
    summary["capabilities"] = capabilities
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    with pytest.raises(RunError, match="'capabilities' is not an object of lists of names"):
        read_summary(path)


def test_cluster_coverage_reaches_the_table_and_verdict_from_the_spec(tmp_path):
    """Data without labels: the GAN drops a cluster in every seed; the table shows clusters reached and NDB/k (the
    spec's labels, in its order), marks the VAE, and the verdict names the dropped kind of example."""
    shares = {"gan": [0.83, 0.83, 0.92], "vae": [1.0, 1.0, 1.0]}
    ndb = {"gan": [0.25, 0.33, 0.25], "vae": [0.0, 0.08, 0.0]}
    runs = [{"family": f, "seed": s, "metrics": {"fid": 1.0, "cluster_share": shares[f][s], "ndb_k": ndb[f][s],
                                                 "memorization": 0.05}}
            for f in ("gan", "vae") for s in range(3)]
    summary = build_summary(data={"name": "six.csv"}, budget={}, seeds=[0, 1, 2], runs=runs)
    text = write_report(summary, tmp_path / "report")["html"].read_text(encoding="utf-8")
    labels = re.findall(r"<tr><td title=\"[^\"]*\">([^<]+)</td>", text)
    assert labels[:4] == ["FID", "clusters reached", "NDB/k", "memorization share"]
    for label in ("clusters reached", "NDB/k"):
        row = re.search(rf"<tr><td[^>]*>{label}</td>.*?</tr>", text).group(0)
        assert "VAE clearly better" in row and '<td class="best"' in row
    assert "The GAN left some k-means clusters of the real data without samples in 3 of 3 runs" in text
    assert "The VAE left" not in text


def test_three_or_more_families_get_a_table_of_who_is_clearly_better_than_whom(tmp_path):
    runs = [{"family": family, "seed": seed, "status": "finished", "arch": "mlp",
             "metrics": {"fid": base + seed, "recall": 0.5 + 0.01 * seed},
             "cost": {"seconds": 10.0, "images_seen": 100, "parameters": 10}}
            for family, base in (("gan", 80.0), ("cgan", 20.0), ("vae", 50.0)) for seed in range(3)]
    summary = build_summary(data={"name": "toy"}, budget={"minutes": 1}, seeds=[0, 1, 2], runs=runs)
    paths = write_report(summary, tmp_path)
    markdown = paths["markdown"].read_text()
    table = markdown.split("### Who is clearly better than whom on FID")[1].split("\n\n")[1]
    assert table.splitlines()[2:] == ["| cGAN | 21.0 [18.5, 23.5] | VAE, GAN | — |",
                                      "| VAE | 51.0 [48.5, 53.5] | GAN | cGAN |",
                                      "| GAN | 81.0 [78.5, 83.5] | — | cGAN, VAE |"]
    assert "Who is clearly better than whom on FID" in paths["html"].read_text()
    two = build_summary(data={"name": "toy"}, budget={"minutes": 1}, seeds=[0, 1, 2],
                        runs=[r for r in runs if r["family"] != "cgan"])
    assert "Who is clearly better" not in write_report(two, tmp_path / "two")["markdown"].read_text()


def test_comparison_figures_name_families_as_the_report_does(tmp_path, monkeypatch):
    """Legends say "cGAN" and "VAE (GMM prior)", as the verdict and tables do, not the entry's name in capitals."""
    from ganvae.report import comparison_plots

    drawn = []
    original = comparison_plots.save_figure
    monkeypatch.setattr(comparison_plots, "save_figure", lambda figure, path: (drawn.append(figure),
                                                                                original(figure, path))[1])
    runs = [{"family": f, "seed": s, "metrics": {"precision": 0.5 + 0.1 * s, "recall": 0.3},
             "curve": [{"seconds": 1, "fid": 3}, {"seconds": 2, "fid": 2}]} for f in ("cgan", "vae+gmm")
            for s in range(2)]
    save_precision_recall_plane(runs, tmp_path / "pr.png")
    save_metric_curves(runs, tmp_path / "curves.png")
    labels = {text.get_text() for figure in drawn for axes in figure.axes if axes.get_legend()
              for text in axes.get_legend().get_texts()}
    assert {"cGAN runs (2)", "VAE (GMM prior) runs (2)", "cGAN mean \u00b1 95% interval", "cGAN",
            "VAE (GMM prior)"} <= labels, labels
    assert not any("CGAN" in label or "VAE+GMM" in label for label in labels)


def test_every_family_gets_its_own_colour_and_a_fitted_prior_its_familys_with_pentagons():
    """Eight families and three fitted-prior entries in one figure (the README's comparison): eight colours; an
    entry sampled from a fitted prior is drawn in its family's colour, also when it is listed first."""
    from matplotlib.colors import to_hex

    from ganvae.families import FAMILIES
    from ganvae.report.comparison_plots import PRIOR_MARKER, _family_styles

    entries = ["vae+gmm", *FAMILIES.names(), "iwae+gmm", "mine"]
    styles = _family_styles([{"family": entry} for entry in entries])
    families = [entry for entry in entries if "+" not in entry]
    assert len({to_hex(styles[family][0]) for family in families}) == len(families)
    assert styles["gan"] == ("tab:red", "o") and styles["vae"] == ("tab:green", "s")  # as the families declare
    assert styles["vae+gmm"] == ("tab:green", PRIOR_MARKER) and styles["iwae+gmm"][0] == styles["iwae"][0]
