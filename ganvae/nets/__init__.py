"""Network architectures: plain nn.Modules built by name. Importing registers seed, mlp and conv."""

from .base import ARCHS, AUTO, Architecture, GaussianEncoder, auto_arch, resolve_arch
from .conv import ConvArch
from .mlp import MLPArch
from .seed import SeedArch

__all__ = ["ARCHS", "AUTO", "auto_arch", "resolve_arch", "Architecture", "GaussianEncoder", "SeedArch", "MLPArch", "ConvArch"]
