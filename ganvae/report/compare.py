"""`ganvae compare`: train every family on the same data, budget and seeds; evaluate; aggregate; report.

Each run lives in OUT/runs/FAMILY-seedS. A run is trained in a few segments (each resuming the last), and
scored after each, which gives the metric-versus-training-time curves; resuming is exact, so the final
weights equal those of one uninterrupted run. Runs already complete in OUT are reused, a run that was
interrupted is resumed: an interrupted comparison continues where it stopped.
"""

from __future__ import annotations

import math
from dataclasses import asdict
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable

from ..api import Model
from ..config import BudgetConfig, CompareConfig, RunConfig, validate_compare
from ..data import IMAGE, MODE_MEANS, Dataset, load_dataset
from ..errors import ConfigError
from ..families import FAMILIES, compare_defaults
from ..nets import ARCHS
from ..train.checkpoint import LATEST, PREVIOUS
from ..train.run import CONFIG, RunFolder, read_json, write_json
from .document import write_report
from .summary import build_summary

DONE = "compare.json"  # written into a run folder once it is trained to budget and scored
CURVE_POINTS = 4  # training segments, each followed by a quick score
CURVE_SAMPLES = 1000  # samples scored at each intermediate point


def auto_arch(dataset: Dataset) -> str:
    """conv where the images fit it, mlp otherwise."""
    try:
        ARCHS.get("conv").check(dataset.kind, dataset.shape)
        return "conv"
    except ConfigError:
        return "mlp"


def segment_budgets(cfg: CompareConfig, batch_size: int, points: int) -> list[BudgetConfig]:
    """The cumulative budget at the end of each training segment; the last is the whole budget."""
    b = cfg.budget
    if cfg.images is not None:
        total_steps = max(1, math.ceil(cfg.images / batch_size))
        return [BudgetConfig(steps=max(1, math.ceil(total_steps * k / points))) for k in range(1, points + 1)]
    if b.steps is not None:
        return [BudgetConfig(steps=max(1, math.ceil(b.steps * k / points))) for k in range(1, points + 1)]
    if b.epochs is not None:
        return [BudgetConfig(epochs=b.epochs * k / points) for k in range(1, points + 1)]
    return [BudgetConfig(minutes=b.minutes * k / points) for k in range(1, points + 1)]


def _model(family: str, arch: str, seed: int, budget: BudgetConfig, out: Path, cfg: CompareConfig, progress: bool):
    return Model.of(family, arch=arch, seed=seed, epochs=budget.epochs, steps=budget.steps, minutes=budget.minutes,
                          out=out, device=cfg.device, progress=progress, checkpoint_every=10**9)


def _score(model, cfg: CompareConfig, n_samples: int, final: bool) -> dict:
    from ..metrics.evaluate import evaluate

    # Intermediate points get a cheaper NLL: they draw curves, the final point fills the table.
    iw_samples, nll_examples = (cfg.iw_samples, cfg.nll_examples) if final else \
        (min(cfg.iw_samples, 50), min(cfg.nll_examples, 50))
    return evaluate(model, data=cfg.data, n_samples=n_samples, iw_samples=iw_samples, nll_examples=nll_examples)


