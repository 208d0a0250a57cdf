"""Sizes are checked before anything is allocated: samples that would not fit in memory or on the disk, a PNG
asked for absurdly many samples, and a folder of images too large to decode are each one line naming the size.
Large .npy outputs are streamed to the file in blocks."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ganvae
import ganvae.data.files
import ganvae.sizes
from ganvae.config import DataConfig
from ganvae.data import load_dataset
from ganvae.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[2]
Usage = namedtuple("Usage", "total used free")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A GAN on ring8 (2-D vectors) and a conv GAN on 8x8 digits, each saved as a checkpoint file."""
    folder = tmp_path_factory.mktemp("sizes")
    vectors = ganvae.GAN(arch="mlp", hidden=16, batch_size=32, steps=2, device="cpu").fit("ring8")
    images = ganvae.GAN(arch="conv", hidden=8, batch_size=32, steps=2, device="cpu").fit("digits")
    return {"vectors": vectors.save(folder / "vectors.pt"), "images": images.save(folder / "images.pt")}


def test_human_sizes():
    assert [ganvae.sizes.human_bytes(n) for n in (0, 1023, 1536, 4 * 14 * 9000 * 9000, 2**40 * 3)] == \
        ["0 bytes", "1023 bytes", "1.5 KiB", "4.2 GiB", "3.0 TiB"]


def test_a_billion_samples_are_refused_with_their_size_not_allocated(runs, tmp_path, tools):
    """The real command in a process whose address space is capped at 6 GiB: before the size checks it grew
    until it died with a MemoryError traceback."""
    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))

    n = 10**12  # 1e12 samples of 8x8: 233 TiB, more than any disk the tests run on
    for output, expected in (("x.npy", "would take 232.8 TiB, and "), ("x.png", "-n 1000000000000 is too many for a PNG")):
        proc = subprocess.run([sys.executable, "-m", "ganvae", "sample", runs["images"], "-n", str(n), "-o",
                               tmp_path / output], cwd=ROOT, env=tools.child_env(), capture_output=True, text=True,
                              preexec_fn=cap_memory, timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert expected in tools.one_line(proc.stderr)
    assert list(tmp_path.iterdir()) == []


def test_samples_that_would_not_fit_on_the_disk_are_one_line_and_leave_nothing(runs, tmp_path, cli, tools,
                                                                                monkeypatch):
    monkeypatch.setattr(ganvae.sizes.shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 1000, 1000))
    for output in ("s.npy", "s.csv"):
        code, out, err = cli("sample", runs["vectors"], "-n", "5000", "-o", tmp_path / output)
        assert code == 2
        line = tools.one_line(err)
        assert "5000 samples of shape (2,)" in line and "1000 bytes free" in line and "lower -n" in line
    assert "would take 39.2 KiB" in tools.one_line(cli("sample", runs["vectors"], "-n", "5000", "-o",
                                                       tmp_path / "s.npy")[2])
    assert list(tmp_path.iterdir()) == []


def test_a_large_npy_is_streamed_in_blocks_and_equals_the_samples(runs, tmp_path, cli, monkeypatch):
    model = ganvae.load(runs["vectors"])
    expected = model.sample(2500, seed=4)

    def whole_array_in_memory(self, *args, **kwargs):
        raise AssertionError("the .npy writer must not hold every sample in memory")

    monkeypatch.setattr(type(model), "sample", whole_array_in_memory)
    code, out, err = cli("sample", runs["vectors"], "-n", "2500", "--seed", "4", "-o", tmp_path / "s.npy")
    assert code == 0, err
    written = np.load(tmp_path / "s.npy")
    assert written.dtype == np.float32 and np.array_equal(written, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy"]  # no temporary left beside it


def test_a_png_of_too_many_samples_is_refused_before_drawing(runs, tmp_path, cli, tools):
    code, out, err = cli("sample", runs["images"], "-n", "20000", "-o", tmp_path / "grid.png")
    assert code == 2 and not (tmp_path / "grid.png").exists()
    line = tools.one_line(err)
    assert "-n 20000 is too many for a PNG: it shows at most 100" in line
    assert "would take 4.9 MiB" in line and "use -n 100" in line


def test_samples_in_memory_beyond_the_available_memory_are_refused(runs, monkeypatch):
    model = ganvae.load(runs["vectors"])
    monkeypatch.setattr(ganvae.sizes, "available_memory", lambda: 2**20)
    with pytest.raises(ConfigError, match=r"1000000 samples of shape \(2,\) would take 7\.6 MiB of memory, more "
                                          r"than half of the 1\.0 MiB available; .*-o samples\.npy"):
        model.sample(10**6)
    assert model.sample(1000).shape == (1000, 2)  # 7.8 KiB: fine


def test_a_folder_of_huge_images_is_refused_from_its_headers(tmp_path, monkeypatch, cli, tools):
    """14 small PNGs of 9000 x 9000 pixels decode to 4.2 GiB of float32: refused before any pixel is decoded."""
    folder = tmp_path / "huge"
    folder.mkdir()
    Image.new("L", (9000, 9000)).save(folder / "00.png")
    for i in range(1, 14):
        shutil.copy(folder / "00.png", folder / f"{i:02d}.png")
    assert sum(p.stat().st_size for p in folder.iterdir()) < 14 * 200_000  # small files
    monkeypatch.setattr(ganvae.sizes, "available_memory", lambda: 4 * 2**30)

    def no_decoding(*args, **kwargs):
        raise AssertionError("pixels were decoded before the size was checked")

    monkeypatch.setattr(ganvae.data.files, "_pixels", no_decoding)
    with pytest.raises(DataError, match=r"the 14 images in .*huge, decoded at 9000x9000 pixels \(1 channel, "
                                        r"float32\), would take 4\.2 GiB of memory.*--image-size"):
        load_dataset(DataConfig(name=str(folder)))
    code, out, err = cli("train", "gan", "--data", folder, "--print-config")
    assert code == 1 and "4.2 GiB" in tools.one_line(err) and "--image-size 64" in tools.one_line(err)
