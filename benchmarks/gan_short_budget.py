"""Which discriminator, batch, EMA and precision give ganvae's conv GAN the best samples in a few CPU-minutes.

    python benchmarks/gan_short_budget.py [--minutes 2] [--seed 0] [--n-eval 2000] [--only NAME ...]

Each variant trains `ganvae.GAN(arch="conv")` on Fashion-MNIST for the same wall-clock minutes in its own
process, one after the other, then scores 2,000 samples with `ganvae.evaluate` (the shipped classifier's
feature space, test split); the plain DCGAN of benchmarks/baselines/dcgan.py is trained and scored the same way.
The discriminator variants replace ganvae's (channels b/2, b; no normalisation) with DCGAN's width (b, 2b),
with or without BatchNorm on its second convolution. One seed per call: a GAN's FID after a few minutes moves
by 10-20% between seeds, so compare several seeds before trusting a small difference. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name: (discriminator width multiplier, BatchNorm in D, batch size, EMA decay, precision)
VARIANTS = {
    "b128-ema": (1, False, 128, 0.999, "fp32"),
    "wideD-b128-ema": (2, False, 128, 0.999, "fp32"),
    "wideBND-b128-ema": (2, True, 128, 0.999, "fp32"),
    "wideBND-b64-ema": (2, True, 64, 0.999, "fp32"),
    "wideBND-b64": (2, True, 64, 0.0, "fp32"),
    "b64": (1, False, 64, 0.0, "fp32"),
    "b64-ema": (1, False, 64, 0.999, "fp32"),
    "wideBND-b64-bf16": (2, True, 64, 0.0, "bf16"),
    "wideBND-b32": (2, True, 32, 0.0, "fp32"),
    "b64-ema-bf16": (1, False, 64, 0.999, "bf16"),
}


def one(name: str, minutes: float, seed: int, n_eval: int, out: Path) -> None:
    """Train and score one variant in this process; print a JSON line."""
    from torch import nn

    import ganvae
    from ganvae.nets import conv
    from ganvae.nets.base import to_logits

    width, batch_norm, batch_size, ema, precision = VARIANTS[name]
    if width != 1 or batch_norm:
        def discriminator(self, data_shape, hidden):
            side, channels = self._side(data_shape), data_shape[0]
            narrow, wide = int(hidden * width / 2), int(hidden * width)
            layers = [nn.Conv2d(channels, narrow, 4, 2, 1), nn.LeakyReLU(conv.SLOPE),
                      nn.Conv2d(narrow, wide, 4, 2, 1, bias=not batch_norm)]
            layers += [nn.BatchNorm2d(wide)] if batch_norm else []
            layers += [nn.LeakyReLU(conv.SLOPE), nn.Flatten(), nn.Linear(wide * side * side, 1), to_logits()]
            net = nn.Sequential(*layers)
            net.apply(conv.dcgan_init)
            return net

        conv.ConvArch.discriminator = discriminator
    model = ganvae.GAN(arch="conv", minutes=minutes, seed=seed, batch_size=batch_size, ema_decay=ema,
                       precision=precision, progress=False, out=out / f"{name}-seed{seed}").fit("fashion-mnist")
    metrics = ganvae.evaluate(model, n_eval=n_eval)["metrics"]
    print(json.dumps({"name": name, "steps": model.state_.step, "images": model.state_.images_seen,
                      **{k: round(metrics[k], 3) for k in ("fid", "precision", "recall")}}))


def run(command: list[str]) -> dict:
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-eval", type=int, default=2000)
    parser.add_argument("--only", nargs="+", choices=sorted(VARIANTS), help="these variants only")
    parser.add_argument("--out", type=Path, default=Path("runs/gan-short-budget"))
    parser.add_argument("--one", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.minutes, args.seed, args.n_eval, args.out)
        return
    rows = []
    for name in args.only or VARIANTS:
        rows.append(run([sys.executable, __file__, "--one", name, "--minutes", str(args.minutes), "--seed",
                         str(args.seed), "--n-eval", str(args.n_eval), "--out", str(args.out)]))
        print(json.dumps(rows[-1]), flush=True)
    counts = run([sys.executable, str(HERE / "baselines" / "dcgan.py"), "--seconds", str(60 * args.minutes),
                  "--seed", str(args.seed), "--out", str(args.out)])
    score = ("import ganvae, json; m = ganvae.evaluate(%r, data='fashion-mnist', n_eval=%d)['metrics']; "
             "print(json.dumps({k: round(m[k], 3) for k in ('fid', 'precision', 'recall')}))"
             % (str(args.out / f"dcgan-seed{args.seed}.npy"), args.n_eval))
    rows.append({"name": "plain DCGAN", "steps": counts["steps"], "images": counts["images"],
                 **run([sys.executable, "-c", score])})
    print(f"\n{args.minutes:g} min per run, seed {args.seed}, FID on {args.n_eval} samples\n")
    print("| variant | steps | images | FID | precision | recall |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['steps']:,} | {r['images']:,} | {r['fid']:.1f} | {r['precision']:.3f} | "
              f"{r['recall']:.3f} |")


if __name__ == "__main__":
    main()
