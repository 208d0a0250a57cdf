"""A family is an objective that declares its phases; the one training loop runs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..registry import Registry

LossDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Phase:
    """One optimisation step of a family.

    modules: names (keys of `family.nets`) whose parameters this phase's optimiser updates.
    loss: batch -> dict of named scalars; the key "loss" is minimised, the others are only reported.
    every: run this phase on every n-th step (for example a penalty or n_critic schedules).
    """

    name: str
    modules: tuple[str, ...]
    loss: Callable[[torch.Tensor], LossDict]
    every: int = 1


class Family(nn.Module):
    """Holds the plain networks of one model family in `self.nets` and declares its phases.

    Subclasses set `name`, build `self.nets`, and implement `phases()` and `sample()`.
    Data convention: images arrive in [0, 1] as (B, C, H, W); vectors as (B, D) in model space.
    `capabilities` declares what the family offers beyond sampling ("encoder": maps data to latent codes,
    "likelihood": bounds log p(x)); metrics, figures and advice that need one read it instead of the name.
    """

    name: str = ""
    capabilities: frozenset[str] = frozenset()

    def __init__(self, kind: str, data_shape: tuple[int, ...], latent_dim: int):
        super().__init__()
        self.kind = kind
        self.data_shape = tuple(data_shape)
        self.latent_dim = latent_dim
        self.nets = nn.ModuleDict()

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def initialize_from_data(self, x: torch.Tensor) -> None:
        """Data-dependent initialisation, called once before a new run's first step (not on resume)."""

    def sample(self, n_samples: int) -> torch.Tensor:
        """Draw n samples in data space: images in [0, 1], vectors in model space."""
        raise NotImplementedError

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Map codes z (B, latent_dim) to data space, without sampling noise (for interpolations)."""
        raise NotImplementedError

    def noise(self, n_samples: int) -> torch.Tensor:
        return torch.randn(n_samples, self.latent_dim, device=self.device)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def parameters_of(self, names: tuple[str, ...]) -> list[nn.Parameter]:
        """The parameters a phase updates: whole networks from `nets`, or single parameters by attribute."""
        params: list[nn.Parameter] = []
        for name in names:
            if name in self.nets:
                params.extend(self.nets[name].parameters())
            else:
                params.append(getattr(self, name))
        return params

    def n_parameters(self) -> dict[str, int]:
        return {name: sum(p.numel() for p in net.parameters()) for name, net in self.nets.items()}


FAMILIES: Registry[type[Family]] = Registry("family")
