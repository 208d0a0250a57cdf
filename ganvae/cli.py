"""The `ganvae` command: parses arguments, calls the Python API, turns the project's errors into one line."""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import torch

from . import interrupts
from .commands import COMMAND_HELP, exit_code, guarded, outline, say_error
from .api import Model, default_run_dir, load
from .config import (CHECKPOINT_EVERY, DEVICES, IW_SAMPLES, LOG_EVERY, N_EVAL, NLL_EXAMPLES, PRECISIONS,
                     BudgetConfig, DataConfig, ModelConfig, OptimConfig, RunConfig, validate)
from .data import name_part
from .errors import ConfigError, GanvaeError, one_line
from .latent_prior import GMM_COMPONENTS, resolve_prior
from .light_commands import add_datasets_command, cmd_datasets
from .families import FAMILIES, capabilities_of, compare_defaults, family_label, setting_flags
from .nets import ARCHS
from .sizes import available_cpus
from .train.distributed import RankZeroFailed, World
from .train.loop import Interrupted
from .train.run import CONFIG, RunFolder


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
    p.add_argument("--n-examples", "--n-samples", dest="n_examples", type=_positive_int, metavar="N",
                   help="toy sets: points to draw; stored sets: use a random subset of N examples "
                        "(--n-samples is its old name)")
    p.add_argument("--image-size", type=_positive_int, metavar="PX", help="resize images in a folder to PX x PX")
    p.add_argument("--data-seed", type=int, default=0, metavar="S", help="seed of toy-set draws and subsets")
    p.add_argument("--no-download", action="store_true", help="never try to download a missing dataset")


SETTING_DEST = "setting_"  # argparse destination prefix of the families' own settings
# Under torchrun an error every rank meets alike is said by rank 0; the others wait this long before exiting.
RANK_ZERO_GRACE_SECONDS = 2.0


def _add_setting_flags(p: argparse.ArgumentParser) -> None:
    """One flag per setting that a registered family declares (its Settings dataclass), with its help text
    and the families it applies to; old names are aliases."""
    group = p.add_argument_group("family settings", "settings that belong to one family (see its name)")
    for flag in setting_flags():
        kind = {bool: _bool, int: int, float: float}.get(type(flag.default), str)
        help_text = f"{'/'.join(flag.families)}: {flag.help} ({flag.default_text})"
        group.add_argument(flag.flag, *flag.aliases, dest=SETTING_DEST + flag.name, type=kind, default=None,
                           metavar=flag.metavar, help=help_text)


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _settings_from_flags(args) -> dict:
    """The family settings given on the command line (the family checks that they apply to it)."""
    return {key[len(SETTING_DEST):]: value for key, value in vars(args).items()
            if key.startswith(SETTING_DEST) and value is not None}


