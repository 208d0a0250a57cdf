"""The comparison report: report.html (one self-contained file), report.md and summary.json in one folder.

report.html embeds every figure as a base64 PNG and its CSS inline; it has no scripts and no links, so it opens
offline and can be mailed as one file. Every string that comes from the user or the file system (dataset names,
paths, labels, notes) is escaped. report.md says the same in Markdown and points at figures/ beside it.

report-files.json lists the figures the report wrote. A rewritten report removes only the figures that list
names and it no longer uses: a file ganvae cannot prove it wrote is never deleted.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from PIL import Image

from ..errors import RunError
from ..metrics.spec import metric_description
from .aggregate import (CLEAR, NO_DIRECTION, NOT_ENOUGH, OVERLAP, RANKED, SINGLE_SEED, DIRECTIONAL, applies_to,
                        compare_metric, direction, target)
from .comparison_plots import save_density_coverage_plane, save_metric_curves, save_precision_recall_plane
from .plots import write_atomically
from .summary import FIGURE_KINDS, SUMMARY_NAME, check_summary, summary_capabilities, write_summary
from .verdict import family_label, format_interval, format_number, metric_label, metric_sort_key

PathLike = Union[str, os.PathLike]
HTML_NAME, MARKDOWN_NAME, FIGURES_DIR = "report.html", "report.md", "figures"
MANIFEST_NAME = "report-files.json"  # the figures this report folder's last report wrote
# The only entries of a manifest that may be deleted: a PNG directly in figures/ (never a path elsewhere).
MANIFEST_ENTRY = re.compile(rf"^{FIGURES_DIR}/[A-Za-z0-9_.-]+\.png$")
NO_VERDICT = "Nothing was measured, so there is no verdict."
DIRECTION_LABELS = {"lower": "lower \u2193", "higher": "higher \u2191"}
BEST_NOTE = ("\u25b2 marks the better family where its interval does not overlap the others'; with three or more "
             "families, the leading ones where they are clearly ahead of the rest.")
RANKING_TITLE = "Who is clearly better than whom on {metric}"
RANKING_HEADER = ["family", "mean [95% interval]", "clearly better than", "clearly behind"]
RANKING_NOTE = ("Best mean first. Clearly better: the two 95% intervals do not overlap, a conservative test "
                "that suits few seeds; families in neither column of each other are not clearly apart.")
FIGURE_TITLES = {"samples": "Samples", "losses": "Loss curves", "reconstructions": "Reconstructions",
                 "interpolations": "Latent interpolations", "traversals": "Latent traversals",
                 "slerp": "Spherical interpolations", "latent-map": "The latent plane"}
EXPLORE_KINDS = ("traversals", "slerp", "latent-map")  # written by `ganvae explore RUN`, shown when present
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1.5rem; color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.2rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.facts dt { font-weight: 600; color: #555; } dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.93rem; }
th, td { border: 1px solid #ddd; padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f6; } td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.best { background: #e8f5e9; font-weight: 700; } td.na { color: #999; }
.side { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 1rem; }
.stack { display: grid; grid-template-columns: 1fr; gap: 1rem; }
figure { margin: 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; } .note { color: #666; font-size: 0.9rem; }
ol.verdict li, ul.reasons li { margin-bottom: 0.35rem; } .warning { color: #8a4b00; }
details { margin: 0.8rem 0; } summary { cursor: pointer; color: #333; }
code { background: #f4f4f6; padding: 0 0.2rem; }
"""


@dataclass(frozen=True)
class ReportFigure:
    """One PNG in the report folder: path relative to the folder, and what it shows."""

    relative: str
    caption: str
    family: Optional[str] = None
    seed: object = None


def _slug(value: object) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(value)).strip("-.")
    return slug[:40] or "x"


