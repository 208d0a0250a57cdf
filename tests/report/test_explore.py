"""Latent exploration (`ganvae explore`): slerp against its defining properties, traversal codes and grids,
the most active dimensions by KL, and the command on a GAN and a VAE, on images and on vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import ganvae
from ganvae.cli import main
from ganvae.errors import ConfigError
from ganvae.report import build_summary, image_grid, write_report
from ganvae.report.explore import (FIGURE_NAMES, N_TRAVERSED, TRAVERSAL_STEPS, explore, slerp, traversal_codes,
                                   traversal_dimensions)

TINY = dict(steps=3, batch_size=64, hidden=16)


def test_slerp_hits_both_ends_and_keeps_the_norm():
    rng = np.random.default_rng(0)
    start, end = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    weights = np.linspace(0, 1, 7)
    path = slerp(start, end, weights)
    assert path.shape == (4, 7, 6)
    np.testing.assert_array_equal(path[:, 0], start)
    np.testing.assert_array_equal(path[:, -1], end)
    # Between codes of equal norm, every point keeps it, and the angle from start grows linearly in t.
    end_same_norm = end / np.linalg.norm(end, axis=1, keepdims=True) * np.linalg.norm(start, axis=1, keepdims=True)
    path = slerp(start, end_same_norm, weights)
    np.testing.assert_allclose(np.linalg.norm(path, axis=2), np.linalg.norm(start, axis=1)[:, None] * np.ones(7),
                               rtol=1e-12)
    unit = path / np.linalg.norm(path, axis=2, keepdims=True)
    angles = np.arccos(np.clip(np.einsum("bd,btd->bt", unit[:, 0], unit), -1, 1))
    np.testing.assert_allclose(angles, angles[:, -1:] * weights, atol=1e-7)  # arccos near 1: sqrt(eps)


def test_slerp_keeps_gaussian_codes_typical_where_a_line_does_not():
    rng = np.random.default_rng(1)
    start, end = rng.standard_normal((100, 512)), rng.standard_normal((100, 512))
    middle = slerp(start, end, [0.5])[:, 0]
    typical = np.sqrt(512)
    assert np.abs(np.linalg.norm(middle, axis=1) / typical - 1).max() < 0.1
    line_middle = (start + end) / 2  # about sqrt(512 / 2): a norm the decoder never saw
    assert np.linalg.norm(line_middle, axis=1).mean() / typical == pytest.approx(1 / np.sqrt(2), abs=0.03)


def test_slerp_of_parallel_codes_is_the_line():
    start = np.array([[1.0, 2.0, 3.0]])
    path = slerp(start, 2 * start, [0.0, 0.25, 1.0])
    np.testing.assert_allclose(path[0], [start[0], 1.25 * start[0], 2 * start[0]])
    assert np.isfinite(slerp(np.zeros((1, 3)), start, [0.5])).all()


def test_traversal_codes_change_one_dimension_per_row():
    base = np.arange(5.0)
    codes = traversal_codes(base, [3, 0], np.linspace(-3, 3, 4))
    assert codes.shape == (8, 5)
    rows = codes.reshape(2, 4, 5)
    np.testing.assert_array_equal(rows[0, :, 3], np.linspace(-3, 3, 4))
    np.testing.assert_array_equal(rows[1, :, 0], np.linspace(-3, 3, 4))
    np.testing.assert_array_equal(np.delete(rows[0], 3, axis=1), np.tile(np.delete(base, 3), (4, 1)))
    np.testing.assert_array_equal(np.delete(rows[1], 0, axis=1), np.tile(np.delete(base, 0), (4, 1)))


class _ScaledEncoder(nn.Module):
    """mu = x[:, 0] * scales (one scale per latent dimension), log variance 0: KL_d = scales_d^2 E[x0^2] / 2."""

    def __init__(self, scales):
        super().__init__()
        self.register_buffer("scales", torch.tensor(scales, dtype=torch.float32))

    def forward(self, x):
        mu = x.flatten(1)[:, :1] * self.scales
        return mu, torch.zeros_like(mu)


def test_most_active_dimensions_are_chosen_by_mean_kl():
    vae = ganvae.VAE(latent_dim=10, **TINY).fit("ring8")
    scales = [0.1, 3.0, 0.0, 2.0, 0.5, 1.0, 0.2, 4.0, 0.3, 0.05]
    vae.family_.nets["encoder"] = _ScaledEncoder(scales)
    x = np.random.default_rng(0).standard_normal((300, 2)).astype(np.float32)
    dims, kl = traversal_dimensions(vae, x)
    assert dims == [7, 1, 3, 5, 4, 8, 6, 0]  # descending scale, the N_TRAVERSED = 8 largest
    x0 = vae._to_model(x)[:, 0].double().numpy()
    np.testing.assert_allclose(kl, 0.5 * np.array(scales)[dims] ** 2 * np.mean(x0 ** 2), rtol=1e-5)
    gan = ganvae.GAN(latent_dim=12, **TINY).fit("ring8")
    assert traversal_dimensions(gan, x) == (list(range(N_TRAVERSED)), None)  # no encoder: the first ones


def test_from_latent_decodes_traversal_grids_of_the_right_shape():
    vae = ganvae.VAE(latent_dim=4, **TINY).fit("digits")
    images = vae.from_latent(traversal_codes(np.zeros(4), [0, 1, 2], np.linspace(-3, 3, TRAVERSAL_STEPS)))
    assert images.shape == (3 * TRAVERSAL_STEPS, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    assert image_grid(images, nrow=TRAVERSAL_STEPS).shape == (3 * 10 + 2, TRAVERSAL_STEPS * 10 + 2)
    with pytest.raises(ConfigError, match=r"shape \(N, 4\)"):
        vae.from_latent(np.zeros((2, 3)))


def _png_size(path):
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        return picture.size


@pytest.mark.parametrize("family, data, latent_dim, kinds", [
    ("vae", "digits", 6, {"traversals", "slerp"}),  # images, an encoder
    ("gan", "digits", 8, {"traversals", "slerp"}),  # images, no encoder
    ("vae", "circles", 2, {"traversals", "slerp", "latent-map"}),  # the article's case: a 2-D latent, vectors
    ("gan", "ring8", 2, {"traversals", "slerp", "latent-map"}),  # a 2-D latent without an encoder
    ("gan", "ring8", 16, {"traversals", "slerp"}),  # vectors, no encoder
])
def test_explore_command_writes_the_figures_into_the_run_folder(tmp_path, capsys, family, data, latent_dim, kinds):
    run = tmp_path / "run"
    ganvae.Model.of(family, latent_dim=latent_dim, out=str(run), **TINY).fit(data)
    assert main(["explore", str(run)]) == 0
    printed = capsys.readouterr().out
    written = {kind for kind, name in FIGURE_NAMES.items() if (run / name).is_file()}
    assert written == kinds
    for kind in kinds:
        assert f"wrote {run / FIGURE_NAMES[kind]}" in printed
        width, height = _png_size(run / FIGURE_NAMES[kind])
        assert width >= 400 and height >= 300


def test_explore_into_another_folder_and_without_a_run_folder(tmp_path):
    vae = ganvae.VAE(latent_dim=2, **TINY).fit("circles")
    with pytest.raises(ConfigError, match="no run folder; pass --out DIR"):
        explore(vae)
    written = explore(vae, out_dir=tmp_path / "figures", seed=3)
    assert sorted(written) == ["latent-map", "slerp", "traversals"]
    assert all(path.parent == tmp_path / "figures" and path.is_file() for path in written.values())


def test_the_report_shows_explore_figures_when_a_run_has_them(tmp_path):
    runs = []
    for family in ("gan", "vae"):
        run_dir = tmp_path / f"{family}-run"
        run_dir.mkdir()
        if family == "vae":  # only the VAE was explored
            for name in ("traversals", "slerp", "latent-map"):
                Image.fromarray(np.full((20, 30), 128, np.uint8)).save(run_dir / f"{name}.png")
        runs.append({"family": family, "seed": 0, "run_dir": str(run_dir), "metrics": {"fid": 1.0}})
    summary = build_summary(data={"name": "circles"}, budget={}, seeds=[0], runs=runs)
    paths = write_report(summary, tmp_path / "report")
    html = paths["html"].read_text(encoding="utf-8")
    for title in ("Latent traversals", "Spherical interpolations", "The latent plane"):
        assert f"<h2>{title}</h2>" in html
    markdown = paths["markdown"].read_text(encoding="utf-8")
    for name in ("traversals", "slerp", "latent-map"):
        assert f"(figures/vae-seed0-{name}.png)" in markdown
        assert (tmp_path / "report" / "figures" / f"vae-seed0-{name}.png").is_file()
    assert "gan-seed0-traversals" not in markdown and "not found" not in html
