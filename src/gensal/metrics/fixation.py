"""Eye-fixation metrics of the MIT saliency benchmark, in numpy, plus a data-set accumulator.

Every metric follows one MATLAB file of the benchmark's ``code_forMetrics/`` (github.com/cvzoya/saliency,
commit 5951cdc; copied in ``../shared/reference/mit-saliency-metrics/``), whose definitions are discussed
in Z. Bylinskii, T. Judd, A. Oliva, A. Torralba, F. Durand, "What do different evaluation metrics tell us
about saliency models?", IEEE TPAMI 41(3), 2018. Values agree with that code run in GNU Octave on real
OSIE data to 2e-11 (the AUCs to 1e-15 given the same random draws, EMD to 1e-7;
``tests/fixtures/mit_reference/``). Conventions, and the few places where gensal
deliberately differs, are listed in ``docs/metrics.md``; in short:

* Inputs: a saliency map (H, W) of any real dtype; a *binary* fixation map (H, W) (nonzero = fixated,
  a pixel fixated twice counts once) for AUC-Judd, AUC-Borji, sAUC, NSS and information gain; a
  *continuous* ground-truth map (the blurred fixation map, see :func:`gensal.data.fixations.fixation_density`)
  for CC, KL, SIM and EMD.
* A saliency map of another size is resized to the ground truth's size with :func:`resize_map`, a
  re-implementation of MATLAB's ``imresize`` (bicubic, antialiased when shrinking), as the MATLAB code does.
* Random parts (AUC-Judd jitter, AUC-Borji and sAUC negatives) take ``rng``: a ``numpy.random.Generator``
  or a seed (``None`` draws fresh entropy). The exact draws are documented per function.
* Degenerate maps get the chance score instead of MATLAB's NaN: a constant saliency map scores AUC 0.5,
  NSS 0 and CC 0, and is a uniform distribution for SIM, KL and information gain. "Constant" allows for
  round-off (:data:`ROUNDOFF_TOLERANCE`): a uniform map keeps these scores after resizing, or as a
  uniform log-density, instead of scoring the noise of its last digits (NSS -1 and AUCs far from 0.5).
"""

from __future__ import annotations

import functools
import warnings
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from gensal.checks import check_finite, check_same_size, check_seed, check_shape
from gensal.data.fixations import Fixations, fixation_density, single_threaded_blas
from gensal.errors import ConfigError, InputError

