"""What the hand-written baselines share: Fashion-MNIST as a competent user would load it, a wall-clock or
epoch budget, and samples written as a .npy that `ganvae evaluate SAMPLES.npy --data fashion-mnist` scores in the
same feature space as ganvae's own runs. Baselines are a user's own code: they use ganvae only to find the data.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def fashion_mnist_uint8(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,)) from the IDX files ganvae finds (Debian's package, the cache...)."""
    from ganvae.data import load_dataset

    data = load_dataset("fashion-mnist", split=split)
    images = (data.x[:, 0].numpy() * 255).round().astype(np.uint8)
    return images, data.y.numpy()


def arguments(description: str, batch_size: int, extra=None) -> argparse.Namespace:
    """The baselines' shared flags; `extra(parser)` adds a baseline's own."""
    parser = argparse.ArgumentParser(description=description)
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--seconds", type=float, help="wall-clock training time")
    budget.add_argument("--epochs", type=float, help="passes over the data")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--samples", type=int, default=10_000, help="samples written at the end")
    parser.add_argument("--out", type=Path, help="write SAMPLES.npy and a JSON line of counts here")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


class Budget:
    """Stop after `seconds` of training or `epochs` passes, whichever the user gave."""

    def __init__(self, args: argparse.Namespace, n_examples: int):
        self.seconds = args.seconds
        self.max_steps = None if args.epochs is None else int(np.ceil(args.epochs * n_examples / args.batch_size))
        self.start = time.perf_counter()
        self.steps = 0
        self.images = 0

    def more(self) -> bool:
        if self.max_steps is not None:
            return self.steps < self.max_steps
        return time.perf_counter() - self.start < self.seconds

    def count(self, batch: int) -> None:
        self.steps += 1
        self.images += batch

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def finish(args: argparse.Namespace, name: str, budget: Budget, samples: torch.Tensor) -> None:
    """Print (and with --out, write) what was trained; samples are (N, 1, 28, 28) in [0, 1]."""
    record = {"baseline": name, "steps": budget.steps, "images": budget.images,
              "seconds": round(budget.elapsed, 3), "images_per_second": round(budget.images / budget.elapsed, 1)}
    print(json.dumps(record))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        np.save(args.out / f"{name}-seed{args.seed}.npy", samples.clamp(0, 1).float().numpy())
        (args.out / f"{name}-seed{args.seed}.json").write_text(json.dumps(record) + "\n")
