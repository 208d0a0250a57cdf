"""The conv networks must stay small enough to train on a laptop CPU (run with -m slow)."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

from ganvae.nets import ARCHS

BATCH = 128
LATENT_DIM = 100


@pytest.mark.slow
def test_conv_gan_step_on_28x28_is_fast_on_cpu():
    torch.manual_seed(0)
    conv = ARCHS.get("conv")
    generator = conv.generator(LATENT_DIM, (1, 28, 28), 64)
    discriminator = conv.discriminator((1, 28, 28), 64)
    real = torch.rand(BATCH, 1, 28, 28) * 2 - 1

    def gan_step() -> None:
        with torch.no_grad():
            fake = torch.tanh(generator(torch.randn(BATCH, LATENT_DIM)))
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + \
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_loss.backward()
        fake_logits = discriminator(torch.tanh(generator(torch.randn(BATCH, LATENT_DIM))))
        F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)).backward()

    gan_step()  # warm-up
    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        gan_step()
        seconds.append(time.perf_counter() - start)
    # About 0.08 s on two cores; the bound leaves room for a busy machine.
    assert min(seconds) < 0.3
