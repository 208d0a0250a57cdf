"""The checkpoint writer and reader under faults: a crash or a full disk in the middle of a write, and files
that are truncated, corrupt, from another version, or crafted to run code when unpickled."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import shlex

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ganvae
from ganvae.errors import RunError
from ganvae import storage
from ganvae.train import checkpoint
from ganvae.train.checkpoint import (LATEST, PREVIOUS, latest_valid_checkpoint, load_checkpoint,
                                     save_run_checkpoint)

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def training_state(step: int) -> dict:
    """The shape of what the loop saves, with a weight that records the step."""
    return {"family_state": {"w": torch.full((3,), float(step))}, "optimizers": {},
            "train_state": {"step": step}, "rng": {"torch": torch.get_rng_state()}}


def saved_step(path) -> int:
    return int(load_checkpoint(path)["train_state"]["step"])


@pytest.fixture
def run_dir(tmp_path):
    """A run folder holding checkpoints of step 1 (checkpoint.prev.pt) and step 2 (checkpoint.pt)."""
    folder = tmp_path / "run"
    folder.mkdir()
    save_run_checkpoint(training_state(1), folder)
    save_run_checkpoint(training_state(2), folder)
    return folder


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way may swallow it."""


def failing_replace(fail_on_call: int, error: BaseException):
    real = os.replace
    calls = {"n": 0}

    def replace(src, dst, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == fail_on_call:
            raise error
        return real(src, dst, *args, **kwargs)

    return replace


@pytest.mark.parametrize("error", [Crash(), ENOSPC], ids=["crash", "enospc"])
@pytest.mark.parametrize("fail_on_call", [1, 2], ids=["before-any-rename", "between-renames"])
def test_a_write_stopped_before_its_rename_keeps_the_previous_checkpoint(run_dir, monkeypatch, fail_on_call,
                                                                        error):
    monkeypatch.setattr(checkpoint.os, "replace", failing_replace(fail_on_call, error))
    with pytest.raises(type(error) if isinstance(error, Crash) else RunError) as raised:
        save_run_checkpoint(training_state(3), run_dir)
    monkeypatch.undo()
    if not isinstance(error, Crash):
        assert "No space left on device" in str(raised.value) and "previous checkpoint is kept" in str(raised.value)
    path, state, skipped = latest_valid_checkpoint(run_dir)
    assert state["train_state"]["step"] == 2 and not skipped
    assert torch.equal(state["family_state"]["w"], torch.full((3,), 2.0))
    if fail_on_call == 1:  # nothing renamed: both earlier checkpoints as they were
        assert saved_step(run_dir / LATEST) == 2 and saved_step(run_dir / PREVIOUS) == 1
    else:  # checkpoint.pt already became checkpoint.prev.pt
        assert path == run_dir / PREVIOUS and not (run_dir / LATEST).exists()
    assert not list(run_dir.glob(".checkpoint.pt.tmp-*"))
    save_run_checkpoint(training_state(3), run_dir)  # the next write repairs the folder
    assert saved_step(run_dir / LATEST) == 3 and saved_step(run_dir / PREVIOUS) == 2


class FullDisk:
    """open() whose files accept `budget` bytes in all, then fail with ENOSPC (as a full disk does)."""

    def __init__(self, budget: int = 0, only=lambda path: True):
        self.budget, self.only = budget, only

    def __call__(self, file, mode="r", *args, **kwargs):
        handle = open(file, mode, *args, **kwargs)
        if "w" not in mode and "a" not in mode or not self.only(str(file)):
            return handle
        disk = self

        class Limited:
            def write(self, data):
                allowed = min(len(data), max(disk.budget, 0))
                handle.write(data[:allowed])
                disk.budget -= allowed
                if allowed < len(data):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return allowed

            def flush(self):
                handle.flush()

            def fileno(self):
                return handle.fileno()

            def close(self):
                handle.close()

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()
                return False

        return Limited()


def test_a_disk_that_fills_mid_write_keeps_the_previous_checkpoint(run_dir, monkeypatch):
    monkeypatch.setattr(storage, "open", FullDisk(budget=1000), raising=False)  # the checkpoint writer's open
    with pytest.raises(RunError, match=r"cannot write .*checkpoint\.pt \(No space left on device\); the previous "
                                       r"checkpoint is kept"):
        save_run_checkpoint(training_state(3), run_dir)
    monkeypatch.undo()
    assert saved_step(run_dir / LATEST) == 2 and saved_step(run_dir / PREVIOUS) == 1
    assert not list(run_dir.glob(".checkpoint.pt.tmp-*"))


def test_stale_temporaries_of_a_killed_writer_are_removed_but_not_a_live_ones(run_dir):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = run_dir / f".checkpoint.pt.tmp-{int(dead.stdout)}"
    live = run_dir / f".checkpoint.pt.tmp-{os.getppid()}"  # our parent: alive, and not us
    for path in (stale, live):
        path.write_bytes(b"half a checkpoint")
    assert checkpoint.remove_stale_temporaries(run_dir) == [stale]
    assert not stale.exists() and live.exists()


# Damaged newest checkpoints: each must be skipped, with its reason, in favour of checkpoint.prev.pt.
def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path):
    path.write_bytes(b"")


def _flip_a_payload_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def _garbage(path):
    path.write_bytes(os.urandom(4096))


def _envelope(path, version=checkpoint.VERSION, payload_state=None, sha256=None):
    buffer = io.BytesIO()
    torch.save(payload_state if payload_state is not None else training_state(9), buffer)
    payload = buffer.getvalue()
    torch.save({"format": checkpoint.FORMAT, "version": version,
                "sha256": sha256 or hashlib.sha256(payload).hexdigest(),
                "payload": torch.frombuffer(bytearray(payload), dtype=torch.uint8)}, path)


