"""The conditional families (cgan, cvae) and their networks: shapes, the label's effect, the projection
discriminator against a hand computation, labels through sampling, the API, the likelihood metrics, the run
figures and `ganvae sample --label`, and samples of class K classified as K by the shipped classifier."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import ganvae
from ganvae.cli import main
from ganvae.data import Dataset
from ganvae.errors import ConfigError
from ganvae.families import CGANFamily, CVAEFamily
from ganvae.metrics.vae_metrics import importance_weighted_nll, negative_elbo, vae_metrics
from ganvae.nets import ARCHS
from ganvae.nets.conditional import ProjectionDiscriminator
from ganvae.report.figures import PER_CLASS, class_rows
from ganvae.report.plots import image_grid

SHAPES = {"vector": (2,), "image": (1, 8, 8)}
NETWORK_CASES = [(arch, kind) for arch in ARCHS.names() for kind in SHAPES if not (arch == "conv" and kind == "vector")]
K = 3


def labelled_images(n=48, names=("circle", "square", "triangle")):
    g = torch.Generator().manual_seed(5)
    y = torch.arange(n) % len(names)
    x = torch.rand(n, 1, 8, 8, generator=g) * 0.3 + y.float().view(n, 1, 1, 1) * 0.3  # classes differ in brightness
    return Dataset(name="shapes-test", x=x, kind="image", source="test", y=y, class_names=tuple(names))


def labelled_vectors(n=96):
    g = torch.Generator().manual_seed(1)
    modes = torch.randint(0, 8, (n,), generator=g)
    angles = modes.float() * (2 * torch.pi / 8)
    x = torch.stack([angles.cos(), angles.sin()], 1) + 0.01 * torch.randn(n, 2, generator=g)
    return Dataset(name="ring-test", x=x, kind="vector", source="test", y=modes)


def quick(family, **kw):
    kw = {"steps": 4, "batch_size": 16, "hidden": 16, "latent_dim": 3, **kw}
    return ganvae.Model.of(family, **kw)


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- networks ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch,kind", NETWORK_CASES)
def test_conditional_networks_have_the_plain_shapes_and_use_the_label(arch, kind):
    torch.manual_seed(0)
    shape = SHAPES[kind]
    gan = CGANFamily(ARCHS.get(arch), kind, shape, latent_dim=4, hidden=16, n_classes=K)
    vae = CVAEFamily(ARCHS.get(arch), kind, shape, latent_dim=4, hidden=16, n_classes=K)
    z, x = torch.randn(6, 4), torch.rand(6, *shape)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    other = (y + 1) % K
    generator, discriminator = gan.nets["generator"], gan.nets["discriminator"]
    assert generator(z, y).shape == (6, *shape) and discriminator(x, y).shape == (6,)
    mu, logvar = vae.encode(x, y)
    assert mu.shape == logvar.shape == (6, 4) and vae.decode(z, y).shape == (6, *shape)
    # the label changes every network's output for every example
    assert ((generator(z, y) - generator(z, other)).flatten(1).abs().amax(1) > 0).all()
    assert ((discriminator(x, y) - discriminator(x, other)).abs() > 0).all()
    assert ((vae.encode(x, y)[0] - vae.encode(x, other)[0]).abs().amax(1) > 0).all()
    assert ((vae.decode(z, y) - vae.decode(z, other)).flatten(1).abs().amax(1) > 0).all()


@pytest.mark.parametrize("arch,kind", NETWORK_CASES)
def test_discriminator_parts_are_the_plain_discriminator_split(arch, kind):
    """The hook builds the plain network (same weights from the same seed) and splits it: head(body(x)) is D(x)."""
    architecture, shape = ARCHS.get(arch), SHAPES[kind]
    torch.manual_seed(3)
    plain = architecture.discriminator(shape, 16)
    torch.manual_seed(3)
    body, head = architecture.discriminator_parts(shape, 16)
    plain_weights = list(plain.parameters())
    split_weights = [*body.parameters(), *head.parameters()]
    assert len(plain_weights) == len(split_weights)
    assert all(torch.equal(a, b) for a, b in zip(plain_weights, split_weights))
    x = torch.rand(4, *shape)
    assert torch.equal(plain(x), head(body(x)).squeeze(1))


def test_projection_discriminator_equals_a_hand_computation():
    """logit = psi(phi(x)) + <embed(y), phi(x)> on a body phi = ReLU(W x) and head psi(h) = w.h + b."""
    body = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU())
    head = nn.Linear(3, 1)
    net = ProjectionDiscriminator(body, head, n_classes=2)
    with torch.no_grad():
        body[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]))
        head.weight.copy_(torch.tensor([[0.5, -1.0, 2.0]]))
        head.bias.fill_(0.25)
        net.embed.weight.copy_(torch.tensor([[1.0, 1.0, 1.0], [2.0, 0.0, 5.0]]))
    x = torch.tensor([[1.0, 2.0], [1.0, 2.0], [3.0, 1.0], [3.0, 1.0]])
    y = torch.tensor([0, 1, 0, 1])
    # phi([1, 2]) = [1, 2, 0]: psi = 0.5 - 2 + 0 + 0.25 = -1.25; class 0 adds 3, class 1 adds 2.
    # phi([3, 1]) = [3, 1, 2]: psi = 1.5 - 1 + 4 + 0.25 = 4.75; class 0 adds 6, class 1 adds 6 + 10 = 16.
    assert net(x, y).tolist() == [1.75, 0.75, 10.75, 20.75]


def test_plain_families_build_the_same_weights_as_before():
    """The conditional modules change nothing in the plain networks: the GAN's weights from seed 0 are the plain
    architecture's networks built in the same order."""
    torch.manual_seed(0)
    gan = ganvae.families.GANFamily(ARCHS.get("conv"), "image", (1, 8, 8), latent_dim=4, hidden=16)
    torch.manual_seed(0)
    generator = ARCHS.get("conv").generator(4, (1, 8, 8), 16)
    discriminator = ARCHS.get("conv").discriminator((1, 8, 8), 16, norm="batch")  # the GAN's default
    expected = [*generator.parameters(), *discriminator.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(gan.parameters(), expected))


