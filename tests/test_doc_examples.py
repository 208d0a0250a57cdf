"""Every example in README.md and docs/*.md is exercised, so the documentation cannot drift from the code.

- Each ```python block runs, in a fresh namespace inside a temporary folder, with a small budget substituted
  (SMALL below, in the lines that call fit: minutes and epochs become 2 steps, Fashion-MNIST becomes the
  bundled digits) and the names it
  leaves to the reader defined (PRELUDE). A block that cannot run in a test is marked in the Markdown by an HTML
  comment on the line before it, `<!-- not-run: why -->`; it is still compiled.
- Each `ganvae ...` line of a ```bash block, the `-m ganvae ...` part of a `torchrun` line, and the Makefile's
  demo command are parsed by the CLI's own parser.
"""

import re
import shlex
from pathlib import Path

import pytest

from ganvae.cli import build_parser
from ganvae.families import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:<!-- not-run: (?P<why>[^>]*) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
SMALL = [(r"minutes=\d+(\.\d+)?", "steps=2"), (r"epochs=\d+", "steps=2"), (r'"fashion-mnist"', '"digits"')]
PRELUDE = "import numpy as np\npoints = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)\n"


def blocks(language: str):
    for path in DOCS:
        text = path.read_text()
        for match in BLOCK.finditer(text):
            if match["lang"] == language:
                line = text[: match.start("body")].count("\n") + 1
                yield pytest.param(match["body"], match["why"], id=f"{path.name}:{line}")


def shell_commands():
    for path in DOCS:
        for match in BLOCK.finditer(path.read_text()):
            if match["lang"] in ("bash", "sh", "shell"):
                for line in match["body"].splitlines():
                    # `torchrun ... -m ganvae train ...` is ganvae's command line too
                    line = "ganvae " + line.split(" -m ganvae ", 1)[1] if " -m ganvae " in line else line
                    if line.strip().startswith("ganvae "):
                        yield pytest.param(line.strip(), id=f"{path.name}: {line.strip()[:60]}")
    demo = re.search(r"bin/(ganvae compare .*)", (ROOT / "Makefile").read_text())
    yield pytest.param(demo[1], id="Makefile demo")


@pytest.mark.parametrize("body, why", list(blocks("python")))
def test_python_example_runs(body, why, tmp_path, monkeypatch):
    code = compile(body, "<example>", "exec")  # even a block that is not run must be valid Python
    if why is not None:
        pytest.skip(f"marked not-run: {why}")
    lines = body.splitlines()
    for pattern, small in SMALL:  # only in lines that train: a family's declared defaults stay as written
        lines = [re.sub(pattern, small, line) if ".fit(" in line else line for line in lines]
    body = "\n".join(lines) + "\n"
    monkeypatch.chdir(tmp_path)
    registered = set(FAMILIES.names())
    try:
        exec(compile(PRELUDE + body, "<example>", "exec"), {"__name__": "doc_example"})
    finally:
        for name in set(FAMILIES.names()) - registered:  # an example that registers a family leaves none behind
            FAMILIES.remove(name)
    assert code is not None


@pytest.mark.parametrize("command", list(shell_commands()))
def test_shell_example_parses(command):
    words = shlex.split(command.split(" # ")[0].split(" > ")[0].split(" | ")[0])
    assert words[0] == "ganvae"
    try:
        args = build_parser().parse_args(words[1:])
    except SystemExit as exc:
        pytest.fail(f"`{command}` does not parse (exit {exc.code})")
    assert args.command == words[1]


def test_every_python_block_is_found():
    found = list(blocks("python"))
    assert len(found) >= 3 and any(param.values[1] is None for param in found)
