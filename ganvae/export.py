"""Export a trained generator (GAN) or decoder (VAE) as a standalone TorchScript or ONNX file.

The exported module computes exactly what ganvae computes for given latent codes: z (B, latent_dim) ->
`family.from_latent(z)` -> the data's original units (the `_to_original` of the Python API), so images come
out in [0, 1] as (B, C, H, W) and vectors as (B, D) in the units of the CSV they were trained on. A conditional
family's file takes the class of each code too: (z (B, latent_dim), labels (B,) int64) -> x. It is traced
from `from_latent` in eval mode, so whatever that function does (its activations, its normalisation) is what
the file does; loading it needs only torch (`torch.jit.load`) or an ONNX runtime, not ganvae.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional, Union

import torch
from torch import nn

from ._version import __version__
from .errors import ConfigError, RunError
from .families import Family
from .storage import atomic_write_bytes

FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}
METADATA_NAME = "ganvae.json"  # TorchScript: an extra file in the archive; ONNX: a metadata_props key
EXAMPLE_BATCH = 4  # batch of the example codes the module is traced with (every batch size works after)
ONNX_OPSET = 18


class LatentToData(nn.Module):
    """z (B, latent_dim) -> samples in data space and the data's original units, (B, *data_shape); a conditional
    family's module takes labels (B,) int64 as its second input."""

    def __init__(self, family: Family, offset: Optional[list[float]], scale: Optional[list[float]]):
        super().__init__()
        self.family = family
        self.conditional = "conditional" in family.capabilities
        self.standardised = offset is not None
        # Vectors standardised from a CSV: original = x * scale + offset, per feature (D,).
        self.register_buffer("offset", torch.tensor(offset or [0.0], dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale or [1.0], dtype=torch.float32))

    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.family.from_latent(z, labels) if self.conditional else self.family.from_latent(z)
        if self.standardised:
            x = x * self.scale + self.offset
        return x


def network_name(family_name: str) -> str:
    """What the exported module is to a user: a VAE's decoder (a family with an encoder), else the generator."""
    from .families import capabilities_of

    return "decoder" if "encoder" in capabilities_of(family_name) else "generator"


def default_export_path(run: Union[str, Path], family_name: str, fmt: str) -> Path:
    """RUN/generator.pt for a run folder; NAME.generator.pt beside a checkpoint file (the suffix by format)."""
    run = Path(run)
    filename = f"{network_name(family_name)}{FORMATS[fmt]}"
    return run / filename if run.is_dir() else run.with_name(f"{run.stem}.{filename}")


def format_for(path: Optional[Union[str, Path]], fmt: Optional[str]) -> str:
    """The format asked for, or the one the file name implies (.onnx -> onnx, otherwise torchscript)."""
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    implied = "onnx" if path is not None and Path(path).suffix.lower() == ".onnx" else None
    if fmt is None:
        return implied or "torchscript"
    if fmt == "torchscript" and implied == "onnx":
        raise ConfigError(f"-o {path} ends in .onnx but --format is torchscript; use --format onnx or a .pt name")
    return fmt


def latent_module(model) -> LatentToData:
    """A CPU copy of a fitted model's generator or decoder path, in eval mode, as one nn.Module."""
    family = copy.deepcopy(model._check_fitted()).cpu().eval()
    family.requires_grad_(False)  # a sampler: its outputs need no graph, wherever it is loaded
    with torch.no_grad():  # once before tracing: whatever from_latent prepares on first use (a conv generator's
        z = torch.zeros(1, family.latent_dim)  # reference BatchNorm statistics) is then fixed
        if "conditional" in family.capabilities:
            family.from_latent(z, torch.zeros(1, dtype=torch.long))
        else:
            family.from_latent(z)
    info = model.data_info_ or {}
    return LatentToData(family, info.get("offset"), info.get("scale")).eval()


