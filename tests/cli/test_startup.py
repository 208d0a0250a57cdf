"""Start-up: what the command line's outline answers never imports torch, and says what the full parser says."""

import contextlib
import io
import subprocess
import sys

import pytest

from ganvae import cli, commands


def _said(parse, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        parse(argv)
    return exit_.value.code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", [[], ["--help"], ["-h"], ["--version"], ["trian"], ["--bogus"]])
def test_the_outline_says_what_the_full_parser_says(argv):
    assert commands.answered_by_outline(argv)
    assert _said(commands.outline_parser().parse_args, argv) == _said(cli.build_parser().parse_args, argv)


def test_the_full_parser_has_exactly_the_outlines_commands():
    full = cli.build_parser()._subparsers._group_actions[0]
    assert list(full.choices) == list(commands.COMMAND_HELP)
    assert {a.dest: a.help for a in full._choices_actions} == commands.COMMAND_HELP


@pytest.mark.parametrize("argv", [["train", "--help"], ["datasets"], ["evaluate", "x"]])
def test_a_real_command_goes_to_the_full_parser(argv):
    assert not commands.answered_by_outline(argv)


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["trian"]])
def test_help_version_and_a_misspelt_command_do_not_import_torch(argv):
    code = ("import sys; from ganvae.__main__ import run; code = run(%r); "
            "heavy = sorted(m for m in ('torch', 'sklearn', 'numpy', 'matplotlib') if m in sys.modules); "
            "print('HEAVY', heavy, file=sys.stderr); sys.exit(code)") % (argv,)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in done.stderr
    assert done.returncode == (2 if argv == ["trian"] else 0)
    if argv == ["trian"]:
        assert done.stderr.splitlines()[0].startswith("ganvae: error: argument COMMAND: invalid choice: 'trian'")


BAD_FLAGS = [["train", "gan", "--epochz", "1"], ["compare", "--famlies", "gan,vae"], ["datasets", "--x"],
             ["sample", "run", "--seed", "1", "--n-sampels=5"]]


@pytest.mark.parametrize("argv", BAD_FLAGS)
def test_a_flag_the_command_lacks_is_answered_by_the_outline_as_the_full_parser_answers_it(argv, capsys):
    from ganvae.__main__ import run

    assert commands.answered_by_outline(argv)
    code = run(argv)
    said = capsys.readouterr().err
    assert (code, "", said) == _said(cli.build_parser().parse_args, argv)
    assert said.count("\n") == 1 and f"has no flag {commands.outline_unknown_flag(argv)}" in said


def test_the_closest_flag_is_suggested_and_a_known_start_of_a_flag_is_left_to_argparse():
    assert commands.unknown_flag(["gan", "--epochz", "1"], ("--epochs", "--steps")) == "--epochz"
    assert commands.unknown_flag(["--epo", "1"], ("--epochs",)) is None  # argparse takes a unique start
    assert commands.unknown_flag(["--", "--epochz"], ("--epochs",)) is None  # after --, not a flag
    assert commands.unknown_flag(["--help", "--epochz"], ("--epochs", "--help")) is None  # help comes first
    assert "did you mean --families?" in commands.no_such_flag("compare", "--famlies", ("--families", "--seeds"))
    assert "did you mean" not in commands.no_such_flag("compare", "--zzz", ("--families", "--seeds"))


def test_a_bad_flag_does_not_import_torch():
    code = ("import sys; from ganvae.__main__ import run; code = run(['train', 'gan', '--epochz', '1']); "
            "heavy = sorted(m for m in ('torch', 'sklearn', 'numpy', 'matplotlib') if m in sys.modules); "
            "print('HEAVY', heavy, file=sys.stderr); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in done.stderr and done.returncode == 2
    assert done.stderr.splitlines()[0] == ("ganvae: error: ganvae train has no flag --epochz; did you mean "
                                           "--epochs? (see `ganvae train --help`)")


def test_datasets_lists_without_torch_what_the_full_command_line_lists():
    code = ("import sys; from ganvae.__main__ import run; code = run(['datasets']); "
            "print('HEAVY', 'torch' in sys.modules, file=sys.stderr); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "HEAVY False" in done.stderr
    full_code = "import sys; from ganvae.cli import main; sys.exit(main(['datasets']))"
    full = subprocess.run([sys.executable, "-c", full_code], capture_output=True, text=True, timeout=120)
    assert full.returncode == 0 and done.stdout == full.stdout
    assert "fashion-mnist" in done.stdout and "grid25" in done.stdout
