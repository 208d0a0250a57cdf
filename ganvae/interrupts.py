"""Ctrl-C and SIGTERM end any ganvae command with one line and the shell's exit code (130, 143).

Python's own SIGINT handler raises KeyboardInterrupt wherever the main thread is. When that place is a weakref
callback or a __del__ method (matplotlib drops artists through weak references while it draws), Python prints
"Exception ignored in ..." and carries on, so a command could finish with exit code 0 after Ctrl-C. The handlers
here also record the signal, and keep such a swallowed interrupt off stderr; the command's end reads the record.
This module imports nothing heavy: `python -m ganvae` installs it before importing torch.
"""

from __future__ import annotations

import signal
import sys
from typing import Callable, Optional

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every handler of Ctrl-C (status, checkpoint) handles it too."""


_received: Optional[int] = None
_depth = 0


def _handle(signum, frame):
    global _received
    _received = signum
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _quiet_hook(previous):
    def hook(unraisable):
        # Our own interrupt, raised where Python cannot propagate it: it is recorded, so say nothing here.
        if _received is not None and isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        previous(unraisable)
    return hook


def install() -> Callable[[], None]:
    """Install the recording handlers (main thread only; a signal the parent set to be ignored stays ignored).

    Nested calls share one record; the outermost resets it. Returns the function that undoes this call."""
    global _depth, _received
    _depth += 1
    if _depth > 1:
        return _uninstall_nested
    _received = None
    previous = {}
    try:
        for sig in EXIT_CODES:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, _handle)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_hook(previous_hook)

    def uninstall() -> None:
        global _depth
        _depth -= 1
        sys.unraisablehook = previous_hook
        for sig, handler in previous.items():
            try:
                signal.signal(sig, handler)
            except ValueError:
                pass
    return uninstall


def _uninstall_nested() -> None:
    global _depth
    _depth -= 1


def received() -> Optional[int]:
    """The signal our handlers saw since the outermost install(), or None."""
    return _received


def exit_code(exc: Optional[BaseException] = None) -> int:
    """130 for Ctrl-C, 143 for SIGTERM (from the record, else from the exception's type)."""
    if _received is not None:
        return EXIT_CODES.get(_received, 130)
    return 143 if isinstance(exc, Terminated) else 130


def signal_name(exc: Optional[BaseException] = None) -> str:
    if _received is not None:
        return signal.Signals(_received).name
    return "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"


def report(exc: Optional[BaseException] = None) -> int:
    """Print the one line for an interrupted command and return its exit code."""
    print(f"ganvae: stopped by {signal_name(exc)}", file=sys.stderr)
    return exit_code(exc)