def build_parser() -> argparse.ArgumentParser:
    parser, sub = outline()

    add_datasets_command(sub)

    p = sub.add_parser("train", help=COMMAND_HELP["train"])
    p.add_argument("family", nargs="?", choices=FAMILIES.names(), help="which family to train")
    _add_data_flags(p, required=False)
    p.add_argument("--arch", choices=("auto", *ARCHS.names()),
                   help="network architecture (default auto: conv for 8, 28 or 32-pixel square images, mlp otherwise)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=_positive_float, help="passes over the data")
    budget.add_argument("--steps", type=_positive_int, help="optimisation steps")
    budget.add_argument("--minutes", type=_positive_float, help="wall-clock training time")
    p.add_argument("--batch-size", type=_positive_int)
    p.add_argument("--lr", type=_positive_float, help="Adam learning rate")
    p.add_argument("--latent-dim", type=_positive_int)
    p.add_argument("--hidden", type=_positive_int, help="hidden width (mlp/seed) or base channels (conv)")
    _add_setting_flags(p)
    p.add_argument("--seed", type=int, help="training seed (default 0)")
    p.add_argument("--device", choices=DEVICES, help="(default auto)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="arithmetic of the training step: auto (default: bf16 for the conv networks on a CPU that "
                        "does bf16 in hardware, else fp32, on a GPU too), fp32, bf16 autocast (CPUs with AVX-512 "
                        "BF16 or AMX, recent GPUs), fp16 with a gradient scaler (CUDA)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/FAMILY-DATA-ARCH-TIME)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its newest valid checkpoint (a budget, --lr or --device "
                        "flag is applied; with a family and --data, start the run if --out holds none yet)")
    p.add_argument("--checkpoint-every", type=_positive_int, metavar="STEPS", help=f"(default {CHECKPOINT_EVERY})")
    p.add_argument("--log-every", type=_positive_int, metavar="STEPS", help=f"(default {LOG_EVERY})")
    # No defaults here: a resume must tell the flags given from those left out (see TRAIN_DEFAULTS).
    p.set_defaults(split=None, data_seed=None)
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write a TensorBoard view to OUT/tensorboard: the logged values, samples at every "
                        "checkpoint interval, the config (needs pip install 'ganvae[tensorboard]')")
    _add_config_options(p)

    p = sub.add_parser("sample", help=COMMAND_HELP["sample"])
    p.add_argument("run", metavar="RUN", help="a run folder or checkpoint file")
    p.add_argument("-n", "--n-samples", type=_positive_int, default=64, metavar="N")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="a .npy (float32 array, written in blocks), .png (a grid or scatter), or for vector data .csv "
                        "or .parquet (the data's column names and units; .parquet needs pyarrow)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where the model is loaded and sampled (default auto)")
    _add_prior_flags(p, ("auto", "normal", "gmm"), default="auto")
    p.add_argument("--label", metavar="K",
                   help="conditional families (cgan, cvae): draw every sample of class K, a class name of the data "
                        "(a subfolder's name, Fashion-MNIST's Trouser ...) or a class number from 0")

    p = sub.add_parser("evaluate", help=COMMAND_HELP["evaluate"])
    p.add_argument("source", metavar="RUN_OR_SAMPLES",
                   help="a run folder, a checkpoint (.pt) or samples (.npy, as `ganvae sample -o` writes)")
    p.add_argument("--data", metavar="NAME", help="the dataset the samples imitate (default: the run's dataset)")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the MNIST / Fashion-MNIST IDX files")
    p.add_argument("--split", choices=["train", "test"],
                   help="reference split (default test, or train for data with a single split)")
    p.add_argument("-n", "--n-eval", "--n-samples", dest="n_eval", type=_positive_int, default=N_EVAL,
                   metavar="N",
                   help=f"samples scored (drawn, or the first N given), and real examples to compare with "
                        f"(default {N_EVAL}; --n-samples is its old name)")
    p.add_argument("--features", choices=["auto", "classifier", "inception", "raw"], default="auto",
                   help="feature space (default auto: a classifier for images, standardised values for vectors)")
    p.add_argument("--iw-samples", type=_positive_int, default=IW_SAMPLES, metavar="K",
                   help=f"VAE: importance samples per example for the NLL (default {IW_SAMPLES})")
    p.add_argument("--nll-examples", type=_positive_int, default=NLL_EXAMPLES, metavar="N",
                   help=f"VAE: test examples the NLL is averaged over (default {NLL_EXAMPLES})")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples drawn and of KID's subsets")
    p.add_argument("--out", metavar="FILE", help="where to write the JSON (default: RUN/metrics.json, or "
                                                 "SAMPLES.metrics.json beside a .npy)")
    p.add_argument("--no-download", action="store_true", help="never try to download a missing dataset")
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where a run is loaded, sampled and scored (default auto)")
    _add_prior_flags(p, ("auto", "normal", "gmm"), default="auto")

    p = sub.add_parser("compare", help=COMMAND_HELP["compare"])
    _add_data_flags(p, required=True)
    p.add_argument("--families", metavar="NAMES",
                   help=f"comma-separated families, from {', '.join(FAMILIES.names())} (default: "
                        f"{','.join(compare_defaults())})")
    p.add_argument("--arch", choices=["auto", *ARCHS.names()], default="auto",
                   help="auto: conv for 8/28/32-pixel images, mlp otherwise")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--budget", metavar="TIME", help="training time per run: 90s, 10m, 1h (default 1m)")
    budget.add_argument("--images", type=_positive_int, metavar="N", help="images seen per run")
    budget.add_argument("--epochs", type=_positive_float, metavar="N", help="epochs per run")
    p.add_argument("--seeds", type=_positive_int, default=3, help="seeds per family (default 3)")
    p.add_argument("-n", "--n-eval", type=_positive_int, default=N_EVAL, metavar="N",
                   help=f"samples scored per run (default {N_EVAL}, capped by the reference split)")
    p.add_argument("--iw-samples", type=_positive_int, default=IW_SAMPLES, metavar="K",
                   help=f"VAE: importance samples per example for the NLL (default {IW_SAMPLES})")
    p.add_argument("--nll-examples", type=_positive_int, default=NLL_EXAMPLES, metavar="N",
                   help=f"VAE: test examples the NLL is averaged over (default {NLL_EXAMPLES})")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="training arithmetic (as for train)")
    p.add_argument("--out", metavar="DIR", help="report folder (default runs/compare-DATA): a new or empty folder, "
                                                "or an earlier comparison's to continue it")
    p.add_argument("--rescore", action="store_true",
                   help="score finished runs in --out again with this version's metrics (no retraining)")
    _add_prior_flags(p, ("normal", "gmm", "both"), default="both")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard views: each run's training in its folder, the metric curves in "
                        "OUT/tensorboard (needs pip install 'ganvae[tensorboard]')")
    p.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                   help="train the runs in N processes, each pinned to its share of the CPU cores (or to one GPU "
                        "each when several are visible); default 1, one after another. For --images or --epochs "
                        "budgets the runs are those of --workers 1 with OMP_NUM_THREADS set to a worker's threads "
                        "(torch's sums round by thread count, which can steer a GAN elsewhere); a --budget in time "
                        "buys each run what its share allows")
    p.add_argument("--shard", metavar="I/N",
                   help="train and score only part I of N of the runs (seed-major order, cut into N contiguous "
                        "parts), for job arrays on machines that share --out; writes no report: `ganvae compare` "
                        "with the same flags and no --shard then writes it, reusing every finished run")

    p = sub.add_parser("advise", help=COMMAND_HELP["advise"])
    _add_data_flags(p, required=False)
    p.add_argument("--need", default="", metavar="NEEDS",
                   help="comma-separated: encoder, likelihood, sharp-samples, coverage, stable-training, conditional")
    p.add_argument("--budget", metavar="TIME", help="pilot training time per run (default 30s)")
    p.add_argument("--seeds", type=_positive_int, default=2, help="pilot seeds per family (default 2)")
    p.add_argument("--from", dest="report", metavar="REPORT", help="a compare report folder or its summary.json")
    p.add_argument("--out", metavar="DIR", help="pilot report folder (default runs/advise-DATA): a new or empty "
                                                "folder, or an earlier pilot's")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("export", help=COMMAND_HELP["export"])
    p.add_argument("run", metavar="RUN", help="a run folder or checkpoint file")
    p.add_argument("--format", choices=["torchscript", "onnx"],
                   help="torchscript (torch.jit.load) or onnx (needs onnx and onnxscript); default from -o, "
                        "else torchscript")
    p.add_argument("-o", "--output", metavar="FILE", help="default RUN/generator.pt (decoder.pt; .onnx for onnx)")

    p = sub.add_parser("explore", help=COMMAND_HELP["explore"])
    p.add_argument("run", metavar="RUN", help="a run folder or checkpoint file")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior draws the figures decode")
    p.add_argument("--out", metavar="DIR", help="where to write the figures (default: the run folder)")
    return parser


