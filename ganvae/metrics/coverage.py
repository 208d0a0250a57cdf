"""Class coverage: how the classes a classifier sees in generated samples compare with those of real data."""

import numpy as np

from ganvae.errors import ConfigError, DataError

__all__ = ["class_coverage"]


def _as_labels(labels, name, n_classes):
    array = np.asarray(labels)
    if array.ndim != 1 or array.size == 0:
        raise DataError(f"`{name}` must be a non-empty 1-D array of predicted class indices, got shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all() or (array % 1 != 0).any():
            raise DataError(f"`{name}` must hold integer class indices (for example argmax of logits).")
        array = array.astype(np.int64)
    if array.min() < 0 or array.max() >= n_classes:
        raise DataError(
            f"`{name}` holds class indices from {array.min()} to {array.max()}, outside [0, {n_classes - 1}]; "
            "check n_classes."
        )
    return array


def class_coverage(pred_fake, pred_real, n_classes, eps=1e-6):
    """Compare the predicted-class histogram of generated samples with that of real data.

    Args:
        pred_fake: (M,) integer classes a fixed classifier predicts for generated samples.
        pred_real: (N,) integer classes it predicts for real data (not the labels, so classifier bias cancels).
        n_classes: number of classes C.
        eps: floor for real class shares, so a class the real data never shows gives a large finite penalty
            instead of an infinite KL. Real shares that are not 0 are left untouched.

    Returns:
        dict with
        ``kl`` (float, lower is better): KL(p_fake || p_real) = sum_c p_fake(c) log(p_fake(c) / max(p_real(c),
        eps)), with 0 log 0 = 0. 0 when the histograms match; log(1 / p_real(c)) when every sample falls in
        class c. This direction penalises samples in classes real data rarely shows and dropped classes only
        through the renormalised weight of the others; ``min_class_share`` reports dropped classes directly.
        ``min_class_share`` (float, higher is better): the smallest p_fake(c); 0 when a class is missing, 1/C
        for a perfectly balanced sample.
        ``histogram`` (float array (C,)): p_fake, the share of samples predicted as each class.

    The KL-to-real histogram is the mode-collapse score of Stacked-MNIST evaluations (Metz et al. 2017,
    "Unrolled Generative Adversarial Networks"; Srivastava et al. 2017, VEEGAN), which compare against a
    uniform target; here the target is the real data's own predicted histogram.
    """
    if int(n_classes) != n_classes or n_classes < 1:
        raise ConfigError(f"`n_classes` must be a positive integer, got {n_classes!r}.")
    n_classes = int(n_classes)
    if not (0 < eps < 1):
        raise ConfigError(f"`eps` must be in (0, 1), got {eps!r}.")
    pred_fake = _as_labels(pred_fake, "pred_fake", n_classes)
    pred_real = _as_labels(pred_real, "pred_real", n_classes)
    fake_share = np.bincount(pred_fake, minlength=n_classes) / len(pred_fake)  # (C,)
    real_share = np.bincount(pred_real, minlength=n_classes) / len(pred_real)  # (C,)
    present = fake_share > 0
    kl = np.sum(fake_share[present] * np.log(fake_share[present] / np.maximum(real_share[present], eps)))
    return {"kl": float(kl), "min_class_share": float(fake_share.min()), "histogram": fake_share}
