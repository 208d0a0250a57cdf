"""Which fast paths pay on this machine: one training step of a family's conv networks on 28x28 images, in plain
fp32 and with each fast path alone, timed interleaved (A, B, C, ... repeated) so that a slow spell of a shared
machine hits every variant alike; the speed-up is the median of the paired ratios against plain fp32.

    python benchmarks/bench_fast_paths.py [--family gan] [--threads 2] [--repeats 8] [--device cuda]

Variants: fused Adam, foreach Adam, channels-last memory format, bf16 autocast, and on a CUDA GPU fp16 autocast
with a gradient scaler (as `--precision fp16` trains). On a GPU each block ends with a synchronisation, so the
time is the GPU's, not the launch queue's. A benchmark, not a test.
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
CUDA_VARIANTS = ("fp16",)


def make_step(family_name: str, variant: str, batch_size: int, device: torch.device = torch.device("cpu")):
    torch.manual_seed(0)
    family_cls = FAMILIES.get(family_name)
    family = family_cls(ARCHS.get("conv"), "image", (1, 28, 28), family_cls.defaults.latent_dim, 64)
    family.to(device).train()
    options = {"fused-adam": {"fused": True}, "foreach-adam": {"foreach": True}}.get(variant, {})
    optimizers = {phase.name: torch.optim.Adam(family.parameters_of(phase.modules), 2e-4, **options)
                  for phase in family.phases()}
    x = torch.rand(batch_size, 1, 28, 28, device=device)
    if variant == "channels-last":
        family.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(variant)
    autocast = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype is not None else contextlib.nullcontext
    scaler = torch.amp.GradScaler(device.type) if variant == "fp16" else None
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
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="gan")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cuda adds the fp16 variant)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    variants = VARIANTS + (CUDA_VARIANTS if device.type == "cuda" else ())
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    steps = {v: make_step(args.family, v, args.batch_size, device) for v in variants}
    for step in steps.values():  # warm-up: allocator, oneDNN primitives / cuDNN's algorithm choice
        for _ in range(3):
            step()
    sync()
    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for variant, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            sync()
            times[variant].append((time.perf_counter() - start) / args.steps)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"{args.family}, conv, batch {args.batch_size}, {where}, "
          f"{args.repeats} interleaved blocks of {args.steps} steps")
    for variant in variants:
        ratios = sorted(b / t for b, t in zip(times["fp32"], times[variant]))
        print(f"  {variant:14s} {statistics.median(times[variant]) * 1000:7.1f} ms/step   speed-up "
              f"{statistics.median(ratios):.2f}x  (paired range {ratios[0]:.2f}-{ratios[-1]:.2f})")


if __name__ == "__main__":
    main()
