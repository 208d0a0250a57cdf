"""A sample is a function of its seed and its index only (not of -n, nor of the codes drawn with it), and
vector samples round-trip to tables with the data's own column names and units."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ganvae
from ganvae.nets.conv import ReferenceBatchNorm2d

MODELS = [("gan", "mlp", "ring8"), ("gan", "conv", "digits"), ("vae", "mlp", "ring8"), ("vae", "conv", "digits")]


@pytest.fixture(scope="module")
def fitted():
    models = {}
    for family, arch, data in MODELS:
        cls = ganvae.GAN if family == "gan" else ganvae.VAE
        models[family, arch] = cls(arch=arch, hidden=8 if arch == "conv" else 16, batch_size=32, steps=3,
                                   device="cpu").fit(data)
    return models


@pytest.mark.parametrize("family, arch, data", MODELS, ids=[f"{f}-{a}" for f, a, _ in MODELS])
def test_the_first_samples_do_not_depend_on_how_many_are_drawn(fitted, family, arch, data):
    model = fitted[family, arch]
    ten, thousand, many = (model.sample(n, seed=7) for n in (10, 1000, 2345))
    assert np.array_equal(ten, thousand[:10]) and np.array_equal(thousand, many[:1000])
    assert np.array_equal(model.sample(2345, seed=7), many)  # the same seed, the same samples
    assert not np.array_equal(model.sample(10, seed=8), ten)
    assert len(np.unique(ten.reshape(10, -1), axis=0)) == 10


def test_the_same_through_the_command_line(fitted, tmp_path, cli):
    path = fitted["gan", "conv"].save(tmp_path / "conv.pt")
    for n in (10, 1000):
        code, out, err = cli("sample", path, "-n", n, "--seed", "3", "-o", tmp_path / f"s{n}.npy")
        assert code == 0, err
    assert np.array_equal(np.load(tmp_path / "s10.npy"), np.load(tmp_path / "s1000.npy")[:10])


def test_a_conv_generator_output_depends_on_its_own_code_only(fitted):
    """Its BatchNorm used the statistics of the batch being sampled: code i gave another image beside other codes."""
    family = fitted["gan", "conv"].family_
    family.eval()
    codes = torch.randn(300, family.latent_dim, generator=torch.Generator().manual_seed(1))
    alone, together = family.from_latent(codes[:10]), family.from_latent(codes)[:10]
    assert torch.allclose(alone, together, atol=1e-5, rtol=0)
    assert torch.allclose(family.from_latent(codes[:1])[0], together[0], atol=1e-5, rtol=0)


def test_reference_batch_norm_trains_exactly_as_batch_norm():
    """Training is unchanged: in train mode the layer is nn.BatchNorm2d without running averages, bit for bit,
    with the same parameters and the same state_dict; the reference statistics are never saved."""
    torch.manual_seed(0)
    layer, plain = ReferenceBatchNorm2d(4), torch.nn.BatchNorm2d(4, track_running_stats=False)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(16, 4, 5, 5)
    assert torch.equal(layer(x), plain(x))
    assert torch.equal(layer(x), F.batch_norm(x, None, None, layer.weight, layer.bias, True, 0.0, layer.eps))
    layer.reference_mean, layer.reference_var = torch.zeros(4), torch.ones(4)
    assert torch.equal(layer.train()(x), plain(x)) and set(layer.state_dict()) == set(plain.state_dict())


def test_the_recorded_statistics_follow_the_weights(fitted):
    """After more training (or a load) the statistics are recorded again, so samples follow the new weights."""
    model = ganvae.GAN(arch="conv", hidden=8, batch_size=32, steps=2, device="cpu").fit("digits")
    before = model.sample(5, seed=0)
    generator = model.family_.sampling_net()  # the net samples come from: the moving average of the generator
    with torch.no_grad():
        generator[0].weight.mul_(3.0)  # in place, as an optimiser step
    after = model.sample(5, seed=0)
    fresh = ganvae.GAN(arch="conv", hidden=8, batch_size=32, steps=2, device="cpu").fit("digits")
    fresh.family_.load_state_dict(model.family_.state_dict())
    assert not np.array_equal(before, after)
    assert np.allclose(fresh.sample(5, seed=0), after, atol=1e-6)


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """A VAE trained on a CSV with named columns in their own units (centimetres and kilograms)."""
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    heights = rng.normal(172, 8, 200)
    weights = 0.9 * (heights - 100) + rng.normal(0, 4, 200)
    with open(folder / "people.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["height_cm", "weight, kg"])
        writer.writerows(zip(heights.round(1), weights.round(1)))
    model = ganvae.VAE(arch="mlp", hidden=16, batch_size=50, steps=60, device="cpu").fit(str(folder / "people.csv"))
    return model.save(folder / "vae.pt"), folder


def test_samples_of_a_csv_run_round_trip_to_csv_with_its_column_names(table_run, tmp_path, cli):
    path, _ = table_run
    for output in ("s.csv", "s.npy"):
        code, out, err = cli("sample", path, "-n", "1000", "--seed", "2", "-o", tmp_path / output)
        assert code == 0, err
    with open(tmp_path / "s.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["height_cm", "weight, kg"]
    values = np.array(rows[1:], dtype=np.float32)
    assert values.shape == (1000, 2)
    assert np.array_equal(values, np.load(tmp_path / "s.npy"))  # every float32 exactly
    assert 150 < values[:, 0].mean() < 195 and 40 < values[:, 1].mean() < 95  # centimetres and kilograms


def test_a_run_without_column_names_gets_x1_x2(fitted, tmp_path, cli):
    path = fitted["gan", "mlp"].save(tmp_path / "ring8.pt")
    code, out, err = cli("sample", path, "-n", "3", "-o", tmp_path / "s.csv")
    assert code == 0 and (tmp_path / "s.csv").read_text().splitlines()[0] == "x1,x2"


def test_images_asked_for_a_table_are_one_line(fitted, tmp_path, cli, tools):
    path = fitted["gan", "conv"].save(tmp_path / "conv.pt")
    for output in ("s.csv", "s.parquet"):
        code, out, err = cli("sample", path, "-n", "10", "-o", tmp_path / output)
        assert code == 2 and "images of shape (1, 8, 8); write them to .npy or .png" in tools.one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.pt"]


def test_parquet_without_pyarrow_is_one_line_naming_the_install(table_run, tmp_path, cli, tools, monkeypatch):
    path, _ = table_run
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    code, out, err = cli("sample", path, "-n", "10", "-o", tmp_path / "s.parquet")
    assert code == 2 and "`pip install pyarrow`" in tools.one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_parquet_round_trip(table_run, tmp_path, cli):
    pq = pytest.importorskip("pyarrow.parquet")
    path, _ = table_run
    for output in ("s.parquet", "s.npy"):
        code, out, err = cli("sample", path, "-n", "2500", "-o", tmp_path / output)
        assert code == 0, err
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.column_names == ["height_cm", "weight, kg"]
    assert np.array_equal(np.stack([table.column(i).to_numpy() for i in range(2)], axis=1),
                          np.load(tmp_path / "s.npy"))
