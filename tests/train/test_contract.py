"""One contract for every registered family and architecture (like scikit-learn's check_estimator)."""

import numpy as np
import pytest
import torch

import ganvae
from ganvae.data import Dataset
from ganvae.errors import ConfigError, RunError
from ganvae.families import FAMILIES
from ganvae.nets import ARCHS


def vector_data(n=96, labelled=False):
    g = torch.Generator().manual_seed(1)
    modes = torch.randint(0, 8, (n,), generator=g)
    angles = modes.float() * (2 * torch.pi / 8)
    x = torch.stack([angles.cos(), angles.sin()], 1) + 0.01 * torch.randn(n, 2, generator=g)
    return Dataset(name="ring-test", x=x, kind="vector", source="test", y=modes if labelled else None)


def image_data(n=64, labelled=False):
    g = torch.Generator().manual_seed(2)
    return Dataset(name="img-test", x=torch.rand(n, 1, 8, 8, generator=g), kind="image", source="test",
                   y=torch.arange(n) % 3 if labelled else None)


DATA = {"vector": vector_data, "image": image_data}
# A conditional family wraps every architecture's networks the same way (ganvae/nets/conditional.py), so two
# cases cover its vector and image paths; tests/families/test_conditional.py builds it on every architecture.
CONDITIONAL_CASES = {("mlp", "vector"), ("conv", "image")}
CASES = [(f, a, d) for f in FAMILIES.names() for a in ARCHS.names() for d in DATA
         if not (a == "conv" and d == "vector")
         and (not FAMILIES.get(f).has("conditional") or (a, d) in CONDITIONAL_CASES)]


def data_for(family, data):
    """The test data of kind `data`, labelled for a conditional family (which refuses unlabelled data)."""
    return DATA[data](labelled=FAMILIES.get(family).has("conditional"))


def make(family, arch, **kw):
    kw.setdefault("steps", 4)
    return ganvae.Model.of(family, arch=arch, batch_size=16, hidden=16, latent_dim=3, log_every=1, **kw)


def weights(model):
    return {k: v.detach().clone() for k, v in model.family_.state_dict().items()}


@pytest.mark.parametrize("family,arch,data", CASES)
def test_fit_then_sample_shapes_and_ranges(family, arch, data):
    dataset = data_for(family, data)
    model = make(family, arch).fit(dataset)
    samples = model.sample(5)
    assert samples.dtype == np.float32
    assert samples.shape == (5, *dataset.shape)
    assert np.isfinite(samples).all()
    if data == "image":
        assert samples.min() >= 0 and samples.max() <= 1
    assert model.state_.step == 4 and model.state_.images_seen == 64


@pytest.mark.parametrize("family,arch,data", CASES)
def test_same_seed_same_numbers(family, arch, data):
    a = make(family, arch, seed=3).fit(data_for(family, data))
    b = make(family, arch, seed=3).fit(data_for(family, data))
    c = make(family, arch, seed=4).fit(data_for(family, data))
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)
    assert np.array_equal(a.sample(7, seed=1), b.sample(7, seed=1))


@pytest.mark.parametrize("family,arch,data", CASES)
def test_save_load_round_trip(family, arch, data, tmp_path):
    model = make(family, arch).fit(data_for(family, data))
    path = model.save(tmp_path / "model.pt")
    loaded = ganvae.load(path)
    assert type(loaded) is type(model)
    assert np.array_equal(model.sample(6, seed=5), loaded.sample(6, seed=5))


@pytest.mark.parametrize("family,arch,data", CASES)
def test_resume_equals_uninterrupted(family, arch, data, tmp_path):
    dataset = data_for(family, data)
    whole = make(family, arch, steps=9, out=tmp_path / "whole").fit(dataset)
    make(family, arch, steps=5, out=tmp_path / "part").fit(dataset)
    resumed = make(family, arch, steps=9, out=tmp_path / "part").fit(dataset, resume=True)
    assert resumed.state_.step == 9
    ww, wr = weights(whole), weights(resumed)
    assert all(torch.equal(ww[k], wr[k]) for k in ww), "resumed weights differ from an uninterrupted run"
    log_whole = (tmp_path / "whole" / "log.csv").read_text().splitlines()
    log_resumed = (tmp_path / "part" / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in log_whole] == [r.split(",")[0] for r in log_resumed]


