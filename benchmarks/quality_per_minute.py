"""Quality per minute: ganvae's default GAN and VAE against a hand-written plain DCGAN and plain conv VAE, each
given the same wall-clock training time, back to back on the same machine, over several seeds.

    python benchmarks/quality_per_minute.py --minutes 5 --seeds 0 1 2 [--pairs gan vae] [--out runs/qpm] \
        [--variant 'bf16=--precision bf16' --variant-pairs gan]

Each (seed, pair) trains ganvae's model and its baseline one after the other, in alternating order (so a slow
spell of a shared machine does not always hit the same side), as separate processes with nothing else of this
script running. Training time excludes start-up on both sides (ganvae's --minutes counts training only, and so
does the baselines' --seconds). Afterwards every result is scored by `ganvae.evaluate` in the same feature space
(the shipped Fashion-MNIST classifier) on the same number of samples against the test split. The table gives FID
per run, the mean with a t-interval over seeds, and ganvae's FID as a ratio of the baseline's (lower is better);
the VAE's runs are also scored sampling from a Gaussian mixture fitted to the encoded training set (`--prior gmm`).
Nothing here runs in the test suite: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAIRS = {"gan": ("gan", "dcgan.py", "dcgan"), "vae": ("vae", "conv_vae.py", "conv-vae")}
T_95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}  # two-sided, df


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of a 95% t-interval (0 for one value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, T_95.get(len(values) - 1, 2.0) * statistics.stdev(values) / math.sqrt(len(values))


def run(command: list[str]) -> float:
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pairs", nargs="+", choices=sorted(PAIRS), default=sorted(PAIRS))
    parser.add_argument("--n-eval", type=int, default=10_000)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS",
                        help="a ganvae setting to time beside the default, e.g. 'bf16=--precision bf16', or "
                             "'gan:b64=--batch-size 64' for one pair only (repeatable; each runs in every (seed, "
                             "pair) with the default and the baseline)")
    parser.add_argument("--variant-pairs", nargs="+", choices=sorted(PAIRS), default=None,
                        help="the pairs the --variant settings run in (default: every pair)")
    parser.add_argument("--skip-default", action="store_true",
                        help="train only the --variant settings and the baselines, not ganvae's defaults")
    parser.add_argument("--out", type=Path, default=Path("runs/quality-per-minute"))
    args = parser.parse_args()
    variants = [] if args.skip_default else [("default", "", None)]
    for text in args.variant:  # [PAIR:]NAME=FLAGS
        pair, _, text = text.partition(":") if ":" in text.split("=", 1)[0] else ("", "", text)
        name, _, flags = text.partition("=")
        variants.append((name, flags, pair or None))
    variant_pairs = set(args.variant_pairs or args.pairs)
    args.out.mkdir(parents=True, exist_ok=True)
    records = []
    for seed in args.seeds:
        for k, pair in enumerate(args.pairs):
            family, script, baseline = PAIRS[pair]
            mine = [(name, flags) for name, flags, only in variants
                    if name == "default" or (pair in variant_pairs and only in (None, pair))]
            order = [("baseline", [sys.executable, str(HERE / "baselines" / script), "--seconds",
                                   str(60 * args.minutes), "--seed", str(seed), "--out", str(args.out)])]
            for name, flags in mine:
                run_dir = args.out / f"ganvae-{family}-{name}-seed{seed}"
                order.append((name, [sys.executable, "-m", "ganvae", "train", family, "--data", "fashion-mnist",
                                     "--minutes", str(args.minutes), "--seed", str(seed), "--out", str(run_dir),
                                     "--no-progress", *flags.split()]))
            shift = (seed + k) % len(order)  # rotate the order, so no side always runs first
            for side, command in order[shift:] + order[:shift]:
                run(command)
            for name, _ in mine:
                records.append({"pair": pair, "variant": name, "seed": seed,
                                "ganvae_run": str(args.out / f"ganvae-{family}-{name}-seed{seed}"),
                                "baseline_samples": str(args.out / f"{baseline}-seed{seed}.npy"),
                                "baseline_counts": json.loads((args.out / f"{baseline}-seed{seed}.json").read_text())})

    import ganvae  # scored after all training, so scoring never competes with a timed run

    baseline_fids: dict[str, float] = {}
    for record in records:
        run_dir = Path(record["ganvae_run"])
        log = (run_dir / "log.csv").read_text().splitlines()
        header, last = log[0].split(","), log[-1].split(",")
        record["ganvae_counts"] = {"steps": int(last[header.index("step")]),
                                   "images": int(last[header.index("images_seen")])}
        record["ganvae_fid"] = ganvae.evaluate(str(run_dir), n_eval=args.n_eval, prior="normal")["metrics"]["fid"]
        if record["pair"] == "vae":  # the same weights, sampled from the fitted latent prior (`--prior gmm`)
            record["ganvae_fid_gmm"] = ganvae.evaluate(str(run_dir), n_eval=args.n_eval, prior="gmm")["metrics"]["fid"]
        if record["baseline_samples"] not in baseline_fids:
            baseline_fids[record["baseline_samples"]] = ganvae.evaluate(
                record["baseline_samples"], data="fashion-mnist", n_eval=args.n_eval)["metrics"]["fid"]
        record["baseline_fid"] = baseline_fids[record["baseline_samples"]]
        print(json.dumps(record), flush=True)
    (args.out / "results.json").write_text(json.dumps(records, indent=2) + "\n")

    lines = [f"Fashion-MNIST, {args.minutes:g} min of training per run, seeds {args.seeds}, FID on {args.n_eval} "
             f"samples in the shipped classifier's feature space (lower is better).", "",
             "| pair | ganvae FID per seed | baseline FID per seed | ganvae mean ± 95% | baseline mean ± 95% | "
             "ratio of means | images seen, ganvae / baseline |", "|---|---|---|---|---|---|---|"]
    rows_of = {}
    for r in records:
        rows_of.setdefault((r["pair"], r["variant"]), []).append((r, "ganvae_fid"))
        if "ganvae_fid_gmm" in r:
            rows_of.setdefault((r["pair"], r["variant"] + ", GMM prior"), []).append((r, "ganvae_fid_gmm"))
    for (pair, variant), scored in rows_of.items():
        rows = [r for r, _ in scored]
        ours = [r[key] for r, key in scored]
        theirs = [r["baseline_fid"] for r in rows]
        (m1, h1), (m2, h2) = interval(ours), interval(theirs)
        seen = statistics.fmean(r["ganvae_counts"]["images"] / r["baseline_counts"]["images"] for r in rows)
        lines.append(f"| {pair} ({variant}) vs {PAIRS[pair][2]} | {', '.join(f'{v:.1f}' for v in ours)} | "
                     f"{', '.join(f'{v:.1f}' for v in theirs)} | {m1:.1f} ± {h1:.1f} | {m2:.1f} ± {h2:.1f} | "
                     f"{m1 / m2:.2f} | {seen:.2f} |")
    write_table(args.out, lines)


def write_table(out: Path, lines: list[str]) -> None:
    """The Markdown table as OUT/results.md, and on the screen."""
    table = "\n".join(lines) + "\n"
    (out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
