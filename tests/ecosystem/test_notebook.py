"""In a notebook a model shows itself: a fitted one a sample grid and its config, an unfitted one its settings."""

import base64
import io
import re

import numpy as np
from PIL import Image

import ganvae
from ganvae.report.plots import image_grid

IMAGE_SOURCE = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def embedded_png(html: str) -> Image.Image:
    match = IMAGE_SOURCE.search(html)
    assert match, html[:300]
    return Image.open(io.BytesIO(base64.b64decode(match.group(1), validate=True)))


def test_a_fitted_image_model_shows_a_grid_of_its_samples_and_its_config():
    gan = ganvae.GAN(arch="mlp", steps=2, hidden=8).fit("digits")  # 8x8 images
    html = gan._repr_html_()
    picture = embedded_png(html)
    rows, cols = ganvae.GAN.HTML_GRID
    scale = 6  # the smallest whole factor that makes 8 pixels at least 48
    # image_grid puts 2 pixels around and between the 8x8 samples.
    assert picture.size == ((cols * 10 + 2) * scale, (rows * 10 + 2) * scale) == (492, 252)
    assert picture.mode == "L"
    expected = image_grid(gan.sample(rows * cols, seed=0), nrow=cols)  # the samples seed 0 gives
    shown = np.asarray(picture)[::scale, ::scale]
    assert np.array_equal(shown, expected)
    assert "<td style=\"text-align:left\">model.arch</td><td style=\"text-align:left\">mlp</td>" in html
    assert "optim.lr" in html and "0.0002" in html and "digits" in html and "2 steps" in html


def test_a_fitted_vector_model_shows_a_scatter():
    vae = ganvae.VAE(arch="mlp", steps=2, hidden=8).fit("ring8")
    picture = embedded_png(vae._repr_html_())
    assert picture.size == (240, 240) and picture.format == "PNG"


def test_an_unfitted_model_shows_its_hyperparameters_and_no_picture():
    html = ganvae.VAE(latent_dim=3, beta=0.5)._repr_html_()
    assert "not fitted" in html and "<img" not in html
    assert "<td style=\"text-align:left\">latent_dim</td><td style=\"text-align:left\">3</td>" in html
    assert "<td style=\"text-align:left\">beta</td><td style=\"text-align:left\">0.5</td>" in html
    assert "<td style=\"text-align:left\">lr</td><td style=\"text-align:left\">default</td>" in html
    assert ">beta<" not in ganvae.GAN()._repr_html_()


def test_an_evaluation_shows_its_metric_table_and_stays_a_plain_dict():
    import json

    from ganvae.data import load_dataset
    from ganvae.notebook import format_value

    points = load_dataset("ring8").x[:200].numpy()  # real points as "samples": every mode is captured
    result = ganvae.evaluate(points, data="ring8", n_samples=200)
    assert json.loads(json.dumps(result)) == dict(result)
    html = result._repr_html_()
    assert "200 samples against" in html and "ring8" in html
    assert result["metrics"]["modes_captured"] == 8
    assert ('<td style="text-align:left">modes_captured</td><td style="text-align:right">8</td>'
            '<td style="text-align:right">higher</td>') in html
    precision = format_value(result["metrics"]["precision"])
    assert f'<td style="text-align:left">precision</td><td style="text-align:right">{precision}</td>' in html
    # a metric that does not apply says why
    assert "<td style=\"text-align:left\">nll</td><td style=\"text-align:right\">n/a</td>" in html


def test_progress_defaults_to_a_bar_in_a_notebook_only(monkeypatch):
    import ganvae.kernel as kernel

    model = ganvae.GAN()
    assert model.progress is None and not model._shows_progress()  # no kernel here
    monkeypatch.setattr(kernel, "in_notebook", lambda: True)
    assert model._shows_progress() and not ganvae.GAN(progress=False)._shows_progress()