# --- the families through the API ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fitted():
    """A cGAN and a cVAE fitted briefly on labelled images with class names."""
    data = labelled_images()
    return {name: quick(name, arch="mlp").fit(data) for name in ("cgan", "cvae")}, data


@pytest.mark.parametrize("family", ["cgan", "cvae"])
def test_sampling_given_labels(fitted, family):
    models, data = fitted
    model = models[family]
    assert model.family_.n_classes == K
    square = model.sample(12, seed=1, labels=1)
    assert square.shape == (12, 1, 8, 8) and square.min() >= 0 and square.max() <= 1
    assert np.array_equal(square, model.sample(12, seed=1, labels="square"))  # a class name
    assert np.array_equal(square, model.sample(12, seed=1, labels=[1] * 12))
    assert not np.array_equal(square, model.sample(12, seed=1, labels=2))
    mixed = model.sample(6, seed=1, labels=[0, 1, 2, 0, 1, 2])
    assert np.array_equal(mixed[1], square[1]) and not np.array_equal(mixed[0], square[0])
    # without labels, the classes are drawn (from the seed): the same call gives the same samples
    assert np.array_equal(model.sample(8, seed=2), model.sample(8, seed=2))


def test_class_index_takes_a_name_or_a_number(fitted):
    models, _ = fitted
    model = models["cgan"]
    assert [model.class_index(v) for v in ("circle", "square", "triangle", 0, "2", np.int64(1))] == [0, 1, 2, 0, 2, 1]


def test_wrong_labels_are_one_clear_line(fitted):
    models, data = fitted
    cgan, cvae = models["cgan"], models["cvae"]
    with pytest.raises(ConfigError, match=r"^labels must be one class or one per example \(5\), not 2$"):
        cgan.sample(5, labels=[0, 1])
    with pytest.raises(ConfigError, match=r"^labels must be classes from 0 to 2$"):
        cgan.sample(5, labels=3)
    with pytest.raises(ConfigError, match=r"^label 'hexagon' is not a class of the data shapes-test was trained on; "
                                          r"give a class number from 0 to 2 or a class name \('circle', 'square', "
                                          r"'triangle'\)$"):
        cgan.sample(5, labels="hexagon")
    with pytest.raises(ConfigError, match="label 7 is not a class"):
        cgan.class_index(7)
    x = data.x[:4].numpy()
    for call in (cvae.encode, cvae.reconstruct, cvae.score):
        with pytest.raises(ConfigError, match=r"^the cvae family is conditional, so \w+ needs the examples' labels"):
            call(x)
    with pytest.raises(ConfigError, match=r"one class or one per example \(4\), not 3"):
        cvae.encode(x, labels=[0, 1, 2])


