"""Write docs/api.md, the Python API reference, from the docstrings and signatures of what `ganvae` exports.

    python scripts/api_reference.py           # rewrite docs/api.md
    python scripts/api_reference.py --check   # exit 1 if docs/api.md differs from what the code says now

Every name in `ganvae.__all__`, in that order: functions with their signature and docstring; classes with their
constructor, then each public method and property defined by ganvae; config dataclasses with their fields and
defaults. tests/test_api_reference.py runs the check, so a docstring or signature changed without rerunning this
script fails the suite instead of leaving the reference behind.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ganvae  # noqa: E402

DOC = ROOT / "docs" / "api.md"

HEADER = """# Python API reference

Generated from the docstrings and signatures of what `import ganvae` exports by `python scripts/api_reference.py`;
do not edit by hand. `tests/test_api_reference.py` fails when this file differs from the code, so after changing
a docstring or a signature, run the script again. The guide (docs/guide.md) shows these in use; the command line
has its own reference (docs/cli.md).
"""


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__) if obj.__doc__ else "(no docstring)"


class _Text:
    """An annotation written as text (the package uses `from __future__ import annotations`), shown unquoted."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _signature(name: str, obj) -> str:
    """`name(parameters) -> result`, one parameter a line when that is long."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return name

    def plain(annotation):
        return _Text(annotation) if isinstance(annotation, str) else annotation

    signature = signature.replace(
        parameters=[p.replace(annotation=plain(p.annotation)) for p in signature.parameters.values()],
        return_annotation=plain(signature.return_annotation))
    text = f"{name}{signature}"
    if len(text) <= 110:
        return text
    shown, star = [], False
    for p in signature.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            star = True
        elif p.kind is p.KEYWORD_ONLY and not star:
            shown.append("*")
            star = True
        shown.append(str(p))
    parameters = ",\n    ".join(shown)
    result = "" if signature.return_annotation is inspect.Signature.empty else \
        f" -> {inspect.formatannotation(signature.return_annotation)}"
    return f"{name}(\n    {parameters},\n){result}"


def _block(code: str) -> str:
    return f"```text\n{code}\n```"  # a signature: shown, not run by the doc-example test


def _exported_base(cls):
    """The nearest base class of cls that ganvae exports too (GAN's is Model), or None."""
    exported = {id(getattr(ganvae, name)) for name in ganvae.__all__}
    return next((base for base in cls.__mro__[1:] if id(base) in exported), None)


def _members(cls) -> list[tuple[str, object]]:
    """Public methods and properties that ganvae defines on cls or its ganvae bases, in definition order (those
    of an exported base are listed under that base instead)."""
    seen, members = set(), []
    base = _exported_base(cls)
    for klass in cls.__mro__:
        if not klass.__module__.startswith("ganvae") or (base is not None and issubclass(base, klass)):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            if inspect.isfunction(value) or isinstance(value, (property, classmethod, staticmethod)):
                seen.add(name)
                members.append((name, value))
    return members


def _class(name: str, cls) -> list[str]:
    lines = [f"## `{name}`", ""]
    if dataclasses.is_dataclass(cls):
        lines += [_block(_signature(name, cls)), "", _doc(cls), "", "| field | default |", "|---|---|"]
        for field in dataclasses.fields(cls):
            if field.default is not dataclasses.MISSING:
                default = repr(field.default)
            elif field.default_factory is not dataclasses.MISSING:
                default = repr(field.default_factory())
            else:
                default = "(required)"
            lines.append(f"| `{field.name}` | `{default}` |")
        return lines + [""]
    lines += [_block(_signature(name, cls)), "", _doc(cls), ""]
    if issubclass(cls, BaseException):
        return lines
    base = _exported_base(cls)
    if base is not None:
        lines += [f"Every method and property of `{base.__name__}` (below or above), on this class.", ""]
    for member, value in _members(cls):
        if isinstance(value, property):
            lines += [f"### `{name}.{member}` (property)", "", _doc(value.fget), ""]
            continue
        function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        lines += [f"### `{name}.{member}`", "", _block(_signature(member, function)), "", _doc(function), ""]
    return lines


def render() -> str:
    lines = [HEADER]
    for name in ganvae.__all__:
        obj = getattr(ganvae, name)
        if inspect.isclass(obj):
            lines += _class(name, obj)
        elif callable(obj):
            lines += [f"## `{name}`", "", _block(_signature(name, obj)), "", _doc(obj), ""]
        else:
            lines += [f"## `{name}`", "", f"`{obj!r}`", ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    from cli_reference import write_or_check  # beside this script

    return write_or_check(DOC, render(), "--check" in sys.argv[1:], "the docstrings of ganvae's exports",
                          "scripts/api_reference.py")


if __name__ == "__main__":
    sys.exit(main())
