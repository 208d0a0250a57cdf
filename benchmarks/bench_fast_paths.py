"""Which fast paths pay on this machine: one training step of a family's conv networks on 28x28 images, in plain
fp32 and with each fast path alone, timed interleaved (A, B, C, ... repeated) so that a slow spell of a shared
machine hits every variant alike; the speed-up is the median of the paired ratios against plain fp32.

    python benchmarks/bench_fast_paths.py [--family gan] [--threads 2] [--repeats 8]

Variants: fused Adam, foreach Adam, channels-last memory format, bf16 autocast. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch

from ganvae.families import FAMILIES, Batch
from ganvae.nets import ARCHS

VARIANTS = ("fp32", "fused-adam", "foreach-adam", "channels-last", "bf16")


def make_step(family_name: str, variant: str, batch_size: int):
    torch.manual_seed(0)
    family_cls = FAMILIES.get(family_name)
    family = family_cls(ARCHS.get("conv"), "image", (1, 28, 28), family_cls.defaults.latent_dim, 64)
    family.train()
    options = {"fused-adam": {"fused": True}, "foreach-adam": {"foreach": True}}.get(variant, {})
    optimizers = {phase.name: torch.optim.Adam(family.parameters_of(phase.modules), 2e-4, **options)
                  for phase in family.phases()}
    x = torch.rand(batch_size, 1, 28, 28)
    if variant == "channels-last":
        family.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if variant == "bf16" else contextlib.nullcontext
    batch = Batch(x)

    def step() -> None:
        for phase in family.phases():
            mine = {id(p) for p in family.parameters_of(phase.modules)}
            for p in family.parameters():
                p.requires_grad_(id(p) in mine)
            optimizer = optimizers[phase.name]
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = phase.loss(batch)["loss"]
            loss.backward()
            optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="gan")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = {v: make_step(args.family, v, args.batch_size) for v in VARIANTS}
    for step in steps.values():  # warm-up: allocator, oneDNN primitives
        for _ in range(3):
            step()
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.repeats):
        for variant, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[variant].append((time.perf_counter() - start) / args.steps)
    print(f"{args.family}, conv, batch {args.batch_size}, {torch.get_num_threads()} threads, "
          f"{args.repeats} interleaved blocks of {args.steps} steps")
    for variant in VARIANTS:
        ratios = sorted(b / t for b, t in zip(times["fp32"], times[variant]))
        print(f"  {variant:14s} {statistics.median(times[variant]) * 1000:7.1f} ms/step   speed-up "
              f"{statistics.median(ratios):.2f}x  (paired range {ratios[0]:.2f}-{ratios[-1]:.2f})")


if __name__ == "__main__":
    main()
