"""What every GAN family shares (the moving average of the generator) and the variants built on it."""

import numpy as np
import pytest
import torch

import ganvae
from ganvae.data import Dataset
from ganvae.errors import ConfigError
from ganvae.export import export
from ganvae.families import Batch, GANFamily, GANSettings
from ganvae.nets import ARCHS
from ganvae.nets.conv import ReferenceBatchNorm2d
from ganvae.train.checkpoint import load_checkpoint, save_checkpoint


def ring(n=96):
    g = torch.Generator().manual_seed(1)
    angles = torch.randint(0, 8, (n,), generator=g).float() * (2 * torch.pi / 8)
    x = torch.stack([angles.cos(), angles.sin()], 1) + 0.01 * torch.randn(n, 2, generator=g)
    return Dataset(name="ring-test", x=x, kind="vector", source="test")


def images(n=64, side=8):
    g = torch.Generator().manual_seed(2)
    return Dataset(name="img-test", x=torch.rand(n, 1, side, side, generator=g), kind="image", source="test")


def small(family="gan", **kw):
    kw.setdefault("steps", 6)
    return ganvae.Model.of(family, batch_size=16, hidden=16, latent_dim=3, device="cpu", **kw)


def state(model):
    return {k: v.detach().clone() for k, v in model.family_.state_dict().items()}


# EMA of the generator's weights


def test_ema_equals_a_hand_run_average_with_warm_up():
    torch.manual_seed(0)
    gan = GANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8, settings=GANSettings(ema_decay=0.6))
    d_phase, g_phase = gan.phases()
    generator = gan.nets["generator"]
    expected = [p.detach().clone() for p in generator.parameters()]
    for t in range(6):
        with torch.no_grad():  # stands for an optimiser step of the generator
            for p in generator.parameters():
                p.add_(torch.randn_like(p))
        gan.after_step(d_phase, t)  # a discriminator step leaves the average alone
        gan.after_step(g_phase, t)
        decay = min(0.6, (1 + t) / (10 + t))  # 0.1, 0.18, 0.25, ... then capped at 0.6 from t = 5
        expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, generator.parameters())]
    assert int(gan.ema_updates) == 6
    for averaged, hand in zip(gan.nets["generator_ema"].parameters(), expected):
        assert torch.allclose(averaged, hand, rtol=1e-6, atol=1e-7)
    assert not any(p.requires_grad for p in gan.nets["generator_ema"].parameters())


def test_ema_counts_generator_steps_of_the_loop_and_samples_from_the_average():
    model = small(steps=7).fit(ring())
    family = model.family_
    assert int(family.ema_updates) == 7
    averaged = [p for p in family.nets["generator_ema"].parameters()]
    trained = [p for p in family.nets["generator"].parameters()]
    assert not all(torch.equal(a, b) for a, b in zip(averaged, trained))
    torch.manual_seed(5)
    from_average = family.sample(4)
    torch.manual_seed(5)
    z = family.noise(4)
    assert torch.equal(from_average, family.from_model_space(family.nets["generator_ema"](z)))
    assert not torch.equal(from_average, family.from_latent(z, ema=False))


def test_ema_decay_zero_gives_the_raw_generator():
    off = small(ema_decay=0.0).fit(ring())
    on = small().fit(ring())
    assert "generator_ema" not in off.family_.nets and "ema_updates" not in off.family_.state_dict()
    torch.manual_seed(3)
    z = torch.randn(5, 3)
    assert torch.equal(off.family_.from_latent(z), off.family_.from_model_space(off.family_.nets["generator"](z)))
    # the average does not change training: the trained weights of both runs are the same
    trained_off, trained_on = state(off), state(on)
    assert all(torch.equal(trained_off[k], trained_on[k]) for k in trained_off)
    assert not np.array_equal(off.sample(5, seed=0), on.sample(5, seed=0))


