"""One writer per run folder: while a `ganvae train` runs, a second one into the same --out (new, --resume, or
the full command with --resume) is one line naming the running process, and touches none of its files; two
starts racing on a new folder never both train."""

from __future__ import annotations

import csv
import socket

import pytest

from ganvae.train.lock import LOCK_NAME


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("second", ["new", "resume", "full-resume"])
def test_a_second_writer_is_refused_naming_the_first_and_changes_nothing(tmp_path, cli, tools, fork, second):
    run_dir, marker = tmp_path / "run", tmp_path / "stalled"
    # The first process stops inside its second checkpoint write (step 10), holding the folder.
    first = fork("train", "gan", *tools.TOY, "--steps", "100", "--checkpoint-every", "10", "--out", run_dir,
                 stall=f"rotate:2:{marker}")
    try:
        assert tools.wait_for(marker.exists, 120, first), first.output()
        before = snapshot(run_dir)
        argv = {"new": ["train", "gan", *tools.TOY, "--steps", "5", "--out", run_dir],
                "resume": ["train", "--resume", "--out", run_dir, "--no-progress"],
                "full-resume": ["train", "gan", *tools.TOY, "--steps", "100", "--checkpoint-every", "10",
                                "--out", run_dir, "--resume"]}[second]
        code, out, err = cli(*argv)
        line = tools.one_line(err)
        assert code == 1, line
        assert f"is in use by process {first.pid} on {socket.gethostname()} (ganvae train gan" in line, line
        assert snapshot(run_dir) == before
        assert first.poll() is None
    finally:
        if first.poll() is None:
            first.kill()


def _logged_steps(run_dir) -> list[int]:
    with open(run_dir / "log.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def test_two_starts_racing_on_a_new_folder_never_both_train(tmp_path, tools, fork):
    run_dir = tmp_path / "new" / "run"
    argv = ["train", "gan", *tools.TOY, "--steps", "60", "--log-every", "5", "--out", run_dir, "--resume"]
    a, b = fork(*argv), fork(*argv)
    codes = [a.wait(), b.wait()]
    outputs = [a.output(), b.output()]
    # Either the second found the first still running (the lock: exit 1), or it came after and resumed the
    # finished run (exit 0, "resumed from"); never two runs writing one folder.
    started = [out for out, err in outputs if "started a new run" in out]
    assert len(started) == 1, outputs
    for code, (out, err) in zip(codes, outputs):
        # "in use by process PID on HOST", or "by another process" when the first holds the lock but has not yet
        # written who it is into the lock file
        assert code == 0 or (code == 1 and " is in use by " in tools.one_line(err)), (code, out, err)
    steps = _logged_steps(run_dir)
    assert steps == list(range(5, 61, 5)), steps
    assert (run_dir / LOCK_NAME).read_text() == ""  # released by whoever held it
