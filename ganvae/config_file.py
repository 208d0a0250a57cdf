"""Run configs as TOML files: `ganvae train --config run.toml`, and the TOML `--print-config --format toml` prints.

A file has the shape of `RunConfig.to_dict()`: top-level `seed`, `device`, `log_every`, `checkpoint_every`, and
the sections [data], [model] (with the family's own settings in [model.settings]), [optim], [budget]; a setting
left out takes its default (TOML has no null). The
settings become the `ganvae train` flags they stand for (`as_train_flags`), so the same parser checks them and
a bad value gives the same one-line error as the flag.
"""

from __future__ import annotations

import math
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

from .config import OLD_KEYS, BudgetConfig, DataConfig, ModelConfig, OptimConfig, RunConfig, renamed_keys
from .errors import ConfigError
from .families import FAMILIES, flag_of

SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "budget": BudgetConfig}
TOP_LEVEL = tuple(f.name for f in fields(RunConfig) if f.name not in SECTIONS)

# (section or None for top level, field) -> the `ganvae train` flag that sets it. model.family is the
# positional argument; data.download is the --no-download switch; optim.betas has no flag (see as_train_flags).
TRAIN_FLAGS = {
    ("data", "name"): "--data", ("data", "split"): "--split", ("data", "n_examples"): "--n-examples",
    ("data", "n_samples"): "--n-samples",  # the old name of n_examples (check_keys refuses both at once)
    ("data", "seed"): "--data-seed", ("data", "data_dir"): "--data-dir", ("data", "image_size"): "--image-size",
    ("model", "arch"): "--arch", ("model", "latent_dim"): "--latent-dim", ("model", "hidden"): "--hidden",
    ("optim", "lr"): "--lr", ("optim", "batch_size"): "--batch-size",
    ("budget", "epochs"): "--epochs", ("budget", "steps"): "--steps", ("budget", "minutes"): "--minutes",
    (None, "seed"): "--seed", (None, "device"): "--device", (None, "precision"): "--precision",
    (None, "log_every"): "--log-every",
    (None, "checkpoint_every"): "--checkpoint-every",
}


def read_config_file(path: Union[str, Path]) -> dict[str, Any]:
    """The settings in a TOML file, shaped like RunConfig.to_dict() but holding only the keys the file sets."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--config {path}: no such file; write one with `ganvae train ... --print-config "
                          f"--format toml > {path.name}`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config {path} cannot be read ({getattr(exc, 'strerror', None) or exc}); "
                          f"give a UTF-8 TOML file") from None
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path} is not valid TOML ({exc}); fix that line") from None
    check_keys(settings, path)
    return settings


def check_keys(settings: dict[str, Any], path: Union[str, Path]) -> None:
    """Every key must be a RunConfig field, and each section a table; a typo names the key and the known ones."""
    for key, value in settings.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"--config {path}: {key!r} must be a section [{key}], not a value")
            known = [f.name for f in fields(SECTIONS[key])]
            old_names = OLD_KEYS.get(key, {})  # earlier versions' names, still read
            renamed_keys(value, old_names, f"--config {path}: [{key}]")  # both names at once: an error
            for sub_key in value:
                if sub_key not in known and sub_key not in old_names:
                    raise ConfigError(f"--config {path}: unknown key {sub_key!r} in [{key}]; known keys: "
                                      f"{', '.join(known)}")
            if key == "model" and not isinstance(value.get("settings", {}), dict):
                raise ConfigError(f"--config {path}: 'settings' in [model] must be a section [model.settings] of "
                                  f"the family's own settings, not a value")
        elif key not in TOP_LEVEL:
            raise ConfigError(f"--config {path}: unknown key {key!r}; known keys: {', '.join(TOP_LEVEL)} and the "
                              f"sections {', '.join(f'[{name}]' for name in SECTIONS)}")


def as_train_flags(settings: dict[str, Any], path: Union[str, Path]) -> list[str]:
    """The `ganvae train` arguments that say what the file says, e.g. ["gan", "--data", "ring8", "--lr", "0.001"]."""
    arguments: list[str] = []
    model = settings.get("model", {})
    if "family" in model:
        arguments.append(_flag_text(model["family"]))
    for (section, key), flag in TRAIN_FLAGS.items():
        table = settings if section is None else settings.get(section, {})
        if key in table:
            arguments += [flag, _flag_text(table[key])]
    for key, value in model.get("settings", {}).items():  # the family's settings are flags too (--kl-weight ...)
        arguments += [flag_of(key), _flag_text(value)]
    download = settings.get("data", {}).get("download", True)
    if download is False:
        arguments.append("--no-download")
    elif download is not True:
        raise ConfigError(f"--config {path}: download in [data] must be true or false, not {download!r}")
    betas = settings.get("optim", {}).get("betas")
    if betas is not None:
        family = model.get("family")
        if family not in FAMILIES:
            raise ConfigError(f"--config {path}: betas in [optim] needs the family in [model]; `ganvae train` uses "
                              f"the family's default betas")
        default = list(FAMILIES.get(family).defaults.betas)
        # `ganvae train` has no flag for Adam's betas: the file may state the default, which is what runs.
        if betas != default:
            raise ConfigError(f"--config {path}: betas in [optim] is {betas!r}, but `ganvae train` always uses "
                              f"{default} for a {family}; remove it, or set betas through the Python API "
                              f"(ganvae.Model.of({family!r}, betas=...))")
    return arguments


def _flag_text(value: Any) -> str:
    """A TOML value as the command line would spell it, so the flag's own parser judges it."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return repr(value)  # never a valid flag value: the parser's error names the flag
    return str(value)


def to_toml(config: Union[RunConfig, dict[str, Any]]) -> str:
    """A run config as TOML that read_config_file reads back; settings that are None are left out."""
    settings = config.to_dict() if isinstance(config, RunConfig) else config
    lines = ["# A ganvae run config: `ganvae train --config FILE` reads it; flags given with it override it.",
             "# A setting left out takes its default."]
    for key in TOP_LEVEL:
        if settings.get(key) is not None:
            lines.append(f"{key} = {toml_value(settings[key])}")
    for section in SECTIONS:
        lines += ["", f"[{section}]"]
        tables = []
        for key, value in settings.get(section, {}).items():
            if isinstance(value, dict):  # [model.settings]: a table after the section's own keys
                tables.append((key, value))
            elif value is not None:
                lines.append(f"{key} = {toml_value(value)}")
        for key, table in tables:
            if table:
                lines += ["", f"[{section}.{key}]"] + [f"{k} = {toml_value(v)}" for k, v in table.items()
                                                       if v is not None]
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """The TOML spelling of the values a RunConfig holds: strings, booleans, numbers and lists of numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"a run config holds no {type(value).__name__} values")
