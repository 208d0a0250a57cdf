"""The command line's outline without torch: its commands and their one-line help, and the parser they hang on.

`ganvae --help`, `ganvae --version`, a bare `ganvae`, a misspelt command and a flag that its command does not
have are answered from this module alone (see `ganvae.__main__`), so they take a fraction of a second instead of
the seconds that importing torch costs; `ganvae.cli` builds the full parser on the same outline, so both say the
same. The flags of each command are read from `flag_table.py`, which scripts/cli_reference.py writes from the
full parser (a test fails when it is out of date).
"""

from __future__ import annotations

import argparse
import difflib
import io
import os
import sys
from typing import Callable, Iterable, Optional, Sequence

from . import interrupts
from ._version import __version__
from .errors import ConfigError, GanvaeError, one_line

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
    """argparse, but a bad flag is one line on stderr (no usage block) and exit code 2, and a flag its command
    does not have is named with the closest one it has.

    flag_table: each command's flags where its subparser does not declare them (the outline's); None: the
    subparsers' own."""

    flag_table: Optional[dict[str, tuple[str, ...]]] = None

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")

    def parse_args(self, args: Optional[Sequence[str]] = None, namespace=None):
        args = sys.argv[1:] if args is None else list(args)
        if args and args[0] in self.commands():  # a misspelt flag first: it is often why a required one is missing
            flags = self.flags_of(args[0])
            flag = unknown_flag(args[1:], flags)
            if flag is not None:
                self.exit(2, no_such_flag(args[0], flag, flags))
        return super().parse_args(args, namespace)

    def commands(self) -> dict[str, argparse.ArgumentParser]:
        return self._subparsers._group_actions[0].choices if self._subparsers else {}

    def flags_of(self, command: str) -> tuple[str, ...]:
        if self.flag_table is not None:
            return self.flag_table.get(command, ())
        return tuple(self.commands()[command]._option_string_actions)


def unknown_flag(words: Iterable[str], flags: Iterable[str]) -> Optional[str]:
    """The first `--flag` (or `--flag=value`) among `words` that is neither one of `flags` nor the start of one
    (argparse accepts a unique start); words after a bare `--` are not flags."""
    flags, words = tuple(flags), list(words)
    if any(word in ("-h", "--help") for word in words[:words.index("--") if "--" in words else None]):
        return None  # help is answered first
    for word in words:
        if word == "--":
            return None
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            if not any(flag.startswith(name) for flag in flags):
                return name
    return None


def no_such_flag(command: str, flag: str, flags: Iterable[str]) -> str:
    """The one line for a flag that `command` does not have, with the closest one it has."""
    close = difflib.get_close_matches(flag, [f for f in flags if f.startswith("--")], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{PROG}: error: {PROG} {command} has no flag {flag}{hint} (see `{PROG} {command} --help`)\n"


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
    from .flag_table import FLAGS

    parser, sub = outline()
    parser.flag_table = FLAGS
    for name, text in COMMAND_HELP.items():
        sub.add_parser(name, help=text)
    return parser


def answered_by_outline(argv: list[str]) -> bool:
    """Whether the outline alone can answer these arguments (so the command line need not import torch):
    help, the version, no command, a misspelt command, or a flag the command does not have."""
    return not argv or argv[0] in ("-h", "--help", "--version") or argv[0] not in COMMAND_HELP or \
        outline_unknown_flag(argv) is not None


def outline_unknown_flag(argv: list[str]) -> Optional[str]:
    """The first flag of argv that its command does not have, by the generated table (None: none, or no table
    entry for the command)."""
    from .flag_table import FLAGS

    if not argv or argv[0] not in FLAGS:
        return None
    return unknown_flag(argv[1:], FLAGS[argv[0]])


class PipeGuard:
    """stdout or stderr that, once its reader has gone (`ganvae datasets | head -1`), drops further output
    instead of raising BrokenPipeError, so the command still finishes its work (metrics.json, a run)."""

    def __init__(self, stream):
        self._stream = stream
        self.broken = False

    def _drop_rest(self) -> None:
        self.broken = True
        try:  # the interpreter flushes the stream at exit: point its descriptor at /dev/null (Python's advice)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass

    def write(self, text):
        if self.broken:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._drop_rest()
            return len(text)

    def flush(self):
        if self.broken:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop_rest()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def guarded(work: Callable[[], int]) -> int:
    """work()'s exit code, its output through PipeGuards: a reader that has gone is 141 (128 + SIGPIPE) or,
    when work failed, work's own code; an interrupt that Python swallowed is still reported (130 or 143)."""
    uninstall = interrupts.install()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err = PipeGuard(sys.stdout), PipeGuard(sys.stderr)
    try:
        code = work()
        sys.stdout.flush()
        if code == 0 and interrupts.received() is not None:
            # The interrupt was raised where Python ignores exceptions (see ganvae.interrupts): still say so.
            code = interrupts.report()
        if code == 0 and out.broken:
            return 141  # 128 + SIGPIPE, as for a command whose reader stopped reading
        return code
    finally:
        for guard in (out, err):
            try:
                guard.flush()
            except Exception:  # pragma: no cover - the stream is already gone
                pass
        sys.stdout, sys.stderr = saved
        uninstall()


def exit_code(exc: GanvaeError) -> int:
    """A ganvae error's exit code: 2 for a bad setting, 1 otherwise."""
    return 2 if isinstance(exc, ConfigError) else 1


def say_error(exc: GanvaeError) -> int:
    """The one line of a ganvae error on stderr; its exit code (exit_code)."""
    print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
    return exit_code(exc)
