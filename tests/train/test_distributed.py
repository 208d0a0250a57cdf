"""Training on two processes with torchrun (gloo on CPU): the ranks stay identical, the sharded global batch gives
the gradients of one process, one run folder is written, a resume on two processes is exact, and a rank that dies
leaves the other with one line and a resumable run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from ganvae.errors import ConfigError
from ganvae.train.checkpoint import latest_valid_checkpoint, load_checkpoint
from ganvae.train.distributed import World, check_gpus_per_process, rank_seed
from ganvae.train.loop import batches_per_epoch

ROOT = Path(__file__).resolve().parents[2]


def torchrun(*args, nproc: int = 2, check: bool = True, timeout: float = 180, **popen) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node N ARGS` with this interpreter, one thread per process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               *map(str, args)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, **popen)
    if check and result.returncode != 0:
        raise AssertionError(f"torchrun failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def lines_of(stream: str) -> list[str]:
    """Output lines without torchrun's own banner about OMP_NUM_THREADS."""
    return [line for line in stream.splitlines() if line.strip() and not line.startswith("*")
            and "OMP_NUM_THREADS" not in line]


# A family with no noise at all (an autoencoder of 2-D points), so that two ranks sharing each global batch
# must give the single process's gradients up to rounding.
SHARDING_SCRIPT = textwrap.dedent("""
    import sys
    import torch
    from torch import nn
    import torch.nn.functional as F
    from ganvae.config import RunConfig, OptimConfig, BudgetConfig
    from ganvae.families.base import Family, Phase
    from ganvae.train.distributed import World
    from ganvae.train.loop import fit

    class AutoEncoder(Family):
        name = "autoencoder"

        def __init__(self):
            super().__init__(None, "vector", (2,), 2, 16)
            self.nets["net"] = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))

        def phases(self):
            return [Phase("net", ("net",), lambda b: {"loss": F.mse_loss(self.nets["net"](b.x), b.x)})]

    world = World.from_env(torch.device("cpu"))
    torch.manual_seed(0)
    x = torch.randn(1000, 2)  # 15 batches of 64 and a last one of 40 (20 per rank)
    family = AutoEncoder()
    cfg = RunConfig(optim=OptimConfig(lr=1e-2, betas=(0.9, 0.999), batch_size=64),
                    budget=BudgetConfig(steps=40), precision="fp32")
    state = fit(family, x, cfg, progress=False)
    torch.save({"params": [p.detach() for p in family.parameters()], "images_seen": state.images_seen},
               f"{sys.argv[1]}-{world.rank}.pt")
""")


def test_two_ranks_share_each_batch_and_give_the_gradients_of_one_process(tmp_path):
    script = tmp_path / "sharding.py"
    script.write_text(SHARDING_SCRIPT)
    torchrun(script, tmp_path / "ddp")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    subprocess.run([sys.executable, str(script), str(tmp_path / "single")], env=env, check=True, timeout=120)
    rank0, rank1 = (torch.load(tmp_path / f"ddp-{r}.pt") for r in (0, 1))
    single = torch.load(tmp_path / "single-0.pt")
    for a, b in zip(rank0["params"], rank1["params"]):
        assert torch.equal(a, b)  # DDP keeps the ranks' weights bit-identical
    # The same global batches (two and a half epochs, the short last batches included), as the sum of two halves:
    # equal to one process up to float rounding after 40 Adam steps.
    for a, b in zip(rank0["params"], single["params"]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert rank0["images_seen"] == single["images_seen"] == 2 * 1000 + 8 * 64  # 16 batches an epoch


def test_the_run_folder_is_written_once_and_a_resume_on_two_processes_is_exact(tmp_path):
    common = ["-m", "ganvae", "train", "vae", "--data", "ring8", "--arch", "mlp", "--batch-size", 64,
              "--checkpoint-every", 20, "--log-every", 10, "--no-progress"]
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    result = torchrun(*common, "--steps", 40, "--out", whole)
    out = lines_of(result.stdout)
    assert sum(line.startswith("trained VAE") for line in out) == 1, out  # rank 0 alone reports
    assert "40 steps, 2512 images" in result.stdout  # 2,000 examples an epoch and 8 global batches of 64
    assert (whole / "samples.png").is_file()
    log_rows = (whole / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log_rows] == ["step", "10", "20", "30", "40"]  # one writer
    torchrun(*common, "--steps", 20, "--out", halves)
    torchrun("-m", "ganvae", "train", "--resume", "--out", halves, "--steps", 40, "--no-progress")
    a, b = load_checkpoint(whole / "checkpoint.pt"), load_checkpoint(halves / "checkpoint.pt")
    assert a["world_size"] == 2 and len(a["rng_ranks"]) == 2
    assert not torch.equal(a["rng_ranks"][0]["torch"], a["rng_ranks"][1]["torch"])  # each rank its own noise
    for name, tensor in a["family_state"].items():
        assert torch.equal(tensor, b["family_state"][name]), name


def test_a_killed_rank_leaves_one_line_and_the_run_resumes(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "ganvae",
         "train", "gan", "--data", "ring8", "--arch", "mlp", "--steps", "1000000", "--checkpoint-every", "20",
         "--no-progress", "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, state, _ = latest_valid_checkpoint(out) if out.is_dir() else (None, None, [])
            if state is not None and state["train_state"]["step"] >= 20:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the run wrote no checkpoint within 120 s")
        workers = subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True, text=True).stdout.split()
        rank1 = [pid for pid in workers if "RANK=1" in Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b"\n")
                 .decode(errors="replace").splitlines()]
        assert len(rank1) == 1, workers
        os.kill(int(rank1[0]), signal.SIGKILL)
        _, stderr = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode != 0
    said = [line for line in stderr.splitlines() if line.startswith("ganvae:")]  # not torchrun's "ganvae FAILED"
    assert len(said) == 1, stderr[-3000:]
    # The survivor either finds its peer gone in a collective, or torchrun, seeing rank 1 die, stops it first with
    # SIGTERM (seen once in a full suite run): either way one line that says how to resume.
    assert ("another training process is gone" in said[0] or "interrupted" in said[0]) and "--resume" in said[0], said
    _, state, skipped = latest_valid_checkpoint(out)
    assert not skipped
    kept = int(state["train_state"]["step"])
    result = torchrun("-m", "ganvae", "train", "--resume", "--out", out, "--steps", kept + 10, "--no-progress")
    assert f"resumed from {out / 'checkpoint.pt'} (step {kept})" in result.stdout
    assert f"{kept + 10} steps" in result.stdout


