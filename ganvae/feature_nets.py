"""The small networks whose layers serve as feature spaces: the network, its training, the classifiers shipped
inside ganvae and the cache of networks trained on the fly. The extractors that use them, and the choice of a
feature space for a dataset, are ``ganvae.metrics.features``; this module keeps training and files out of
``metrics/``.

- 28x28 grayscale MNIST-style sets: a classifier shipped in ``feature_weights/``, its file checked against the
  sha256 in ``feature_weights/manifest.json`` on every load (named ``classifier:fashion-mnist@<sha8>``);
- other image sets: the same kind of network trained on the fly (a classifier from the labels, or an
  autoencoder), cached under ``$XDG_CACHE_HOME/ganvae/features`` (or ``~/.cache/ganvae``) by a sha256 of the
  training data and the recipe, so each is trained once.

Images go in as (N, C, H, W) floats in [0, 1].
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import Dataset, name_part
from .errors import ConfigError, RunError
from .storage import cache_dir, cached_file, write_cache_file

__all__ = ["ConvFeatureNet", "NamedNetwork", "train_feature_net", "accuracy", "data_sha256", "network_bytes",
           "network_from_bytes", "read_manifest", "shipped_classifier_key", "load_shipped_network",
           "cached_network", "features_cache_dir", "WEIGHTS_DIR", "MANIFEST_NAME", "ON_THE_FLY", "EMBED_BATCH"]

FEATURE_DIM = 128
CHANNELS = (32, 64, 32)
MAX_POOLED_SIDE = 4  # the trunk ends at most 4x4 (average-pooled), so the 128-d layer stays small for large images
WEIGHTS_DIR = Path(__file__).with_name("feature_weights")
MANIFEST_NAME = "manifest.json"
EMBED_BATCH = 1000  # images per forward pass when embedding or measuring accuracy
# Recipe of the networks trained on the fly; part of the cache key, so changing it retrains.
ON_THE_FLY = {"epochs": 10, "max_steps": 3000, "batch_size": 128, "lr": 1e-3, "seed": 0, "version": 1}


class ConvFeatureNet(nn.Module):
    """Three 3x3 convolutions with stride 2 and ReLU (32, 64, 32 channels), a 128-d layer, then a linear head.

    x (B, C, H, W) in [0, 1] -> head output (B, n_outputs): class logits for a classifier, or pixel logits
    (n_outputs = C*H*W) for an autoencoder. ``embed`` gives the 128-d penultimate layer (after its ReLU), the
    features the metrics compare. For 28x28 inputs the trunk ends at 4x4x32; with 10 classes the network has
    104,234 parameters (0.4 MB in float32). Strided convolutions rather than max pooling: on CPU they embed
    images about ten times faster, which is what keeps evaluating 10,000 samples within seconds.
    """

    def __init__(self, in_channels: int, height: int, width: int, n_outputs: int,
                 channels: tuple[int, ...] = CHANNELS, feature_dim: int = FEATURE_DIM):
        super().__init__()
        layers: list[nn.Module] = []
        c, h, w = in_channels, height, width
        for out in channels:
            layers += [nn.Conv2d(c, out, 3, stride=2, padding=1), nn.ReLU()]
            c, h, w = out, (h + 1) // 2, (w + 1) // 2
        pooled = (min(h, MAX_POOLED_SIDE), min(w, MAX_POOLED_SIDE))
        layers += [nn.AdaptiveAvgPool2d(pooled), nn.Flatten(), nn.Linear(c * pooled[0] * pooled[1], feature_dim),
                   nn.ReLU()]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(feature_dim, n_outputs)
        self.architecture = {"in_channels": in_channels, "height": height, "width": width, "n_outputs": n_outputs,
                             "channels": list(channels), "feature_dim": feature_dim}

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, feature_dim)."""
        return self.trunk(x * 2.0 - 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    @classmethod
    def from_architecture(cls, architecture: dict) -> "ConvFeatureNet":
        return cls(architecture["in_channels"], architecture["height"], architecture["width"],
                   architecture["n_outputs"], tuple(architecture["channels"]), architecture["feature_dim"])


class NamedNetwork(NamedTuple):
    """A feature network ready to embed: the net (eval mode), the feature space's name recorded with results
    (``classifier:fashion-mnist@1a2b3c4d``), its number of classes (None for an autoencoder) and where it came
    from (JSON-able)."""

    net: ConvFeatureNet
    name: str
    n_classes: Optional[int]
    info: dict


def data_sha256(x: torch.Tensor, y: Optional[torch.Tensor] = None) -> str:
    """sha256 of the examples' float32 bytes (and labels' int64 bytes), with their shapes."""
    digest = hashlib.sha256()
    x = x.detach().cpu().to(torch.float32).contiguous()
    digest.update(repr(tuple(x.shape)).encode())
    digest.update(x.numpy().tobytes())
    if y is not None:
        digest.update(y.detach().cpu().to(torch.int64).contiguous().numpy().tobytes())
    return digest.hexdigest()


def train_feature_net(x: torch.Tensor, y: Optional[torch.Tensor], epochs: float, seed: int = 0,
                      batch_size: int = 128, lr: float = 1e-3, max_steps: Optional[int] = None,
                      log_every: int = 0) -> tuple[ConvFeatureNet, dict]:
    """Train a ConvFeatureNet on x (N, C, H, W) in [0, 1]: a classifier on labels y (N,), or, with y None,
    an autoencoder (BCE on pixels). Adam, fixed seed for weights and batch order. Returns the net in eval
    mode and a record of the training (steps, seconds, last loss, accuracy on x for a classifier)."""
    torch.manual_seed(seed)
    n_classes = int(y.max()) + 1 if y is not None else None
    n_outputs = n_classes if n_classes is not None else int(np.prod(x.shape[1:]))
    net = ConvFeatureNet(int(x.shape[1]), int(x.shape[2]), int(x.shape[3]), n_outputs)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(x) / batch_size)
    total_steps = math.ceil(epochs * steps_per_epoch)
    if max_steps is not None:
        total_steps = min(total_steps, max_steps)
    step, start, loss = 0, time.perf_counter(), torch.tensor(float("nan"))
    net.train()
    while step < total_steps:
        order = torch.randperm(len(x), generator=generator)
        for rows in order.split(batch_size):
            batch = x[rows]
            out = net(batch)
            if y is not None:
                loss = F.cross_entropy(out, y[rows])
            else:
                loss = F.binary_cross_entropy_with_logits(out, batch.flatten(1))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            if log_every and step % log_every == 0:
                print(f"step {step}/{total_steps}  loss {loss.item():.4f}  {time.perf_counter() - start:.0f} s",
                      flush=True)
            if step >= total_steps:
                break
    net.eval()
    record = {"steps": step, "epochs": round(step / steps_per_epoch, 3), "seed": seed, "batch_size": batch_size,
              "lr": lr, "seconds": round(time.perf_counter() - start, 1), "final_loss": round(float(loss.detach()), 5),
              "n_train": len(x)}
    if y is not None:
        record["train_accuracy"] = round(accuracy(net, x, y), 5)
    return net, record


