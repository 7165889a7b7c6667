"""Quality of uncertainty maps and of sample diversity, as pure numpy functions (paper 1, section 6.5).

Each function cites the definition it implements; all take one image's maps as (H, W) arrays (or a stack
of samples as (N, H, W)) and return floats, so that a data set's score is the mean over images, as for
the SOD metrics.

* :func:`error_detection`: AUROC and AUPR of the uncertainty as a score for "the thresholded mean map is
  wrong at this pixel" (Hendrycks and Gimpel 2017; errors are the positive class for AUPR).
* :func:`calibration`: expected calibration error of the mean map's probabilities with equal-width bins
  (Guo et al. 2017; 15 bins) and the reliability diagram's points.
* :func:`sparsification`: the error of the pixels kept after removing the most uncertain ones, against the
  oracle that removes the largest errors first; AUSE is the area between the two curves (Ilg et al. 2018).
* :func:`generalised_energy_distance`: D^2 = 2 E[d(S, Y)] - E[d(S, S')] - E[d(Y, Y')] with d = 1 - IoU
  of the binarised maps (Kohl et al. 2018); one ground truth per image, so the last term is 0.
* :func:`sample_spread`: the mean per-pixel standard deviation over the samples.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15
"""Equal-width probability bins of the expected calibration error (Guo et al. 2017)."""

ERROR_THRESHOLD = 0.5
"""A pixel of the mean map is wrong when (map >= 0.5) differs from the ground truth (gt > 0.5)."""

SPARSIFICATION_STEPS = 20
"""Fractions removed in the sparsification curves: 0, 1/20, ..., 19/20."""


def _check_pair(a: np.ndarray, b: np.ndarray, names: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"{names}: expected two (H, W) arrays of one size, got {a.shape} and {b.shape}")
    return a, b


def auroc(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the boolean ``positives`` (ties count half; the
    Mann-Whitney statistic). NaN when all pixels are of one class."""
    scores, positives = np.ravel(scores), np.ravel(positives).astype(bool)
    n_pos = int(positives.sum())
    n_neg = positives.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(scores.size, dtype=np.float64)
    # average ranks of tied scores (1-based)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], scores.size]
    average = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision, sum over positives of the precision at
    their rank (tied scores are taken together). NaN when there is no positive."""
    scores, positives = np.ravel(scores), np.ravel(positives).astype(bool)
    n_pos = int(positives.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    s, p = scores[order], positives[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    true_pos = np.cumsum(p)[last_of_tie]
    counted = last_of_tie + 1
    precision = true_pos / counted
    recall_gain = np.diff(np.r_[0, true_pos]) / n_pos
    return float(np.sum(precision * recall_gain))


def error_detection(mean_map: np.ndarray, uncertainty: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """How well the uncertainty finds the pixels where the thresholded mean map is wrong.

    Args:
        mean_map: (H, W) probabilities in [0, 1].
        uncertainty: (H, W) any scores (higher: less sure), e.g. the predictive entropy.
        gt: (H, W) ground truth in [0, 1] (or 0/255, binarised at half its maximum if above 1).

    Returns:
        ``auroc`` and ``aupr`` (NaN when the map is right or wrong everywhere) and ``error_rate``.
    """
    mean_map, uncertainty = _check_pair(mean_map, uncertainty, "mean_map, uncertainty")
    gt = _binary(gt, mean_map.shape)
    wrong = (mean_map >= ERROR_THRESHOLD) != gt
    return {
        "auroc": auroc(uncertainty, wrong),
        "aupr": average_precision(uncertainty, wrong),
        "error_rate": float(wrong.mean()),
    }


def _binary(gt: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    gt = np.asarray(gt, dtype=np.float64)
    if gt.shape != shape:
        raise ValueError(f"gt: expected shape {shape}, got {gt.shape}")
    return gt > (127.5 if gt.max() > 1 else 0.5)


def calibration(mean_map: np.ndarray, gt: np.ndarray, bins: int = ECE_BINS) -> dict[str, object]:
    """Expected calibration error of the probabilities of being salient, and the reliability diagram.

    ECE = sum_b (n_b / n) |accuracy_b - confidence_b| over equal-width bins of the predicted probability p,
    where confidence_b is the mean p in the bin and accuracy_b the fraction of its pixels that are salient
    (the binary form of Guo et al. 2017, over the probability of the positive class).

    Returns:
        ``ece`` and, per bin, ``counts``, ``confidence`` and ``accuracy`` (NaN for empty bins).
    """
    p = np.asarray(mean_map, dtype=np.float64)
    y = _binary(gt, p.shape).ravel()
    p = np.clip(p.ravel(), 0.0, 1.0)
    index = np.minimum((p * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    sum_p = np.bincount(index, weights=p, minlength=bins)
    sum_y = np.bincount(index, weights=y.astype(np.float64), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = sum_p / counts
        accuracy = sum_y / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] / p.size * np.abs(accuracy[filled] - confidence[filled])))
    return {"ece": ece, "counts": counts, "confidence": confidence, "accuracy": accuracy}


def sparsification(uncertainty: np.ndarray, error: np.ndarray, steps: int = SPARSIFICATION_STEPS) -> dict[str, object]:
    """Sparsification curves and AUSE (Ilg et al. 2018).

    Pixels are removed in order of decreasing uncertainty (the curve) or of decreasing true error (the
    oracle); at each removed fraction 0, 1/steps, ... the mean error of the remaining pixels is recorded,
    both curves are divided by the error at fraction 0, and AUSE is the mean gap between them (the area,
    with fractions in [0, 1)). Lower is better; 0 when the uncertainty orders the errors perfectly.

    Args:
        uncertainty: (H, W) scores.
        error: (H, W) per-pixel error, e.g. |mean map - gt|.

    Returns:
        ``ause``, ``fractions``, ``curve``, ``oracle`` (NaN curves when the error is 0 everywhere).
    """
    uncertainty, error = _check_pair(uncertainty, error, "uncertainty, error")
    u, e = uncertainty.ravel(), error.ravel()
    n = e.size
    fractions = np.arange(steps) / steps

    def curve(order: np.ndarray) -> np.ndarray:
        ordered = e[order]  # most uncertain (or largest error) first
        tail_sums = np.cumsum(ordered[::-1])[::-1]  # sum of the pixels from position i on
        kept_from = (fractions * n).astype(int)
        return tail_sums[kept_from] / (n - kept_from)

    total = e.mean()
    if total == 0:
        nan = np.full(steps, np.nan)
        return {"ause": float("nan"), "fractions": fractions, "curve": nan, "oracle": nan}
    by_uncertainty = curve(np.argsort(-u, kind="mergesort")) / total
    by_error = curve(np.argsort(-e, kind="mergesort")) / total
    return {
        "ause": float(np.mean(by_uncertainty - by_error)),
        "fractions": fractions,
        "curve": by_uncertainty,
        "oracle": by_error,
    }


def _iou_distance(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 0.0
    return float(1.0 - np.logical_and(a, b).sum() / union)


def generalised_energy_distance(samples: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> float:
    """D^2_GED = 2 E[d(S, Y)] - E[d(S, S')] with d = 1 - IoU of maps binarised at ``threshold``
    (Kohl et al. 2018, one ground truth Y per image). Lower: samples closer to the ground truth, relative
    to their diversity.

    Args:
        samples: (N, H, W) sample maps in [0, 1], N >= 1.
        gt: (H, W) ground truth.
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 3 or samples.shape[0] < 1:
        raise ValueError(f"samples: expected (N, H, W) with N >= 1, got {samples.shape}")
    y = _binary(gt, samples.shape[1:])
    binary = samples >= threshold
    to_gt = np.mean([_iou_distance(s, y) for s in binary])
    n = len(binary)
    pairs = [_iou_distance(binary[i], binary[j]) for i in range(n) for j in range(n)]
    return float(2.0 * to_gt - np.mean(pairs))


def sample_spread(samples: np.ndarray) -> float:
    """Mean over pixels of the standard deviation over the N samples (N, H, W) (0 for N = 1)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 3:
        raise ValueError(f"samples: expected (N, H, W), got {samples.shape}")
    return float(samples.std(axis=0).mean())


def uncertainty_error_correlation(mean_uncertainty: np.ndarray, mae: np.ndarray) -> float:
    """Pearson correlation over images between the mean uncertainty and the MAE of each image
    (NaN with fewer than 2 images or a constant input)."""
    u, e = np.asarray(mean_uncertainty, dtype=np.float64), np.asarray(mae, dtype=np.float64)
    if u.shape != e.shape or u.ndim != 1:
        raise ValueError(f"expected two 1-D arrays of one length, got {u.shape} and {e.shape}")
    if len(u) < 2 or u.std() == 0 or e.std() == 0:
        return float("nan")
    return float(np.corrcoef(u, e)[0, 1])
