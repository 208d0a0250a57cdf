"""How ganvae's results show themselves in Jupyter: an `evaluate` result as a metric table, a comparison as its
verdict, metric table and a link to its report. Outside a notebook they are the plain dict and tuple they
always were (`EvaluationResult` is a dict, `ComparisonResult` unpacks as `summary, paths`)."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any, Mapping


def format_value(value) -> str:
    """A metric's value as a table shows it: "n/a" for None, whole numbers as they are, else 4 digits."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def _table(header, rows, numeric_from: int = 1) -> str:
    head = "".join(f'<th style="text-align:left">{escape(str(cell))}</th>' for cell in header)
    body = "".join("<tr>" + "".join(
        f'<td style="text-align:{"right" if i >= numeric_from else "left"}">{escape(str(cell))}</td>'
        for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class EvaluationResult(dict):
    """What `ganvae.evaluate` returns: the JSON-able dict of its docstring, shown in a notebook as a table of
    metric, value, which way is better, and why a value is missing."""

    def _repr_html_(self) -> str:
        from .metrics.spec import METRICS, TARGET

        who = self["family"].upper() if self.get("family") else "samples"
        heading = (f"<strong>{escape(str(self['source']))}</strong> ({escape(who)}): {self['n_samples']} samples "
                   f"against {self['n_reference']} real examples of {escape(str(self['data']))} "
                   f"({escape(str(self['split']))} split), {escape(str(self['feature_space']))} features")
        rows = []
        for name, value in self["metrics"].items():
            spec = METRICS.get(name)
            better = "" if spec is None else f"near {spec.target:g}" if spec.direction == TARGET else spec.direction
            rows.append([name, format_value(value), better, self.get("notes", {}).get(name, "")])
        return f"<div>{heading}{_table(['metric', 'value', 'better', 'note'], rows)}</div>"


class ComparisonResult(tuple):
    """What `ganvae.compare` returns: (summary, paths), shown in a notebook as the verdict, the metric table
    (mean over seeds [95% interval], the clearly better family marked) and a link to report.html."""

    def __new__(cls, summary: Mapping[str, Any], paths: Mapping[str, Path]):
        return super().__new__(cls, (summary, paths))

    @property
    def summary(self) -> Mapping[str, Any]:
        return self[0]

    @property
    def paths(self) -> Mapping[str, Path]:
        return self[1]

    def _repr_html_(self) -> str:
        from .report.aggregate import CLEAR, compare_metric
        from .report.verdict import family_label, format_interval, metric_label, metric_sort_key

        summary, report = self.summary, Path(self.paths["html"])
        families = list(summary["families"])
        aggregate = summary["aggregate"]
        metrics = sorted({m for values in aggregate.values() for m, v in (values or {}).items() if v is not None},
                         key=metric_sort_key)
        rows = []
        for metric in metrics:
            comparison = compare_metric(aggregate, metric)
            cells = []
            for family in families:
                text = format_interval((aggregate.get(family) or {}).get(metric))
                cells.append(("\u25b2 " if comparison["status"] == CLEAR and comparison["winner"] == family
                              else "") + text)
            rows.append([metric_label(metric), *cells])
        try:  # a notebook resolves a relative link against its own folder, the kernel's working folder
            href = os.path.relpath(report)
        except ValueError:  # another drive (Windows)
            href = report.resolve().as_uri()
        title = " vs ".join(family_label(f) for f in families) + f" on {summary['data']['name']}"
        verdict = "".join(f"<li>{escape(sentence['text'])}</li>" for sentence in summary.get("verdict") or [])
        return (f"<div><strong>{escape(title)}</strong>, seeds {escape(', '.join(map(str, summary['seeds'])))}"
                f"<ol>{verdict}</ol>"
                f"{_table(['metric', *[family_label(f) for f in families]], rows)}"
                f"<p>The full report: <a href=\"{escape(href)}\" target=\"_blank\">{escape(str(report))}</a> "
                f"(one self-contained file)</p></div>")
