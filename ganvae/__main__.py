"""`python -m ganvae` and the `ganvae` command.

Importing torch takes seconds; Ctrl-C or SIGTERM in that time is one line and exit code 130 or 143, so the
handlers go in before the heavy imports (the package's __init__ imports nothing heavy either).
"""

import sys

from .interrupts import install, report


def run(argv=None) -> int:
    uninstall = install()
    try:
        try:
            from .cli import main
        except KeyboardInterrupt as exc:
            return report(exc)
        return main(argv)
    finally:
        uninstall()


if __name__ == "__main__":
    sys.exit(run())
