"""report.html in a real browser (headless Chromium, Debian's `chromium`): every image decodes at its PNG's own
size, every table renders with its rows, and the page asks nothing from the network.

The page is checked as written, plus two things put into a copy's <head>: a Content-Security-Policy that
allows only inline styles, data: images and the checking script, and that script, which records every request
the policy blocked (securitypolicyviolation) and every resource the browser fetched (Resource Timing), opens
every <details>, measures the images and tables after the load event, and writes its findings into the DOM,
which --dump-dom prints.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess

import pytest
from PIL import Image

from ganvae.comparison import compare
from ganvae.config import BudgetConfig, CompareConfig, DataConfig

pytestmark = pytest.mark.slow

CHECK_ID = "ganvae-browser-check"
POLICY = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">")
CHECK_SCRIPT = """<script>
const blocked = [];
document.addEventListener("securitypolicyviolation", (event) => blocked.push(event.blockedURI));
window.addEventListener("load", () => setTimeout(() => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const images = [...document.images].map((i) => ({complete: i.complete, width: i.naturalWidth,
                                                   height: i.naturalHeight, shown: i.getBoundingClientRect().width}));
  const tables = [...document.querySelectorAll("table")].map((t) => ({rows: t.rows.length,
                                                                      height: t.getBoundingClientRect().height,
                                                                      width: t.getBoundingClientRect().width}));
  const fetched = performance.getEntriesByType("resource").map((entry) => entry.name);
  const out = document.createElement("pre");
  out.id = "%s";
  out.textContent = JSON.stringify({images, tables, blocked, fetched});
  document.body.appendChild(out);
}, 200));
</script>""" % CHECK_ID
IMAGE_SOURCE = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it "
                    "when the slow tests run)")
    return path


def browser(*args: str) -> subprocess.CompletedProcess:
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--disable-extensions", "--disable-background-networking",
                           *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser-report")
    cfg = CompareConfig(data=DataConfig(name="digits"), budget=BudgetConfig(steps=8), seeds=2, n_eval=200,
                        iw_samples=20, nll_examples=50)
    _, paths = compare(cfg, out, progress=False, say=lambda _: None)
    return paths["html"]


def test_the_report_renders_offline_in_chromium(report, tmp_path):
    html = report.read_text()
    checked = tmp_path / "checked.html"
    checked.write_text(html.replace("<head>", "<head>" + POLICY + CHECK_SCRIPT, 1))
    result = browser("--virtual-time-budget=10000", "--dump-dom", checked.as_uri())
    found = re.search(rf'<pre id="{CHECK_ID}">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stderr[-2000:]
    seen = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))

    # Every image decoded, at the size of the PNG the file embeds, and is laid out on the page.
    embedded = [Image.open(io.BytesIO(base64.b64decode(data))).size for data in IMAGE_SOURCE.findall(html)]
    assert len(embedded) >= 5 and len(seen["images"]) == len(embedded) == html.count("<img ")
    assert [(i["width"], i["height"]) for i in seen["images"]] == embedded
    assert all(i["complete"] and i["width"] > 0 and i["shown"] > 0 for i in seen["images"])

    # Every table rendered: as many as the file holds, each with its header and rows on screen.
    assert len(seen["tables"]) == html.count("<table>") >= 3
    assert [t["rows"] for t in seen["tables"]] == [block.count("<tr>") for block in
                                                   re.findall(r"<table>.*?</table>", html, re.S)]
    assert all(t["rows"] >= 2 and t["height"] > 20 and t["width"] > 50 for t in seen["tables"])

    # Nothing asked from the network or the disk: no request blocked by the policy, no resource fetched.
    assert seen["blocked"] == [] and seen["fetched"] == []


def test_the_check_would_see_a_network_request(tmp_path):
    """The checking script itself: a page that fetches an image is caught."""
    page = tmp_path / "fetching.html"
    page.write_text("<html><head>" + POLICY + CHECK_SCRIPT + "</head><body><table><tr><td>x</td></tr></table>"
                    "<img src=\"http://192.0.2.1/x.png\"></body></html>")
    result = browser("--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    seen = json.loads(re.search(rf'<pre id="{CHECK_ID}">(.*?)</pre>', result.stdout, re.S).group(1)
                      .replace("&quot;", '"').replace("&amp;", "&"))
    assert seen["blocked"] == ["http://192.0.2.1/x.png"] and seen["images"][0]["width"] == 0


def test_a_screenshot_of_the_report_shows_a_page(report, tmp_path):
    picture = tmp_path / "report.png"
    result = browser("--window-size=1280,1600", f"--screenshot={picture}", report.as_uri())
    assert picture.is_file(), result.stderr[-2000:]
    image = Image.open(picture).convert("L")
    assert image.size == (1280, 1600)
    low, high = image.getextrema()
    assert high - low > 100  # text and figures on a white page, not a blank one
