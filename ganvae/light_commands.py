"""The commands that run in full without torch (today `ganvae datasets`), parsed and run on the outline.

`ganvae.__main__` sends them here, so listing the datasets takes a fraction of a second instead of the seconds
that importing torch costs; `ganvae.cli` builds the same subparser and runs the same function, so both say the
same (a test checks it).
"""

from __future__ import annotations

import argparse
from typing import Callable, Sequence

from . import interrupts
from .commands import COMMAND_HELP, guarded, outline, say_error
from .errors import GanvaeError


def add_datasets_command(sub: "argparse._SubParsersAction") -> None:
    """`ganvae datasets` and its flags, for the full parser and for the light path alike."""
    p = sub.add_parser("datasets", help=COMMAND_HELP["datasets"])
    p.add_argument("--data-dir", metavar="DIR", help="also look for IDX files here")


def cmd_datasets(args) -> int:
    from .data import dataset_table  # the registry and the table load without torch

    rows = dataset_table(args.data_dir)
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        where = "offline" if row["available"] else "needs download"
        print(f"{row['name']:<{width}}  {row['kind']:<6}  {row['size']:<22}  {where:<14}  {row['description']}")
    print("\nAlso accepted by --data: a folder of PNG/JPEG images, a .npy/.npz array or a .csv of numbers.")
    return 0


# The commands that run in full without torch: name -> (add its subparser, run it).
LIGHT_COMMANDS: dict[str, tuple[Callable, Callable]] = {"datasets": (add_datasets_command, cmd_datasets)}


def run_light(argv: Sequence[str]) -> int:
    """A command of LIGHT_COMMANDS (argv[0]), parsed and run without importing torch: its exit code."""
    add_command, command = LIGHT_COMMANDS[argv[0]]
    parser, sub = outline()
    add_command(sub)

    def work() -> int:
        try:
            return command(parser.parse_args(argv))
        except GanvaeError as exc:
            return say_error(exc)
        except KeyboardInterrupt as exc:
            return interrupts.report(exc)

    return guarded(work)
