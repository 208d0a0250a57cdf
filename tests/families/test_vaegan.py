"""VAE-GAN: the discriminator's features, three phases over disjoint networks, and Larsen's weighting."""

import pytest
import torch
from torch import nn

import ganvae
from ganvae.families import FAMILIES, Batch
from ganvae.families.vaegan import VAEGANFamily, VAEGANSettings
from ganvae.nets import ARCHS


@pytest.mark.parametrize("arch,kind,shape", [("mlp", "vector", (2,)), ("seed", "image", (1, 8, 8)),
                                             ("conv", "image", (1, 8, 8))])
def test_features_are_the_discriminator_before_its_last_linear_layer(arch, kind, shape):
    torch.manual_seed(0)
    family = VAEGANFamily(ARCHS.get(arch), kind, shape, latent_dim=3, hidden=16)
    x = torch.rand(5, *shape)
    features, logits = family.features_and_logits(x)
    discriminator = family.nets["discriminator"]
    assert torch.allclose(logits, discriminator(x))
    head = [m for m in discriminator if isinstance(m, nn.Linear)][-1]
    assert features.shape == (5, head.in_features)
    assert torch.allclose(head(features).reshape(-1), logits.reshape(-1), atol=1e-6)


def test_three_phases_update_disjoint_networks():
    family = VAEGANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8)
    phases = family.phases()
    assert [p.name for p in phases] == ["encoder", "decoder", "discriminator"]
    owned = [{id(p) for p in family.parameters_of(phase.modules)} for phase in phases]
    assert all(owned) and not (owned[0] & owned[1] or owned[0] & owned[2] or owned[1] & owned[2])
    assert FAMILIES.get("vaegan").capabilities == frozenset({"encoder", "adversarial"})


def test_losses_follow_larsens_weighting():
    torch.manual_seed(0)
    family = VAEGANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8,
                          settings=VAEGANSettings(gamma=0.25))
    batch = Batch(torch.randn(16, 2))
    torch.manual_seed(1)
    encoder = family.encoder_loss(batch)
    assert torch.allclose(encoder["loss"], encoder["kl"] + encoder["feature_reconstruction"])
    torch.manual_seed(1)  # the same codes and prior samples: the same feature term
    decoder = family.decoder_loss(batch)
    assert torch.allclose(decoder["loss"], 0.25 * encoder["feature_reconstruction"] + decoder["g_loss"])
    assert float(family.discriminator_loss(batch)["d_loss"].detach()) > 0


def test_trains_encodes_and_samples_images():
    x = torch.rand(64, 1, 8, 8)
    model = ganvae.Model.of("vaegan", arch="mlp", steps=6, batch_size=16, hidden=16, latent_dim=3).fit(x.numpy())
    assert model.encode(x[:4].numpy()).shape == (4, 3)
    reconstructions = model.reconstruct(x[:4].numpy())
    assert reconstructions.shape == (4, 1, 8, 8) and 0 <= reconstructions.min() and reconstructions.max() <= 1
    assert model.sample(3, seed=0).shape == (3, 1, 8, 8)
    with pytest.raises(ganvae.ConfigError, match="has no likelihood"):
        model.score(x[:4].numpy())