def test_a_global_batch_the_ranks_cannot_share_is_one_line():
    with pytest.raises(ConfigError, match=r"--batch-size 65 is the global batch .* 2 processes .* such as 64 or 66"):
        World(0, 2).share(65)
    assert World(1, 4).share(64) == 16
    assert World().share(65) == 65


def test_a_batch_the_ranks_cannot_share_is_said_once_by_rank_0_and_writes_nothing(tmp_path):
    # every rank meets the error; rank 0 says it, and the others wait until it has (torchrun stops them all as
    # soon as one exits)
    result = torchrun("-m", "ganvae", "train", "gan", "--data", "ring8", "--steps", 2, "--batch-size", 65,
                      "--no-progress", "--out", tmp_path / "run", check=False)
    assert result.returncode != 0
    assert [line for line in lines_of(result.stderr) if "error:" in line] == [
        "ganvae: error: --batch-size 65 is the global batch and 2 processes cannot share it equally; use a multiple "
        "of 2, such as 64 or 66"]
    assert "[rank1]" not in result.stderr and "[rank0]" not in result.stderr
    assert not (tmp_path / "run").exists()  # checked before rank 0 prepares the folder


@pytest.mark.parametrize("gpus, local_rank", [(1, "0"), (1, "1"), (2, "0")])
def test_more_processes_on_a_machine_than_gpus_is_one_line_on_every_rank(gpus, local_rank, monkeypatch):
    # every rank says it alike (rank 0 too, whose own GPU exists), so none waits for the others
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(gpus + 1))
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    with pytest.raises(ConfigError, match=rf"torchrun started {gpus + 1} processes on this machine but it has {gpus} "
                                          rf"CUDA GPUs?, and each process trains on a GPU of its own: use "
                                          rf"--nproc-per-node {gpus}, or train on the CPU with --device cpu"):
        check_gpus_per_process()
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(gpus))
    check_gpus_per_process()  # one process per GPU: fine


def test_the_last_short_batch_is_kept_only_when_every_rank_gets_two_examples():
    assert batches_per_epoch(1000, 64) == 16  # 40 left over
    assert batches_per_epoch(1000, 64, ranks=2) == 16  # 20 each
    assert batches_per_epoch(1000, 64, ranks=32) == 15  # 1 each: too few for batch norm


def test_each_rank_draws_its_own_noise_seed():
    seeds = {rank_seed(seed, rank) for seed in range(4) for rank in range(8)}
    assert len(seeds) == 32


def test_compare_under_torchrun_is_one_line_pointing_to_workers_and_shards(monkeypatch, tmp_path):
    import ganvae
    from ganvae.comparison import compare

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match=r"not run under torchrun: .* --workers N .* --shard I/N"):
        compare(ganvae.CompareConfig(data=ganvae.DataConfig(name="ring8")), tmp_path / "cmp")
    assert not (tmp_path / "cmp").exists()
