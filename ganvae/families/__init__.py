"""Model families: objectives that declare their phases. Importing registers them."""

from .base import FAMILIES, Family, Phase
from .gan import GANFamily
from .vae import VAEFamily, gaussian_kl

__all__ = ["FAMILIES", "Family", "Phase", "GANFamily", "VAEFamily", "gaussian_kl"]
