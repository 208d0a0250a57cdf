"""ganvae: train GANs and VAEs on the same data and budget, measure both with one yardstick, and choose."""

from ._version import __version__  # noqa: E402

from .api import GAN, VAE, Model, load  # noqa: E402
from .config import BudgetConfig, DataConfig, ModelConfig, OptimConfig, RunConfig  # noqa: E402
from .data import Dataset, load_dataset  # noqa: E402
from .errors import ConfigError, DataError, GanvaeError, RunError  # noqa: E402
from .config import CompareConfig  # noqa: E402
from .metrics.evaluate import evaluate  # noqa: E402
from .report.advise import advise  # noqa: E402
from .report.compare import compare  # noqa: E402

__all__ = ["GAN", "VAE", "Model", "load", "load_dataset", "evaluate", "compare", "advise", "CompareConfig", "Dataset",
           "RunConfig", "DataConfig", "ModelConfig",
           "OptimConfig", "BudgetConfig", "GanvaeError", "ConfigError", "DataError", "RunError", "__version__"]
