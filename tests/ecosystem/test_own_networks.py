"""Your own networks in a family: GAN(generator=, discriminator=), VAE(encoder=, decoder=), shapes checked on one
dummy batch with one sentence when they do not fit, and saving/loading with the user's classes."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

import ganvae
from ganvae.cli import main


class Generator(nn.Module):
    """z (B, latent) -> (B, 1, side, side), raw; BatchNorm to see that the shape check leaves its statistics."""

    def __init__(self, latent: int = 8, side: int = 8):
        super().__init__()
        self.side = side
        self.net = nn.Sequential(nn.Linear(latent, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, side * side))

    def forward(self, z):
        return self.net(z).view(-1, 1, self.side, self.side)


class Discriminator(nn.Module):
    def __init__(self, side: int = 8, outputs: int = 1):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(side * side, 32), nn.LeakyReLU(0.2), nn.Linear(32, outputs))

    def forward(self, x):
        return self.net(x)


class Encoder(nn.Module):
    def __init__(self, features: int = 2, latent: int = 3, pair: bool = True):
        super().__init__()
        self.pair = pair
        self.body = nn.Sequential(nn.Linear(features, 16), nn.Tanh())
        self.mu, self.logvar = nn.Linear(16, latent), nn.Linear(16, latent)

    def forward(self, x):
        h = self.body(x)
        return (self.mu(h), self.logvar(h)) if self.pair else self.mu(h)


class Decoder(nn.Module):
    def __init__(self, latent: int = 3, features: int = 2):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent, 16), nn.Tanh(), nn.Linear(16, features))

    def forward(self, z):
        return self.net(z)


def test_a_gan_trains_the_users_modules_in_place(tmp_path):
    generator, discriminator = Generator(), Discriminator()
    before = copy.deepcopy(generator.state_dict())
    gan = ganvae.GAN(generator=generator, discriminator=discriminator, steps=6, out=tmp_path / "run").fit("digits")
    assert gan.family_.nets["generator"] is generator and gan.family_.nets["discriminator"] is discriminator
    assert gan.config_.model.latent_dim == gan.latent_dim == 8  # the inputs of the generator's first Linear
    assert "(conv, your own generator, your own discriminator) on digits" in gan._repr_html_()
    assert not torch.equal(before["net.0.weight"], generator.state_dict()["net.0.weight"])  # trained
    samples = gan.sample(5, seed=0)
    assert samples.shape == (5, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    with torch.no_grad():  # the family's tanh on the output of the user's network (its moving average, which
        # samples come from; a copy of the user's class), from the codes sample() draws
        average = gan.family_.sampling_net()
        assert type(average) is Generator and average is not generator
        torch.manual_seed(ganvae.api.block_seed(0, 0))
        z = torch.randn(ganvae.api.SAMPLE_CHUNK, 8)
        expected = (torch.tanh(average.eval()(z)) + 1) / 2
    np.testing.assert_allclose(samples, expected[:5].numpy(), atol=1e-6)


def test_a_vae_with_its_own_encoder_and_decoder_on_vectors():
    encoder, decoder = Encoder(), Decoder()
    vae = ganvae.VAE(encoder=encoder, decoder=decoder, steps=5).fit("ring8")
    assert vae.family_.nets["encoder"] is encoder and vae.config_.model.latent_dim == 3
    points = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    assert vae.encode(points).shape == (10, 3) and np.isfinite(vae.score(points))


def test_one_network_of_your_own_beside_a_built_one():
    gan = ganvae.GAN(discriminator=Discriminator(), latent_dim=5, steps=3).fit("digits")
    assert gan.family_.nets["generator"][0].in_features == 5  # the mlp architecture built the generator


@pytest.mark.parametrize("networks, message", [
    (dict(generator=Generator(side=6), discriminator=Discriminator()),
     "the generator maps z of 8 to (1, 6, 6) but the data is (1, 8, 8); make its output (B, 1, 8, 8)"),
    (dict(generator=Generator(), discriminator=Discriminator(outputs=10)),
     "the discriminator maps data of (1, 8, 8) to (10,) per example; it must give one logit per example"),
    (dict(generator=Generator(), discriminator=Discriminator(side=6)),
     "the discriminator cannot take data of shape (B, 1, 8, 8) (RuntimeError: mat1 and mat2"),
    (dict(generator=Generator(), discriminator=Discriminator(), latent_dim=100),
     "the generator cannot take z of shape (B, 100) (RuntimeError"),
])
def test_a_gan_whose_networks_do_not_fit_is_refused_before_anything_is_written(tmp_path, networks, message):
    with pytest.raises(ganvae.ConfigError) as error:
        ganvae.GAN(steps=2, out=tmp_path / "run", **networks).fit("digits")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


def test_a_vae_encoder_must_give_mu_and_logvar():
    with pytest.raises(ganvae.ConfigError, match=r"the encoder maps data of \(2,\) to a Tensor; it must give "
                                                 r"\(mu, logvar\), each \(B, 3\)"):
        ganvae.VAE(encoder=Encoder(pair=False), decoder=Decoder(), steps=2).fit("ring8")


def test_a_network_under_another_name_is_refused():
    with pytest.raises(ganvae.ConfigError, match="encoder= is not a network of the gan family; its networks are "
                                                 "generator=, discriminator="):
        ganvae.GAN(encoder=Encoder())


def test_the_shape_check_leaves_the_modules_as_it_found_them():
    generator = Generator()
    generator.train()
    statistics = generator.net[1].running_mean.clone()
    state = torch.get_rng_state()
    from ganvae.nets.given import check_networks

    check_networks({"generator": generator}, 8, (1, 8, 8))
    assert generator.training and torch.equal(generator.net[1].running_mean, statistics)
    assert torch.equal(torch.get_rng_state(), state)


def test_saving_and_loading_needs_the_users_classes(tmp_path, capsys):
    gan = ganvae.GAN(generator=Generator(), discriminator=Discriminator(), steps=4, out=tmp_path / "run").fit("digits")
    path = gan.save(tmp_path / "gan.pt")
    with pytest.raises(ganvae.RunError) as error:
        ganvae.load(path)
    assert ("holds a GAN trained with networks of your own (generator: test_own_networks.Generator, "
            "discriminator: test_own_networks.Discriminator)") in str(error.value).replace("tests.ecosystem.", "")
    assert "ganvae.load(path, generator=Generator(...), discriminator=Discriminator(...))" in str(error.value)

    loaded = ganvae.load(path, generator=Generator(), discriminator=Discriminator())
    assert np.array_equal(loaded.sample(20, seed=3), gan.sample(20, seed=3))
    again = ganvae.load(tmp_path / "run", generator=Generator(), discriminator=Discriminator())  # the run folder
    assert np.array_equal(again.sample(20, seed=3), gan.sample(20, seed=3))

    with pytest.raises(ganvae.RunError, match="does not fit the networks given .*size mismatch"):
        ganvae.load(path, generator=Generator(latent=4), discriminator=Discriminator())
    # The command line cannot build them: one line that says how to load it.
    code = main(["sample", str(tmp_path / "run"), "-n", "4", "-o", str(tmp_path / "s.npy")])
    err = capsys.readouterr().err
    assert code != 0 and "networks of your own" in err and err.strip().count("\n") == 0


def test_networks_given_for_a_model_trained_with_ganvae_s_own_are_refused(tmp_path):
    path = ganvae.GAN(steps=2, hidden=8).fit("digits").save(tmp_path / "plain.pt")
    with pytest.raises(ganvae.ConfigError, match="trained with ganvae's own networks, not yours; leave out generator="):
        ganvae.load(path, generator=Generator())


def test_a_run_with_networks_of_your_own_resumes_with_them(tmp_path):
    generator, discriminator = Generator(), Discriminator()
    ganvae.GAN(generator=generator, discriminator=discriminator, steps=4, out=tmp_path / "run").fit("digits")
    with pytest.raises(ganvae.RunError, match="networks of your own"):
        ganvae.GAN(steps=8, out=tmp_path / "run").fit("digits", resume=True)
    resumed = ganvae.GAN(generator=Generator(), discriminator=Discriminator(), steps=8, out=tmp_path / "run")
    assert resumed.fit("digits", resume=True).state_.step == 8
