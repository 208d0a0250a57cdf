"""One writer per folder: a second writer is refused with the owner named; a dead owner's lock is taken over."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket

import pytest

from ganvae.errors import RunError
from ganvae.train.lock import LOCK_NAME, FolderLock


def _hold(folder, ready, release):
    with FolderLock(folder, "a test holder"):
        ready.set()
        release.wait(30)


def test_a_second_writer_is_refused_naming_the_running_process(tmp_path):
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(RunError) as caught:
            FolderLock(tmp_path, "training").acquire()
        message = str(caught.value)
        assert f"process {holder.pid} on {socket.gethostname()}" in message
        assert "a test holder" in message and "\n" not in message
    finally:
        release.set()
        holder.join(30)
    with FolderLock(tmp_path, "training") as lock:  # free again once the holder is gone
        assert lock.note is None  # it released cleanly: nothing to take over


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_note(tmp_path):
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(tmp_path, ready, release))
    holder.start()
    assert ready.wait(30)
    holder.kill()
    holder.join(30)
    lock = FolderLock(tmp_path, "training")
    note = lock.acquire()
    try:
        assert note is not None and f"process {holder.pid}" in note and "no longer running" in note
        owner = json.loads((tmp_path / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid() and owner["what"] == "training"
    finally:
        lock.release()
    assert (tmp_path / LOCK_NAME).read_text() == ""


def test_the_same_lock_object_acquires_once_and_releases(tmp_path):
    lock = FolderLock(tmp_path, "training")
    lock.acquire()
    lock.acquire()  # idempotent
    assert lock.held
    lock.release()
    lock.release()
    assert not lock.held


def test_an_unwritable_folder_is_one_line(tmp_path):
    with pytest.raises(RunError, match="cannot create the lock file"):
        FolderLock(tmp_path / "missing" / "deeper", "training").acquire()
