"""One writer per folder: an advisory lock file naming its owner (process id, host, what it does).

The lock is an `flock` on `FOLDER/.ganvae-lock`, so the operating system releases it when its process dies,
however it dies. The file itself stays; it holds the owner's JSON while held and is emptied on release, so a
file that still names an owner when its lock is free was left by a process that died: it is taken over, and
the caller gets a note saying so. Readers (`sample`, `evaluate`) take no lock: checkpoints are replaced
atomically, so they always find a complete one.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional

from ..errors import RunError

LOCK_NAME = ".ganvae-lock"

try:
    import fcntl
except ImportError:  # Windows: fall back to a process-id check (see _try_lock)
    fcntl = None  # type: ignore[assignment]


def _read_owner(path: Path) -> Optional[dict[str, Any]]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        owner = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return {"pid": None, "host": "?", "what": "an unreadable lock"}
    return owner if isinstance(owner, dict) else None


def process_alive(pid: Any) -> bool:
    """Whether a process with this id runs on this machine (one that exists but is another user's counts)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def describe_owner(owner: Optional[dict[str, Any]]) -> str:
    if not owner:
        return "another process"
    what = f" ({owner['what']}" + (f", since {owner['started']}" if owner.get("started") else "") + ")" \
        if owner.get("what") else ""
    return f"process {owner.get('pid', '?')} on {owner.get('host', '?')}{what}"


class FolderLock:
    """Hold `FOLDER/.ganvae-lock` while writing into FOLDER. Use as a context manager or acquire/release.

    acquire() raises a RunError naming the running owner when another live process holds the lock, and
    returns a note (or None) when it took over a lock that a dead process left behind.

    shared: several processes may hold the lock shared at once (the shards of one comparison), while none holds
    it exclusively; a shared holder writes no owner into the file, since the others hold it too.
    """

    def __init__(self, folder: Path, what: str, shared: bool = False):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.what = what
        self.shared = shared
        self._fd: Optional[int] = None
        self.note: Optional[str] = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> Optional[str]:
        if self._fd is not None:
            return self.note
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunError(f"cannot create the lock file {self.path} ({exc.strerror or exc}); "
                           f"choose a writable folder") from None
        previous = _read_owner(self.path)
        if not self._try_lock(fd, previous):
            os.close(fd)
            raise RunError(f"{self.folder} is in use by {describe_owner(_read_owner(self.path) or previous)}; "
                           f"wait for it to finish or stop it, then run this again (only one process may write "
                           f"a folder at a time)")
        self._fd = fd
        if self.shared:
            if previous:  # an exclusive owner that died: no one holds the lock exclusively now
                self._write("")
            return None
        if previous and previous.get("pid") != os.getpid():
            self.note = (f"took over the lock of {describe_owner(previous)} in {self.folder}: that process is "
                         f"no longer running")
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                 "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "command": " ".join(sys.argv)[:500]}
        self._write(json.dumps(owner) + "\n")
        return self.note

    def _try_lock(self, fd: int, previous: Optional[dict[str, Any]]) -> bool:
        if fcntl is not None:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            except OSError:  # a file system without flock: fall back to the owner's process id
                pass
            else:
                return True
        same_host = previous is not None and previous.get("host") == socket.gethostname()
        return not (previous and previous.get("pid") != os.getpid()
                    and (not same_host or process_alive(previous.get("pid"))))

    def _write(self, text: str) -> None:
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text.encode(), 0)
            os.fsync(self._fd)
        except OSError:  # the lock itself still holds; only its description could not be written
            pass

    def release(self) -> None:
        if self._fd is None:
            return
        if not self.shared:
            self._write("")  # empty: released cleanly (a file naming an owner means that owner died)
        if fcntl is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            except OSError:
                pass
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "FolderLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> bool:
        self.release()
        return False
