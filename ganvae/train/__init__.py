"""The one training loop, checkpoints and run folders."""

from .checkpoint import latest_valid_checkpoint, load_checkpoint, save_checkpoint
from .loop import Interrupted, TrainState, fit
from .run import RunFolder

__all__ = ["fit", "TrainState", "Interrupted", "RunFolder", "save_checkpoint", "load_checkpoint",
           "latest_valid_checkpoint"]
