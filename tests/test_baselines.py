"""The hand-written baselines the benchmarks measure ganvae against feed their models the same data.

benchmarks/baselines/tutorial_gan.py's two pipelines (the tutorial's per-item Dataset and DataLoader, and the
bare preloaded loop used as the ceiling of any loop of that model) must give the same normalised images, each
image once per pass, or the comparison between them would measure different work.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "baselines"))

from tutorial_gan import ItemByItem, Preloaded  # noqa: E402


def test_preloaded_batches_are_the_item_by_item_images_each_once_per_pass():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(70, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(70)  # a tag to find each image again
    torch.manual_seed(0)
    batches = list(Preloaded(torch.from_numpy(images), batch_size=16))
    assert [b.shape for b in batches] == [(16, 28, 28)] * 4  # 70 // 16 full batches, the rest dropped
    per_item = ItemByItem(images)
    seen = []
    for batch in batches:
        assert batch.dtype == torch.float32 and batch.min() >= -1 and batch.max() <= 1
        for image in batch:
            tag = round(float((image[0, 0] * 0.5 + 0.5) * 255))
            torch.testing.assert_close(image, per_item[tag])
            seen.append(tag)
    assert len(set(seen)) == 64
    torch.manual_seed(1)
    assert [int(round(float((b[0, 0, 0] * 0.5 + 0.5) * 255))) for b in Preloaded(torch.from_numpy(images), 16)] \
        != [seen[16 * k] for k in range(4)]  # a new order each pass
