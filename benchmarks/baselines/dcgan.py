"""A plain DCGAN, as a competent user writes it in an afternoon: preloaded tensors, one loop, no logging.

Two strided convolutions each side with BatchNorm in G and D (Radford et al. 2016), noise 100, Adam 2e-4
(0.5, 0.999), batch 64, the non-saturating loss. Run, for example:
    python benchmarks/baselines/dcgan.py --seconds 300 --seed 0 --out runs/baselines
    ganvae evaluate runs/baselines/dcgan-seed0.npy --data fashion-mnist
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from common import Budget, arguments, fashion_mnist_uint8, finish


def generator() -> nn.Module:
    return nn.Sequential(
        nn.Linear(100, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),  # (64, 14, 14)
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh(),  # (1, 28, 28)
    )


def discriminator() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),  # (64, 14, 14)
        nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),  # (128, 7, 7)
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1),
    )


def init(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def main() -> None:
    args = arguments(__doc__.splitlines()[0], batch_size=64)
    images, _ = fashion_mnist_uint8()
    x = torch.from_numpy(images).float().div(127.5).sub(1).unsqueeze(1)  # (N, 1, 28, 28) in [-1, 1]
    g, d = generator(), discriminator()
    g.apply(init)
    d.apply(init)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    budget = Budget(args, len(x))
    while budget.more():
        order = torch.randperm(len(x))
        for start in range(0, len(x) - args.batch_size + 1, args.batch_size):
            if not budget.more():
                break
            real = x[order[start:start + args.batch_size]]
            fake = g(torch.randn(len(real), 100))
            real_logits, fake_logits = d(real), d(fake.detach())
            d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
                F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            fake_logits = d(fake)
            g_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            budget.count(len(real))
    g.eval()  # BatchNorm's running statistics, as a user samples after training
    with torch.no_grad():
        samples = torch.cat([(g(torch.randn(1000, 100)) + 1) / 2 for _ in range(-(-args.samples // 1000))])
    finish(args, "dcgan", budget, samples[:args.samples])


if __name__ == "__main__":
    main()