def test_parameter_count_leaves_the_average_out():
    on, off = small(steps=1).fit(ring()), small(steps=1, ema_decay=0.0).fit(ring())
    assert on.n_parameters() == off.n_parameters()
    assert set(on.n_parameters()) == {"generator", "discriminator"}
    assert on.n_parameters()["generator"] == sum(p.numel() for p in on.family_.nets["generator"].parameters())


def test_resume_with_ema_is_bit_exact(tmp_path):
    data = images()
    whole = small(arch="conv", steps=9, out=tmp_path / "whole").fit(data)
    small(arch="conv", steps=4, out=tmp_path / "part").fit(data)
    resumed = small(arch="conv", steps=9, out=tmp_path / "part").fit(data, resume=True)
    a, b = state(whole), state(resumed)
    assert any(k.startswith("nets.generator_ema.") for k in a) and int(a["ema_updates"]) == 9
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert np.array_equal(whole.sample(6, seed=2), resumed.sample(6, seed=2))


def test_the_average_records_its_own_batch_norm_statistics():
    model = small(arch="conv", steps=3).fit(images())
    family = model.family_.eval()
    model.sample(4, seed=0)
    averaged = [m for m in family.nets["generator_ema"].modules() if isinstance(m, ReferenceBatchNorm2d)]
    trained = [m for m in family.nets["generator"].modules() if isinstance(m, ReferenceBatchNorm2d)]
    assert averaged and all(m.reference_mean is not None for m in averaged)
    assert all(m.reference_mean is None for m in trained)  # only the net that samples is recorded
    family.sample(4, ema=False)
    assert not torch.equal(averaged[0].reference_mean, trained[0].reference_mean)


def test_a_checkpoint_without_the_average_still_loads():
    model = small().fit(images(32, side=4))
    old = {k: v for k, v in model.family_.state_dict().items()
           if not k.startswith("nets.generator_ema.") and k not in ("ema_updates", "augment_on")}
    loaded = GANFamily(ARCHS.get("mlp"), "image", (1, 4, 4), latent_dim=3, hidden=16,
                       settings=GANSettings(augment="on"))
    loaded.load_state_dict(old)
    assert not loaded.augmenting  # it was trained without augmentation
    for a, b in zip(loaded.nets["generator_ema"].parameters(), loaded.nets["generator"].parameters()):
        assert torch.equal(a, b)
    assert int(loaded.ema_updates) == 0


# Vectors standardised for the discriminator


def shifted(n=200):
    g = torch.Generator().manual_seed(3)
    x = torch.tensor([10.0, -3.0]) + torch.tensor([4.0, 0.5]) * torch.randn(n, 2, generator=g)
    return Dataset(name="shifted", x=x, kind="vector", source="test")


def test_sngan_keeps_vectors_in_the_datas_units():
    fam = small("sngan", steps=1).fit(shifted()).family_
    assert torch.equal(fam.vector_offset, torch.zeros(2)) and torch.equal(fam.vector_scale, torch.ones(2))
    x = shifted().x
    assert torch.equal(fam.to_model_space(x), x)


@pytest.mark.parametrize("family", ["gan", "cgan", "wgan-gp"])
def test_vectors_reach_the_discriminator_standardised_and_samples_come_back_in_the_datas_units(family):
    data = shifted()
    if family == "cgan":
        data = Dataset(name="shifted", x=data.x, kind="vector", source="test", y=torch.arange(len(data)) % 2)
    model = small(family, steps=1).fit(data)
    fam = model.family_
    assert torch.allclose(fam.vector_offset, data.x.mean(0)) and torch.allclose(fam.vector_scale, data.x.std(0))
    shown = fam.to_model_space(data.x)
    assert torch.allclose(shown.mean(0), torch.zeros(2), atol=1e-5) and torch.allclose(shown.std(0), torch.ones(2))
    raw = torch.randn(5, 2)
    assert torch.allclose(fam.from_model_space(raw), raw * data.x.std(0) + data.x.mean(0))
    z = torch.randn(7, 3)
    labels = {"labels": torch.zeros(7, dtype=torch.long)} if family == "cgan" else {}
    with torch.no_grad():
        by_hand = fam.sampling_net()(z, *labels.values()) * fam.vector_scale + fam.vector_offset
    assert torch.allclose(fam.from_latent(z, **labels), by_hand)