def _family_list(text: Optional[str]) -> tuple[str, ...]:
    """--families as a tuple; () (the registry's defaults) when not given."""
    if text is None:
        return ()
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ConfigError(f"--families must name at least one family from {', '.join(FAMILIES.names())}")
    return names


def _add_config_options(p: argparse.ArgumentParser) -> None:
    """--config FILE and --format on `train`; every train option then records that it was given, so that a flag
    on the command line overrides the file even when it repeats the flag's default."""
    p.add_argument("--config", metavar="FILE",
                   help="a TOML run config (as --print-config --format toml prints it); flags given override it")
    p.add_argument("--format", choices=["json", "toml"], default="json", help="of --print-config (default json)")
    for action in p._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            action.__class__ = _recording(type(action))


@functools.lru_cache(maxsize=None)
def _recording(action_class: type) -> type:
    """The argparse action class, plus: its dest joins namespace.given_flags when the option is on the line."""

    class Recording(action_class):
        def __call__(self, parser, namespace, values, option_string=None):
            super().__call__(parser, namespace, values, option_string)
            namespace.given_flags = getattr(namespace, "given_flags", frozenset()) | {self.dest}

    Recording.__name__ = action_class.__name__
    return Recording


def _apply_config_file(args) -> Optional[int]:
    """Fill the train flags not given on the command line from --config's TOML; print TOML for --format toml.

    The file's settings are parsed as the flags they stand for, by the train parser itself, so a bad value
    gives the flag's own one-line error. Returns an exit code when it did the whole command (printing TOML).
    """
    from .config_file import as_train_flags, read_config_file, to_toml

    if args.config:
        if args.resume:
            raise ConfigError("--config cannot be combined with --resume: a resumed run keeps its saved config")
        settings = read_config_file(args.config)
        subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
        train_parser = subcommands.choices["train"]
        from_file = train_parser.parse_args(as_train_flags(settings, args.config))
        given = getattr(args, "given_flags", frozenset())
        budget_flags = {"epochs", "steps", "minutes"}
        for dest in getattr(from_file, "given_flags", frozenset()):
            # A budget flag on the command line replaces the file's budget (the flags exclude each other).
            if dest not in given and not (dest in budget_flags and given & budget_flags):
                setattr(args, dest, getattr(from_file, dest))
        if args.family is None:
            args.family = from_file.family
        args.config = None  # applied
    if args.print_config and args.format == "toml" and not args.resume:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = cmd_train(argparse.Namespace(**{**vars(args), "format": "json"}))
        print(to_toml(json.loads(printed.getvalue())), end="")
        return code
    return None


