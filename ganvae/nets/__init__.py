"""Network architectures: plain nn.Modules built by name. Importing registers seed, mlp and conv."""

from .base import ARCHS, Architecture, GaussianEncoder
from .conv import ConvArch
from .mlp import MLPArch
from .seed import SeedArch

__all__ = ["ARCHS", "Architecture", "GaussianEncoder", "SeedArch", "MLPArch", "ConvArch"]