def test_a_constant_feature_keeps_scale_one_and_images_have_no_standardisation():
    x = torch.stack([torch.full((50,), 2.0), torch.linspace(0, 1, 50)], 1)
    fam = small(steps=1).fit(Dataset(name="c", x=x, kind="vector", source="test")).family_
    assert fam.vector_scale[0] == 1 and torch.isfinite(fam.to_model_space(x)).all()
    assert not hasattr(small(steps=1).fit(images(16, side=4)).family_, "vector_scale")


def test_a_vector_checkpoint_without_the_standardisation_loads_in_the_datas_own_units():
    model = small(steps=2).fit(shifted())
    old = {k: v for k, v in model.family_.state_dict().items() if not k.startswith("vector_")}
    loaded = GANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=3, hidden=16)
    loaded.load_state_dict(old)
    assert torch.equal(loaded.vector_offset, torch.zeros(2)) and torch.equal(loaded.vector_scale, torch.ones(2))


def test_the_mlp_generator_is_plain_relu_for_vectors_and_layer_normed_for_images():
    mlp = ARCHS.get("mlp")
    vector_layers = {type(m) for m in mlp.generator(3, (2,), 16).modules()}
    image_layers = {type(m) for m in mlp.generator(3, (1, 4, 4), 16).modules()}
    assert torch.nn.ReLU in vector_layers and not vector_layers & {torch.nn.LayerNorm, torch.nn.LeakyReLU}
    assert {torch.nn.LayerNorm, torch.nn.LeakyReLU} <= image_layers


# BatchNorm in the conv discriminator


def batch_norms(net):
    return [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]


@pytest.mark.parametrize("family, expected", [("gan", 1), ("cgan", 1), ("wgan-gp", 0), ("sngan", 0)])
def test_the_conv_discriminator_has_batch_norm_where_the_family_allows_it(family, expected):
    data = images(32, side=8)
    if family == "cgan":
        data = Dataset(name="img-test", x=data.x, kind="image", source="test", y=torch.arange(32) % 2)
    fam = small(family, steps=1, arch="conv").fit(data).family_
    norms = batch_norms(fam.nets["discriminator"])
    assert len(norms) == expected
    assert all(not m.track_running_stats for m in norms)  # each batch by itself, in training as in evaluation
    assert fam.settings.d_norm == ("batch" if expected else "none")


def test_the_encoder_and_the_mlp_discriminator_have_no_batch_norm():
    conv, mlp = ARCHS.get("conv"), ARCHS.get("mlp")
    assert not batch_norms(conv.encoder((1, 8, 8), 3, 16))
    assert not batch_norms(mlp.build_discriminator((1, 8, 8), 16, "batch"))
    assert len(batch_norms(conv.build_discriminator((1, 8, 8), 16, "batch"))) == 1
    assert not batch_norms(conv.build_discriminator((1, 8, 8), 16, "none"))


def test_the_critic_of_wgan_gp_refuses_batch_norm():
    with pytest.raises(ConfigError, match="--d-norm must be one of none, not 'batch'"):
        ganvae.Model("wgan-gp", d_norm="batch")


