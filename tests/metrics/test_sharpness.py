"""Sharpness: Laplacian energy against hand-computed values, and the ratio's reading of blur and noise."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ganvae.errors import DataError
from ganvae.metrics import laplacian_energy, sharpness_ratio


def test_laplacian_energy_by_hand():
    image = np.zeros((1, 1, 3, 3), np.float32)
    image[0, 0, 1, 1] = 1.0  # one interior pixel: Laplacian -4 at the centre, the only interior pixel
    assert laplacian_energy(image)[0] == pytest.approx(16.0)
    image = np.zeros((1, 1, 4, 3), np.float32)
    image[0, 0, 1, 1] = 1.0  # interior pixels (1,1) -> -4 and (2,1) -> 1: mean of 16 and 1
    assert laplacian_energy(image)[0] == pytest.approx(8.5)


def test_flat_and_linear_images_have_no_energy_and_channels_average():
    ramp = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (8, 1))  # a linear ramp: second differences are 0
    assert laplacian_energy(np.stack([ramp, np.full_like(ramp, 0.3)])[:, None]) == pytest.approx([0.0, 0.0], abs=1e-12)
    rgb = np.zeros((1, 3, 3, 3), np.float32)
    rgb[0, 0, 1, 1] = 1.0  # one channel of three carries the energy 16
    assert laplacian_energy(rgb)[0] == pytest.approx(16.0 / 3)
    assert laplacian_energy(rgb[:, 0])[0] == pytest.approx(16.0)  # (N, H, W) is one channel


def test_real_against_itself_is_one_blur_is_below_and_noise_above():
    rng = np.random.default_rng(0)
    real = (rng.random((200, 1, 16, 16)) > 0.5).astype(np.float32)
    blurred = F.avg_pool2d(torch.from_numpy(real), 3, stride=1, padding=1, count_include_pad=False).numpy()
    noisy = np.clip(blurred + rng.normal(0, 0.1, blurred.shape), 0, 1).astype(np.float32)
    assert sharpness_ratio(real, real)["ratio"] == pytest.approx(1.0)
    assert sharpness_ratio(blurred, real)["ratio"] < 0.2  # blur removes the high frequencies
    assert sharpness_ratio(noisy, blurred)["ratio"] > 1.5  # pixel noise adds them
    flat = np.zeros((5, 1, 8, 8), np.float32)
    assert np.isnan(sharpness_ratio(real[:5, :, :8, :8], flat)["ratio"])


@settings(max_examples=25, deadline=None)
@given(st.floats(0.1, 10.0), st.integers(0, 10_000))
def test_energy_scales_with_the_square_of_contrast(scale, seed):
    images = np.random.default_rng(seed).random((3, 1, 6, 5)).astype(np.float32)
    assert laplacian_energy(images * scale) == pytest.approx(laplacian_energy(images) * scale ** 2, rel=1e-4)
    assert sharpness_ratio(images * scale, images)["ratio"] == pytest.approx(scale ** 2, rel=1e-4)


@pytest.mark.parametrize("shape", [(0, 1, 8, 8), (4, 1, 2, 8), (8,), (4, 1, 1, 8, 8)])
def test_bad_shapes_are_one_sentence(shape):
    with pytest.raises(DataError, match="non-empty"):
        laplacian_energy(np.zeros(shape, np.float32))


def test_nan_is_refused():
    images = np.zeros((2, 1, 4, 4), np.float32)
    images[1, 0, 2, 2] = np.nan
    with pytest.raises(DataError, match="NaN"):
        laplacian_energy(images)
