"""--tensorboard: the event files hold what log.csv and curve.json hold, sample grids and the config, and
training is the same with and without them."""

import csv
import io
import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import ganvae
from ganvae.cli import main
from ganvae.train.checkpoint import load_checkpoint

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

KEEP_ALL = {"scalars": 0, "images": 0, "tensors": 0}


def events(folder) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance=KEEP_ALL)
    accumulator.Reload()
    return accumulator


def log_columns(run) -> dict[str, list[float]]:
    with open(run / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {key: [float(row[key]) for row in rows] for key in rows[0]}


def test_scalars_equal_log_csv_across_a_resume_with_grids_every_checkpoint_interval(tmp_path):
    run = tmp_path / "gan"
    settings = dict(hidden=16, log_every=10, checkpoint_every=25, out=run, tensorboard=True)
    ganvae.GAN(steps=30, **settings).fit("ring8")
    ganvae.GAN(steps=60, **settings).fit("ring8", resume=True)  # a second event file in the same folder

    board = events(run / "tensorboard")
    log = log_columns(run)
    assert log["step"] == [10, 20, 30, 40, 50, 60]
    assert set(board.Tags()["scalars"]) == set(log) - {"step"}  # every logged value, bookkeeping included
    for name, values in log.items():
        if name == "step":
            continue
        scalars = board.Scalars(name)
        assert [s.step for s in scalars] == log["step"], name
        # log.csv keeps 6 significant digits, the event file a float32
        np.testing.assert_allclose([s.value for s in scalars], values, rtol=1e-5, atol=1e-9, err_msg=name)
    # A grid at the first log row past each multiple of checkpoint_every (25, 50), and one at the end of each
    # session unless the session's last row already drew one (step 30 did).
    assert [image.step for image in board.Images("samples")] == [30, 50, 60]
    # The resolved config of each session (the resume raised the budget), the last being config.json's.
    texts = board.Tensors("config/text_summary")
    configs = [json.loads(t.tensor_proto.string_val[0].decode().strip("`\n")) for t in texts]
    assert [t.step for t in texts] == [10, 40]
    assert [c["budget"]["steps"] for c in configs] == [30, 60]
    assert configs[-1] == json.loads((run / "config.json").read_text())


def test_an_image_run_gets_a_grid_of_its_samples(tmp_path):
    run = tmp_path / "vae"
    vae = ganvae.VAE(hidden=8, steps=10, log_every=5, checkpoint_every=1000, out=run, tensorboard=True).fit("digits")
    (image,) = events(run / "tensorboard").Images("samples")  # only the final grid: no checkpoint interval passed
    assert image.step == 10
    grid = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)))
    # 4 x 8 samples of 8x8 pixels with 2-pixel gaps, grey; the same codes (seed 0) as the family draws
    assert grid.shape == (4 * 10 + 2, 8 * 10 + 2, 3)  # TensorBoard stores grey as RGB
    assert np.array_equal(grid[..., 0], grid[..., 2])
    grid = grid[..., 0]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        samples = vae.family_.sample(32).numpy()
    from ganvae.report.plots import image_grid

    assert np.array_equal(grid, image_grid(samples, nrow=8))


def test_training_and_checkpoints_are_the_same_with_and_without_tensorboard(tmp_path):
    # Grids are drawn in eval mode (the conv generator then records reference statistics) from a forked random
    # state: neither may leak into training or into the checkpoint.
    for name, tensorboard in (("plain", False), ("board", True)):
        ganvae.GAN(arch="conv", hidden=8, steps=12, log_every=2, checkpoint_every=4, out=tmp_path / name,
                   tensorboard=tensorboard, device="cpu").fit("digits")
    plain = load_checkpoint(tmp_path / "plain" / "checkpoint.pt")["family_state"]
    board = load_checkpoint(tmp_path / "board" / "checkpoint.pt")["family_state"]
    assert plain.keys() == board.keys()
    for key in plain:
        assert torch.equal(plain[key], board[key]), key
    assert _without_seconds(tmp_path / "plain") == _without_seconds(tmp_path / "board")  # the same losses
    assert [i.step for i in events(tmp_path / "board" / "tensorboard").Images("samples")] == [4, 8, 12]
    assert not (tmp_path / "plain" / "tensorboard").exists()


def _without_seconds(run) -> dict:
    return {key: values for key, values in log_columns(run).items() if key != "seconds"}


def test_without_the_package_the_flag_is_one_line_naming_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as when it is missing
    code = main(["train", "gan", "--data", "ring8", "--steps", "2", "--out", str(tmp_path / "run"), "--tensorboard",
                 "--no-progress"])
    out, err = capsys.readouterr()
    assert code != 0
    assert err.strip().count("\n") == 0 and "pip install 'ganvae[tensorboard]'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()  # refused before anything was written
    with pytest.raises(ganvae.ConfigError, match=r"ganvae\[tensorboard\]"):
        ganvae.GAN(steps=2, out=tmp_path / "api", tensorboard=True).fit("ring8")


def test_tensorboard_needs_a_run_folder():
    with pytest.raises(ganvae.ConfigError, match="set out="):
        ganvae.GAN(steps=2, tensorboard=True).fit("ring8")


def test_compare_writes_the_metric_curves_of_every_run(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "--data", "ring8", "--n-samples", "400", "--epochs", "1", "--seeds", "1", "-n", "200",
                 "--iw-samples", "20", "--nll-examples", "50", "--out", str(out), "--no-progress", "--tensorboard"])
    printed, err = capsys.readouterr()
    assert code == 0, err
    assert f"tensorboard --logdir {out}" in printed
    for family in ("gan", "vae"):
        curve = json.loads((out / "runs" / f"{family}-seed0" / "curve.json").read_text())
        board = events(out / "tensorboard" / f"{family}-seed0")
        # Every metric that has a number at some point (one can be undefined early, e.g. mode_kl with a mode unseen)
        metrics = sorted({name for point in curve for name, value in point.items()
                          if name not in ("seconds", "images_seen", "step") and isinstance(value, (int, float))})
        assert "precision" in metrics
        assert set(board.Tags()["scalars"]) == {f"metrics/{name}" for name in metrics} | {"metrics/seconds"}
        for name in metrics + ["seconds"]:
            scalars = board.Scalars(f"metrics/{name}")
            defined = [point for point in curve if isinstance(point.get(name), (int, float))]
            assert [s.step for s in scalars] == [point["images_seen"] for point in defined]
            np.testing.assert_allclose([s.value for s in scalars], [point[name] for point in defined], rtol=1e-6)
        # each run's own training view, in its run folder
        assert "samples" in events(out / "runs" / f"{family}-seed0" / "tensorboard").Tags()["images"]
