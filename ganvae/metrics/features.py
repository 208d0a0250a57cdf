"""Feature spaces: where generated and real examples are compared before any metric is computed.

- vectors: the raw space, standardised by the training split's mean and spread (``raw:standardised``);
- 28x28 grayscale MNIST-style sets: a small classifier shipped inside ganvae (``classifier:fashion-mnist@<sha8>``);
- other labelled image sets: the same kind of network trained on the fly from the labels;
- unlabelled image sets: the code of a small autoencoder with the same encoder;
- on request, Inception-v3 through torch-fidelity, for numbers comparable with published FIDs.

This module holds the extractors and the choice among them; the networks behind the classifier and autoencoder
spaces (their training, the shipped weights and their checksums, the cache of networks trained on the fly) are
``ganvae.feature_nets``. Images go in as (N, C, H, W) floats in [0, 1]; vectors as (N, D) in the data's own units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..data import IMAGE, VECTOR, Dataset
from ..errors import ConfigError, DataError
from ..feature_nets import (EMBED_BATCH, WEIGHTS_DIR, ConvFeatureNet, NamedNetwork, cached_network,
                            load_shipped_network, shipped_classifier_key)

__all__ = ["FEATURE_KINDS", "FeatureExtractor", "RawFeatures", "NetworkFeatures", "InceptionFeatures",
           "feature_extractor_for", "load_shipped_classifier", "cached_feature_net"]

FEATURE_KINDS = ("auto", "classifier", "inception", "raw")


class FeatureExtractor:
    """Maps examples to feature vectors; some also predict a class.

    name: recorded with every result, e.g. ``classifier:fashion-mnist@1a2b3c4d``, ``raw:standardised``.
    n_classes: number of classes ``predict`` can return, or None when the extractor has no classes.
    info: a JSON-able description (where the weights came from, their accuracy).
    """

    name: str = ""
    n_classes: Optional[int] = None
    info: dict = {}

    def embed(self, x: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """(features (N, F) float32, predicted classes (N,) int64 or None) in one pass."""
        raise NotImplementedError

    def features(self, x: np.ndarray) -> np.ndarray:
        return self.embed(x)[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.n_classes is None:
            raise ConfigError(f"the feature space {self.name} has no classes to predict")
        return self.embed(x)[1]


class RawFeatures(FeatureExtractor):
    """The examples themselves, flattened, as (x - offset) / scale (identity for image pixels)."""

    def __init__(self, offset: np.ndarray, scale: np.ndarray, name: str):
        self.offset = np.asarray(offset, dtype=np.float32).reshape(-1)  # (D,)
        self.scale = np.asarray(scale, dtype=np.float32).reshape(-1)  # (D,)
        self.name = name
        self.info = {"kind": "raw"}

    def embed(self, x):
        flat = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        return (flat - self.offset) / self.scale, None


class NetworkFeatures(FeatureExtractor):
    """The penultimate layer of a ConvFeatureNet; its head's argmax gives classes when it is a classifier."""

    def __init__(self, net: ConvFeatureNet, name: str, n_classes: Optional[int], info: Optional[dict] = None):
        self.net = net.eval()
        self.name = name
        self.n_classes = n_classes
        self.info = dict(info or {})

    @classmethod
    def of(cls, network: NamedNetwork) -> "NetworkFeatures":
        return cls(network.net, network.name, network.n_classes, network.info)

    @torch.no_grad()
    def embed(self, x):
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        arch = self.net.architecture
        expected = (arch["in_channels"], arch["height"], arch["width"])
        if tuple(x.shape[1:]) != expected:
            raise DataError(f"the feature network {self.name} takes images of shape {expected}, "
                            f"got {tuple(x.shape[1:])}")
        features, predictions = [], []
        for start in range(0, len(x), EMBED_BATCH):
            hidden = self.net.embed(x[start:start + EMBED_BATCH])  # (B, 128)
            features.append(hidden.numpy())
            if self.n_classes is not None:
                predictions.append(self.net.head(hidden).argmax(1).numpy())
        feats = np.concatenate(features).astype(np.float32)
        return feats, (np.concatenate(predictions).astype(np.int64) if self.n_classes is not None else None)


INCEPTION_WEIGHTS_ENV = "GANVAE_INCEPTION_WEIGHTS"


