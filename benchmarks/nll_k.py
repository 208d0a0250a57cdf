"""The VAE's importance-sampled NLL: how its bias and its cost grow with K, to choose `--iw-samples` by measurement.

Not a test: run by hand on a trained image VAE, e.g.
    ganvae train vae --data fashion-mnist --minutes 2 --out runs/fm-vae
    python benchmarks/nll_k.py runs/fm-vae --examples 200 --ks 1 10 30 100 300 1000 --reference-k 5000

For each test example the K-sample bound (Burda et al. 2016) is computed at every K of --ks, from one shared set
of draws per K (seed 0), and at --reference-k, which stands for the true NLL (the bound only falls as K grows,
so the bias measured against it is a lower bound on the true bias). Per K it prints the bias (mean over examples
of NLL_K - NLL_ref), the spread of NLL_K over examples, the Monte Carlo spread of NLL_K at one example (from two
seeds), seconds per example, and the root-mean-square error of a test-set NLL averaged over as many examples as
the same time buys as the current default (K = 1,000 on 100 examples; at most the whole test split):
sqrt(bias^2 + spread^2 / n), the spread over examples including the Monte Carlo noise.
"""

import argparse
import math
import time

import numpy as np
import torch

from ganvae import load
from ganvae.config import DataConfig, IW_SAMPLES, NLL_EXAMPLES
from ganvae.data import load_dataset
from ganvae.metrics.vae_metrics import importance_weighted_nll


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a trained VAE run folder (images)")
    parser.add_argument("--examples", type=int, default=200, help="test examples measured")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 10, 30, 100, 300, 1000])
    parser.add_argument("--reference-k", type=int, default=5000, help="the K that stands for the true NLL")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = load(args.run)
    data = load_dataset(DataConfig(name=model.data_info_["name"], split="test"))
    x = data.x[: args.examples].float()
    print(f"{args.run}: {model.family_name} on {data.name}, {len(x)} test examples")

    def measure(k, seed=0):
        start = time.perf_counter()
        values = importance_weighted_nll(model.family_, x, k, seed=seed)
        return values, (time.perf_counter() - start) / len(x)

    reference, reference_seconds = measure(args.reference_k)
    spread_ref = float(reference.std(ddof=1))
    print(f"reference K={args.reference_k}: NLL {reference.mean():.2f} nats, spread over examples {spread_ref:.2f}, "
          f"{reference_seconds * 1e3:.1f} ms per example")
    default_cost = IW_SAMPLES * NLL_EXAMPLES  # decodes of the current default: K x examples
    print("| K | bias (nats) | spread over examples | Monte Carlo spread at one example | ms per example | "
          f"examples for the default's cost ({IW_SAMPLES:,} x {NLL_EXAMPLES}) | RMSE of the test-set NLL |")
    print("|---|---|---|---|---|---|---|")
    for k in args.ks:
        values, seconds = measure(k)
        again, _ = measure(k, seed=1)
        bias = float((values - reference).mean())
        spread = float(values.std(ddof=1))
        monte_carlo = float(np.std(values - again, ddof=1) / math.sqrt(2))
        n = max(1, min(default_cost // k, len(data)))  # at most the whole test split
        rmse = math.sqrt(bias**2 + spread**2 / n)  # the spread over examples includes the Monte Carlo noise
        print(f"| {k} | {bias:.3f} | {spread:.2f} | {monte_carlo:.3f} | {seconds * 1e3:.2f} | {n:,} | {rmse:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