def _data_config(args) -> DataConfig:
    return DataConfig(name=args.data, split=args.split, n_examples=args.n_examples, seed=args.data_seed,
                      data_dir=args.data_dir, image_size=args.image_size, download=not args.no_download)


# The train flags' defaults, applied in cmd_train: on --resume a flag left out keeps the saved run's value.
TRAIN_DEFAULTS = {"arch": "auto", "seed": 0, "device": "auto", "precision": "fp32", "checkpoint_every": CHECKPOINT_EVERY,
                  "log_every": LOG_EVERY, "split": "train", "data_seed": 0}


def _train_config(args, saved: Optional[RunConfig] = None) -> RunConfig:
    """The run the flags ask for: the given flags over the saved run's config (resume) or the defaults."""
    def pick(name: str, saved_value):
        value = getattr(args, name)
        if value is not None:
            return value
        return saved_value if saved is not None else TRAIN_DEFAULTS.get(name)

    s = saved or RunConfig()
    # A saved run's settings carry over to a resume of the same family; asking for another family is refused
    # later, naming both (its settings would only be refused first, for the wrong reason).
    same_family = saved is not None and args.family in (None, s.model.family)
    data = DataConfig(name=args.data if args.data is not None else s.data.name, split=pick("split", s.data.split),
                      n_examples=pick("n_examples", s.data.n_examples), seed=pick("data_seed", s.data.seed),
                      data_dir=pick("data_dir", s.data.data_dir), image_size=pick("image_size", s.data.image_size),
                      download=not args.no_download and (saved is None or s.data.download))
    return RunConfig(
        data=data,
        model=ModelConfig(family=args.family or s.model.family, arch=pick("arch", s.model.arch),
                          latent_dim=pick("latent_dim", s.model.latent_dim), hidden=pick("hidden", s.model.hidden),
                          settings={**(s.model.settings if same_family else {}), **_settings_from_flags(args)}),
        optim=OptimConfig(lr=pick("lr", s.optim.lr), betas=s.optim.betas if saved is not None else None,
                          batch_size=pick("batch_size", s.optim.batch_size)),
        budget=BudgetConfig(epochs=args.epochs, steps=args.steps, minutes=args.minutes)
        if any(v is not None for v in (args.epochs, args.steps, args.minutes)) or saved is None else s.budget,
        seed=pick("seed", s.seed), device=pick("device", s.device), precision=pick("precision", s.precision),
        log_every=pick("log_every", s.log_every),
        checkpoint_every=pick("checkpoint_every", s.checkpoint_every),
    )


