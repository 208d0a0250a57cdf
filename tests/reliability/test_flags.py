"""Every flag is checked where it enters: a bad value is one line naming the flag, exit code 2, nothing run."""

from __future__ import annotations

import pytest

TRAIN = ["train", "gan", "--data", "ring8", "--print-config"]

BAD_TRAIN_FLAGS = [
    ("--epochs", "0"), ("--epochs", "-3"), ("--epochs", "nan"), ("--epochs", "inf"), ("--epochs", "two"),
    ("--steps", "0"), ("--steps", "1.5"), ("--minutes", "-1"), ("--minutes", "inf"),
    ("--batch-size", "0"), ("--batch-size", "x"), ("--lr", "0"), ("--lr", "-1e-3"), ("--lr", "1e400"),
    ("--lr", "nan"), ("--latent-dim", "0"), ("--hidden", "-4"), ("--beta", "-1"), ("--seed", "-1"), ("--seed", "1.5"), ("--device", "tpu"), ("--arch", "resnet"),
    ("--split", "validation"), ("--n-examples", "0"), ("--image-size", "0"), ("--checkpoint-every", "0"),
    ("--log-every", "-2"), ("--data-seed", "x"),
]


@pytest.mark.parametrize("flag,value", BAD_TRAIN_FLAGS, ids=[f"{f}={v}" for f, v in BAD_TRAIN_FLAGS])
def test_a_bad_train_flag_is_one_line_naming_it(flag, value, cli, tools):
    code, out, err = cli(*TRAIN, flag, value)
    line = tools.one_line(err)
    assert code == 2 and flag in line, line
    assert out == ""


# A family's own settings: checked by the family (the VAE's KL weight; --beta is its old name).
BAD_VAE_SETTINGS = [("--kl-weight", "-1"), ("--kl-weight", "nan"), ("--beta", "inf"), ("--beta", "-0.5"),
                    ("--kl-weight", "x")]


@pytest.mark.parametrize("flag,value", BAD_VAE_SETTINGS, ids=[f"{f}={v}" for f, v in BAD_VAE_SETTINGS])
def test_a_bad_family_setting_is_one_line_naming_it(flag, value, cli, tools):
    code, out, err = cli("train", "vae", "--data", "ring8", "--print-config", flag, value)
    line = tools.one_line(err)
    assert code == 2 and flag in line, line
    assert out == ""


def test_a_setting_of_another_family_is_refused_naming_the_family(cli, tools):
    code, out, err = cli(*TRAIN, "--kl-weight", "0.5")
    line = tools.one_line(err)
    assert code == 2 and "--kl-weight (--beta) does not apply to the gan family" in line, line


@pytest.mark.parametrize("argv,flag", [
    (["train", "gan", "--data", "ring8", "--steps", "5", "--epochs", "2", "--print-config"], "--epochs"),
    (["train", "gan", "--data", "circles", "--arch", "conv", "--print-config"], "--arch conv"),
    (["train", "gan", "--data", "ring8", "--batch-size", "100000", "--print-config"], "--batch-size"),
    (["train", "gan", "--data", "ring8", "--n-examples", "10", "--batch-size", "11", "--print-config"],
     "--batch-size"),
    (["train", "gan", "--data", "digits", "--split", "test", "--n-examples", "100000", "--print-config"],
     "--n-examples"),
    (["train", "gan", "--print-config"], "--data"),
    (["train", "--data", "ring8"], "family"),
    (["train", "--resume"], "--out"),
    (["sample", "run", "-n", "0", "-o", "x.npy"], "-n"),
    (["sample", "run", "-o", "x.txt"], "-o"),
    (["compare", "--data", "ring8", "--budget", "0"], "--budget"),
    (["train", "gan", "--data", "ring8", "--no-such-flag"], "--no-such-flag"),
    (["evaluate-everything"], "evaluate-everything"),
])
def test_bad_combinations_are_one_line_naming_the_flag(argv, flag, cli, tools):
    code, out, err = cli(*argv)
    assert code == 2 and flag in tools.one_line(err)


# Values that pass the parser's own check but would fail deep inside numpy, sklearn or the allocator.
DEEP = [
    (["--data", "moons", "--data-seed", "-1"], "--data-seed"),
    (["--data", "moons", "--data-seed", str(2**32)], "--data-seed"),
    (["--data", "ring8", "--seed", str(2**32)], "--seed"),
    (["--data", "ring8", "--n-examples", str(10**15)], "--n-examples"),  # 8 PB: refused by the allocator at once
    (["--data", "digits", "--image-size", str(10**7)], "--image-size"),
]


@pytest.mark.parametrize("argv,flag", DEEP, ids=[" ".join(a[-2:]) for a, _ in DEEP])
def test_values_that_would_fail_inside_a_library_are_refused_at_the_flag(argv, flag, cli, tools):
    code, out, err = cli("train", "gan", *argv, "--print-config")
    assert code == 2 and flag in tools.one_line(err)


@pytest.mark.parametrize("error", ["ConfigError", "DataError", "RunError"])
def test_every_ganvae_error_is_one_line_even_when_its_text_is_not(error, cli, tools, monkeypatch):
    """A GanvaeError may quote a library's multi-line message (a torch error, say): still one line."""
    import ganvae.cli
    import ganvae.errors

    def fail(args):
        raise getattr(ganvae.errors, error)("the checkpoint is damaged (RuntimeError: Error(s) in loading:\n"
                                            "\tsize mismatch for weight)")

    monkeypatch.setitem(ganvae.cli.COMMANDS, "datasets", fail)
    code, out, err = cli("datasets")
    assert code in (1, 2) and "size mismatch" in tools.one_line(err)


def test_the_resume_hint_names_the_default_run_folder(tmp_path, cli, tools, monkeypatch):
    """Without --out the run goes to runs/FAMILY-DATA-TIME (ARCH too when given), and the hint must name that folder."""
    import ganvae.api
    from ganvae.train.loop import Interrupted

    def interrupted(*args, **kwargs):
        raise Interrupted("stopped by SIGINT at step 3; a checkpoint was saved")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ganvae.api, "fit_loop", interrupted)
    code, out, err = cli("train", "gan", *tools.TOY, "--steps", "5")
    line = tools.one_line(err)
    assert code == 130 and "--out runs/gan-ring8-2" in line and "None" not in line, line