def train_and_score(family: str, seed: int, arch: str, cfg: CompareConfig, run_dir: Path, n_eval: int,
                    progress: bool, say: Callable[[str], None], rescore: bool = False) -> dict:
    """One run of the comparison: trained to budget in segments, scored; reused if already done (and, with
    rescore, its final weights scored again with this version's metrics; the curves keep their points)."""
    done_path = run_dir / DONE
    expected = {"family": family, "seed": seed, "arch": arch, "data": cfg.data.name, "iw_samples": cfg.iw_samples,
                "nll_examples": cfg.nll_examples, "budget": {**asdict(cfg.budget), "images": cfg.images},
                "n_eval": n_eval}
    if done_path.exists():
        record = read_json(done_path)
        if record.get("settings") != expected:
            raise ConfigError(f"{run_dir} holds a run with other settings ({record.get('settings')}); "
                              f"use another --out or delete that folder")
        if not rescore:
            say(f"  reusing {run_dir}")
            return record["run"]
        say(f"  reusing {run_dir}, scoring its final weights again")
        result = _score(Model.load(run_dir), cfg, n_eval, final=True)
        write_json(run_dir / "metrics.json", result)
        run = {**record["run"], "metrics": result["metrics"],
               "evaluated": {key: result.get(key) for key in ("n_samples", "n_reference", "split", "feature_space")}}
        write_json(done_path, {"settings": expected, "run": run})
        return run

    # The run uses its family's default batch size (compare sets no other), which turns --images into steps.
    budgets = segment_budgets(cfg, FAMILIES.get(family).defaults.batch_size, CURVE_POINTS)
    curve_path = run_dir / "curve.json"
    curve: list[dict] = read_json(curve_path) if curve_path.exists() else []
    has_checkpoint = (run_dir / LATEST).exists() or (run_dir / PREVIOUS).exists()
    if run_dir.exists() and not has_checkpoint:
        shutil.rmtree(run_dir)  # died before its first checkpoint: nothing to keep
        curve = []
    model = None
    # Every curve point scores the same number of samples: k-NN metrics (precision, recall...) depend on it.
    curve_samples = min(n_eval, CURVE_SAMPLES)
    for index, budget in enumerate(budgets):
        if index < len(curve):
            continue  # this segment was trained and scored before an interruption
        model = _model(family, arch, seed, budget, run_dir, cfg, progress)
        final = index == len(budgets) - 1
        model.fit(cfg.data, resume=(run_dir / CONFIG).exists(), figures=final)
        result = _score(model, cfg, curve_samples, final=False)
        point = {"seconds": model.state_.seconds, "images_seen": model.state_.images_seen,
                 "step": model.state_.step, **{k: v for k, v in result["metrics"].items() if v is not None}}
        if final:
            result = _score(model, cfg, n_eval, final=True)
        curve.append(point)
        write_json(curve_path, curve)
        if final:
            write_json(run_dir / "metrics.json", result)
    if model is None:  # every segment done, but compare.json missing (killed just before writing it)
        model = Model.load(run_dir)
        result = read_json(run_dir / "metrics.json")
    status = RunFolder(run_dir).status()
    run = {
        "family": family, "seed": seed, "run_dir": str(run_dir), "arch": arch,
        "status": status.get("state", "finished"),
        "config": RunConfig.from_dict(RunFolder(run_dir).read_config()).to_dict(),
        "metrics": result["metrics"],
        "cost": {"seconds": curve[-1]["seconds"], "images_seen": curve[-1]["images_seen"],
                 "parameters": sum(model.n_parameters().values())},
        "figures": {name: str(run_dir / f"{name}.png") for name in
                    ("samples", "losses", "reconstructions", "interpolations") if (run_dir / f"{name}.png").exists()},
        "curve": curve,
        "evaluated": {key: result.get(key) for key in ("n_samples", "n_reference", "split", "feature_space")},
    }
    write_json(done_path, {"settings": expected, "run": run})
    return run


def compare(cfg: CompareConfig, out: Path, progress: bool = True, say: Callable[[str], None] = print,
            rescore: bool = False) -> tuple[dict, dict[str, Path]]:
    """Run the whole comparison into `out`; return the summary and the report's paths. rescore: score runs
    that are already done again (after an upgrade of ganvae's metrics) instead of reusing their numbers."""
    cfg = validate_compare(cfg)
    if not cfg.families:
        cfg = replace(cfg, families=compare_defaults())
    for family in cfg.families:
        FAMILIES.get(family)  # an unknown name is one line listing the registered families
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder; choose another --out")
    train_data = load_dataset(replace(cfg.data, split="train"))
    arch = auto_arch(train_data) if cfg.arch == "auto" else cfg.arch
    ARCHS.get(arch).check(train_data.kind, train_data.shape)
    n_eval = cfg.n_eval
    runs = []
    for seed in range(cfg.seeds):
        for family in cfg.families:
            say(f"[{family} seed {seed}] training ({arch}) and scoring ...")
            run = train_and_score(family, seed, arch, cfg, out / "runs" / f"{family}-seed{seed}", n_eval,
                                  progress, say, rescore=rescore)
            fid = run["metrics"].get("fid")
            say(f"  {run['cost']['seconds']:.0f} s, {run['cost']['images_seen']} images"
                + (f", FID {fid:.2f}" if fid is not None else ""))
            runs.append(run)
    data_info = train_data.info()
    if train_data.kind == IMAGE and train_data.y is not None:
        data_info["n_classes"] = int(train_data.y.max()) + 1
    if train_data.name in MODE_MEANS:
        data_info["n_modes"] = len(MODE_MEANS[train_data.name])
    budget = {k: v for k, v in (("minutes", cfg.budget.minutes), ("epochs", cfg.budget.epochs),
                                ("steps", cfg.budget.steps), ("images", cfg.images)) if v is not None}
    scored = runs[0]["evaluated"]
    notes = [f"Each run trained with the {arch} architecture and was scored on {scored['n_samples']} samples "
             f"against {scored['n_reference']} real examples of the {scored['split']} split, in the "
             f"{scored['feature_space']} feature space; the curves score {CURVE_SAMPLES} samples at "
             f"{CURVE_POINTS} points of training."]
    summary = build_summary(data=data_info, budget=budget, seeds=list(range(cfg.seeds)),
                            runs=runs, families=list(cfg.families), notes=notes)
    paths = write_report(summary, out)
    write_json(out / "compare-config.json", cfg.to_dict())
    return summary, paths
