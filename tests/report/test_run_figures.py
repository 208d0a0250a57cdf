"""Run figures are drawn by the run's caller (`ganvae train`, `compare`, or `model.plot()`), never by `fit`."""

import json

import pytest
from PIL import Image

import ganvae
from ganvae.cli import main
from ganvae.errors import ConfigError

FIGURES = ("samples.png", "losses.png", "reconstructions.png", "samples-gmm.png")


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures") / "run"
    model = ganvae.VAE(arch="mlp", steps=4, batch_size=64, hidden=16, out=out, device="cpu").fit("ring8")
    return model, out


def test_fit_writes_no_figure_and_plot_draws_them_into_the_run_folder(vae_run):
    model, out = vae_run
    drawn = model.plot()
    assert sorted(path.name for path in drawn.values()) == sorted(FIGURES)
    for name in FIGURES:
        assert Image.open(out / name).size[0] > 100
    assert json.loads((out / "status.json").read_text())["state"] == "finished"


def test_the_vaes_samples_from_its_fitted_mixture_are_drawn_beside_those_from_n01(vae_run):
    model, out = vae_run
    model.plot()
    assert (out / "latent_prior.npz").is_file()  # the mixture the figure's codes came from, cached for sample
    picture = Image.open(out / "samples-gmm.png")
    assert picture.size == Image.open(out / "samples.png").size
    assert (out / "samples-gmm.png").read_bytes() != (out / "samples.png").read_bytes()


def test_fit_alone_leaves_the_run_folder_without_figures(tmp_path):
    ganvae.GAN(steps=2, batch_size=64, hidden=16, out=tmp_path / "run", device="cpu").fit("ring8")
    assert not list((tmp_path / "run").glob("*.png"))


def test_a_loaded_model_draws_the_same_samples_figure_from_its_saved_data(vae_run, tmp_path):
    model, out = vae_run
    model.plot()
    first = (out / "samples.png").read_bytes()
    loaded = ganvae.load(out)
    loaded.plot()  # the data its config names (ring8), reloaded
    assert (out / "samples.png").read_bytes() == first  # same model, same real points, same picture


def test_plot_without_a_run_folder_says_how_to_get_one():
    model = ganvae.GAN(steps=2, batch_size=64, hidden=16, device="cpu").fit("ring8")
    with pytest.raises(ConfigError, match="fit it with out=DIR"):
        model.plot()


def test_train_from_the_command_line_still_writes_every_figure(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "vae", "--data", "ring8", "--steps", "4", "--batch-size", "64", "--hidden", "16",
                 "--device", "cpu", "--no-progress", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    for name in FIGURES:
        assert (out / name).is_file() and f"{name[:-4]}: {out / name}" in printed