def export(model_or_run, path: Optional[Union[str, Path]] = None, format: Optional[str] = None) -> Path:
    """Write the generator (GAN) or decoder (VAE) of a fitted model, a run folder or a checkpoint to `path`.

    format: "torchscript" (load with `torch.jit.load(path)`) or "onnx" (needs the onnx and onnxscript
    packages; run with onnxruntime, input "z", and "labels" for a conditional family); by default the one `path`'s suffix implies, else torchscript.
    path: by default RUN/generator.pt (or decoder.pt, .onnx) for a run folder. Returns the path written.
    The module maps z (B, latent_dim) to samples: images (B, C, H, W) in [0, 1], vectors (B, D) in the
    data's original units; a conditional family's takes labels (B,) int64, the class of each code, too.
    """
    from .api import load

    model = load(model_or_run) if isinstance(model_or_run, (str, Path)) else model_or_run
    fmt = format_for(path, format)
    family_name = model.family_name
    if path is None:
        if not isinstance(model_or_run, (str, Path)):
            raise ConfigError("export() of a model in memory needs a path to write to")
        path = default_export_path(model_or_run, family_name, fmt)
    path = Path(path)
    module = latent_module(model)
    metadata = {
        "ganvae_version": __version__,
        "family": family_name,
        "network": network_name(family_name),
        "latent_dim": int(module.family.latent_dim),
        "data_shape": list(module.family.data_shape),
        "kind": module.family.kind,
        "output": "images in [0, 1]" if module.family.kind == "image" else "vectors in the data's original units",
        "config": model.config_.to_dict() if model.config_ is not None else None,
        "inputs": ["z", "labels"] if module.conditional else ["z"],
    }
    if module.conditional:
        metadata["n_classes"] = int(module.family.n_classes)
        metadata["class_names"] = [str(n) for n in (model.data_info_ or {}).get("class_names") or []]
    # Codes (and classes) to trace with, drawn without touching the caller's global random state.
    example = (torch.randn(EXAMPLE_BATCH, module.family.latent_dim, generator=torch.Generator().manual_seed(0)),)
    if module.conditional:
        example += (torch.arange(EXAMPLE_BATCH) % module.family.n_classes,)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the folder of {path} ({exc.strerror or exc}); "
                          f"choose a writable path") from None
    if fmt == "torchscript":
        atomic_write_bytes(path, torchscript_bytes(module, example, metadata))
    else:
        write_onnx(module, example, metadata, path)
    return path


def torchscript_bytes(module: nn.Module, example: tuple[torch.Tensor, ...], metadata: dict[str, Any]) -> bytes:
    with torch.no_grad(), warnings.catch_warnings():
        # BatchNorm's "is the batch more than one value" check reads a size as a Python bool; it only
        # guards a ValueError, so the trace is right for every batch size (the tests check 1 to 6).
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # torch >= 2.10 marks torch.jit deprecated in favour of torch.export; TorchScript files still load.
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(module, example, check_trace=False)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer, _extra_files={METADATA_NAME: json.dumps(metadata)})
    return buffer.getvalue()


def write_onnx(module: nn.Module, example: tuple[torch.Tensor, ...], metadata: dict[str, Any], path: Path) -> None:
    try:
        import onnx  # noqa: F401  (torch's ONNX exporter needs both)
        import onnxscript  # noqa: F401
    except ImportError:
        raise ConfigError("--format onnx needs the onnx and onnxscript packages: "
                          "pip install 'ganvae[onnx]' (or use --format torchscript)") from None
    batch = torch.export.Dim("batch")
    try:
        with torch.no_grad(), _quiet_exporter():
            program = torch.onnx.export(module, example, input_names=metadata["inputs"], output_names=["x"],
                                        dynamic_shapes=tuple({0: batch} for _ in example),
                                        opset_version=ONNX_OPSET, dynamo=True, verbose=False)
    except Exception as exc:  # the exporter raises many types; the user needs the reason in one line
        raise RunError(f"the ONNX exporter of torch {torch.__version__} failed ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0] if str(exc) else ''}); --format torchscript still works") from None
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_NAME, json.dumps(metadata)
    atomic_write_bytes(path, proto.SerializeToString())


@contextmanager
def _quiet_exporter():
    """The exporter logs notes (optional torchvision ops skipped) and deprecation warnings a user cannot act on."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def read_metadata(path: Union[str, Path], format: Optional[str] = None) -> dict[str, Any]:
    """The description an exported file carries (family, latent_dim, data_shape, config ...).

    format: "torchscript" or "onnx"; by default the one the file name implies."""
    path = Path(path)
    if format_for(path, format) == "onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        return json.loads(props[METADATA_NAME])
    files = {METADATA_NAME: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    return json.loads(files[METADATA_NAME])

