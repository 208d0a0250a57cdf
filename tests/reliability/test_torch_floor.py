"""torch.load(weights_only=True) is unsafe below torch 2.10 (CVE-2025-32434: code execution below 2.6;
CVE-2026-24747: memory-safety bugs fixed in 2.10): ganvae requires 2.10 and refuses to load checkpoints on older."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import ganvae
from ganvae.errors import RunError
from ganvae.train.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_requires_torch_2_10():
    tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch>=2.10,<2.14" in dependencies


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = ganvae.GAN(arch="mlp", hidden=16, batch_size=32, steps=2, device="cpu").fit("ring8")
    return model.save(tmp_path_factory.mktemp("floor") / "model.pt")


@pytest.mark.parametrize("old", ["2.5.1+cpu", "2.9.1", "1.13.0"])
def test_an_older_torch_refuses_to_load_a_checkpoint(saved_model, monkeypatch, cli, tools, tmp_path, old):
    monkeypatch.setattr(torch, "__version__", old)
    with pytest.raises(RunError, match=rf"torch {old.replace('+', '[+]')} cannot load checkpoints safely.*"
                                       r"CVE-2025-32434.*torch>=2\.10"):
        load_checkpoint(saved_model)
    code, out, err = cli("sample", saved_model, "-n", "5", "-o", tmp_path / "s.npy")
    assert code == 1 and not (tmp_path / "s.npy").exists()
    assert f"torch {old} cannot load checkpoints safely" in tools.one_line(err)


@pytest.mark.parametrize("new", ["2.10.0", "2.13.0+cpu", "2.11.0a0+git1234"])
def test_torch_2_10_and_newer_load_it(saved_model, monkeypatch, new):
    monkeypatch.setattr(torch, "__version__", new)
    assert "family_state" in load_checkpoint(saved_model)
