import numpy as np
import pytest
import torch
from PIL import Image

from ganvae.config import DataConfig
from ganvae.data import IMAGE, VECTOR, load_dataset
from ganvae.errors import ConfigError, DataError


def load(path, **cfg):
    return load_dataset(DataConfig(name=str(path), **cfg))


def save_gray(path, value, size=(6, 4)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], value, dtype=np.uint8), mode="L").save(path)


def save_rgb(path, rgb, size=(6, 4)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.tile(np.array(rgb, dtype=np.uint8), (size[1], size[0], 1)), mode="RGB").save(path)


# Folders of images


def test_gray_folder_keeps_a_shared_size(tmp_path):
    save_gray(tmp_path / "a.png", 0)
    save_gray(tmp_path / "b.png", 255)
    data = load(tmp_path)
    assert data.kind == IMAGE and data.x.shape == (2, 1, 4, 6)  # (N, C, H, W), W=6 H=4
    assert data.x[0].max() == 0 and data.x[1].min() == 1
    assert data.y is None


def test_rgb_folder_and_mixed_modes_become_rgb(tmp_path):
    save_rgb(tmp_path / "red.png", (255, 0, 0))
    save_gray(tmp_path / "gray.png", 51)
    data = load(tmp_path)
    assert data.x.shape == (2, 3, 4, 6)
    gray, red = data.x[0], data.x[1]  # files are read in sorted order
    assert torch.allclose(gray, torch.full_like(gray, 0.2))
    assert torch.allclose(red[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))


def test_jpeg_is_read(tmp_path):
    save_rgb(tmp_path / "a.jpg", (0, 0, 255), size=(8, 8))
    data = load(tmp_path)
    assert data.x.shape == (1, 3, 8, 8)
    assert float(data.x[0, 2].mean()) > 0.9 and float(data.x[0, 0].mean()) < 0.1


def test_mixed_sizes_are_resized_to_28(tmp_path):
    save_gray(tmp_path / "small.png", 200, size=(10, 10))
    save_gray(tmp_path / "large.png", 100, size=(40, 30))
    data = load(tmp_path)
    assert data.x.shape == (2, 1, 28, 28)
    assert torch.allclose(data.x[1], torch.full((1, 28, 28), 200 / 255), atol=1e-3)


def test_image_size_is_applied(tmp_path):
    save_gray(tmp_path / "a.png", 10, size=(10, 10))
    assert load(tmp_path, image_size=16).x.shape == (1, 1, 16, 16)


def test_subfolders_are_classes_and_hidden_files_are_skipped(tmp_path):
    save_gray(tmp_path / "cats" / "1.png", 10)
    save_gray(tmp_path / "cats" / "2.png", 20)
    save_gray(tmp_path / "dogs" / "deep" / "3.png", 30)
    save_gray(tmp_path / ".thumbs" / "4.png", 40)
    (tmp_path / "notes.txt").write_text("not an image")
    data = load(tmp_path)
    assert len(data) == 3
    assert data.class_names == ("cats", "dogs")
    assert data.y.tolist() == [0, 0, 1]


def test_alpha_is_composited_on_black_and_16_bit_is_scaled(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[...] = (255, 255, 255, 128)
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)).save(tmp_path / "b.png")
    data = load(tmp_path)
    assert data.x.shape == (2, 3, 4, 4)
    assert torch.allclose(data.x[0], torch.full((3, 4, 4), 128 / 255), atol=1e-3)
    assert torch.allclose(data.x[1], torch.ones(3, 4, 4))


def test_gray_palette_image_counts_as_gray(tmp_path):
    Image.fromarray(np.full((4, 4), 77, dtype=np.uint8), mode="L").convert("P").save(tmp_path / "p.png")
    save_gray(tmp_path / "q.png", 0, size=(4, 4))
    assert Image.open(tmp_path / "p.png").mode == "P"
    data = load(tmp_path)
    assert data.x.shape == (2, 1, 4, 4)
    assert torch.allclose(data.x[0], torch.full((1, 4, 4), 77 / 255), atol=1e-3)


def test_empty_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataError, match="holds no .png/.jpg/.jpeg images"):
        load(tmp_path)