class InceptionFeatures(FeatureExtractor):
    """Inception-v3 pool features (2048-d) from torch-fidelity, on images repeated to 3 channels and
    quantised to uint8 (torch-fidelity resizes them to 299x299 itself).

    The weights come from torch-fidelity's download on first use, or, offline, from the file named by the
    environment variable GANVAE_INCEPTION_WEIGHTS (torch-fidelity's weights-inception-2015-12-05-6726825d.pth).
    """

    name = "inception-v3:torch-fidelity"

    def __init__(self, weights_path: Optional[str] = None):
        import os

        weights_path = weights_path or os.environ.get(INCEPTION_WEIGHTS_ENV) or None
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except Exception as error:  # absent (ImportError), or torchvision broken beside this torch (anything)
            raise ConfigError(f"--features inception needs the torch-fidelity package, which failed to import "
                              f"({type(error).__name__}: {_first_line(error)}); install it with "
                              f"`pip install ganvae[inception]` (it needs a torchvision that matches your torch), "
                              f"or use --features auto") from None
        if weights_path is not None and not Path(weights_path).is_file():
            raise ConfigError(f"{INCEPTION_WEIGHTS_ENV} names {weights_path}, which is not a file; point it at "
                              f"torch-fidelity's weights-inception-2015-12-05-6726825d.pth or unset it")
        try:
            self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                   feature_extractor_weights_path=weights_path).eval()
        except Exception as error:  # a failed weight download surfaces as URLError, OSError, RuntimeError...
            where = weights_path or "torch-fidelity's download"
            raise ConfigError(f"--features inception could not load the Inception-v3 weights from {where} "
                              f"({type(error).__name__}: {_first_line(error)}); offline, download "
                              f"weights-inception-2015-12-05-6726825d.pth elsewhere and set "
                              f"{INCEPTION_WEIGHTS_ENV} to its path, or use --features auto") from None
        self.info = {"kind": "inception", "package": "torch-fidelity", "weights": weights_path or "downloaded"}

    @torch.no_grad()
    def embed(self, x):
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise DataError(f"Inception features need images (N, 1 or 3, H, W), got shape {tuple(x.shape)}")
        features = []
        for start in range(0, len(x), 100):
            batch = x[start:start + 100]
            batch = batch.expand(-1, 3, -1, -1) if batch.shape[1] == 1 else batch
            uint8 = (batch.clamp(0, 1) * 255).round().to(torch.uint8)  # (B, 3, H, W)
            features.append(self.net(uint8)[0].reshape(len(batch), -1).numpy())
        return np.concatenate(features).astype(np.float32), None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"


def load_shipped_classifier(key: str, weights_dir: Path = WEIGHTS_DIR) -> NetworkFeatures:
    """The shipped classifier `key` as an extractor, after checking its file against the manifest's sha256."""
    return NetworkFeatures.of(load_shipped_network(key, weights_dir))


def cached_feature_net(train_data: Dataset, kind: str, progress: bool = False) -> NetworkFeatures:
    """A classifier (kind 'classifier', from train_data.y) or autoencoder ('autoencoder') for train_data as an
    extractor, trained once and then loaded from the cache."""
    return NetworkFeatures.of(cached_network(train_data, kind, progress))


def _has_labels(data: Dataset) -> bool:
    return data.y is not None and len(torch.unique(data.y)) >= 2


def feature_extractor_for(train_data: Dataset, kind: str = "auto", progress: bool = False) -> FeatureExtractor:
    """The feature space for a dataset, given its training split (whose labels and statistics define it).

    kind 'auto': vectors -> raw standardised; the registered 28x28 grayscale sets with shipped weights (not
    a file or folder of the same name) -> the shipped classifier; other labelled images -> a classifier trained
    on the fly; unlabelled images -> an autoencoder.
    kind 'classifier' insists on a classifier, 'raw' on the raw space, 'inception' on Inception-v3.
    """
    if kind not in FEATURE_KINDS:
        raise ConfigError(f"--features must be one of {', '.join(FEATURE_KINDS)}, not {kind!r}")
    if kind == "inception":
        if train_data.kind != IMAGE:
            raise ConfigError("--features inception needs image data; use --features raw for vectors")
        return InceptionFeatures()
    if kind == "raw" or (kind == "auto" and train_data.kind == VECTOR):
        if train_data.kind == VECTOR:
            values = train_data.to_original(train_data.x.detach().cpu().numpy()).astype(np.float64)
            offset = values.mean(0)
            scale = values.std(0)
            scale[~(scale > 0)] = 1.0
            return RawFeatures(offset, scale, "raw:standardised")
        dims = int(np.prod(train_data.shape))
        return RawFeatures(np.zeros(dims), np.ones(dims), "raw:pixels")
    if train_data.kind == VECTOR:
        raise ConfigError("--features classifier needs image data; vectors are compared in their standardised "
                          "raw space (--features raw or auto)")
    # Only the registered dataset itself: a user's folder that happens to be named fashion-mnist is other data.
    shipped = None if train_data.from_path else shipped_classifier_key(train_data.name, train_data.shape)
    if shipped is not None:
        return load_shipped_classifier(shipped)
    if _has_labels(train_data):
        return cached_feature_net(train_data, "classifier", progress)
    if kind == "classifier":
        raise ConfigError(f"--features classifier needs labelled data, and {train_data.name} has no labels "
                          f"(put images in one subfolder per class); use --features auto for an autoencoder's "
                          f"code, or --features raw")
    return cached_feature_net(train_data, "autoencoder", progress)
