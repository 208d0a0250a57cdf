"""`ganvae train --config run.toml`: the file reads back what --print-config --format toml prints, is checked
like the flags, and flags given with it override it."""

import json
import tomllib

import pytest

from ganvae.cli import main
from ganvae.config_file import read_config_file, to_toml
from ganvae.errors import ConfigError


def outcome(capsys, *argv):
    """(exit code, stdout, stderr) of the command, whether it returns or exits (argparse exits)."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


FLAGS = ["vae", "--data", "ring8", "--n-examples", "500", "--data-seed", "4", "--no-download", "--arch", "mlp",
         "--latent-dim", "3", "--hidden", "32", "--beta", "0.5", "--lr", "3e-4", "--batch-size", "64",
         "--minutes", "2.5", "--seed", "7", "--device", "cpu", "--log-every", "5", "--checkpoint-every", "40"]


def test_printed_toml_read_back_with_config_gives_the_same_resolved_config(tmp_path, capsys):
    code, as_json, err = outcome(capsys, "train", *FLAGS, "--print-config")
    assert code == 0, err
    code, as_toml, err = outcome(capsys, "train", *FLAGS, "--print-config", "--format", "toml")
    assert code == 0, err
    path = tmp_path / "run.toml"
    path.write_text(as_toml)
    code, read_back, err = outcome(capsys, "train", "--config", str(path), "--print-config")
    assert code == 0, err
    expected = json.loads(as_json)
    assert json.loads(read_back) == expected
    assert expected["model"]["latent_dim"] == 3 and expected["budget"]["minutes"] == 2.5  # the flags took
    assert expected["data"]["download"] is False and expected["optim"]["lr"] == 3e-4
    # And TOML again from the file: the same text.
    assert outcome(capsys, "train", "--config", str(path), "--print-config", "--format", "toml")[1] == as_toml


def config_text(section, line):
    """A file for a GAN on ring8 with one more line, at the top or in its section."""
    tables = {"model": ['family = "gan"'], "data": ['name = "ring8"']}
    top = [line] if section is None else []
    if section is not None:
        tables.setdefault(section, []).append(line)
    return "\n".join(top + [f"[{name}]\n" + "\n".join(lines) for name, lines in tables.items()]) + "\n"


@pytest.mark.parametrize("section, toml_line, flags", [
    ("optim", "batch_size = 0", ["--batch-size", "0"]),
    ("optim", 'lr = "fast"', ["--lr", "fast"]),
    ("model", 'arch = "resnet"', ["--arch", "resnet"]),
    (None, "seed = 5000000000", ["--seed", "5000000000"]),  # passes argparse; config.validate rejects it
    ("data", 'split = "dev"', ["--split", "dev"]),
    (None, 'device = "tpu"', ["--device", "tpu"]),
    ("model", "latent_dim = 2.5", ["--latent-dim", "2.5"]),
])
def test_a_bad_value_in_the_file_gives_the_flags_own_one_line_error(tmp_path, capsys, section, toml_line, flags):
    path = tmp_path / "bad.toml"
    path.write_text(config_text(section, toml_line))
    assert tomllib.loads(path.read_text())  # the file itself is valid TOML
    from_file = outcome(capsys, "train", "--config", str(path), "--print-config")
    from_flags = outcome(capsys, "train", "gan", "--data", "ring8", *flags, "--print-config")
    assert from_flags[0] == 2 and from_flags[2].count("\n") == 1
    assert from_file[0] == from_flags[0] and from_file[2] == from_flags[2]


def test_flags_override_the_file_even_when_they_repeat_a_default(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text('seed = 3\n[model]\nfamily = "vae"\narch = "seed"\n[data]\nname = "circles"\n'
                    '[optim]\nlr = 0.01\n[budget]\nsteps = 9\n')
    code, out, err = outcome(capsys, "train", "--config", str(path), "--seed", "0", "--arch", "mlp",
                             "--minutes", "1", "--print-config")
    assert code == 0, err
    cfg = json.loads(out)
    assert cfg["seed"] == 0 and cfg["model"]["arch"] == "mlp"  # both flags' defaults, still given: they win
    assert cfg["budget"] == {"epochs": None, "steps": None, "minutes": 1.0}  # a budget flag replaces the file's
    assert cfg["optim"]["lr"] == 0.01 and cfg["model"]["family"] == "vae" and cfg["data"]["name"] == "circles"
    code, out, _ = outcome(capsys, "train", "gan", "--config", str(path), "--print-config")
    assert json.loads(out)["model"]["family"] == "gan" and json.loads(out)["budget"]["steps"] == 9


def test_a_run_trained_from_a_file_writes_the_files_config(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text('[model]\nfamily = "gan"\nhidden = 16\n[data]\nname = "moons"\n[budget]\nsteps = 3\n')
    code, _, err = outcome(capsys, "train", "--config", str(path), "--out", str(tmp_path / "run"), "--no-progress")
    assert code == 0, err
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["hidden"] == 16 and saved["budget"]["steps"] == 3 and saved["data"]["name"] == "moons"


@pytest.mark.parametrize("text, message", [
    ('[model]\nfamliy = "gan"\n', "unknown key 'famliy' in [model]; known keys: family, arch"),
    ('epochs = 3\n', "unknown key 'epochs'; known keys: seed, device"),
    ('model = "gan"\n', "'model' must be a section [model]"),
    ('[model\nfamily = "gan"\n', "is not valid TOML"),
    ('[optim]\nbetas = [0.9, 0.9]\n[model]\nfamily = "gan"\n', "betas in [optim] is [0.9, 0.9]"),
    ('[data]\ndownload = "no"\n', "download in [data] must be true or false"),
])
def test_a_bad_file_is_one_sentence_naming_the_problem(tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, _, err = outcome(capsys, "train", "--config", str(path), "--data", "ring8", "--print-config")
    assert code == 2 and err.count("\n") == 1 and message in err and str(path) in err
    code, _, err = outcome(capsys, "train", "--config", str(tmp_path / "missing.toml"), "--print-config")
    assert code == 2 and "no such file" in err
    code, _, err = outcome(capsys, "train", "--resume", "--out", str(tmp_path), "--config", str(path))
    assert code == 2 and "--config cannot be combined with --resume" in err


def test_toml_writer_escapes_strings_and_keeps_floats_exact(tmp_path):
    settings = {"seed": 1, "device": "cpu", "data": {"name": 'my "odd"\\path\tx.csv', "download": False},
                "optim": {"lr": 1e-05, "betas": [0.5, 0.999]}, "model": {"settings": {"kl_weight": 0.1 + 0.2}}, "budget": {}}
    path = tmp_path / "x.toml"
    path.write_text(to_toml(settings))
    assert read_config_file(path) == settings
    with pytest.raises(ConfigError):
        read_config_file(tmp_path / "nothing.toml")