def test_a_plain_family_refuses_labels_and_a_conditional_one_unlabelled_data():
    gan = quick("gan").fit(labelled_vectors())
    with pytest.raises(ConfigError, match=r"^the gan family is not conditional, so it cannot sample given labels; "
                                          r"train a conditional family \(cgan, cvae\) on labelled data$"):
        gan.sample(5, labels=0)
    unlabelled = Dataset(name="plain", x=labelled_vectors().x, kind="vector", source="test")
    for family in ("cgan", "cvae"):
        with pytest.raises(ConfigError, match=f"the {family} family is conditional and needs labelled data"):
            quick(family).fit(unlabelled)


def test_cvae_encode_reconstruct_score_use_the_labels(fitted):
    models, data = fitted
    cvae = models["cvae"]
    x, y = data.x[:6].numpy(), data.y[:6].numpy()
    mu = cvae.encode(x, labels=y)
    assert mu.shape == (6, 3)
    assert not np.array_equal(mu, cvae.encode(x, labels=(y + 1) % K))
    assert cvae.reconstruct(x, labels=y).shape == x.shape
    family = cvae.family_
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(0)
        terms = family.elbo_terms(torch.from_numpy(x), torch.from_numpy(y))
    assert cvae.score(x, labels=y) == pytest.approx(float(-(terms["reconstruction"] + terms["kl"]).mean()), rel=1e-6)


def test_cvae_likelihood_metrics_bound_log_p_x_with_the_class_prior(fitted):
    models, data = fitted
    family = models["cvae"].family_
    x, y = data.x[:20], data.y[:20]
    values = vae_metrics(family, x, n_importance=3, nll_examples=None, seed=0, labels=y)
    assert values["label_prior_nats"] == pytest.approx(math.log(K))
    assert values["neg_elbo"] == pytest.approx(float(negative_elbo(family, x, seed=0, labels=y).mean()) + math.log(K))
    assert values["nll"] == pytest.approx(float(importance_weighted_nll(family, x, 3, seed=0, labels=y).mean())
                                          + math.log(K))
    with pytest.raises(ConfigError, match="conditional: its likelihood metrics need the examples' labels"):
        vae_metrics(family, x)


def test_importance_sampling_decodes_each_code_with_its_examples_label(fitted, monkeypatch):
    models, data = fitted
    family = models["cvae"].family_
    x, y = data.x[:5], torch.tensor([2, 0, 1, 1, 0])
    seen = []
    decode = family.decode

    def spy(z, labels=None):
        seen.append(labels.clone())
        return decode(z, labels)

    monkeypatch.setattr(family, "decode", spy)
    importance_weighted_nll(family, x, n_importance=4, labels=y)  # 4 codes of 5 examples in one call
    # codes are decoded as (k * B, L), row i * B + b belonging to example b
    assert len(seen) == 1 and torch.equal(seen[0], torch.tensor([2, 0, 1, 1, 0] * 4))


def test_save_load_keeps_labels_and_class_names(fitted, tmp_path):
    models, data = fitted
    for name, model in models.items():
        loaded = ganvae.load(model.save(tmp_path / f"{name}.pt"))
        assert type(loaded.family_) is type(model.family_)
        assert loaded.class_index("triangle") == 2
        assert np.array_equal(loaded.sample(7, seed=3, labels="triangle"), model.sample(7, seed=3, labels=2))
    x, y = data.x[:4].numpy(), data.y[:4].numpy()
    loaded = ganvae.load(tmp_path / "cvae.pt")
    assert np.array_equal(loaded.encode(x, labels=y), models["cvae"].encode(x, labels=y))


def test_resume_with_labels_equals_an_uninterrupted_run(tmp_path):
    data = labelled_images()
    whole = quick("cgan", arch="conv", steps=6, out=tmp_path / "whole").fit(data)
    quick("cgan", arch="conv", steps=3, out=tmp_path / "part").fit(data)
    resumed = quick("cgan", arch="conv", steps=6, out=tmp_path / "part").fit(data, resume=True)
    a, b = whole.family_.state_dict(), resumed.family_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert np.array_equal(whole.sample(5, seed=0, labels=1), resumed.sample(5, seed=0, labels=1))


