"""Improved precision and recall, density and coverage, with chunked k-nearest-neighbour distances.

Memory stays at O(chunk_size x N): no full N x M distance matrix is ever built. The chunked distance helpers
here are shared with ``memorization`` and ``clusters``.
"""

import numpy as np
import torch

from ganvae.errors import ConfigError
from ganvae.metrics.fid import as_feature_array, check_same_dim

__all__ = ["prdc", "nearest_neighbour_distances", "nearest_distances", "distance_blocks"]

DEFAULT_CHUNK_SIZE = 512
MAX_BLOCK_ENTRIES = 2**24  # distances per block of nearest_distances when no chunk size is given


def _check_chunk_size(chunk_size):
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ConfigError(f"`chunk_size` must be a positive integer, got {chunk_size!r}.")
    return int(chunk_size)


def distance_blocks(queries, reference, chunk_size=DEFAULT_CHUNK_SIZE):
    """Yield ``(rows, distances)``: Euclidean distances (len(rows), len(reference)) from each chunk of query rows.

    Uses ||x||^2 - 2 x.y + ||y||^2 clipped at 0, then the square root, in float64: the same expansion as
    sklearn's ``euclidean_distances``, which the ``prdc`` package calls, so comparisons against radii agree.
    """
    query_norms = np.einsum("ij,ij->i", queries, queries)  # (N,)
    reference_norms = np.einsum("ij,ij->i", reference, reference)  # (M,)
    for start in range(0, len(queries), chunk_size):
        rows = slice(start, min(start + chunk_size, len(queries)))
        block = queries[rows] @ reference.T  # (c, M)
        block *= -2.0
        block += query_norms[rows, None]
        block += reference_norms[None, :]
        np.maximum(block, 0.0, out=block)
        np.sqrt(block, out=block)
        yield rows, block


# |float32 d^2 - float64 d^2| <= FLOAT32_ERROR * (dim + 16) * (|x|^2 + |y|^2) for any summation order: the
# worst-case bound of a dim-term dot product (dim * 2^-24 relative to |x||y|), the two norms, the additions and the
# inputs' rounding to float32, with a factor of 8 to spare. A float32 distance farther than that from a threshold
# decides a comparison as float64 would; the few nearer are computed again in float64.
FLOAT32_ERROR = 8 * 2.0**-24
SPARE_NEIGHBOURS = 8  # float32 neighbours beyond the k-th kept as candidates for the float64 k-th


class _Points:
    """Features in the two precisions the distances are computed in: float32 (torch, for the matmuls) and
    float64 (numpy, for the pairs a float32 distance cannot decide), with their squared norms."""

    def __init__(self, features: np.ndarray):
        self.x64 = features
        self.norms64 = np.einsum("ij,ij->i", features, features)
        self.x32 = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        self.norms32 = self.x32.pow(2).sum(1)
        self.error = FLOAT32_ERROR * (features.shape[1] + 16)  # times |x|^2 + |y|^2: see FLOAT32_ERROR

    def squared_block(self, rows: slice, other: "_Points") -> torch.Tensor:
        """float32 squared distances (len(rows), len(other)) by the expansion |x|^2 - 2 x.y + |y|^2."""
        block = torch.addmm(other.norms32[None, :], self.x32[rows], other.x32.T, alpha=-2.0)
        return block.add_(self.norms32[rows, None])

    def exact(self, rows: np.ndarray, other: "_Points", cols: np.ndarray) -> np.ndarray:
        """float64 distances of the pairs (rows[t], cols[t]): the expansion of ``distance_blocks``, clipped at 0."""
        dots = np.einsum("ij,ij->i", self.x64[rows], other.x64[cols])
        return np.sqrt(np.maximum(self.norms64[rows] + other.norms64[cols] - 2.0 * dots, 0.0))


def _kth_smallest_per_row(rows: np.ndarray, values: np.ndarray, n_rows: int, k: int) -> np.ndarray:
    """The k-th smallest (from 0) of each row's values, for pairs grouped by row (every row has more than k)."""
    order = np.lexsort((values, rows))
    starts = np.searchsorted(rows[order], np.arange(n_rows))
    return values[order][starts + k]


