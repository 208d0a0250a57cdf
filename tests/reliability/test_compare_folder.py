"""`ganvae compare` and the folder it writes: it deletes only what ganvae wrote, refuses a folder it did not make,
lets one process write the folder at a time, and adopts no run that it would not have trained itself."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganvae.cli import main

# A comparison that takes seconds: one family, one seed, 4 steps of batches of 128 on 200 points of ring8.
SMALL = ["--data", "ring8", "--n-examples", "200", "--families", "gan", "--images", "512", "--seeds", "1",
         "-n", "100", "--iw-samples", "10", "--nll-examples", "20", "--device", "cpu", "--no-progress"]


def compare_args(out: Path, *extra: str) -> list[str]:
    return ["compare", *SMALL, *extra, "--out", str(out)]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A complete small comparison; tests change copies of it."""
    out = tmp_path_factory.mktemp("finished") / "cmp"
    assert main(compare_args(out)) == 0
    return out


@pytest.fixture
def comparison(finished, tmp_path) -> Path:
    copy = tmp_path / "cmp"
    shutil.copytree(finished, copy)
    return copy


def _png(path: Path, value: int = 7) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 6), value, np.uint8)).save(path)
    return path.read_bytes()


# --- deleting only what ganvae wrote ---------------------------------------------------------------------------

def test_a_rewritten_report_keeps_files_it_did_not_write_and_removes_its_own_stale_figures(comparison, cli):
    figures = comparison / "figures"
    mine = _png(figures / "my-plot.png")
    (figures / "notes.txt").write_text("my notes")
    # A figure an earlier report wrote (it is in the manifest) and this one no longer uses: removed.
    manifest = json.loads((comparison / "report-files.json").read_text())
    _png(figures / "gan-seed7-samples.png")
    manifest["figures"].append("figures/gan-seed7-samples.png")
    manifest["figures"].append("../outside.png")  # never a path outside figures/
    (comparison / "report-files.json").write_text(json.dumps(manifest))
    (comparison / "outside.png").write_bytes(b"kept")

    code, out, err = cli(*compare_args(comparison))
    assert code == 0, err
    assert (figures / "my-plot.png").read_bytes() == mine
    assert (figures / "notes.txt").read_text() == "my notes"
    assert (comparison / "outside.png").read_bytes() == b"kept"
    assert not (figures / "gan-seed7-samples.png").exists()
    listed = json.loads((comparison / "report-files.json").read_text())["figures"]
    assert "figures/gan-seed0-samples.png" in listed and "figures/my-plot.png" not in listed
    assert all((comparison / name).is_file() for name in listed)


def test_a_run_folder_without_a_checkpoint_that_holds_a_users_files_is_refused_and_kept(comparison, cli, tools):
    run_dir = comparison / "runs" / "gan-seed0"
    shutil.rmtree(run_dir)
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("my notes")
    picture = _png(run_dir / "picture.png")

    code, out, err = cli(*compare_args(comparison))
    line = tools.one_line(err)
    assert code == 2
    assert str(run_dir) in line and "notes.txt" in line and "picture.png" in line
    assert (run_dir / "notes.txt").read_text() == "my notes" and (run_dir / "picture.png").read_bytes() == picture


def test_a_run_folder_killed_before_its_first_checkpoint_is_trained_again(comparison, cli):
    run_dir = comparison / "runs" / "gan-seed0"
    config = (run_dir / "config.json").read_text()
    shutil.rmtree(run_dir)
    run_dir.mkdir()
    # What a run killed between config.json and its first checkpoint leaves: only files ganvae writes.
    (run_dir / "config.json").write_text(config)
    (run_dir / "status.json").write_text('{"state": "running"}')
    (run_dir / ".checkpoint.pt.tmp-999999").write_bytes(b"half")

    code, out, err = cli(*compare_args(comparison))
    assert code == 0, err
    assert (run_dir / "checkpoint.pt").is_file() and not (run_dir / ".checkpoint.pt.tmp-999999").exists()
    assert json.loads((run_dir / "compare.json").read_text())["run"]["curve"][-1]["step"] == 4


def _hold_lock(folder, ready, release):
    from ganvae.train.lock import FolderLock

    with FolderLock(folder, "ganvae train"):
        ready.set()
        release.wait(60)


def test_a_run_folder_without_a_checkpoint_that_a_live_process_writes_is_not_removed(comparison, cli, tools):
    import multiprocessing

    run_dir = comparison / "runs" / "gan-seed0"
    config = (run_dir / "config.json").read_text()
    shutil.rmtree(run_dir)
    run_dir.mkdir()
    (run_dir / "config.json").write_text(config)  # a run just started by `ganvae train`, before step 0
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(run_dir, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        code, _, err = cli(*compare_args(comparison))
        line = tools.one_line(err)
        assert code == 1 and f"process {holder.pid}" in line and "ganvae train" in line
        assert (run_dir / "config.json").read_text() == config
    finally:
        release.set()
        holder.join(30)


def test_a_non_empty_out_that_is_not_a_comparison_is_refused(tmp_path, cli, tools):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "thesis.tex").write_text("\\documentclass{article}")
    _png(folder / "figures" / "plot.png")
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))

    code, out, err = cli(*compare_args(folder))
    line = tools.one_line(err)
    assert code == 2
    assert str(folder) in line and "not a ganvae comparison" in line
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before


# --- one writer ------------------------------------------------------------------------------------------------

