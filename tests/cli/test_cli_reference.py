"""docs/cli.md is what scripts/cli_reference.py writes from the parser now, so the reference cannot rot."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cli_reference.py"


def test_docs_cli_md_is_what_the_parser_says_now():
    # A fresh interpreter: only the families ganvae registers itself (tests register extra ones for a while).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr


def test_the_reference_lists_every_command_and_flag_with_its_help():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import cli_reference
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    from ganvae.cli import build_parser

    text = cli_reference.render()
    parser = build_parser()
    commands = cli_reference._subcommands(parser).choices
    for name, command in commands.items():
        assert f"## ganvae {name}\n" in text
        for action in command._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in text, (name, flag)
    assert "| `--n-examples N`, `--n-samples N` | toy sets: points to draw" in text
    assert "| `--seeds SEEDS` | seeds per family (default 3) |  | `3` |" in text
