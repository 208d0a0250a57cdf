"""`compare --workers N` and `compare --shard I/N` give the numbers of the runs trained one after another; bad values
are one line; a failed run in a worker is one line and the other runs are kept."""

import contextlib
import json

import pytest

from ganvae.comparison import DONE, claim_compare_config, compare, grid
from ganvae.config import BudgetConfig, CompareConfig, DataConfig, ModelConfig, RunConfig, Shard, parse_shard
from ganvae.errors import ConfigError, RunError
from ganvae.train.lock import FolderLock
from ganvae.sizes import available_cpus
from ganvae.workers import plan_slots, usable_cores


def small(**kw):
    kw.setdefault("budget", BudgetConfig(steps=8))
    kw.setdefault("seeds", 1)
    return CompareConfig(data=DataConfig(name="ring8", n_examples=400), n_eval=200, iw_samples=20, nll_examples=50,
                         **kw)


def by_run(summary):
    return {(run["family"], run["seed"]): run for run in summary["runs"]}


@contextlib.contextmanager
def threads_of_a_worker(workers=2):
    """torch in this process with the threads that each of `workers` workers gets: torch's sums round by thread
    count, which can steer a GAN's training elsewhere, so runs are equal only with equal threads."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(plan_slots(workers, usable_cores(), available_cpus())[0].threads)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def one_after_another(tmp_path_factory):
    with threads_of_a_worker():
        summary, _ = compare(small(), tmp_path_factory.mktemp("sequential"), progress=False, say=lambda _: None)
    return summary


def test_two_workers_give_the_numbers_of_the_runs_one_after_another(one_after_another, tmp_path):
    said = []
    summary, paths = compare(small(), tmp_path, progress=False, say=said.append, workers=2)
    assert paths["html"].exists()
    sequential, parallel = by_run(one_after_another), by_run(summary)
    # the trained runs, and the VAE's entry sampled from its fitted mixture (compare's default prior="both")
    assert [(r["family"], r["seed"]) for r in summary["runs"]] == [("gan", 0), ("vae+gmm", 0), ("vae", 0)]
    for key, run in sequential.items():
        other = parallel[key]
        assert [(p["step"], p["images_seen"]) for p in other["curve"]] == [(p["step"], p["images_seen"])
                                                                             for p in run["curve"]]
        assert other["metrics"] == run["metrics"], key
    assert any("2 worker processes" in line for line in said)
    assert sorted(line.split("]")[0] for line in said if "] done:" in line) == ["[gan seed 0", "[vae seed 0"]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    out = tmp_path_factory.mktemp("sharded")
    with threads_of_a_worker():
        parts = [compare(small(), out, progress=False, say=lambda _: None, shard=f"{i}/2") for i in (1, 2)]
    return out, parts


def test_shards_train_their_part_and_write_no_report(sharded):
    out, (first, second) = sharded
    assert first.cells == (("gan", 0),) and second.cells == (("vae", 0),)
    assert all((out / "runs" / f"{family}-seed{seed}" / DONE).exists() for family, seed in first.cells + second.cells)
    assert not (out / "report.html").exists() and not (out / "summary.json").exists()


def test_after_the_shards_a_plain_compare_trains_nothing_and_reports_the_same_numbers(sharded, one_after_another):
    out, _ = sharded
    checkpoints = {path: path.stat().st_mtime_ns for path in (out / "runs").glob("*/checkpoint.pt")}
    said = []
    summary, paths = compare(small(), out, progress=False, say=said.append)
    assert len(checkpoints) == 2 and {p: p.stat().st_mtime_ns for p in checkpoints} == checkpoints
    assert sum("reusing" in line for line in said) == 2
    assert paths["html"].exists()
    assert {key: run["metrics"] for key, run in by_run(summary).items()} == \
        {key: run["metrics"] for key, run in by_run(one_after_another).items()}


def test_a_shard_with_other_settings_than_the_comparison_in_out_is_refused(sharded):
    out, _ = sharded
    with pytest.raises(ConfigError, match=r"other settings \(budget.steps 8 \(this shard: 9\)\)"):
        compare(small(budget=BudgetConfig(steps=9)), out, progress=False, say=lambda _: None, shard="1/2")


def test_compare_config_is_written_once_and_never_replaced(tmp_path):
    claim_compare_config(tmp_path, small(families=("gan", "vae")))
    claim_compare_config(tmp_path, small(families=("gan", "vae")))  # identical: accepted
    with pytest.raises(ConfigError, match=r"seeds 1 \(this shard: 3\)"):
        claim_compare_config(tmp_path, small(families=("gan", "vae"), seeds=3))
    assert json.loads((tmp_path / "compare-config.json").read_text())["seeds"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["compare-config.json"]  # no temporary file left


def test_shards_cut_the_grid_into_contiguous_parts_that_cover_it_once():
    cells = grid(small(families=("gan", "vae", "wgan-gp"), seeds=3))
    assert cells[:4] == [("gan", 0), ("vae", 0), ("wgan-gp", 0), ("gan", 1)]  # seed-major
    for count in (1, 2, 4, 9, 12):
        parts = [Shard(index, count).part(cells) for index in range(1, count + 1)]
        assert [cell for part in parts for cell in part] == cells
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_shards_share_the_folder_lock_and_a_whole_comparison_does_not():
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        first, second = FolderLock(folder, "shard 1/2", shared=True), FolderLock(folder, "shard 2/2", shared=True)
        first.acquire()
        second.acquire()
        with pytest.raises(RunError, match="in use"):
            FolderLock(folder, "ganvae compare").acquire()
        first.release()
        second.release()
        with FolderLock(folder, "ganvae compare"):
            with pytest.raises(RunError, match=r"in use by process \d+ .*\(ganvae compare"):
                FolderLock(folder, "shard 1/2", shared=True).acquire()


def test_workers_get_contiguous_cores_or_share_them():
    assert [(s.cores, s.threads) for s in plan_slots(2, (0, 1, 2, 3), 4)] == [((0, 1), 2), ((2, 3), 2)]
    assert [s.threads for s in plan_slots(2, (0, 1, 2, 3), 2)] == [1, 1]  # a CPU quota of 2 cores
    assert [s.cores for s in plan_slots(3, (4, 5), 2)] == [(4,), (5,), (4,)]
    assert [s.gpu for s in plan_slots(3, (0, 1, 2), 3, ["2", "5"])] == ["2", "5", "2"]


@pytest.mark.parametrize("flag, value", [("--workers", "0"), ("--workers", "two"), ("--shard", "5/4"),
                                         ("--shard", "0/4"), ("--shard", "2"), ("--shard", "a/b")])
def test_a_bad_workers_or_shard_value_is_one_line_naming_the_flag(flag, value, cli, tmp_path):
    code, _, err = cli("compare", "--data", "ring8", "--images", "256", "--out", tmp_path / "cmp", flag, value)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and flag in lines[0] and "Traceback" not in err
    assert not (tmp_path / "cmp" / "runs").exists()


def test_parse_shard_accepts_i_of_n():
    assert parse_shard(" 3/4 ") == Shard(3, 4) and str(parse_shard("1/1")) == "1/1"


def test_a_failed_run_in_a_worker_is_one_line_the_others_are_kept(cli, tmp_path):
    out = tmp_path / "cmp"
    planted = out / "runs" / "vae-seed0"
    planted.mkdir(parents=True)
    (planted / "config.json").write_text(json.dumps(RunConfig(model=ModelConfig(family="gan")).to_dict()))
    code, stdout, err = cli("compare", "--data", "ring8", "--n-examples", "400", "--images", "1024",
                            "--seeds", "1", "-n", "200", "--iw-samples", "20", "--nll-examples", "50",
                            "--device", "cpu", "--no-progress", "--workers", "3", "--out", out)
    assert code == 2
    assert "--workers 3: only 2 runs to train, so 2 worker processes" in stdout
    failed = [line for line in stdout.splitlines() if "failed" in line]
    assert len(failed) == 1 and failed[0].startswith("[vae seed 0] failed: ") and "family gan" in failed[0]
    assert err.strip().splitlines() == [err.strip()] and "1 of 2 runs failed (vae seed 0" in err
    assert (out / "runs" / "gan-seed0" / DONE).exists()
