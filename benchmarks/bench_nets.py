"""Time one training step of each family and architecture on 28x28 images (a benchmark, not a test).

    python benchmarks/bench_nets.py [--batch-size 128] [--repeats 20]

Times are printed with their ratio to the `seed` GAN step measured in the same run, since shared machines
are noisy.
"""

from __future__ import annotations

import argparse
import time

import torch

from ganvae.families import FAMILIES, Batch
from ganvae.nets import ARCHS
from ganvae.train.loop import make_optimizers
from ganvae.config import RunConfig, OptimConfig


def step_seconds(family_name: str, arch: str, batch_size: int, repeats: int) -> float:
    torch.manual_seed(0)
    family_cls = FAMILIES.get(family_name)
    hidden = family_cls.presets.get(arch, {}).get("hidden_image") or family_cls.presets.get(arch, {}).get("hidden") \
        or ARCHS.get(arch).default_hidden
    family = family_cls(ARCHS.get(arch), "image", (1, 28, 28), latent_dim=family_cls.defaults.latent_dim, hidden=hidden)
    cfg = RunConfig(optim=OptimConfig(lr=2e-4, betas=(0.5, 0.999), batch_size=batch_size))
    optimizers = make_optimizers(family, cfg)
    batch = Batch(torch.rand(batch_size, 1, 28, 28))

    def step():
        for phase in family.phases():
            family.zero_grad(set_to_none=True)
            phase.loss(batch)["loss"].backward()
            optimizers[phase.name].step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, 28x28")
    baseline = step_seconds("gan", "seed", args.batch_size, args.repeats)
    for family in FAMILIES.names():
        for arch in ARCHS.names():
            seconds = step_seconds(family, arch, args.batch_size, args.repeats)
            print(f"{family:4} {arch:5} {seconds * 1000:8.1f} ms/step  {seconds / baseline:6.1f}x the seed GAN step"
                  f"  {args.batch_size / seconds:8.0f} images/s")


if __name__ == "__main__":
    main()
