"""Model families: objectives that declare their phases. Importing registers them."""

from .base import (FAMILIES, Batch, Defaults, Family, NoSettings, Phase, capabilities_of, compare_defaults,
                   family_label, flag_of, given_settings, make_settings, setting, setting_flags, settings_dict,
                   split_entry)
from .gan import GANFamily, GANSettings
from .sngan import SNGANFamily
from .vae import VAEFamily, VAESettings, gaussian_kl
from .wgan_gp import WGANGPFamily
from .iwae import IWAEFamily
from .vaegan import VAEGANFamily
from .cgan import CGANFamily
from .cvae import CVAEFamily

__all__ = ["FAMILIES", "Batch", "Defaults", "Family", "NoSettings", "Phase", "GANFamily", "GANSettings",
           "SNGANFamily", "VAEFamily", "VAESettings", "WGANGPFamily", "IWAEFamily", "VAEGANFamily", "CGANFamily",
           "CVAEFamily", "gaussian_kl", "capabilities_of", "compare_defaults", "family_label", "make_settings",
           "flag_of", "given_settings", "setting", "setting_flags", "settings_dict", "split_entry"]
