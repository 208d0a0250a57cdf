"""Feature spaces: shapes, determinism, the shipped classifiers' checksum, and the on-the-fly cache."""

import importlib.util
import shutil

import numpy as np
import pytest
import torch

from ganvae.config import DataConfig
from ganvae.data import Dataset, load_dataset
from ganvae.errors import ConfigError, RunError
from ganvae import feature_nets
from ganvae.metrics import features
from ganvae.feature_nets import ConvFeatureNet, read_manifest, shipped_classifier_key
from ganvae.metrics.features import feature_extractor_for, load_shipped_classifier

SHIPPED = read_manifest()["classifiers"]
needs_shipped = pytest.mark.skipif("fashion-mnist" not in SHIPPED, reason="no shipped fashion-mnist classifier")


def fashion_available():
    try:
        load_dataset(DataConfig(name="fashion-mnist", split="test", download=False))
    except Exception:
        return False
    return True


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (3, 32, 32), (3, 64, 48)])
def test_conv_feature_net_gives_128_features_for_any_image_size(shape):
    net = ConvFeatureNet(shape[0], shape[1], shape[2], n_outputs=10)
    x = torch.rand(3, *shape)
    assert net.embed(x).shape == (3, 128) and net(x).shape == (3, 10)
    assert sum(p.numel() for p in net.parameters()) * 4 < 1_000_000  # well under 1 MB in float32


