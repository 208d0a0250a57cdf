"""Whether `torch.compile` pays for a family's default conv networks: the compile time, the step time eager and
compiled (interleaved blocks, median), and the break-even point in steps.

    python benchmarks/bench_compile.py [--family gan] [--threads 2] [--repeats 6]

The networks are the family's conv preset (the GAN: batch 32 at width 32; the VAE: batch 128 at width 32), in
bf16 autocast as `--precision auto` trains them here; `Module.compile()` compiles each network in place (the
weights and their names stay), with inductor, torch's default backend. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ganvae.families import FAMILIES, Batch
from ganvae.nets import ARCHS


def make_step(family_name: str, compiled: bool):
    torch.manual_seed(0)
    family_cls = FAMILIES.get(family_name)
    preset = family_cls.presets.get("conv", {})
    family = family_cls(ARCHS.get("conv"), "image", (1, 28, 28), family_cls.defaults.latent_dim,
                        preset.get("hidden", 64))
    family.train()
    if compiled:
        for net in family.nets.values():
            net.compile()
    optimizers = {phase.name: torch.optim.Adam(family.parameters_of(phase.modules), 2e-4) for phase in family.phases()}
    batch = Batch(torch.rand(preset.get("batch_size", 128), 1, 28, 28))

    def step() -> None:
        for phase in family.phases():
            mine = {id(p) for p in family.parameters_of(phase.modules)}
            for p in family.parameters():
                p.requires_grad_(id(p) in mine)
            optimizers[phase.name].zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = phase.loss(batch)["loss"]
            loss.backward()
            optimizers[phase.name].step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="gan")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--steps", type=int, default=25, help="steps per timed block")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    eager = make_step(args.family, compiled=False)
    for _ in range(5):
        eager()
    compiled = make_step(args.family, compiled=True)
    start = time.perf_counter()
    for _ in range(3):  # the first calls compile (the generator also once more, in the no-grad and grad modes)
        compiled()
    compile_seconds = time.perf_counter() - start
    times = {"eager": [], "compiled": []}
    for _ in range(args.repeats):
        for name, step in (("eager", eager), ("compiled", compiled)):
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            times[name].append((time.perf_counter() - start) / args.steps)
    eager_s, compiled_s = statistics.median(times["eager"]), statistics.median(times["compiled"])
    ratios = sorted(e / c for e, c in zip(times["eager"], times["compiled"]))
    print(f"{args.family}, conv preset, bf16, {torch.get_num_threads()} threads, {args.repeats} interleaved blocks of "
          f"{args.steps} steps")
    print(f"compile (first 3 steps): {compile_seconds:.1f} s")
    print(f"eager {eager_s * 1e3:.1f} ms/step, compiled {compiled_s * 1e3:.1f} ms/step, speed-up "
          f"{statistics.median(ratios):.2f}x (range {ratios[0]:.2f}-{ratios[-1]:.2f})")
    if eager_s > compiled_s:
        steps = compile_seconds / (eager_s - compiled_s)
        print(f"break-even after {steps:,.0f} steps ({steps * eager_s / 60:.1f} minutes of eager training)")
    else:
        print("no break-even: the compiled step is not faster")


if __name__ == "__main__":
    main()
