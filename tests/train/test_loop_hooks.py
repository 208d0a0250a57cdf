"""The loop's contract with a family: phases with their own schedule and optimiser settings, requires_grad
switched per phase, the after-step hook, labels in every batch, and log values averaged over the steps that
produced them."""

from __future__ import annotations

import csv
import torch

from ganvae.config import BudgetConfig, ModelConfig, OptimConfig, RunConfig
from ganvae.families import Batch, Defaults, Family, Phase
from ganvae.nets import ARCHS
from ganvae.train.loop import fit, make_optimizers


class Probe(Family):
    """A tiny two-network family that records what the loop does to it (not registered)."""

    name = "probe"
    defaults = Defaults(lr=1e-3, betas=(0.9, 0.999), batch_size=8, epochs=1, latent_dim=2)

    def __init__(self, every: int = 1, critic_lr=None, share: bool = False):
        super().__init__(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8)
        self.nets["a"] = torch.nn.Linear(2, 1)
        self.nets["b"] = torch.nn.Linear(2, 1)
        self.every, self.critic_lr, self.share = every, critic_lr, share
        self.calls: list[tuple[str, int]] = []
        self.grads_seen: list[tuple[str, bool, bool]] = []  # phase, a requires grad, b requires grad
        self.labels_seen: list[torch.Tensor] = []

    def loss_a(self, batch: Batch) -> dict:
        self.labels_seen.append(batch.y)
        self.grads_seen.append(("a", self.nets["a"].weight.requires_grad, self.nets["b"].weight.requires_grad))
        # b's output takes part in a's loss, as a discriminator's does in a generator's
        out = self.nets["a"](batch.x) + self.nets["b"](batch.x)
        return {"loss": out.pow(2).mean(), "a_loss": torch.tensor(3.0)}

    def loss_b(self, batch: Batch) -> dict:
        self.grads_seen.append(("b", self.nets["a"].weight.requires_grad, self.nets["b"].weight.requires_grad))
        out = self.nets["b"](batch.x) + self.nets["a"](batch.x)
        return {"loss": out.pow(2).mean(), "b_loss": torch.tensor(1.0)}

    def phases(self):
        return [Phase("a", ("a",), self.loss_a, lr=self.critic_lr, betas=(0.0, 0.9) if self.critic_lr else None),
                Phase("b", ("b",), self.loss_b, every=self.every, optimizer="a" if self.share else None)]

    def after_step(self, phase, step):
        self.calls.append((phase.name, step))


def config(steps: int, log_every: int = 1) -> RunConfig:
    return RunConfig(model=ModelConfig(family="probe"), optim=OptimConfig(lr=1e-3, betas=(0.9, 0.999), batch_size=8),
                     budget=BudgetConfig(steps=steps), device="cpu", log_every=log_every, checkpoint_every=10**6)


def data(n: int = 32):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(0))


def test_a_phase_that_runs_every_nth_step_is_logged_at_its_true_value(tmp_path):
    family = Probe(every=5)
    fit(family, data(), config(steps=20, log_every=10), run_dir=tmp_path, progress=False)
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [10, 20]
    # b ran on steps 0, 5, 10, 15 and reported 1.0 each time: its mean is 1.0, not 2/10 of it
    assert [float(r["b_loss"]) for r in rows] == [1.0, 1.0]
    assert [float(r["a_loss"]) for r in rows] == [3.0, 3.0]
    assert [c for c in family.calls if c[0] == "b"] == [("b", 0), ("b", 5), ("b", 10), ("b", 15)]


def test_only_the_phase_s_own_parameters_get_gradients_and_flags_are_restored():
    family = Probe()
    family.nets["a"].bias.requires_grad_(False)  # frozen by the family: must stay frozen
    b_grad = []
    real_loss_a = family.loss_a

    def loss_a(batch):  # b's gradient from its own phase must pass phase a untouched
        b_grad.append(None if family.nets["b"].weight.grad is None else family.nets["b"].weight.grad.clone())
        return real_loss_a(batch)

    family.loss_a = loss_a
    fit(family, data(), config(steps=3), progress=False)
    assert set(family.grads_seen) == {("a", True, False), ("b", False, True)}
    assert b_grad[0] is None and b_grad[1] is not None
    assert family.nets["a"].weight.requires_grad and family.nets["b"].weight.requires_grad
    assert not family.nets["a"].bias.requires_grad


def test_after_step_runs_after_every_optimiser_step_in_phase_order():
    family = Probe(every=2)
    fit(family, data(), config(steps=4), progress=False)
    assert family.calls == [("a", 0), ("b", 0), ("a", 1), ("a", 2), ("b", 2), ("a", 3)]


def test_a_phase_may_set_its_own_learning_rate_and_betas_or_share_an_optimiser():
    family = Probe(critic_lr=4e-3)
    optimizers = make_optimizers(family, config(steps=1))
    assert optimizers["a"].param_groups[0]["lr"] == 4e-3 and optimizers["a"].param_groups[0]["betas"] == (0.0, 0.9)
    assert optimizers["b"].param_groups[0]["lr"] == 1e-3 and optimizers["b"].param_groups[0]["betas"] == (0.9, 0.999)
    shared = make_optimizers(Probe(share=True), config(steps=1))
    assert list(shared) == ["a"]


def test_labels_travel_with_their_examples_into_every_loss():
    family = Probe()
    x = data(32)
    y = torch.arange(32)
    # a label equal to the example's row, so each batch's labels can be checked against its examples
    seen_pairs = []
    real_loss = family.loss_a

    def loss_a(batch):
        seen_pairs.append((batch.x, batch.y))
        return real_loss(batch)

    family.loss_a = loss_a
    fit(family, x, config(steps=6), progress=False, y=y)
    assert len(seen_pairs) == 6
    for bx, by in seen_pairs:
        assert by is not None and by.dtype == torch.int64
        assert torch.equal(bx, x[by])
    unlabelled = Probe()
    fit(unlabelled, x, config(steps=2), progress=False)
    assert unlabelled.labels_seen == [None, None]
