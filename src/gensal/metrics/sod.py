"""Salient-object detection metrics, numerically matching PySODMetrics 1.6.2.

Every function takes a prediction already normalised by :func:`prepare` (``float64`` in [0, 1]) and a
boolean ground truth of the same shape. The conventions are PySODMetrics' (which mirror the MATLAB
toolboxes), kept as module constants:

* ground truth is binarised at ``gt > 128`` (of 255);
* the prediction is divided by 255 and min-max normalised per image when it is not constant;
* ``EPS = np.spacing(1)`` (MATLAB's ``eps``);
* the 256 dynamic thresholds act on ``uint8(pred * 255)`` (truncation) and run from 255 down to 0,
  so index 0 of every curve is the strictest threshold;
* adaptive thresholds are ``min(2 * mean(pred), 1)``.

Dataset-level numbers (``SODMetrics.summary``) average per-image values; curves are averaged per
threshold over images first, then the max and mean are taken over the averaged curve. ``docs/metrics.md``
lists where the MATLAB toolbox in ``shared/data/sod/reference_metrics`` differs.

References:
    MAE: Perazzi et al., "Saliency filters", CVPR 2012.
    S-measure: Fan et al., "Structure-measure: A new way to evaluate foreground maps", ICCV 2017.
    Weighted F-measure: Margolin et al., "How to evaluate foreground maps?", CVPR 2014.
    F-measure: Achanta et al., "Frequency-tuned salient region detection", CVPR 2009.
    E-measure: Fan et al., "Enhanced-alignment measure for binary foreground map evaluation", IJCAI 2018.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt

from gensal.errors import InputError

EPS = np.spacing(1)
GT_THRESHOLD = 128
NUM_THRESHOLDS = 256
F_BETA2 = 0.3
WEIGHTED_F_BETA2 = 1.0
S_ALPHA = 0.5
WFM_GAUSS_SIZE = 7
WFM_GAUSS_SIGMA = 5.0


def prepare(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalise a prediction and a mask the way PySODMetrics does.

    Args:
        pred: (H, W) ``uint8`` saliency map (0-255), or a float map already in [0, 1].
        gt: (H, W) ``uint8`` mask (0-255) or ``bool``.

    Returns:
        ``(pred, gt)``: ``float64`` prediction in [0, 1], min-max normalised unless constant, and the
        boolean mask ``gt > 128``.

    Raises:
        InputError: if the shapes differ or are not 2-D, or a float prediction holds NaN or leaves [0, 1].
    """
    gt = _binary_mask(pred, gt)
    if pred.dtype == np.uint8:
        present = np.flatnonzero(np.bincount(pred.ravel(), minlength=256))
        return _value_table(present[0], present[-1])[pred], gt
    return _normalise_float(pred), gt


