"""Turn a partly filled RunConfig into a complete one, asking the registries for every default.

A None in the config means "the default for this family, architecture and data": the family's `defaults`,
changed by its preset for the architecture (the article's `seed` settings), the architecture's width, and
the latent size rule. The result is what a run folder's config.json holds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..config import RunConfig, validate
from ..data.base import VECTOR
from ..nets import ARCHS, AUTO, resolve_arch
from .base import FAMILIES, Family, make_settings, settings_dict

VECTOR_LATENT_MAX = 16  # vectors of D features get min(D, 16) latent dimensions (at least 2)


def default_latent_dim(family: type[Family], kind: str, data_shape: tuple[int, ...]) -> int:
    if kind == VECTOR:
        return max(2, min(int(data_shape[0]), VECTOR_LATENT_MAX))
    return family.defaults.latent_dim


def check_model(cfg: RunConfig) -> RunConfig:
    """validate(cfg), then what only the registries know: the family, its settings and the architecture.
    Raises a ConfigError naming the flag."""
    cfg = validate(cfg)
    make_settings(FAMILIES.get(cfg.model.family), cfg.model.settings)
    if cfg.model.arch != AUTO:
        ARCHS.get(cfg.model.arch)
    return cfg


def resolve(cfg: RunConfig, kind: str, data_shape: tuple[int, ...]) -> RunConfig:
    """Fill every None with the default for this family, architecture and data; return a complete config."""
    cfg = check_model(cfg)
    family = FAMILIES.get(cfg.model.family)
    arch = ARCHS.get(resolve_arch(cfg.model.arch, kind, data_shape))
    d = family.defaults
    preset: dict[str, Any] = dict(lr=d.lr, betas=d.betas, batch_size=d.batch_size, epochs=d.epochs,
                                  latent_dim=default_latent_dim(family, kind, data_shape), hidden=arch.default_hidden)
    named = dict(family.presets.get(arch.name, {}))
    hidden_image = named.pop("hidden_image", None)
    if hidden_image is not None and kind != VECTOR:
        named["hidden"] = hidden_image
    preset.update(named)
    model = replace(
        cfg.model,
        arch=arch.name,
        latent_dim=cfg.model.latent_dim or preset["latent_dim"],
        hidden=cfg.model.hidden or preset["hidden"],
        settings=settings_dict(make_settings(family, cfg.model.settings)),
    )
    optim = replace(
        cfg.optim,
        lr=cfg.optim.lr or preset["lr"],
        betas=tuple(cfg.optim.betas or preset["betas"]),
        batch_size=cfg.optim.batch_size or preset["batch_size"],
    )
    budget = cfg.budget
    if budget.epochs is None and budget.steps is None and budget.minutes is None:
        budget = replace(budget, epochs=preset["epochs"])
    return replace(cfg, model=model, optim=optim, budget=budget)