@pytest.mark.parametrize("family", ["cgan", "cvae", "cgan-conv"])
def test_a_conditional_export_takes_codes_and_classes_and_reproduces_ganvae(fitted, family, tmp_path):
    from ganvae.export import export, read_metadata

    models, data = fitted
    model = quick("cgan", arch="conv", steps=2).fit(data) if family == "cgan-conv" else models[family]
    path = export(model, tmp_path / "net.pt")
    module = torch.jit.load(str(path))
    for batch in (1, 5):  # traced with a batch of 4
        z = torch.randn(batch, model.family_.latent_dim, generator=torch.Generator().manual_seed(batch))
        labels = torch.arange(batch) % K
        expected = model.family_.eval().from_latent(z, labels).numpy()
        assert np.abs(module(z, labels).numpy() - expected).max() <= 1e-5
    # The class changes the output: the labels input is used, not traced away as a constant.
    z = torch.randn(3, model.family_.latent_dim, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(module(z, torch.zeros(3, dtype=torch.long)), module(z, torch.ones(3, dtype=torch.long)))
    meta = read_metadata(path)
    assert meta["inputs"] == ["z", "labels"] and meta["n_classes"] == K
    assert meta["class_names"] == [str(n) for n in model.data_info_["class_names"]]
    if family == "cgan-conv":
        pytest.importorskip("onnxscript")
        ort = pytest.importorskip("onnxruntime")
        onnx_path = export(model, tmp_path / "net.onnx")
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["z", "labels"]
        z = torch.randn(6, model.family_.latent_dim, generator=torch.Generator().manual_seed(6))
        labels = torch.arange(6) % K
        out = session.run(None, {"z": z.numpy(), "labels": labels.numpy()})[0]
        assert np.abs(out - model.family_.from_latent(z, labels).numpy()).max() <= 1e-4


# --- figures and the command line ------------------------------------------------------------------------------

@pytest.mark.parametrize("family", ["cgan", "cvae"])
def test_run_figures_show_one_row_per_class(family, tmp_path):
    data = labelled_images()
    model = quick(family, out=tmp_path / "run").fit(data)
    model.plot()  # the run's figures are drawn by whoever trains (ganvae train, compare), not by fit
    picture = np.asarray(Image.open(tmp_path / "run" / "samples.png"))
    expected = image_grid(model.sample(K * PER_CLASS, seed=0, labels=class_rows(K)), nrow=PER_CLASS)
    scale = picture.shape[1] // expected.shape[1]
    assert expected.shape[0] == K * (8 + 2) + 2  # K rows of samples
    assert np.array_equal(picture[::scale, ::scale], expected)
    assert (tmp_path / "run" / "interpolations.png").exists()
    if family == "cvae":
        assert (tmp_path / "run" / "reconstructions.png").exists()


def write_folder(root, n_per_class=8):
    """A folder of 8x8 grey PNGs in class subfolders 'dark' and 'light' (sorted: dark is class 0)."""
    rng = np.random.default_rng(0)
    for index, name in enumerate(("dark", "light")):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = (rng.random((8, 8)) * 100 + 120 * index).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(root / name / f"{i}.png")
    return root


def test_cli_sample_label_by_name_or_number(tmp_path, capsys):
    folder = write_folder(tmp_path / "faces")
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", "cgan", "--data", folder, "--arch", "mlp", "--steps", 3,
                             "--batch-size", 8, "--hidden", 16, "--out", run, "--no-progress")
    assert code == 0, err
    code, out, err = run_cli(capsys, "train", "--resume", "--out", run, "--steps", 5, "--no-progress")
    assert code == 0, err
    code, out, err = run_cli(capsys, "sample", run, "-n", 12, "-o", tmp_path / "light.npy", "--label", "light")
    assert code == 0, err
    assert "wrote 12 samples of class 1 (light) of shape (1, 8, 8)" in out
    model = ganvae.load(run)
    assert np.array_equal(np.load(tmp_path / "light.npy"), model.sample(12, seed=0, labels=1))
    code, out, err = run_cli(capsys, "sample", run, "-n", 12, "-o", tmp_path / "zero.npy", "--label", "0")
    assert code == 0 and np.array_equal(np.load(tmp_path / "zero.npy"), model.sample(12, seed=0, labels=0))
    code, out, err = run_cli(capsys, "sample", run, "-n", 4, "-o", tmp_path / "x.npy", "--label", "medium")
    assert code != 0 and err.count("\n") == 1
    assert "label 'medium' is not a class of the data faces was trained on; give a class number from 0 to 1 or a " \
           "class name ('dark', 'light')" in err
    assert not (tmp_path / "x.npy").exists()


def test_cli_sample_label_on_a_plain_family_is_one_line(tmp_path, capsys):
    run = tmp_path / "gan"
    ganvae.GAN(steps=2, batch_size=16, hidden=8, out=run).fit(labelled_vectors())
    code, out, err = run_cli(capsys, "sample", run, "-n", 4, "-o", tmp_path / "x.npy", "--label", "1")
    assert code != 0 and err.count("\n") == 1
    assert "the gan family is not conditional, so it cannot sample a given class" in err


