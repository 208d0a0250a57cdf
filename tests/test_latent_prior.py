"""The fitted latent prior (Ghosh et al. 2020): a Gaussian mixture over the encoded training data, sampled
instead of N(0, I) by `sample`, `evaluate` and `compare`, and cached in the run folder."""

import json

import numpy as np
import pytest
import torch

import ganvae
from ganvae.cli import main
from ganvae.data import Dataset
from ganvae.latent_prior import PRIOR_FILE, LatentPrior, encoded_means, fit_mixture


def ring(n=400):
    g = torch.Generator().manual_seed(1)
    angles = torch.randint(0, 8, (n,), generator=g).float() * (2 * torch.pi / 8)
    x = torch.stack([angles.cos(), angles.sin()], 1) + 0.05 * torch.randn(n, 2, generator=g)
    return Dataset(name="ring-test", x=x, kind="vector", source="test")


@pytest.fixture(scope="module")
def vae():
    return ganvae.VAE(steps=60, batch_size=50, latent_dim=2, hidden=16, seed=0).fit(ring())


def test_mixture_samples_have_the_mixtures_moments():
    rng = np.random.default_rng(0)
    prior = LatentPrior(weights=np.array([0.2, 0.5, 0.3]), means=rng.normal(size=(3, 2)) * 3,
                        covariances=np.stack([np.array([[1.0, 0.5], [0.5, 2.0]]), np.eye(2) * 0.1,
                                              np.array([[0.5, -0.2], [-0.2, 0.3]])]))
    torch.manual_seed(0)
    codes = prior.sample(200_000).double().numpy()
    assert np.allclose(codes.mean(0), prior.mean(), atol=0.03)
    assert np.allclose(np.cov(codes.T), prior.covariance(), atol=0.05)


def test_the_fitted_mixture_matches_the_encoded_means(vae):
    data = ring()
    prior = vae.latent_prior(n_components=4, data=data)
    codes = encoded_means(vae.family_, data.x)
    assert prior.n_components == 4
    # an EM fit keeps the data's mean and (biased) covariance, plus sklearn's reg_covar on the diagonal
    assert np.allclose(prior.mean(), codes.mean(0), atol=1e-5)
    assert np.allclose(prior.covariance(), np.cov(codes.T, bias=True) + 1e-6 * np.eye(2), atol=1e-4)
    assert np.allclose(codes, vae.encode(data.x.numpy()), atol=1e-6)


def test_gmm_sampling_is_seeded_per_sample_and_differs_from_the_normal_prior(vae):
    vae.latent_prior(n_components=4, data=ring())
    many = vae.sample(1500, seed=3, prior="gmm")
    assert np.array_equal(vae.sample(10, seed=3, prior="gmm"), many[:10])
    assert np.array_equal(vae.sample(1500, seed=3, prior="gmm"), many)
    assert not np.allclose(vae.sample(10, seed=3), many[:10])
    assert vae.latent_prior_.n_components == 4  # sample(prior="gmm") used the mixture fitted above


def test_a_family_without_encoder_refuses():
    gan = ganvae.GAN(steps=2, batch_size=50).fit(ring())
    with pytest.raises(ganvae.ConfigError, match="the gan family has no encoder, so it cannot fit a latent prior"):
        gan.sample(5, prior="gmm")
    with pytest.raises(ganvae.ConfigError, match="prior must be one of normal, gmm"):
        gan.sample(5, prior="uniform")


def test_in_memory_training_data_must_be_passed():
    model = ganvae.VAE(steps=2, batch_size=50).fit(np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32))
    with pytest.raises(ganvae.ConfigError, match=r"cannot be loaded again .*model.latent_prior\(data=x\)"):
        model.sample(5, prior="gmm")


def test_cached_in_the_run_folder_and_refitted_when_the_weights_change(tmp_path, monkeypatch):
    out = tmp_path / "run"
    ganvae.VAE(steps=4, batch_size=50, latent_dim=2, hidden=8, out=out).fit("ring8")
    first = ganvae.load(out).sample(20, seed=0, prior="gmm")
    assert (out / PRIOR_FILE).is_file()
    stored = LatentPrior.read(out / PRIOR_FILE)

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted again although the cache holds this model's mixture")

    import ganvae.latent_prior as latent_prior

    with monkeypatch.context() as patch:
        patch.setattr(latent_prior, "fit_mixture", no_fit)
        assert np.array_equal(ganvae.load(out).sample(20, seed=0, prior="gmm"), first)
    ganvae.VAE(steps=8, batch_size=50, latent_dim=2, hidden=8, out=out).fit(None, resume=True)
    ganvae.load(out).sample(20, seed=0, prior="gmm")
    assert LatentPrior.read(out / PRIOR_FILE).key != stored.key


