"""The tutorial loop: the article's MLP GAN made to run, with the input pipeline tutorials use.

A map-style Dataset turns each uint8 image into a tensor and normalises it to [-1, 1] one item at a time, and a
DataLoader of batch 128 collates them; the networks are the article's (noise 100, hidden 128, G 100-128-784 tanh,
D 784-128-128-1 with LeakyReLU 0.2), BCE-with-logits, Adam 2e-4 (0.5, 0.999). Run:
    python benchmarks/baselines/tutorial_gan.py --epochs 3 [--pipeline preloaded]

`--pipeline preloaded` keeps everything else and replaces the Dataset and DataLoader by the bare loop the issue
measures the tutorial against: the images as one uint8 tensor, a random permutation each epoch, each batch
indexed and normalised at once. Its whole process is the ceiling of any loop of this model: what is left is
importing torch, reading the data and the steps themselves.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from common import Budget, arguments, fashion_mnist_uint8, finish


class ItemByItem(Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = torch.tensor(self.images[index], dtype=torch.float32) / 255.0  # (28, 28) in [0, 1]
        return (image - 0.5) / 0.5  # [-1, 1], as transforms.Normalize((0.5,), (0.5,)) does


class Preloaded:
    """Each pass: the images (one uint8 tensor) in a new random order, each batch indexed and normalised at once."""

    def __init__(self, images: torch.Tensor, batch_size: int):
        self.images, self.batch_size = images, batch_size

    def __iter__(self):
        order = torch.randperm(len(self.images))
        for start in range(0, len(self.images) - self.batch_size + 1, self.batch_size):
            yield (self.images[order[start:start + self.batch_size]].float() / 255.0 - 0.5) / 0.5


def main() -> None:
    args = arguments(__doc__.splitlines()[0], batch_size=128,
                     extra=lambda parser: parser.add_argument("--pipeline", choices=("dataloader", "preloaded"),
                                                              default="dataloader"))
    images, _ = fashion_mnist_uint8()
    if args.pipeline == "preloaded":
        loader = Preloaded(torch.from_numpy(images), args.batch_size)
    else:
        loader = DataLoader(ItemByItem(images), batch_size=args.batch_size, shuffle=True, drop_last=True)
    generator = nn.Sequential(nn.Linear(100, 128), nn.ReLU(), nn.Linear(128, 784), nn.Tanh())
    discriminator = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 128), nn.LeakyReLU(0.2),
                                  nn.Linear(128, 1))
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    budget = Budget(args, len(images))
    while budget.more():
        for real in loader:
            if not budget.more():
                break
            real = real.view(real.shape[0], -1)
            ones, zeros = torch.ones(real.shape[0], 1), torch.zeros(real.shape[0], 1)
            fake = generator(torch.randn(real.shape[0], 100))
            d_loss = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = bce(discriminator(fake), ones)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            budget.count(real.shape[0])
    with torch.no_grad():
        samples = (generator(torch.randn(args.samples, 100)).view(-1, 1, 28, 28) + 1) / 2
    finish(args, "tutorial-gan" if args.pipeline == "dataloader" else "preloaded-gan", budget, samples)


if __name__ == "__main__":
    main()
