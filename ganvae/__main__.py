"""`python -m ganvae` and the `ganvae` command.

Importing torch takes seconds; Ctrl-C or SIGTERM in that time is one line and exit code 130 or 143, so the
handlers go in before the heavy imports (the package's __init__ imports nothing heavy either). What the
command line's outline alone answers (`ganvae --help`, `--version`, a misspelt command, a flag the command
does not have) never imports torch, nor does a command that needs none (`ganvae datasets`).
"""

import sys

from .commands import answered_by_outline, outline_parser
from .interrupts import install, report
from .light_commands import LIGHT_COMMANDS, run_light


def run(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if answered_by_outline(args):  # --help, --version, no command, a misspelt one, a bad flag: no torch needed
        try:
            outline_parser().parse_args(args)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
    if args[0] in LIGHT_COMMANDS:
        return run_light(args)
    uninstall = install()
    try:
        try:
            from .cli import main
        except KeyboardInterrupt as exc:
            return report(exc)
        return main(args)
    finally:
        uninstall()


if __name__ == "__main__":
    sys.exit(run())