def cmd_train(args) -> int:
    if (code := _apply_config_file(args)) is not None:
        return code
    progress = not args.no_progress
    if args.resume:
        if not args.out:
            raise ConfigError("--resume needs --out DIR: the run folder to continue")
        out = Path(args.out)
        full_spec = args.family is not None and args.data is not None
        # Read without the lock, only to build the request; fit decides under the lock what --out holds.
        saved = RunConfig.from_dict(RunFolder(out).read_config(), source=str(out / CONFIG)) \
            if RunFolder.holds_run(out) and (out / CONFIG).is_file() else None
        if saved is None and not full_spec:
            RunFolder.open(out)  # nothing to continue: its one line
        cfg = validate(_train_config(args, saved))
        model = Model.from_config(cfg, out=out, progress=progress, tensorboard=args.tensorboard)
        if args.print_config:  # what the resume would train with (a new run's, resolved, when none is there)
            print((cfg if saved is not None else model.resolved_config(cfg.data)[0]).to_json())
            return 0
        model.fit(cfg.data, resume=True, say=print)
        model.plot()
        return _report_run(model)
    if args.family is None:
        raise ConfigError(f"train needs a family: `ganvae train FAMILY ...` with FAMILY one of "
                          f"{', '.join(FAMILIES.names())}")
    if args.data is None:
        raise ConfigError("train needs --data NAME (see `ganvae datasets`)")
    cfg = validate(_train_config(args))
    out = Path(args.out) if args.out else default_run_dir(args.family, args.data, cfg.model.arch)
    args.out = str(out)  # so an interruption's resume hint names the folder
    model = Model.from_config(cfg, out=None if args.print_config else out, progress=progress,
                              tensorboard=args.tensorboard and not args.print_config)
    if args.print_config:
        resolved, _ = model.resolved_config(cfg.data)
        print(resolved.to_json())
        return 0
    model.fit(cfg.data, say=print)
    model.plot()  # the run figures: drawn here, not by fit
    return _report_run(model)


def _report_run(model) -> int:
    if not model.world_.is_main:  # under torchrun rank 0 reports the run
        return 0
    state = model.state_
    print(f"trained {family_label(model.family_name)} ({model.config_.model.arch}) on {model.config_.data.name}: "
          f"{state.step} steps, {state.images_seen} images, {state.seconds:.1f} s")
    print(f"run folder: {model.run_dir_}")
    for name, path in model.figures_.items():
        print(f"  {name}: {path}")
    if model.tensorboard:
        print(f"TensorBoard: tensorboard --logdir {model.run_dir_}")
    return 0


def _add_prior_flags(p, choices: tuple[str, ...], default: str = "normal") -> None:
    said = {"auto": "auto, gmm for an unconditional VAE or IWAE, normal for the others (the VAE-GAN included)",
            "normal": "normal, N(0, I)", "gmm": "gmm, a Gaussian mixture fitted to the encoded training data "
                                               "(families with an encoder; cached as RUN/latent_prior.npz)",
            "both": "both, each family with an encoder twice, as its own entry and as 'FAMILY (GMM prior)'"}
    p.add_argument("--prior", choices=choices, default=default,
                   help="where codes are drawn from: " + "; ".join(
                       said[choice] + (" (default)" if choice == default else "") for choice in choices))
    p.add_argument("--gmm-components", type=_positive_int, default=GMM_COMPONENTS, metavar="K",
                   help=f"components of the fitted mixture (default {GMM_COMPONENTS})")


