"""A run survives SIGKILL at any moment: every resume succeeds, loses at most one checkpoint interval, and the
finished run's weights equal those of a run that was never interrupted (CPU, fixed seed)."""

from __future__ import annotations

import csv
import json
import math
import random
import signal
import time

import pytest
import torch

import ganvae
from ganvae.train.checkpoint import latest_valid_checkpoint

STEPS, EVERY = 600, 25  # the run's budget and its checkpoint interval
MIN_KILLS = 10
PLAN_SEED = 5  # the random moments are drawn from this seed, so a failure can be replayed
# Where each trial's process is killed: `progress` a random number of steps (1-40) into training, `launch`
# a random time (0-0.3 s) after the process starts (parsing, loading data and the checkpoint, trimming the
# log), and `stall:*` inside a checkpoint write (see train_runner.py).
PLAN = ["progress"] * 8 + ["launch"] * 2 + ["stall:write", "stall:rotate", "stall:swap"]


def _resumable_step(run_dir) -> int:
    """The step a resume would continue from: 0 for a run killed before its first checkpoint."""
    path, state, skipped = latest_valid_checkpoint(run_dir)
    assert not skipped, f"a kill left a damaged checkpoint: {skipped}"
    return int(state["train_state"]["step"]) if state is not None else 0


def _log_rows(run_dir) -> list[dict[str, str]]:
    with open(run_dir / "log.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def kill_chain(tmp_path, tools, fork, plan_seed: int) -> list[dict]:
    """Start a run, SIGKILL it at the moments the plan draws, resume after each kill; then finish it and compare
    it with an uninterrupted run. Returns the kills: kind, step reached, step resumed from."""
    rng = random.Random(plan_seed)
    plan = list(PLAN)
    rng.shuffle(plan)
    args = [*tools.TOY, "--steps", STEPS, "--checkpoint-every", EVERY, "--log-every", 1, "--seed", 3]
    base_dir, run_dir = tmp_path / "uninterrupted", tmp_path / "killed"
    # The reference run and the last resume are ordinary `python -m ganvae` processes; the killed ones are
    # forked from a server that has imported torch already (each costs no interpreter start-up).
    baseline = tools.spawn("train", "gan", *args, "--out", base_dir)

    trials = []
    for trial, kind in enumerate(plan):
        started = (run_dir / "config.json").exists()  # a kill during start-up may leave no run to resume
        argv = (["train", "--resume", "--out", run_dir, "--no-progress"] if started
                else ["train", "gan", *args, "--out", run_dir])
        logged_before = tools.last_logged_step(run_dir)
        marker = tmp_path / f"stalled-{trial}"
        stall = f"{kind.split(':')[1]}:2:{marker}" if kind.startswith("stall") else None
        proc = fork(*argv, stall=stall)
        if kind == "progress":
            target = logged_before + rng.randint(1, 40)
            reached = tools.wait_for(lambda: tools.last_logged_step(run_dir) >= target, 120, proc)
            time.sleep(rng.uniform(0, 0.02))
        elif kind == "launch":  # at a random moment of start-up: arguments, data, checkpoint loading, log
            tools.wait_for(lambda: False, rng.uniform(0, 0.3), proc)
            reached = True
        else:
            reached = tools.wait_for(marker.exists, 120, proc)
        if not reached or proc.poll() is not None:
            code = proc.kill() if proc.poll() is None else proc.poll()
            out, err = proc.output()
            raise AssertionError(f"trial {trial} ({kind}): the process ended or stalled before the kill "
                                 f"(exit {code}):\n{out}\n{err}")
        assert proc.kill() == -signal.SIGKILL
        progress = tools.last_logged_step(run_dir)  # steps done when killed (log_every 1: at most 1 more)
        resumable = _resumable_step(run_dir)
        assert resumable >= progress - EVERY, (
            f"trial {trial} ({kind}): killed at step {progress}, but the newest valid checkpoint is step "
            f"{resumable}: more than one interval ({EVERY}) lost")
        trials.append({"kind": kind, "resumed": started, "killed_at": progress, "resumes_at": resumable})

    started = (run_dir / "config.json").exists()
    final = tools.spawn(*(["train", "--resume", "--out", run_dir, "--no-progress"] if started
                          else ["train", "gan", *args, "--out", run_dir]))
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert f"{STEPS} steps" in out and (not started or f"(step {trials[-1]['resumes_at']})" in out), out
    out, err = baseline.communicate(timeout=300)
    assert baseline.returncode == 0, err

    assert len(trials) >= MIN_KILLS
    assert {t["kind"] for t in trials} >= {"progress", "launch", "stall:write", "stall:rotate", "stall:swap"}
    killed, whole = ganvae.load(run_dir), ganvae.load(base_dir)
    killed_weights, whole_weights = killed.family_.state_dict(), whole.family_.state_dict()
    assert killed_weights.keys() == whole_weights.keys()
    different = [k for k in whole_weights if not torch.equal(killed_weights[k], whole_weights[k])]
    assert not different, f"after {len(trials)} kills these weights differ from an uninterrupted run: {different}"
    assert _log_rows(run_dir) == _log_rows(base_dir), "log.csv differs from the uninterrupted run's"
    assert json.loads((run_dir / "status.json").read_text())["state"] == "finished"
    assert not list(run_dir.glob(".checkpoint.pt.tmp-*")), "a killed writer's temporary file was left behind"
    return trials


def _summary(trials: list[dict]) -> str:
    from collections import Counter

    lost = [t["killed_at"] - t["resumes_at"] for t in trials]
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(Counter(t["kind"] for t in trials).items()))
    fresh = sum(not t["resumed"] for t in trials)
    return (f"{len(trials)} SIGKILLs ({kinds}; {fresh} of a process starting a new run); steps lost per kill: "
            f"max {max(lost)}, mean {sum(lost) / len(lost):.1f} (interval {EVERY})")


