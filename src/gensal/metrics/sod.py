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
    pred, gt, _ = _prepare(pred, gt)
    return pred, gt


def _prepare(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`prepare`, plus the ``uint8(pred * 255)`` levels when they come for free (``uint8`` input)."""
    if pred.ndim != 2 or gt.ndim != 2:
        raise InputError(f"prediction and ground truth must be 2-D, got {pred.shape} and {gt.shape}")
    if pred.shape != gt.shape:
        raise InputError(f"prediction has size {pred.shape} but ground truth has size {gt.shape}")
    gt = gt if gt.dtype == bool else gt > GT_THRESHOLD
    if pred.dtype == np.uint8:
        pred, levels = _normalise_uint8(pred)
        return pred, gt, levels
    pred = np.asarray(pred, dtype=np.float64)
    if not np.isfinite(pred).all():
        raise InputError("prediction contains NaN or infinite values")
    if pred.min() < 0 or pred.max() > 1:
        raise InputError(f"a float prediction must lie in [0, 1], got [{pred.min():g}, {pred.max():g}]")
    low, high = pred.min(), pred.max()
    if high != low:
        pred = (pred - low) / (high - low)
    return pred, gt, None


def _normalise_uint8(pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``mapminmax(pred / 255)`` and its ``uint8(x * 255)`` levels, through 256-entry lookup tables.

    Each table entry is computed with the same floating-point operations as the per-pixel formula, so the
    result is bit-identical to normalising every pixel, at a fraction of the cost.
    """
    values = np.arange(256) / 255.0
    present = np.flatnonzero(np.bincount(pred.ravel(), minlength=256))
    low, high = values[present[0]], values[present[-1]]
    if high != low:
        values = (values - low) / (high - low)
    return values[pred], (values * 255).astype(np.uint8)[pred]


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
    alpha = 4.0 * x * y * sigma_xy
    beta = (x * x + y * y) * (sigma_x + sigma_y)
    if alpha != 0:
        return alpha / (beta + EPS)
    return 1.0 if beta == 0 else 0.0


def s_measure(pred: np.ndarray, gt: np.ndarray, alpha: float = S_ALPHA) -> float:
    """Structure measure S = alpha * S_object + (1 - alpha) * S_region (Fan et al., ICCV 2017).

    Follows PySODMetrics ``Smeasure``: the split point is the rounded centroid of the mask (numpy's
    round-half-to-even) plus one, as in the MATLAB code's 1-based indexing; an empty mask gives
    ``1 - mean(pred)`` and a full mask ``mean(pred)``.
    """
    gt_mean = np.mean(gt)
    if gt_mean == 0:
        return float(1.0 - np.mean(pred))
    if gt_mean == 1:
        return float(np.mean(pred))
    object_score = _s_object(pred[gt]) * gt_mean + _s_object(1.0 - pred[~gt]) * (1.0 - gt_mean)

    h, w = gt.shape
    rows, cols = np.nonzero(gt)
    cy = int(np.round(rows.mean())) + 1
    cx = int(np.round(cols.mean())) + 1
    area = h * w
    w_lt = cx * cy / area
    w_rt = cy * (w - cx) / area
    w_lb = (h - cy) * cx / area
    w_rb = 1.0 - w_lt - w_rt - w_lb
    gtf = gt.astype(np.float64)
    region_score = (
        _ssim(pred[:cy, :cx], gtf[:cy, :cx]) * w_lt
        + _ssim(pred[:cy, cx:], gtf[:cy, cx:]) * w_rt
        + _ssim(pred[cy:, :cx], gtf[cy:, :cx]) * w_lb
        + _ssim(pred[cy:, cx:], gtf[cy:, cx:]) * w_rb
    )
    return float(max(0.0, alpha * object_score + (1.0 - alpha) * region_score))


# --------------------------------------------------------------------------------------- weighted F-measure
def _matlab_gaussian_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB's ``fspecial('gaussian', [size size], sigma)`` (it is separable)."""
    half = (size - 1) / 2
    x = np.arange(-half, half + 1)
    g = np.exp(-(x * x) / (2 * sigma * sigma))
    return g / g.sum()


_WFM_KERNEL = _matlab_gaussian_1d(WFM_GAUSS_SIZE, WFM_GAUSS_SIGMA)


def _foreground_crop(gt: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Bounding box of the mask's foreground, grown by ``margin`` pixels and clipped to the image."""
    rows = np.flatnonzero(gt.any(axis=1))
    cols = np.flatnonzero(gt.any(axis=0))
    h, w = gt.shape
    return (
        slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, h)),
        slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, w)),
    )