def _radii(points: _Points, k: int, chunk_size: int) -> np.ndarray:
    """Each point's distance to its k-th nearest other point (itself the 0-th), as float64 would compute it.

    The k-th smallest float32 squared distance of a row, t, is within the error bound e of the float64 one, so
    every point that float64 puts within the k-th nearest is at most t + 2e in float32: those candidates (a few
    more than k + 1 per row) are measured again in float64 and the k-th of them taken."""
    n = len(points.x64)
    radii = np.empty(n)
    largest_norm = float(points.norms32.max())
    for start in range(0, n, chunk_size):
        rows = slice(start, min(start + chunk_size, n))
        block = points.squared_block(rows, points)
        local = torch.arange(block.shape[0])
        block[local, local + start] = 0.0  # self-distance, as sklearn sets it
        # The k + 1 + SPARE_NEIGHBOURS nearest in float32 (topk is 7x faster than kthvalue here): the candidates
        # are among them unless the last is still within the slack, in which rare rows the whole row is searched.
        n_nearest = min(k + 1 + SPARE_NEIGHBOURS, n)
        nearest, nearest_cols = block.topk(n_nearest, dim=1, largest=False)
        limit = nearest[:, k] + 2 * points.error * (points.norms32[rows] + largest_norm)
        within = nearest <= limit[:, None]
        crowded = within[:, -1].clone() if n_nearest < n else torch.zeros(len(limit), dtype=torch.bool)
        within[crowded] = False
        candidate_rows, place = within.nonzero(as_tuple=True)
        cols = nearest_cols[candidate_rows, place]
        if bool(crowded.any()):
            extra_rows, extra_cols = (block[crowded] <= limit[crowded, None]).nonzero(as_tuple=True)
            candidate_rows = torch.cat([candidate_rows, crowded.nonzero()[:, 0][extra_rows]])
            cols = torch.cat([cols, extra_cols])
        candidate_rows, cols = candidate_rows.numpy(), cols.numpy()
        distances = points.exact(candidate_rows + start, points, cols)
        distances[candidate_rows + start == cols] = 0.0
        radii[rows] = _kth_smallest_per_row(candidate_rows, distances, block.shape[0], k)
    return radii


def nearest_neighbour_distances(features, k, chunk_size=DEFAULT_CHUNK_SIZE):
    """Distance from each row of ``features`` (N, D) to its k-th nearest other row, shape (N,).

    The point itself is the 0-th neighbour (distance 0), so this is the (k+1)-th smallest entry of each row of
    the self-distance matrix, as in the ``prdc`` package's ``compute_nearest_neighbour_distances``.
    Duplicated rows count as separate neighbours at distance 0. Computed as float64 would (the expansion of
    ``distance_blocks``), from float32 matrix products checked against their error bound (see ``_radii``).
    """
    features = as_feature_array(features, "features")
    if int(k) != k or k < 1:
        raise ConfigError(f"`k` must be a positive integer, got {k!r}.")
    k = int(k)
    if len(features) <= k:
        raise ConfigError(f"`k`={k} needs more than k samples, but `features` has {len(features)}; lower k.")
    return _radii(_Points(features), k, _check_chunk_size(chunk_size))


def nearest_distances(queries, reference, chunk_size=None):
    """Distance from each row of ``queries`` (N, D) to its nearest row of ``reference`` (M, D), shape (N,).

    float64, the same expansion as ``distance_blocks`` (to rounding), but each query row's own ||x||^2 is added
    after the minimum, so a (chunk, M) block takes one fused matmul and one min: about three times faster,
    which matters for memorisation's 10,000 samples against 60,000 training examples. ``chunk_size`` query rows
    per block; None keeps each block within ``MAX_BLOCK_ENTRIES`` distances (128 MB).
    """
    chunk_size = max(1, MAX_BLOCK_ENTRIES // max(1, len(reference))) if chunk_size is None else \
        _check_chunk_size(chunk_size)
    queries = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float64))
    reference = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float64))
    reference_norms = reference.pow(2).sum(1).unsqueeze(0)  # (1, M)
    nearest = torch.empty(len(queries), dtype=torch.float64)
    for start in range(0, len(queries), chunk_size):
        block = torch.addmm(reference_norms, queries[start:start + chunk_size], reference.T, alpha=-2.0)  # (c, M)
        nearest[start:start + chunk_size] = block.min(1).values
    return (nearest + queries.pow(2).sum(1)).clamp_(min=0).sqrt_().numpy()