def test_evaluate_with_the_gmm_prior(vae):
    from ganvae.evaluation import evaluate, format_table

    model = ganvae.VAE(steps=30, batch_size=50, latent_dim=2, hidden=16, seed=0).fit("ring8")
    normal = evaluate(model, n_eval=200, iw_samples=5, nll_examples=20, cache=False, prior="normal")
    fitted = evaluate(model, n_eval=200, iw_samples=5, nll_examples=20, cache=False, prior="gmm",
                      gmm_components=3)
    assert fitted["settings"]["prior"] == "gmm" and fitted["settings"]["gmm_components"] == 3
    assert "prior" not in normal["settings"]
    # the likelihood of the decoder with the mixture as its prior: another model, so another NLL; the encoder's
    # own numbers (KL to N(0, I), active units, reconstructions) are the same
    assert fitted["metrics"]["nll"] != normal["metrics"]["nll"]
    assert fitted["metrics"]["neg_elbo"] != normal["metrics"]["neg_elbo"]
    for name in ("kl_per_dim", "active_units", "reconstruction_error"):
        assert fitted["metrics"][name] == normal["metrics"][name]
    assert fitted["metrics"]["fid"] != normal["metrics"]["fid"]
    default = evaluate(model, n_eval=200, iw_samples=5, nll_examples=20, cache=False, gmm_components=3)
    assert default["settings"]["prior"] == "gmm" and default["metrics"] == fitted["metrics"]
    assert "GMM prior of 3 components" in format_table(fitted)
    with pytest.raises(ganvae.ConfigError, match="holds samples, not a model"):
        evaluate(np.zeros((20, 2), np.float32), data="ring8", n_eval=20, prior="gmm")