EPS = np.finfo(np.float64).eps
"""MATLAB's ``eps`` (2.2204e-16), the regulariser of ``KLdiv.m`` and ``InfoGain.m``."""
AUC_JUDD_JITTER_DIVISOR = 10_000_000
"""``AUC_Judd.m`` adds ``rand(size(map)) / 10000000`` to break ties between equal saliency values."""
AUC_SPLITS = 100
"""Random sets of negatives averaged by AUC-Borji and sAUC (``Nsplits`` in the MATLAB code)."""
AUC_STEP = 0.1
"""Threshold step of AUC-Borji and sAUC on the min-max normalised map (``stepSize``)."""
SHUFFLED_OTHER_IMAGES = 10
"""sAUC negatives come from the fixations of this many other images (Borji's M = 10)."""
EMD_DOWNSIZE = 32
"""``EMD.m`` shrinks both maps by this factor before solving the transport problem."""
EMD_EXTRA_MASS_PENALTY = 0.0
"""``EMD.m`` calls FastEMD's ``emd_hat_gd_metric_mex(P, Q, D, 0)``: unmatched mass would cost nothing, and
there is none, as both maps are normalised to sum 1."""
EMD_SOLVERS = {"exact": "pot", "fastemd": "cpp"}
"""The EMD solvers of :func:`emd` and the ``pyemd`` backend each one runs (see :func:`emd`)."""
EMD_SOLVER = "exact"
"""Default EMD solver: exact and, without a thresholded ground distance, 100x faster than FastEMD."""
EMD_REQUIREMENT = "pyemd>=1.1,<2"
"""The pyemd versions with both backends (as in ``pyproject.toml``); named in the error when it is missing."""
CENTER_SIGMA_FRACTION = 0.25
"""Default standard deviation of :func:`center_bias`, as a fraction of the image height / width."""
LOG_DENSITY_FLOOR = 1e-12
""":func:`log_density_from_map` floors a map at this fraction of its mean before taking the log."""
MIT_RESIZE_METHOD = "bicubic"
"""Interpolation of MATLAB's ``imresize`` default, used when a metric receives maps of two sizes."""
ROUNDOFF_TOLERANCE = 1e-12
"""Relative size of round-off: negative values above ``-1e-12 * max|map|`` (FFT round-off) are set to 0 by
KL and EMD, not rejected; and a map whose values differ by less than ``1e-12`` times their magnitude is
constant (:func:`_flat`), as a uniform map is whose mean or resizing left last-digit differences."""
ALL_METRICS = ("auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "kl_div", "sim", "emd", "info_gain")
"""Every metric :class:`FixationEvaluator` can compute, in report order."""

_RESIZE_KERNELS = {"bicubic": 4.0, "bilinear": 2.0}


# ----------------------------------------------------------------------------------------------------------
# MATLAB-compatible resizing
# ----------------------------------------------------------------------------------------------------------
def _kernel(method: str, distance: np.ndarray) -> np.ndarray:
    absolute = np.abs(distance)
    if method == "bilinear":
        return np.where(absolute <= 1, 1.0 - absolute, 0.0)
    # Keys' cubic convolution kernel with a = -0.5, MATLAB's "bicubic"
    square, cube = absolute**2, absolute**3
    near = (1.5 * cube - 2.5 * square + 1.0) * (absolute <= 1)
    far = (-0.5 * cube + 2.5 * square - 4.0 * absolute + 2.0) * ((absolute > 1) & (absolute <= 2))
    return near + far


def _resize_matrix(in_size: int, out_size: int, scale: float, method: str, antialias: bool) -> np.ndarray:
    """(out_size, in_size) interpolation matrix of MATLAB ``imresize`` along one axis."""
    width = _RESIZE_KERNELS[method]
    stretch = scale if (antialias and scale < 1) else 1.0  # antialiasing widens the kernel by 1/scale
    width = width / stretch
    centres = np.arange(1, out_size + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinates
    taps = int(np.ceil(width)) + 2
    indices = np.floor(centres - width / 2)[:, None] + np.arange(taps)[None, :]
    weights = stretch * _kernel(method, stretch * (centres[:, None] - indices))
    weights /= weights.sum(axis=1, keepdims=True)
    mirrored = np.concatenate([np.arange(in_size), np.arange(in_size - 1, -1, -1)])  # symmetric padding
    columns = mirrored[np.mod(indices.astype(np.int64) - 1, 2 * in_size)]
    matrix = np.zeros((out_size, in_size))
    np.add.at(matrix, (np.repeat(np.arange(out_size), taps), columns.ravel()), weights.ravel())
    return matrix


def resize_map(
    image: np.ndarray,
    output_shape: tuple[int, int] | None = None,
    *,
    scale: float | None = None,
    method: str = MIT_RESIZE_METHOD,
    antialias: bool = True,
) -> np.ndarray:
    """Resize a 2-D map like MATLAB's ``imresize`` (the MIT benchmark's resizing).

    Output pixel ``x`` (1-based) samples input coordinate ``x / scale + (1 - 1 / scale) / 2`` with Keys'
    cubic kernel (``a = -0.5``, "bicubic") or the triangle kernel ("bilinear"); when shrinking with
    ``antialias`` the kernel is stretched by ``1 / scale``. Weights are normalised to sum to 1 and the
    borders are padded symmetrically. With ``output_shape`` the scale of each axis is
    ``output / input``; with ``scale`` the output has ``ceil(scale * input)`` pixels and both axes use
    ``scale`` itself, as in MATLAB. Octave's ``imresize`` does not renormalise the weights, so it agrees
    with this function up to about 1e-6 relative when shrinking by a non-integer factor, and exactly
    otherwise.

    Args:
        image: (H, W) real array.
        output_shape: (rows, columns) of the result; give this or ``scale``.
        scale: resize factor for both axes.
        method: "bicubic" (MATLAB's default) or "bilinear".
        antialias: widen the kernel when shrinking (MATLAB's default ``true``).

    Returns:
        Resized ``float64`` map (bicubic may overshoot the input range slightly).

    Raises:
        InputError: on a non-2-D image, an unknown method, or a missing/invalid size.
    """
    image = np.asarray(image, dtype=np.float64)
    check_shape(image, "H W", "map to resize")
    if method not in _RESIZE_KERNELS:
        raise InputError(f"unknown resize method {method!r}; choose one of {', '.join(_RESIZE_KERNELS)}")
    if (output_shape is None) == (scale is None):
        raise InputError("resize_map needs exactly one of output_shape and scale")
    if scale is not None:
        if not scale > 0:
            raise InputError(f"scale must be positive, got {scale}")
        output_shape = (int(np.ceil(image.shape[0] * scale)), int(np.ceil(image.shape[1] * scale)))
        scales = (float(scale), float(scale))
    else:
        output_shape = (int(output_shape[0]), int(output_shape[1]))
        if min(output_shape) <= 0:
            raise InputError(f"output_shape must be positive, got {output_shape}")
        scales = (output_shape[0] / image.shape[0], output_shape[1] / image.shape[1])
    result = image
    if scales[0] != 1:
        result = _resize_matrix(image.shape[0], output_shape[0], scales[0], method, antialias) @ result
    if scales[1] != 1:
        result = result @ _resize_matrix(image.shape[1], output_shape[1], scales[1], method, antialias).T
    return result


# ----------------------------------------------------------------------------------------------------------
# Input handling
# ----------------------------------------------------------------------------------------------------------
def _as_map(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{name} must be a numeric array, got dtype {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.float64)  # copies only other dtypes and strided views
    check_shape(array, "H W", name)
    # a finite sum proves every value finite in one pass; only a NaN, an infinity or an overflowing sum
    # pays for the element-wise check (which then names the number of bad values)
    if not np.isfinite(array.sum()):
        check_finite(array, name)
    return array


def _as_fixation_map(fixation_map: np.ndarray, name: str = "fixation map") -> np.ndarray:
    fixation_map = np.asarray(fixation_map)
    if fixation_map.dtype == bool:
        check_shape(fixation_map, "H W", name)
        fixated = fixation_map
    else:
        fixated = _as_map(fixation_map, name) != 0
    if not fixated.any():
        raise InputError(f"{name} has no fixations (all zero); there is nothing to evaluate against")
    return fixated


def _resized(saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A checked float64 map at ``shape``, resized like MATLAB's ``imresize`` when needed."""
    return saliency if saliency.shape == shape else resize_map(saliency, shape, method=MIT_RESIZE_METHOD)


def _reject_negative(low: float, high: float, name: str) -> None:
    """Raise unless the minimum ``low`` is >= 0 or floating-point noise (above -1e-12 of the peak |value|)."""
    if low < 0 and low < -ROUNDOFF_TOLERANCE * max(-low, abs(high)):
        raise InputError(
            f"{name} has negative values (minimum {low:.4g}); this metric treats maps as "
            "distributions: pass probabilities, e.g. density_from_log(log_density)"
        )


def _non_negative(values: np.ndarray, name: str) -> np.ndarray:
    """Reject negative values, except floating-point noise (above -1e-12 of the peak), which becomes 0."""
    low = values.min()
    if low >= 0:
        return values
    _reject_negative(low, values.max(), name)
    return np.maximum(values, 0.0)


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class _Scratch:
    """Image-sized scratch arrays, reused from one image to the next by :class:`FixationEvaluator`.

    A fresh multi-megabyte numpy array costs a page fault per 4 KiB page when first written, and memory
    freed between images goes back to the system; on the project's machines the faults of the dozen
    800x600 arrays an image needs took as long as all the arithmetic on them. The metric functions, which
    score one image, use a fresh ``_Scratch`` and so allocate as usual.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def __call__(self, purpose: str, size: int, dtype: type = np.float64) -> np.ndarray:
        """A flat array of ``size`` elements (uninitialised) kept under ``purpose``."""
        array = self._arrays.get(purpose)
        if array is None or array.size != size or array.dtype != dtype:
            array = self._arrays[purpose] = np.empty(size, dtype=dtype)
        return array


class _MinMax:
    """A map with its extremes, for the MATLAB code's min-max normalisation ``(x - min) / (max - min)``.

    The normalisation is element-wise, so normalising only the pixels a metric reads (the few hundred
    positives and negatives of AUC-Borji and sAUC) gives exactly the values of the normalised full map
    there, without two passes over the image per metric.
    """

    def __init__(self, values: np.ndarray) -> None:
        self.values = values.ravel()

    @functools.cached_property
    def low(self) -> np.float64:
        return self.values.min()

    @functools.cached_property
    def high(self) -> np.float64:
        return self.values.max()

    @property
    def constant(self) -> bool:
        return _flat(self.low, self.high)

    def at(self, indices: np.ndarray) -> np.ndarray:
        """Normalised values at flat ``indices`` (any shape); the map must not be constant."""
        return (self.values[indices] - self.low) / (self.high - self.low)

    def distribution(self, out: np.ndarray | None = None) -> np.ndarray:
        """Flat min-max normalised map divided by its sum (``similarity.m``, ``InfoGain.m``); constant: uniform.

        Args:
            out: flat array of the map's size to write into, or None for a new one.
        """
        if self.constant:
            if out is None:
                return np.full(self.values.size, 1.0 / self.values.size)
            out.fill(1.0 / self.values.size)
            return out
        normalised = np.subtract(self.values, self.low, out=out)
        normalised /= self.high - self.low
        normalised /= normalised.sum()
        return normalised


def _flat(low: float, high: float) -> bool:
    """Whether values between ``low`` and ``high`` are one value up to round-off (:data:`ROUNDOFF_TOLERANCE`)."""
    return bool(high - low <= ROUNDOFF_TOLERANCE * max(abs(low), abs(high)))


def _centred(values: np.ndarray, scratch: _Scratch, purpose: str) -> tuple[np.ndarray, float]:
    """``x - mean(x)`` (flat, in ``scratch(purpose)``) and its sum of squares, the shared part of ``NSS.m``'s
    ``std`` and ``CC.m``.

    The operations are numpy's own ``std``: ``sqrt(sum / (n - 1))`` of the second value is ``std(x, ddof=1)``.
    A constant map gives zeros and 0, including when its mean is a last digit off its value (as the mean
    of 0.3 repeated often is) or its values are (a resized uniform map): its NSS and CC are then 0 exactly,
    not the ratio of two round-off errors.
    """
    centred = np.subtract(values.ravel(), values.mean(), out=scratch(purpose, values.size))
    if _flat(values.min(), values.max()):
        centred.fill(0.0)
        return centred, 0.0
    squares = np.multiply(centred, centred, out=scratch("product", values.size))
    return centred, float(squares.sum())


def _trapezoid(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MATLAB ``trapz(x, y)`` along the last axis."""
    return np.sum(np.diff(x, axis=-1) * (y[..., 1:] + y[..., :-1]) / 2.0, axis=-1)


# ----------------------------------------------------------------------------------------------------------
# AUC variants
# ----------------------------------------------------------------------------------------------------------
def judd_jitter_draws(rng: np.random.Generator, shape: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """The uniform draws behind :func:`auc_judd`'s jitter: ``rng.random(shape)``.

    The jitter added to the map is ``draws / 10_000_000``, as ``rand(size(map)) / 10000000`` in
    ``AUC_Judd.m``.

    Args:
        rng: random generator.
        shape: (H, W) of the saliency map.
        out: optional ``float64`` array of ``shape`` to fill (the same draws, without allocating).

    Returns:
        (H, W) draws in ``[0, 1)``.
    """
    return rng.random(shape, out=out)


def auc_judd(
    saliency_map: np.ndarray,
    fixation_map: np.ndarray,
    jitter: bool = True,
    rng: np.random.Generator | int | None = None,
) -> float:
    """AUC-Judd: area under the ROC curve with the fixated values as thresholds.

    Follows ``AUC_Judd.m`` (T. Judd 2009, Z. Bylinskii 2014) of the MIT saliency benchmark; Bylinskii et
    al., TPAMI 2018. The saliency map (after the :func:`judd_jitter_draws` noise when ``jitter``) is min-max
    normalised; each fixated pixel's value ``t_i`` (sorted descending, ``i = 1..F``) gives the ROC point
    ``tp = i / F``, ``fp = (#{pixels >= t_i} - i) / (N - F)``, with ``(0, 0)`` and ``(1, 1)`` added; the
    area is the trapezoid rule. The counts are exact and come from one pass over the map
    (:func:`_count_at_least`), not a sort of the map or a loop over thresholds.

    Args:
        saliency_map: (h, w) saliency map; resized to the fixation map's size if different.
        fixation_map: (H, W) binary fixation map (nonzero = fixated).
        jitter: add the tie-breaking noise, as the benchmark does by default.
        rng: generator or seed for the jitter (unused without jitter).

    Returns:
        AUC in [0, 1]; 0.5 for a constant map without jitter (MATLAB returns NaN).

    Raises:
        InputError: on non-2-D or non-finite input, no fixations, or every pixel fixated.
    """
    fixated = _as_fixation_map(fixation_map)
    saliency = _resized(_as_map(saliency_map, "saliency map"), fixated.shape)
    return _auc_judd(saliency, np.flatnonzero(fixated), _generator(rng) if jitter else None, _Scratch())


def _auc_judd(saliency: np.ndarray, fixated: np.ndarray, rng: np.random.Generator | None, scratch: _Scratch) -> float:
    """AUC-Judd of a checked (H, W) map given the flat indices of its fixated pixels (ascending); jitter
    drawn from ``rng`` unless None."""
    values = scratch("judd", saliency.size)
    if rng is None:
        np.copyto(values, saliency.ravel())
    else:  # saliency + rand / 10000000, computed in the draws' own array
        judd_jitter_draws(rng, saliency.shape, out=values.reshape(saliency.shape))
        values /= AUC_JUDD_JITTER_DIVISOR
        values += saliency.ravel()
    low, high = values.min(), values.max()
    if _flat(low, high):
        return 0.5
    n_fixated, n_pixels = fixated.size, values.size
    if n_fixated == n_pixels:
        raise InputError("every pixel of the fixation map is fixated; AUC-Judd needs non-fixated pixels")
    if not np.isfinite(high - low):
        raise InputError("saliency values span more than the float64 range (max - min overflows); rescale the map")
    values -= low  # the MATLAB code's min-max normalisation, in place
    values /= high - low
    thresholds = np.sort(values[fixated])  # ascending
    above = _count_at_least(values, thresholds, scratch)[::-1]
    rank = np.arange(1, n_fixated + 1)
    tp = np.concatenate([[0.0], rank / n_fixated, [1.0]])
    fp = np.concatenate([[0.0], (above - rank) / (n_pixels - n_fixated), [1.0]])
    return float(_trapezoid(fp, tp))


_BUCKET_SHIFT = 45
""":func:`_count_at_least` buckets values by their top 19 bits: exponent and 7 mantissa bits (1/128 octave)."""


def _count_at_least(values: np.ndarray, thresholds: np.ndarray, scratch: _Scratch) -> np.ndarray:
    """``#{v in values : v >= t}`` for each ``t`` of ``thresholds``, exactly, in O(N + F log F).

    Sorting the N values (what ``AUC_Judd.m`` and pysaliency do) costs O(N log N); a binary search of each
    value among the F thresholds costs O(N log F) with a large constant. Instead: a non-negative IEEE 754
    double orders like its bit pattern read as an integer, so the top bits of that pattern put the values
    into monotone buckets (each 1/128 of an octave wide). One ``bincount`` over the buckets counts, for
    every threshold, the values in buckets above the threshold's; only the few values sharing a bucket
    with some threshold are compared with the thresholds themselves.

    Args:
        values: (N,) ``float64`` values, all ``>= +0.0`` (no NaN, no ``-0.0``), e.g. a min-max normalised map.
        thresholds: (F,) ``float64`` ascending thresholds, ``>= +0.0`` (ties allowed).
        scratch: where the (N,) bucket numbers and flags are written.

    Returns:
        (F,) ``int64`` counts, for the thresholds in the given (ascending) order.
    """
    buckets = np.right_shift(values.view(np.int64), _BUCKET_SHIFT, out=scratch("buckets", values.size, np.int64))
    threshold_buckets = thresholds.view(np.int64) >> _BUCKET_SHIFT
    per_bucket = np.bincount(buckets, minlength=int(threshold_buckets[-1]) + 1)
    shared = np.zeros(per_bucket.size, dtype=bool)
    shared[threshold_buckets] = True
    near = values[np.take(shared, buckets, out=scratch("near", values.size, bool), mode="clip")]  # in a shared bucket
    per_bucket[threshold_buckets] = 0  # the rest lie strictly above or below every threshold of a bucket
    far_at_or_above = np.cumsum(per_bucket[::-1])[::-1]
    # near values: k = #{thresholds <= v}; v >= thresholds[j] exactly when k > j
    below_or_at = np.bincount(np.searchsorted(thresholds, near, side="right"), minlength=thresholds.size + 1)
    near_at_or_above = np.cumsum(below_or_at[::-1])[::-1][1:]
    return far_at_or_above[threshold_buckets] + near_at_or_above


def _octave_range_end(limit: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Number of elements and last element of ``0:step:limit`` (``limit >= 0``) as GNU Octave builds it.

    Octave (``liboctave/array/Range.cc``) returns ``[0]`` when ``step > limit``; otherwise it counts
    ``(limit + step) / step`` with Hagerty's tolerant floor (tolerance 3 eps), corrects the count by one
    when the last element is not within 3 eps of ``limit`` but a neighbouring count's is, computes element
    ``i`` as ``i * step`` and clips the last one to ``limit``. Reproducing this keeps saliency values that
    lie exactly on a threshold (8-bit maps: 153/255 = 0.6) on the same side as in Octave.
    """
    tolerance = 3 * EPS
    ratio = (limit + step) / step
    margin = 1.0 / (2.0 - tolerance)
    fuzz = np.maximum(tolerance, np.minimum(margin, tolerance * np.abs(1.0 + np.floor(ratio))))
    count = np.floor(ratio + fuzz)
    count = np.where((ratio <= 0) | (count - ratio < margin), count, count - 1).astype(np.int64)

    def close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.abs(a - b) < np.maximum(np.abs(a), np.abs(b)) * tolerance

    off = ~close((count - 1) * step, limit)
    lower = off & close((count - 2) * step, limit)
    higher = off & ~lower & close(count * step, limit)
    count = np.where(lower, count - 1, np.where(higher, count + 1, count))
    count = np.where(step > limit, 1, count)
    last = np.where(count > 1, np.minimum((count - 1) * step, limit), 0.0)
    return count, last


def _auc_fixed_step(positives: np.ndarray, negatives: np.ndarray, step: float) -> np.ndarray:
    """Per-split AUC of ``AUC_Borji.m`` / ``AUC_shuffled.m``: thresholds ``0:step:max`` of each split.

    Args:
        positives: (P,) normalised saliency at fixated pixels.
        negatives: (S, Q) saliency at the negatives of each of S splits.
        step: threshold step.

    Returns:
        (S,) AUC of each split.
    """
    n_splits, n_negatives = negatives.shape
    top = np.maximum(positives.max(), negatives.max(axis=1))
    count, last = _octave_range_end(top, step)
    grid = np.arange(count.max()) * step  # the thresholds below each split's last one
    index = np.arange(grid.size)[None, :]
    on_grid, in_range = index < count[:, None] - 1, index < count[:, None]
    thresholds = np.where(on_grid, grid, last[:, None])
    thresholds = np.where(in_range, thresholds, np.inf)[:, ::-1]  # descending, +inf pads
    sorted_positives = np.sort(positives)
    tp = (positives.size - np.searchsorted(sorted_positives, thresholds, side="left")) / positives.size
    # negatives >= grid[k] counted per split from one search of all negatives in the shared grid
    grid_below_or_at = np.searchsorted(grid, negatives, side="right") + (grid.size + 1) * np.arange(n_splits)[:, None]
    histogram = np.bincount(grid_below_or_at.ravel(), minlength=n_splits * (grid.size + 1))
    at_or_above_grid = np.cumsum(histogram.reshape(n_splits, -1)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    at_or_above_last = np.count_nonzero(negatives >= last[:, None], axis=1)
    counts = np.where(on_grid, at_or_above_grid, at_or_above_last[:, None])
    fp = np.where(in_range, counts, 0)[:, ::-1] / n_negatives
    zeros, ones = np.zeros((n_splits, 1)), np.ones((n_splits, 1))
    return _trapezoid(np.hstack([zeros, fp, ones]), np.hstack([zeros, tp, ones]))


def borji_negative_indices(rng: np.random.Generator, n_pixels: int, n_fixated: int, n_splits: int) -> np.ndarray:
    """The random negatives of :func:`auc_borji`: ``rng.integers(0, n_pixels, (n_splits, n_fixated))``.

    Args:
        rng: random generator.
        n_pixels: number of pixels of the map (indices are row-major, i.e. into ``map.ravel()``).
        n_fixated: number of fixated pixels (one negative per fixated pixel and split).
        n_splits: number of splits.

    Returns:
        (n_splits, n_fixated) ``int64`` flat pixel indices, drawn uniformly with replacement.
    """
    return rng.integers(0, n_pixels, size=(n_splits, n_fixated))


def auc_borji(
    saliency_map: np.ndarray,
    fixation_map: np.ndarray,
    n_splits: int = AUC_SPLITS,
    step: float = AUC_STEP,
    rng: np.random.Generator | int | None = None,
) -> float:
    """AUC-Borji: ROC area against pixels drawn uniformly from the image, averaged over random splits.

    Follows ``AUC_Borji.m`` (Z. Bylinskii 2014, after A. Borji) of the MIT saliency benchmark; Bylinskii
    et al., TPAMI 2018. The map is min-max normalised; each split draws as many pixels as there are
    fixated pixels, uniformly with replacement from the whole image (:func:`borji_negative_indices`); the
    thresholds are ``0:step:max`` over the split's values (GNU Octave range arithmetic); the ROC runs
    from ``(0, 0)`` through the thresholds in descending order to ``(1, 1)``.

    Args:
        saliency_map: (h, w) saliency map; resized to the fixation map's size if different.
        fixation_map: (H, W) binary fixation map.
        n_splits: number of random splits (100).
        step: threshold step (0.1).
        rng: generator or seed of the negatives.

    Returns:
        Mean AUC over the splits; 0.5 for a constant map (MATLAB returns NaN). MATLAB also returns NaN for a
        single fixated pixel; it is scored here like any other.

    Raises:
        InputError: on bad input or no fixations.
    """
    fixated = _as_fixation_map(fixation_map)
    scaled = _MinMax(_resized(_as_map(saliency_map, "saliency map"), fixated.shape))
    return _auc_borji(scaled, np.flatnonzero(fixated), n_splits, step, _generator(rng))


def _auc_borji(scaled: _MinMax, fixated: np.ndarray, n_splits: int, step: float, rng: np.random.Generator) -> float:
    """AUC-Borji of a map given the flat indices of its fixated pixels (ascending)."""
    if scaled.constant:
        return 0.5
    positives = scaled.at(fixated)
    negatives = scaled.at(borji_negative_indices(rng, scaled.values.size, positives.size, n_splits))
    return float(np.mean(_auc_fixed_step(positives, negatives, step)))


def shuffled_negative_choice(rng: np.random.Generator, n_other: int, n_negatives: int, n_splits: int) -> np.ndarray:
    """The random negatives of :func:`auc_shuffled`: a random permutation per split, first ones kept.

    Computed as ``rng.permuted(np.tile(np.arange(n_other), (n_splits, 1)), axis=1)[:, :n_negatives]``.

    Args:
        rng: random generator.
        n_other: number of pixels fixated in the other map (positions in ``np.flatnonzero(other_map)``).
        n_negatives: negatives per split, ``min(fixated pixels, n_other)``.
        n_splits: number of splits.

    Returns:
        (n_splits, n_negatives) positions into the other map's fixated pixels, distinct within a split.
    """
    return rng.permuted(np.tile(np.arange(n_other), (n_splits, 1)), axis=1)[:, :n_negatives]


def auc_shuffled(
    saliency_map: np.ndarray,
    fixation_map: np.ndarray,
    other_map: np.ndarray,
    n_splits: int = AUC_SPLITS,
    step: float = AUC_STEP,
    rng: np.random.Generator | int | None = None,
) -> float:
    """Shuffled AUC: ROC area against fixations of other images, which discounts centre bias.

    Follows ``AUC_shuffled.m`` (Z. Bylinskii 2014, after A. Borji) of the MIT saliency benchmark;
    Bylinskii et al., TPAMI 2018. As :func:`auc_borji`, but each split's negatives are
    ``min(F, |other|)`` distinct pixels drawn without replacement from those fixated in ``other_map``
    (:func:`shuffled_negative_choice`), and the false-positive rate divides by that number.

    Args:
        saliency_map: (h, w) saliency map; resized to the fixation map's size if different.
        fixation_map: (H, W) binary fixation map.
        other_map: (H, W) binary map: union of the fixations of other images (the benchmark uses 10).
        n_splits: number of random splits (100).
        step: threshold step (0.1).
        rng: generator or seed of the negatives.

    Returns:
        Mean AUC over the splits; 0.5 for a constant map (MATLAB returns NaN).

    Raises:
        InputError: on bad input, no fixations, or an empty or differently sized ``other_map``.
    """
    fixated = _as_fixation_map(fixation_map)
    other = _as_fixation_map(other_map, "other map")
    check_same_size(other, fixated, "other map", "fixation map")
    scaled = _MinMax(_resized(_as_map(saliency_map, "saliency map"), fixated.shape))
    fixated_pixels, other_pixels = np.flatnonzero(fixated), np.flatnonzero(other)
    return _auc_shuffled(scaled, fixated_pixels, other_pixels, n_splits, step, _generator(rng))


def _auc_shuffled(
    scaled: _MinMax,
    fixated: np.ndarray,
    other_pixels: np.ndarray,
    n_splits: int,
    step: float,
    rng: np.random.Generator,
) -> float:
    """sAUC of a map given the flat indices (ascending) of its fixated pixels and of the other map's."""
    if scaled.constant:
        return 0.5
    positives = scaled.at(fixated)
    n_negatives = min(positives.size, other_pixels.size)
    choice = shuffled_negative_choice(rng, other_pixels.size, n_negatives, n_splits)
    return float(np.mean(_auc_fixed_step(positives, scaled.at(other_pixels[choice]), step)))


# ----------------------------------------------------------------------------------------------------------
# Value-based and distribution-based metrics
# ----------------------------------------------------------------------------------------------------------
def nss(saliency_map: np.ndarray, fixation_map: np.ndarray) -> float:
    """Normalised scanpath saliency: mean of the standardised map over fixated pixels.

    Follows ``NSS.m`` (Z. Bylinskii 2014) of the MIT saliency benchmark; Bylinskii et al., TPAMI 2018. The
    map is standardised with its mean and its sample standard deviation (``ddof = 1``, MATLAB's ``std``);
    each fixated pixel counts once.

    Args:
        saliency_map: (h, w) saliency map; resized to the fixation map's size if different.
        fixation_map: (H, W) binary fixation map.

    Returns:
        NSS; 0 for a constant map (MATLAB returns NaN).

    Raises:
        InputError: on bad input or no fixations.
    """
    fixated = _as_fixation_map(fixation_map)
    saliency = _resized(_as_map(saliency_map, "saliency map"), fixated.shape)
    return _nss(*_centred(saliency, _Scratch(), "centred"), np.flatnonzero(fixated))


def _nss(centred: np.ndarray, sum_of_squares: float, fixated: np.ndarray) -> float:
    """NSS from :func:`_centred` of the map and the flat indices of the fixated pixels."""
    spread = np.sqrt(sum_of_squares / (centred.size - 1))  # numpy's std(ddof=1), operation for operation
    if spread == 0:
        return 0.0
    return float(np.mean(centred[fixated] / spread))


def cc(saliency_map: np.ndarray, fixation_density: np.ndarray) -> float:
    """Pearson's linear correlation coefficient between the saliency map and the ground-truth map.

    Follows ``CC.m`` (Z. Bylinskii 2014) of the MIT saliency benchmark (``corr2`` of the standardised
    maps); Bylinskii et al., TPAMI 2018.

    Args:
        saliency_map: (h, w) saliency map; resized to the ground truth's size if different.
        fixation_density: (H, W) continuous ground-truth map (blurred fixations).

    Returns:
        CC in [-1, 1]; 0 if either map is constant (MATLAB returns NaN).

    Raises:
        InputError: on non-2-D or non-finite input.
    """
    truth = _as_map(fixation_density, "fixation density")
    saliency = _resized(_as_map(saliency_map, "saliency map"), truth.shape)
    scratch = _Scratch()
    return _cc(_centred(saliency, scratch, "centred"), _centred(truth, scratch, "truth centred"), scratch)


def _cc(saliency: tuple[np.ndarray, float], truth: tuple[np.ndarray, float], scratch: _Scratch) -> float:
    """CC from :func:`_centred` of both maps."""
    (centred_saliency, saliency_squares), (centred_truth, truth_squares) = saliency, truth
    norm = np.sqrt(saliency_squares * truth_squares)
    if norm == 0:
        return 0.0
    product = np.multiply(centred_saliency, centred_truth, out=scratch("product", centred_truth.size))
    return float(product.sum() / norm)


def kl_div(saliency_map: np.ndarray, fixation_density: np.ndarray) -> float:
    """KL divergence of the saliency distribution from the ground-truth distribution (in nats).

    Follows ``KLdiv.m`` (Z. Bylinskii 2014) of the MIT saliency benchmark; Bylinskii et al., TPAMI 2018:
    ``P = S / sum(S)``, ``Q = G / sum(G)`` (an all-zero map stays zero) and
    ``KL = sum(Q * log(eps + Q / (P + eps)))`` with ``eps`` = :data:`EPS`. Lower is better.

    Args:
        saliency_map: (h, w) non-negative saliency map; resized to the ground truth's size if different
            (bicubic overshoot below zero is clipped to 0, where MATLAB would take the log of a negative).
        fixation_density: (H, W) non-negative continuous ground-truth map.

    Returns:
        KL divergence, >= 0 up to the eps regularisation.

    Raises:
        InputError: on bad input or negative values.
    """
    truth = _non_negative(_as_map(fixation_density, "fixation density"), "fixation density")
    saliency = _non_negative(_as_map(saliency_map, "saliency map"), "saliency map")
    return _kl_div(np.maximum(_resized(saliency, truth.shape), 0.0), truth, _Scratch())


def _kl_div(saliency: np.ndarray, truth: np.ndarray, scratch: _Scratch) -> float:
    """KL of non-negative maps of one size, with MATLAB's operation order, computed in scratch arrays."""
    saliency, truth = saliency.ravel(), truth.ravel()
    predicted_total, truth_total = saliency.sum(), truth.sum()
    predicted = scratch("kl", saliency.size)
    if predicted_total > 0:
        np.divide(saliency, predicted_total, out=predicted)
    else:
        predicted.fill(0.0)
    target = np.divide(truth, truth_total, out=scratch("kl target", truth.size)) if truth_total > 0 else truth
    predicted += EPS
    np.divide(target, predicted, out=predicted)
    predicted += EPS
    np.log(predicted, out=predicted)
    predicted *= target
    return float(predicted.sum())


def sim(saliency_map: np.ndarray, fixation_density: np.ndarray) -> float:
    """Similarity (histogram intersection) of the two maps as distributions.

    Follows ``similarity.m`` (T. Judd 2011, Z. Bylinskii 2014) of the MIT saliency benchmark; Bylinskii et
    al., TPAMI 2018: each map is min-max normalised, then divided by its sum (an all-zero map stays zero),
    and SIM is ``sum(min(P, Q))``.

    Args:
        saliency_map: (h, w) saliency map; resized to the ground truth's size if different.
        fixation_density: (H, W) continuous ground-truth map.

    Returns:
        SIM in [0, 1]; a constant non-zero map counts as uniform (MATLAB returns NaN).

    Raises:
        InputError: on non-2-D or non-finite input.
    """
    truth = _as_map(fixation_density, "fixation density")
    saliency = _MinMax(_resized(_as_map(saliency_map, "saliency map"), truth.shape))
    return _sim(saliency, _MinMax(truth), saliency.distribution(), _Scratch())


def _sim(saliency: _MinMax, truth: _MinMax, saliency_distribution: np.ndarray, scratch: _Scratch) -> float:
    """SIM of two maps, given ``saliency.distribution()``."""
    if _all_zero(saliency) or _all_zero(truth):
        return 0.0
    truth_distribution = truth.distribution(out=scratch("truth distribution", truth.values.size))
    return float(np.minimum(saliency_distribution, truth_distribution, out=truth_distribution).sum())


def _all_zero(scaled: _MinMax) -> bool:
    return bool(scaled.low == 0 and scaled.high == 0)


def info_gain(saliency_map: np.ndarray, fixation_map: np.ndarray, baseline_map: np.ndarray) -> float:
    """Information gain of the saliency map over a baseline map, in bits per fixated pixel.

    Follows ``InfoGain.m`` (Z. Bylinskii 2016, after Kümmerer et al., PNAS 2015) of the MIT saliency
    benchmark; Bylinskii et al., TPAMI 2018. Both maps are min-max normalised and divided by their sums,
    then ``IG = mean(log2(eps + P[f]) - log2(eps + B[f]))`` over the fixated pixels ``f``. Note that the
    min-max step sends a probabilistic model's least likely pixel to probability 0; this is the benchmark's
    convention, not the log-likelihood gain of pysaliency.

    Args:
        saliency_map: (h, w) saliency map; resized to the fixation map's size if different.
        fixation_map: (H, W) binary fixation map.
        baseline_map: (h', w') baseline map, e.g. :func:`center_bias`; resized likewise.

    Returns:
        Information gain in bits; constant maps count as uniform (MATLAB returns NaN).

    Raises:
        InputError: on bad input or no fixations.
    """
    fixated = _as_fixation_map(fixation_map)
    predicted = _MinMax(_resized(_as_map(saliency_map, "saliency map"), fixated.shape)).distribution()
    baseline = _MinMax(_resized(_as_map(baseline_map, "baseline map"), fixated.shape)).distribution()
    return _info_gain(predicted, baseline, np.flatnonzero(fixated))


def _info_gain(saliency_distribution: np.ndarray, baseline_distribution: np.ndarray, fixated: np.ndarray) -> float:
    """Information gain from flat distributions and the flat indices of the fixated pixels."""
    predicted, baseline = saliency_distribution[fixated], baseline_distribution[fixated]
    return float(np.mean(np.log2(EPS + predicted) - np.log2(EPS + baseline)))


@functools.lru_cache(maxsize=4)
def _grid_distances(rows: int, cols: int) -> np.ndarray:
    """Euclidean distances between the cells of a ``rows x cols`` grid, in cells, as ``EMD.m``'s ``D``.

    Returns:
        Read-only (rows * cols, rows * cols) ``float64`` matrix, cells in row-major order (``EMD.m`` numbers
        them column by column; the transport cost does not depend on the order). Cached per grid: a 34x60
        grid (1920x1080 images) takes 33 MB and 0.3 s to build.
    """
    row, col = np.divmod(np.arange(rows * cols, dtype=np.float64), cols)
    distances = np.hypot(row[:, None] - row[None, :], col[:, None] - col[None, :])
    distances.flags.writeable = False
    return distances


def _pyemd():
    """The ``pyemd`` module, imported on first use (its POT backend imports PyTorch, a few seconds once).

    Raises:
        ConfigError: pyemd is not installed, or is older than 1.1 (no choice of backend).
    """
    try:
        import pyemd
    except ImportError as err:
        raise ConfigError(
            f"the EMD metric needs the package pyemd (pip install '{EMD_REQUIREMENT}'); "
            "or leave emd out of the metrics (gensal evaluate --metrics)"
        ) from err
    if tuple(int(part) for part in pyemd.__version__.split(".")[:2] if part.isdigit()) < (1, 1):
        raise ConfigError(f"pyemd {pyemd.__version__} is too old for the EMD metric: pip install '{EMD_REQUIREMENT}'")
    return pyemd


def _transport_cost(source: np.ndarray, target: np.ndarray, solver: str) -> float:
    """``emd_hat_gd_metric(P, Q, D, 0)`` of FastEMD: the EMD between two (R, C) histograms of equal mass.

    ``D`` is :func:`_grid_distances`. As in FastEMD, the mass common to both histograms stays in place
    (optimal for a metric ground distance) and only the surplus is transported; a negative bin (bicubic
    undershoot) thereby adds to that bin's demand. ``solver`` picks pyemd's backend (:data:`EMD_SOLVERS`).

    Raises:
        InputError: the solver failed, e.g. POT's network simplex stopped at its iteration limit (a 68x120
            grid, 3840x2160 images, does; 45x80, 2560x1440, does not).
    """
    pyemd, distances = _pyemd(), _grid_distances(*source.shape)
    with warnings.catch_warnings():
        # POT only warns when its network simplex stops at the iteration limit, with a suboptimal plan
        warnings.filterwarnings("error", message="numItermax reached", category=UserWarning)
        try:
            return float(
                pyemd.emd(
                    np.ascontiguousarray(source, dtype=np.float64).ravel(),
                    np.ascontiguousarray(target, dtype=np.float64).ravel(),
                    distances,
                    extra_mass_penalty=EMD_EXTRA_MASS_PENALTY,
                    backend=EMD_SOLVERS[solver],
                )
            )
        except (UserWarning, ValueError) as err:
            raise InputError(
                f"EMD on a {source.shape[0]}x{source.shape[1]} grid is too large for the transport solver "
                f"({err}); shrink the maps more (emd(..., downsize=...)) or leave emd out of the metrics"
            ) from err


def emd(
    saliency_map: np.ndarray,
    fixation_density: np.ndarray,
    downsize: int = EMD_DOWNSIZE,
    *,
    solver: str = EMD_SOLVER,
) -> float:
    """Earth mover's distance between the saliency map and the ground truth, as distributions.

    Follows ``EMD.m`` (T. Judd 2011, Z. Bylinskii 2014) of the MIT saliency benchmark (Bylinskii et al.,
    TPAMI 2018), with its conventions:

    * **Downsizing**: the ground truth is shrunk with ``imresize(G, 1 / downsize)`` (:func:`resize_map`:
      bicubic, antialiased, ``ceil`` of each side; ``downsize = 32``, :data:`EMD_DOWNSIZE`), and the
      saliency map is resized to *that* grid (``imresize(S, size(G_small))``; on 600-row images the two
      grids differ slightly, a quirk reproduced on purpose).
    * **Normalisation**: each shrunk map is divided by its sum (total mass 1, so the score does not depend
      on the number or spread of fixations).
    * **Ground distance**: the Euclidean distance between grid cells, ``sqrt(dr^2 + dc^2)`` in cells of the
      shrunk grid, *not* thresholded (FastEMD is fast with thresholded distances; ``EMD.m`` does not
      threshold).
    * **Transport**: FastEMD's ``emd_hat_gd_metric`` with extra-mass penalty 0
      (:data:`EMD_EXTRA_MASS_PENALTY`), which for two unit masses is the plain EMD; the mass common to a
      cell stays in place first, so bicubic undershoot below zero in a shrunk map becomes demand.

    Computed with the ``pyemd`` package (Pele & Werman's FastEMD and a POT backend):

    * ``solver="exact"`` (default): pyemd's POT backend, the same definition solved by network simplex in
      double precision. It agrees with the benchmark's code run in Octave with an exact solver to 5e-8
      (``tests/fixtures/mit_reference``) and takes 0.01-0.02 s on a 19x25 grid (800x600 images), 0.25 s on
      a 34x60 grid (1920x1080; ``benchmarks/fixation_emd_speed.py``), plus 0.35 s once per grid size to
      build the distance matrix.
    * ``solver="fastemd"``: pyemd's C++ backend, the FastEMD code the benchmark's ``emd_hat_gd_metric_mex``
      compiles, for parity with the benchmark's own values. It rounds masses to 1e-6 of the total and
      distances to 1e-6 of the largest one, which moves the EMD by up to 6e-5 relative (1.9e-4 on the OSIE
      fixture); and without a threshold its min-cost flow is slow: 0.5-2 s on 19x25, 24 s on 24x32
      (1024x768), over 5 minutes on 34x60.

    Args:
        saliency_map: (h, w) non-negative saliency map.
        fixation_density: (H, W) non-negative continuous ground-truth map.
        downsize: shrink factor (32); 1 solves the full-resolution problem (practical up to ~60x60).
        solver: "exact" or "fastemd" (:data:`EMD_SOLVERS`).

    Returns:
        EMD (lower is better), in cells of the shrunk grid.

    Raises:
        InputError: on bad input, negative values, an all-zero map, an unknown solver, or a grid too large
            for the solver.
        ConfigError: the package pyemd (>= 1.1) is not installed.
    """
    if solver not in EMD_SOLVERS:
        raise InputError(f"unknown EMD solver {solver!r}; choose one of {', '.join(EMD_SOLVERS)}")
    truth = _non_negative(_as_map(fixation_density, "fixation density"), "fixation density")
    saliency = _non_negative(_as_map(saliency_map, "saliency map"), "saliency map")
    return _emd(saliency, truth, downsize, solver)


def _emd(saliency: np.ndarray, truth: np.ndarray, downsize: int, solver: str = EMD_SOLVER) -> float:
    shrunk_truth = resize_map(truth, scale=1.0 / downsize)
    shrunk_saliency = resize_map(saliency, shrunk_truth.shape)
    for name, shrunk in (("fixation density", shrunk_truth), ("saliency map", shrunk_saliency)):
        if shrunk.sum() <= 0:
            raise InputError(f"{name} has no mass (all zero); EMD compares distributions")
    return _transport_cost(shrunk_truth / shrunk_truth.sum(), shrunk_saliency / shrunk_saliency.sum(), solver)


# ----------------------------------------------------------------------------------------------------------
# Baselines and conversions
# ----------------------------------------------------------------------------------------------------------
def center_bias(height: int, width: int, sigma_fraction: float = CENTER_SIGMA_FRACTION) -> np.ndarray:
    """Centre-bias baseline: an axis-aligned Gaussian at the image centre, peak 1.

    ``exp(-(u^2 + v^2) / (2 * sigma_fraction^2))`` where ``u = (x + 0.5) / width - 0.5`` and
    ``v = (y + 0.5) / height - 0.5`` are pixel-centre coordinates relative to the image size, so the
    standard deviation is ``sigma_fraction * width`` horizontally and ``sigma_fraction * height``
    vertically (the shape follows the image, as in pysaliency's ``GaussianSaliencyMapModel``).

    Args:
        height: image height in pixels.
        width: image width in pixels.
        sigma_fraction: standard deviation as a fraction of each side (0.25).

    Returns:
        (height, width) ``float64`` map in (0, 1].

    Raises:
        InputError: on a non-positive size or sigma.
    """
    if height <= 0 or width <= 0 or not sigma_fraction > 0:
        raise InputError(f"center_bias needs a positive size and sigma, got {height}x{width}, {sigma_fraction}")
    rows = (np.arange(height) + 0.5) / height - 0.5
    cols = (np.arange(width) + 0.5) / width - 0.5
    return np.exp(-(rows[:, None] ** 2 + cols[None, :] ** 2) / (2.0 * sigma_fraction**2))


def density_from_log(log_density: np.ndarray) -> np.ndarray:
    """Probability map from a log-density prediction (the MIT/Tübingen benchmark's ``.npy`` format).

    Args:
        log_density: (H, W) natural-log density (any additive constant); ``-inf`` means probability 0.

    Returns:
        (H, W) ``float64`` map, non-negative, summing to 1 (``exp(l - max l)`` normalised).

    Raises:
        InputError: on a non-2-D array, NaN or ``+inf``, or no finite value.
    """
    log_density = np.asarray(log_density, dtype=np.float64)
    check_shape(log_density, "H W", "log-density")
    if np.isnan(log_density).any() or np.isposinf(log_density).any():
        raise InputError("log-density contains NaN or +inf values")
    if not np.isfinite(log_density).any():
        raise InputError("log-density has no finite value (every pixel is -inf)")
    density = np.exp(log_density - log_density.max())
    return density / density.sum()


def log_density_from_map(saliency_map: np.ndarray) -> np.ndarray:
    """Log-density prediction (the MIT/Tübingen benchmark's and pysaliency's ``.npy`` format) from a map.

    The map, read as a distribution over pixels (``P = S / sum(S)``, as :func:`kl_div` reads it), in natural
    logs; ``exp`` of the result sums to 1. Pixels at 0 get ``log`` of :data:`LOG_DENSITY_FLOOR` times the
    map's mean instead of ``-inf``, so that a fixation there costs a finite information gain.

    Args:
        saliency_map: (H, W) non-negative saliency map (any scale); an all-zero map gives the uniform density.

    Returns:
        (H, W) ``float64`` log-density with ``logsumexp == 0``.

    Raises:
        InputError: on a non-2-D map, NaN, infinite or negative values.
    """
    saliency_map = np.asarray(saliency_map, dtype=np.float64)
    check_shape(saliency_map, "H W", "saliency map")
    if not np.isfinite(saliency_map).all():
        raise InputError("saliency map contains NaN or infinite values")
    if (saliency_map < 0).any():
        raise InputError("saliency map has negative values; a density needs a non-negative map")
    mean = saliency_map.mean()
    if mean == 0:
        return np.full(saliency_map.shape, -np.log(saliency_map.size))
    log_map = np.log(np.maximum(saliency_map, LOG_DENSITY_FLOOR * mean))
    top = log_map.max()
    return log_map - (top + np.log(np.exp(log_map - top).sum()))


# ----------------------------------------------------------------------------------------------------------
# Data-set accumulator
# ----------------------------------------------------------------------------------------------------------
_DENSITY_METRICS = frozenset({"cc", "kl_div", "sim", "emd"})
_STREAMS = {"auc_judd": 1, "auc_borji": 2, "auc_shuffled": 3, "other_images": 4}


class FixationEvaluator:
    """Accumulate per-image fixation metrics over a data set and average them.

    For each image, :meth:`update` takes the fixated pixels (:meth:`Fixations.pixel_indices`, those of
    :meth:`Fixations.to_fixation_map`), the ground-truth density
    (:func:`gensal.data.fixations.fixation_density` with ``sigma``), the centre or given baseline
    (information gain) and the sAUC "other map" (the union of the fixated pixels of ``n_other_images``
    other images drawn at random, coordinates rescaled to this image's size), then runs the computations
    of the metric functions of this module. Each image's random draws come from a generator seeded with
    ``(seed, crc32(name), metric)``, so results do not depend on the order of updates, on which other
    metrics are computed or on which process computes them: :meth:`update` is :meth:`score` (pure, can
    run in worker processes) followed by :meth:`add` (see :func:`gensal.evaluate.evaluate_fixation`). The
    eight metrics other than EMD take about 15-25 ms per 800x600 image on one core, EMD about 15 ms more
    (:func:`emd`, exact solver); at 1920x1080 about 70 ms and 250 ms: leave EMD out of ``metrics`` for quick
    runs.

    Args:
        fixations: ground truth by image name (see :func:`gensal.data.fixations.read_fixations`).
        metrics: names from :data:`ALL_METRICS`.
        baseline: "center" (:func:`center_bias`), an (h, w) map resized to each image, or None (then
            "info_gain" must not be requested).
        seed: seed of every random draw.
        sigma: ground-truth blur in pixels; None (default) is the MIT benchmark's ``antonioGaussian``
            filter, 8 cycles per image (24 px on OSIE and SALICON).
        n_other_images: images pooled for the sAUC negatives (10, as Borji and the MIT benchmark).
        resize_method: how :meth:`update` resizes a saliency map of another size: "bilinear" (default, as
            elsewhere in gensal) or "bicubic" (MATLAB ``imresize``'s default); the caller should count or
            warn about resizes.

    Raises:
        InputError: on an empty ``fixations``, an unknown metric, or a missing baseline for information gain.
        ConfigError: "emd" is requested and the package pyemd is not installed.

    Example:
        >>> from gensal.data.fixations import read_fixations
        >>> fixations = read_fixations("../shared/data/osie/fixations/fixations.mat")
        >>> evaluator = FixationEvaluator(fixations, metrics=("auc_judd", "nss", "cc"))
        >>> scores = evaluator.update("1001", center_bias(600, 800))  # one dict per image
        >>> summary = evaluator.summary()  # mean over the images updated so far
    """

    def __init__(
        self,
        fixations: Mapping[str, Fixations],
        metrics: Sequence[str] = ALL_METRICS,
        baseline: str | np.ndarray | None = "center",
        seed: int = 0,
        sigma: float | None = None,
        n_other_images: int = SHUFFLED_OTHER_IMAGES,
        resize_method: str = "bilinear",
    ) -> None:
        if not fixations:
            raise InputError("FixationEvaluator needs fixations for at least one image")
        unknown = [m for m in metrics if m not in ALL_METRICS]
        if unknown or not metrics:
            raise InputError(f"unknown fixation metric(s) {unknown or '(none given)'}; valid: {', '.join(ALL_METRICS)}")
        if resize_method not in _RESIZE_KERNELS:
            raise InputError(f"unknown resize method {resize_method!r}; choose one of {', '.join(_RESIZE_KERNELS)}")
        if isinstance(baseline, str) and baseline != "center":
            raise InputError(f"baseline must be 'center', an array or None, got {baseline!r}")
        if baseline is None and "info_gain" in metrics:
            raise InputError("info_gain needs a baseline: pass baseline='center' or a baseline map")
        if "auc_shuffled" in metrics and len(fixations) < 2:
            raise InputError("auc_shuffled needs fixations of at least two images (negatives come from others)")
        self._fixations = dict(fixations)
        self.metrics = tuple(dict.fromkeys(metrics))
        if "emd" in self.metrics:
            _pyemd()  # fails now if pyemd is missing, not after the first images; forked workers inherit it
        self._baseline = baseline if baseline is None or isinstance(baseline, str) else _as_map(baseline, "baseline")
        self.seed = check_seed(seed, "seed")
        self.sigma = sigma
        self.n_other_images = int(n_other_images)
        self.resize_method = resize_method
        self._sorted_names = sorted(self._fixations)
        self._baselines: dict[tuple[int, int], np.ndarray] = {}
        self._results: dict[str, dict[str, float]] = {}
        self._scratch = _Scratch()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_scratch": _Scratch()}  # scratch arrays are not worth pickling

    @property
    def names(self) -> list[str]:
        """Names of the images that have fixations, in the order given."""
        return list(self._fixations)

    def _rng(self, name: str, purpose: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode("utf-8")), _STREAMS[purpose]])

    def other_map(self, name: str) -> np.ndarray:
        """The sAUC negatives' map of one image: fixated pixels of ``n_other_images`` random other images.

        Args:
            name: image name.

        Returns:
            (H, W) ``bool`` map at the image's size; other images' pixels are rescaled proportionally.
        """
        fix = self._fixations[name]
        other = np.zeros((fix.height, fix.width), dtype=bool)
        other.ravel()[self._other_pixels(name)] = True
        return other

    def _other_pixels(self, name: str) -> np.ndarray:
        """Flat indices (ascending) of the pixels of :meth:`other_map`, without building the map."""
        fix = self._fixations[name]
        others = [n for n in self._sorted_names if n != name]
        count = min(self.n_other_images, len(others))
        chosen = self._rng(name, "other_images").choice(len(others), size=count, replace=False)
        pixels = []
        for index in chosen:
            source = self._fixations[others[index]]
            rows, cols = source.pixels()
            rows = np.minimum(((rows + 0.5) * fix.height / source.height).astype(np.int64), fix.height - 1)
            cols = np.minimum(((cols + 0.5) * fix.width / source.width).astype(np.int64), fix.width - 1)
            pixels.append(rows * fix.width + cols)
        return np.unique(np.concatenate(pixels))

    def _baseline_distribution(self, height: int, width: int) -> np.ndarray:
        """The information-gain baseline at one size as ``InfoGain.m`` normalises it, flat (cached per size)."""
        if (height, width) not in self._baselines:
            if isinstance(self._baseline, str):
                baseline = center_bias(height, width)
            else:
                baseline = resize_map(self._baseline, (height, width), method=self.resize_method)
            self._baselines[(height, width)] = _MinMax(baseline).distribution()
        return self._baselines[(height, width)]

    def _check_new(self, name: str) -> Fixations:
        if name not in self._fixations:
            raise InputError(
                f"no fixations for image {name!r} ({len(self._fixations)} images known, "
                f"e.g. {', '.join(self._sorted_names[:3])})"
            )
        if name in self._results:
            raise InputError(f"image {name!r} was already evaluated; call reset() to start again")
        return self._fixations[name]

    def score(self, name: str, saliency_map: np.ndarray) -> dict[str, float]:
        """Score one image's saliency map without remembering the scores.

        The map is checked and resized once; what several metrics share (the map's extremes, the centred
        map, the normalised distribution, the fixated pixels, the ground-truth density) is computed once
        and passed to the same computations the metric functions of this module use, so the scores equal
        theirs exactly. The evaluator's scores are left alone (only its scratch arrays and baseline cache
        change), so worker processes can call this on their copy of the evaluator and send the scores back
        to :meth:`add`. BLAS is limited to one thread meanwhile (:func:`gensal.data.fixations.single_threaded_blas`).

        Args:
            name: image name (a key of ``fixations``).
            saliency_map: (h, w) saliency map of any size, resized to the image size with
                ``resize_method``; a log-density must be converted first with :func:`density_from_log`.

        Returns:
            This image's scores by metric, in the order of ``metrics``.

        Raises:
            InputError: on an unknown or already evaluated name, a bad map (negative values with KL or
                EMD), or an image without fixations.
        """
        fix = self._check_new(name)
        if len(fix) == 0:
            raise InputError(f"image {name!r} has no fixations to evaluate against")
        with single_threaded_blas():
            return self._score(name, fix, saliency_map)

    def _score(self, name: str, fix: Fixations, saliency_map: np.ndarray) -> dict[str, float]:
        metrics = set(self.metrics)
        label = f"saliency map of {name}"
        as_mass = bool(metrics & {"kl_div", "emd"})
        saliency = _as_map(saliency_map, label)
        resized = saliency.shape != (fix.height, fix.width)
        if resized:
            if as_mass:
                _non_negative(saliency, label)
            saliency = resize_map(saliency, (fix.height, fix.width), method=self.resize_method)
        scaled = _MinMax(saliency)
        if as_mass and not resized:
            _reject_negative(scaled.low, scaled.high, label)
        # KL and EMD treat the map as mass: round-off and bicubic overshoot below zero count as 0
        mass = np.maximum(saliency, 0.0) if as_mass and scaled.low < 0 else saliency
        scratch, size = self._scratch, saliency.size
        fixated = fix.pixel_indices()
        density = None
        if metrics & _DENSITY_METRICS:
            density = fixation_density(fix, self.sigma, out=scratch("density", size).reshape(saliency.shape))
        centred = _centred(saliency, scratch, "centred") if metrics & {"nss", "cc"} else None
        distribution = scaled.distribution(scratch("distribution", size)) if metrics & {"sim", "info_gain"} else None
        scores: dict[str, float] = {}
        for metric in self.metrics:
            if metric == "auc_judd":
                scores[metric] = _auc_judd(saliency, fixated, self._rng(name, metric), scratch)
            elif metric == "auc_borji":
                scores[metric] = _auc_borji(scaled, fixated, AUC_SPLITS, AUC_STEP, self._rng(name, metric))
            elif metric == "auc_shuffled":
                other_pixels, rng = self._other_pixels(name), self._rng(name, metric)
                scores[metric] = _auc_shuffled(scaled, fixated, other_pixels, AUC_SPLITS, AUC_STEP, rng)
            elif metric == "nss":
                scores[metric] = _nss(*centred, fixated)
            elif metric == "cc":
                scores[metric] = _cc(centred, _centred(density, scratch, "truth centred"), scratch)
            elif metric == "kl_div":
                scores[metric] = _kl_div(mass, density, scratch)
            elif metric == "sim":
                scores[metric] = _sim(scaled, _MinMax(density), distribution, scratch)
            elif metric == "emd":
                scores[metric] = _emd(mass, density, EMD_DOWNSIZE)
            else:
                baseline = self._baseline_distribution(fix.height, fix.width)
                scores[metric] = _info_gain(distribution, baseline, fixated)
        return scores

    def add(self, name: str, scores: Mapping[str, float]) -> None:
        """Remember one image's scores computed by :meth:`score` (e.g. in a worker process).

        Args:
            name: image name (a key of ``fixations``).
            scores: a value for every metric of ``metrics``.

        Raises:
            InputError: on an unknown or already evaluated name, or a missing metric.
        """
        self._check_new(name)
        missing = [m for m in self.metrics if m not in scores]
        if missing:
            raise InputError(f"scores of image {name!r} lack metric(s) {', '.join(missing)}")
        self._results[name] = {m: float(scores[m]) for m in self.metrics}

    def update(self, name: str, saliency_map: np.ndarray) -> dict[str, float]:
        """Score one image's saliency map (:meth:`score`) and remember the scores (:meth:`add`).

        Args:
            name: image name (a key of ``fixations``).
            saliency_map: (h, w) saliency map of any size (see :meth:`score`).

        Returns:
            This image's scores by metric.

        Raises:
            InputError: as :meth:`score`.
        """
        scores = self.score(name, saliency_map)
        self._results[name] = scores
        return dict(scores)

    def per_image(self) -> dict[str, dict[str, float]]:
        """Scores of every evaluated image, by name then metric (a copy)."""
        return {name: dict(scores) for name, scores in self._results.items()}

    def summary(self) -> dict[str, float]:
        """Mean of each metric over the evaluated images.

        Raises:
            InputError: if no image has been evaluated.
        """
        if not self._results:
            raise InputError("no image evaluated yet: call update() first")
        return {m: float(np.mean([s[m] for s in self._results.values()])) for m in self.metrics}

    def reset(self) -> None:
        """Forget every score (the fixations and settings stay)."""
        self._results.clear()