def test_a_conv_run_saved_before_the_setting_loads_without_batch_norm(tmp_path):
    """A run folder written before d_norm existed: its config lists every other setting, its discriminator has
    no BatchNorm, and it loads, samples and resumes as it was trained."""
    out = tmp_path / "old"
    model = small(steps=2, arch="conv", d_norm="none", out=out, progress=False).fit(images(32, side=8))
    expected = model.sample(4, seed=0)
    config_path = out / "config.json"
    import json

    config = json.loads(config_path.read_text())
    del config["model"]["settings"]["d_norm"]
    config_path.write_text(json.dumps(config))
    for name in ("checkpoint.pt", "checkpoint.prev.pt"):
        path = out / name
        if path.exists():
            saved = load_checkpoint(path)
            del saved["config"]["model"]["settings"]["d_norm"]
            save_checkpoint(saved, path)
    loaded = ganvae.load(out)
    assert not batch_norms(loaded.family_.nets["discriminator"])
    assert np.array_equal(loaded.sample(4, seed=0), expected)
    resumed = small(steps=4, arch="conv", out=out, progress=False).fit(images(32, side=8), resume=True)
    assert not batch_norms(resumed.family_.nets["discriminator"])


@pytest.mark.parametrize("family", ["gan", "cgan"])
def test_a_run_saved_before_reuse_fakes_resumes_as_it_was_trained(tmp_path, family):
    """A GAN saved before reuse_fakes (its config lacks the key) made new fakes in each phase: it resumes so,
    exactly as an uninterrupted run with --reuse-fakes off; a cGAN, which has no such setting, is untouched."""
    import json

    data = Dataset(name="img-test", x=torch.rand(64, 1, 8, 8), y=torch.arange(64) % 2, kind="image", source="test",
                   class_names=["a", "b"]) if family == "cgan" else images()
    off = {"reuse_fakes": "off"} if family == "gan" else {}
    whole = small(family, arch="conv", steps=6, out=tmp_path / "whole", **off).fit(data)
    small(family, arch="conv", steps=3, out=tmp_path / "old", **off).fit(data)
    for name in ("config.json", "checkpoint.pt", "checkpoint.prev.pt"):
        path = tmp_path / "old" / name
        if name == "config.json":
            config = json.loads(path.read_text())
            config["model"]["settings"].pop("reuse_fakes", None)
            path.write_text(json.dumps(config))
        elif path.exists():
            saved = load_checkpoint(path)
            saved["config"]["model"]["settings"].pop("reuse_fakes", None)
            save_checkpoint(saved, path)
    resumed = small(family, arch="conv", steps=6, out=tmp_path / "old").fit(data, resume=True)
    assert resumed.config_.model.settings.get("reuse_fakes") == ("off" if family == "gan" else None)
    a, b = state(whole), state(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_ema_decay_is_checked_where_it_enters():
    with pytest.raises(ConfigError, match=r"--ema-decay must be a number <= 1"):
        ganvae.GAN(ema_decay=1.5)
    with pytest.raises(ConfigError, match=r"--ema-decay must be a number >= 0"):
        ganvae.GAN(ema_decay=-0.1)
    with pytest.raises(ConfigError, match="--ema-decay does not apply to the vae family"):
        ganvae.VAE(ema_decay=0.9)



# WGAN-GP


def test_gradient_penalty_of_a_linear_critic_is_known_in_closed_form():
    from ganvae.families.wgan_gp import gradient_penalty

    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1))  # C(x) = w . x + b: grad_x C = w
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    w = critic[1].weight
    penalty = gradient_penalty(critic, real, fake)
    norm = float(w.detach().norm())
    assert penalty.item() == pytest.approx((norm - 1) ** 2, rel=1e-5)
    # the penalty trains the critic: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    (gradient,) = torch.autograd.grad(penalty, w)
    assert torch.allclose(gradient, 2 * (norm - 1) * w / norm, atol=1e-6)


