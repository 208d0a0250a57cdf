"""Train the feature classifier that ganvae ships for a 28x28 grayscale dataset, and record it in the manifest.

    python scripts/train_feature_classifier.py --data fashion-mnist
    python scripts/train_feature_classifier.py --data mnist5k      # also serves `mnist` (full MNIST is not offline)

Trains ganvae.feature_nets.ConvFeatureNet on the dataset's training split (Adam, fixed seed), prints its
accuracy on the test split, writes ganvae/feature_weights/classifier-<data>.pt and records the file's sha256,
the accuracy, the seed and this command in ganvae/feature_weights/manifest.json. Same seed, same torch build
and thread count give the same weights; other machines may differ in the last bits (and so in the sha256).
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch

from ganvae import __version__
from ganvae.config import DataConfig
from ganvae.data import load_dataset
from ganvae.feature_nets import (MANIFEST_NAME, WEIGHTS_DIR, accuracy, network_bytes, read_manifest,
                                 train_feature_net)
from ganvae.storage import atomic_write_bytes

# Datasets each shipped classifier serves besides its own. mnist5k is 5,000 real MNIST digits, so its
# classifier stands in for full MNIST, which cannot be had offline here.
ALSO_SERVES = {"mnist5k": ["mnist"]}
DEFAULT_EPOCHS = {"fashion-mnist": 5, "mnist5k": 20, "mnist": 3}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="fashion-mnist, mnist5k or mnist")
    parser.add_argument("--epochs", type=float, help="passes over the training split (default: per dataset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (fixed for reproducibility)")
    parser.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    train = load_dataset(DataConfig(name=args.data, split="train", download=False))
    test = load_dataset(DataConfig(name=args.data, split="test", download=False))
    if train.shape != (1, 28, 28):
        sys.exit(f"{args.data} holds images of shape {train.shape}; ganvae ships classifiers for 28x28 gray sets")
    epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS.get(args.data, 5)
    print(f"training on {len(train)} {args.data} images ({epochs:g} epochs, seed {args.seed}, "
          f"{args.threads} threads)", flush=True)
    net, record = train_feature_net(train.x, train.y, epochs=epochs, seed=args.seed,
                                    log_every=max(1, len(train) // 128 // 4))
    test_accuracy = accuracy(net, test.x, test.y)
    print(f"test accuracy on {len(test)} {args.data} test images: {test_accuracy:.4f} "
          f"(train {record['train_accuracy']:.4f}, {record['seconds']:.0f} s)")

    raw = network_bytes(net, {"class_names": list(train.class_names), "dataset": args.data})
    file_name = f"classifier-{args.data}.pt"
    args.weights_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.weights_dir / file_name, raw)
    sha256 = hashlib.sha256(raw).hexdigest()
    command = "python scripts/train_feature_classifier.py --data " + args.data + \
        (f" --epochs {args.epochs:g}" if args.epochs is not None else "") + \
        (f" --seed {args.seed}" if args.seed != 0 else "")
    manifest = read_manifest(args.weights_dir)
    manifest["format"] = "ganvae-feature-classifiers"
    manifest["version"] = 1
    manifest["classifiers"][args.data] = {
        "file": file_name,
        "sha256": sha256,
        "bytes": len(raw),
        "datasets": [args.data] + ALSO_SERVES.get(args.data, []),
        "input_shape": [1, 28, 28],
        "class_names": list(train.class_names),
        "trained_on": f"{args.data} train split ({len(train)} images)",
        "test_accuracy": round(test_accuracy, 4),
        "test_examples": len(test),
        "train_accuracy": record["train_accuracy"],
        "n_parameters": sum(p.numel() for p in net.parameters()),
        "epochs": record["epochs"],
        "steps": record["steps"],
        "batch_size": record["batch_size"],
        "lr": record["lr"],
        "seed": args.seed,
        "threads": args.threads,
        "command": command,
        "seconds": record["seconds"],
        "torch_version": torch.__version__,
        "ganvae_version": __version__,
        "trained_at": time.strftime("%Y-%m-%d"),
    }
    manifest_text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(args.weights_dir / MANIFEST_NAME, manifest_text.encode())
    print(f"wrote {args.weights_dir / file_name} ({len(raw) / 1024:.0f} KiB, sha256 {sha256[:16]}...)")


if __name__ == "__main__":
    main()
