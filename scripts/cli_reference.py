"""Write docs/cli.md, the command-line reference, and ganvae/flag_table.py, every command's flags for the
torch-free outline (ganvae/commands.py), from the argparse parser of ganvae/cli.py.

    python scripts/cli_reference.py           # rewrite both
    python scripts/cli_reference.py --check   # exit 1 if either differs from what the parser says now

Every command, every flag with its other names, its help, its choices and its default, in the parser's order.
tests/cli/test_cli_reference.py runs the check, so a flag added or changed without rerunning this script fails
the suite instead of leaving the reference behind.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganvae.cli import build_parser  # noqa: E402

DOC = ROOT / "docs" / "cli.md"
FLAG_TABLE = ROOT / "ganvae" / "flag_table.py"
USAGE_WIDTH = 110  # fixed, so the usage lines do not depend on the terminal that runs the script

HEADER = """# Command-line reference

Generated from the parser in `ganvae/cli.py` by `python scripts/cli_reference.py`; do not edit by hand.
`tests/cli/test_cli_reference.py` fails when this file differs from what the parser says, so after changing a
flag, run the script again. A family's own settings (under "family settings") come from the registered
families' declarations. The same text, per command: `ganvae COMMAND --help`.
"""


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest.upper()}`"
    takes_value = action.nargs != 0
    metavar = action.metavar or action.dest.upper()
    names = [f"`{name} {metavar}`" if takes_value else f"`{name}`" for name in action.option_strings]
    return ", ".join(names)


def _default(action: argparse.Action) -> str:
    default = action.default
    if default is None or default is argparse.SUPPRESS or (action.nargs == 0 and default is False):
        return ""
    return f"`{default}`"


def _rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | what | choices | default |", "|---|---|---|---|"]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
        if not actions:
            continue
        if group.title not in ("positional arguments", "options", "optional arguments"):
            rows.append(f"| **{_cell(group.title)}** | {_cell(group.description or '')} | | |")
        for action in actions:
            choices = ", ".join(f"`{choice}`" for choice in action.choices) if action.choices else ""
            help_text = (action.help or "").replace("%%", "%")
            rows.append(f"| {_argument(action)} | {_cell(help_text)} | {choices} | {_default(action)} |")
    return rows


def _usage(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = functools.partial(argparse.HelpFormatter, width=USAGE_WIDTH)
    return parser.format_usage().strip()


def render() -> str:
    parser = build_parser()
    lines = [HEADER, f"```\n{_usage(parser)}\n```", ""]
    lines += ["| command | what |", "|---|---|"]
    sub = _subcommands(parser)
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    lines += [f"| [`{name}`](#ganvae-{name}) | {_cell(helps.get(name, ''))} |" for name in sub.choices]
    lines.append("")
    lines += ["`ganvae --version` prints the version; `ganvae COMMAND --help` prints a command's flags.", ""]
    for name, command in sub.choices.items():
        lines += [f"## ganvae {name}", "", _cell(helps.get(name, "")), "", f"```\n{_usage(command)}\n```", ""]
        lines += _rows(command)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with docs/cli.md instead of writing it")
    args = parser.parse_args()
    return max(write_or_check(DOC, render(), args.check, "ganvae/cli.py", "scripts/cli_reference.py"),
               write_or_check(FLAG_TABLE, render_flag_table(), args.check, "ganvae/cli.py",
                              "scripts/cli_reference.py"))


def render_flag_table() -> str:
    """ganvae/flag_table.py: each command's option strings, in the parser's order."""
    lines = ['"""Every command\'s flags, for the torch-free outline of the command line (ganvae/commands.py).',
             "", "Generated from ganvae/cli.py by `python scripts/cli_reference.py`; do not edit by hand.", '"""', "",
             "FLAGS: dict[str, tuple[str, ...]] = {"]
    for name, command in _subcommands(build_parser()).choices.items():
        flags = [flag for action in command._actions for flag in action.option_strings]
        lines.append(f"    {name!r}: (")
        line = "       "
        for flag in flags:
            item = f" {flag!r},"
            if len(line) + len(item) > 110:
                lines.append(line)
                line = "       "
            line += item
        lines += [line, "    ),"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_or_check(doc: Path, text: str, check: bool, source: str, script: str) -> int:
    """Write a generated reference, or (check) exit status 1 with one line when the file differs from text."""
    if check:
        current = doc.read_text() if doc.is_file() else ""
        if current != text:
            print(f"{doc.relative_to(ROOT)} is out of date with {source}; run `python {script}`", file=sys.stderr)
            return 1
        return 0
    doc.write_text(text)
    print(f"wrote {doc.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