def test_unreadable_image_is_named(tmp_path):
    save_gray(tmp_path / "good.png", 0)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="cannot read image .*bad.png"):
        load(tmp_path)


def test_truncated_image_is_named(tmp_path):
    save_gray(tmp_path / "whole.png", 0, size=(64, 64))
    raw = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="cut.png"):
        load(tmp_path)


def test_user_files_have_no_test_split(tmp_path):
    save_gray(tmp_path / "a.png", 0)
    with pytest.raises(ConfigError, match="--split test"):
        load(tmp_path, split="test")


# .npy and .npz arrays


def test_rank2_array_is_standardised_vectors(tmp_path):
    values = np.array([[1.0, 10.0, 5.0], [3.0, 30.0, 5.0], [5.0, 50.0, 5.0]])
    np.save(tmp_path / "v.npy", values)
    data = load(tmp_path / "v.npy")
    assert data.kind == VECTOR and data.x.shape == (3, 3)
    assert np.allclose(data.x.numpy().mean(0), 0, atol=1e-6)
    assert np.allclose(data.scale, [np.std([1, 3, 5]), np.std([10, 30, 50]), 1.0])
    assert np.allclose(data.to_original(data.x.numpy()), values, atol=1e-5)


def test_rank3_uint8_images(tmp_path):
    values = np.arange(2 * 5 * 7, dtype=np.uint8).reshape(2, 5, 7) * 3
    np.save(tmp_path / "i.npy", values)
    data = load(tmp_path / "i.npy")
    assert data.kind == IMAGE and data.x.shape == (2, 1, 5, 7)
    assert torch.allclose(data.x[:, 0], torch.tensor(values / 255.0, dtype=torch.float32))


@pytest.mark.parametrize("shape,expected", [((4, 3, 8, 9), (4, 3, 8, 9)), ((4, 8, 9, 3), (4, 3, 8, 9)),
                                            ((4, 1, 8, 9), (4, 1, 8, 9)), ((4, 8, 9, 1), (4, 1, 8, 9))])
def test_rank4_layouts(tmp_path, shape, expected):
    values = np.random.default_rng(0).random(shape).astype(np.float32)
    np.save(tmp_path / "i.npy", values)
    data = load(tmp_path / "i.npy")
    assert data.x.shape == expected
    if shape[-1] in (1, 3) and shape[1] not in (1, 3):
        assert torch.equal(data.x, torch.from_numpy(values.transpose(0, 3, 1, 2)))


def test_rank4_with_other_channel_counts_is_rejected(tmp_path):
    np.save(tmp_path / "i.npy", np.zeros((2, 5, 8, 8), dtype=np.float32))
    with pytest.raises(DataError, match="1 or 3 channels"):
        load(tmp_path / "i.npy")


def test_float_images_in_0_255_are_divided_and_out_of_range_rejected(tmp_path):
    np.save(tmp_path / "a.npy", np.full((2, 4, 4), 127.5))
    assert torch.allclose(load(tmp_path / "a.npy").x, torch.full((2, 1, 4, 4), 0.5))
    np.save(tmp_path / "b.npy", np.full((2, 4, 4), -0.5))
    with pytest.raises(DataError, match=r"span \[-0.5, -0.5\]"):
        load(tmp_path / "b.npy")
    np.save(tmp_path / "c.npy", np.full((2, 4, 4), 300, dtype=np.int32))
    with pytest.raises(DataError, match="0..255"):
        load(tmp_path / "c.npy")


def test_binary_integer_images_stay_binary(tmp_path):
    np.save(tmp_path / "b.npy", np.eye(4, dtype=np.uint8)[None].repeat(3, 0))
    assert float(load(tmp_path / "b.npy").x.max()) == 1.0


def test_nan_and_inf_are_counted(tmp_path):
    values = np.zeros((3, 4))
    values[0, 0], values[1, 2], values[2, 3] = np.nan, np.inf, -np.inf
    np.save(tmp_path / "n.npy", values)
    with pytest.raises(DataError, match="3 NaN or infinite values"):
        load(tmp_path / "n.npy")


