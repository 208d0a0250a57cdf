"""The contract every registered architecture keeps, for every data shape its `check` accepts."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from ganvae.errors import ConfigError
from ganvae.nets import ARCHS, Architecture

SHAPES = [(2,), (5,), (1, 8, 8), (1, 28, 28), (3, 32, 32)]
BATCH = 4
LATENT_DIM = 3
HIDDEN = 8


def kind_of(shape: tuple[int, ...]) -> str:
    return "vector" if len(shape) == 1 else "image"


def supports(name: str, shape: tuple[int, ...]) -> bool:
    try:
        ARCHS.get(name).check(kind_of(shape), shape)
    except ConfigError:
        return False
    return True


CASES = [pytest.param(name, shape, id=f"{name}-{'x'.join(map(str, shape))}")
         for name in ARCHS.names() for shape in SHAPES]


def build_all(name: str, shape: tuple[int, ...]) -> dict[str, nn.Module]:
    """The four networks of one architecture for one shape; skips the test if `check` rejects the shape."""
    if not supports(name, shape):
        pytest.skip(f"{name} does not support {shape}")
    arch = ARCHS.get(name)
    return {
        "generator": arch.generator(LATENT_DIM, shape, HIDDEN),
        "discriminator": arch.discriminator(shape, HIDDEN),
        "encoder": arch.encoder(shape, LATENT_DIM, HIDDEN),
        "decoder": arch.decoder(LATENT_DIM, shape, HIDDEN),
    }


def inputs(role: str, shape: tuple[int, ...], batch: int = BATCH) -> torch.Tensor:
    if role in ("generator", "decoder"):
        return torch.randn(batch, LATENT_DIM)  # z (B, latent_dim)
    return torch.rand(batch, *shape) * 2 - 1  # x (B, *data_shape)


def outputs(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Every tensor a network returns, as a list (the encoder returns mu and logvar)."""
    out = net(x)
    return list(out) if isinstance(out, tuple) else [out]


def test_registry_holds_the_three_architectures():
    assert ARCHS.what == "architecture"
    assert {"seed", "mlp", "conv"} <= set(ARCHS.names())
    for name in ARCHS.names():
        arch = ARCHS.get(name)
        assert isinstance(arch, Architecture)
        assert arch.name == name


@pytest.mark.parametrize("name, shape", CASES)
def test_output_shapes_and_dtypes(name, shape):
    torch.manual_seed(0)
    nets = build_all(name, shape)
    for role in ("generator", "decoder"):
        x = nets[role](inputs(role, shape))
        assert x.shape == (BATCH, *shape), role
        assert x.dtype == torch.float32, role
    logits = nets["discriminator"](inputs("discriminator", shape))
    assert logits.shape == (BATCH,)
    assert logits.dtype == torch.float32
    posterior = nets["encoder"](inputs("encoder", shape))
    assert isinstance(posterior, tuple) and len(posterior) == 2
    mu, logvar = posterior
    assert mu.shape == logvar.shape == (BATCH, LATENT_DIM)
    assert mu.dtype == logvar.dtype == torch.float32
    assert torch.isfinite(mu).all() and torch.isfinite(logvar).all()


@pytest.mark.parametrize("name, shape", CASES)
def test_gradients_reach_every_parameter(name, shape):
    torch.manual_seed(0)
    for role, net in build_all(name, shape).items():
        # A random weighting, so that no normalisation layer can cancel the gradient of a plain sum.
        loss = sum((out * torch.randn_like(out)).sum() for out in outputs(net, inputs(role, shape)))
        loss.backward()
        for param_name, param in net.named_parameters():
            assert param.grad is not None, f"{role}.{param_name} got no gradient"
            assert torch.isfinite(param.grad).all(), f"{role}.{param_name}"
            assert param.grad.abs().sum() > 0, f"{role}.{param_name} got a zero gradient"


