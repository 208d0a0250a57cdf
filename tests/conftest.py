import os

import pytest
import torch

from ganvae import api
from ganvae.cli import main
from ganvae.train import loop

# Keep the suite quick and repeatable on two cores.
torch.set_num_threads(min(2, os.cpu_count() or 1))

# Where a GPU is visible it is for the tests marked `gpu` (tests/train/test_cuda.py) alone; every other test trains
# on the CPU, as on CI, so that its exact comparisons hold there too (a run's samples against the same run loaded on
# the CPU, an exported file's output against ganvae's: a GPU's convolutions round differently). `--device auto` is
# the CPU from import on, so that module- and session-scoped fixtures train there too; the fixture below gives a
# `gpu` test the real choice back, and hides the GPU from the subprocesses of the others.
HAS_GPU = torch.cuda.is_available()
_REAL_RESOLVE_DEVICE = loop.resolve_device


def _cpu_for_auto(name: str) -> torch.device:
    return torch.device("cpu") if name == "auto" else _REAL_RESOLVE_DEVICE(name)


if HAS_GPU:
    loop.resolve_device = api.resolve_device = _cpu_for_auto


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _cpu_unless_marked_gpu(request, monkeypatch):
    if not HAS_GPU:
        return
    if request.node.get_closest_marker("gpu"):
        monkeypatch.setattr(loop, "resolve_device", _REAL_RESOLVE_DEVICE)
        monkeypatch.setattr(api, "resolve_device", _REAL_RESOLVE_DEVICE)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # torchrun, `ganvae` commands


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """`ganvae ARGV` in this process: (exit code, stdout, stderr). argparse's SystemExit becomes its code."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli(capsys):
    """Runs `ganvae ARGV` in this process: cli(*argv) -> (exit code, stdout, stderr)."""
    return lambda *argv: run_cli(capsys, *argv)