# --- the check: samples of class K are classified as K -----------------------------------------------

def class_accuracy(model, data_name: str, per_class: int = 50) -> float:
    """Share of samples drawn for class K that the shipped classifier of `data_name` calls K."""
    from ganvae.metrics.features import load_shipped_classifier

    classifier = load_shipped_classifier(data_name)
    labels = np.repeat(np.arange(model.family_.n_classes), per_class)
    _, predicted = classifier.embed(model.sample(len(labels), seed=0, labels=labels))
    return float((predicted == labels).mean())


def test_cvae_samples_of_class_k_are_classified_as_k():
    """A short cVAE run on mnist5k (200 steps): its samples of each digit are mostly read as that digit by the
    shipped classifier (measured 0.95; chance is 0.1)."""
    model = ganvae.Model.of("cvae", arch="mlp", steps=200, batch_size=64, hidden=128, latent_dim=16, lr=2e-3,
                            seed=0).fit("mnist5k")
    assert class_accuracy(model, "mnist5k") > 0.5


@pytest.mark.slow
def test_cgan_samples_of_class_k_are_classified_as_k():
    """A short convolutional cGAN run on mnist5k (400 steps; measured 0.79 on 2026-12-04, chance 0.1; after 200
    steps 0.28, and 0.07 at the learning rate 2e-4 the cGAN had before): the class takes hold before the digits are
    good."""
    model = ganvae.Model.of("cgan", arch="conv", steps=400, batch_size=64, hidden=16, latent_dim=16,
                            seed=0).fit("mnist5k")
    assert class_accuracy(model, "mnist5k") > 0.3


def _fashion_available() -> bool:
    try:
        ganvae.load_dataset(ganvae.DataConfig(name="fashion-mnist", split="test", download=False))
    except Exception:
        return False
    return True


needs_fashion = pytest.mark.skipif(not _fashion_available(), reason="the Fashion-MNIST files are absent")


@needs_fashion
def test_cvae_garments_of_class_k_are_classified_as_k_on_fashion_mnist():
    """The issue's check on Fashion-MNIST, at a test's budget: a cVAE (mlp, 200 steps, about 6 s) draws garments
    that the shipped classifier reads as the class asked for (measured 0.77; chance 0.1). Longer runs (docs/guide.md):
    cVAE conv 1,000 steps 0.80, cGAN conv 2,000 steps 0.90."""
    model = ganvae.Model.of("cvae", arch="mlp", steps=200, seed=0).fit("fashion-mnist")
    assert class_accuracy(model, "fashion-mnist") > 0.5


@needs_fashion
@pytest.mark.slow
def test_cgan_garments_of_class_k_are_classified_as_k_on_fashion_mnist():
    """A convolutional cGAN, 300 steps (about 16 s): measured 0.87 (0.79 at the learning rate 2e-4 it had before)."""
    model = ganvae.Model.of("cgan", arch="conv", steps=300, seed=0).fit("fashion-mnist")
    assert class_accuracy(model, "fashion-mnist") > 0.5


def test_the_cgan_samples_from_the_moving_average_and_augments_what_its_discriminator_sees():
    from ganvae.families.gan import EMA_NET

    model = quick("cgan", steps=6, augment="on").fit(labelled_images())
    family = model.family_
    assert family.augmenting  # DiffAugment as for every GAN family
    trained, average = family.nets["generator"], family.nets[EMA_NET]
    assert not torch.equal(next(trained.parameters()), next(average.parameters()))
    family.eval()
    z, labels = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    assert torch.equal(family.from_latent(z, labels), (torch.tanh(average(z, labels)) + 1) / 2)
    assert not torch.equal(family.from_latent(z, labels), family.from_latent(z, labels, ema=False))
    # the discriminator's input goes through the same augmentation as the plain GAN's
    seen = []
    family.discriminator_input = lambda x: seen.append(x.shape) or x
    family.discriminate(torch.zeros(2, 1, 8, 8), torch.tensor([0, 1]))
    assert seen == [torch.Size([2, 1, 8, 8])]


def test_the_cvae_warms_its_kl_weight_up_like_the_vae():
    model = quick("cvae", steps=6, kl_warmup=4, kl_weight=2.0).fit(labelled_vectors())
    family = model.family_
    assert int(family.kl_steps) == 6 and float(family.current_kl_weight()) == pytest.approx(2.0)
    batch = ganvae.families.Batch(labelled_vectors().x[:8], labelled_vectors().y[:8])
    assert "kl_weight" in family.elbo_loss(batch)