def test_gradient_penalty_of_a_quadratic_critic_at_given_mixing_weights():
    from ganvae.families.wgan_gp import gradient_penalty

    torch.manual_seed(1)
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    weights = torch.tensor([[0.0], [0.25], [0.5], [1.0]])  # (B, 1)

    def critic(x):  # C(x) = ||x||^2 / 2: grad_x C = x
        return 0.5 * x.pow(2).sum(1)

    mixed = weights * real + (1 - weights) * fake
    by_hand = ((mixed.norm(dim=1) - 1) ** 2).mean()
    assert gradient_penalty(critic, real, fake, weights).item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_the_mixing_weight_is_one_per_example():
    from ganvae.families.wgan_gp import gradient_penalty, mixing_weights

    torch.manual_seed(2)
    assert mixing_weights(torch.zeros(6, 3, 4, 4)).shape == (6, 1, 1, 1)
    assert mixing_weights(torch.zeros(6, 2)).shape == (6, 1)
    seen = []

    def critic(x):
        seen.append(x.detach().clone())
        return x.flatten(1).sum(1)

    gradient_penalty(critic, torch.zeros(8, 1, 5, 5), torch.ones(8, 1, 5, 5))
    mixed = seen[0]  # = 1 - w per example: every pixel of an example has the same weight, examples differ
    assert torch.equal(mixed.amax(dim=(1, 2, 3)), mixed.amin(dim=(1, 2, 3)))
    assert len(set(mixed[:, 0, 0, 0].tolist())) == 8


def test_wgan_gp_runs_n_critic_critic_steps_per_generator_step_and_logs_its_terms():
    model = small("wgan-gp", steps=10, n_critic=5, log_every=5).fit(ring())
    family = model.family_
    assert int(family.ema_updates) == 2  # the generator moved at steps 0 and 5
    critic_phase, generator_phase = family.phases()
    assert (critic_phase.every, generator_phase.every) == (1, 5)
    assert model.config_.optim.betas == (0.0, 0.9) and model.config_.optim.lr == 1e-4
    assert model.config_.model.settings["gp_weight"] == 10.0
    out = family.critic_loss(Batch(ring(16).x))
    assert set(out) == {"loss", "critic_loss", "wasserstein", "gp"}
    assert out["loss"].item() == pytest.approx(-out["wasserstein"].item() + 10 * out["gp"].item(), rel=1e-5)
    assert set(family.generator_loss(Batch(ring(16).x))) == {"loss", "g_loss"}


# SNGAN: hinge loss, spectrally normalised discriminator


def test_sngan_normalises_every_conv_and_linear_layer_of_the_discriminator():
    from torch.nn.utils import parametrize

    from ganvae.families.sngan import SNGANFamily

    torch.manual_seed(0)
    family = SNGANFamily(ARCHS.get("conv"), "image", (1, 8, 8), latent_dim=3, hidden=8)
    layers = [m for m in family.nets["discriminator"].modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 3 and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(parametrize.is_parametrized(m) for m in family.nets["generator"].modules())
    keys = family.state_dict().keys()
    assert sum(k.endswith("parametrizations.weight.0._u") for k in keys) == 3
    linear = layers[-1]
    for _ in range(30):  # power iterations run in training mode
        family.nets["discriminator"](torch.rand(2, 1, 8, 8))
    assert torch.linalg.matrix_norm(linear.weight.detach(), ord=2).item() == pytest.approx(1.0, rel=1e-3)


def test_sngan_hinge_losses_by_hand():
    from ganvae.families.sngan import SNGANFamily

    torch.manual_seed(0)
    family = SNGANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8)
    family.nets["discriminator"].eval()  # no power iteration: the same D for every call below
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    family.generate = lambda n: fake
    out = family.discriminator_loss(Batch(real))
    d = family.nets["discriminator"]
    by_hand = torch.clamp(1 - d(real), min=0).mean() + torch.clamp(1 + d(fake), min=0).mean()
    assert out["d_loss"].item() == pytest.approx(by_hand.item(), rel=1e-6)
    assert family.generator_loss(Batch(real))["g_loss"].item() == pytest.approx(-d(fake).mean().item(), rel=1e-6)
    assert (family.defaults.lr, family.defaults.betas) == (2e-4, (0.5, 0.999))


