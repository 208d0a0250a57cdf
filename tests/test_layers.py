"""The package's layers point down: dataset -> family -> loop -> run folder -> feature networks -> metrics -> report -> API ->
evaluation and comparison -> command line. A module that imports one of a higher layer (even inside a function)
fails here, and so does one that imports another module's private name."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ganvae"
# From the bottom up; a name is a top-level module or subpackage of ganvae.
LAYERS = (
    ("errors", "registry", "_version", "sizes", "interrupts", "storage", "kernel", "commands", "flag_table", "workers"),
    ("config",),
    ("data",),
    ("nets",),
    ("families", "latent_prior"),
    ("train",),
    ("feature_nets",),
    ("metrics",),
    ("report", "notebook"),
    ("api", "export", "sample_files", "config_file"),
    ("evaluation", "comparison"),
    ("cli", "__main__", "__init__", "light_commands"),
)
LAYER = {name: index for index, names in enumerate(LAYERS) for name in names}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts  # ("ganvae", "train", "loop")
        yield path, parts


def imports(path: Path, parts: tuple[str, ...]):
    """(line, imported module as a dotted name, names taken from it) for every ganvae import in the file."""
    package = list(parts[:-1]) if parts[-1] != "__init__" else list(parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "ganvae" or module.startswith("ganvae."):
                yield node.lineno, module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ganvae"):
                    yield node.lineno, alias.name, []


def layer_of(dotted: str) -> int:
    parts = dotted.split(".")
    return LAYER["__init__"] if len(parts) == 1 else LAYER[parts[1]]


def test_every_module_has_a_layer():
    unknown = sorted({parts[1] for _, parts in modules() if len(parts) > 1 and parts[1] not in LAYER})
    assert not unknown, f"give these a layer in LAYERS: {unknown}"


def test_no_module_imports_one_of_a_higher_layer():
    upward = []
    for path, parts in modules():
        mine = layer_of(".".join(parts))
        for line, module, names in imports(path, parts):
            targets = [module] if module != "ganvae" else [f"ganvae.{name}" for name in names]
            for target in targets:
                if target.split(".")[1:2] and target.split(".")[1] not in LAYER:
                    continue  # a name re-exported by the package root, e.g. `from ganvae import __version__`
                if layer_of(target) > mine:
                    upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not upward, "imports that run back up:\n" + "\n".join(upward)


def test_no_private_name_is_imported_from_another_module():
    crossing = []
    for path, parts in modules():
        for line, module, names in imports(path, parts):
            private = [name for name in names if name.startswith("_") and not name.startswith("__")]
            if private and module != ".".join(parts):
                crossing.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {', '.join(private)} from "
                                f"{module}")
    assert not crossing, "\n".join(crossing)