def test_raw_features_standardise_vectors_by_the_training_split():
    data = load_dataset(DataConfig(name="ring8"))
    extractor = feature_extractor_for(data)
    assert extractor.name == "raw:standardised" and extractor.n_classes is None
    feats = extractor.features(data.x.numpy())
    assert feats.shape == (len(data), 2)
    np.testing.assert_allclose(feats.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(feats.std(0), 1, atol=1e-4)
    with pytest.raises(ConfigError, match="has no classes"):
        extractor.predict(data.x.numpy())


def test_raw_features_of_images_are_the_pixels():
    data = load_dataset(DataConfig(name="digits"))
    extractor = feature_extractor_for(data, "raw")
    assert extractor.name == "raw:pixels"
    np.testing.assert_array_equal(extractor.features(data.x[:5].numpy()), data.x[:5].reshape(5, -1).numpy())


def test_wrong_kinds_are_config_errors():
    vectors = load_dataset(DataConfig(name="ring8"))
    with pytest.raises(ConfigError, match="needs image data"):
        feature_extractor_for(vectors, "classifier")
    with pytest.raises(ConfigError, match="--features must be one of"):
        feature_extractor_for(vectors, "vgg")
    unlabelled = Dataset(name="plain", x=torch.rand(20, 1, 8, 8), kind="image", source="test")
    with pytest.raises(ConfigError, match="needs labelled data"):
        feature_extractor_for(unlabelled, "classifier")


@pytest.mark.skipif(importlib.util.find_spec("torch_fidelity") is not None, reason="torch-fidelity is installed")
def test_inception_without_torch_fidelity_says_what_to_install_in_one_line():
    with pytest.raises(ConfigError, match="pip install ganvae\\[inception\\]") as error:
        feature_extractor_for(load_dataset(DataConfig(name="digits")), "inception")
    assert "\n" not in str(error.value)


class FakeInception(torch.nn.Module):
    """Stands in for torch-fidelity's FeatureExtractorInceptionV3 (whose real weights cannot be had offline):
    same constructor and call convention, fails like a download offline without a weights path, and records
    what ganvae feeds it. Its 2048 'features' are each image's mean grey level, repeated."""

    instances = []

    def __init__(self, name, features_list, feature_extractor_weights_path=None):
        super().__init__()
        if feature_extractor_weights_path is None:
            raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")
        self.name, self.features_list, self.weights_path = name, features_list, feature_extractor_weights_path
        self.inputs = []
        FakeInception.instances.append(self)

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.dim() == 4 and x.shape[1] == 3  # torch-fidelity's own checks
        self.inputs.append(x)
        return (x.float().mean((1, 2, 3))[:, None].expand(-1, 2048).contiguous(),)


@pytest.fixture
def fake_torch_fidelity(monkeypatch):
    import sys
    import types

    module = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    module.FeatureExtractorInceptionV3 = FakeInception
    monkeypatch.setitem(sys.modules, "torch_fidelity", types.ModuleType("torch_fidelity"))
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", module)
    monkeypatch.delenv(features.INCEPTION_WEIGHTS_ENV, raising=False)
    FakeInception.instances.clear()
    return FakeInception


def test_inception_offline_without_weights_says_how_to_point_at_them_in_one_line(fake_torch_fidelity):
    with pytest.raises(ConfigError, match="could not load the Inception-v3 weights.*GANVAE_INCEPTION_WEIGHTS") \
            as error:
        feature_extractor_for(load_dataset(DataConfig(name="digits")), "inception")
    assert "\n" not in str(error.value) and "name resolution" in str(error.value)


def test_inception_weights_variable_naming_a_missing_file_is_one_line(fake_torch_fidelity, monkeypatch, tmp_path):
    monkeypatch.setenv(features.INCEPTION_WEIGHTS_ENV, str(tmp_path / "nope.pth"))
    with pytest.raises(ConfigError, match="nope.pth, which is not a file") as error:
        feature_extractor_for(load_dataset(DataConfig(name="digits")), "inception")
    assert "\n" not in str(error.value)


def test_inception_features_feed_torch_fidelity_three_channel_uint8(fake_torch_fidelity, monkeypatch, tmp_path):
    weights = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    weights.write_bytes(b"stand-in")
    monkeypatch.setenv(features.INCEPTION_WEIGHTS_ENV, str(weights))
    extractor = feature_extractor_for(load_dataset(DataConfig(name="digits")), "inception")
    net = fake_torch_fidelity.instances[-1]
    assert net.weights_path == str(weights) and net.features_list == ["2048"]
    images = np.random.default_rng(0).random((250, 1, 8, 8)).astype(np.float32)
    images[0] = 1.0
    feats, predictions = extractor.embed(images)
    assert feats.shape == (250, 2048) and feats.dtype == np.float32 and predictions is None
    assert [len(batch) for batch in net.inputs] == [100, 100, 50]
    fed = torch.cat(net.inputs)
    assert fed.shape == (250, 3, 8, 8) and bool((fed[:, 0] == fed[:, 2]).all())  # grey repeated to RGB
    assert torch.equal(fed[:, 0], torch.from_numpy(np.round(images[:, 0] * 255)).to(torch.uint8))
    assert feats[0, 0] == 255.0
    assert extractor.name == "inception-v3:torch-fidelity" and extractor.info["weights"] == str(weights)


def test_inception_that_fails_to_import_is_one_line(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", None)  # import fails
    with pytest.raises(ConfigError, match="failed to import.*pip install ganvae\\[inception\\]") as error:
        feature_extractor_for(load_dataset(DataConfig(name="digits")), "inception")
    assert "\n" not in str(error.value)


@needs_shipped
def test_shipped_classifiers_serve_the_28x28_gray_sets():
    assert shipped_classifier_key("fashion-mnist", (1, 28, 28)) == "fashion-mnist"
    assert shipped_classifier_key("mnist", (1, 28, 28)) == "mnist5k"
    assert shipped_classifier_key("mnist5k", (1, 28, 28)) == "mnist5k"
    assert shipped_classifier_key("mnist5k", (1, 32, 32)) is None  # resized images get their own network
    for key, entry in SHIPPED.items():
        assert entry["bytes"] < 1_000_000 and 0.8 < entry["test_accuracy"] <= 1, key


@needs_shipped
def test_shipped_classifier_features_are_deterministic_and_predict_classes():
    extractor = load_shipped_classifier("fashion-mnist")
    assert extractor.name.startswith("classifier:fashion-mnist@") and extractor.n_classes == 10
    x = np.random.default_rng(0).random((50, 1, 28, 28), dtype=np.float32)
    feats, predictions = extractor.embed(x)
    assert feats.shape == (50, 128) and feats.dtype == np.float32 and (feats >= 0).all()
    assert predictions.shape == (50,) and predictions.min() >= 0 and predictions.max() < 10
    again, _ = load_shipped_classifier("fashion-mnist").embed(x)
    np.testing.assert_array_equal(feats, again)


@needs_shipped
@pytest.mark.skipif(not fashion_available(), reason="Fashion-MNIST IDX files are not here")
def test_shipped_fashion_classifier_keeps_its_recorded_test_accuracy():
    test = load_dataset(DataConfig(name="fashion-mnist", split="test", download=False))
    predictions = load_shipped_classifier("fashion-mnist").predict(test.x[:2000].numpy())
    accuracy = (predictions == test.y[:2000].numpy()).mean()
    assert accuracy == pytest.approx(SHIPPED["fashion-mnist"]["test_accuracy"], abs=0.02)


@needs_shipped
def test_a_tampered_shipped_classifier_is_refused(tmp_path):
    copy = tmp_path / "weights"
    shutil.copytree(feature_nets.WEIGHTS_DIR, copy)
    load_shipped_classifier("fashion-mnist", weights_dir=copy)  # the untouched copy loads
    path = copy / SHIPPED["fashion-mnist"]["file"]
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0x01  # one flipped bit in the weights
    path.write_bytes(bytes(raw))
    with pytest.raises(RunError, match="fails its sha256 check"):
        load_shipped_classifier("fashion-mnist", weights_dir=copy)
    path.unlink()
    with pytest.raises(RunError, match="missing or unreadable"):
        load_shipped_classifier("fashion-mnist", weights_dir=copy)


@pytest.fixture
def quick_recipe(monkeypatch):
    monkeypatch.setitem(feature_nets.ON_THE_FLY, "max_steps", 30)


@pytest.fixture(scope="module")
def small_digits():
    digits = load_dataset(DataConfig(name="digits"))
    return Dataset(name="digits", x=digits.x[:400], kind="image", source="test", y=digits.y[:400])


def test_on_the_fly_classifier_is_trained_once_then_loaded_from_the_cache(quick_recipe, small_digits):
    first = feature_extractor_for(small_digits)
    assert first.name.startswith("classifier:digits@") and first.info["source"] == "trained"
    assert first.info["steps"] == 30 and first.info["train_accuracy"] > 0.3  # chance is 0.1
    assert len(list(feature_nets.features_cache_dir().glob("*.pt"))) == 1
    second = feature_extractor_for(small_digits)
    assert second.info["source"] == "cache" and second.name == first.name
    x = small_digits.x[:40].numpy()
    np.testing.assert_array_equal(first.features(x), second.features(x))
    np.testing.assert_array_equal(first.predict(x), second.predict(x))
    other = Dataset(name="digits", x=small_digits.x[:300], kind="image", source="test", y=small_digits.y[:300])
    assert feature_extractor_for(other).name != first.name  # other data, other network


def test_a_damaged_cache_entry_is_retrained(quick_recipe, small_digits):
    feature_extractor_for(small_digits)
    (path,) = feature_nets.features_cache_dir().glob("*.pt")
    path.write_bytes(b"not a torch file")
    assert feature_extractor_for(small_digits).info["source"] == "trained"


def test_unlabelled_images_get_an_autoencoder_code(quick_recipe, small_digits):
    x = small_digits.x[:300]
    extractor = feature_extractor_for(Dataset(name="my-folder", x=x, kind="image", source="test"))
    assert extractor.name.startswith("autoencoder:my-folder@") and extractor.n_classes is None
    assert extractor.features(x[:7].numpy()).shape == (7, 128)
