"""ganvae: train GANs and VAEs on the same data and budget, measure both with one yardstick, and choose."""

from __future__ import annotations

import importlib

from ._version import __version__

# The public API, imported on first use: `import ganvae` stays light (torch takes seconds to import), so the
# command line can catch Ctrl-C while the heavy modules load.
_EXPORTS = {
    "GAN": ".api", "VAE": ".api", "Model": ".api", "load": ".api",
    "BudgetConfig": ".config", "DataConfig": ".config", "ModelConfig": ".config", "OptimConfig": ".config",
    "RunConfig": ".config", "CompareConfig": ".config",
    "Dataset": ".data", "load_dataset": ".data",
    "ConfigError": ".errors", "DataError": ".errors", "GanvaeError": ".errors", "RunError": ".errors",
    "evaluate": ".evaluation", "advise": ".report.advise", "compare": ".comparison",
}

__all__ = ["GAN", "VAE", "Model", "load", "load_dataset", "evaluate", "compare", "advise", "CompareConfig",
           "Dataset", "RunConfig", "DataConfig", "ModelConfig", "OptimConfig", "BudgetConfig", "GanvaeError",
           "ConfigError", "DataError", "RunError", "__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ganvae' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
