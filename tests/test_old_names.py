"""The names that collided, and their old spellings that users' scripts and saved runs still hold.

`DataConfig.n_examples` / `--n-examples` is how many examples of the data to load (its old name, `n_samples` /
`--n-samples`, also meant the samples a model draws). `--n-eval` (and `evaluate(n_eval=...)`) is how many samples
`evaluate` and `compare` score; evaluate's old `--n-samples` still works. `sample -n/--n-samples` keeps its name:
it is the number of samples drawn.
"""

import json

import pytest

from ganvae.cli import build_parser, main
from ganvae.config import DataConfig, RunConfig
from ganvae.data import load_dataset
from ganvae.errors import ConfigError
from ganvae.evaluation import evaluate

# The config.json of a run written before the rename (ganvae 0.1's key names under "data").
OLD_SAVED = {
    "data": {"name": "ring8", "split": "train", "n_samples": 500, "seed": 4, "data_dir": None, "image_size": None,
             "download": True},
    "model": {"family": "gan", "arch": "mlp", "latent_dim": 2, "hidden": 32, "settings": {}},
    "optim": {"lr": 2e-4, "betas": [0.5, 0.999], "batch_size": 64},
    "budget": {"epochs": None, "steps": 3, "minutes": None},
    "seed": 0, "device": "cpu", "log_every": 20, "checkpoint_every": 500,
}


def outcome(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_saved_config_with_the_old_key_is_read_as_n_examples():
    cfg = RunConfig.from_saved(OLD_SAVED, source="runs/old/config.json")
    assert cfg.data.n_examples == 500 and cfg.data.seed == 4
    assert cfg.to_dict()["data"]["n_examples"] == 500 and "n_samples" not in cfg.to_dict()["data"]
    assert len(load_dataset(cfg.data)) == 500


def test_a_saved_config_with_both_names_is_refused_naming_them():
    both = {**OLD_SAVED, "data": {**OLD_SAVED["data"], "n_examples": 500}}
    with pytest.raises(ConfigError, match="both 'n_examples' and its old name 'n_samples'"):
        RunConfig.from_saved(both, source="config.json")


def test_an_old_run_folder_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = outcome(capsys, "train", "gan", "--data", "ring8", "--n-examples", "300", "--steps", "2",
                           "--batch-size", "64", "--device", "cpu", "--no-progress", "--out", str(out))
    assert code == 0, err
    saved = json.loads((out / "config.json").read_text())
    assert saved["data"]["n_examples"] == 300
    saved["data"]["n_samples"] = saved["data"].pop("n_examples")  # as an earlier version wrote it
    (out / "config.json").write_text(json.dumps(saved))
    code, printed, err = outcome(capsys, "train", "--resume", "--out", str(out), "--steps", "4", "--print-config")
    assert code == 0, err
    assert json.loads(printed)["data"]["n_examples"] == 300
    code, _, err = outcome(capsys, "train", "--resume", "--out", str(out), "--steps", "4", "--no-progress")
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["data"]["n_examples"] == 300


def test_data_config_refuses_the_old_keyword_loudly():
    """Python code still using the old name fails at once rather than reading a None that means "all"."""
    with pytest.raises(TypeError, match="n_samples"):
        DataConfig(name="ring8", n_samples=7)
    with pytest.raises(AttributeError):
        DataConfig().n_samples


@pytest.mark.parametrize("command", ["train", "compare", "advise"])
def test_the_old_data_flag_sets_n_examples(command):
    parser = build_parser()
    assert parser.parse_args([command, "--data", "ring8", "--n-samples", "200"]).n_examples == 200
    assert parser.parse_args([command, "--data", "ring8", "--n-examples", "200"]).n_examples == 200


def test_train_prints_the_same_config_for_the_old_and_the_new_flag(capsys):
    base = ["train", "gan", "--data", "ring8", "--print-config"]
    code, new, err = outcome(capsys, *base, "--n-examples", "300")
    assert code == 0, err
    code, old, err = outcome(capsys, *base, "--n-samples", "300")
    assert code == 0, err
    assert new == old and json.loads(new)["data"]["n_examples"] == 300


def test_an_old_toml_key_is_read_and_both_names_are_refused(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text('[model]\nfamily = "gan"\n[data]\nname = "ring8"\nn_samples = 250\n')
    code, printed, err = outcome(capsys, "train", "--config", str(path), "--print-config")
    assert code == 0, err
    assert json.loads(printed)["data"]["n_examples"] == 250
    path.write_text('[model]\nfamily = "gan"\n[data]\nname = "ring8"\nn_samples = 250\nn_examples = 250\n')
    code, _, err = outcome(capsys, "train", "--config", str(path), "--print-config")
    assert code == 2 and "both 'n_examples' and its old name 'n_samples'" in err and len(err.splitlines()) == 1


def test_evaluate_and_compare_call_samples_scored_n_eval():
    parser = build_parser()
    for flag in ("-n", "--n-eval", "--n-samples"):  # --n-samples: evaluate's old name
        assert parser.parse_args(["evaluate", "run", flag, "300"]).n_eval == 300
    for flag in ("-n", "--n-eval"):
        assert parser.parse_args(["compare", "--data", "ring8", flag, "300"]).n_eval == 300


def test_evaluate_takes_the_old_keyword():
    samples = load_dataset(DataConfig(name="ring8", split="test", seed=3)).x.numpy()
    new = evaluate(samples, data="ring8", n_eval=200, cache=False)
    old = evaluate(samples, data="ring8", n_samples=200, cache=False)
    assert new["n_samples"] == old["n_samples"] == 200 and new["metrics"] == old["metrics"]
    with pytest.raises(ConfigError, match="disagree"):
        evaluate(samples, data="ring8", n_eval=300, n_samples=200)
