"""A plain convolutional VAE, as a competent user writes it: preloaded tensors, one loop, no logging.

Encoder 1-32-64 strided convolutions to (mu, log variance) of a 16-dimensional latent; decoder the mirror image
with transposed convolutions to Bernoulli logits; one negative ELBO; Adam 1e-3, batch 128. Run, for example:
    python benchmarks/baselines/conv_vae.py --seconds 300 --seed 0 --out runs/baselines
    ganvae evaluate runs/baselines/conv-vae-seed0.npy --data fashion-mnist
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from common import Budget, arguments, fashion_mnist_uint8, finish

LATENT = 16


class ConvVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(),  # (32, 14, 14)
            nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),  # (64, 7, 7)
            nn.Flatten(), nn.Linear(64 * 7 * 7, 2 * LATENT),
        )
        self.decoder = nn.Sequential(
            nn.Linear(LATENT, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),  # (32, 14, 14)
            nn.ConvTranspose2d(32, 1, 4, 2, 1),  # (1, 28, 28) logits
        )

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        reconstruction = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="sum") / len(x)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / len(x)
        return reconstruction + kl


def main() -> None:
    args = arguments(__doc__.splitlines()[0], batch_size=128)
    images, _ = fashion_mnist_uint8()
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)  # (N, 1, 28, 28) in [0, 1]
    vae = ConvVAE()
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3)
    budget = Budget(args, len(x))
    while budget.more():
        order = torch.randperm(len(x))
        for start in range(0, len(x) - args.batch_size + 1, args.batch_size):
            if not budget.more():
                break
            batch = x[order[start:start + args.batch_size]]
            loss = vae.loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            budget.count(len(batch))
    with torch.no_grad():
        samples = torch.sigmoid(vae.decoder(torch.randn(args.samples, LATENT)))
    finish(args, "conv-vae", budget, samples)


if __name__ == "__main__":
    main()