def test_sngan_save_load_and_resume_keep_the_power_iteration_vectors(tmp_path):
    data = images()
    whole = small("sngan", arch="conv", steps=9, out=tmp_path / "whole").fit(data)
    small("sngan", arch="conv", steps=4, out=tmp_path / "part").fit(data)
    resumed = small("sngan", arch="conv", steps=9, out=tmp_path / "part").fit(data, resume=True)
    a, b = state(whole), state(resumed)
    u_keys = [k for k in a if k.endswith("._u")]
    assert u_keys and a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    loaded = ganvae.load(tmp_path / "whole")
    c = state(loaded)
    assert all(torch.equal(a[k], c[k]) for k in u_keys)
    x = data.x[:5] * 2 - 1
    assert torch.equal(whole.family_.eval().nets["discriminator"](x), loaded.family_.nets["discriminator"](x))
    assert np.array_equal(whole.sample(4, seed=1), loaded.sample(4, seed=1))
    export(loaded, tmp_path / "generator.pt")  # a deep copy of the spectrally normalised family traces
    assert (tmp_path / "generator.pt").stat().st_size > 0


# DiffAugment


def test_augmentation_is_differentiable_and_the_gradient_reaches_the_generator():
    from ganvae.families import augment

    torch.manual_seed(0)
    x = torch.rand(4, 3, 8, 8, requires_grad=True)
    (gradient,) = torch.autograd.grad(augment.diff_augment(x).sum(), x)
    assert gradient.abs().sum() > 0 and torch.isfinite(gradient).all()
    gan = GANFamily(ARCHS.get("mlp"), "image", (1, 8, 8), latent_dim=3, hidden=16, settings=GANSettings(augment="on"))
    gan.generator_loss(Batch(torch.rand(4, 1, 8, 8)))["loss"].backward()
    grads = [p.grad for p in gan.nets["generator"].parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_augment_off_leaves_the_images_untouched():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    off = GANFamily(ARCHS.get("mlp"), "image", (1, 8, 8), latent_dim=3, hidden=16,
                    settings=GANSettings(augment="off"))
    off.initialize_from_data(torch.rand(10, 1, 8, 8))  # a small set, but "off" is off
    assert off.discriminator_input(x) is x
    on = GANFamily(ARCHS.get("mlp"), "image", (1, 8, 8), latent_dim=3, hidden=16, settings=GANSettings(augment="on"))
    assert not torch.equal(on.discriminator_input(x), x)


def test_translation_shifts_by_at_most_an_eighth_with_zero_padding():
    from ganvae.families.augment import translation

    torch.manual_seed(1)
    x = torch.rand(32, 2, 16, 16) + 1  # no zeros of its own
    out = translation(x)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, [2, 2, 2, 2])
    shifts = set()
    for i in range(len(x)):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(out[i], padded[i, :, 2 + dy:18 + dy, 2 + dx:18 + dx])]
        assert len(matches) == 1  # a whole-pixel shift of at most 16 / 8 = 2, zeros where it came from outside
        shifts.add(matches[0])
    assert len(shifts) > 5  # each example draws its own


def test_cutout_zeroes_one_square_of_half_the_side_per_image():
    from ganvae.families.augment import cutout

    torch.manual_seed(2)
    x = torch.ones(64, 3, 16, 16)
    out = cutout(x)
    assert out.shape == x.shape
    zero = out[:, 0] == 0  # (B, H, W), the same mask on every channel
    assert torch.equal(out == 0, zero.unsqueeze(1).expand_as(out))
    whole = 0
    for mask in zero:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        height, width = len(rows), len(cols)
        assert 4 <= height <= 8 and 4 <= width <= 8  # an 8x8 square, partly outside the image at most by half
        assert int(mask.sum()) == height * width and rows.max() - rows.min() + 1 == height
        whole += (height, width) == (8, 8)
    assert whole > 0  # some squares lie wholly inside


