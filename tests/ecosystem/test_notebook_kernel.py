"""A real notebook, run by a Jupyter kernel (nbclient): train, evaluate and compare on ring8 show a notebook
progress bar and their HTML views. nbclient, nbformat, ipykernel and ipywidgets come with the `test` extra."""

import json

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")  # tqdm.auto draws a widget bar only where ipywidgets is installed

from ganvae.notebook import format_value  # noqa: E402

CELLS = [
    """import json
import ganvae
from ganvae import BudgetConfig, CompareConfig, DataConfig
gan = ganvae.GAN(steps=40, hidden=16, out="gan-run").fit("ring8")
gan""",
    """result = ganvae.evaluate(gan, n_samples=200)
json.dump(result, open("evaluated.json", "w"))
result""",
    """ganvae.compare(CompareConfig(data=DataConfig(name="ring8", n_examples=400), budget=BudgetConfig(steps=8),
                              seeds=1, n_eval=200, iw_samples=20, nll_examples=50), "cmp", say=lambda _: None)""",
]
WIDGET = "application/vnd.jupyter.widget-view+json"


def html_of(cell) -> str:
    (result,) = [out for out in cell.outputs if out.output_type == "execute_result"]
    return result.data["text/html"]


@pytest.mark.slow  # a kernel, a training run and a whole comparison: about a minute on two quiet cores
def test_a_notebook_trains_evaluates_and_compares_with_bars_and_html(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    fit_cell, evaluate_cell, compare_cell = notebook.cells
    for cell in notebook.cells:
        assert not [out for out in cell.outputs if out.output_type == "error"], cell.outputs

    # fit: a widget progress bar (progress defaults to on in a notebook), then the model's own view
    assert any(WIDGET in out.get("data", {}) for out in fit_cell.outputs)
    html = html_of(fit_cell)
    assert '<img src="data:image/png;base64,' in html and "model.arch" in html and "40 steps" in html

    # evaluate: a metric table holding the values the result holds
    evaluated = json.loads((tmp_path / "evaluated.json").read_text())
    html = html_of(evaluate_cell)
    assert "<table>" in html
    for name in ("precision", "recall", "modes_captured"):
        cell = f'<td style="text-align:left">{name}</td><td style="text-align:right">'
        assert cell + format_value(evaluated["metrics"][name]) + "</td>" in html

    # compare: a bar per training segment, the verdict, the metric table and a link to the report beside it
    assert sum(WIDGET in out.get("data", {}) for out in compare_cell.outputs) >= 2
    html = html_of(compare_cell)
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert 'href="cmp/report.html"' in html and (tmp_path / "cmp" / "report.html").is_file()
    assert "<th style=\"text-align:left\">GAN</th><th style=\"text-align:left\">VAE</th>" in html
    assert summary["verdict"][0]["text"].split(" ")[0] in html