def _png_bytes(source: Path) -> Optional[bytes]:
    """The image at source as PNG bytes (converted if it is another format), or None if it cannot be read."""
    try:
        with Image.open(source) as picture:
            picture.load()
            if picture.format == "PNG":
                return source.read_bytes()
            buffer = io.BytesIO()
            picture.convert("RGBA" if "A" in picture.getbands() else "RGB").save(buffer, format="PNG")
            return buffer.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _find_run_figure(run: Mapping, kind: str) -> Optional[Path]:
    """The run's figure of this kind: as listed in run["figures"] (absolute, or relative to the working folder
    or the run folder), else the run folder's own <kind>.png."""
    listed = (run.get("figures") or {}).get(kind)
    run_dir = Path(run["run_dir"]) if run.get("run_dir") else None
    candidates = []
    if listed:
        candidates.append(Path(listed))
        if run_dir is not None and not Path(listed).is_absolute():
            candidates.append(run_dir / listed)
    elif run_dir is not None:
        candidates.append(run_dir / f"{kind}.png")
    return next((path for path in candidates if path.is_file()), None)


class _Figures:
    """Copies run figures into figures/ and draws the comparison figures; remembers what is where."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.folder = out_dir / FIGURES_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.used: set[str] = set()
        self.missing: list[str] = []

    def _name(self, stem: str) -> str:
        name, count = f"{stem}.png", 1
        while name in self.used:
            count += 1
            name = f"{stem}-{count}.png"
        self.used.add(name)
        return name

    def run_figure(self, run: Mapping, kind: str) -> Optional[ReportFigure]:
        family, seed = str(run["family"]), run.get("seed")
        source = _find_run_figure(run, kind)
        listed = (run.get("figures") or {}).get(kind)
        if source is None:
            if listed:
                self.missing.append(f"{family_label(family)} seed {seed}: {kind} figure {listed} was not found")
            return None
        data = _png_bytes(source)
        if data is None:
            self.missing.append(f"{family_label(family)} seed {seed}: {kind} figure {source} could not be read")
            return None
        name = self._name(f"{_slug(family)}-seed{_slug(seed)}-{kind}")
        write_atomically(self.folder / name, lambda stream: stream.write(data))
        caption = f"{family_label(family)}, seed {seed}"
        return ReportFigure(f"{FIGURES_DIR}/{name}", caption, family, seed)

    def drawn(self, stem: str, draw, caption: str) -> ReportFigure:
        name = self._name(stem)
        draw(self.folder / name)
        return ReportFigure(f"{FIGURES_DIR}/{name}", caption)

    def written(self) -> list[str]:
        """The figures this report wrote, relative to the report folder."""
        return sorted(f"{FIGURES_DIR}/{name}" for name in self.used)

    def prune(self) -> list[str]:
        """Remove figures an earlier report in this folder wrote (as its manifest lists) that this report does not
        use, say after a comparison with more seeds, so report.md never sits beside stale pictures; keep every
        other file. Writes this report's manifest; returns the removed names."""
        manifest = self.out_dir / MANIFEST_NAME
        earlier = read_manifest(manifest)
        written = self.written()
        stale = sorted(set(earlier) - set(written))
        if stale:  # a kill while removing leaves a manifest that still lists what is left to remove
            _write_manifest(manifest, sorted(set(earlier) | set(written)))
        for relative in stale:
            (self.out_dir / relative).unlink(missing_ok=True)
        _write_manifest(manifest, written)
        return [Path(relative).name for relative in stale]

    def data_uri(self, figure: ReportFigure) -> str:
        encoded = base64.b64encode((self.out_dir / figure.relative).read_bytes()).decode("ascii")
        return f"data:image/png;base64,{encoded}"


