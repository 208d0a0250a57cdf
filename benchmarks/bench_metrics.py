"""Time FID, PRDC and KID on N x N random features and report each one's peak traced memory.

Not a test: run by hand, e.g. ``python benchmarks/bench_metrics.py --n-samples 10000 --dim 128``.
Peak memory is numpy's allocations seen by tracemalloc during each metric (inputs excluded); the process's peak
resident size (ru_maxrss) is printed at the end.
"""

import argparse
import resource
import time
import tracemalloc

import numpy as np

from ganvae.metrics import frechet_distance, kernel_distance, prdc


def measure(name, compute):
    tracemalloc.start()
    start = time.perf_counter()
    result = compute()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{name:6s} {seconds:8.2f} s  peak {peak / 2**20:8.1f} MiB  {result}")


def against_package(real_features, fake_features, chunk_size, k=5):
    """ganvae's PRDC against the reference `prdc` package (clovaai; `compute_prdc`), timed in turn, twice each."""
    from prdc import compute_prdc  # a test extra of ganvae

    ours, theirs, values = [], [], {}
    for _ in range(2):
        start = time.perf_counter()
        values["ganvae"] = prdc(real_features, fake_features, k=k, chunk_size=chunk_size)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        values["package"] = compute_prdc(real_features, fake_features, nearest_k=k)
        theirs.append(time.perf_counter() - start)
    differences = {name: abs(values["ganvae"][name] - float(values["package"][name])) for name in values["ganvae"]}
    print(f"prdc against the prdc package: ganvae {min(ours):.2f} s, package {min(theirs):.2f} s (best of 2), "
          f"ganvae {min(theirs) / min(ours):.2f}x faster; largest difference in value {max(differences.values()):.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--chunk-size", type=int, default=512)
    parser.add_argument("--no-package", action="store_true", help="skip the timing against the prdc package")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    real_features = rng.normal(size=(args.n_samples, args.dim)).astype(np.float32)
    fake_features = (rng.normal(size=(args.n_samples, args.dim)) * 1.1 + 0.05).astype(np.float32)
    print(f"{args.n_samples} real x {args.n_samples} fake features of dim {args.dim} (float32 in)")
    measure("fid", lambda: round(frechet_distance(real_features, fake_features), 4))
    measure("prdc", lambda: {k: round(v, 4) for k, v in prdc(real_features, fake_features, k=5,
                                                              chunk_size=args.chunk_size).items()})
    measure("kid", lambda: {k: round(v, 6) for k, v in kernel_distance(real_features, fake_features).items()})
    if not args.no_package:
        against_package(real_features, fake_features, args.chunk_size)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"process peak resident memory {max_rss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
