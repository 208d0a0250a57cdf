"""Export: the file maps latent codes to the same samples ganvae computes, and loads without ganvae."""

import subprocess
import sys

import numpy as np
import pytest
import torch

import ganvae
from ganvae.cli import main
from ganvae.errors import ConfigError
from ganvae.export import default_export_path, export, read_metadata

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

TOLERANCE = 1e-5  # float32 round-off between runtimes; TorchScript measured 0, ONNX Runtime <= 4e-7


def write_csv(path, rng):
    # Two features far from standard units, so a missing un-standardisation is off by hundreds.
    values = np.column_stack([rng.normal(500.0, 40.0, 300), rng.normal(-3.0, 0.01, 300)])
    path.write_text("height,depth\n" + "\n".join(f"{a:.5f},{b:.5f}" for a, b in values) + "\n")
    return values


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A few steps of each family on images (conv) and on a standardised CSV (mlp)."""
    folder = tmp_path_factory.mktemp("export")
    csv = folder / "points.csv"
    write_csv(csv, np.random.default_rng(0))
    return {
        "gan-conv-digits": ganvae.GAN(arch="conv", steps=3, hidden=8).fit("digits"),
        "vae-conv-digits": ganvae.VAE(arch="conv", steps=3, hidden=8).fit("digits"),
        "gan-mlp-csv": ganvae.GAN(arch="mlp", steps=3, hidden=16).fit(str(csv)),
        "vae-mlp-csv": ganvae.VAE(arch="mlp", steps=3, hidden=16).fit(str(csv)),
    }


def expected_output(model, z: torch.Tensor) -> np.ndarray:
    """What ganvae computes for codes z: from_latent in eval mode, then the data's original units."""
    family = model.family_.eval()
    x = family.from_latent(z).numpy()
    info = model.data_info_
    if info["offset"] is not None:
        x = x * np.asarray(info["scale"], np.float32) + np.asarray(info["offset"], np.float32)
    return x


@pytest.mark.parametrize("name", ["gan-conv-digits", "vae-conv-digits", "gan-mlp-csv", "vae-mlp-csv"])
def test_torchscript_reproduces_ganvae_for_the_same_codes(models, name, tmp_path):
    model = models[name]
    path = export(model, tmp_path / "net.pt", "torchscript")
    module = torch.jit.load(str(path))
    for batch in (1, 5):  # traced with a batch of 4
        z = torch.randn(batch, model.family_.latent_dim, generator=torch.Generator().manual_seed(batch))
        out = module(z)
        assert not out.requires_grad and out.dtype == torch.float32
        assert out.shape == (batch, *model.data_info_["shape"])
        assert np.abs(out.numpy() - expected_output(model, z)).max() <= TOLERANCE
    if model.data_info_["kind"] == "image":
        assert 0 <= out.min() and out.max() <= 1
    else:  # in the CSV's units: the first feature is near 500, not near 0
        assert abs(float(out[:, 0].mean()) - 500) < 300
    meta = read_metadata(path)
    assert meta["latent_dim"] == model.family_.latent_dim and meta["data_shape"] == model.data_info_["shape"]
    assert meta["network"] == ("generator" if name.startswith("gan") else "decoder")


def test_the_torchscript_file_loads_and_runs_without_ganvae(models, tmp_path):
    model = models["gan-conv-digits"]
    path = export(model, tmp_path / "generator.pt")
    z = torch.randn(3, model.family_.latent_dim)
    np.save(tmp_path / "z.npy", z.numpy())
    script = (
        "import sys; sys.modules['ganvae'] = None\n"  # any import of ganvae now fails
        "import numpy as np, torch\n"
        f"module = torch.jit.load({str(path)!r})\n"
        f"z = torch.from_numpy(np.load({str(tmp_path / 'z.npy')!r}))\n"
        f"np.save({str(tmp_path / 'x.npy')!r}, module(z).numpy())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert np.abs(np.load(tmp_path / "x.npy") - expected_output(model, z)).max() <= TOLERANCE


@pytest.mark.parametrize("name", ["gan-conv-digits", "vae-mlp-csv"])
def test_onnx_reproduces_ganvae_for_the_same_codes(models, name, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    model = models[name]
    path = export(model, tmp_path / "net.onnx")  # the format follows the suffix
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z"]
    for batch in (1, 6):  # a dynamic batch axis: not only the traced batch of 4
        z = torch.randn(batch, model.family_.latent_dim, generator=torch.Generator().manual_seed(batch))
        out = session.run(None, {"z": z.numpy()})[0]
        assert out.shape == (batch, *model.data_info_["shape"])
        assert np.abs(out - expected_output(model, z)).max() <= TOLERANCE
    assert read_metadata(path)["family"] == name[:3]


def test_cli_export_writes_into_the_run_folder_by_default(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "vae", "--data", "ring8", "--steps", "3", "--out", str(run_dir), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["export", str(run_dir)]) == 0
    out = capsys.readouterr().out
    path = run_dir / "decoder.pt"
    assert path.is_file() and str(path) in out and "z (B, 2) -> (B, 2)" in out
    model = ganvae.load(run_dir)
    z = torch.randn(10, 2)
    assert np.abs(torch.jit.load(str(path))(z).numpy() - expected_output(model, z)).max() <= TOLERANCE
    assert default_export_path(run_dir / "checkpoint.pt", "gan", "onnx") == run_dir / "checkpoint.generator.onnx"


def test_cli_export_errors_are_one_line(models, tmp_path, capsys, monkeypatch):
    path = models["gan-conv-digits"].save(tmp_path / "gan.pt")
    assert main(["export", str(path), "--format", "torchscript", "-o", str(tmp_path / "g.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ends in .onnx but --format is torchscript" in err
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if it were not installed
    assert main(["export", str(path), "--format", "onnx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'ganvae[onnx]'" in err
    assert not (tmp_path / "gan.generator.onnx").exists()
    with pytest.raises(ConfigError, match="needs a path"):
        export(models["gan-conv-digits"])


def test_cli_onnx_export_under_any_file_name(models, tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    model = models["vae-conv-digits"]
    checkpoint = model.save(tmp_path / "vae.pt")
    assert main(["export", str(checkpoint), "--format", "onnx", "-o", str(tmp_path / "decoder.bin")]) == 0
    assert "onnxruntime.InferenceSession" in capsys.readouterr().out
    z = torch.randn(2, model.family_.latent_dim)
    out = ort.InferenceSession(str(tmp_path / "decoder.bin")).run(None, {"z": z.numpy()})[0]
    assert np.abs(out - expected_output(model, z)).max() <= TOLERANCE


@pytest.mark.parametrize("name", ["gan-conv-digits", "gan-mlp-csv"])
def test_a_gan_file_fed_ganvaes_noise_gives_ganvae_sample(models, name, tmp_path):
    model = models[name]
    module = torch.jit.load(str(export(model, tmp_path / "generator.pt")))
    from ganvae.api import SAMPLE_CHUNK, block_seed

    # sample(seed=3) draws its first block of codes whole from block_seed(3, 0), then keeps the first 10
    generator = torch.Generator().manual_seed(block_seed(3, 0))
    z = torch.randn(SAMPLE_CHUNK, model.family_.latent_dim, generator=generator)[:10]
    assert np.abs(module(z).numpy() - model.sample(10, seed=3)).max() <= TOLERANCE
