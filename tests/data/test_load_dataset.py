import numpy as np
import pytest
import torch

from ganvae.config import DataConfig
from ganvae.data import DATASETS, IMAGE, VECTOR, dataset_table, load_dataset
from ganvae.errors import ConfigError

EXPECTED_NAMES = {"circles", "moons", "ring8", "grid25", "swissroll", "digits", "mnist5k", "mnist", "fashion-mnist"}


def test_importing_registers_every_dataset():
    assert set(DATASETS.names()) == EXPECTED_NAMES


def test_unknown_name_lists_choices_and_paths():
    with pytest.raises(ConfigError) as info:
        load_dataset(DataConfig(name="mnits"))
    message = str(info.value)
    assert "'mnits'" in message
    assert all(name in message for name in EXPECTED_NAMES)
    assert "folder" in message and ".npy/.npz" in message and ".csv" in message


def test_existing_file_of_unknown_type_is_a_config_error(tmp_path):
    (tmp_path / "points.txt").write_text("1,2\n")
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_dataset(DataConfig(name=str(tmp_path / "points.txt")))


def test_paths_dispatch_by_type(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((5, 3, 3), dtype=np.uint8))
    (tmp_path / "t.csv").write_text("1,2\n3,4\n")
    assert load_dataset(DataConfig(name=str(tmp_path / "a.npy"))).kind == IMAGE
    assert load_dataset(DataConfig(name=str(tmp_path / "t.csv"))).kind == VECTOR


def test_n_examples_on_a_stored_array(tmp_path):
    values = np.arange(40, dtype=np.float64).reshape(20, 2)
    np.save(tmp_path / "v.npy", values)
    part = load_dataset(DataConfig(name=str(tmp_path / "v.npy"), n_examples=5, seed=1))
    rows = np.random.default_rng(1).permutation(20)[:5]
    assert np.allclose(part.to_original(part.x.numpy()), values[rows], atol=1e-5)


def test_n_examples_larger_than_the_data_names_the_flag():
    with pytest.raises(ConfigError, match="--n-examples 5000 is more than the 1438 examples in digits"):
        load_dataset(DataConfig(name="digits", n_examples=5000))


def test_n_examples_draws_that_many_toy_points():
    assert len(load_dataset(DataConfig(name="grid25", n_examples=123))) == 123


def test_image_size_resizes_registered_images():
    data = load_dataset(DataConfig(name="digits", image_size=16, n_examples=10))
    assert data.x.shape == (10, 1, 16, 16)
    assert 0 <= float(data.x.min()) and float(data.x.max()) <= 1


def test_bad_split_is_a_config_error():
    with pytest.raises(ConfigError, match="--split"):
        load_dataset(DataConfig(name="circles", split="validation"))


def test_dataset_table_rows(isolated_search):
    table = {row["name"]: row for row in dataset_table()}
    assert set(table) == EXPECTED_NAMES
    for row in table.values():
        assert set(row) == {"name", "kind", "description", "size", "shape", "available"}
        assert row["kind"] in (IMAGE, VECTOR) and row["description"] and row["size"]
    assert table["digits"]["available"] and table["circles"]["available"] and table["mnist5k"]["available"]
    assert not table["mnist"]["available"]  # nothing in the isolated search path, and no network is assumed
    assert table["fashion-mnist"]["shape"] == [1, 28, 28] and table["ring8"]["shape"] == [2]
    assert table["mnist"]["size"] == "60000 train/10000 test"


def test_dataset_shape_matches_the_table():
    table = {row["name"]: row for row in dataset_table()}
    for name in ("circles", "digits"):
        assert list(load_dataset(DataConfig(name=name)).shape) == table[name]["shape"]


def test_info_is_json_able():
    import json

    info = load_dataset(DataConfig(name="digits", n_examples=8)).info()
    assert json.loads(json.dumps(info))["n_examples"] == 8
    assert isinstance(load_dataset(DataConfig(name="digits")).x, torch.Tensor)
