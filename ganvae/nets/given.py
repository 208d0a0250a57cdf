"""Your own networks in a family: `GAN(generator=g, discriminator=d)`, `VAE(encoder=e, decoder=d)`.

The modules are used as they are and trained in place (after fit, `g` is the trained generator); a network not
given is built by the chosen architecture as usual. They must follow the contract of `nets.base`: a generator
or decoder maps z (B, latent_dim) to raw x (B, *data_shape) (the family applies tanh or the Bernoulli logits), a
discriminator maps x to one logit per example, (B,) or (B, 1), an encoder maps x to (mu, logvar), each
(B, latent_dim). `check_networks` runs each given module once on a dummy batch of two and turns a mismatch into
one sentence. A checkpoint of such a model records the modules' class names; loading it needs new instances of
those classes (`ganvae.load(path, generator=MyGenerator(), ...)`), since ganvae cannot rebuild them.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
from torch import nn

from ..errors import ConfigError, RunError
from .base import Architecture

Z_TO_X = ("generator", "decoder")


def take_networks(family_cls, values: dict[str, Any]) -> dict[str, nn.Module]:
    """Remove from `values` (a model's keyword arguments) the nn.Modules named as `family_cls`'s networks and
    return them; ConfigError for a module under another name, or for a family that takes none."""
    modules = {name: value for name, value in values.items() if isinstance(value, nn.Module)}
    if not modules:
        return {}
    own = tuple(getattr(family_cls, "networks", ()))
    if "conditional" in family_cls.capabilities or not own:
        raise ConfigError(f"the {family_cls.name} family does not take networks of your own "
                          f"({', '.join(f'{name}=' for name in modules)}); GAN(generator=..., discriminator=...) "
                          f"and VAE(encoder=..., decoder=...) do")
    unknown = [name for name in modules if name not in own]
    if unknown:
        raise ConfigError(f"{', '.join(f'{name}=' for name in unknown)} is not a network of the {family_cls.name} "
                          f"family; its networks are {', '.join(f'{name}=' for name in own)}")
    for name in modules:
        del values[name]
    return modules


def latent_size(networks: Mapping[str, nn.Module]) -> Optional[int]:
    """The latent size a given generator or decoder expects: the inputs of its first nn.Linear, if it has one."""
    for name in Z_TO_X:
        if name in networks:
            first = next((m for m in networks[name].modules() if isinstance(m, nn.Linear)), None)
            return None if first is None else int(first.in_features)
    return None


def class_names(networks: Mapping[str, nn.Module]) -> dict[str, str]:
    """What a checkpoint records of each network: its class as module.QualifiedName."""
    return {name: f"{type(net).__module__}.{type(net).__qualname__}" for name, net in networks.items()}


def _shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _one_line(exc: Exception) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def check_networks(networks: Mapping[str, nn.Module], latent_dim: int, data_shape: tuple[int, ...]) -> None:
    """Run each given network once on a dummy batch of 2 (eval mode, no gradient, random state kept) and raise
    a ConfigError naming the network and both shapes when its input or output does not fit the data."""
    data_shape = tuple(data_shape)
    batch = 2
    flags = {name: net.training for name, net in networks.items()}
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            for name, net in networks.items():
                net.eval()  # no batch-norm statistics are updated by the dummy batch
                parameter = next(net.parameters(), None)
                device = parameter.device if parameter is not None else torch.device("cpu")
                if name in Z_TO_X:
                    z = torch.randn(batch, latent_dim, device=device)
                    try:
                        out = net(z)
                    except Exception as exc:
                        raise ConfigError(f"the {name} cannot take z of shape (B, {latent_dim}) ({_one_line(exc)}); "
                                          f"give latent_dim= the size its input expects") from None
                    got = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else None
                    if got != data_shape or out.shape[0] != batch:
                        what = _shape(got) if got is not None else f"a {type(out).__name__}"
                        raise ConfigError(f"the {name} maps z of {latent_dim} to {what} but the data is "
                                          f"{_shape(data_shape)}; make its output "
                                          f"(B, {', '.join(map(str, data_shape))})")
                    continue
                x = torch.rand(batch, *data_shape, device=device)
                try:
                    out = net(x)
                except Exception as exc:
                    raise ConfigError(f"the {name} cannot take data of shape (B, {', '.join(map(str, data_shape))}) "
                                      f"({_one_line(exc)}); make its input fit the data") from None
                if name == "discriminator":
                    if not isinstance(out, torch.Tensor) or tuple(out.shape) not in ((batch,), (batch, 1)):
                        got = _shape(out.shape[1:]) if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
                        raise ConfigError(f"the discriminator maps data of {_shape(data_shape)} to {got} per example; "
                                          f"it must give one logit per example: (B,) or (B, 1)")
                elif name == "encoder":
                    shapes = [tuple(t.shape) for t in out] if isinstance(out, (tuple, list)) and all(
                        isinstance(t, torch.Tensor) for t in out) else None
                    if shapes != [(batch, latent_dim)] * 2:
                        got = ", ".join(_shape(s[1:]) for s in shapes) if shapes else f"a {type(out).__name__}"
                        raise ConfigError(f"the encoder maps data of {_shape(data_shape)} to {got}; it must give "
                                          f"(mu, logvar), each (B, {latent_dim}) for latent_dim {latent_dim}")
    finally:
        for name, net in networks.items():
            net.train(flags[name])


def check_recorded(recorded: Optional[Mapping[str, str]], given: Mapping[str, nn.Module], where: str,
                   label: str) -> None:
    """RunError when a checkpoint made with networks of your own is loaded without them (naming their
    classes), or with other ones; ConfigError when networks are given for one made with ganvae's own."""
    recorded = dict(recorded or {})
    if recorded and set(given) != set(recorded):
        classes = ", ".join(f"{name}: {cls}" for name, cls in recorded.items())
        example = ", ".join(f"{name}={cls.rsplit('.', 1)[-1]}(...)" for name, cls in recorded.items())
        raise RunError(f"{where} holds a {label} trained with networks of your own ({classes}), which ganvae cannot "
                       f"rebuild; load it in Python with new instances of those classes: "
                       f"ganvae.load(path, {example})")
    if given and not recorded:
        raise ConfigError(f"{where} was trained with ganvae's own networks, not yours; leave out "
                          f"{', '.join(f'{name}=' for name in given)}")


class GivenNetworks(Architecture):
    """The architecture `base`, with the networks in `networks` replaced by the given modules."""

    def __init__(self, base: Architecture, networks: Mapping[str, nn.Module]):
        self.base = base
        self.networks = dict(networks)
        self.name = base.name
        self.summary = f"{base.summary}, with your own {', '.join(self.networks)}"
        self.default_hidden = base.default_hidden
        self.kind: Optional[str] = None

    def check(self, kind, data_shape):
        Architecture.check(self, kind, data_shape)
        self.kind = kind

    def _built_by_base(self, data_shape) -> Architecture:
        self.base.check(self.kind, data_shape)  # only a network the base builds must suit it
        return self.base

    def generator(self, latent_dim, data_shape, hidden):
        return self.networks.get("generator") if "generator" in self.networks else \
            self._built_by_base(data_shape).generator(latent_dim, data_shape, hidden)

    def discriminator(self, data_shape, hidden):
        return self.networks.get("discriminator") if "discriminator" in self.networks else \
            self._built_by_base(data_shape).discriminator(data_shape, hidden)

    def encoder(self, data_shape, latent_dim, hidden):
        return self.networks.get("encoder") if "encoder" in self.networks else \
            self._built_by_base(data_shape).encoder(data_shape, latent_dim, hidden)

    def decoder(self, latent_dim, data_shape, hidden):
        return self.networks.get("decoder") if "decoder" in self.networks else \
            self._built_by_base(data_shape).decoder(latent_dim, data_shape, hidden)
