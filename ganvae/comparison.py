"""`ganvae compare`: train every family on the same data, budget and seeds; evaluate; aggregate; report.

Each run lives in OUT/runs/FAMILY-seedS. A run is trained in a few segments (each resuming the last), and
scored after each, which gives the metric-versus-training-time curves; resuming is exact, so the final
weights equal those of one uninterrupted run. Runs already complete in OUT are reused, a run that was
interrupted is resumed: an interrupted comparison continues where it stopped. Before a run is reused or
resumed, its config.json is checked against what this comparison would train; a folder that holds anything
else is refused, never adopted or deleted. One process writes a comparison folder at a time (a FolderLock),
or several shards of the same comparison (`--shard I/N`, each holding the lock shared, each run folder locked by
the run that trains it). `--workers N` trains the grid's runs in N processes; the report is the same.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Callable, Optional

from . import interrupts
from .api import Model
from .config import BudgetConfig, CompareConfig, RunConfig, Shard, parse_shard, validate_compare, validate_workers
from .data import IMAGE, MODE_MEANS, Dataset, load_dataset
from .errors import ConfigError, GanvaeError, RunError, one_line
from .families import FAMILIES, capabilities_of, compare_defaults
from .latent_prior import GMM_COMPONENTS, PRIOR_FILE, check_prior
from .latent_prior import takes_fitted_prior as family_takes_fitted_prior
from .nets import ARCHS, resolve_arch
from .sizes import available_cpus
from .storage import remove_quietly, write_synced
from .train.checkpoint import LATEST, PREVIOUS
from .train.distributed import World
from .train.lock import LOCK_NAME, FolderLock
from .train.run import CONFIG, DATA_INFO, LOG, STATUS, RunFolder, read_json, write_json
from .report.document import MANIFEST_NAME, write_report
from .report.summary import build_summary
from .notebook import ComparisonResult
from .workers import describe_slots, plan_slots, stop_pool, usable_cores, visible_gpus, worker_pool

DONE = "compare.json"  # written into a run folder once it is trained to budget and scored
CURVE_POINTS = 4  # training segments, each followed by a quick score
CURVE_SAMPLES = 1000  # samples scored at each intermediate point
COMPARE_CONFIG = "compare-config.json"
RUNS_DIR = "runs"
# Every file ganvae writes into a run folder of a comparison (the figures are redrawn at the end of a run).
RUN_FILES = frozenset({CONFIG, DATA_INFO, LOG, STATUS, DONE, "curve.json", "metrics.json", LOCK_NAME,
                       "samples.png", "losses.png", "reconstructions.png", "interpolations.png",
                       PRIOR_FILE, "metrics-gmm.json", "samples-gmm.png"})
# Temporary files of an atomic write (".NAME.tmp-PID") and of RunFolder.create's probe.
TEMPORARY = re.compile(r"^\.(.+\.tmp-\d+|write-test-\d+)$")


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


def family_batch_size(family: str, arch: str) -> int:
    """The batch size a run of this family and architecture gets by default."""
    family_cls = FAMILIES.get(family)
    return family_cls.presets.get(arch, {}).get("batch_size", family_cls.defaults.batch_size)


def batch_sizes(families, arch: str, n_train: int) -> tuple[dict[str, int], Optional[str]]:
    """Each family's batch size, and a note for the report when the data forced a smaller one.

    With at least one default batch of examples each family keeps its default. With fewer, every family
    trains with one common batch no larger than the training set, so the comparison stays fair."""
    defaults = {family: family_batch_size(family, arch) for family in families}
    if n_train >= max(defaults.values()):
        return defaults, None
    common = min(n_train, *defaults.values())
    note = (f"The training set has {n_train} examples, fewer than the default batch of {max(defaults.values())}, "
            f"so every family trained with batches of {common}.")
    return {family: common for family in families}, note


def _model(family: str, arch: str, seed: int, budget: BudgetConfig, out: Path, cfg: CompareConfig, progress: bool,
           batch_size: Optional[int] = None, tensorboard: bool = False):
    return Model.of(family, arch=arch, seed=seed, epochs=budget.epochs, steps=budget.steps, minutes=budget.minutes,
                    batch_size=batch_size, out=out, device=cfg.device, precision=cfg.precision, progress=progress,
                    checkpoint_every=10**9, tensorboard=tensorboard)


def _describe_budget(budget: BudgetConfig) -> str:
    return " or ".join(f"{value:g} {name}" for name, value in asdict(budget).items() if value is not None) or "none"


def check_run_config(run_dir: Path, expected: dict, budgets: list[BudgetConfig]) -> None:
    """Refuse the run in run_dir unless its config.json is one this comparison would train: the same family,
    architecture, data, seed and batch size, and one of `budgets`, the segment budgets it may have now (each
    segment resumes the run with a larger budget, which its config.json then records)."""
    try:
        saved = RunConfig.from_dict(read_json(run_dir / CONFIG))
    except (ConfigError, RunError) as exc:
        raise ConfigError(f"{run_dir} holds a run whose {CONFIG} cannot be checked ({exc}); use another --out, "
                          f"or move that folder away") from None
    found = {"family": saved.model.family, "arch": saved.model.arch, "data": saved.data.name,
             "n_examples": saved.data.n_examples, "data_seed": saved.data.seed, "image_size": saved.data.image_size,
             "seed": saved.seed, "batch_size": saved.optim.batch_size}
    differences = [f"{key} {found[key]} (this comparison trains {key} {value})"
                   for key, value in expected.items() if found[key] != value]
    if saved.budget not in budgets:
        differences.append(f"budget {_describe_budget(saved.budget)} (at this point of this comparison a run "
                           f"has {' or '.join(_describe_budget(b) for b in budgets)})")
    if differences:
        raise ConfigError(f"{run_dir} holds a run that this comparison would not train: "
                          f"{'; '.join(differences)}; use another --out, or move that folder away")


def _remove_unstarted_run(run_dir: Path) -> None:
    """Remove a run folder that stopped before its first checkpoint, if it holds only files ganvae writes."""
    try:
        entries = list(run_dir.iterdir())
    except OSError as exc:
        raise ConfigError(f"cannot read {run_dir} ({exc.strerror or exc}); use another --out") from None
    foreign = sorted(entry.name for entry in entries
                     if not (entry.is_file() and (entry.name in RUN_FILES or TEMPORARY.match(entry.name))))
    if foreign:
        listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ConfigError(f"{run_dir} has no checkpoint, so its run would start again, but it holds files ganvae "
                          f"did not write ({listed}); move them out of that folder, or use another --out")
    # A `ganvae train` still writing this folder holds its lock: refused (naming it), not deleted under it.
    with FolderLock(run_dir, "ganvae compare (removing a run that stopped before its first checkpoint)"):
        for entry in list(run_dir.iterdir()):
            entry.unlink(missing_ok=True)
        run_dir.rmdir()


def _score(model, cfg: CompareConfig, n_eval: int, final: bool) -> dict:
    from .evaluation import evaluate

    # Intermediate points get a cheaper NLL: they draw curves, the final point fills the table.
    iw_samples, nll_examples = (cfg.iw_samples, cfg.nll_examples) if final else \
        (min(cfg.iw_samples, 50), min(cfg.nll_examples, 50))
    return evaluate(model, data=cfg.data, n_eval=n_eval, iw_samples=iw_samples, nll_examples=nll_examples,
                    prior="normal")


def train_and_score(family: str, seed: int, arch: str, cfg: CompareConfig, run_dir: Path, n_eval: int,
                    progress: bool, say: Callable[[str], None], rescore: bool = False,
                    batch_size: Optional[int] = None, data_name: Optional[str] = None,
                    tensorboard: bool = False) -> dict:
    """One run of the comparison: trained to budget in segments, scored; reused if already done (and, with
    rescore, its final weights scored again with this version's metrics; the curves keep their points).

    batch_size: None for the family's default. data_name: the loaded dataset's name, as a run's config.json
    records it (default cfg.data.name). A run already in run_dir is checked against these settings first.
    tensorboard: the run also writes its TensorBoard view (ganvae.report.tensorboard)."""
    batch_size = batch_size or family_batch_size(family, arch)
    # The batch size turns --images into steps.
    budgets = segment_budgets(cfg, batch_size, CURVE_POINTS)
    run_settings = {"family": family, "arch": arch, "data": data_name or cfg.data.name,
                    "n_examples": cfg.data.n_examples, "data_seed": cfg.data.seed, "image_size": cfg.data.image_size,
                    "seed": seed, "batch_size": batch_size}
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is a file where this comparison keeps a run folder; move it away, "
                          f"or use another --out")
    done_path = run_dir / DONE
    expected = {"family": family, "seed": seed, "arch": arch, "data": cfg.data.name, "iw_samples": cfg.iw_samples,
                "nll_examples": cfg.nll_examples, "budget": {**asdict(cfg.budget), "images": cfg.images},
                "n_eval": n_eval}
    if done_path.exists():
        record = read_json(done_path)
        if record.get("settings") != expected:
            raise ConfigError(f"{run_dir} holds a run with other settings ({record.get('settings')}); "
                              f"use another --out or delete that folder")
    if (run_dir / CONFIG).exists():  # before reusing or resuming it, or removing an unstarted one
        # After k scored segments the run was trained to segment k, or was resuming toward segment k + 1 (its
        # config.json records the budget it last resumed with); a new run starts with the first segment's.
        # Without a checkpoint nothing of the run is kept, so any segment's budget will do.
        points = len(read_json(run_dir / "curve.json")) if (run_dir / "curve.json").exists() else 0
        trained = (run_dir / LATEST).exists() or (run_dir / PREVIOUS).exists()
        check_run_config(run_dir, run_settings, budgets[max(0, points - 1):points + 1] if trained else budgets)
    if done_path.exists():
        record["run"] = _moved_to(record["run"], run_dir)
        if not rescore:
            say(f"  reusing {run_dir}")
            return record["run"]
        say(f"  reusing {run_dir}, scoring its final weights again")
        result = _score(Model.load(run_dir, device=cfg.device), cfg, n_eval, final=True)
        write_json(run_dir / "metrics.json", result)
        run = {**record["run"], "metrics": result["metrics"],
               "evaluated": {key: result.get(key) for key in ("n_samples", "n_reference", "split", "feature_space")}}
        write_json(done_path, {"settings": expected, "run": run})
        return run

    curve_path = run_dir / "curve.json"
    curve: list[dict] = read_json(curve_path) if curve_path.exists() else []
    has_checkpoint = (run_dir / LATEST).exists() or (run_dir / PREVIOUS).exists()
    if run_dir.exists() and not has_checkpoint:
        _remove_unstarted_run(run_dir)  # died before its first checkpoint: nothing to keep
        curve = []
    model = None
    # Every curve point scores the same number of samples: k-NN metrics (precision, recall...) depend on it.
    curve_samples = min(n_eval, CURVE_SAMPLES)
    for index, budget in enumerate(budgets):
        if index < len(curve):
            continue  # this segment was trained and scored before an interruption
        model = _model(family, arch, seed, budget, run_dir, cfg, progress, batch_size, tensorboard)
        final = index == len(budgets) - 1
        model.fit(cfg.data, resume=(run_dir / CONFIG).exists())
        if final:
            model.plot()
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
        model = Model.load(run_dir, device=cfg.device)
        result = read_json(run_dir / "metrics.json")
        if result.get("settings", {}).get("prior", "normal") != "normal":  # `ganvae evaluate RUN` wrote it since
            result = _score(model, cfg, n_eval, final=True)
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


def _moved_to(run: dict, run_dir: Path) -> dict:
    """A finished run's record with its paths in run_dir, where it is now: a comparison folder copied or moved
    elsewhere is reused from there, not from (or into) the folder it was trained in."""
    old = Path(run["run_dir"])
    if old == run_dir:
        return run
    figures = {name: str(run_dir / Path(path).relative_to(old)) if Path(path).is_relative_to(old) else path
               for name, path in run.get("figures", {}).items()}
    return {**run, "run_dir": str(run_dir), "figures": figures}


def prior_entry(family: str) -> str:
    """The report entry of a family sampled from its fitted mixture prior (labelled "VAE (GMM prior)")."""
    return f"{family}+gmm"


def takes_fitted_prior(family: str) -> bool:
    return family_takes_fitted_prior(capabilities_of(family))


def score_with_fitted_prior(run: dict, cfg: CompareConfig, n_eval: int, gmm_components: int,
                            say: Callable[[str], None], rescore: bool = False) -> dict:
    """The run's final weights sampled from a Gaussian mixture fitted to its encoded training data, scored, as
    a report entry of its own; kept in the run folder (metrics-gmm.json) and reused while the settings and the
    trained steps are the same."""
    from .evaluation import evaluate
    from .report.figures import N_GRID, N_SCATTER
    from .report.plots import save_samples

    run_dir = Path(run["run_dir"])
    record_path = run_dir / "metrics-gmm.json"
    settings = {"n_eval": n_eval, "gmm_components": gmm_components, "data": cfg.data.name,
                "step": run["curve"][-1]["step"] if run.get("curve") else None,
                # records from before the NLL was measured with the mixture are scored again
                "likelihood": "of the mixture", "iw_samples": cfg.iw_samples, "nll_examples": cfg.nll_examples}
    record = read_json(record_path) if record_path.exists() else {}
    if record.get("settings") == settings and not rescore:
        result = record["result"]
    else:
        say(f"  scoring {run_dir} with a {gmm_components}-component Gaussian mixture prior")
        model = Model.load(run_dir, device=cfg.device)
        result = evaluate(model, data=cfg.data, n_samples=n_eval, prior="gmm", gmm_components=gmm_components,
                          iw_samples=cfg.iw_samples, nll_examples=cfg.nll_examples)
        data = load_dataset(replace(cfg.data, split="train"))
        n = N_GRID if data.kind == IMAGE else min(N_SCATTER, len(data))
        save_samples(model.sample(n, seed=0, prior="gmm"), run_dir / "samples-gmm.png",
                     real=data.to_original(data.x[:N_SCATTER].numpy()), kind=data.kind)
        write_json(record_path, {"settings": settings, "result": result})
    figure = run_dir / "samples-gmm.png"
    # No run folder of its own: the report would otherwise show the run's losses and reconstructions twice.
    return {**run, "family": prior_entry(run["family"]), "run_dir": None, "metrics": result["metrics"],
            "figures": {"samples": str(figure.resolve())} if figure.exists() else {}, "curve": [],
            "notes": f"the run in {run_dir}, its codes drawn from a {gmm_components}-component Gaussian mixture "
                     f"fitted to its encoded training data instead of N(0, I)"}


def _train_cell(family: str, seed: int, cfg: CompareConfig, out: Path, arch: str, batch_size: int,
                data_name: str, progress: bool, say: Callable[[str], None], rescore: bool, tensorboard: bool,
                prior: str, gmm_components: int) -> tuple[dict, list[dict]]:
    """One run of the grid, trained and scored (or reused): the run, and its report entries (the run, its
    fitted-prior entry, or both, as `prior` asks)."""
    n_eval = cfg.n_eval
    say(f"[{family} seed {seed}] training ({arch}) and scoring ...")
    run = train_and_score(family, seed, arch, cfg, out / RUNS_DIR / f"{family}-seed{seed}", n_eval,
                          progress, say, rescore=rescore, batch_size=batch_size,
                          data_name=data_name, tensorboard=tensorboard)
    say(f"  {_cost_and_fid(run)}")
    entries = []
    if prior != "normal" and takes_fitted_prior(family):
        fitted = score_with_fitted_prior(run, cfg, n_eval, gmm_components, say, rescore)
        fid = fitted["metrics"].get("fid")
        say("  with the fitted prior" + (f": FID {fid:.2f}" if fid is not None else ""))
        entries.append(fitted)
        if prior == "gmm":
            return run, entries
    entries.append(run)
    return run, entries


def _train_grid(cells: list[tuple[str, int]], cfg: CompareConfig, out: Path, arch: str, batches: dict[str, int],
                data_name: str, progress: bool, say: Callable[[str], None], rescore: bool, tensorboard: bool,
                prior: str, gmm_components: int, workers: int) -> list[dict]:
    """The report entries of these runs of the grid, in the grid's order; with workers > 1 the runs that need
    training or scoring go to that many worker processes."""
    if workers > 1:
        return _train_grid_in_workers(cells, cfg, out, arch, batches, data_name, say, rescore, tensorboard, prior,
                                      gmm_components, workers)
    runs = []
    for family, seed in cells:
        runs.extend(_train_cell(family, seed, cfg, out, arch, batches[family], data_name, progress, say, rescore,
                                tensorboard, prior, gmm_components)[1])
    return runs


def _cost_and_fid(run: dict) -> str:
    """'12 s, 187536 images, FID 0.36': what a finished run cost and scored."""
    fid = run["metrics"].get("fid")
    return f"{run['cost']['seconds']:.0f} s, {run['cost']['images_seen']} images" + \
        (f", FID {fid:.2f}" if fid is not None else "")


def _done_line(family: str, seed: int, run: dict, entries: list[dict]) -> str:
    line = f"[{family} seed {seed}] done: {_cost_and_fid(run)}"
    fitted = [entry for entry in entries if entry["family"] == prior_entry(family)]
    if fitted and fitted[0]["metrics"].get("fid") is not None:
        line += f"; with the fitted prior: FID {fitted[0]['metrics']['fid']:.2f}"
    return line


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, BrokenProcessPool):
        return ("its worker process ended abruptly (killed, out of memory, or, from a Python script, a call of "
                "compare(workers=...) that is not under `if __name__ == \"__main__\":`)")
    text = one_line(exc)
    return text if isinstance(exc, GanvaeError) and text else f"{type(exc).__name__}: {text or 'no message'}"


def _train_grid_in_workers(cells: list[tuple[str, int]], cfg: CompareConfig, out: Path, arch: str,
                           batches: dict[str, int], data_name: str, say: Callable[[str], None], rescore: bool,
                           tensorboard: bool, prior: str, gmm_components: int, workers: int) -> list[dict]:
    """_train_grid with worker processes. A run already done is reused here, in this process (it only reads
    its files); the others are trained by the workers, one line each as they finish. A run that fails is one
    line naming it; the others still finish and are kept, and an error naming the failed runs ends it."""
    entries: dict[tuple[str, int], list[dict]] = {}
    pending = []
    for family, seed in cells:
        if (out / RUNS_DIR / f"{family}-seed{seed}" / DONE).exists() and not rescore:
            entries[(family, seed)] = _train_cell(family, seed, cfg, out, arch, batches[family], data_name, False,
                                                  say, rescore, tensorboard, prior, gmm_components)[1]
        else:
            pending.append((family, seed))
    failures: dict[tuple[str, int], BaseException] = {}
    if pending:
        n_workers = min(workers, len(pending))
        if n_workers < workers:
            say(f"--workers {workers}: only {len(pending)} run{'s' if len(pending) > 1 else ''} to train, so "
                f"{n_workers} worker process{'es' if n_workers > 1 else ''}")
        cpus = available_cpus()
        gpus = visible_gpus(cfg.device)
        if n_workers > cpus and not gpus:
            say(f"--workers {n_workers} on {cpus} CPU core{'s' if cpus > 1 else ''}: the workers share cores, so "
                f"each run goes slower than alone")
        slots = plan_slots(n_workers, usable_cores(), cpus, gpus)
        say(f"training {len(pending)} runs in {describe_slots(slots)} ...")
        with worker_pool(slots) as pool:
            futures = {pool.submit(partial(_train_cell, family, seed, cfg, out, arch, batches[family], data_name,
                                           False, _quiet, rescore, tensorboard, prior, gmm_components)):
                       (family, seed) for family, seed in pending}
            try:
                for future in as_completed(futures):
                    family, seed = futures[future]
                    try:
                        run, cell_entries = future.result()
                    except Exception as exc:  # this run's error; the other runs go on
                        failures[(family, seed)] = exc
                        say(f"[{family} seed {seed}] failed: {_one_line(exc)}")
                        continue
                    entries[(family, seed)] = cell_entries
                    say(_done_line(family, seed, run, cell_entries))
            except BaseException as exc:
                # Ctrl-C: no new runs. Those in progress got the signal too and stop at their next step with a
                # checkpoint; either way they are kept. A SIGTERM sent to this process alone (kill, timeout, a
                # service manager) is passed on to the workers, or their runs would train out their budget first.
                stop_pool(pool, signal_workers=isinstance(exc, interrupts.Terminated))
                raise
    if failures:
        names = ", ".join(f"{family} seed {seed}" for family, seed in failures)
        kept = len(cells) - len(failures)
        error = ConfigError if all(isinstance(exc, ConfigError) for exc in failures.values()) else RunError
        raise error(f"{len(failures)} of {len(cells)} runs failed ({names}; each said why above); the {kept} "
                    f"finished run{'s are' if kept != 1 else ' is'} kept in {out / RUNS_DIR} and reused when the "
                    f"same command runs again")
    return [entry for cell in cells for entry in entries[cell]]


def _quiet(_: str) -> None:
    """A worker's `say`: its lines would interleave; the parent says one line per finished run."""


def check_out_folder(out: Path) -> None:
    """Refuse an --out that is a file, or a non-empty folder that is not a ganvae comparison (a comparison
    deletes and rewrites files in its folder, so it must never take over someone else's)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder; choose another --out")
    if not out.is_dir():
        return
    try:
        # The lock and a write in progress (another comparison's first moments) do not make a folder foreign.
        names = {entry.name for entry in out.iterdir() if entry.name != LOCK_NAME and not TEMPORARY.match(entry.name)}
    except OSError as exc:
        raise ConfigError(f"cannot read --out {out} ({exc.strerror or exc}); choose another --out") from None
    if names and not names & {COMPARE_CONFIG, MANIFEST_NAME, RUNS_DIR}:
        raise ConfigError(f"--out {out} is a folder that holds other files and is not a ganvae comparison (no "
                          f"{COMPARE_CONFIG}, {MANIFEST_NAME} or {RUNS_DIR}/); choose a new or empty folder for --out")


def compare(cfg: CompareConfig, out: Path, progress: bool = True, say: Callable[[str], None] = print,
            rescore: bool = False, tensorboard: bool = False, prior: str = "both",
            gmm_components: int = GMM_COMPONENTS, workers: int = 1,
            shard: Optional[str | Shard] = None) -> ComparisonResult | ShardResult:
    """Run the whole comparison into `out`; return the summary and the report's paths (a ComparisonResult, which
    a notebook shows as the verdict, the metric table and a link to the report). rescore: score runs
    that are already done again (after an upgrade of ganvae's metrics) instead of reusing their numbers.
    tensorboard: also write TensorBoard views, each run's training in its folder and the metric curves in
    OUT/tensorboard (the report's paths then include "tensorboard").
    prior: "both" (the default) reports each unconditional family with an encoder twice, side by side: sampled
    from N(0, I), and from a Gaussian mixture of gmm_components fitted to its encoded training data (its entry
    "FAMILY+gmm", labelled "VAE (GMM prior)"), the way such a model's samples are best drawn (Ghosh et al. 2020);
    "normal" samples every family from N(0, I) only; "gmm" each family with an encoder from the mixture only.
    workers: train the grid of runs in this many processes, each pinned to its share of the CPU cores (or to
    one GPU each, when several are visible); 1 trains them one after another in this process. For budgets in
    steps, epochs or images the runs are those trained one after another with as many torch threads as a
    worker has (OMP_NUM_THREADS=T; torch's sums round by thread count, and a GAN's training can follow
    that to other weights); a budget in minutes buys what each run's share of the machine allows.
    Like any code that starts processes, a script calling it with workers > 1 needs the
    `if __name__ == "__main__":` guard.
    shard: "I/N" (or a Shard): train and score only part I of N of the grid (see ganvae.config.Shard), for job
    arrays on several machines sharing `out`; returns a ShardResult and writes no report: `compare` without a
    shard over the same `out` then writes it, reusing every finished run.

    `out` is locked for the whole comparison: a second comparison into it fails with a RunError naming the
    first process (the shards of one comparison share it, and are refused while a whole comparison holds it)."""
    if World.launched():
        raise ConfigError("ganvae compare is not run under torchrun: its runs are independent, so spread them with "
                          "--workers N (processes on this machine) or --shard I/N (jobs on several machines) "
                          "instead; torchrun is for one large `ganvae train`")
    cfg = validate_compare(cfg)
    workers = validate_workers(workers)
    shard = parse_shard(shard) if shard is not None else None
    if tensorboard:
        from .report.tensorboard import summary_writer_class

        summary_writer_class()  # a missing package is one line, before anything is trained
    if prior != "both":
        check_prior(prior)
    if not cfg.families:
        cfg = replace(cfg, families=compare_defaults())
    for family in cfg.families:
        FAMILIES.get(family)  # an unknown name is one line listing the registered families
    out = Path(out)
    check_out_folder(out)
    train_data = load_dataset(replace(cfg.data, split="train"))
    arch = resolve_arch(cfg.arch, train_data.kind, train_data.shape)
    ARCHS.get(arch).check(train_data.kind, train_data.shape)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot write to --out {out} ({exc.strerror or exc}); choose a writable folder") from None
    lock = FolderLock(out, f"ganvae compare --shard {shard}" if shard else "ganvae compare", shared=shard is not None)
    note = lock.acquire()
    if note:
        say(note)
    try:
        check_out_folder(out)  # again, now that no other comparison can be writing it
        if shard is not None:
            claim_compare_config(out, cfg)
            return _compare_shard(cfg, out, shard, train_data, arch, progress, say, rescore, tensorboard, prior,
                                  gmm_components, workers)
        if not (out / COMPARE_CONFIG).exists():  # marks the folder as a comparison from its first run on
            write_json(out / COMPARE_CONFIG, cfg.to_dict())
        return _compare_locked(cfg, out, train_data, arch, progress, say, rescore, tensorboard, prior,
                               gmm_components, workers)
    finally:
        lock.release()


def grid(cfg: CompareConfig) -> list[tuple[str, int]]:
    """The comparison's runs as (family, seed), in the order they are trained and reported: seed-major."""
    return [(family, seed) for seed in range(cfg.seeds) for family in cfg.families]


def claim_compare_config(out: Path, cfg: CompareConfig) -> None:
    """Write OUT/compare-config.json if it is absent, else check that it holds this comparison's settings.

    Shards of one comparison start together: the file is written to a temporary name and hard-linked into
    place, which fails when another shard was first, so no shard ever replaces another's settings."""
    path = out / COMPARE_CONFIG
    wanted = json.loads(json.dumps(cfg.to_dict()))  # as it reads back: tuples become lists
    if not path.exists():
        # Digits only (see TEMPORARY), and unique across machines sharing the folder, unlike a process id.
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{random.randrange(10**9):09d}")
        try:
            write_synced(tmp, (json.dumps(wanted, indent=2, sort_keys=True) + "\n").encode())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another shard wrote it first: checked below
            except OSError:  # a file system without hard links
                if not path.exists():
                    os.replace(tmp, path)
        except OSError as exc:
            raise RunError(f"cannot write {path} ({exc.strerror or exc}); choose a writable --out") from None
        finally:
            remove_quietly(tmp)
    saved = read_json(path)
    if saved != wanted:
        before, now = _flatten(saved if isinstance(saved, dict) else {}), _flatten(wanted)
        differences = [f"{key} {before.get(key)!r} (this shard: {now.get(key)!r})"
                       for key in sorted(set(before) | set(now)) if before.get(key) != now.get(key)]
        raise ConfigError(f"--out {out} holds a comparison with other settings ({'; '.join(differences)}); give "
                          f"every shard the same flags as the comparison in --out, or use another --out")


def _flatten(settings: dict) -> dict:
    """{"data": {"name": "ring8"}, "seeds": 2} -> {"data.name": "ring8", "seeds": 2}."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": inner_value for inner, inner_value in value.items()})
        else:
            flat[key] = value
    return flat


@dataclass(frozen=True)
class ShardResult:
    """What `compare(..., shard="I/N")` returns: which shard, its runs as (family, seed), their report entries
    (as the report will show them, in the grid's order) and the comparison folder they are in."""

    shard: Shard
    cells: tuple[tuple[str, int], ...]
    runs: tuple[dict, ...]
    out: Path


def _compare_shard(cfg: CompareConfig, out: Path, shard: Shard, train_data: Dataset, arch: str, progress: bool,
                   say: Callable[[str], None], rescore: bool, tensorboard: bool, prior: str, gmm_components: int,
                   workers: int) -> ShardResult:
    cells = shard.part(grid(cfg))
    if not cells:
        say(f"shard {shard}: the comparison has {len(grid(cfg))} runs, none of them in this shard")
        return ShardResult(shard, (), (), out)
    say(f"shard {shard}: {len(cells)} of the comparison's {len(grid(cfg))} runs "
        f"({', '.join(f'{family} seed {seed}' for family, seed in cells)})")
    batches, _ = batch_sizes(cfg.families, arch, len(train_data))
    runs = _train_grid(cells, cfg, out, arch, batches, train_data.name, progress, say, rescore, tensorboard, prior,
                       gmm_components, workers)
    return ShardResult(shard, tuple(cells), tuple(runs), out)


def _compare_locked(cfg: CompareConfig, out: Path, train_data: Dataset, arch: str, progress: bool,
                    say: Callable[[str], None], rescore: bool, tensorboard: bool = False, prior: str = "normal",
                    gmm_components: int = GMM_COMPONENTS, workers: int = 1) -> tuple[dict, dict[str, Path]]:
    batches, batch_note = batch_sizes(cfg.families, arch, len(train_data))
    runs = _train_grid(grid(cfg), cfg, out, arch, batches, train_data.name, progress, say, rescore, tensorboard,
                       prior, gmm_components, workers)
    entries = [entry for family in cfg.families for entry in
               ((family,) if prior == "normal" or not takes_fitted_prior(family) else
                (prior_entry(family),) if prior == "gmm" else (family, prior_entry(family)))]
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
    if batch_note:
        notes.append(batch_note)
    if prior != "normal":
        notes.append(f"An entry marked (GMM prior) is its family's runs with codes drawn from a {gmm_components}-"
                     f"component Gaussian mixture fitted to the encoded training data (Ghosh et al. 2020) instead of "
                     f"N(0, I); its NLL, bits per dimension and negative ELBO are of the decoder with that mixture as its prior "
                     f"(importance-sampled with the same encoder), its KL per dimension the encoder's to N(0, I).")
    summary = build_summary(data=data_info, budget=budget, seeds=list(range(cfg.seeds)),
                            runs=runs, families=entries, notes=notes)
    paths = write_report(summary, out)
    if tensorboard:
        from .report.tensorboard import write_comparison_curves

        paths["tensorboard"] = write_comparison_curves(out, runs)
    write_json(out / COMPARE_CONFIG, cfg.to_dict())
    return ComparisonResult(summary, paths)  # unpacks as (summary, paths); shows itself in a notebook
