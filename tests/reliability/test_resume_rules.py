"""What `train --resume` continues, starts, applies and refuses: the same full command can be repeated after a
kill at any moment; flags that contradict the saved run are refused naming the saved value; a new budget,
learning rate or device is applied and said; path data is found from any working folder, and only the same
examples (by checksum) are accepted; a hand-edited config.json is one line naming the key."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ganvae.train.checkpoint import LATEST, load_checkpoint
from ganvae.train.lock import LOCK_NAME

STEPS = ["--steps", "6", "--checkpoint-every", "3"]


def full_command(tools, run_dir, *extra):
    return ["train", "gan", *tools.TOY, *STEPS, "--out", run_dir, "--resume", *extra]


def step_of(run_dir) -> int:
    return load_checkpoint(run_dir / LATEST)["train_state"]["step"]


def test_the_full_command_with_resume_starts_a_run_where_there_is_none(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "not-yet" / "run"
    code, out, err = cli(*full_command(tools, run_dir))
    assert code == 0, err
    assert out.splitlines()[0] == f"nothing to resume in {run_dir}: started a new run there"
    assert step_of(run_dir) == 6
    code, out, err = cli(*full_command(tools, run_dir))  # again: the finished run is resumed, nothing changes
    assert code == 0 and out.splitlines()[0] == f"resumed from {run_dir / LATEST} (step 6)", err
    assert "applied" not in out and step_of(run_dir) == 6


def test_the_full_command_starts_in_a_folder_a_killed_start_left_with_a_dead_owners_lock(tmp_path, cli, tools,
                                                                                          no_figures):
    run_dir = tmp_path / "run"
    run_dir.mkdir()  # what a kill after the folder was made and locked leaves: the folder and the lock's owner
    (run_dir / LOCK_NAME).write_text(json.dumps({"pid": 2**22 + 7, "host": os.uname().nodename,
                                                 "what": "ganvae train gan"}))
    (run_dir / "data.json").write_text("{}")  # killed between data.json and config.json
    code, out, err = cli(*full_command(tools, run_dir))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"took over the lock of process {2**22 + 7}") and "no longer running" in lines[0]
    assert lines[1] == f"nothing to resume in {run_dir}: started a new run there"
    assert step_of(run_dir) == 6


def test_a_folder_with_config_but_no_checkpoint_is_trained_from_step_0_by_the_same_command(tmp_path, cli, tools,
                                                                                            no_figures):
    run_dir = tmp_path / "run"
    assert cli(*full_command(tools, run_dir))[0] == 0
    for name in run_dir.glob("checkpoint*.pt"):
        name.unlink()
    (run_dir / "log.csv").unlink()
    code, out, err = cli(*full_command(tools, run_dir))
    assert code == 0 and "no checkpoint was written before the run stopped: trained again from step 0" in out, err
    assert step_of(run_dir) == 6


def test_resume_alone_with_nothing_there_keeps_its_error_and_makes_no_folder(tmp_path, cli, tools):
    run_dir = tmp_path / "missing"
    code, out, err = cli("train", "--resume", "--out", run_dir)
    assert code == 1 and f"{run_dir} is not a folder" in tools.one_line(err)
    assert not run_dir.exists()
    code, out, err = cli("train", "--resume", "--out", run_dir, "--data", "ring8")  # no family: not a full spec
    assert code == 1 and not run_dir.exists()


@pytest.mark.parametrize("flags,named", [
    (["vae"], "holds a GAN run, not a VAE"),
    (["gan", "--arch", "seed"], "--arch seed contradicts the run in RUN, which was trained with --arch mlp"),
    (["gan", "--hidden", "32"], "--hidden 32 contradicts the run in RUN, which was trained with --hidden 16"),
    (["gan", "--batch-size", "64"], "--batch-size 64 contradicts the run in RUN, which was trained with "
                                    "--batch-size 32"),
    (["gan", "--seed", "3"], "--seed 3 contradicts the run in RUN, which was trained with --seed 0"),
    (["gan", "--latent-dim", "5"], "--latent-dim 5 contradicts"),
    (["gan", "--n-examples", "500"], "--n-examples 500 contradicts the run in RUN, which was trained with "
                                    "--n-examples None"),
    (["gan", "--data", "moons"], "is not the data the run in RUN was trained on"),
], ids=["family", "arch", "hidden", "batch-size", "seed", "latent-dim", "n-examples", "data"])
def test_a_flag_that_contradicts_the_saved_run_is_refused_and_nothing_changes(tmp_path, cli, tools, no_figures,
                                                                                flags, named):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, *STEPS, "--out", run_dir)[0] == 0
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != LOCK_NAME}
    family, rest = flags[0], flags[1:]
    argv = ["train", family, "--resume", "--out", run_dir, "--steps", "9", "--no-progress", *rest]
    if "--data" not in rest:
        argv += ["--data", "ring8"]
    code, out, err = cli(*argv)
    line = tools.one_line(err)
    assert code == 2 and named.replace("RUN", str(run_dir)) in line, line
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != LOCK_NAME} == before


def test_a_new_budget_lr_and_device_are_applied_and_said(tmp_path, cli, tools, no_figures):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, *STEPS, "--out", run_dir)[0] == 0
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", "9", "--lr", "0.001", "--device", "cpu",
                         "--no-progress")
    assert code == 0, err
    assert "applied budget --steps 9 (was --steps 6)" in out and "applied --lr 0.001 (was 0.0002)" in out
    state = load_checkpoint(run_dir / LATEST)
    assert state["train_state"]["step"] == 9 and state["config"]["optim"]["lr"] == 0.001
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["optim"]["lr"] == 0.001 and saved["budget"]["steps"] == 9 and saved["device"] == "cpu"


def _csv(path, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.random.default_rng(seed).normal(size=(64, 2)), delimiter=",")
    return path


def test_path_data_is_found_from_any_folder_and_moved_data_is_accepted_by_checksum(tmp_path, cli, tools,
                                                                                     no_figures, monkeypatch):
    data = _csv(tmp_path / "a" / "ok.csv", seed=0)
    run_dir = tmp_path / "run"
    monkeypatch.chdir(tmp_path / "a")
    assert cli("train", "gan", "--data", "ok.csv", *tools.TOY[2:], *STEPS, "--out", run_dir)[0] == 0
    assert json.loads((run_dir / "config.json").read_text())["data"]["name"] == str(data.resolve())
    monkeypatch.chdir(tmp_path)  # another working folder
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", "8", "--no-progress")
    assert code == 0 and "8 steps" in out, err
    code, out, err = cli("evaluate", run_dir, "-n", "40")
    assert code == 0 and json.loads((run_dir / "metrics.json").read_text())["data"] == "ok.csv", err

    moved = tmp_path / "b" / "moved.csv"
    moved.parent.mkdir()
    data.rename(moved)
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", "9", "--no-progress", "--data", moved)
    assert code == 0, err
    assert f"applied --data {moved} (was {data}; the same examples by checksum)" in out
    assert json.loads((run_dir / "config.json").read_text())["data"]["name"] == str(moved)

    other = _csv(tmp_path / "c" / "moved.csv", seed=1)  # the same shape, other numbers
    before = (run_dir / LATEST).read_bytes()
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", "10", "--no-progress", "--data", other)
    assert code == 2 and "sha256 differs from data.json's" in tools.one_line(err)
    assert (run_dir / LATEST).read_bytes() == before


def test_a_folder_named_like_a_registered_set_stays_the_users_folder(tmp_path, cli, tools, no_figures,
                                                                       monkeypatch):
    from PIL import Image

    folder = tmp_path / "work" / "digits"  # the name of scikit-learn's 8x8 digits, which have the same shape
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(folder / f"{i}.png")
    run_dir = tmp_path / "run"
    monkeypatch.chdir(tmp_path / "work")
    code, out, err = cli("train", "vae", "--data", "./digits", "--batch-size", "20", "--hidden", "8",
                         "--device", "cpu", "--no-progress", *STEPS, "--out", run_dir)
    assert code == 0, err
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("train", "--resume", "--out", run_dir, "--steps", "8", "--no-progress")
    assert code == 0, err
    info = json.loads((run_dir / "data.json").read_text())
    assert info["source"] == str(folder.resolve()) and info["n_examples"] == 40  # sklearn's digits have 1437
    import ganvae

    assert ganvae.load(run_dir).config_.data.name == str(folder.resolve())


def test_the_advised_command_names_path_data_by_its_absolute_path():
    from ganvae.report.advise import advise

    runs = [{"family": family, "arch": "mlp", "config": {"data": {"name": "/data/sets/ok.csv"}}}
            for family in ("gan", "vae")]
    summary = {"data": {"name": "ok.csv"}, "families": ["gan", "vae"], "runs": runs, "budget": {"minutes": 1}}
    advice = advise(["encoder"], summary)
    assert "--data /data/sets/ok.csv" in advice.settings["command"]


def _edit(section, key, value):
    def edit(config):
        if section is None:
            config[key] = value
        elif key is None:
            config[section] = value
        else:
            config[section][key] = value
    return edit


@pytest.mark.parametrize("edit,named", [
    (_edit("optim", "lr", None), "optim.lr is null"),
    (_edit("optim", "batch_size", None), "optim.batch_size is null"),
    (_edit("model", "hidden", None), "model.hidden is null"),
    (_edit("model", "latent_dim", None), "model.latent_dim is null"),
    (_edit("optim", "lr", [0.001]), "optim.lr must be a positive number, not [0.001]"),
    (_edit("optim", "lr", True), "optim.lr must be a positive number, not True"),
    (_edit("model", "hidden", [16]), "model.hidden must be a whole number >= 1, not [16]"),
    (_edit("data", "name", 5), "data.name must be a dataset name or a path, not 5"),
    (_edit("model", "arch", ["mlp"]), "model.arch must be an architecture name"),
    (_edit("data", "download", "yes"), "data.download must be true or false"),
    (_edit("budget", None, {"epochs": None, "steps": None, "minutes": None}), "budget has no limit"),
], ids=["null-lr", "null-batch", "null-hidden", "null-latent", "list-lr", "bool-lr", "list-hidden", "number-name",
        "list-arch", "text-download", "no-budget"])
def test_a_hand_edited_config_is_one_line_naming_the_key(tmp_path, cli, tools, no_figures, edit, named):
    run_dir = tmp_path / "run"
    assert cli("train", "gan", *tools.TOY, *STEPS, "--out", run_dir)[0] == 0
    config = json.loads((run_dir / "config.json").read_text())
    edit(config)
    (run_dir / "config.json").write_text(json.dumps(config))
    code, out, err = cli("train", "--resume", "--out", run_dir, "--no-progress")
    line = tools.one_line(err)
    assert code == 2 and "config.json" in line and named in line, line