@pytest.mark.parametrize("name, shape", CASES)
def test_same_seed_gives_identical_parameters(name, shape):
    def parameters(seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(seed)
        return {f"{role}.{key}": value for role, net in build_all(name, shape).items()
                for key, value in net.state_dict().items()}

    first, again, other = parameters(0), parameters(0), parameters(1)
    assert first.keys() == again.keys()
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert any(not torch.equal(first[key], other[key]) for key in first)


@pytest.mark.parametrize("name, shape", CASES)
def test_forward_has_no_hidden_state(name, shape):
    """Training and evaluation mode agree, and a forward pass changes no buffer (no running averages)."""
    torch.manual_seed(0)
    for role, net in build_all(name, shape).items():
        x = inputs(role, shape)
        before = {key: value.clone() for key, value in net.state_dict().items()}
        with torch.no_grad():
            trained = outputs(net.train(), x)
            evaluated = outputs(net.eval(), x)
        for a, b in zip(trained, evaluated):
            torch.testing.assert_close(a, b, msg=f"{role} differs between train() and eval()")
        after = net.state_dict()
        assert all(torch.equal(before[key], after[key]) for key in before), role


@pytest.mark.parametrize("name, shape", CASES)
def test_each_example_is_scored_on_its_own(name, shape):
    """The discriminator, encoder and decoder give an example the same output alone as in a batch.

    The VAE's likelihood and the discriminator's per-example logits rely on this; only a generator
    may normalise over its batch.
    """
    torch.manual_seed(0)
    nets = build_all(name, shape)
    for role in ("discriminator", "encoder", "decoder"):
        x = inputs(role, shape)
        with torch.no_grad():
            in_batch = [out[:1] for out in outputs(nets[role], x)]
            alone = outputs(nets[role], x[:1])
        for a, b in zip(in_batch, alone):
            torch.testing.assert_close(a, b, msg=f"{role} output depends on the rest of the batch")


@pytest.mark.parametrize("name", ARCHS.names())
@pytest.mark.parametrize("kind, shape", [("image", (5,)), ("vector", (1, 8, 8)), ("audio", (5,)),
                                         ("vector", (0,)), ("image", (1, 0, 8))])
def test_check_rejects_inconsistent_data(name, kind, shape):
    with pytest.raises(ConfigError):
        ARCHS.get(name).check(kind, shape)


@pytest.mark.parametrize("shape", [(2,), (5,), (1, 40, 40), (3, 64, 64), (1, 28, 32), (1, 16, 16)],
                         ids=str)
def test_conv_rejects_other_data_naming_the_sizes(shape):
    conv = ARCHS.get("conv")
    with pytest.raises(ConfigError) as raised:
        conv.check(kind_of(shape), shape)
    message = str(raised.value)
    assert "8x8, 28x28 or 32x32" in message
    assert "--arch mlp" in message
    assert "\n" not in message and message.count(". ") == 0  # one sentence
    described = f"vectors of {shape[0]} features" if len(shape) == 1 else f"images of {shape[1]}x{shape[2]} pixels"
    assert described in message
    # Building a network for such data fails with the same sentence, not deep inside a tensor op.
    with pytest.raises(ConfigError, match="8x8, 28x28 or 32x32"):
        conv.generator(LATENT_DIM, shape, HIDDEN)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 8, 8), (1, 28, 28), (4, 28, 28), (1, 32, 32), (3, 32, 32)],
                         ids=str)
def test_conv_accepts_its_sizes_with_any_channel_count(shape):
    ARCHS.get("conv").check("image", shape)


def linear_sizes(net: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]


def test_seed_gan_has_the_article_layer_sizes():
    seed = ARCHS.get("seed")
    generator = seed.generator(100, (1, 28, 28), 128)
    discriminator = seed.discriminator((1, 28, 28), 128)
    assert linear_sizes(generator) == [(100, 128), (128, 784)]
    assert linear_sizes(discriminator) == [(784, 128), (128, 128), (128, 1)]
    assert [type(m) for m in generator if not isinstance(m, (nn.Linear, nn.Unflatten))] == [nn.ReLU]
    slopes = [m.negative_slope for m in discriminator if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2, 0.2]
    # The article reshaped to 128x4x4; the generator's output is an MNIST image.
    assert generator(torch.randn(2, 100)).shape == (2, 1, 28, 28)


def test_seed_vae_has_the_article_layer_sizes_on_circles():
    seed = ARCHS.get("seed")
    encoder = seed.encoder((2,), 2, 4)
    decoder = seed.decoder(2, (2,), 4)
    assert linear_sizes(encoder) == [(2, 4), (4, 2), (4, 2)]  # body, then the mu and logvar heads
    assert linear_sizes(decoder) == [(2, 4), (4, 2)]


@pytest.mark.parametrize("name, shape", CASES)
def test_generator_and_decoder_have_no_output_activation(name, shape):
    """Raw outputs: a large bias on the last layer passes straight through, which tanh or sigmoid would bound."""
    torch.manual_seed(0)
    nets = build_all(name, shape)
    for role in ("generator", "decoder"):
        last = [m for m in nets[role].modules() if getattr(m, "bias", None) is not None][-1]
        with torch.no_grad():
            last.bias.fill_(5.0)
            assert (nets[role](inputs(role, shape)) > 1.5).any(), role


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from([n for n in ARCHS.names() if n != "conv"]),
       shape=st.one_of(st.tuples(st.integers(1, 40)),
                       st.tuples(st.integers(1, 3), st.integers(1, 12), st.integers(1, 12))))
def test_flat_architectures_handle_any_shape(name, shape):
    arch = ARCHS.get(name)
    arch.check(kind_of(shape), shape)
    generated = arch.generator(LATENT_DIM, shape, HIDDEN)(torch.randn(2, LATENT_DIM))
    assert generated.shape == (2, *shape)
    assert arch.discriminator(shape, HIDDEN)(generated).shape == (2,)
    mu, logvar = arch.encoder(shape, LATENT_DIM, HIDDEN)(generated)
    assert mu.shape == logvar.shape == (2, LATENT_DIM)
    assert arch.decoder(LATENT_DIM, shape, HIDDEN)(mu).shape == (2, *shape)