@pytest.mark.parametrize("values,match", [
    (np.zeros(5), r"shape \[5\]"),
    (np.zeros((2, 2, 2, 2, 2)), r"shape \[2, 2, 2, 2, 2\]"),
    (np.array([["a", "b"], ["c", "d"]]), "<U1 values"),
    (np.zeros((2, 2), dtype=np.complex64), "complex64 values"),
    (np.zeros((0, 3)), "empty array"),
])
def test_bad_arrays(tmp_path, values, match):
    np.save(tmp_path / "bad.npy", values)
    with pytest.raises(DataError, match=match):
        load(tmp_path / "bad.npy")


def test_pickled_object_array_is_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="cannot read .*o.npy as a NumPy array"):
        load(tmp_path / "o.npy")


def test_npz_with_x_and_y(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 4, 4), dtype=np.uint8), y=np.array([2, 0, 1]), extra=np.ones(2))
    data = load(tmp_path / "d.npz")
    assert data.x.shape == (3, 1, 4, 4) and data.y.tolist() == [2, 0, 1] and data.y.dtype == torch.int64


def test_npz_single_array_and_ambiguous_keys(tmp_path):
    np.savez(tmp_path / "one.npz", points=np.ones((4, 2)))
    assert load(tmp_path / "one.npz").x.shape == (4, 2)
    np.savez(tmp_path / "two.npz", a=np.ones((4, 2)), b=np.ones((4, 2)))
    with pytest.raises(DataError, match="key 'x'"):
        load(tmp_path / "two.npz")


def test_npz_labels_must_match(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((4, 2)), y=np.array([0, 1]))
    with pytest.raises(DataError, match="labels 'y' must be 4 whole numbers"):
        load(tmp_path / "d.npz")


def test_missing_path_is_named(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "absent.npy")


# CSV tables


def test_csv_with_header_standardised_and_round_trip(tmp_path):
    (tmp_path / "t.csv").write_text("height,weight,const\n1.5,60,7\n1.7,80,7\n\n1.9,70,7\n")
    data = load(tmp_path / "t.csv")
    original = np.array([[1.5, 60, 7], [1.7, 80, 7], [1.9, 70, 7]])
    assert data.kind == VECTOR and data.x.shape == (3, 3)
    assert np.allclose(data.offset, original.mean(0))
    assert np.allclose(data.scale, [original[:, 0].std(), original[:, 1].std(), 1.0])
    assert np.allclose(data.x.numpy().std(0), [1, 1, 0], atol=1e-5)
    assert np.allclose(data.to_original(data.x.numpy()), original, atol=1e-4)
    assert data.info()["offset"] == pytest.approx(list(original.mean(0)))


def test_csv_without_header(tmp_path):
    (tmp_path / "t.csv").write_text("1,2\n3,4\n5,6\n")
    data = load(tmp_path / "t.csv")
    assert data.x.shape == (3, 2)
    assert np.allclose(data.to_original(data.x.numpy()), [[1, 2], [3, 4], [5, 6]], atol=1e-5)


def test_csv_non_numeric_column_names_column_and_line(tmp_path):
    (tmp_path / "t.csv").write_text("a,colour\n1,2\n3,red\n")
    with pytest.raises(DataError, match=r"'red' in column 2 \('colour'\) at line 3"):
        load(tmp_path / "t.csv")


def test_csv_missing_value_names_column_and_line(tmp_path):
    (tmp_path / "t.csv").write_text("1,2,3\n4,,6\n")
    with pytest.raises(DataError, match="missing value in column 2 at line 2"):
        load(tmp_path / "t.csv")
    (tmp_path / "u.csv").write_text("1,2\nNA,3\n")
    with pytest.raises(DataError, match="missing value in column 1 at line 2"):
        load(tmp_path / "u.csv")


@pytest.mark.parametrize("text,match", [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("a,b\n", "has a header but no data rows"),
    ("1,2\n3\n", "line 2 has 1 values but the table has 2 columns"),
    ("1,inf\n", "non-finite value 'inf'"),
    ("1e308,1\n1e308,2\n", "too large"),
])
def test_bad_csv(tmp_path, text, match):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(DataError, match=match):
        load(tmp_path / "t.csv")


def test_csv_that_is_not_text(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataError, match="not UTF-8"):
        load(tmp_path / "t.csv")
