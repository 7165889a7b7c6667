"""Eye-fixation metrics of the MIT saliency benchmark, in numpy, plus a data-set accumulator.

Every metric follows one MATLAB file of the benchmark's ``code_forMetrics/`` (github.com/cvzoya/saliency,
commit 5951cdc; copied in ``../shared/reference/mit-saliency-metrics/``), whose definitions are discussed
in Z. Bylinskii, T. Judd, A. Oliva, A. Torralba, F. Durand, "What do different evaluation metrics tell us
about saliency models?", IEEE TPAMI 41(3), 2018. Values agree with that code run in GNU Octave on real
OSIE data to 2e-11 (the AUCs to 1e-15 given the same random draws, EMD to 1e-6;
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
  NSS 0 and CC 0, and is a uniform distribution for SIM, KL and information gain.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import optimize, sparse

from gensal.checks import check_finite, check_same_size, check_shape
from gensal.data.fixations import Fixations, fixation_density
from gensal.errors import InputError

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
CENTER_SIGMA_FRACTION = 0.25
"""Default standard deviation of :func:`center_bias`, as a fraction of the image height / width."""
MIT_RESIZE_METHOD = "bicubic"
"""Interpolation of MATLAB's ``imresize`` default, used when a metric receives maps of two sizes."""
ROUNDOFF_TOLERANCE = 1e-12
"""Negative values above ``-1e-12 * max|map|`` (FFT round-off) are set to 0 by KL and EMD, not rejected."""
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
    array = array.astype(np.float64, copy=False)
    check_shape(array, "H W", name)
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


def _non_negative(values: np.ndarray, name: str) -> np.ndarray:
    """Reject negative values, except floating-point noise (above -1e-12 of the peak), which becomes 0."""
    low = values.min()
    if low >= 0:
        return values
    if low < -ROUNDOFF_TOLERANCE * np.abs(values).max():
        raise InputError(
            f"{name} has negative values (minimum {low:.4g}); this metric treats maps as "
            "distributions: pass probabilities, e.g. density_from_log(log_density)"
        )
    return np.maximum(values, 0.0)


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _min_max(values: np.ndarray) -> np.ndarray | None:
    """``(x - min) / (max - min)`` as in the MATLAB code, or None for a constant map."""
    low, high = values.min(), values.max()
    if high == low:
        return None
    return (values - low) / (high - low)