def test_a_second_compare_on_the_same_out_fails_naming_the_first(tmp_path, cli, tools):
    out = tmp_path / "cmp"
    first_args = [a if a != "512" else "100000000" for a in compare_args(out)]  # trains long enough to meet
    first = subprocess.Popen([sys.executable, "-m", "ganvae", *first_args], cwd=tools.ROOT, env=tools.child_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lock = out / ".ganvae-lock"

        def holds_the_lock() -> bool:
            try:
                return json.loads(lock.read_text() or "{}").get("pid") == first.pid
            except (OSError, ValueError):
                return False

        assert tools.wait_for(holds_the_lock, timeout=180, proc=first, poll=0.05), first.stderr
        code, _, err = cli(*compare_args(out))
        line = tools.one_line(err)
        assert code == 1
        assert f"process {first.pid} on {socket.gethostname()}" in line and "ganvae compare" in line
        assert first.poll() is None  # the first comparison goes on
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(60)


def test_a_dead_comparisons_lock_is_taken_over_with_a_note(comparison, cli):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (comparison / ".ganvae-lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                                         "what": "ganvae compare"}))
    code, out, err = cli(*compare_args(comparison))
    assert code == 0, err
    assert f"took over the lock of process {dead.pid} on {socket.gethostname()}" in out
    assert (comparison / ".ganvae-lock").read_text() == ""  # released at the end


# --- adopting only runs it would have trained ------------------------------------------------------------------

def _edit_config(run_dir: Path, section: str, key: str, value) -> None:
    config = json.loads((run_dir / "config.json").read_text())
    config[section][key] = value
    (run_dir / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("train_flags, named", [
    (["--data", "moons", "--n-examples", "200", "--steps", "1"], "data moons (this comparison trains data ring8)"),
    (["--data", "ring8", "--n-examples", "200", "--arch", "seed", "--steps", "1"], "arch seed"),
    (["--data", "ring8", "--n-examples", "200", "--steps", "3"], "budget 3 steps"),
    (["--data", "ring8", "--n-examples", "200", "--steps", "1", "--seed", "5"], "seed 5"),
    (["--data", "ring8", "--n-examples", "200", "--steps", "1", "--batch-size", "64"], "batch_size 64"),
], ids=["data", "arch", "budget", "seed", "batch"])
def test_a_run_that_this_comparison_would_not_train_is_refused_not_resumed(tmp_path, cli, tools, no_figures,
                                                                            train_flags, named):
    out = tmp_path / "cmp"
    run_dir = out / "runs" / "gan-seed0"
    code, _, err = cli("train", "gan", *train_flags, "--out", run_dir, "--no-progress", "--device", "cpu")
    assert code == 0, err
    checkpoint = (run_dir / "checkpoint.pt").read_bytes()

    code, out_text, err = cli(*compare_args(out))
    line = tools.one_line(err)
    assert code == 2
    assert str(run_dir) in line and named in line
    assert (run_dir / "checkpoint.pt").read_bytes() == checkpoint  # neither resumed nor removed
    assert not (run_dir / "compare.json").exists()


def test_a_finished_run_whose_config_was_changed_is_not_reused(comparison, cli, tools):
    run_dir = comparison / "runs" / "gan-seed0"
    _edit_config(run_dir, "model", "arch", "seed")
    code, _, err = cli(*compare_args(comparison))
    assert code == 2
    assert "arch seed (this comparison trains arch mlp)" in tools.one_line(err)


def test_a_run_of_this_comparison_is_still_resumed(tmp_path, monkeypatch):
    """The check accepts what the comparison itself wrote: killed after its second segment, it resumes."""
    import ganvae.comparison as compare_module
    from ganvae.config import BudgetConfig, CompareConfig, DataConfig

    cfg = CompareConfig(data=DataConfig(name="ring8", n_examples=200), families=("gan",), budget=BudgetConfig(),
                        images=512, seeds=1, n_eval=100, iw_samples=10, nll_examples=20, device="cpu")
    real_score, calls = compare_module._score, []

    def dies_at_the_third_score(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_score(*args, **kwargs)

    monkeypatch.setattr(compare_module, "_score", dies_at_the_third_score)
    with pytest.raises(KeyboardInterrupt):
        compare_module.compare(cfg, tmp_path, progress=False, say=lambda _: None)
    monkeypatch.setattr(compare_module, "_score", real_score)
    summary, _ = compare_module.compare(cfg, tmp_path, progress=False, say=lambda _: None)
    assert [p["step"] for p in summary["runs"][0]["curve"]] == [1, 2, 3, 4]


def test_a_moved_comparison_is_continued_from_where_it_is_now(tmp_path, cli):
    # Trained with --prior normal, moved, then continued with the default prior: the VAE's fitted-prior entry is
    # scored from the moved run (the first folder is gone) and the summary names the moved folders.
    first, moved = tmp_path / "first", tmp_path / "elsewhere" / "cmp"
    args = [arg if arg != "gan" else "vae" for arg in SMALL]
    code, _, err = cli("compare", *args, "--prior", "normal", "--out", first)
    assert code == 0, err
    shutil.move(first, moved)
    code, out, err = cli("compare", *args, "--out", moved)
    assert code == 0, err
    assert "reusing" in out and str(first) not in out
    summary = json.loads((moved / "summary.json").read_text())
    assert summary["families"] == ["vae", "vae+gmm"]
    (run,) = [run for run in summary["runs"] if run["family"] == "vae"]
    assert run["run_dir"] == str(moved / "runs" / "vae-seed0")
    assert all(Path(path).is_file() and Path(path).is_relative_to(moved) for path in run["figures"].values())
    assert (moved / "runs" / "vae-seed0" / "metrics-gmm.json").is_file() and not first.exists()
