"""Inputs that used to stop `compare`, `evaluate` or `train` with the wrong advice or a traceback: data smaller
than a batch, a cache folder that cannot be written, a ';'-separated CSV, a text file named .npy, and a folder
that happens to be named like a registered dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

TINY_ROWS = 60


def _tiny_csv(folder: Path) -> Path:
    points = np.random.default_rng(0).normal(size=(TINY_ROWS, 2))
    path = folder / "tiny.csv"
    np.savetxt(path, points, delimiter=",", header="x,y", comments="")
    return path


def _tiny_npy(folder: Path) -> Path:
    path = folder / "tiny.npy"
    np.save(path, np.random.default_rng(1).normal(size=(TINY_ROWS, 3)).astype(np.float32))
    return path


# --- data smaller than a batch ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make_data", [_tiny_csv, _tiny_npy], ids=["csv", "npy"])
def test_compare_on_60_examples_trains_every_family_with_one_batch_size_and_says_so(tmp_path, cli, make_data):
    data = make_data(tmp_path)
    out = tmp_path / "cmp"
    code, stdout, err = cli("compare", "--data", data, "--images", "240", "--seeds", "1", "-n", "50",
                            "--iw-samples", "10", "--nll-examples", "20", "--device", "cpu", "--no-progress",
                            "--out", out)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    runs = {run["family"]: run for run in summary["runs"]}
    assert sorted(runs) == ["gan", "vae", "vae+gmm"]  # the VAE is also reported sampled from its fitted mixture
    assert {run["config"]["optim"]["batch_size"] for run in runs.values()} == {TINY_ROWS}
    # The same budget for both: 240 images are 4 steps of 60.
    assert {run["cost"]["images_seen"] for run in runs.values()} == {240}
    note = f"The training set has {TINY_ROWS} examples, fewer than the default batch of 128, so every family " \
           f"trained with batches of {TINY_ROWS}."
    assert note in summary["notes"]
    assert "batches of 60" in (out / "report.md").read_text()


def test_advise_on_60_examples_gives_a_train_command_that_runs(tmp_path, cli, monkeypatch, no_figures):
    import shlex

    data = _tiny_csv(tmp_path)
    out = tmp_path / "cmp"
    code, _, err = cli("compare", "--data", data, "--images", "240", "--seeds", "1", "-n", "50", "--iw-samples",
                       "10", "--nll-examples", "20", "--device", "cpu", "--no-progress", "--out", out)
    assert code == 0, err
    code, stdout, err = cli("advise", "--from", out, "--need", "encoder")
    assert code == 0, err
    (command,) = [line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("To train it:")]
    argv = shlex.split(command)
    assert argv[:3] == ["ganvae", "train", "vae"] and str(data.resolve()) in argv
    assert argv[argv.index("--batch-size") + 1] == str(TINY_ROWS) and argv[argv.index("--steps") + 1] == "4"
    monkeypatch.chdir(tmp_path / "cmp")  # the stored data path is absolute: it works from any folder
    code, stdout, err = cli(*argv[1:], "--out", tmp_path / "advised", "--no-progress", "--device", "cpu")
    assert code == 0, err
    assert "4 steps, 240 images" in stdout


def test_compare_keeps_each_familys_default_batch_when_the_data_holds_one():
    from ganvae.comparison import batch_sizes

    assert batch_sizes(("gan", "vae"), "mlp", 128) == ({"gan": 128, "vae": 128}, None)
    assert batch_sizes(("gan", "vae"), "seed", 5000) == ({"gan": 128, "vae": 100}, None)
    # The article's seed networks: the VAE's default is 100, the GAN's 128; on 110 examples both get 100.
    sizes, note = batch_sizes(("gan", "vae"), "seed", 110)
    assert sizes == {"gan": 100, "vae": 100} and "batches of 100" in note


# --- a cache that cannot be written ----------------------------------------------------------------------------

@pytest.fixture
def trained_run(tmp_path, cli, no_figures) -> Path:
    run_dir = tmp_path / "run"
    code, _, err = cli("train", "vae", "--data", "ring8", "--n-examples", "200", "--steps", "3", "--device", "cpu",
                       "--no-progress", "--out", run_dir)
    assert code == 0, err
    return run_dir


@pytest.mark.parametrize("variable", ["XDG_CACHE_HOME", "HOME"])
def test_evaluate_with_a_cache_under_a_file_computes_in_memory_with_one_note(trained_run, tmp_path, cli, tools,
                                                                             monkeypatch, variable):
    # A regular file where the cache folder's parent should be: mkdir fails even for root, unlike chmod.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    if variable == "HOME":
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv(variable, str(blocker / "inside"))
    code, stdout, err = cli("evaluate", trained_run, "-n", "100", "--iw-samples", "10", "--nll-examples", "20",
                            "--out", tmp_path / "unwritable-cache.json")
    assert code == 0, err
    line = tools.one_line(err)
    assert line.startswith("ganvae: note: cannot write the cache in ") and str(blocker) in line
    without_cache = json.loads((tmp_path / "unwritable-cache.json").read_text())["metrics"]

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "writable"))
    code, _, err = cli("evaluate", trained_run, "-n", "100", "--iw-samples", "10", "--nll-examples", "20",
                       "--out", tmp_path / "writable-cache.json")
    assert code == 0 and err == ""
    with_cache = json.loads((tmp_path / "writable-cache.json").read_text())["metrics"]
    assert without_cache["fid"] == pytest.approx(with_cache["fid"])
    assert without_cache["coverage"] == with_cache["coverage"]


def test_an_unwritable_cache_is_said_once_per_folder(tmp_path, capsys):
    from ganvae import storage as idx

    blocker = tmp_path / "file"
    blocker.write_text("")
    assert idx.write_cache_file(blocker / "stats" / "a.npz", b"1") is False
    assert idx.write_cache_file(blocker / "stats" / "b.npz", b"2") is False
    assert idx.cached_file(blocker / "stats" / "a.npz") is None
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert idx.write_cache_file(tmp_path / "ok" / "a.npz", b"3") is True
    assert idx.cached_file(tmp_path / "ok" / "a.npz") == tmp_path / "ok" / "a.npz"


def test_a_feature_network_is_used_from_memory_when_the_cache_cannot_be_written(tmp_path, monkeypatch, capsys):
    from ganvae.data import Dataset
    from ganvae.metrics.features import feature_extractor_for

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    images = torch.rand(16, 1, 8, 8)
    extractor = feature_extractor_for(Dataset(name="eight", x=images, kind="image", source="test"))
    assert extractor.info["source"] == "trained" and extractor.info["path"] is None
    features, _ = extractor.embed(images.numpy())
    assert features.shape == (16, 128) and np.isfinite(features).all()
    assert "cannot write the cache" in capsys.readouterr().err


# --- data files with a misleading message ----------------------------------------------------------------------

def test_a_semicolon_separated_csv_says_so_and_how_to_fix_it(tmp_path, cli, tools):
    path = tmp_path / "european.csv"
    path.write_text("x;y\n1,5;2,25\n3,0;4,75\n")
    code, stdout, err = cli("train", "gan", "--data", path, "--print-config")
    line = tools.one_line(err)
    assert code == 1 and stdout == ""
    assert str(path) in line and "seems to use ';'" in line and "sep=';'" in line


def test_a_comma_separated_csv_is_not_taken_for_a_semicolon_one(tmp_path):
    from ganvae.data import load_dataset

    path = tmp_path / "plain.csv"
    path.write_text("x,y\n1.5,2.25\n3.0,4.75\n")
    assert load_dataset(str(path)).shape == (2,)


@pytest.mark.parametrize("content, what", [(b"1,2\n3,4\n", "text"), (b"", "empty"),
                                           (b"\x80\x04K\x01.", "a Python pickle")], ids=["text", "empty", "pickle"])
def test_a_file_named_npy_that_is_not_a_numpy_array_says_so(tmp_path, cli, tools, content, what):
    path = tmp_path / "data.npy"
    path.write_bytes(content)
    code, _, err = cli("train", "gan", "--data", path, "--print-config")
    line = tools.one_line(err)
    assert code == 1
    assert str(path) in line and "not a NumPy array file" in line and what in line
    assert "allow_pickle" not in line


def test_a_users_folder_named_fashion_mnist_is_not_scored_with_the_shipped_classifier(tmp_path):
    from ganvae.data import Dataset, load_dataset
    from ganvae.metrics.features import feature_extractor_for

    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(8):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{index}.png")
    mine = load_dataset(str(folder))
    assert mine.name == "fashion-mnist" and mine.shape == (1, 28, 28)
    extractor = feature_extractor_for(mine)
    assert extractor.info["source"] != "shipped" and not extractor.name.startswith("classifier:fashion-mnist@")
    # The registered dataset itself still gets its shipped classifier.
    registered = Dataset(name="fashion-mnist", x=mine.x, kind="image", source="idx files")
    assert feature_extractor_for(registered).info["source"] == "shipped"