def cmd_sample(args) -> int:
    from .sample_files import SUFFIXES, check_format, write_samples

    output = Path(args.output)
    if output.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"-o must end in .npy, .png, .csv or .parquet, not {output.name!r}")
    model = load(args.run, device=args.device)
    check_format(model, output)  # said before the prior is fitted and any sample drawn
    prior = resolve_prior(args.prior, model.family_.capabilities)
    try:
        model.use_prior(prior, args.gmm_components)
    except ConfigError as exc:
        if args.prior != "auto":
            raise
        # auto's mixture is fitted to the training data: where neither it nor a stored fit is at hand, say so and
        # draw from the model's own N(0, I), as before the mixture was the default
        print(f"note: sampling from N(0, I), not the fitted mixture: {one_line(exc)}", file=sys.stderr)
        model.use_prior("normal")
    label = None if args.label is None else model.class_index(args.label)
    shape = write_samples(model, args.n_samples, output, seed=args.seed, labels=label)
    names = model.data_info_.get("class_names") or []
    of_class = "" if label is None else f" of class {label}" + (f" ({names[label]})" if label < len(names) else "")
    source = (f", codes from the {args.gmm_components}-component mixture fitted to the encoded training data "
              f"(--prior normal for N(0, I))") if model.sampling_prior == "gmm" else ""
    print(f"wrote {args.n_samples} samples{of_class} of shape {shape} to {output}{source}")
    return 0


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate, format_table, metrics_path_for, save_metrics

    result = evaluate(args.source, data=args.data, split=args.split, n_eval=args.n_eval,
                      features=args.features, seed=args.seed, iw_samples=args.iw_samples,
                      nll_examples=args.nll_examples, data_dir=args.data_dir, download=not args.no_download,
                      progress=True, prior=args.prior, gmm_components=args.gmm_components, device=args.device)
    print(format_table(result))
    path = args.out or metrics_path_for(args.source)
    used = result["settings"].get("prior", "normal")
    if path is not None and not args.out and used != resolve_prior("auto", capabilities_of(result["family"])):
        path = path.with_name(f"{path.stem}-{used}{path.suffix}")  # beside the default prior's, not over it
    path = save_metrics(result, path)
    print(f"wrote {path}")
    return 0


def cmd_compare(args) -> int:
    from .config import CompareConfig, parse_duration
    from .comparison import compare

    budget = BudgetConfig(epochs=args.epochs) if args.epochs else BudgetConfig(
        minutes=None if args.images else parse_duration(args.budget or "1m"))
    cfg = CompareConfig(data=_data_config(args), families=_family_list(args.families),
                        arch=args.arch, budget=budget, images=args.images, seeds=args.seeds, n_eval=args.n_eval,
                        iw_samples=args.iw_samples, nll_examples=args.nll_examples, device=args.device,
                        precision=args.precision)
    out = Path(args.out) if args.out else Path("runs") / f"compare-{name_part(args.data)}"
    result = compare(cfg, out, progress=not args.no_progress, rescore=args.rescore, tensorboard=args.tensorboard,
                     prior=args.prior, gmm_components=args.gmm_components, workers=args.workers, shard=args.shard)
    if args.shard is not None:
        done = ", ".join(f"{family} seed {seed}" for family, seed in result.cells) or "no runs"
        print(f"\nshard {result.shard} of the comparison in {out}: {done}; once every shard is done, `ganvae "
              f"compare` with the same flags and no --shard writes the report, reusing every finished run")
        return 0
    summary, paths = result
    print("\nVerdict:")
    for sentence in summary["verdict"]:
        print(f"- {sentence['text']}")
    print(f"\nreport: {paths['html']}")
    print(f"also: {paths['markdown']}, {paths['summary']}")
    if "tensorboard" in paths:
        print(f"TensorBoard: tensorboard --logdir {out}")
    return 0


