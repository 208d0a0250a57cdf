"""Every performance comparison of issue 11 in one command: a table in benchmarks/results/ and the plots.

    python benchmarks/run.py [--quick] [--skip quality scaling ...] [--out benchmarks/results]

Runs, one after the other and never two at once (these machines are shared; a second busy process makes torch's
threads collapse): start-up of the command line against `import torch`; the fast paths (fused/foreach Adam,
channels-last, bf16) for the GAN and the VAE step; ganvae's loop against a bare loop of the same model and
against the tutorial loop (beside that model's bare preloaded loop, the ceiling of any loop of it); PRDC against the `prdc` package; the VAE NLL's bias and error against K (a VAE
trained for 2 minutes, `nll_k.py`); scaling with the data and the batch
(docs/figures/scaling.png); training on one process against two with torchrun (images per second and the scaling
efficiency, `bench_distributed.py`); and quality per minute, ganvae's default GAN and VAE against a plain DCGAN and a
plain conv VAE for 5 minutes each over 3 seeds (about an hour and a half; `--quick`: 1 minute, 2 seeds). Every
speed is a ratio against a baseline measured in the same run. The result is
benchmarks/results/YYYY-MM-DD.md, with the machine it ran on; nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PARTS = ("startup", "fast-paths", "overhead", "metrics", "nll", "scaling", "distributed", "quality")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{model}; {cores} cores available; Python {platform.python_version()}; torch {torch.__version__}; "
            f"{platform.system()} {platform.release()}")


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def startup(repeats: int = 5) -> str:
    python = sys.executable
    commands = {
        "python -c 'import torch' (the reference)": [python, "-c", "import torch"],
        "ganvae --help": [python, "-m", "ganvae", "--help"],
        "ganvae --version": [python, "-m", "ganvae", "--version"],
        "ganvae trian (a misspelt command)": [python, "-m", "ganvae", "trian"],
        "ganvae train gan --epochz 1 (a bad flag)": [python, "-m", "ganvae", "train", "gan", "--epochz", "1"],
        "ganvae datasets": [python, "-m", "ganvae", "datasets"],
    }
    times = {name: [] for name in commands}
    for _ in range(repeats):  # interleaved, so a slow spell hits every command alike
        for name, command in commands.items():
            times[name].append(wall(command))
    reference = statistics.median(next(iter(times.values())))
    lines = ["| command | median wall seconds | ratio to `import torch` |", "|---|---|---|"]
    for name, values in times.items():
        lines.append(f"| {name} | {statistics.median(values):.2f} | {statistics.median(values) / reference:.2f} |")
    return "\n".join(lines)


def script(name: str, *arguments: str) -> str:
    done = subprocess.run([sys.executable, str(HERE / name), *arguments], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode:
        return f"`{name}` failed (exit {done.returncode}):\n\n```\n{done.stderr[-2000:]}\n```"
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="quality per minute for 1 minute and 2 seeds")
    parser.add_argument("--skip", nargs="+", choices=PARTS, default=[])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    parts = [part for part in PARTS if part not in args.skip]
    sections = [f"# ganvae benchmarks, {datetime.date.today()}", "", f"Machine: {machine()}.", "",
                f"Command: `python benchmarks/run.py{' --quick' if args.quick else ''}"
                f"{' --skip ' + ' '.join(args.skip) if args.skip else ''}`", ""]

    def section(title: str, body: str) -> None:
        sections.extend([f"## {title}", "", body, ""])
        print(f"## {title}\n\n{body}\n", flush=True)

    if "startup" in parts:
        section("Start-up (wall clock, median of 5, interleaved)", startup())
    if "fast-paths" in parts:
        section("Fast paths: one conv training step, 28x28, batch 128",
                "```\n" + script("bench_fast_paths.py", "--family", "gan") + "\n"
                + script("bench_fast_paths.py", "--family", "vae") + "\n```")
    if "overhead" in parts:
        section("ganvae's loop against a bare loop and the tutorial loop", script("bench_overhead.py"))
    if "metrics" in parts:
        section("Metrics on 10,000 x 10,000 features of dim 256",
                "```\n" + script("bench_metrics.py", "--n-samples", "10000", "--dim", "256") + "\n```")
    if "nll" in parts:
        run = ROOT / "runs" / f"nll-k-vae-{time.strftime('%Y%m%d-%H%M%S')}"
        subprocess.run([sys.executable, "-m", "ganvae", "train", "vae", "--data", "fashion-mnist", "--minutes",
                        "1" if args.quick else "2", "--out", str(run), "--no-progress"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        section(f"The VAE's NLL against K ({run})", script("nll_k.py", str(run), "--examples", "200"))
    if "scaling" in parts:
        section("Scaling with the data and the batch (docs/figures/scaling.png)", script("bench_scaling.py"))
    if "distributed" in parts:
        section("One process against torchrun", script("bench_distributed.py", "--steps", "300"))
    if "quality" in parts:
        minutes, seeds = ("1", ["0", "1"]) if args.quick else ("5", ["0", "1", "2"])
        out = ROOT / "runs" / f"quality-per-minute-{time.strftime('%Y%m%d-%H%M%S')}"
        # ganvae's defaults (bf16 where the CPU has it, the GAN's conv preset; the VAE also from its fitted
        # mixture) against the plain DCGAN and the plain conv VAE
        said = script("quality_per_minute.py", "--minutes", minutes, "--seeds", *seeds, "--out", str(out))
        table = out / "results.md"
        section(f"Quality per minute ({minutes} min per run, seeds {' '.join(seeds)}; runs in {out})",
                table.read_text() if table.exists() else said)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.date.today()}.md"
    path.write_text("\n".join(sections))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