@pytest.mark.parametrize("family", ["gan", "wgan-gp", "sngan"])
def test_real_and_generated_images_go_through_the_same_augmentation_in_every_phase(family, monkeypatch):
    from ganvae.families import FAMILIES, augment

    calls = []

    def spy(x):
        calls.append(x.detach().clone())
        return x + 0.25

    monkeypatch.setattr(augment, "diff_augment", spy)
    torch.manual_seed(0)
    model = FAMILIES.get(family)(ARCHS.get("mlp"), "image", (1, 8, 8), latent_dim=3, hidden=16,
                                 settings=FAMILIES.get(family).Settings(augment="on"))
    real = torch.rand(4, 1, 8, 8)
    d_phase, g_phase = model.phases()
    d_phase.loss(Batch(real))
    assert len(calls) == 2 and torch.equal(calls[0], real * 2 - 1)  # the real images, in D's space
    assert calls[1].shape == real.shape and not torch.equal(calls[1], calls[0])  # the generated ones
    g_phase.loss(Batch(real))
    assert len(calls) == 3 and calls[2].shape == real.shape


def test_auto_decides_from_the_training_set_size_and_the_decision_is_kept_on_resume(tmp_path, monkeypatch):
    from ganvae.families import augment
    from ganvae.train.checkpoint import LATEST, load_checkpoint

    assert not small(arch="conv", steps=2).fit(images(64)).family_.augmenting  # measured: no size gains (augment.py)
    monkeypatch.setattr(augment, "AUTO_AUGMENT_BELOW", 100)
    small_set = small(arch="conv", steps=2).fit(images(64))
    assert small_set.family_.augmenting and bool(small_set.family_.augment_on)
    assert not small(steps=2).fit(ring()).family_.augmenting  # vectors are never augmented
    monkeypatch.setattr(augment, "AUTO_AUGMENT_BELOW", 50)
    assert not small(arch="conv", steps=2).fit(images(64)).family_.augmenting
    monkeypatch.setattr(augment, "AUTO_AUGMENT_BELOW", 100)
    whole = small(arch="conv", steps=9, out=tmp_path / "whole").fit(images(64))
    small(arch="conv", steps=4, out=tmp_path / "part").fit(images(64))
    monkeypatch.setattr(augment, "AUTO_AUGMENT_BELOW", 50)  # a resume does not decide again
    assert bool(load_checkpoint(tmp_path / "part" / LATEST)["family_state"]["augment_on"])
    resumed = small(arch="conv", steps=9, out=tmp_path / "part").fit(images(64), resume=True)
    assert resumed.family_.augmenting
    a, b = state(whole), state(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert ganvae.load(tmp_path / "part").family_.augmenting


def test_augment_is_checked_where_it_enters(tmp_path):
    with pytest.raises(ConfigError, match="--augment must be one of auto, on, off, not 'maybe'"):
        ganvae.GAN(augment="maybe")
    with pytest.raises(ConfigError, match="--augment on needs images; this data is vectors of 2 features"):
        ganvae.GAN(augment="on", steps=1, batch_size=16, out=tmp_path / "run").fit(ring())
    assert not (tmp_path / "run").exists()  # refused before anything was written


# One batch of fakes for both phases (--reuse-fakes on)


def _counting_generator_calls(gan):
    calls = []
    gan.nets["generator"].register_forward_hook(lambda module, args, out: calls.append(len(out)))
    return calls


@pytest.mark.parametrize("reuse, expected_calls", [("on", 1), ("off", 2)])
def test_reuse_fakes_runs_the_generator_once_per_step_and_its_step_uses_those_fakes(reuse, expected_calls):
    from ganvae.families.gan import PlainGANSettings

    torch.manual_seed(0)
    gan = GANFamily(ARCHS.get("conv"), "image", (1, 8, 8), latent_dim=4, hidden=8,
                    settings=PlainGANSettings(reuse_fakes=reuse))
    d_phase, g_phase = gan.phases()
    assert d_phase.keeps_graph_of == (("generator",) if reuse == "on" else ())
    calls = _counting_generator_calls(gan)
    batch = Batch(torch.rand(6, 1, 8, 8))
    for p in gan.nets["generator"].parameters():  # as the loop sets them in the discriminator's phase
        p.requires_grad_(reuse == "on")
    seen = []
    original = gan.discriminate
    gan.discriminate = lambda x: (seen.append(x.detach().clone()), original(x))[1]
    gan.discriminator_loss(batch)["loss"].backward()
    for p in gan.nets["generator"].parameters():
        assert p.grad is None  # the discriminator's loss never reaches the generator
        p.requires_grad_(True)
    gan.generator_loss(batch)["loss"].backward()
    assert calls == [6] * expected_calls
    assert torch.equal(seen[1], seen[2]) == (reuse == "on")  # the generator's step sees the discriminator's fakes
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in gan.nets["generator"].parameters())


