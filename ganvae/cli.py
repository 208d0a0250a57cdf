"""The `ganvae` command: parses arguments, calls the Python API, turns the project's errors into one line."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import __version__
from .api import GAN, VAE, default_run_dir, load
from .config import BudgetConfig, DataConfig, ModelConfig, OptimConfig, RunConfig, validate
from .errors import ConfigError, GanvaeError
from .families import FAMILIES
from .nets import ARCHS
from .train.loop import Interrupted


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage block) and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"ganvae: error: {message} (see `{self.prog} --help`)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _add_data_flags(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--data", required=required, metavar="NAME",
                   help="a dataset name (see `ganvae datasets`) or a path to a folder of images, .npy, .npz or .csv")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the MNIST / Fashion-MNIST IDX files")
    p.add_argument("--split", choices=["train", "test"], default="train", help="which split to use (default train)")
    p.add_argument("--n-samples", type=_positive_int, metavar="N",
                   help="toy sets: points to draw; stored sets: use a random subset of N examples")
    p.add_argument("--image-size", type=_positive_int, metavar="PX", help="resize images in a folder to PX x PX")
    p.add_argument("--data-seed", type=int, default=0, metavar="S", help="seed of toy-set draws and subsets")
    p.add_argument("--no-download", action="store_true", help="never try to download a missing dataset")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganvae", description="Train GANs and VAEs on the same data and compare them.")
    parser.add_argument("--version", action="version", version=f"ganvae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("datasets", help="list the datasets and whether each is available offline now")
    p.add_argument("--data-dir", metavar="DIR", help="also look for IDX files here")

    p = sub.add_parser("train", help="train one model and write a run folder")
    p.add_argument("family", nargs="?", choices=FAMILIES.names(), help="which family to train")
    _add_data_flags(p, required=False)
    p.add_argument("--arch", choices=ARCHS.names(), default="mlp", help="network architecture (default mlp)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=_positive_float, help="passes over the data")
    budget.add_argument("--steps", type=_positive_int, help="optimisation steps")
    budget.add_argument("--minutes", type=_positive_float, help="wall-clock training time")
    p.add_argument("--batch-size", type=_positive_int)
    p.add_argument("--lr", type=_positive_float, help="Adam learning rate")
    p.add_argument("--latent-dim", type=_positive_int)
    p.add_argument("--hidden", type=_positive_int, help="hidden width (mlp/seed) or base channels (conv)")
    p.add_argument("--beta", type=float, default=1.0, help="VAE: weight of the KL term (default 1)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/FAMILY-DATA-ARCH-TIME)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its newest valid checkpoint (a budget flag extends it)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=500, metavar="STEPS")
    p.add_argument("--log-every", type=_positive_int, default=20, metavar="STEPS")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    p = sub.add_parser("sample", help="draw samples from a trained run into a .npy or .png file")
    p.add_argument("run", metavar="RUN", help="a run folder or checkpoint file")
    p.add_argument("-n", "--n-samples", type=_positive_int, default=64, metavar="N")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="a .npy (float32 array) or .png file")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("demo", help="train a GAN and a VAE on the built-in real digits with the same budget")
    p.add_argument("--data", default="mnist5k", metavar="NAME")
    p.add_argument("--arch", choices=ARCHS.names(), default="conv")
    p.add_argument("--minutes", type=_positive_float, default=1.0, help="training time for each family")
    p.add_argument("--out", default="runs/demo", metavar="DIR")
    p.add_argument("--no-progress", action="store_true")
    return parser


def _data_config(args) -> DataConfig:
    return DataConfig(name=args.data, split=args.split, n_samples=args.n_samples, seed=args.data_seed,
                      data_dir=args.data_dir, image_size=args.image_size, download=not args.no_download)


def cmd_datasets(args) -> int:
    from .data import dataset_table

    rows = dataset_table(args.data_dir)
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        where = "offline" if row["available"] else "needs download"
        print(f"{row['name']:<{width}}  {row['kind']:<6}  {row['size']:<22}  {where:<14}  {row['description']}")
    print("\nAlso accepted by --data: a folder of PNG/JPEG images, a .npy/.npz array or a .csv of numbers.")
    return 0


def cmd_train(args) -> int:
    if args.resume:
        if not args.out:
            raise ConfigError("--resume needs --out DIR: the run folder to continue")
        cfg = RunConfig(budget=BudgetConfig(args.epochs, args.steps, args.minutes),
                        model=ModelConfig(family=args.family or "gan"), device=args.device)
        validate(cfg)
        model = GAN(epochs=args.epochs, steps=args.steps, minutes=args.minutes, device=args.device,
                    out=args.out, progress=not args.no_progress)
        saved_family = json.loads((Path(args.out) / "config.json").read_text())["model"]["family"] \
            if (Path(args.out) / "config.json").is_file() else "gan"
        if saved_family == "vae":
            model = VAE(epochs=args.epochs, steps=args.steps, minutes=args.minutes, device=args.device,
                        out=args.out, progress=not args.no_progress)
        model.fit(None, resume=True)
        path, step, skipped = model.resumed_from_
        for why in skipped:
            print(f"skipped: {why}")
        print(f"resumed from {path} (step {step})")
        return _report_run(model)
    if args.family is None:
        raise ConfigError("train needs a family: `ganvae train gan ...` or `ganvae train vae ...`")
    if args.data is None:
        raise ConfigError("train needs --data NAME (see `ganvae datasets`)")
    cfg = RunConfig(
        data=_data_config(args),
        model=ModelConfig(family=args.family, arch=args.arch, latent_dim=args.latent_dim, hidden=args.hidden,
                          beta=args.beta),
        optim=OptimConfig(lr=args.lr, batch_size=args.batch_size),
        budget=BudgetConfig(epochs=args.epochs, steps=args.steps, minutes=args.minutes),
        seed=args.seed, device=args.device, log_every=args.log_every, checkpoint_every=args.checkpoint_every,
    )
    out = Path(args.out) if args.out else default_run_dir(args.family, args.data, args.arch)
    model_cls = GAN if args.family == "gan" else VAE
    model = model_cls.from_config(validate(cfg), out=None if args.print_config else out,
                                  progress=not args.no_progress)
    if args.print_config:
        resolved, _ = model.resolved_config(cfg.data)
        print(resolved.to_json())
        return 0
    model.fit(cfg.data)
    return _report_run(model)


def _report_run(model) -> int:
    state = model.state_
    print(f"trained {model.family_name.upper()} ({model.config_.model.arch}) on {model.config_.data.name}: "
          f"{state.step} steps, {state.images_seen} images, {state.seconds:.1f} s")
    print(f"run folder: {model.run_dir_}")
    for name, path in model.figures_.items():
        print(f"  {name}: {path}")
    return 0


def cmd_sample(args) -> int:
    from .report.plots import save_samples

    output = Path(args.output)
    if output.suffix not in (".npy", ".png"):
        raise ConfigError(f"-o must end in .npy or .png, not {output.name!r}")
    model = load(args.run)
    samples = model.sample(args.n_samples, seed=args.seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".npy":
        from .train.checkpoint import atomic_write_bytes
        import io

        buffer = io.BytesIO()
        np.save(buffer, samples.astype(np.float32))
        atomic_write_bytes(output, buffer.getvalue())
    else:
        save_samples(samples, output, kind=model.data_info_["kind"])
    print(f"wrote {len(samples)} samples of shape {tuple(samples.shape[1:])} to {output}")
    return 0


def cmd_demo(args) -> int:
    """Until `ganvae compare` exists: both families, same data, same wall-clock budget."""
    data = DataConfig(name=args.data)
    models = []
    for model_cls in (GAN, VAE):
        out = Path(args.out) / model_cls.family_name
        if (out / "config.json").exists():
            import shutil

            shutil.rmtree(out)
        model = model_cls(arch=args.arch, minutes=args.minutes, out=out, progress=not args.no_progress)
        print(f"training a {model_cls.__name__} ({args.arch}) on {args.data} for {args.minutes:g} min ...")
        model.fit(data)
        _report_run(model)
        models.append(model)
    print("\nOpen samples.png in each run folder to see the two families side by side.")
    return 0


COMMANDS = {"datasets": cmd_datasets, "train": cmd_train, "sample": cmd_sample, "demo": cmd_demo}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except Interrupted as exc:
        out = getattr(args, "out", None)
        print(f"ganvae: {exc}; resume with: ganvae train --resume --out {out}", file=sys.stderr)
        return 130
    except GanvaeError as exc:
        print(f"ganvae: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    except KeyboardInterrupt:
        print("ganvae: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