def read_manifest(path: Path) -> list[str]:
    """The figures a report manifest lists; entries that are not a PNG in figures/ are ignored (never deleted)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8")).get("figures", [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return []
    return [entry for entry in entries if isinstance(entry, str) and MANIFEST_ENTRY.match(entry)] \
        if isinstance(entries, list) else []


def _write_manifest(path: Path, figures: Sequence[str]) -> None:
    text = json.dumps({"written_by": "ganvae", "figures": list(figures)}, indent=2) + "\n"
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))


def _has_metrics(runs: Sequence[Mapping], *metrics: str) -> bool:
    return any(all((run.get("metrics") or {}).get(metric) is not None for metric in metrics) for run in runs)


def format_budget(budget: Mapping) -> str:
    """{"minutes": 10} -> '10 minutes'; several limits joined by 'or'; empty -> 'family defaults'."""
    units = {"minutes": "minutes", "images": "images", "epochs": "epochs", "steps": "steps", "seconds": "seconds"}
    parts = []
    for key, value in (budget or {}).items():
        if value is None:
            continue
        number = format_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        parts.append(f"{number} {units[key]}" if key in units else f"{key} {number}")
    return " or ".join(parts) if parts else "each family's default"


class _Content:
    """The report's content, gathered once and written twice: as HTML and as Markdown."""

    def __init__(self, summary: Mapping, figures: _Figures):
        self.summary = summary
        self.figures = figures
        self.families = list(summary["families"])
        self.capabilities = summary_capabilities(summary, self.families)
        self.runs = list(summary["runs"])
        self.aggregate = summary["aggregate"]
        self.cost = summary.get("cost") or {}
        # Metrics no family has a value for (mode metrics off the 2-D mixtures...) would be rows of blanks.
        self.metrics = sorted({m for metrics in self.aggregate.values() for m, value in (metrics or {}).items()
                               if value is not None}, key=metric_sort_key)
        self.run_figures: dict[str, list[ReportFigure]] = {kind: [] for kind in FIGURE_KINDS}
        for run in self.runs:
            for kind in FIGURE_KINDS:
                figure = figures.run_figure(run, kind)
                if figure is not None:
                    self.run_figures[kind].append(figure)
        self.planes: list[ReportFigure] = []
        if _has_metrics(self.runs, "precision", "recall"):
            self.planes.append(figures.drawn("precision-recall", lambda p: save_precision_recall_plane(self.runs, p),
                                             "Precision against recall: up is sharper, right covers more of the "
                                             "data. Small marks are runs (s = seed), large marks family means "
                                             "with 95% intervals."))
        if _has_metrics(self.runs, "density", "coverage"):
            self.planes.append(figures.drawn("density-coverage", lambda p: save_density_coverage_plane(self.runs, p),
                                             "Density against coverage: density about 1 and coverage about 0.97 "
                                             "(the star) for a perfect model."))
        self.curves = None
        if any(run.get("curve") for run in self.runs):
            self.curves = figures.drawn("metric-curves", lambda p: save_metric_curves(self.runs, p),
                                        "Metrics measured during training, one line per run.")

    def facts(self) -> list[tuple[str, str]]:
        data = self.summary["data"]
        facts = [("Data", str(data["name"]))]
        details = []
        for key, label in (("kind", "kind"), ("shape", "shape"), ("n_train", "training examples"),
                           ("n_examples", "examples"), ("split", "split"), ("n_modes", "modes"),
                           ("n_classes", "classes"), ("source", "source")):
            if data.get(key) is not None:
                value = data[key]
                value = "x".join(map(str, value)) if isinstance(value, list) else value
                details.append(f"{label} {format_number(value) if isinstance(value, (int, float)) else value}")
        if details:
            facts.append(("Data details", ", ".join(details)))
        facts += [
            ("Budget", f"{format_budget(self.summary['budget'])} per run, the same for every family"),
            ("Seeds", ", ".join(map(str, self.summary["seeds"])) or "none"),
            ("Families", ", ".join(family_label(f) for f in self.families)),
            *((("Settings", settings),) if (settings := self.settings_text()) else ()),
            ("Intervals", f"{round(100 * float(self.summary.get('confidence', 0.95)))}% Student-t over seeds"),
            ("Made by", f"ganvae {self.summary.get('ganvae_version', '?')}, {self.summary.get('created', '')}"),
        ]
        return facts

    def settings_text(self) -> str:
        """Each family's own settings in words, as its runs' configs record them ("VAE: KL weight 4 reached after
        1000 steps ..."); "" when no run records any."""
        from ..families import FAMILIES

        parts = []
        for family in self.families:
            said = []
            for run in self.runs:
                settings = ((run.get("config") or {}).get("model") or {}).get("settings")
                if run.get("family") != family or not settings or family not in FAMILIES:
                    continue
                text = FAMILIES.get(family).describe_settings(settings)
                if text and text not in said:
                    said.append(text)
            if said:
                parts.append(f"{family_label(family)}: {' / '.join(said)}")
        return "; ".join(parts)

    def metric_rows(self) -> list[dict]:
        """One row per metric: label, description, direction, a cell per family and what the comparison found."""
        rows = []
        for metric in self.metrics:
            comparison = compare_metric(self.aggregate, metric)
            cells = []
            for family in self.families:
                interval = (self.aggregate.get(family) or {}).get(metric)
                if not applies_to(metric, family, self.capabilities[family]):
                    cells.append({"text": "n/a", "kind": "na",
                                  "title": f"{metric_label(metric)} does not apply to a {family_label(family)}"})
                elif interval is None:
                    cells.append({"text": "not measured", "kind": "na", "title": "no run measured it"})
                else:
                    text = format_interval(interval)
                    if interval.get("n_missing"):
                        text += f" (n={interval['n']} of {interval['n'] + interval['n_missing']})"
                    best = comparison["winner"] == family or (comparison["status"] == RANKED
                                                              and family in comparison["leaders"])
                    cells.append({"text": ("\u25b2 " if best else "") + text, "kind": "best" if best else "num",
                                  "title": ""})
            finding = {CLEAR: f"{family_label(comparison['winner'] or '')} clearly better",
                       OVERLAP: "no clear difference (intervals overlap)",
                       SINGLE_SEED: "one seed: no interval",
                       NO_DIRECTION: "a diagnostic: no better direction"}.get(comparison["status"], "")
            if comparison["status"] == RANKED:
                leaders = comparison["leaders"]
                behind = len(comparison["families"]) - len(leaders)
                finding = (f"{', '.join(family_label(f) for f in leaders)} lead, not clearly apart; "
                           f"{behind} clearly behind")
            if comparison["status"] == OVERLAP and comparison["leader"] is None:  # equal means, as the verdict says
                finding = "the same for every family"
            if comparison["status"] == NOT_ENOUGH and len(comparison["families"]) == 1 and len(self.families) > 1:
                finding = f"only the {family_label(comparison['families'][0])} has it"
            rows.append({"metric": metric, "label": metric_label(metric),
                         "description": metric_description(metric),
                         "direction": (f"closer to {target(metric):g} \u2195" if direction(metric) == "target"
                                       else DIRECTION_LABELS.get(direction(metric), "\u2014")),
                         "cells": cells, "finding": finding})
        return rows

    def ranking(self) -> Optional[dict]:
        """3+ families: the comparison on the headline metric (the first directional one every family has),
        for the table of who is clearly better than whom; None with two families or no such metric."""
        if len(self.families) < 3:
            return None
        for metric in self.metrics:
            comparison = compare_metric(self.aggregate, metric)
            if (direction(metric) in DIRECTIONAL and len(comparison["families"]) == len(self.families)
                    and comparison["status"] in (CLEAR, RANKED, OVERLAP)):
                return comparison
        return None

    def ranking_rows(self, comparison: Mapping) -> list[list[str]]:
        """One row per family, best mean first: its interval, the families it is clearly better than and
        those clearly better than it (95% intervals apart)."""
        beats, metric = comparison["beats"], comparison["metric"]
        rows = []
        for family in comparison["order"]:
            above = [f for f in comparison["order"] if family in beats[f]]
            rows.append([family_label(family), format_interval(self.aggregate[family][metric]),
                         ", ".join(family_label(f) for f in beats[family]) or "\u2014",
                         ", ".join(family_label(f) for f in above) or "\u2014"])
        return rows

    def cost_rows(self) -> list[list[str]]:
        rows = []
        for family in self.families:
            cost = self.cost.get(family) or {}
            runs = [run for run in self.runs if run.get("family") == family]
            finished = sum(run.get("status", "finished") == "finished" for run in runs)
            rows.append([family_label(family), format_interval(cost.get("seconds")),
                         format_interval(cost.get("images_seen")), format_interval(cost.get("parameters")),
                         f"{finished} of {len(runs)}"])
        return rows

    def run_rows(self) -> list[list[str]]:
        rows = []
        for run in self.runs:
            arch = run.get("arch") or ((run.get("config") or {}).get("model") or {}).get("arch") or ""
            cost = run.get("cost") or {}
            parameters = cost.get("parameters")
            if isinstance(parameters, Mapping):
                parameters = ", ".join(f"{name} {format_number(value)}" for name, value in parameters.items())
            else:
                parameters = format_number(parameters)
            rows.append([family_label(run["family"]), str(run.get("seed")), str(run.get("status", "finished")),
                         str(arch), format_number(cost.get("seconds")), format_number(cost.get("images_seen")),
                         parameters, str(run.get("run_dir") or "")])
        return rows

    def run_metric_rows(self) -> list[list[str]]:
        return [[family_label(run["family"]), str(run.get("seed"))]
                + [format_number((run.get("metrics") or {}).get(metric)) for metric in self.metrics]
                for run in self.runs]

    def notes(self) -> list[str]:
        notes = [str(note) for note in self.summary.get("notes") or []]
        notes += [f"{family_label(run['family'])} seed {run.get('seed')}: {run['notes']}"
                  for run in self.runs if run.get("notes")]
        return notes + self.figures.missing

    def first_and_rest(self, kind: str) -> tuple[list[ReportFigure], list[ReportFigure]]:
        """The first run's figure of each family (side by side) and the others (folded away)."""
        first, rest, seen = [], [], set()
        for family in self.families:
            for figure in self.run_figures[kind]:
                if figure.family != family:
                    continue
                (rest if family in seen else first).append(figure)
                seen.add(family)
        return first, rest


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _md(value: object) -> str:
    """Escape a user string for Markdown: a backslash before every character that could start markup, a
    link, an image or inline HTML."""
    return re.sub(r"([\\`*_\[\]<>|&#!~{}])", r"\\\1", str(value)).replace("\n", " ")