def _binary_mask(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Check that ``pred`` and ``gt`` are 2-D and of one size; return the boolean mask ``gt > 128``."""
    if pred.ndim != 2 or gt.ndim != 2:
        raise InputError(f"prediction and ground truth must be 2-D, got {pred.shape} and {gt.shape}")
    if pred.shape != gt.shape:
        raise InputError(f"prediction has size {pred.shape} but ground truth has size {gt.shape}")
    return gt if gt.dtype == bool else gt > GT_THRESHOLD


def _normalise_float(pred: np.ndarray) -> np.ndarray:
    """Min-max normalise a float map in [0, 1] (left as it is when constant)."""
    pred = np.asarray(pred, dtype=np.float64)
    if not np.isfinite(pred).all():
        raise InputError("prediction contains NaN or infinite values")
    low, high = pred.min(), pred.max()
    if low < 0 or high > 1:
        raise InputError(f"a float prediction must lie in [0, 1], got [{low:g}, {high:g}]")
    if high != low:
        pred = (pred - low) / (high - low)
    return pred


def _value_table(lowest: int, highest: int) -> np.ndarray:
    """``mapminmax(code / 255)`` for every 8-bit code, given the lowest and highest code of the image.

    Each entry is computed with the same floating-point operations as the per-pixel formula, so looking
    pixels up in the table is bit-identical to normalising each of them. Codes outside
    ``lowest..highest`` (absent from the image) get values outside [0, 1].
    """
    values = np.arange(256) / 255.0
    low, high = values[lowest], values[highest]
    if high != low:
        values = (values - low) / (high - low)
    return values


def mae(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute error between the [0, 1] prediction and the binary mask."""
    return float(np.mean(np.abs(pred - gt)))


def adaptive_threshold(pred: np.ndarray) -> float:
    """Adaptive binarisation threshold ``min(2 * mean(pred), 1)`` (Achanta et al. 2009)."""
    return min(2.0 * float(pred.mean()), 1.0)


# ---------------------------------------------------------------------------------------------- S-measure
def _s_object(values: np.ndarray) -> float:
    mean = np.mean(values)
    std = np.std(values, ddof=1) if values.size > 1 else 0.0
    return 2.0 * mean / (mean * mean + 1.0 + std + EPS)


def _ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    """Region similarity of Fan et al. (2017), Eq. 7, with the toolbox's ``N - 1 + eps`` denominators."""
    n = pred.size
    x = np.mean(pred)
    y = np.mean(gt)
    dx = (pred - x).ravel()
    dy = (gt - y).ravel()
    sigma_x = np.dot(dx, dx) / (n - 1 + EPS)
    sigma_y = np.dot(dy, dy) / (n - 1 + EPS)
    sigma_xy = np.dot(dx, dy) / (n - 1 + EPS)
    return _ssim_score(x, y, sigma_x, sigma_y, sigma_xy)


def _ssim_score(x: float, y: float, sigma_x: float, sigma_y: float, sigma_xy: float) -> float:
    alpha = 4.0 * x * y * sigma_xy
    beta = (x * x + y * y) * (sigma_x + sigma_y)
    if alpha != 0:
        return alpha / (beta + EPS)
    return 1.0 if beta == 0 else 0.0


def _quadrants(shape: tuple[int, int], cy: int, cx: int) -> list[tuple[tuple[slice, slice], float]]:
    """The four windows split at row ``cy`` and column ``cx`` (top-left first), each with its area share."""
    h, w = shape
    area = h * w
    w_lt = cx * cy / area
    w_rt = cy * (w - cx) / area
    w_lb = (h - cy) * cx / area
    w_rb = 1.0 - w_lt - w_rt - w_lb
    top, bottom, left, right = slice(0, cy), slice(cy, h), slice(0, cx), slice(cx, w)
    return [((top, left), w_lt), ((top, right), w_rt), ((bottom, left), w_lb), ((bottom, right), w_rb)]


def s_measure(pred: np.ndarray, gt: np.ndarray, alpha: float = S_ALPHA) -> float:
    """Structure measure S = alpha * S_object + (1 - alpha) * S_region (Fan et al., ICCV 2017).

    Follows PySODMetrics ``Smeasure``: the split point is the rounded centroid of the mask (numpy's
    round-half-to-even) plus one, as in the MATLAB code's 1-based indexing; an empty mask gives
    ``1 - mean(pred)`` and a full mask ``mean(pred)``. A centroid in the last row or column leaves two
    quadrants empty; their NaN scores make S 0 here (``max(0, NaN)``), where PySODMetrics returns NaN.
    """
    gt_mean = np.mean(gt)
    if gt_mean == 0:
        return float(1.0 - np.mean(pred))
    if gt_mean == 1:
        return float(np.mean(pred))
    object_score = _s_object(pred[gt]) * gt_mean + _s_object(1.0 - pred[~gt]) * (1.0 - gt_mean)

    rows, cols = np.nonzero(gt)
    cy = int(np.round(rows.mean())) + 1
    cx = int(np.round(cols.mean())) + 1
    gtf = gt.astype(np.float64)
    region_score = 0.0
    for window, weight in _quadrants(gt.shape, cy, cx):
        region_score += _ssim(pred[window], gtf[window]) * weight
    return float(max(0.0, alpha * object_score + (1.0 - alpha) * region_score))


# --------------------------------------------------------------------------------------- weighted F-measure
def _matlab_gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB's ``fspecial('gaussian', [size size], sigma)`` (it is separable)."""
    half = (size - 1) / 2
    x = np.arange(-half, half + 1)
    g = np.exp(-(x * x) / (2 * sigma * sigma))
    return g / g.sum()


_WFM_KERNEL = _matlab_gaussian_1d(WFM_GAUSS_SIZE, WFM_GAUSS_SIGMA)
_WFM_RADIUS = WFM_GAUSS_SIZE // 2
_WFM_WINDOW = np.ones((WFM_GAUSS_SIZE, WFM_GAUSS_SIZE), np.uint8)
_NEAREST_REACH = math.isqrt(2 * _WFM_RADIUS**2)
_NEAREST_OFFSETS = np.array(
    sorted(
        (
            (dr, dc)
            for dr in range(-_NEAREST_REACH, _NEAREST_REACH + 1)
            for dc in range(-_NEAREST_REACH, _NEAREST_REACH + 1)
            if 0 < dr * dr + dc * dc <= 2 * _WFM_RADIUS**2
        ),
        key=lambda offset: (offset[0] ** 2 + offset[1] ** 2, offset[1], offset[0]),
    )
)
"""(row, column) offsets from a background pixel within the smoothing window of the foreground to every
foreground pixel that can be its nearest, in the order scipy prefers them: distance, column, row."""
_NEAREST_CHUNK = 2**14


def _nearest_foreground(mask: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Flat index of the nearest foreground pixel of each of ``pixels``, the one scipy would pick.

    ``scipy.ndimage.distance_transform_edt(~mask, return_indices=True)`` runs Maurer et al.'s separable
    feature transform: the nearest foreground pixel within each column (the upper one of two equally
    near), then the lower envelope of those along each row, whose query keeps the leftmost of equally near
    candidates. Among the foreground pixels nearest to a pixel it therefore returns the one in the
    leftmost column, and the upper one in that column. Taking the first foreground pixel in the order of
    :data:`_NEAREST_OFFSETS` makes the same choice, reading only the neighbourhood of each pixel.

    Args:
        mask: (h, w) boolean mask.
        pixels: flat indices of background pixels that each lie within ``_WFM_RADIUS`` rows and columns
            of a foreground pixel (so their nearest one is at most ``2 * _WFM_RADIUS**2`` away, squared).

    Returns:
        The flat indices of their nearest foreground pixels.
    """
    h, w = mask.shape
    reach = _NEAREST_REACH
    padded = np.zeros((h + 2 * reach, w + 2 * reach), bool)
    padded[reach : reach + h, reach : reach + w] = mask
    padded_offsets = _NEAREST_OFFSETS @ [padded.shape[1], 1]
    rows, cols = np.divmod(pixels, w)
    centres = (rows + reach) * padded.shape[1] + cols + reach
    offsets = _NEAREST_OFFSETS @ [w, 1]
    nearest = pixels.copy()
    for start in range(0, pixels.size, _NEAREST_CHUNK):  # bounds the (pixels, offsets) scratch array
        part = slice(start, start + _NEAREST_CHUNK)
        first = padded.ravel()[centres[part, None] + padded_offsets].argmax(axis=1)
        nearest[part] += offsets[first]
    return nearest


def _foreground_box(rows: np.ndarray, cols: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of the foreground, from per-row and per-column foreground counts (or flags)."""
    rows, cols = np.flatnonzero(rows), np.flatnonzero(cols)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _grow(box: tuple[slice, slice], margin: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    """``box`` grown by ``margin`` pixels on every side and clipped to an image of size ``shape``."""
    (rows, cols), (h, w) = box, shape
    return (
        slice(max(rows.start - margin, 0), min(rows.stop + margin, h)),
        slice(max(cols.start - margin, 0), min(cols.stop + margin, w)),
    )


def _distances_to_foreground(gt: np.ndarray, box: tuple[slice, slice], pixels: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance from background ``pixels`` (flat indices) to the nearest foreground pixel.

    The transform runs on the smallest window holding the foreground's bounding box ``box`` and the
    pixels: every foreground pixel lies in it, so the distances are those of the whole image. OpenCV's
    exact transform (Felzenszwalb & Huttenlocher) returns ``float32``; squared distances are integers, so
    rounding the squared ``float32`` value recovers them exactly while they stay below 2**20, and the
    ``float64`` square root then equals ``scipy.ndimage.distance_transform_edt``. Larger distances fall
    back to scipy.
    """
    if pixels.size == 0:
        return np.zeros(0)
    rows, cols = np.divmod(pixels, gt.shape[1])
    top, bottom = min(box[0].start, rows[0]), max(box[0].stop, rows[-1] + 1)
    left, right = min(box[1].start, cols.min()), max(box[1].stop, cols.max() + 1)
    rows -= top
    cols -= left
    background = ~gt[top:bottom, left:right]
    dist32 = cv2.distanceTransform(background.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    squared = np.round(dist32[rows, cols].astype(np.float64) ** 2)
    if squared.max() >= 2**20:
        return distance_transform_edt(background)[rows, cols]
    return np.sqrt(squared)


def weighted_f_measure(pred: np.ndarray, gt: np.ndarray, beta2: float = WEIGHTED_F_BETA2) -> float:
    """Weighted F-measure of Margolin et al. (CVPR 2014), as in PySODMetrics ``WeightedFmeasure``.

    Errors on background pixels take the value of the nearest foreground pixel's error, are smoothed by a
    7x7 Gaussian (sigma 5, zero padding) and weighted by ``2 - exp(log(0.5) / 5 * distance)``. An empty
    mask scores 0, as in the toolbox.

    Exact shortcuts keep it fast: the smoothed error is only read on the foreground, so the (separable)
    smoothing runs on the foreground's bounding box grown by the kernel radius, and the nearest-foreground
    transfer is only needed for the background pixels within the kernel's reach of the foreground, whose
    nearest foreground pixel is a few pixels away (:func:`_nearest_foreground`); the weighted false
    positives only need the background pixels with a non-zero error, and their distances come from
    OpenCV (:func:`_distances_to_foreground`). All give the result of the full computation, up to the
    order of summation.
    """
    if not gt.any():
        return 0.0
    box = _foreground_box(gt.any(axis=1), gt.any(axis=0))
    crop = _grow(box, _WFM_RADIUS, gt.shape)
    background = np.flatnonzero((pred != 0) & ~gt)
    bg_error = np.abs(pred.ravel()[background])
    return _weighted_f(gt, box, np.abs(pred[crop] - 1.0), background, bg_error, beta2)


def _weighted_f(
    gt: np.ndarray,
    box: tuple[slice, slice],
    fg_error: np.ndarray,
    background: np.ndarray,
    bg_error: np.ndarray,
    beta2: float,
) -> float:
    """:func:`weighted_f_measure` from the errors it reads.

    Args:
        gt: (H, W) boolean mask with at least one foreground pixel.
        box: the foreground's bounding box.
        fg_error: ``|pred - 1|`` on ``box`` grown by the kernel radius (its background is overwritten).
        background: flat indices of the background pixels with a non-zero error (prediction).
        bg_error: their errors, ``|pred|``.
        beta2: F-measure weight.
    """
    gt_c = gt[_grow(box, _WFM_RADIUS, gt.shape)]
    # The smoothed error is only read on the foreground, so only the background pixels within the window
    # of a foreground pixel need their nearest foreground pixel's error; other background pixels keep an
    # unread value.
    window_reach = cv2.dilate(gt_c.view(np.uint8), _WFM_WINDOW).view(bool)
    band = np.flatnonzero(window_reach > gt_c)
    flat = fg_error.reshape(-1)
    flat[band] = flat[_nearest_foreground(gt_c, band)]
    transferred = flat.reshape(gt_c.shape)
    smoothed = cv2.sepFilter2D(transferred, cv2.CV_64F, _WFM_KERNEL, _WFM_KERNEL, borderType=cv2.BORDER_CONSTANT)
    fg_error_sum = np.minimum(smoothed, transferred, out=smoothed)[gt_c].sum()
    n_fg = np.count_nonzero(gt_c)

    weight = 2.0 - np.exp(np.log(0.5) / 5.0 * _distances_to_foreground(gt, box, background))
    fp_w = np.dot(bg_error, weight)
    tp_w = n_fg - fg_error_sum
    recall = 1.0 - fg_error_sum / n_fg
    precision = tp_w / (tp_w + fp_w + EPS)
    return float((1 + beta2) * recall * precision / (recall + beta2 * precision + EPS))


# ------------------------------------------------------------------------------ threshold counts, F and E
def threshold_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives at the 256 thresholds 255, 254, ..., 0 on ``uint8(pred * 255)``.

    Args:
        pred: (H, W) normalised prediction in [0, 1].
        gt: (H, W) boolean mask.

    Returns:
        ``(tp, fp)``, each ``int64`` of shape (256,): pixels with ``uint8(pred * 255) >= 255 - i`` inside
        and outside the mask.
    """
    levels = (pred * 255).astype(np.uint8)
    hist = np.bincount(levels.ravel() + NUM_THRESHOLDS * gt.ravel(), minlength=2 * NUM_THRESHOLDS)
    return _counts_at_thresholds(hist.reshape(2, NUM_THRESHOLDS).T)


def _counts_at_thresholds(level_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(tp, fp)`` of :func:`threshold_counts` from (256, 2) pixel counts per level, outside and inside."""
    at_or_above = np.cumsum(level_counts[::-1], axis=0)
    return at_or_above[:, 1], at_or_above[:, 0]


def _safe_divide(numerator, denominator):
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def precision_recall(tp, fp, n_fg: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall from positive counts (0 where undefined, as in PySODMetrics)."""
    return _safe_divide(tp, np.asarray(tp) + fp), _safe_divide(tp, n_fg)


def f_measure_from_pr(precision, recall, beta2: float = F_BETA2):
    """F_beta = (1 + beta^2) P R / (beta^2 P + R), 0 where P = R = 0."""
    return _safe_divide((1 + beta2) * np.asarray(precision) * recall, beta2 * np.asarray(precision) + recall)


def e_measure_from_counts(tp, fp, n_fg: int, n_pixels: int):
    """Enhanced-alignment measure (Fan et al. 2018) of a binarised map from its confusion counts.

    The enhanced alignment matrix takes one value in each of the four (prediction, mask) cells, so the sum
    over pixels needs only the counts; it is divided by ``n_pixels - 1 + eps`` as in the toolbox.
    """
    tp = np.asarray(tp, dtype=np.float64)
    fp = np.asarray(fp, dtype=np.float64)
    pred_fg = tp + fp
    pred_bg = n_pixels - pred_fg
    if n_fg == 0:
        total = pred_bg
    elif n_fg == n_pixels:
        total = pred_fg
    else:
        fn = n_fg - tp
        tn = pred_bg - fn
        pred_mean = pred_fg / n_pixels
        gt_mean = n_fg / n_pixels
        total = np.zeros_like(pred_fg)
        for count, p, g in (
            (tp, 1 - pred_mean, 1 - gt_mean),
            (fp, 1 - pred_mean, -gt_mean),
            (fn, -pred_mean, 1 - gt_mean),
            (tn, -pred_mean, -gt_mean),
        ):
            align = 2 * (p * g) / (p * p + g * g + EPS)
            total = total + (align + 1) ** 2 / 4 * count
    return total / (n_pixels - 1 + EPS)


# ------------------------------------------------------------------------- 8-bit predictions, by histogram
_CALCHIST_MAX_PIXELS = 2**24
"""``cv2.calcHist`` counts in ``float32``, exact below 2**24 per bin; larger windows use ``np.bincount``."""

_THRESHOLD_TIE = 1e-9
"""A code value this close to the adaptive threshold has the threshold recomputed from the per-pixel
mean (numpy's summation order), so the binarisation matches PySODMetrics even on an exact tie."""


def _joint_histogram(code: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(256, 2) ``int64`` pixel counts of each 8-bit code outside (``[:, 0]``) and inside the mask.

    Args:
        code: (h, w) ``uint8`` prediction window.
        mask: (h, w) ``uint8`` mask window holding 0 and 1.
    """
    if code.size == 0:
        return np.zeros((256, 2), np.int64)
    if code.size < _CALCHIST_MAX_PIXELS:
        return cv2.calcHist([code, mask], [0, 1], None, [256, 2], [0, 256, 0, 2]).astype(np.int64)
    return np.bincount(code.ravel().astype(np.intp) * 2 + mask.ravel(), minlength=512).reshape(256, 2)


def _mean_from_counts(values: np.ndarray, counts: np.ndarray) -> float:
    return float(counts @ values / counts.sum())


def _s_object_from_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """:func:`_s_object` of pixels holding ``values`` ``counts`` times (centred sums, as ``np.std``)."""
    n = counts.sum()
    mean = _mean_from_counts(values, counts)
    std = np.sqrt(counts @ np.square(values - mean) / (n - 1)) if n > 1 else 0.0
    return 2.0 * mean / (mean * mean + 1.0 + std + EPS)


def _ssim_from_counts(
    values: np.ndarray, counts: np.ndarray, shape: tuple[int, int], window: tuple[slice, slice]
) -> float:
    """:func:`_ssim` of a window of the image from its (code, mask) counts.

    Args:
        values: normalised value of each code.
        counts: (codes, 2) pixel counts of the window outside and inside the mask.
        shape: the image's size.
        window: the window's rows and columns.
    """
    total = counts.sum(axis=1)
    n = total.sum()
    if n == 0:
        return np.nan  # as np.mean of an empty window
    n_fg = counts[:, 1].sum()
    present = np.flatnonzero(total)
    if present.size == 1 and values[present[0]] not in (0.0, 1.0):  # sums of 0s and 1s are exact
        # A constant window: in exact arithmetic its mean is the value and its variance 0, but numpy's
        # per-pixel sum can be an ulp off, which makes the variance tiny instead of 0 and flips the
        # score of a window inside (or outside) the mask from 1 to 0. Sum in numpy's order to match.
        x = np.mean(np.full(shape, values[present[0]])[window])
    else:
        x = _mean_from_counts(values, total)
    y = n_fg / n
    dx = values - x
    denominator = n - 1 + EPS
    sigma_x = total @ np.square(dx) / denominator
    sigma_y = ((n - n_fg) * y * y + n_fg * (1.0 - y) * (1.0 - y)) / denominator
    sigma_xy = ((counts[:, 1] @ dx) * (1.0 - y) - (counts[:, 0] @ dx) * y) / denominator
    return _ssim_score(x, y, sigma_x, sigma_y, sigma_xy)


def _score_codes(code: np.ndarray, gt: np.ndarray, with_weighted_f: bool = True) -> SODImageScores:
    """:func:`score_image` of an 8-bit prediction, mostly from (code, mask) histograms.

    The normalised prediction takes one value per code, so MAE, the mean, the threshold and adaptive
    counts and the S-measure's object term are sums over the codes of a pixel count times a function of
    the code's value; the region term needs the counts of each quadrant, which add up to the image's, so
    the image is read once. Means and variances are centred sums, like numpy's per-pixel ones, and agree
    with them to rounding. The weighted F-measure reads the prediction through lookup tables on the pixels
    it needs.

    Args:
        code: (H, W) ``uint8`` prediction, C-contiguous.
        gt: (H, W) boolean mask, C-contiguous.
        with_weighted_f: False skips the weighted F-measure (NaN).
    """
    h, w = code.shape
    n_pixels = code.size
    mask = gt.view(np.uint8)
    row_counts = cv2.reduce(mask, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
    col_counts = cv2.reduce(mask, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
    n_fg = int(row_counts.sum())
    quadrants = []
    if 0 < n_fg < n_pixels:
        # The centroid from integer sums: np.nonzero(gt)[k].mean() sums the same integers exactly.
        cy = int(np.round(np.dot(np.arange(h), row_counts) / n_fg)) + 1
        cx = int(np.round(np.dot(np.arange(w), col_counts) / n_fg)) + 1
        quadrants = [
            (window, weight, _joint_histogram(code[window], mask[window]))
            for window, weight in _quadrants(code.shape, cy, cx)
        ]
        counts = sum(window_counts for _, _, window_counts in quadrants)
    else:
        counts = _joint_histogram(code, mask)
    present = np.flatnonzero(counts.any(axis=1))
    lowest = present[0]
    table = _value_table(lowest, present[-1])
    codes = slice(lowest, present[-1] + 1)  # values outside the image's range are not in [0, 1]
    values, counts = table[codes], counts[codes]
    background, foreground = counts[:, 0], counts[:, 1]

    mean = _mean_from_counts(values, background + foreground)
    mae_value = (background @ values + foreground @ np.abs(values - 1.0)) / n_pixels

    threshold = min(2.0 * mean, 1.0)
    if np.any(np.abs(values - threshold) < _THRESHOLD_TIE):
        threshold = adaptive_threshold(table[code])
    positive = values >= threshold
    tp_a, fp_a = int(foreground[positive].sum()), int(background[positive].sum())

    level_counts = np.zeros((NUM_THRESHOLDS, 2), np.int64)
    np.add.at(level_counts, (values * 255).astype(np.uint8), counts)
    tp, fp = _counts_at_thresholds(level_counts)

    if n_fg == 0:
        s = 1.0 - mean
    elif n_fg == n_pixels:
        s = mean
    else:
        gt_mean = n_fg / n_pixels
        fg_score = _s_object_from_counts(values, foreground) * gt_mean
        bg_score = _s_object_from_counts(1.0 - values, background) * (1.0 - gt_mean)
        region_score = 0.0
        for window, weight, window_counts in quadrants:
            region_score += _ssim_from_counts(values, window_counts[codes], code.shape, window) * weight
        s = max(0.0, S_ALPHA * (fg_score + bg_score) + (1.0 - S_ALPHA) * region_score)

    weighted_f = 0.0 if with_weighted_f else math.nan
    if n_fg and with_weighted_f:
        box = _foreground_box(row_counts, col_counts)
        fg_error = np.abs(table - 1.0)[code[_grow(box, _WFM_RADIUS, gt.shape)]]
        # A background pixel's error is its value, 0 only for the lowest code (unless the map is constant).
        has_error = code > lowest if table[lowest] == 0 else np.ones_like(gt)
        background_pixels = np.flatnonzero(has_error & ~gt)
        bg_error = table[code.ravel()[background_pixels]]
        weighted_f = _weighted_f(gt, box, fg_error, background_pixels, bg_error, WEIGHTED_F_BETA2)
    return _image_scores(mae_value, s, weighted_f, tp, fp, tp_a, fp_a, n_fg, n_pixels)


# ------------------------------------------------------------------------------------- per image, dataset
@dataclass
class SODImageScores:
    """Every per-image quantity the dataset-level SOD metrics need."""

    mae: float
    s_measure: float
    weighted_f: float
    adaptive_f: float
    adaptive_e: float
    precision: np.ndarray  # (256,), thresholds 255..0
    recall: np.ndarray  # (256,)
    f_curve: np.ndarray  # (256,)
    e_curve: np.ndarray  # (256,)

    def scalars(self) -> dict[str, float]:
        """The per-image numbers (everything but the curves)."""
        return {k: float(v) for k, v in vars(self).items() if not isinstance(v, np.ndarray)}


def score_image(pred: np.ndarray, gt: np.ndarray, with_weighted_f: bool = True) -> SODImageScores:
    """All SOD metrics of one image.

    An 8-bit prediction is scored from histograms of its codes (:func:`_score_codes`), a float map pixel
    by pixel with the functions above; the two agree to rounding (1e-13).

    Args:
        pred: (H, W) ``uint8`` prediction (0-255) or float map in [0, 1].
        gt: (H, W) ``uint8`` (0-255) or ``bool`` mask of the same size.
        with_weighted_f: False skips the weighted F-measure (``weighted_f`` is then NaN), more than half of
            the time of an 8-bit map; every other score comes from the same threshold counts and costs little.
    """
    gt = _binary_mask(pred, gt)
    if pred.dtype == np.uint8:
        return _score_codes(np.ascontiguousarray(pred), np.ascontiguousarray(gt), with_weighted_f)
    pred = _normalise_float(pred)
    n_fg = int(np.count_nonzero(gt))
    tp, fp = threshold_counts(pred, gt)
    binary = pred >= adaptive_threshold(pred)
    tp_a = np.count_nonzero(binary & gt)
    fp_a = np.count_nonzero(binary) - tp_a
    weighted_f = weighted_f_measure(pred, gt) if with_weighted_f else math.nan
    return _image_scores(mae(pred, gt), s_measure(pred, gt), weighted_f, tp, fp, tp_a, fp_a, n_fg, gt.size)


def _image_scores(mae_value, s, weighted_f, tp, fp, tp_a, fp_a, n_fg: int, n_pixels: int) -> SODImageScores:
    """Collect the per-image scores from the metrics and the threshold and adaptive confusion counts."""
    precision, recall = precision_recall(tp, fp, n_fg)
    p_a, r_a = precision_recall(tp_a, fp_a, n_fg)
    return SODImageScores(
        mae=float(mae_value),
        s_measure=float(s),
        weighted_f=float(weighted_f),
        adaptive_f=float(f_measure_from_pr(p_a, r_a)),
        adaptive_e=float(e_measure_from_counts(tp_a, fp_a, n_fg, n_pixels)),
        precision=precision,
        recall=recall,
        f_curve=f_measure_from_pr(precision, recall),
        e_curve=e_measure_from_counts(tp, fp, n_fg, n_pixels),
    )


F_CURVE_MODES = ("per-image", "mean-pr")
"""How the dataset F-measure curve is formed: ``"per-image"`` averages each image's F curve (PySODMetrics);
``"mean-pr"`` computes F from the dataset-averaged precision and recall curves (the MATLAB toolbox of
``shared/data/sod/reference_metrics``)."""

SOD_METRICS = (
    "s_measure",
    "weighted_f",
    "max_f",
    "mean_f",
    "adaptive_f",
    "max_e",
    "mean_e",
    "adaptive_e",
    "mae",
)
"""Names of the dataset-level SOD numbers, in table order."""


class SODMetrics:
    """Dataset accumulator: ``update(pred, gt)`` per image, then ``summary()`` and ``curves()``.

    Args:
        f_curve: one of :data:`F_CURVE_MODES`; the default matches PySODMetrics, ``"mean-pr"`` the MATLAB
            toolbox's ``MaxFmeasure``. Every other number is the same under both.
        metrics: names from :data:`SOD_METRICS` that :meth:`summary` and :meth:`per_image` report, in
            table order; :meth:`update` skips the weighted F-measure when it is not among them.

    Raises:
        InputError: an unknown ``f_curve`` or metric name, or no metric.

    Example:
        >>> metrics = SODMetrics()
        >>> gt = np.zeros((8, 8), np.uint8); gt[2:6, 2:6] = 255
        >>> metrics.update(gt.copy(), gt)
        >>> round(metrics.summary()["mae"], 6)
        0.0
    """

    def __init__(self, f_curve: str = "per-image", metrics: Sequence[str] = SOD_METRICS) -> None:
        if f_curve not in F_CURVE_MODES:
            raise InputError(f"f_curve must be one of {F_CURVE_MODES}, got {f_curve!r}")
        unknown = [m for m in metrics if m not in SOD_METRICS]
        if unknown or not metrics:
            raise InputError(f"unknown SOD metric(s) {unknown or '(none given)'}; valid: {', '.join(SOD_METRICS)}")
        self.f_curve = f_curve
        self.metrics = tuple(m for m in SOD_METRICS if m in metrics)
        self.reset()

    def reset(self) -> None:
        self._scores: list[SODImageScores] = []

    def update(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Score one (H, W) ``uint8`` prediction against its mask."""
        self._scores.append(score_image(pred, gt, "weighted_f" in self.metrics))

    def add(self, scores: SODImageScores) -> None:
        """Add an image scored elsewhere (e.g. in a worker process) by :func:`score_image`."""
        self._scores.append(scores)

    def __len__(self) -> int:
        return len(self._scores)

    def _mean(self, name: str) -> np.ndarray:
        if not self._scores:
            raise InputError("no images were scored")
        return np.mean(np.array([getattr(s, name) for s in self._scores], dtype=np.float64), axis=0)

    def curves(self) -> dict[str, np.ndarray]:
        """Dataset-averaged curves over thresholds 255..0: precision, recall, F-measure, E-measure."""
        curves = {name: self._mean(name) for name in ("precision", "recall", "f_curve", "e_curve")}
        if self.f_curve == "mean-pr":
            curves["f_curve"] = f_measure_from_pr(curves["precision"], curves["recall"])
        return curves

    def summary(self) -> dict[str, float]:
        """Dataset-level numbers of the chosen metrics, named and ordered as in :data:`SOD_METRICS`."""
        curves = self.curves()
        f_curve, e_curve = curves["f_curve"], curves["e_curve"]
        values = {
            "s_measure": self._mean("s_measure"),
            "weighted_f": self._mean("weighted_f"),
            "max_f": f_curve.max(),
            "mean_f": f_curve.mean(),
            "adaptive_f": self._mean("adaptive_f"),
            "max_e": e_curve.max(),
            "mean_e": e_curve.mean(),
            "adaptive_e": self._mean("adaptive_e"),
            "mae": self._mean("mae"),
        }
        return {name: float(values[name]) for name in self.metrics}

    def per_image(self) -> list[dict[str, float]]:
        """The scalar per-image scores among the chosen metrics (max/mean F and E have none), in update order."""
        return [{k: v for k, v in s.scalars().items() if k in self.metrics} for s in self._scores]