def cmd_advise(args) -> int:
    from .config import CompareConfig, parse_duration
    from .report.advise import advise, parse_needs
    from .comparison import compare
    from .report.summary import SUMMARY_NAME, read_summary

    needs = parse_needs(args.need)
    if args.report:
        path = Path(args.report)
        summary = read_summary(path / SUMMARY_NAME if path.is_dir() else path)
        source = f"the report in {path}"
    else:
        if not args.data:
            raise ConfigError("advise needs --data NAME for a pilot comparison, or --from REPORT")
        cfg = CompareConfig(data=_data_config(args), budget=BudgetConfig(minutes=parse_duration(args.budget or "30s")),
                            seeds=args.seeds, n_eval=2000)
        out = Path(args.out) if args.out else Path("runs") / f"advise-{name_part(args.data)}"
        print(f"no report given: a pilot comparison ({args.budget or '30s'} per run, {args.seeds} seeds) into {out}")
        summary, _ = compare(cfg, out, progress=not args.no_progress)
        source = f"a pilot comparison in {out}"
    advice = advise(needs, summary)
    print(f"\nRecommendation: {family_label(advice.family)} (from {source})")
    for reason in advice.reasons:
        print(f"- {reason}")
    for warning in advice.warnings:
        print(f"! {warning}")
    if advice.settings.get("command"):
        print(f"\nTo train it: {advice.settings['command']}")
    return 0


def cmd_export(args) -> int:
    from .export import export, format_for, read_metadata

    fmt = format_for(args.output, args.format)
    path = export(args.run, args.output, fmt)
    meta = read_metadata(path, fmt)
    shape = ", ".join(str(n) for n in meta["data_shape"])
    loader = "onnxruntime.InferenceSession(PATH), input 'z'" if fmt == "onnx" else "torch.jit.load(PATH)"
    print(f"wrote the {meta['family'].upper()}'s {meta['network']} to {path}: z (B, {meta['latent_dim']}) -> "
          f"(B, {shape}), {meta['output']}; load it with {loader}")
    return 0


def cmd_explore(args) -> int:
    from .report.explore import explore

    out = args.out or (Path(args.run) if Path(args.run).is_dir() else Path(args.run).parent)
    for path in explore(load(args.run), out_dir=out, seed=args.seed).values():
        print(f"wrote {path}")
    return 0


COMMANDS = {"datasets": cmd_datasets, "train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate,
            "compare": cmd_compare, "advise": cmd_advise, "export": cmd_export, "explore": cmd_explore}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command. Errors, Ctrl-C (exit 130), SIGTERM (143) and a closed pipe (141) are one line or none."""
    return guarded(lambda: _run(argv))


def _run(argv: Optional[Sequence[str]]) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not os.environ.get("OMP_NUM_THREADS"):
            # torch starts one thread per core it sees; in a container with a CPU quota, or pinned to fewer
            # cores, the extra threads only wait for each other.
            torch.set_num_threads(min(torch.get_num_threads(), available_cpus()))
        return COMMANDS[args.command](args)
    except Interrupted as exc:
        if args.command == "train" and World.launched():
            hint = "resume with the same torchrun command and --resume"
        elif args.command == "train":
            hint = f"resume with: ganvae train --resume --out {args.out}"
        else:
            hint = "run the same command again to continue where it stopped"
        if World.launched_rank() == 0:  # every rank stops together; one says so
            print(f"ganvae: {one_line(exc)}; {hint}", file=sys.stderr)
        # The loop's own handler caught the signal (so interrupts' record may not have it): 130 or 143.
        return interrupts.EXIT_CODES.get(exc.signum) or interrupts.exit_code()
    except GanvaeError as exc:
        # Under torchrun a bad flag fails alike on every rank and rank 0 says it; a rank's own failure (its data,
        # a lost peer) is said by that rank.
        if World.launched_rank() == 0:
            return say_error(exc)
        if not isinstance(exc, (ConfigError, RankZeroFailed)):
            print(f"ganvae (rank {World.launched_rank()}): error: {one_line(exc)}", file=sys.stderr)
        else:  # torchrun stops every process as soon as one exits: give rank 0 the moment it needs to say it
            with contextlib.suppress(KeyboardInterrupt):  # torchrun's SIGTERM once rank 0 has exited
                time.sleep(RANK_ZERO_GRACE_SECONDS)
        return exit_code(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (interrupts.Terminated), outside the training loop
        return interrupts.report(exc)


if __name__ == "__main__":
    sys.exit(main())