def test_run_folder_has_every_file(tmp_path):
    model = ganvae.VAE(arch="mlp", steps=6, batch_size=16, log_every=2, out=tmp_path / "run").fit(vector_data())
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "data.json", "log.csv", "status.json", "checkpoint.pt"} <= names
    assert not {"samples.png", "losses.png"} & names  # fit draws no figures; plot() does
    figures = model.plot()
    assert set(figures) == {"samples", "losses", "reconstructions", "samples-gmm"} and figures == model.figures_
    assert all(path.parent == tmp_path / "run" and path.is_file() for path in figures.values())
    log = model.run_dir_ / "log.csv"
    header = log.read_text().splitlines()[0].split(",")
    assert header[:4] == ["step", "epoch", "images_seen", "seconds"]
    assert {"reconstruction", "kl", "neg_elbo"} <= set(header)
    assert len(log.read_text().splitlines()) == 1 + 3


def test_refuses_to_overwrite_a_run(tmp_path):
    ganvae.GAN(steps=2, batch_size=16, out=tmp_path / "run").fit(vector_data())
    with pytest.raises(ConfigError, match="already holds a run"):
        ganvae.GAN(steps=2, batch_size=16, out=tmp_path / "run").fit(vector_data())


def test_batch_larger_than_data_is_refused():
    with pytest.raises(ConfigError, match="--batch-size 500 is larger than the dataset"):
        ganvae.GAN(batch_size=500, steps=1).fit(vector_data(96))


def test_divergence_names_the_step_and_keeps_the_checkpoint(tmp_path):
    model = ganvae.GAN(steps=4, batch_size=16, checkpoint_every=2, out=tmp_path / "run").fit(vector_data())
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    with torch.no_grad():
        for p in model.family_.nets["generator"].parameters():
            p.fill_(float("nan"))
    from ganvae.train.loop import fit

    # Losses stay on the device and are checked at each log row and checkpoint (here every 2 steps): the
    # message names the steps since the last check. Without a run folder this call writes no checkpoint, and the
    # message must not claim one.
    with pytest.raises(RunError, match=r"became nan between steps 0 and 1; no run folder, so no checkpoint"):
        fit(model.family_, vector_data().x, model.config_, run_dir=None, progress=False)
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before


def test_vae_encode_reconstruct_score_on_vectors():
    data = vector_data()
    vae = ganvae.VAE(steps=30, batch_size=32, latent_dim=2).fit(data)
    x = data.x[:10].numpy()
    assert vae.encode(x).shape == (10, 2)
    assert vae.reconstruct(x).shape == (10, 2)
    assert np.isfinite(vae.score(x))
    with pytest.raises(ConfigError, match="expected examples of shape"):
        vae.encode(np.zeros((3, 5), np.float32))


def test_training_reduces_the_vae_loss():
    data = vector_data(256)
    vae = ganvae.VAE(steps=100, batch_size=64, latent_dim=2, hidden=32, lr=3e-3, seed=0).fit(data)
    fresh = ganvae.VAE(steps=1, batch_size=64, latent_dim=2, hidden=32, lr=1e-9, seed=0).fit(data)
    assert vae.score(data.x.numpy()) > fresh.score(data.x.numpy()) + 1.0


def test_unfitted_model_says_so():
    with pytest.raises(RunError, match="not fitted yet"):
        ganvae.GAN().sample(3)


def test_bad_hyperparameter_fails_at_construction():
    with pytest.raises(ConfigError, match="--latent-dim"):
        ganvae.VAE(latent_dim=0)


