"""Screenshot a comparison's report.html in headless Chromium (Debian's `chromium`), as docs/figures/report.png.

    python scripts/report_screenshot.py runs/compare-digits/report.html docs/figures/report.png [WIDTH HEIGHT]
"""

import shutil
import subprocess
import sys
from pathlib import Path


def main(report: str, picture: str, width: int = 1280, height: int = 1600) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("headless Chromium is not installed (Debian: apt-get install chromium)")
    # --no-sandbox: Chromium's sandbox refuses to start as root (CI containers).
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={width},{height}", f"--screenshot={Path(picture).resolve()}",
                    Path(report).resolve().as_uri()], check=True, capture_output=True, timeout=120)
    print(f"wrote {picture}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:5]))