def _trapezoid(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MATLAB ``trapz(x, y)`` along the last axis."""
    return np.sum(np.diff(x, axis=-1) * (y[..., 1:] + y[..., :-1]) / 2.0, axis=-1)


# ----------------------------------------------------------------------------------------------------------
# AUC variants
# ----------------------------------------------------------------------------------------------------------
def judd_jitter_draws(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """The uniform draws behind :func:`auc_judd`'s jitter: ``rng.random(shape)``.

    The jitter added to the map is ``draws / 10_000_000``, as ``rand(size(map)) / 10000000`` in
    ``AUC_Judd.m``.

    Args:
        rng: random generator.
        shape: (H, W) of the saliency map.

    Returns:
        (H, W) draws in ``[0, 1)``.
    """
    return rng.random(shape)


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
    area is the trapezoid rule. The counts come from one sort of the map, not a loop over thresholds.

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
    return _auc_judd(saliency, fixated, _generator(rng) if jitter else None)


def _auc_judd(saliency: np.ndarray, fixated: np.ndarray, rng: np.random.Generator | None) -> float:
    """AUC-Judd of a checked map and fixation map of the same size; jitter drawn from ``rng`` unless None."""
    if rng is not None:
        saliency = saliency + judd_jitter_draws(rng, saliency.shape) / AUC_JUDD_JITTER_DIVISOR
    normalised = _min_max(saliency)
    if normalised is None:
        return 0.5
    values, fixated = normalised.ravel(), fixated.ravel()
    n_fixated, n_pixels = int(fixated.sum()), values.size
    if n_fixated == n_pixels:
        raise InputError("every pixel of the fixation map is fixated; AUC-Judd needs non-fixated pixels")
    thresholds = np.sort(values[fixated])[::-1]
    above = n_pixels - np.searchsorted(np.sort(values), thresholds, side="left")
    rank = np.arange(1, n_fixated + 1)
    tp = np.concatenate([[0.0], rank / n_fixated, [1.0]])
    fp = np.concatenate([[0.0], (above - rank) / (n_pixels - n_fixated), [1.0]])
    return float(_trapezoid(fp, tp))


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
    top = np.maximum(positives.max(), negatives.max(axis=1))
    count, last = _octave_range_end(top, step)
    index = np.arange(count.max())[None, :]
    thresholds = np.where(index < count[:, None] - 1, index * step, last[:, None])
    thresholds = np.where(index < count[:, None], thresholds, np.inf)[:, ::-1]  # descending, +inf pads
    sorted_positives = np.sort(positives)
    tp = (positives.size - np.searchsorted(sorted_positives, thresholds, side="left")) / positives.size
    fp = (negatives[:, :, None] >= thresholds[:, None, :]).sum(axis=1) / negatives.shape[1]
    zeros, ones = np.zeros((len(top), 1)), np.ones((len(top), 1))
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
    normalised = _min_max(_resized(_as_map(saliency_map, "saliency map"), fixated.shape))
    return _auc_borji(normalised, fixated, n_splits, step, _generator(rng))


def _auc_borji(
    normalised: np.ndarray | None, fixated: np.ndarray, n_splits: int, step: float, rng: np.random.Generator
) -> float:
    """AUC-Borji of a min-max normalised map (None: constant map)."""
    if normalised is None:
        return 0.5
    values = normalised.ravel()
    positives = values[fixated.ravel()]
    negatives = values[borji_negative_indices(rng, values.size, positives.size, n_splits)]
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
    normalised = _min_max(_resized(_as_map(saliency_map, "saliency map"), fixated.shape))
    return _auc_shuffled(normalised, fixated, np.flatnonzero(other), n_splits, step, _generator(rng))


def _auc_shuffled(
    normalised: np.ndarray | None,
    fixated: np.ndarray,
    other_pixels: np.ndarray,
    n_splits: int,
    step: float,
    rng: np.random.Generator,
) -> float:
    """sAUC of a min-max normalised map (None: constant) against the flat indices of the other map."""
    if normalised is None:
        return 0.5
    values = normalised.ravel()
    positives = values[fixated.ravel()]
    n_negatives = min(positives.size, other_pixels.size)
    choice = shuffled_negative_choice(rng, other_pixels.size, n_negatives, n_splits)
    return float(np.mean(_auc_fixed_step(positives, values[other_pixels[choice]], step)))


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
    return _nss(_resized(_as_map(saliency_map, "saliency map"), fixated.shape), fixated)


def _nss(saliency: np.ndarray, fixated: np.ndarray) -> float:
    spread = saliency.std(ddof=1)
    if spread == 0:
        return 0.0
    return float(np.mean((saliency[fixated] - saliency.mean()) / spread))


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
    return _cc(_resized(_as_map(saliency_map, "saliency map"), truth.shape), truth)


def _cc(saliency: np.ndarray, truth: np.ndarray) -> float:
    centred_saliency = saliency - saliency.mean()
    centred_truth = truth - truth.mean()
    norm = np.sqrt(np.sum(centred_saliency**2) * np.sum(centred_truth**2))
    if norm == 0:
        return 0.0
    return float(np.sum(centred_saliency * centred_truth) / norm)


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
    return _kl_div(np.maximum(_resized(saliency, truth.shape), 0.0), truth)


def _kl_div(saliency: np.ndarray, truth: np.ndarray) -> float:
    """KL of non-negative maps of one size, with MATLAB's operation order, computed in place."""
    predicted_total, truth_total = saliency.sum(), truth.sum()
    predicted = saliency / predicted_total if predicted_total > 0 else np.zeros_like(saliency)
    target = truth / truth_total if truth_total > 0 else truth
    predicted += EPS
    np.divide(target, predicted, out=predicted)
    predicted += EPS
    np.log(predicted, out=predicted)
    predicted *= target
    return float(predicted.sum())


def _min_max_distribution(values: np.ndarray) -> np.ndarray:
    """Min-max normalise then divide by the sum (``similarity.m``, ``InfoGain.m``); constant -> uniform."""
    normalised = _min_max(values)
    if normalised is None:
        return np.full(values.shape, 1.0 / values.size)
    normalised /= normalised.sum()
    return normalised


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
    saliency = _resized(_as_map(saliency_map, "saliency map"), truth.shape)
    if not saliency.any() or not truth.any():
        return 0.0
    return _sim(_min_max_distribution(saliency), _min_max_distribution(truth))


def _sim(saliency_distribution: np.ndarray, truth_distribution: np.ndarray) -> float:
    return float(np.minimum(saliency_distribution, truth_distribution).sum())


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
    predicted = _min_max_distribution(_resized(_as_map(saliency_map, "saliency map"), fixated.shape))
    baseline = _min_max_distribution(_resized(_as_map(baseline_map, "baseline map"), fixated.shape))
    return _info_gain(predicted, baseline, fixated)


def _info_gain(saliency_distribution: np.ndarray, baseline_distribution: np.ndarray, fixated: np.ndarray) -> float:
    predicted, baseline = saliency_distribution[fixated], baseline_distribution[fixated]
    return float(np.mean(np.log2(EPS + predicted) - np.log2(EPS + baseline)))


def _transport_cost(source: np.ndarray, target: np.ndarray) -> float:
    """Exact earth mover's distance between two (R, C) histograms of equal total mass.

    Euclidean ground distance between cell indices. For a metric ground distance, mass common to both
    histograms stays in place in some optimal plan (FastEMD's "pre-flow"), so only the surplus cells
    (source > target) ship to the deficit cells; that linear program is solved with HiGHS
    (``scipy.optimize.linprog``). A negative entry simply adds to its cell's deficit or surplus.
    """
    difference = (source - target).ravel()
    senders, receivers = np.flatnonzero(difference > 0), np.flatnonzero(difference < 0)
    if senders.size == 0 or receivers.size == 0:
        return 0.0
    cells = np.stack(np.unravel_index(np.arange(source.size), source.shape), axis=1).astype(np.float64)
    distance = np.sqrt(((cells[senders, None, :] - cells[None, receivers, :]) ** 2).sum(axis=-1))
    n_send, n_receive = senders.size, receivers.size
    variables = np.arange(n_send * n_receive)
    constraints = sparse.coo_matrix(
        (
            np.ones(2 * variables.size),
            (np.concatenate([variables // n_receive, n_send + variables % n_receive]), np.tile(variables, 2)),
        ),
        shape=(n_send + n_receive, variables.size),
    ).tocsr()
    supply = np.concatenate([difference[senders], -difference[receivers]])
    # one balance row is redundant (and rounding would make it inconsistent): drop it
    result = optimize.linprog(
        distance.ravel(),
        A_eq=constraints[:-1],
        b_eq=supply[:-1],
        bounds=(0, None),
        method="highs-ds",
        options={"presolve": False},  # presolve costs more than it saves on this dense transport problem
    )
    if result.status != 0:
        raise RuntimeError(f"EMD transport problem not solved: {result.message}")
    return float(result.fun)


def emd(saliency_map: np.ndarray, fixation_density: np.ndarray, downsize: int = EMD_DOWNSIZE) -> float:
    """Earth mover's distance between the saliency map and the ground truth, as distributions.

    Follows ``EMD.m`` (T. Judd 2011, Z. Bylinskii 2014) of the MIT saliency benchmark; Bylinskii et al.,
    TPAMI 2018. The ground truth is shrunk with ``imresize(G, 1 / downsize)`` (:func:`resize_map`, bicubic
    with antialiasing, ``ceil`` of the size), the saliency map is resized to that grid, both are divided by
    their sums, and the cost of the optimal transport between them is returned, with the Euclidean distance
    between grid cells (in units of the shrunk grid) as ground distance. The benchmark solves this with
    Pele & Werman's FastEMD (``emd_hat`` with zero extra-mass penalty, equal to the plain EMD here); FastEMD
    is not available in Python, so the same linear program is solved exactly with HiGHS (FastEMD rounds
    masses and distances to about 1e-6 relative). Like FastEMD, the mass common to both maps stays in
    place first; bicubic overshoot below zero in a shrunk map thereby becomes demand, as in FastEMD.

    Args:
        saliency_map: (h, w) non-negative saliency map.
        fixation_density: (H, W) non-negative continuous ground-truth map.
        downsize: shrink factor (32); 1 solves the full-resolution problem (slow beyond ~50x50).

    Returns:
        EMD (lower is better), in cells of the shrunk grid.

    Raises:
        InputError: on bad input, negative values, or an all-zero map.
    """
    truth = _non_negative(_as_map(fixation_density, "fixation density"), "fixation density")
    saliency = _non_negative(_as_map(saliency_map, "saliency map"), "saliency map")
    return _emd(saliency, truth, downsize)


def _emd(saliency: np.ndarray, truth: np.ndarray, downsize: int) -> float:
    shrunk_truth = resize_map(truth, scale=1.0 / downsize)
    shrunk_saliency = resize_map(saliency, shrunk_truth.shape)
    for name, shrunk in (("fixation density", shrunk_truth), ("saliency map", shrunk_saliency)):
        if shrunk.sum() <= 0:
            raise InputError(f"{name} has no mass (all zero); EMD compares distributions")
    return _transport_cost(shrunk_truth / shrunk_truth.sum(), shrunk_saliency / shrunk_saliency.sum())


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


# ----------------------------------------------------------------------------------------------------------
# Data-set accumulator
# ----------------------------------------------------------------------------------------------------------
_DENSITY_METRICS = frozenset({"cc", "kl_div", "sim", "emd"})
_STREAMS = {"auc_judd": 1, "auc_borji": 2, "auc_shuffled": 3, "other_images": 4}


class FixationEvaluator:
    """Accumulate per-image fixation metrics over a data set and average them.

    For each image, :meth:`update` builds the binary fixation map (:meth:`Fixations.to_fixation_map`), the
    ground-truth density (:func:`gensal.data.fixations.fixation_density` with ``sigma``), the centre or
    given baseline (information gain) and the sAUC "other map" (the union of the fixated pixels of
    ``n_other_images`` other images drawn at random, coordinates rescaled to this image's size), then calls
    the metric functions of this module. Each image's random draws come from a generator seeded with
    ``(seed, crc32(name), metric)``, so results do not depend on the order of updates or on which other
    metrics are computed. EMD dominates the cost (an exact transport problem, ~0.3-0.6 s per image);
    leave it out of ``metrics`` for quick runs.

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
        self._baseline = baseline if baseline is None or isinstance(baseline, str) else _as_map(baseline, "baseline")
        self.seed = int(seed)
        self.sigma = sigma
        self.n_other_images = int(n_other_images)
        self.resize_method = resize_method
        self._sorted_names = sorted(self._fixations)
        self._baselines: dict[tuple[int, int], np.ndarray] = {}
        self._results: dict[str, dict[str, float]] = {}

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
        others = [n for n in self._sorted_names if n != name]
        count = min(self.n_other_images, len(others))
        chosen = self._rng(name, "other_images").choice(len(others), size=count, replace=False)
        other = np.zeros((fix.height, fix.width), dtype=bool)
        for index in chosen:
            source = self._fixations[others[index]]
            rows, cols = source.pixels()
            rows = np.minimum(((rows + 0.5) * fix.height / source.height).astype(np.int64), fix.height - 1)
            cols = np.minimum(((cols + 0.5) * fix.width / source.width).astype(np.int64), fix.width - 1)
            other[rows, cols] = True
        return other

    def _baseline_distribution(self, height: int, width: int) -> np.ndarray:
        """The information-gain baseline at one size as ``InfoGain.m`` normalises it (cached per size)."""
        if (height, width) not in self._baselines:
            if isinstance(self._baseline, str):
                baseline = center_bias(height, width)
            else:
                baseline = resize_map(self._baseline, (height, width), method=self.resize_method)
            self._baselines[(height, width)] = _min_max_distribution(baseline)
        return self._baselines[(height, width)]

    def update(self, name: str, saliency_map: np.ndarray) -> dict[str, float]:
        """Score one image's saliency map and remember the scores.

        The map is checked and resized once; the quantities several metrics share (min-max normalised map,
        normalised distributions, ground-truth density) are computed once and passed to the same
        computations the metric functions of this module use.

        Args:
            name: image name (a key of ``fixations``).
            saliency_map: (h, w) saliency map of any size, resized to the image size with
                ``resize_method``; a log-density must be converted first with :func:`density_from_log`.

        Returns:
            This image's scores by metric.

        Raises:
            InputError: on an unknown or already evaluated name, a bad map (negative values with KL or
                EMD), or an image without fixations.
        """
        if name not in self._fixations:
            raise InputError(
                f"no fixations for image {name!r} ({len(self._fixations)} images known, "
                f"e.g. {', '.join(self._sorted_names[:3])})"
            )
        if name in self._results:
            raise InputError(f"image {name!r} was already evaluated; call reset() to start again")
        fix = self._fixations[name]
        if len(fix) == 0:
            raise InputError(f"image {name!r} has no fixations to evaluate against")
        metrics = set(self.metrics)
        saliency = _as_map(saliency_map, f"saliency map of {name}")
        if metrics & {"kl_div", "emd"}:
            _non_negative(saliency, f"saliency map of {name}")
        if saliency.shape != (fix.height, fix.width):
            saliency = resize_map(saliency, (fix.height, fix.width), method=self.resize_method)
        # KL and EMD treat the map as mass: round-off and bicubic overshoot below zero count as 0
        mass = np.maximum(saliency, 0.0) if metrics & {"kl_div", "emd"} else None
        fixated = fix.to_fixation_map()
        density = fixation_density(fix, self.sigma) if metrics & _DENSITY_METRICS else None
        normalised = _min_max(saliency) if metrics & {"auc_borji", "auc_shuffled"} else None
        distribution = _min_max_distribution(saliency) if metrics & {"sim", "info_gain"} else None
        scores: dict[str, float] = {}
        for metric in self.metrics:
            if metric == "auc_judd":
                scores[metric] = _auc_judd(saliency, fixated, self._rng(name, metric))
            elif metric == "auc_borji":
                scores[metric] = _auc_borji(normalised, fixated, AUC_SPLITS, AUC_STEP, self._rng(name, metric))
            elif metric == "auc_shuffled":
                other_pixels = np.flatnonzero(self.other_map(name))
                rng = self._rng(name, metric)
                scores[metric] = _auc_shuffled(normalised, fixated, other_pixels, AUC_SPLITS, AUC_STEP, rng)
            elif metric == "nss":
                scores[metric] = _nss(saliency, fixated)
            elif metric == "cc":
                scores[metric] = _cc(saliency, density)
            elif metric == "kl_div":
                scores[metric] = _kl_div(mass, density)
            elif metric == "sim":
                empty = not saliency.any() or not density.any()
                scores[metric] = 0.0 if empty else _sim(distribution, _min_max_distribution(density))
            elif metric == "emd":
                scores[metric] = _emd(mass, density, EMD_DOWNSIZE)
            else:
                baseline = self._baseline_distribution(fix.height, fix.width)
                scores[metric] = _info_gain(distribution, baseline, fixated)
        self._results[name] = scores
        return scores

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