@torch.no_grad()
def accuracy(net: ConvFeatureNet, x: torch.Tensor, y: torch.Tensor) -> float:
    correct = 0
    for start in range(0, len(x), EMBED_BATCH):
        correct += int((net(x[start:start + EMBED_BATCH]).argmax(1) == y[start:start + EMBED_BATCH]).sum())
    return correct / len(x)


def network_bytes(net: ConvFeatureNet, extra: dict) -> bytes:
    """A ConvFeatureNet as torch.save bytes holding only tensors and plain data (loadable with weights_only)."""
    buffer = io.BytesIO()
    torch.save({"state_dict": net.state_dict(), "architecture": net.architecture, **extra}, buffer)
    return buffer.getvalue()


def network_from_bytes(raw: bytes, where: str) -> tuple[ConvFeatureNet, dict]:
    try:
        saved = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        net = ConvFeatureNet.from_architecture(saved["architecture"])
        net.load_state_dict(saved["state_dict"])
    except Exception as error:  # torch raises many types for bad files
        raise RunError(f"{where} is not a readable feature network ({type(error).__name__}: {error})") from None
    return net.eval(), saved


def read_manifest(weights_dir: Path = WEIGHTS_DIR) -> dict:
    """The manifest of shipped classifiers: {"classifiers": {key: entry}}; empty when none is shipped."""
    path = Path(weights_dir) / MANIFEST_NAME
    if not path.is_file():
        return {"classifiers": {}}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise RunError(f"{path} is unreadable ({error}); reinstall ganvae") from None