@pytest.mark.parametrize("family", FAMILIES.names())
def test_image_runs_draw_latent_interpolations(family, tmp_path):
    from ganvae.report.figures import N_PAIRS, N_STEPS, latent_interpolations

    data = data_for(family, "image")
    model = make(family, "mlp", out=tmp_path / "run").fit(data)
    assert model.plot()["interpolations"] == tmp_path / "run" / "interpolations.png"
    assert (tmp_path / "run" / "interpolations.png").exists()
    labels = None if data.y is None else data.y.numpy()
    path = latent_interpolations(model, data.x.numpy(), labels=labels)
    assert path.shape == (N_PAIRS * N_STEPS, 1, 8, 8)
    # each row starts and ends at its own two codes, so the ends of a row differ
    rows = path.reshape(N_PAIRS, N_STEPS, -1)
    assert (np.abs(rows[:, 0] - rows[:, -1]).max(axis=1) > 0).all()


def test_fit_on_a_numpy_array_returns_samples_in_its_units():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(200, 3)) * [1.0, 10.0, 100.0] + [0.0, 50.0, -500.0]).astype(np.float32)
    vae = ganvae.VAE(steps=40, batch_size=50).fit(x)
    samples = vae.sample(500, seed=0)
    assert samples.shape == (500, 3)
    # standardised inside, original units outside: the third column is centred far from the others
    assert abs(samples[:, 2].mean() - (-500)) < 150 and abs(samples[:, 1].mean() - 50) < 15
    with pytest.raises(ganvae.DataError, match="NaN"):
        ganvae.GAN(steps=1).fit(np.full((10, 2), np.nan, np.float32))


def test_one_facade_serves_every_family_and_named_facades_fix_theirs():
    for name in FAMILIES.names():
        model = ganvae.Model.of(name, steps=1)
        assert model.family_name == name
        assert ganvae.Model.from_config(model._config()).family_name == name
    assert type(ganvae.Model.of("gan")) is ganvae.GAN and type(ganvae.Model.of("vae")) is ganvae.VAE
    with pytest.raises(ConfigError, match="unknown family 'nope'; choose one of"):
        ganvae.Model.of("nope")
    with pytest.raises(ConfigError, match="GAN trains the gan family"):
        ganvae.GAN("vae")


def test_capabilities_decide_what_a_model_can_do():
    data = vector_data()
    gan = make("gan", "mlp").fit(data)
    with pytest.raises(ConfigError, match="the gan family has no encoder, so it cannot encode"):
        gan.encode(data.x[:3].numpy())
    with pytest.raises(ConfigError, match="has no likelihood"):
        gan.score(data.x[:3].numpy())
    assert "encoder" in ganvae.VAE().capabilities and "encoder" not in gan.capabilities


def test_family_settings_by_name_and_by_their_old_name():
    assert ganvae.VAE(kl_weight=0.5)._config().model.settings == {"kl_weight": 0.5}
    vae = ganvae.VAE(beta=0.25, steps=2, batch_size=16).fit(vector_data())
    assert vae.config_.model.settings == {"kl_weight": 0.25, "kl_warmup": 0} and vae.family_.kl_weight == 0.25
    with pytest.raises(ConfigError, match="does not apply to the gan family"):
        ganvae.GAN(kl_weight=0.5)


def test_a_config_written_by_ganvae_0_1_still_loads():
    old = {"data": {"name": "ring8"}, "model": {"family": "vae", "arch": "mlp", "beta": 0.5},
           "optim": {}, "budget": {"steps": 3}}
    cfg = ganvae.RunConfig.from_dict(old)
    assert cfg.model.settings == {"beta": 0.5}
    from ganvae.families.resolve import resolve

    assert resolve(cfg, "vector", (2,)).model.settings == {"kl_weight": 0.5, "kl_warmup": 0}
    old_gan = {"model": {"family": "gan", "arch": "mlp", "beta": 1.0}}
    assert ganvae.RunConfig.from_dict(old_gan).model.settings == {}