def test_cli_sample_and_evaluate_flags(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "vae", "--data", "ring8", "--steps", "20", "--latent-dim", "2", "--out", str(out),
                 "--no-progress"]) == 0
    assert main(["sample", str(out), "-n", "30", "--prior", "gmm", "--gmm-components", "3",
                 "-o", str(tmp_path / "gmm.npy")]) == 0
    model = ganvae.load(out)
    model.latent_prior(3)
    assert np.array_equal(np.load(tmp_path / "gmm.npy"), model.sample(30, seed=0, prior="gmm"))
    assert main(["evaluate", str(out), "-n", "100", "--prior", "gmm", "--iw-samples", "5", "--nll-examples",
                 "10"]) == 0
    written = json.loads((out / "metrics.json").read_text())  # the default prior's file: auto is gmm for a VAE
    assert written["settings"]["prior"] == "gmm" and written["settings"]["gmm_components"] == 10
    assert main(["evaluate", str(out), "-n", "100", "--prior", "normal", "--iw-samples", "5", "--nll-examples",
                 "10"]) == 0
    assert "prior" not in json.loads((out / "metrics-normal.json").read_text())["settings"]
    assert json.loads((out / "metrics.json").read_text()) == written  # not overwritten by another prior's
    assert main(["sample", str(out), "-n", "30", "-o", str(tmp_path / "auto.npy")]) == 0
    assert "codes from the 10-component mixture fitted to the encoded training data" in capsys.readouterr().out
    model.latent_prior(10)
    assert np.array_equal(np.load(tmp_path / "auto.npy"), model.sample(30, seed=0, prior="gmm"))
    gan = tmp_path / "gan"
    assert main(["train", "gan", "--data", "ring8", "--steps", "2", "--out", str(gan), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["sample", str(gan), "--prior", "gmm", "-o", str(tmp_path / "g.npy")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no encoder, so it cannot fit a latent prior" in err[0]


def test_compare_reports_both_priors_side_by_side(tmp_path):
    from ganvae.comparison import compare
    from ganvae.config import BudgetConfig, CompareConfig, DataConfig

    cfg = CompareConfig(data=DataConfig(name="ring8", n_examples=400), seeds=2, n_eval=200, iw_samples=10,
                        nll_examples=20, budget=BudgetConfig(steps=8))
    said = []
    summary, paths = compare(cfg, tmp_path, progress=False, say=said.append, gmm_components=3)  # prior="both"
    assert summary["families"] == ["gan", "vae", "vae+gmm"]
    fitted = [run for run in summary["runs"] if run["family"] == "vae+gmm"]
    assert [run["seed"] for run in fitted] == [0, 1]
    assert all(run["metrics"]["nll"] is not None and run["metrics"]["fid"] is not None for run in fitted)
    plain = [run for run in summary["runs"] if run["family"] == "vae"]
    assert all(f["metrics"]["nll"] != p["metrics"]["nll"] and f["metrics"]["active_units"] == p["metrics"]["active_units"]
               for f, p in zip(fitted, plain))  # the mixture's likelihood; the same encoder
    assert summary["aggregate"]["vae+gmm"]["fid"]["n"] == 2
    markdown = paths["markdown"].read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| metric |"))
    assert header == "| metric | better | GAN | VAE | VAE (GMM prior) | finding |"
    assert "VAE (GMM prior), seed 0" in markdown  # its own samples figure
    assert (tmp_path / "runs" / "vae-seed0" / "samples-gmm.png").is_file()
    # a second call reuses both the runs and their fitted-prior scores
    said.clear()
    again, _ = compare(cfg, tmp_path, progress=False, say=said.append, prior="gmm", gmm_components=3)
    assert not any("Gaussian mixture" in line for line in said) and any("reusing" in line for line in said)
    assert again["families"] == ["gan", "vae+gmm"]
    assert [r["metrics"]["fid"] for r in again["runs"] if r["family"] == "vae+gmm"] == \
        [r["metrics"]["fid"] for r in fitted]


def test_cli_compare_prior_flag():
    from ganvae.cli import build_parser

    args = build_parser().parse_args(["compare", "--data", "ring8", "--prior", "normal", "--gmm-components", "4"])
    assert (args.prior, args.gmm_components) == ("normal", 4)
    # compare and advise show a VAE both ways unless told otherwise; sample and evaluate draw from the fitted
    # mixture where the family has an encoder (auto)
    assert build_parser().parse_args(["compare", "--data", "ring8"]).prior == "both"
    assert build_parser().parse_args(["sample", "RUN", "-o", "s.npy"]).prior == "auto"


def test_auto_is_the_mixture_for_vaes_and_n01_for_the_vaegan_and_conditional_families():
    from ganvae.families import FAMILIES
    from ganvae.latent_prior import resolve_prior

    built_in = ("gan", "wgan-gp", "sngan", "cgan", "vae", "iwae", "cvae", "vaegan")
    auto = {name: resolve_prior("auto", FAMILIES.get(name).capabilities) for name in built_in}
    assert {name for name, prior in auto.items() if prior == "gmm"} == {"vae", "iwae"}
    assert resolve_prior("gmm", FAMILIES.get("vaegan").capabilities) == "gmm"  # asked for, it is given


def test_the_mixtures_log_density_is_sklearns():
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(size=(300, 3)) * 0.3 + 2, rng.normal(size=(200, 3)) @ rng.normal(size=(3, 3))])
    mixture = GaussianMixture(n_components=3, covariance_type="full", random_state=0).fit(codes)
    prior = LatentPrior(mixture.weights_, mixture.means_, mixture.covariances_)
    points = rng.normal(size=(7, 5, 3)) * 2
    density = prior.log_density(torch.from_numpy(points))
    assert density.shape == (7, 5) and density.dtype == torch.float64
    np.testing.assert_allclose(density.numpy(), mixture.score_samples(points.reshape(-1, 3)).reshape(7, 5),
                               rtol=1e-10)


def test_sample_falls_back_to_the_normal_prior_when_the_mixture_cannot_be_fitted(tmp_path, capsys):
    """auto's mixture needs the training data or a stored fit: a run whose CSV has moved and whose fit is gone
    still samples, from N(0, I), and says why in one line; asked for --prior gmm, it is an error."""
    rng = np.random.default_rng(0)
    table = tmp_path / "points.csv"
    np.savetxt(table, rng.normal(size=(200, 3)), delimiter=",", header="a,b,c", comments="")
    out = tmp_path / "run"
    assert main(["train", "vae", "--data", str(table), "--steps", "20", "--out", str(out), "--no-progress"]) == 0
    (out / PRIOR_FILE).unlink(missing_ok=True)
    table.rename(tmp_path / "moved.csv")
    capsys.readouterr()
    assert main(["sample", str(out), "-n", "10", "-o", str(tmp_path / "s.npy")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: sampling from N(0, I), not the fitted mixture:")
    assert np.array_equal(np.load(tmp_path / "s.npy"), ganvae.load(out).sample(10, seed=0, prior="normal"))
    assert main(["sample", str(out), "-n", "10", "--prior", "gmm", "-o", str(tmp_path / "g.npy")]) != 0
