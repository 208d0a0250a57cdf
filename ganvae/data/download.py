"""Fetch one file by URL, check its sha256, and write it atomically (temp file + rename).

The opener is a parameter so tests can use a local file:// URL or a fake opener instead of the network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional

from ..errors import DataError

DEFAULT_TIMEOUT_S = 15.0
CHUNK_BYTES = 1 << 20

Opener = Callable[..., object]  # urlopen-like: opener(url, timeout=...) -> a readable context manager


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, destination: Path, sha256: str, *, expected_bytes: Optional[int] = None,
          timeout: float = DEFAULT_TIMEOUT_S, opener: Opener = urllib.request.urlopen) -> Path:
    """Download `url` to `destination` if its sha256 matches; otherwise leave nothing behind.

    Raises DataError on any network error, a wrong checksum, or more than `expected_bytes` bytes.
    """
    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, partial_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part",
                                                dir=destination.parent)
    except OSError as error:
        raise DataError(f"cannot write to {destination.parent} ({error.strerror or error}); "
                        f"make it writable or put the files in another folder") from None
    partial = Path(partial_name)
    digest = hashlib.sha256()
    n_bytes = 0
    moved = False
    try:
        with os.fdopen(handle, "wb") as out, opener(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                n_bytes += len(chunk)
                if expected_bytes is not None and n_bytes > expected_bytes:
                    raise DataError(f"{url} sent more than the expected {expected_bytes} bytes; "
                                    f"the mirror is serving a different file, so try again later or fetch it by hand")
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256.lower():
            raise DataError(f"{url} has sha256 {digest.hexdigest()}, not the expected {sha256}; the download is "
                            f"corrupt or the mirror changed, so try again or fetch the file by hand")
        os.replace(partial, destination)
        moved = True
    except DataError:
        raise
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise DataError(f"could not download {url} ({reason}); check the network or fetch the file by hand") from None
    finally:
        if not moved:
            partial.unlink(missing_ok=True)
    return destination