def prdc(real_features, fake_features, k=5, chunk_size=DEFAULT_CHUNK_SIZE):
    """Precision, recall, density and coverage of fake features (M, D) against real features (N, D).

    With r_i the distance from real point i to its k-th nearest real neighbour and s_j the same for fake j
    (see ``nearest_neighbour_distances``), B(x, r) the open ball ||y - x|| < r:

    - precision = share of fakes inside at least one real ball B(real_i, r_i). Higher is better (fidelity).
    - recall = share of reals inside at least one fake ball B(fake_j, s_j). Higher is better (diversity).
      Both from Kynkaanniemi et al. (2019), "Improved Precision and Recall Metric for Assessing Generative
      Models".
    - density = (1 / kM) sum_j #{i : fake_j in B(real_i, r_i)}. Higher means more fidelity; about 1 when fake
      and real share one distribution (its expected value is exactly 1), above 1 when fakes crowd dense regions.
    - coverage = share of reals whose ball B(real_i, r_i) contains at least one fake. Higher is better; for
      fake and real from one distribution its expected value is 1 - prod_{t=1..k} (N - t) / (N + M - t),
      about 1 - 2^-k for M = N (0.969 for k=5). Both from Naeem et al. (2020), "Reliable Fidelity and
      Diversity Metrics for Generative Models".

    Strict ``<`` comparisons and radii that count the point itself follow the ``prdc`` package (clovaai),
    whose ``compute_prdc(real, fake, nearest_k=k)`` this matches. Every radius and comparison is the one float64
    distances give; the distances are multiplied in float32 chunks of ``chunk_size`` rows (memory near
    chunk_size x max(N, M) floats), and the few pairs within float32's error bound of a radius are measured again
    in float64. On 10,000 x 10,000 features of dimension 256 that is 4-5x faster than the package with the same
    values (``benchmarks/bench_metrics.py``).

    Returns:
        ``{"precision", "recall", "density", "coverage"}`` as Python floats.
    """
    real_features = as_feature_array(real_features, "real_features")
    fake_features = as_feature_array(fake_features, "fake_features")
    check_same_dim(real_features, fake_features, "real_features", "fake_features")
    if int(k) != k or k < 1:
        raise ConfigError(f"`k` must be a positive integer, got {k!r}.")
    k = int(k)
    for name, features in (("real_features", real_features), ("fake_features", fake_features)):
        if len(features) <= k:
            raise ConfigError(f"`k`={k} needs more than k samples, but `{name}` has {len(features)}; lower k.")
    chunk_size = _check_chunk_size(chunk_size)

    real, fake = _Points(real_features), _Points(fake_features)
    real_radii, fake_radii = _radii(real, k, chunk_size), _radii(fake, k, chunk_size)  # (N,), (M,)
    fake_in_some_real_ball = torch.zeros(len(fake_features), dtype=torch.bool)  # precision
    real_balls_per_fake = torch.zeros(len(fake_features), dtype=torch.int64)  # density
    real_in_some_fake_ball = torch.empty(len(real_features), dtype=torch.bool)  # recall
    real_ball_has_fake = torch.empty(len(real_features), dtype=torch.bool)  # coverage
    # A float32 squared distance below r^2 - e is inside a ball of radius r and one at or above r^2 + e outside,
    # e the error bound of that pair; the pairs between are measured in float64 (a handful per thousand rows).
    fake_r2 = torch.from_numpy(fake_radii**2)
    fake_e = torch.from_numpy(fake.error * (fake.norms64 + real.norms64.max()) + 1e-9 * fake_radii**2)
    fake_low, fake_high = (fake_r2 - fake_e).float(), (fake_r2 + fake_e).float()
    largest_fake_norm = fake.norms64.max()
    for start in range(0, len(real_features), chunk_size):
        rows = slice(start, min(start + chunk_size, len(real_features)))
        block = real.squared_block(rows, fake)  # (c, M)
        r2 = torch.from_numpy(real_radii[rows] ** 2)
        e = torch.from_numpy(real.error * (real.norms64[rows] + largest_fake_norm) + 1e-9 * real_radii[rows] ** 2)
        inside_real_ball = _inside(block, (r2 - e).float()[:, None], (r2 + e).float()[:, None],
                                   lambda i, j: real.exact(i + start, fake, j) < real_radii[i + start])
        as_bytes = inside_real_ball.view(torch.uint8)  # reductions of bytes: 5-50x faster than of bools here
        fake_in_some_real_ball |= as_bytes.amax(dim=0).bool()
        real_balls_per_fake += as_bytes.sum(dim=0, dtype=torch.int32)
        real_ball_has_fake[rows] = as_bytes.amax(dim=1).bool()
        inside_fake_ball = _inside(block, fake_low[None, :], fake_high[None, :],
                                   lambda i, j: real.exact(i + start, fake, j) < fake_radii[j])
        real_in_some_fake_ball[rows] = inside_fake_ball.view(torch.uint8).amax(dim=1).bool()
    return {
        "precision": float(fake_in_some_real_ball.double().mean()),
        "recall": float(real_in_some_fake_ball.double().mean()),
        "density": float((1.0 / k) * real_balls_per_fake.double().mean()),
        "coverage": float(real_ball_has_fake.double().mean()),
    }


def _inside(block: torch.Tensor, low: torch.Tensor, high: torch.Tensor, exact) -> torch.Tensor:
    """Whether each float32 squared distance of `block` is inside its ball: surely below `low`, surely not at or
    above `high`, and between them decided by `exact(rows, cols)` (numpy index arrays -> bool array)."""
    inside = block < low
    unsure = (block < high) & ~inside
    if bool(unsure.view(torch.uint8).max()):
        i, j = unsure.nonzero(as_tuple=True)
        inside[i, j] = torch.from_numpy(exact(i.numpy(), j.numpy()))
    return inside
