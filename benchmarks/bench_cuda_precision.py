"""The run's precision on a CUDA GPU: fp32, bf16 (autocast) and fp16 (autocast with a gradient scaler), each
training the family's default conv networks for the same number of steps, so at an equal number of images.

    python benchmarks/bench_cuda_precision.py [--families gan vae] [--steps 2000] [--seeds 0 1] [--n-eval 5000]

Each (seed, family) trains all three precisions one after the other in rotating order, in this one process
(`ganvae.Model.fit`, no run folder, so no checkpoint writes), after an untimed warm-up fit of each (cuDNN's
algorithm choice, the allocator). The time of a fit ends with a synchronisation of the GPU. Every model is then
scored by `ganvae.evaluate` on `--n-eval` samples in the shipped classifier's feature space against the test split.
The table: images per second and its ratio against fp32 of the same (seed, family), and FID (lower is better).
Runs anywhere (`--device cpu` leaves fp16 out); it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import ganvae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["gan", "vae"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "fp16"])
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=None, help="(default: each family's conv preset)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--n-eval", type=int, default=5000)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--json", type=Path, default=None, help="also write the records here")
    args = parser.parse_args()
    device = torch.device(args.device)
    precisions = [p for p in args.precisions if p != "fp16" or device.type == "cuda"]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    common = dict(arch="conv", device=args.device, batch_size=args.batch_size, progress=False)
    if device.type == "cuda":
        print(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, cuDNN "
              f"{torch.backends.cudnn.version()}, {args.data}, {args.steps} steps", flush=True)
    for family in args.families:  # warm-up
        for precision in precisions:
            ganvae.Model(family, steps=20, precision=precision, **common).fit(args.data)
    records = []
    for seed in args.seeds:
        for k, family in enumerate(args.families):
            shift = (seed + k) % len(precisions)
            for precision in precisions[shift:] + precisions[:shift]:
                model = ganvae.Model(family, steps=args.steps, precision=precision, seed=seed, **common)
                sync()
                start = time.perf_counter()
                model.fit(args.data)
                sync()
                seconds = time.perf_counter() - start
                images = args.steps * model.config_.optim.batch_size
                scores = ganvae.evaluate(model, n_eval=args.n_eval, seed=0)
                record = dict(family=family, precision=precision, seed=seed, seconds=round(seconds, 2),
                              images_per_s=round(images / seconds, 1), fid=scores["metrics"]["fid"],
                              batch_size=model.config_.optim.batch_size)
                records.append(record)
                print(json.dumps(record), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(records, indent=1) + "\n")
    print(f"\n| family | precision | images/s (per seed) | speed vs fp32 (paired, mean) | FID (per seed) | FID mean |")
    print("|---|---|---|---|---|---|")
    for family in args.families:
        base = {r["seed"]: r for r in records if r["family"] == family and r["precision"] == "fp32"}
        for precision in precisions:
            mine = [r for r in records if r["family"] == family and r["precision"] == precision]
            ratios = [r["images_per_s"] / base[r["seed"]]["images_per_s"] for r in mine if r["seed"] in base]
            speeds = " / ".join(f"{r['images_per_s']:.0f}" for r in mine)
            fids = " / ".join(f"{r['fid']:.1f}" for r in mine)
            print(f"| {family} | {precision} | {speeds} | {statistics.fmean(ratios):.2f}x | {fids} | "
                  f"{statistics.fmean(r['fid'] for r in mine):.1f} |")


if __name__ == "__main__":
    main()
