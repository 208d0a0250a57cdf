"""The command line's outline without torch: its commands and their one-line help, and the parser they hang on.

`ganvae --help`, `ganvae --version`, a bare `ganvae` and a misspelt command are answered from this module alone
(see `ganvae.__main__`), so they take a fraction of a second instead of the seconds that importing torch costs;
`ganvae.cli` builds the full parser on the same outline, so both say the same.
"""

from __future__ import annotations

import argparse

from ._version import __version__

PROG = "ganvae"
DESCRIPTION = "Train GANs and VAEs on the same data and compare them."
COMMAND_HELP = {
    "datasets": "list the datasets and whether each is available offline now",
    "train": "train one model and write a run folder",
    "sample": "draw samples from a trained run into a .npy, .png, .csv or .parquet file",
    "evaluate": "measure a run or a .npy of samples on the shared metric suite; prints a table and writes "
                "metrics.json",
    "compare": "train every family with the same budget and seeds, score, and report",
    "advise": "recommend a family for your needs, from a report or a short pilot comparison",
    "export": "write the generator (GAN) or decoder (VAE) as a TorchScript or ONNX file mapping latent codes to "
              "samples, usable without ganvae",
    "explore": "draw latent traversals, spherical interpolations and (2-D latent) a map of the latent plane into "
               "the run folder",
}


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage block) and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")


def outline() -> tuple[Parser, "argparse._SubParsersAction"]:
    """The top-level parser and its subcommand hook, the commands not yet added."""
    parser = Parser(prog=PROG, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    return parser, sub


def outline_parser() -> Parser:
    """The top-level parser with every command and none of their flags: enough for --help, --version and a
    command name that does not exist."""
    parser, sub = outline()
    for name, text in COMMAND_HELP.items():
        sub.add_parser(name, help=text)
    return parser


def answered_by_outline(argv: list[str]) -> bool:
    """Whether the outline alone can answer these arguments (so the command line need not import torch)."""
    return not argv or argv[0] in ("-h", "--help", "--version") or argv[0] not in COMMAND_HELP