def _md_text(value: object) -> str:
    """Escape text that ganvae wrote (sentences, numbers, [low, high] intervals): emphasis, inline HTML and
    table pipes only, so intervals stay readable in the raw file."""
    return re.sub(r"([\\`*_<>|&])", r"\\\1", str(value)).replace("\n", " ")


def _html_figures(content: _Content, figures: Sequence[ReportFigure], layout: str = "side") -> str:
    """Figures side by side (layout "side") or one per row ("stack", for wide multi-panel figures)."""
    items = []
    for figure in figures:
        items.append(f'<figure><img src="{content.figures.data_uri(figure)}" alt="{_e(figure.caption)}">'
                     f"<figcaption>{_e(figure.caption)}</figcaption></figure>")
    return f'<div class="{layout}">{"".join(items)}</div>'


def _html_run_figures(content: _Content, kind: str, intro: str) -> str:
    first, rest = content.first_and_rest(kind)
    if not first:
        return ""
    layout = "stack" if kind == "losses" else "side"
    parts = [f"<h2>{_e(FIGURE_TITLES[kind])}</h2>", f'<p class="note">{_e(intro)}</p>',
             _html_figures(content, first, layout)]
    if rest:
        parts.append(f"<details><summary>Every other seed ({len(rest)} more)</summary>"
                     f"{_html_figures(content, rest, layout)}</details>")
    return "\n".join(parts)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1,
                numeric_to: Optional[int] = None) -> str:
    """Columns numeric_from up to (not including) numeric_to, or to the end, are set as numbers."""
    head = "".join(f"<th>{_e(cell)}</th>" for cell in header)
    numeric = range(numeric_from, numeric_to if numeric_to is not None else max(map(len, rows), default=0))
    body = "".join("<tr>" + "".join(f'<td class="{"num" if i in numeric else ""}">{_e(cell)}</td>'
                                    for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


INTROS = {
    "samples": "Generated samples of each family (first seed side by side); for 2-D data, generated points "
               "over the real ones.",
    "reconstructions": "VAE reconstructions: originals above their reconstructions (or real against "
                       "reconstructed points). A GAN has no encoder, so it has none.",
    "interpolations": "Decoding points on straight lines between latent codes.",
    "losses": "The training losses of each family, as logged in each run folder.",
    "traversals": "One latent dimension swept from -3 to 3 prior standard deviations, the rest of a prior draw "
                  "fixed: for a family with an encoder its most active dimensions by KL, for a GAN its first ones "
                  "(drawn by `ganvae explore RUN`).",
    "slerp": "Decoding points on great circles between pairs of prior draws, which keep the typical norm of a "
             "Gaussian code (drawn by `ganvae explore RUN`).",
    "latent-map": "A 2-D latent space: the decoded plane over [-3, 3]^2 and the encoded training data by label "
                  "(drawn by `ganvae explore RUN`).",
}


def render_html(content: _Content) -> str:
    summary = content.summary
    name = str(summary["data"]["name"])
    title = " vs ".join(family_label(f) for f in content.families) + f" on {name}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ganvae report: {_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f"<h1>{_e(title)}</h1>", '<dl class="facts">',
        "".join(f"<dt>{_e(key)}</dt><dd>{_e(value)}</dd>" for key, value in content.facts()), "</dl>",
        "<h2>Verdict</h2>",
    ]
    sentences = summary.get("verdict") or []
    parts.append('<ol class="verdict">' + "".join(f"<li>{_e(s['text'])}</li>" for s in sentences) + "</ol>"
                 if sentences else f'<p class="note">{NO_VERDICT}</p>')
    advice = summary.get("advice")
    if advice:
        parts.append(f"<h2>Advice: use the {_e(family_label(advice['family']))}</h2>")
        if advice.get("needs"):
            parts.append(f"<p>For the needs: {_e(', '.join(advice['needs']))}.</p>")
        parts.append('<ul class="reasons">' + "".join(f"<li>{_e(r)}</li>" for r in advice.get("reasons") or [])
                     + "".join(f'<li class="warning">Warning: {_e(w)}</li>' for w in advice.get("warnings") or [])
                     + "</ul>")
        settings = {k: v for k, v in (advice.get("settings") or {}).items() if v is not None}
        if settings:
            parts.append(_html_table(["setting", "value"], [[k, format_budget(v) if k == "budget" else str(v)]
                                                            for k, v in settings.items()]))

    parts.append("<h2>Metrics</h2>")
    rows = content.metric_rows()
    if rows:
        header = "".join(f"<th>{_e(h)}</th>" for h in
                         ["metric", "better"] + [family_label(f) for f in content.families] + ["finding"])
        body = []
        for row in rows:
            cells = "".join(f'<td class="{cell["kind"]}" title="{_e(cell["title"])}">{_e(cell["text"])}</td>'
                            for cell in row["cells"])
            body.append(f'<tr><td title="{_e(row["description"])}">{_e(row["label"])}</td>'
                        f"<td>{_e(row['direction'])}</td>{cells}<td>{_e(row['finding'])}</td></tr>")
        parts.append(f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>")
        parts.append(f'<p class="note">Mean over seeds [95% interval]. {_e(BEST_NOTE)} n/a: the metric does not '
                     "apply to that family. Hover a metric for its definition.</p>")
        ranking = content.ranking()
        if ranking is not None:
            parts.append(f"<h3>{_e(RANKING_TITLE.format(metric=metric_label(ranking['metric'])))}</h3>")
            parts.append(_html_table(RANKING_HEADER, content.ranking_rows(ranking), numeric_to=2))
            parts.append(f'<p class="note">{_e(RANKING_NOTE)}</p>')
    else:
        parts.append('<p class="note">No metrics were recorded.</p>')

    parts.append(_html_run_figures(content, "samples", INTROS["samples"]))
    parts.append(_html_run_figures(content, "reconstructions", INTROS["reconstructions"]))
    parts.append(_html_run_figures(content, "interpolations", INTROS["interpolations"]))
    parts += [_html_run_figures(content, kind, INTROS[kind]) for kind in EXPLORE_KINDS]
    parts.append("<h2>Sharp samples or covering the data</h2>")
    if content.planes:
        parts.append('<p class="note">Every run is a point: up, more samples fall inside the real data\'s '
                     "neighbourhoods (fidelity); right, more of the real data is reached (coverage). The usual "
                     "expectation is GANs higher and VAEs further right, but blur can raise precision and density "
                     "in a classifier's feature space: read these with the sharpness row of the metrics table.</p>")
        parts.append(_html_figures(content, content.planes))
    else:
        parts.append('<p class="note">Precision, recall, density and coverage were not measured.</p>')
    parts.append(_html_run_figures(content, "losses", INTROS["losses"]))
    if content.curves is not None:
        parts.append("<h2>Metrics during training</h2>")
        parts.append(_html_figures(content, [content.curves]))
    parts.append("<h2>Training cost</h2>")
    parts.append(_html_table(["family", "seconds per run", "images seen", "parameters", "runs finished"],
                             content.cost_rows()))
    parts.append("<details><summary>Every run</summary>" + _html_table(
        ["family", "seed", "status", "arch", "seconds", "images seen", "parameters", "run folder"],
        content.run_rows(), numeric_from=4) + "</details>")
    if content.metrics:
        parts.append("<details><summary>Every run's metrics</summary>" + _html_table(
            ["family", "seed"] + [metric_label(m) for m in content.metrics], content.run_metric_rows(),
            numeric_from=2) + "</details>")
    notes = content.notes()
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(note)}</li>" for note in notes) + "</ul>")
    parts.append(f'<p class="note">This file is self-contained: every figure is embedded. The numbers are in '
                 f"{_e(SUMMARY_NAME)} beside it.</p>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(part for part in parts if part)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], user_columns: Sequence[int] = ()) -> str:
    """A pipe table; cells in user_columns (indices) are user strings and escaped fully."""
    def cell(index: int, value: object) -> str:
        return _md(value) if index in user_columns else _md_text(value)

    lines = ["| " + " | ".join(_md_text(value) for value in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(i, value) for i, value in enumerate(row)) + " |" for row in rows]
    return "\n".join(lines)


def _md_figures(figures: Sequence[ReportFigure]) -> str:
    return "\n".join(f"![{_md(figure.caption)}]({figure.relative})" for figure in figures)


def render_markdown(content: _Content) -> str:
    summary = content.summary
    name = str(summary["data"]["name"])
    lines = [f"# {' vs '.join(family_label(f) for f in content.families)} on {_md(name)}", ""]
    lines += [f"- **{_md(key)}**: {_md(value)}" for key, value in content.facts()] + ["", "## Verdict", ""]
    sentences = summary.get("verdict") or []
    lines += [f"{i}. {_md_text(s['text'])}" for i, s in enumerate(sentences, 1)] or \
        [NO_VERDICT]
    advice = summary.get("advice")
    if advice:
        lines += ["", f"## Advice: use the {_md(family_label(advice['family']))}", ""]
        lines += [f"- {_md_text(r)}" for r in advice.get("reasons") or []]
        lines += [f"- **Warning**: {_md_text(w)}" for w in advice.get("warnings") or []]
        settings = {k: v for k, v in (advice.get("settings") or {}).items() if v is not None}
        if settings:
            lines += ["", _md_table(["setting", "value"],
                                    [[k, format_budget(v) if k == "budget" else str(v)] for k, v in settings.items()],
                                    user_columns=(1,))]
    lines += ["", "## Metrics", ""]
    rows = content.metric_rows()
    if rows:
        table = [[row["label"], row["direction"]] + [cell["text"] for cell in row["cells"]] + [row["finding"]]
                 for row in rows]
        rendered = _md_table(["metric", "better"] + [family_label(f) for f in content.families] + ["finding"], table)
        # Bold the better cells after escaping, so the ** stays Markdown.
        rendered = re.sub(r"\| (\u25b2 [^|]*?) (?=\|)", r"| **\1** ", rendered)
        lines += [rendered, "", f"Mean over seeds [95% interval]. {BEST_NOTE} n/a: the metric does not apply to "
                  "that family."]
        ranking = content.ranking()
        if ranking is not None:
            lines += ["", f"### {RANKING_TITLE.format(metric=metric_label(ranking['metric']))}", "",
                      _md_table(RANKING_HEADER, content.ranking_rows(ranking)), "", RANKING_NOTE]
    else:
        lines.append("No metrics were recorded.")
    for kind in ("samples", "reconstructions", "interpolations", *EXPLORE_KINDS):
        figures = content.run_figures[kind]
        if figures:
            lines += ["", f"## {FIGURE_TITLES[kind]}", "", INTROS[kind], "", _md_figures(figures)]
    lines += ["", "## Sharp samples or covering the data", ""]
    lines.append(_md_figures(content.planes) if content.planes else
                 "Precision, recall, density and coverage were not measured.")
    if content.run_figures["losses"]:
        lines += ["", "## Loss curves", "", _md_figures(content.run_figures["losses"])]
    if content.curves is not None:
        lines += ["", "## Metrics during training", "", _md_figures([content.curves])]
    lines += ["", "## Training cost", "",
              _md_table(["family", "seconds per run", "images seen", "parameters", "runs finished"],
                        content.cost_rows()),
              "", "### Every run", "",
              _md_table(["family", "seed", "status", "arch", "seconds", "images seen", "parameters", "run folder"],
                        content.run_rows(), user_columns=(2, 3, 7))]
    if content.metrics:
        lines += ["", "### Every run's metrics", "",
                  _md_table(["family", "seed"] + [metric_label(m) for m in content.metrics],
                            content.run_metric_rows())]
    notes = content.notes()
    if notes:
        lines += ["", "## Notes", ""] + [f"- {_md(note)}" for note in notes]
    lines += ["", f"The numbers are in `{SUMMARY_NAME}` beside this file.", ""]
    return "\n".join(lines)


def write_report(summary: Mapping, out_dir: PathLike) -> dict[str, Path]:
    """Write report.html, report.md, summary.json and figures/ into out_dir; return their paths.

    summary: as built by build_summary (RunError if it has another shape). Run figures are copied from the
    paths in each run's "figures" (or <run_dir>/<kind>.png); a missing or unreadable one is listed in the
    report's notes rather than stopping it. Figures an earlier report here wrote (as report-files.json lists)
    that this one does not use are removed; no other file is.
    """
    summary = check_summary(dict(summary) if isinstance(summary, Mapping) else summary)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RunError(f"--out {out_dir} is a file, not a folder; choose another --out for the report.")
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = _Figures(out_dir)
    content = _Content(summary, figures)
    html_text, markdown_text = render_html(content), render_markdown(content)
    figures.prune()
    paths = {
        "html": write_atomically(out_dir / HTML_NAME, lambda stream: stream.write(html_text.encode("utf-8"))),
        "markdown": write_atomically(out_dir / MARKDOWN_NAME,
                                     lambda stream: stream.write(markdown_text.encode("utf-8"))),
        "summary": write_summary(summary, out_dir / SUMMARY_NAME),
    }
    return paths
