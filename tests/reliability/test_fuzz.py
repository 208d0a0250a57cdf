"""Property tests at the two places input enters: the config parser (a run folder's config.json) and the
command line. Each input either works or is the project's own error, reported as one line; never another
exception. (The loaders' property tests are in tests/data/test_properties.py.)"""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ganvae.cli import main
from ganvae.config import BudgetConfig, DataConfig, ModelConfig, OptimConfig, RunConfig
from ganvae.errors import ConfigError

SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "budget": BudgetConfig}
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
                    st.sampled_from(["gan", "vae", "mlp", "seed", "conv", "cpu", "train", "test"]))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                           max_leaves=8)
BETAS = st.one_of(JSON_VALUES, st.lists(st.floats(-0.5, 1.5), min_size=2, max_size=2))


def _section(cls):
    values = {f.name: (BETAS if f.name == "betas" else JSON_VALUES) for f in fields(cls)}
    known = st.fixed_dictionaries({}, optional=values)
    return st.one_of(known, known.flatmap(lambda d: st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=2)
                                          .map(lambda extra: {**d, **extra})))


CONFIGS = st.fixed_dictionaries({}, optional={
    f.name: st.one_of(_section(SECTIONS[f.name]), JSON_VALUES) if f.name in SECTIONS else JSON_VALUES
    for f in fields(RunConfig)})
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])


@SETTINGS
@given(st.one_of(CONFIGS, CONFIGS.flatmap(lambda d: st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=2)
                                          .map(lambda extra: {**d, **extra}))))
@example({"optim": {"betas": [0.5, 2]}})
@example({"budget": {"steps": True}})
@example({"data": "mnist"})
def test_config_from_any_json_object_is_a_config_or_a_config_error(raw):
    text = json.dumps(raw)  # what a config.json can hold
    try:
        cfg = RunConfig.from_dict(json.loads(text))
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(cfg, RunConfig)
    assert RunConfig.from_dict(json.loads(cfg.to_json())) == cfg  # what is accepted survives a round trip


@SETTINGS
@given(st.one_of(JSON_VALUES, st.text(max_size=20)))
def test_config_from_any_json_value_is_a_config_or_a_config_error(raw):
    try:
        RunConfig.from_dict(raw)
    except ConfigError:
        pass


@pytest.mark.parametrize("betas", [0.9, 5, True, "ab", {"a": 0.5, "b": 0.9}])
def test_betas_that_are_not_two_numbers_are_a_config_error(betas):
    with pytest.raises(ConfigError, match="betas"):
        RunConfig.from_dict({"optim": {"betas": betas}})


NUMBERS = st.one_of(st.integers(1, 64).map(str), st.floats(1e-4, 10).map(repr), st.integers(-10**6, 10**6).map(str),
                    st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e400", "1e-400", "", "abc", "1.5", "0x10",
                                     " 3", "1_000", "--"]),
                    st.text(max_size=4))