def _background_distances(gt: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance of each background pixel (``gt[~gt]`` order) to the nearest foreground.

    OpenCV's exact transform (Felzenszwalb & Huttenlocher) returns ``float32``; squared distances are
    integers, so rounding the squared ``float32`` value recovers them exactly while they stay below
    2**20, and the ``float64`` square root then equals ``scipy.ndimage.distance_transform_edt``.
    Larger distances fall back to scipy.
    """
    background = ~gt
    dist32 = cv2.distanceTransform(background.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    squared = np.round(dist32[background].astype(np.float64) ** 2)
    if squared.size and squared.max() >= 2**20:
        return distance_transform_edt(background)[background]
    return np.sqrt(squared)


def weighted_f_measure(pred: np.ndarray, gt: np.ndarray, beta2: float = WEIGHTED_F_BETA2) -> float:
    """Weighted F-measure of Margolin et al. (CVPR 2014), as in PySODMetrics ``WeightedFmeasure``.

    Errors on background pixels take the value of the nearest foreground pixel's error, are smoothed by a
    7x7 Gaussian (sigma 5, zero padding) and weighted by ``2 - exp(log(0.5) / 5 * distance)``. An empty
    mask scores 0, as in the toolbox.

    Two exact shortcuts keep it fast: the smoothed error is only read on the foreground, so the
    nearest-foreground transfer and the (separable) smoothing run on the foreground's bounding box grown
    by the kernel radius; and the background distances come from OpenCV (see
    :func:`_background_distances`). Both give bit-identical results to the full computation.
    """
    if not gt.any():
        return 0.0
    error = np.abs(pred - gt)
    crop = _foreground_crop(gt, WFM_GAUSS_SIZE // 2)
    gt_c, error_c = gt[crop], error[crop]
    idx_r, idx_c = distance_transform_edt(~gt_c, return_distances=False, return_indices=True)
    smoothed = cv2.sepFilter2D(
        error_c[idx_r, idx_c], cv2.CV_64F, _WFM_KERNEL, _WFM_KERNEL, borderType=cv2.BORDER_CONSTANT
    )
    fg_error = np.minimum(smoothed[gt_c], error_c[gt_c])

    weight = 2.0 - np.exp(np.log(0.5) / 5.0 * _background_distances(gt))
    fp_w = np.dot(error[~gt], weight)
    tp_w = fg_error.size - fg_error.sum()
    recall = 1.0 - fg_error.mean()
    precision = tp_w / (tp_w + fp_w + EPS)
    return float((1 + beta2) * recall * precision / (recall + beta2 * precision + EPS))


# ------------------------------------------------------------------------------ threshold counts, F and E
def threshold_counts(
    pred: np.ndarray, gt: np.ndarray, levels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives at the 256 thresholds 255, 254, ..., 0 on ``uint8(pred * 255)``.

    Args:
        pred: (H, W) normalised prediction in [0, 1].
        gt: (H, W) boolean mask.
        levels: ``uint8(pred * 255)`` if already known.

    Returns:
        ``(tp, fp)``, each ``int64`` of shape (256,): pixels with ``uint8(pred * 255) >= 255 - i`` inside
        and outside the mask.
    """
    if levels is None:
        levels = (pred * 255).astype(np.uint8)
    hist = np.bincount(levels.ravel() + NUM_THRESHOLDS * gt.ravel(), minlength=2 * NUM_THRESHOLDS)
    fp = np.cumsum(hist[NUM_THRESHOLDS - 1 :: -1])
    tp = np.cumsum(hist[: NUM_THRESHOLDS - 1 : -1])
    return tp, fp


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


def score_image(pred: np.ndarray, gt: np.ndarray) -> SODImageScores:
    """All SOD metrics of one image.

    Args:
        pred: (H, W) ``uint8`` prediction (0-255) or float map in [0, 1].
        gt: (H, W) ``uint8`` (0-255) or ``bool`` mask of the same size.
    """
    pred, gt, levels = _prepare(pred, gt)
    n_fg = int(np.count_nonzero(gt))
    tp, fp = threshold_counts(pred, gt, levels)
    precision, recall = precision_recall(tp, fp, n_fg)

    binary = pred >= adaptive_threshold(pred)
    tp_a = np.count_nonzero(binary & gt)
    fp_a = np.count_nonzero(binary) - tp_a
    p_a, r_a = precision_recall(tp_a, fp_a, n_fg)
    return SODImageScores(
        mae=mae(pred, gt),
        s_measure=s_measure(pred, gt),
        weighted_f=weighted_f_measure(pred, gt),
        adaptive_f=float(f_measure_from_pr(p_a, r_a)),
        adaptive_e=float(e_measure_from_counts(tp_a, fp_a, n_fg, gt.size)),
        precision=precision,
        recall=recall,
        f_curve=f_measure_from_pr(precision, recall),
        e_curve=e_measure_from_counts(tp, fp, n_fg, gt.size),
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

    Example:
        >>> metrics = SODMetrics()
        >>> gt = np.zeros((8, 8), np.uint8); gt[2:6, 2:6] = 255
        >>> metrics.update(gt.copy(), gt)
        >>> round(metrics.summary()["mae"], 6)
        0.0
    """

    def __init__(self, f_curve: str = "per-image") -> None:
        if f_curve not in F_CURVE_MODES:
            raise InputError(f"f_curve must be one of {F_CURVE_MODES}, got {f_curve!r}")
        self.f_curve = f_curve
        self.reset()

    def reset(self) -> None:
        self._scores: list[SODImageScores] = []

    def update(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Score one (H, W) ``uint8`` prediction against its mask."""
        self._scores.append(score_image(pred, gt))

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
        """Dataset-level numbers named as in :data:`SOD_METRICS`."""
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
        return {name: float(values[name]) for name in SOD_METRICS}

    def per_image(self) -> list[dict[str, float]]:
        """The scalar per-image scores, in update order."""
        return [s.scalars() for s in self._scores]
