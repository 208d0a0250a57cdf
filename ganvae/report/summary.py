"""summary.json: everything a comparison measured, as plain dicts, so reports and advice can be rebuilt from it.

The schema (SCHEMA = "ganvae.summary/1"):
    {
      "schema": "ganvae.summary/1",
      "ganvae_version": "0.1.0",
      "created": "2025-01-01T12:00:00Z",           # UTC
      "data": {"name": str, ...},                   # also used if present: kind ("image"/"vector"), shape,
                                                    # n_train, n_modes (mixtures), n_classes (labelled sets)
      "budget": {...},                              # as given, e.g. {"minutes": 10}, {"images": 60000}, {"epochs": 5}
      "seeds": [0, 1, 2],
      "families": ["gan", "vae"],
      "capabilities": {"gan": ["adversarial"], "vae": ["encoder", "likelihood"]},   # each family's Family.capabilities;
                                                    # absent in older summaries: looked up by family name
      "confidence": 0.95,
      "runs": [{
          "family": "gan", "seed": 0,
          "run_dir": "runs/cmp/gan-seed0",
          "status": "finished",                     # or "failed" / "diverged" / "interrupted"; optional
          "arch": "mlp",                            # optional; else read from config.model.arch
          "config": {...},                          # optional: the resolved RunConfig.to_dict()
          "metrics": {"fid": 23.1, "nll": None, ...},          # None (or NaN) = not measured / n/a
          "cost": {"seconds": 61.2, "images_seen": 20000, "parameters": 123456},  # parameters may be
                                                    # a dict per network, summed when aggregated
          "figures": {"samples": path, "losses": path, "reconstructions": path, "interpolations": path},
          "curve": [{"seconds": 10.0, "images_seen": 5000, "fid": 80.2, ...}, ...],  # optional
          "notes": str                              # optional
      }, ...],
      "aggregate": {family: {metric: interval or None}},   # aggregate.aggregate_runs
      "cost": {family: {"seconds"|"images_seen"|"parameters": interval or None}},  # aggregate.aggregate_costs
      "verdict": [{"text", "metric", "values", "kind", "winner"}, ...],          # verdict.verdict
      "advice": None or Advice.to_dict(),
      "notes": [str, ...]
    }
An interval is {"mean", "low", "high", "half_width", "std", "n", "n_missing", "confidence", "values"}.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from ..errors import RunError
from ..metrics.spec import family_capabilities
from .aggregate import aggregate_costs, aggregate_runs
from .plots import write_atomically
from .verdict import verdict

SCHEMA = "ganvae.summary/1"
SUMMARY_NAME = "summary.json"
# The last three are drawn by `ganvae explore` and shown when the run folder has them.
FIGURE_KINDS = ("samples", "losses", "reconstructions", "interpolations", "traversals", "slerp", "latent-map")
PathLike = Union[str, os.PathLike]


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars -> numbers, paths -> strings, tuples -> lists, NaN/inf -> None."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy or torch scalar
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    raise RunError(f"a summary value {value!r} of type {type(value).__name__} cannot be written as JSON.")


def _normalise_run(run: Mapping, index: int) -> dict:
    if not isinstance(run, Mapping):
        raise RunError(f"run {index} is a {type(run).__name__}, not a dict with family, seed and metrics.")
    missing = [key for key in ("family", "seed", "metrics") if key not in run]
    if missing:
        raise RunError(f"run {index} has no {', '.join(missing)}; each run needs family, seed and metrics.")
    normalised = _jsonable(run)
    normalised["metrics"] = normalised.get("metrics") or {}
    cost = normalised.get("cost") or {}
    normalised["cost"] = {key: cost.get(key) for key in ("seconds", "images_seen", "parameters")} | cost
    normalised["figures"] = {key: path for key, path in (normalised.get("figures") or {}).items() if path}
    normalised.setdefault("run_dir", None)
    return normalised


def build_summary(
    *,
    data: Mapping,
    budget: Mapping,
    seeds: Sequence[int],
    runs: Sequence[Mapping],
    families: Optional[Sequence[str]] = None,
    notes: Optional[Sequence[str]] = None,
    advice: Optional[Mapping] = None,
    confidence: float = 0.95,
) -> dict:
    """The summary of a comparison: the runs as given, their aggregate over seeds, costs and the verdict.

    data needs at least {"name"}; families defaults to the order in which runs name them. Every value is made
    JSON-ready (numpy scalars become numbers, paths strings, NaN None).
    """
    from .._version import __version__

    if not isinstance(data, Mapping) or "name" not in data:
        raise RunError("the summary's data must be a dict with at least the dataset's 'name'.")
    normalised = [_normalise_run(run, index) for index, run in enumerate(runs)]
    named = list(dict.fromkeys(run["family"] for run in normalised))
    families = list(families) if families is not None else named
    unknown = [family for family in named if family not in families]
    if unknown:
        raise RunError(f"runs name families {unknown} that are not among the summary's families {families}.")
    aggregate = aggregate_runs(normalised, confidence)
    cost = aggregate_costs(normalised, confidence)
    # Families without a run still get an (empty) column, in the given order.
    aggregate = {family: aggregate.get(family, {}) for family in families}
    cost = {family: cost.get(family, {}) for family in families}
    summary = {
        "schema": SCHEMA,
        "ganvae_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": _jsonable(data),
        "budget": _jsonable(budget or {}),
        "seeds": _jsonable(list(seeds)),
        "families": families,
        "capabilities": {family: sorted(family_capabilities(family)) for family in families},
        "confidence": confidence,
        "runs": normalised,
        "aggregate": _jsonable(aggregate),
        "cost": _jsonable(cost),
        "verdict": [],
        "advice": _jsonable(advice) if advice is not None else None,
        "notes": [str(note) for note in (notes or [])],
    }
    summary["verdict"] = _jsonable(verdict(summary))
    return summary


def check_summary(summary: Any, where: str = "the summary") -> dict:
    """Raise RunError (one sentence) unless `summary` has the shape build_summary writes; return it."""
    def fail(problem: str):
        raise RunError(f"{where} is not a ganvae comparison summary: {problem}; pass the summary.json "
                       f"that `ganvae compare` writes (or its report folder).")

    if not isinstance(summary, dict):
        fail(f"it holds a JSON {type(summary).__name__}, not an object")
    if summary.get("schema") != SCHEMA:
        fail(f"its 'schema' is {summary.get('schema')!r}, not {SCHEMA!r}")
    for key, kind in (("data", dict), ("budget", dict), ("seeds", list), ("families", list), ("runs", list),
                      ("aggregate", dict), ("verdict", list)):
        if not isinstance(summary.get(key), kind):
            fail(f"'{key}' is missing or not a JSON {'object' if kind is dict else 'list'}")
    if not isinstance(summary["data"].get("name"), str):
        fail("'data' has no dataset 'name'")
    capabilities = summary.get("capabilities", {})
    if not isinstance(capabilities, dict) or not all(
            isinstance(held, list) and all(isinstance(name, str) for name in held) for held in capabilities.values()):
        fail("'capabilities' is not an object of lists of names")
    for index, run in enumerate(summary["runs"]):
        if not isinstance(run, dict) or not isinstance(run.get("family"), str) \
                or not isinstance(run.get("metrics"), dict) or "seed" not in run:
            fail(f"run {index} lacks a family, a seed or a metrics object")
    for family, metrics in summary["aggregate"].items():
        if not isinstance(metrics, dict):
            fail(f"the aggregate of {family!r} is not an object")
        for metric, interval in metrics.items():
            if interval is not None and not (isinstance(interval, dict) and "mean" in interval):
                fail(f"the aggregate of {family!r} on {metric!r} has no mean")
    return summary


def summary_capabilities(summary: Optional[Mapping], families: Optional[Sequence[str]] = None
                         ) -> dict[str, frozenset[str]]:
    """family -> its capabilities ("encoder", "likelihood"...), for the summary's families (or `families`): as
    the summary records them, else (a summary older than the record, or no summary) from the family registry."""
    stored = (summary or {}).get("capabilities") or {}
    families = list(families if families is not None else (summary or {}).get("families") or [])
    return {family: frozenset(stored[family]) if family in stored else family_capabilities(family)
            for family in families}


def write_summary(summary: Mapping, path: PathLike) -> Path:
    """Write the summary as indented JSON, atomically (temporary file, then rename); return the path."""
    text = json.dumps(_jsonable(summary), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))


def read_summary(path: PathLike) -> dict:
    """Read and check a summary.json (or the report folder holding one); RunError if it is not one."""
    path = Path(path)
    if path.is_dir():
        path = path / SUMMARY_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path} does not exist; pass the summary.json (or report folder) that "
                       f"`ganvae compare` wrote.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"{path} cannot be read ({exc}); pass the summary.json that `ganvae compare` wrote.") from None
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunError(f"{path} is not JSON ({exc.msg} at line {exc.lineno}); it is not a ganvae summary, "
                       f"pass the summary.json that `ganvae compare` wrote.") from None
    return check_summary(summary, str(path))
