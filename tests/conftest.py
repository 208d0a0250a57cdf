import os

import pytest
import torch

from ganvae.cli import main

# Keep the suite quick and repeatable on two cores.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's real cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


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