def shipped_classifier_key(dataset_name: str, shape: tuple[int, ...], weights_dir: Path = WEIGHTS_DIR
                           ) -> Optional[str]:
    """Which shipped classifier serves this dataset (by name and example shape), or None."""
    for key, entry in read_manifest(weights_dir)["classifiers"].items():
        if dataset_name in entry["datasets"] and tuple(shape) == tuple(entry["input_shape"]):
            return key
    return None


def load_shipped_network(key: str, weights_dir: Path = WEIGHTS_DIR) -> NamedNetwork:
    """Load a shipped classifier after checking its file against the sha256 in the manifest."""
    entry = read_manifest(weights_dir)["classifiers"].get(key)
    if entry is None:
        raise ConfigError(f"no shipped feature classifier named {key!r}")
    path = Path(weights_dir) / entry["file"]
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RunError(f"the shipped feature classifier {path} is missing or unreadable "
                       f"({error.strerror or error}); reinstall ganvae") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != entry["sha256"]:
        raise RunError(f"the shipped feature classifier {path} fails its sha256 check (expected "
                       f"{entry['sha256'][:12]}..., found {digest[:12]}...); the file was changed or damaged, "
                       f"reinstall ganvae")
    net, _ = network_from_bytes(raw, str(path))
    info = {"kind": "classifier", "source": "shipped", "file": entry["file"], "sha256": digest,
            "test_accuracy": entry.get("test_accuracy"), "trained_on": entry.get("trained_on")}
    return NamedNetwork(net, f"classifier:{key}@{digest[:8]}", len(entry["class_names"]), info)


def features_cache_dir() -> Path:
    return cache_dir() / "features"


def cached_network(train_data: Dataset, kind: str, progress: bool = False) -> NamedNetwork:
    """A classifier (kind 'classifier', from train_data.y) or autoencoder ('autoencoder') for train_data,
    trained once and then loaded from the cache."""
    labels = train_data.y if kind == "classifier" else None
    recipe = json.dumps({**ON_THE_FLY, "kind": kind, "channels": CHANNELS, "feature_dim": FEATURE_DIM},
                        sort_keys=True)
    key = hashlib.sha256((recipe + data_sha256(train_data.x, labels)).encode()).hexdigest()
    path = features_cache_dir() / f"{kind}-{key[:16]}.pt"
    n_classes = int(labels.max()) + 1 if labels is not None else None
    name = f"{kind}:{name_part(train_data.name)}@{key[:8]}"
    if cached_file(path):
        try:
            net, saved = network_from_bytes(path.read_bytes(), str(path))
            return NamedNetwork(net, name, n_classes, {**saved["record"], "kind": kind, "source": "cache",
                                                       "path": str(path)})
        except (RunError, KeyError, OSError):
            pass  # a damaged cache entry is retrained and replaced below
    if progress:
        print(f"training a {kind} on {train_data.name} for its feature space (once; cached in {path.parent})")
    x = train_data.x.detach().cpu().float()
    net, record = train_feature_net(x, labels, epochs=ON_THE_FLY["epochs"], seed=ON_THE_FLY["seed"],
                                    batch_size=min(ON_THE_FLY["batch_size"], len(x)), lr=ON_THE_FLY["lr"],
                                    max_steps=ON_THE_FLY["max_steps"])
    # A cache that cannot be written is not an error: this network is used from memory (and trained again
    # next time).
    stored = write_cache_file(path, network_bytes(net, {"record": record}))
    return NamedNetwork(net, name, n_classes, {**record, "kind": kind, "source": "trained",
                                               "path": str(path) if stored else None})
