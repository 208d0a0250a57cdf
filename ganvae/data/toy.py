"""Toy 2-D sets: x float32 (N, 2), y the circle, moon or mode index where there is one.

Every set is drawn afresh from its seed, so `n_examples` is the number of points drawn. The test
split is an independent draw from a seed derived from the training seed.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..config import DataConfig
from .base import DATASETS, VECTOR, Dataset, DatasetEntry, tensor


def _sklearn_datasets():
    """scikit-learn's dataset makers, imported when a toy set is made: scikit-learn (with SciPy and pandas
    behind it) takes as long to import as torch, and most commands never need it."""
    from sklearn import datasets

    return datasets

DEFAULT_N_SAMPLES = {"circles": 1000, "moons": 1000, "ring8": 2000, "grid25": 2500, "swissroll": 1000}
TOY_NAMES = tuple(DEFAULT_N_SAMPLES)

# Mode geometry of the mixture sets, for the mode-coverage metrics. ring8: radius 1, angles 2*pi*k/8.
# grid25: {-4,-2,0,2,4}^2, mode k at (values[k // 5], values[k % 5]) (the PacGAN/VEEGAN geometry).
_RING_ANGLES = 2 * np.pi * np.arange(8) / 8
_GRID_VALUES = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
MODE_MEANS: dict[str, np.ndarray] = {
    "ring8": np.stack([np.cos(_RING_ANGLES), np.sin(_RING_ANGLES)], axis=1).astype(np.float32),
    "grid25": np.array([(a, b) for a in _GRID_VALUES for b in _GRID_VALUES], dtype=np.float32),
}
MODE_SIGMA: dict[str, float] = {"ring8": 0.01, "grid25": 0.05}

SWISSROLL_NOISE = 0.25
SWISSROLL_SCALE = 10.0  # make_swiss_roll spans about -11..14 in (x, z); /10 brings it near unit range
TEST_SEED_OFFSET = 2**31  # the test split's draw: a seed far from any training seed a user would pick


def _draw_seed(seed: int, split: str) -> int:
    return seed if split == "train" else (seed + TEST_SEED_OFFSET) % 2**32


def circles_points(n_samples: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The article's recipe exactly: make_circles(factor=0.5, noise=0.05) divided by its maximum."""
    x, y = _sklearn_datasets().make_circles(n_samples=n_samples, factor=0.5, noise=0.05, random_state=seed)
    return x / x.max(), y


def moons_points(n_samples: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return _sklearn_datasets().make_moons(n_samples=n_samples, noise=0.05, random_state=seed)


def mixture_points(name: str, n_samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussians at MODE_MEANS[name] with MODE_SIGMA[name]; each point picks a mode uniformly."""
    means, sigma = MODE_MEANS[name], MODE_SIGMA[name]
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, len(means), size=n_samples)
    points = means[modes] + sigma * rng.standard_normal((n_samples, 2))
    return points, modes


def swissroll_points(n_samples: int = 1000, seed: int = 0) -> tuple[np.ndarray, None]:
    points, _ = _sklearn_datasets().make_swiss_roll(n_samples=n_samples, noise=SWISSROLL_NOISE, random_state=seed)
    return points[:, [0, 2]] / SWISSROLL_SCALE, None


_DRAWS: dict[str, Callable[[int, int], tuple[np.ndarray, Optional[np.ndarray]]]] = {
    "circles": circles_points,
    "moons": moons_points,
    "ring8": lambda n, seed: mixture_points("ring8", n, seed),
    "grid25": lambda n, seed: mixture_points("grid25", n, seed),
    "swissroll": swissroll_points,
}

_DESCRIPTIONS = {
    "circles": "two noisy concentric circles, the article's make_circles(factor=0.5, noise=0.05) / max",
    "moons": "two interleaved half-moons, make_moons(noise=0.05)",
    "ring8": "8 Gaussians (sigma 0.01) on a circle of radius 1; y is the mode",
    "grid25": "25 Gaussians (sigma 0.05) on the grid {-4,-2,0,2,4}^2; y is the mode",
    "swissroll": "the (x, z) plane of make_swiss_roll(noise=0.25), divided by 10",
}


def load_toy(name: str, cfg: DataConfig) -> Dataset:
    """Draw cfg.n_examples points (or the set's default) of toy set `name` from cfg.seed."""
    n_samples = cfg.n_examples or DEFAULT_N_SAMPLES[name]
    points, labels = _DRAWS[name](n_samples, _draw_seed(cfg.seed, cfg.split))
    return Dataset(
        name=name,
        x=tensor(np.asarray(points, dtype=np.float32)),  # (N, 2)
        kind=VECTOR,
        source=f"toy:{name} (seed {cfg.seed})",
        y=None if labels is None else tensor(np.asarray(labels, dtype=np.int64)),
        split=cfg.split,
    )


def _loader(name: str) -> Callable[[DataConfig], Dataset]:
    return lambda cfg: load_toy(name, cfg)


for _name in TOY_NAMES:
    DATASETS.add(_name, DatasetEntry(_name, VECTOR, _DESCRIPTIONS[_name], _loader(_name)))

TABLE_SIZES = {name: (f"{n} drawn (default)", (2,)) for name, n in DEFAULT_N_SAMPLES.items()}