def test_reused_fakes_are_made_anew_after_the_generator_changed():
    from ganvae.families.gan import PlainGANSettings

    gan = GANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8,
                    settings=PlainGANSettings(reuse_fakes="on"))
    calls = _counting_generator_calls(gan)
    batch = Batch(torch.randn(5, 2))
    gan.discriminator_loss(batch)
    with torch.no_grad():  # an update of the generator between the two phases
        next(gan.nets["generator"].parameters()).add_(1.0)
    gan.generator_loss(batch)["loss"].backward()
    gan.discriminator_loss(Batch(torch.randn(5, 2)))
    gan.generator_loss(Batch(torch.randn(4, 2)))  # another number of fakes than were made
    assert calls == [5, 5, 5, 4]


def test_a_loop_that_freezes_the_generator_in_the_discriminators_step_still_trains_it():
    """A hand-written loop that ignores `keeps_graph_of` (the generator frozen while the discriminator steps) gets
    new fakes with a graph in the generator's step, not the kept ones without one."""
    from ganvae.families.gan import PlainGANSettings

    gan = GANFamily(ARCHS.get("mlp"), "vector", (2,), latent_dim=2, hidden=8,
                    settings=PlainGANSettings(reuse_fakes="on"))
    calls = _counting_generator_calls(gan)
    batch = Batch(torch.randn(5, 2))
    for p in gan.nets["generator"].parameters():
        p.requires_grad_(False)
    gan.discriminator_loss(batch)["loss"].backward()
    for p in gan.nets["generator"].parameters():
        p.requires_grad_(True)
    gan.generator_loss(batch)["loss"].backward()
    assert calls == [5, 5]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in gan.nets["generator"].parameters())


def test_training_with_reused_fakes_runs_resumes_exactly_and_is_refused_for_other_gans(tmp_path):
    data = images()
    whole = small(arch="conv", steps=8, reuse_fakes="on", out=tmp_path / "whole").fit(data)
    assert whole.config_.model.settings["reuse_fakes"] == "on"
    small(arch="conv", steps=3, reuse_fakes="on", out=tmp_path / "part").fit(data)
    resumed = small(arch="conv", steps=8, reuse_fakes="on", out=tmp_path / "part").fit(data, resume=True)
    a, b = state(whole), state(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = small(arch="conv", steps=8, reuse_fakes="off", out=tmp_path / "other").fit(data)
    assert not all(torch.equal(a[k], v) for k, v in state(other).items())  # another training
    from ganvae.families.gan import PlainGANSettings

    assert PlainGANSettings().reuse_fakes == "on"  # the default
    for family in ("sngan", "wgan-gp", "cgan"):
        with pytest.raises(ConfigError, match="reuse"):
            ganvae.Model.of(family, reuse_fakes="on", steps=1)
