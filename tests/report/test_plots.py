"""The plotting functions: grid arithmetic and pixels against hand-computed values, and PNGs that open."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ganvae.errors import ConfigError, DataError
from ganvae.report import (
    image_grid,
    save_image_grid,
    save_loss_plot,
    save_reconstructions,
    save_samples,
    save_scatter,
)


def open_png(path):
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        picture.load()
        return picture.copy()


def leftover_temp_files(folder):
    return [p.name for p in folder.iterdir() if ".tmp" in p.name]


def two_rings(n, seed=0):
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(np.arange(n) % 2 == 0, 1.0, 2.0)
    return np.c_[radius * np.cos(angle), radius * np.sin(angle)]


def test_grid_shape_arithmetic():
    images = np.zeros((10, 1, 8, 8))
    grid = image_grid(images, nrow=5, padding=2)
    # 2 rows x 5 columns of 8 px cells, 2 px between and around: 2*10+2 by 5*10+2.
    assert grid.shape == (22, 52)
    assert grid.dtype == np.uint8


def test_grid_default_nrow_is_ceil_sqrt_and_last_row_is_padding():
    images = np.zeros((5, 1, 4, 4))
    grid = image_grid(images, padding=1)  # nrow = ceil(sqrt(5)) = 3 -> 2 rows
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1)
    # The sixth cell (row 1, column 2) is empty: filled with pad_value 1.0 -> 255.
    assert (grid[6:10, 11:15] == 255).all()
    assert (grid[1:5, 1:5] == 0).all()


def test_white_image_and_padding_values():
    grid = image_grid(np.ones((1, 1, 3, 3)), padding=2, pad_value=0.0)
    assert grid.shape == (7, 7)
    assert (grid[2:5, 2:5] == 255).all()
    assert grid[0, 0] == 0 and grid[6, 6] == 0 and grid[2, 1] == 0


def test_exact_pixel_at_chosen_location():
    images = np.zeros((4, 3, 5, 6))
    images[3, 0, 2, 4] = 0.5  # image 3 is row 1, column 1 of a 2x2 grid
    images[3, 2, 2, 4] = 1.0
    grid = image_grid(images, nrow=2, padding=1, pad_value=0.25)
    top, left = 1 + 1 * (5 + 1), 1 + 1 * (6 + 1)
    assert grid.shape == (2 * 6 + 1, 2 * 7 + 1, 3)
    assert tuple(grid[top + 2, left + 4]) == (128, 0, 255)  # rint(0.5 * 255) = 128
    assert tuple(grid[top - 1, left]) == (64, 64, 64)  # padding: rint(0.25 * 255) = 64
    assert grid.sum() == 128 + 255 + 64 * 3 * (grid.shape[0] * grid.shape[1] - 4 * 5 * 6)


def test_rgb_versus_grey_output():
    assert image_grid(np.zeros((2, 3, 4, 4)), nrow=2).ndim == 3
    assert image_grid(np.zeros((2, 3, 4, 4)), nrow=2).shape[2] == 3
    assert image_grid(np.zeros((2, 1, 4, 4)), nrow=2).ndim == 2
    with pytest.raises(DataError, match="C = 1 or 3"):
        image_grid(np.zeros((2, 2, 4, 4)))


def test_out_of_range_values_are_clipped():
    images = np.array([-3.0, 0.2, 7.0, np.nan]).reshape(1, 1, 2, 2)
    grid = image_grid(images, padding=0)
    np.testing.assert_array_equal(grid, [[0, 51], [255, 0]])


def test_save_image_grid_upscales_small_images(tmp_path):
    path = save_image_grid(np.ones((16, 1, 8, 8)), tmp_path / "grid.png")
    picture = open_png(path)
    assert path == tmp_path / "grid.png"
    assert picture.mode == "L"
    # Native grid is 4*10+2 = 42 px wide; the smallest integer scale reaching 400 px is 10.
    assert picture.size == (420, 420)
    assert leftover_temp_files(tmp_path) == []


def test_save_image_grid_explicit_scale_and_rgb(tmp_path):
    picture = open_png(save_image_grid(np.zeros((3, 3, 28, 28)), str(tmp_path / "rgb.png"), nrow=3, scale=1))
    assert picture.mode == "RGB"
    assert picture.size == (3 * 30 + 2, 30 + 2)


@pytest.mark.parametrize("dims", [2, 5, 1])
def test_scatter_writes_png_for_each_dimensionality(tmp_path, dims):
    rng = np.random.default_rng(dims)
    real, generated = rng.normal(size=(300, dims)), rng.normal(size=(200, dims))
    path = save_scatter(real, generated, tmp_path / f"scatter{dims}.png", title="t")
    picture = open_png(path)
    assert picture.mode == "RGBA"
    assert picture.size[0] >= 400 and picture.size[1] >= 300
    assert leftover_temp_files(tmp_path) == []


def test_scatter_subsampling_is_deterministic(tmp_path):
    real, generated = two_rings(3000), two_rings(3000, seed=1) * 1.1
    first = save_scatter(real, generated, tmp_path / "a.png", max_points=500)
    second = save_scatter(real, generated, tmp_path / "b.png", max_points=500)
    assert first.read_bytes() == second.read_bytes()


def test_scatter_draws_both_sets_in_their_colours(tmp_path):
    # Points far apart: the real cluster lands on the left, the generated on the right of the picture.
    real = np.zeros((50, 2)) + [-1.0, 0.0]
    generated = np.zeros((50, 2)) + [1.0, 0.0]
    pixels = np.asarray(open_png(save_scatter(real, generated, tmp_path / "s.png")).convert("RGB")).astype(int)
    blue = (pixels[..., 2] > pixels[..., 0] + 60)
    orange = (pixels[..., 0] > pixels[..., 2] + 60)
    blue_columns, orange_columns = np.nonzero(blue)[1], np.nonzero(orange)[1]
    assert blue_columns.size and orange_columns.size
    assert np.median(blue_columns) < np.median(orange_columns)


def test_scatter_rejects_mismatched_dimensions(tmp_path):
    with pytest.raises(DataError, match="same data space"):
        save_scatter(np.zeros((5, 2)), np.zeros((5, 3)), tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def steps_log(n=120):
    steps = np.arange(n)
    return steps, {"step": steps.tolist(), "epoch": (steps // 10).tolist(), "seconds": (steps * 0.1).tolist()}


def test_vae_loss_plot_has_three_panels(tmp_path):
    steps, log = steps_log()
    log.update(reconstruction=list(100 / (steps + 1)), kl=list(np.log1p(steps)), loss=list(100 / (steps + 1) + 1))
    picture = open_png(save_loss_plot(log, tmp_path / "vae.png", "vae"))
    assert picture.size[0] >= 3 * 500 and picture.size[1] >= 300
    two_panels = open_png(save_loss_plot({k: log[k] for k in ("step", "reconstruction", "kl")},
                                         tmp_path / "vae2.png", "vae"))
    assert two_panels.size[0] < picture.size[0]


def test_gan_loss_plot_with_extra_columns_gets_an_extra_panel(tmp_path):
    steps, log = steps_log(30)
    log.update(d_loss=[1.3] * 30, g_loss=[0.8] * 30, d_real=[0.6] * 30, d_fake=[0.4] * 30)
    two = open_png(save_loss_plot(log, tmp_path / "gan.png", "gan"))
    log["grad_norm"] = [None if i % 3 else 1.0 for i in range(30)]  # sparse column
    log["note"] = ["text"] * 30  # not numeric: skipped
    three = open_png(save_loss_plot(log, tmp_path / "gan_extra.png", "gan", x_key="seconds"))
    assert three.size[0] > two.size[0]
    assert leftover_temp_files(tmp_path) == []


@pytest.mark.parametrize("log", [{}, {"step": [], "d_loss": [], "g_loss": []}])
def test_empty_log_writes_a_placeholder(tmp_path, log):
    picture = open_png(save_loss_plot(log, tmp_path / "empty.png", "gan"))
    assert picture.size[0] >= 400
    # A single message, not panels: the figure is almost entirely white.
    grey = np.asarray(picture.convert("L"))
    assert (grey > 250).mean() > 0.95


def test_reconstructions_images_two_rows(tmp_path):
    originals = np.zeros((10, 1, 28, 28))
    reconstructions = np.ones((10, 1, 28, 28))
    picture = open_png(save_reconstructions(originals, reconstructions, tmp_path / "r.png", n=8))
    native_width, native_height = 8 * 30 + 2, 2 * 30 + 2
    scale = picture.size[0] // native_width
    assert picture.size == (native_width * scale, native_height * scale) and scale >= 2
    pixels = np.asarray(picture)
    # Centre of the first original (black) and of the first reconstruction (white).
    assert pixels[(2 + 14) * scale, (2 + 14) * scale] == 0
    assert pixels[(32 + 14) * scale, (2 + 14) * scale] == 255


def test_reconstructions_vectors_become_a_scatter(tmp_path):
    real = two_rings(400)
    picture = open_png(save_reconstructions(real, real * 0.9, tmp_path / "rv.png"))
    assert picture.mode == "RGBA" and picture.size[0] >= 400


def test_samples_image_grid_is_at_most_ten_by_ten(tmp_path):
    picture = open_png(save_samples(np.zeros((150, 3, 8, 8)), tmp_path / "s.png"))
    native = 10 * 10 + 2
    assert picture.mode == "RGB"
    assert picture.size[0] == picture.size[1] and picture.size[0] % native == 0 and picture.size[0] >= 400


def test_samples_vectors_with_and_without_real(tmp_path):
    assert open_png(save_samples(two_rings(200), tmp_path / "v.png", real=two_rings(200, 1), kind="vector"))
    assert open_png(save_samples(two_rings(200), tmp_path / "g.png", kind="vector"))
    with pytest.raises(ConfigError, match="kind"):
        save_samples(two_rings(10), tmp_path / "bad.png", kind="table")


def test_atomic_write_replaces_old_file_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "grid.png"
    target.write_bytes(b"old")
    save_image_grid(np.zeros((1, 1, 4, 4)), target)
    assert open_png(target).size[0] >= 400
    assert leftover_temp_files(tmp_path) == []


def test_failed_write_keeps_old_file_and_removes_temp_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def write_half_then_fail(self, stream, **kwargs):
        stream.write(b"\x89PNG half")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", write_half_then_fail)
    target = tmp_path / "loss.png"
    target.write_bytes(b"previous figure")
    with pytest.raises(OSError, match="disk full"):
        save_loss_plot({"step": [0, 1], "loss": [1.0, 0.5]}, target, "vae")
    assert target.read_bytes() == b"previous figure"
    assert leftover_temp_files(tmp_path) == []