FLAGS = {
    "--data": st.sampled_from(["ring8", "circles", "moons", "grid25", "swissroll", "digits", "no-such-set",
                               "/no/such/file.npy", "", "BAD_NPY", "BAD_CSV"]),
    "--split": st.sampled_from(["train", "test", "val"]),
    # Large but allowed sizes would only make the test slow: small ones, or ones far beyond the limits.
    "--n-examples": st.one_of(st.integers(1, 2000).map(str), st.sampled_from([str(10**8), str(10**15)]),
                             NUMBERS.filter(lambda s: not s.strip().isdigit())),
    "--image-size": st.one_of(st.integers(1, 48).map(str), st.sampled_from(["2000", str(10**7)]),
                              NUMBERS.filter(lambda s: not s.strip().isdigit())),
    "--data-seed": st.one_of(st.integers(-2**40, 2**40).map(str), NUMBERS),
    "--data-dir": st.sampled_from(["/nonexistent", "."]),
    "--arch": st.sampled_from(["seed", "mlp", "conv", "nope"]),
    "--epochs": NUMBERS, "--steps": NUMBERS, "--minutes": NUMBERS, "--batch-size": NUMBERS, "--lr": NUMBERS,
    "--latent-dim": NUMBERS, "--hidden": NUMBERS, "--beta": NUMBERS, "--seed": NUMBERS,
    "--device": st.sampled_from(["auto", "cpu", "cuda", "mps", "tpu"]),
    "--checkpoint-every": NUMBERS, "--log-every": NUMBERS, "--out": st.sampled_from(["/no/such/run", "x"]),
}
SWITCHES = ["--no-download", "--no-progress", "--resume"]
ARGUMENT = st.one_of(st.sampled_from(sorted(FLAGS)).flatmap(lambda f: FLAGS[f].map(lambda v: [f, v])),
                     st.sampled_from(SWITCHES).map(lambda s: [s]))


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-files")
    (folder / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    (folder / "bad.csv").write_text("a,b\n1,x\n")
    return {"BAD_NPY": str(folder / "bad.npy"), "BAD_CSV": str(folder / "bad.csv")}


@SETTINGS
@given(st.sampled_from(["gan", "vae", None]), st.lists(ARGUMENT, max_size=6))
@example("gan", [["--data", "moons"], ["--epochs", "1e-400"]])
@example("vae", [["--data", "BAD_NPY"]])
def test_any_train_command_line_is_a_config_or_one_line(capsys, bad_files, family, arguments):
    argv = ["train", *([family] if family else []), "--print-config"]
    for argument in arguments:
        argv += [bad_files.get(a, a) for a in argument]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: a value its own type check refused
        code = exc.code
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, err)
    if code == 0:
        assert isinstance(json.loads(out), dict), out
    else:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ganvae: "), (argv, err)


def _image_bytes(mode: str, size: tuple[int, int], fmt: str, seed: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65535, size[::-1], dtype=np.uint16))
    else:
        image = Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8), "RGB").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if fmt == "jpg" and mode in ("L", "RGB") else "PNG")
    return buffer.getvalue()


IMAGE_FILE = st.one_of(
    st.tuples(st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16", "LA"]),
              st.tuples(st.integers(1, 12), st.integers(1, 12)),
              st.sampled_from(["png", "jpg"]), st.integers(0, 9), st.one_of(st.none(), st.floats(0, 1)))
    .map(lambda t: (t[2], _image_bytes(t[0], t[1], t[2], t[3]), t[4])),
    st.tuples(st.sampled_from(["png", "jpg"]), st.binary(max_size=200).map(lambda b: b"\x89PNG\r\n\x1a\n" + b),
              st.none()),
    st.tuples(st.sampled_from(["png", "jpg"]), st.binary(max_size=200), st.none()),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(IMAGE_FILE, max_size=4), st.one_of(st.none(), st.integers(1, 16)), st.booleans())
def test_a_folder_of_any_files_loads_or_is_a_ganvae_error(tmp_path_factory, files, image_size, in_subfolders):
    """Real images of any mode and size, cut short or not, and files of random bytes named as images."""
    import numpy as np

    from ganvae.config import DataConfig
    from ganvae.data import load_dataset
    from ganvae.errors import GanvaeError

    folder = tmp_path_factory.mktemp("images")
    for i, (suffix, raw, cut) in enumerate(files):
        path = folder / (f"class{i % 2}" if in_subfolders else ".") / f"{i}.{suffix}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(raw[: int(len(raw) * cut)] if cut is not None else raw)
    try:
        dataset = load_dataset(DataConfig(name=str(folder), image_size=image_size))
    except GanvaeError as exc:
        assert "\n" not in str(exc)
        return
    x = dataset.x.numpy()
    assert x.ndim == 4 and x.shape[1] in (1, 3) and len(x) == len(files)
    assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
