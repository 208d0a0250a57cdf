"""Whether this process runs inside a Jupyter kernel: the loop draws a notebook progress bar there, and the
API shows progress there by default. (At the bottom of the layers, so the loop may ask.)"""

from __future__ import annotations

import sys


def in_notebook() -> bool:
    """True inside a Jupyter kernel (the test tqdm.auto makes before it draws a notebook progress bar)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # an IPython too old or too odd to ask: no notebook
        return False