def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path, tools, fork):
    print("\n" + _summary(kill_chain(tmp_path, tools, fork, PLAN_SEED)))


@pytest.mark.slow
@pytest.mark.parametrize("plan_seed", range(100, 105))
def test_more_kill_plans(tmp_path, tools, fork, plan_seed):
    print("\n" + _summary(kill_chain(tmp_path, tools, fork, plan_seed)))


IDEMPOTENT_KILLS = 6
IDEMPOTENT_SEED = 1  # draws 3 ms, 1.4 s, 0.7 s, 9 ms, 68 ms, 46 ms


def _folder_state(run_dir) -> str:
    if not run_dir.exists():
        return "no folder"
    if not (run_dir / "config.json").exists():
        return "folder, no config"
    return "config, no checkpoint" if _resumable_step(run_dir) == 0 and not (run_dir / "checkpoint.pt").exists() \
        else "checkpoint"


def test_the_same_resume_command_finishes_after_a_kill_at_any_moment_of_start_up(tmp_path, tools, fork):
    """A scheduler re-runs a pre-empted job with the same command: `train gan --data ... --out R --resume`.
    Killed at moments drawn log-uniformly over 1 ms to 5 s (so start-up is hit at every scale: the folder not
    made yet, made but holding no config, holding a config but no checkpoint), every rerun succeeds and the run
    finishes."""
    rng = random.Random(IDEMPOTENT_SEED)
    run_dir = tmp_path / "jobs" / "run"
    command = ["train", "gan", *tools.TOY, "--steps", 150, "--checkpoint-every", 50, "--out", run_dir, "--resume"]
    states = []
    for trial in range(IDEMPOTENT_KILLS):
        proc = fork(*command)
        tools.wait_for(lambda: False, 10 ** rng.uniform(-3, math.log10(5)), proc)
        state = _folder_state(run_dir)
        code = proc.kill() if proc.poll() is None else proc.wait()
        out, err = proc.output()
        assert code in (0, -signal.SIGKILL), f"trial {trial} ({state}): exit {code}\n{out}\n{err}"
        states.append(state)
    final = fork(*command)
    code = final.wait()
    out, err = final.output()
    assert code == 0, f"after kills in states {states}: exit {code}\n{out}\n{err}"
    assert "150 steps" in out and ("resumed from" in out or "started a new run" in out
                                   or "trained again from step 0" in out), out
    assert json.loads((run_dir / "status.json").read_text())["state"] == "finished"
    assert _resumable_step(run_dir) == 150
    print(f"\nkilled in these states: {states}")
