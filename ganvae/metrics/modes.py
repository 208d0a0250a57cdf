"""Mode counting for samples of a known Gaussian mixture (the 2-D ring and grid benchmarks)."""

import numpy as np

from ganvae.errors import ConfigError, DataError
from ganvae.metrics.fid import as_feature_array, check_same_dim

__all__ = ["mode_metrics"]


def mode_metrics(samples, means, sigma, n_std=3.0, min_hq_samples=1):
    """Modes captured, share of high-quality samples and KL to uniform for samples of a Gaussian mixture.

    Protocol of VEEGAN (Srivastava et al. 2017, "VEEGAN: Reducing Mode Collapse in GANs using Implicit
    Variational Learning", Sec. 5.1), reused by PacGAN (Lin et al. 2018) for the 2-D ring and grid:

    - each sample is assigned to its nearest mean (Euclidean);
    - it is high quality (HQ) if its distance to that mean is <= ``n_std * sigma`` (three standard deviations);
    - a mode is captured if at least ``min_hq_samples`` HQ samples are assigned to it. The default 1 is the
      VEEGAN/PacGAN count ("nearest to at least one high-quality sample"); raise it for a count that one stray
      sample cannot inflate.

    For an exact draw from an isotropic 2-D mixture with well-separated modes the HQ share is
    P(chi_2 <= n_std^2) = 1 - exp(-n_std^2 / 2) (0.989 for 3 sigma), not the 1-D 0.997.

    Args:
        samples: (N, D) generated points (D = 2 for the toy sets).
        means: (n_modes, D) mixture means.
        sigma: standard deviation of each isotropic component, a positive float or an (n_modes,) array.
        n_std: HQ radius in standard deviations.
        min_hq_samples: HQ samples a mode needs to count as captured.

    Returns:
        dict with
        ``modes_captured`` (int, higher is better, at most n_modes),
        ``high_quality_share`` (float in [0, 1], higher is better),
        ``kl_to_uniform`` (float, lower is better): KL(p_HQ || uniform) = sum_m p_m log(n_modes p_m), where p
        is the histogram of HQ samples over modes normalised to sum 1; empty modes contribute 0 (0 log 0 = 0),
        so it ranges from 0 (balanced) to log(n_modes) (one mode). This is the direction PacGAN calls the
        reverse KL (generated || target). NaN when there is no HQ sample at all, since p is then undefined.
        ``mode_histogram`` (int array (n_modes,)): HQ samples per mode.
    """
    samples = as_feature_array(samples, "samples")
    means = as_feature_array(means, "means")
    check_same_dim(samples, means, "samples", "means")
    n_modes = len(means)
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim == 0:
        sigma = np.full(n_modes, float(sigma))
    if sigma.shape != (n_modes,) or not (np.isfinite(sigma).all() and (sigma > 0).all()):
        raise DataError(f"`sigma` must be a positive number or an array of {n_modes} positive numbers, one per mode.")
    if not (np.isfinite(n_std) and n_std > 0):
        raise ConfigError(f"`n_std` must be a positive number, got {n_std!r}.")
    if int(min_hq_samples) != min_hq_samples or min_hq_samples < 1:
        raise ConfigError(f"`min_hq_samples` must be a positive integer, got {min_hq_samples!r}.")

    squared = np.stack([((samples - mean) ** 2).sum(axis=1) for mean in means], axis=1)  # (N, n_modes)
    nearest_mode = squared.argmin(axis=1)  # (N,)
    distance = np.sqrt(squared[np.arange(len(samples)), nearest_mode])
    high_quality = distance <= n_std * sigma[nearest_mode]
    histogram = np.bincount(nearest_mode[high_quality], minlength=n_modes)

    n_high_quality = int(histogram.sum())
    if n_high_quality == 0:
        kl = float("nan")
    else:
        share = histogram[histogram > 0] / n_high_quality
        kl = float(np.sum(share * np.log(share * n_modes)))
    return {
        "modes_captured": int((histogram >= min_hq_samples).sum()),
        "high_quality_share": float(high_quality.mean()),
        "kl_to_uniform": kl,
        "mode_histogram": histogram,
    }