def _future_version(path):
    _envelope(path, version=checkpoint.VERSION + 1)


def _model_file(path):  # what GAN.save writes: loadable, but no optimiser state to resume from
    _envelope(path, payload_state={"family_state": {}, "config": {}, "data_info": {}, "train_state": {"step": 9}})


DAMAGE = {
    "truncated": (_truncate, "truncated or corrupt"),
    "empty": (_empty, "truncated or corrupt"),
    "flipped-byte": (_flip_a_payload_byte, "checksum|truncated or corrupt|not a ganvae checkpoint"),
    "random-bytes": (_garbage, "truncated or corrupt"),
    "future-version": (_future_version, "incompatible ganvae \\(checkpoint version 2, this ganvae reads 1\\)"),
    "not-a-training-checkpoint": (_model_file, "not a training checkpoint \\(lacks optimizers, rng\\)"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_newest_checkpoint_falls_back_to_the_previous_one(run_dir, damage):
    corrupt, reason = DAMAGE[damage]
    corrupt(run_dir / LATEST)
    path, state, skipped = latest_valid_checkpoint(run_dir)
    assert path == run_dir / PREVIOUS and state["train_state"]["step"] == 1
    assert len(skipped) == 1 and str(run_dir / LATEST) in skipped[0]
    assert re.search(reason, skipped[0]), skipped[0]


class Armed:
    """Unpickling this runs a shell command (it only creates a marker file here)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(self.marker)}",)


@pytest.mark.parametrize("where", ["file", "payload"])
def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(tmp_path, where):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pt"
    evil = {"family_state": Armed(marker), "optimizers": {}, "train_state": {"step": 1}, "rng": {}}
    if where == "file":  # the outer file itself holds the object
        torch.save({"format": checkpoint.FORMAT, "version": checkpoint.VERSION, **evil}, path)
    else:  # a well-formed envelope with a correct checksum around a payload that holds it
        _envelope(path, payload_state=evil)
    with pytest.raises(RunError, match=r"would run code when loaded.*weights_only=True\) and refuses this file"):
        load_checkpoint(path)
    with pytest.raises(RunError, match="would run code"):
        ganvae.load(path)
    assert not marker.exists(), "loading the file ran its code"
    # The file really is armed: an unsafe load would have run the command.
    raw = torch.load(path, weights_only=False)
    if where == "payload":
        torch.load(io.BytesIO(raw["payload"].numpy().tobytes()), weights_only=False)
    assert marker.exists()


def test_a_run_folder_with_an_armed_newest_checkpoint_resumes_from_the_previous(run_dir, tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({"format": checkpoint.FORMAT, "x": Armed(marker)}, run_dir / LATEST)
    path, state, skipped = latest_valid_checkpoint(run_dir)
    assert path == run_dir / PREVIOUS and "would run code" in skipped[0]
    assert not marker.exists()


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes_are_a_run_error(tmp_path, raw):
    path = tmp_path / "random.pt"
    path.write_bytes(raw)
    with pytest.raises(RunError):
        load_checkpoint(path)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    save_run_checkpoint(training_state(7), folder)
    return (folder / LATEST).read_bytes()


@SETTINGS
@given(st.data())
def test_a_mutated_checkpoint_loads_unchanged_or_is_a_run_error(tmp_path, good_checkpoint, data):
    """Any cut, flipped byte or inserted bytes: the loader returns the original state or raises RunError."""
    raw = bytearray(good_checkpoint)
    kind = data.draw(st.sampled_from(["cut", "flip", "insert"]))
    at = data.draw(st.integers(0, len(raw) - 1))
    if kind == "cut":
        raw = raw[:at]
    elif kind == "flip":
        raw[at] ^= data.draw(st.integers(1, 255))
    else:
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    path = tmp_path / "mutated.pt"
    path.write_bytes(bytes(raw))
    try:
        state = load_checkpoint(path)
    except RunError:
        return
    assert state["train_state"]["step"] == 7
    assert torch.equal(state["family_state"]["w"], torch.full((3,), 7.0))


def test_both_checkpoints_damaged_is_one_line_naming_both(run_dir, cli, tools):
    (run_dir / "config.json").write_text(json.dumps(ganvae.config.RunConfig(model=ganvae.config.ModelConfig(family="gan")).to_dict()))
    _truncate(run_dir / LATEST)
    _future_version(run_dir / PREVIOUS)
    code, out, err = cli("train", "--resume", "--out", run_dir, "--no-progress")
    line = tools.one_line(err)
    assert code == 1 and "has no valid checkpoint to resume from" in line
    assert "truncated or corrupt" in line and "incompatible ganvae" in line


@pytest.mark.parametrize("raw", [b"not a checkpoint", b"\x80\x43" + bytes(range(200)), b"PK\x03\x04" + bytes(100)],
                         ids=["text", "odd-pickle-protocol", "broken-zip"])
def test_sample_from_a_file_that_is_not_a_checkpoint_is_one_line(tmp_path, cli, tools, raw, recwarn):
    path = tmp_path / "model.pt"
    path.write_bytes(raw)
    code, out, err = cli("sample", path, "-o", tmp_path / "s.npy")
    assert code == 1 and str(path) in tools.one_line(err)
    assert not [str(w.message) for w in recwarn], "a warning would be a second line on stderr"
    assert not (tmp_path / "s.npy").exists()
