"""SOD metrics: hand-computed cases, PySODMetrics parity on real predictions, MATLAB toolbox parity."""

from __future__ import annotations

import multiprocessing
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io as sio

from gensal import io
from gensal.errors import InputError
from gensal.metrics import sod


def _binary(shape, box) -> np.ndarray:
    gt = np.zeros(shape, np.uint8)
    r0, r1, c0, c1 = box
    gt[r0:r1, c0:c1] = 255
    return gt


# ------------------------------------------------------------------------------------------ hand cases
def test_prepare_thresholds_mask_and_minmax_normalises():
    pred = np.array([[51, 102], [153, 204]], np.uint8)
    gt = np.array([[128, 129], [0, 255]], np.uint8)
    p, g = sod.prepare(pred, gt)
    np.testing.assert_allclose(p, [[0, 1 / 3], [2 / 3, 1]])
    np.testing.assert_array_equal(g, [[False, True], [False, True]])


def test_prepare_keeps_constant_map_and_rejects_bad_input():
    p, _ = sod.prepare(np.full((3, 3), 51, np.uint8), np.zeros((3, 3), np.uint8))
    np.testing.assert_allclose(p, 0.2)
    with pytest.raises(InputError, match="size"):
        sod.prepare(np.zeros((3, 3), np.uint8), np.zeros((3, 4), np.uint8))
    with pytest.raises(InputError, match="NaN"):
        sod.prepare(np.full((2, 2), np.nan), np.zeros((2, 2), np.uint8))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        sod.prepare(np.full((2, 2), 2.0), np.zeros((2, 2), np.uint8))


def test_mae_by_hand():
    pred, gt = sod.prepare(np.array([[0, 255], [255, 0]], np.uint8), np.array([[0, 255], [0, 0]], np.uint8))
    assert sod.mae(pred, gt) == pytest.approx(0.25)


def test_threshold_counts_match_a_loop_over_thresholds():
    rng = np.random.default_rng(0)
    pred, gt = sod.prepare(rng.integers(0, 256, (17, 23), dtype=np.uint8), _binary((17, 23), (3, 12, 4, 15)))
    tp, fp = sod.threshold_counts(pred, gt)
    levels = (pred * 255).astype(np.uint8)
    for i, threshold in enumerate(range(255, -1, -1)):
        above = levels >= threshold
        assert tp[i] == np.count_nonzero(above & gt)
        assert fp[i] == np.count_nonzero(above & ~gt)


def test_f_measure_by_hand():
    # P = 2/4, R = 2/3: F(0.3) = 1.3 * (1/2)(2/3) / (0.3 * 1/2 + 2/3) = 0.4333.. / 0.8166..
    assert sod.f_measure_from_pr(0.5, 2 / 3) == pytest.approx(1.3 * (1 / 3) / (0.15 + 2 / 3))
    assert sod.f_measure_from_pr(0.0, 0.0) == 0.0


def test_perfect_prediction_scores():
    gt = _binary((20, 30), (4, 15, 6, 20))
    scores = sod.score_image(gt.copy(), gt)
    assert scores.mae == 0
    assert scores.s_measure == pytest.approx(1.0)
    assert scores.weighted_f == pytest.approx(1.0)
    assert scores.adaptive_f == pytest.approx(1.0)
    # Enhanced alignment is 1 at every pixel; the toolbox divides the sum by N - 1.
    n = gt.size
    assert scores.adaptive_e == pytest.approx(n / (n - 1))
    assert scores.e_curve[:-1].min() == pytest.approx(n / (n - 1))  # the last threshold (0) keeps all


def test_inverted_prediction_scores_zero():
    gt = _binary((20, 30), (4, 15, 6, 20))
    scores = sod.score_image(255 - gt, gt)
    assert scores.mae == 1
    assert scores.s_measure == pytest.approx(0.0, abs=1e-12)
    assert scores.weighted_f == pytest.approx(0.0, abs=1e-12)
    assert scores.adaptive_e == pytest.approx(0.0, abs=1e-12)


def test_s_measure_degenerate_masks():
    pred = np.array([[0.2, 0.4], [0.6, 0.8]])
    assert sod.s_measure(pred, np.zeros((2, 2), bool)) == pytest.approx(0.5)  # 1 - mean
    assert sod.s_measure(pred, np.ones((2, 2), bool)) == pytest.approx(0.5)  # mean


def test_e_measure_by_hand_on_4_pixels():
    # pred = [1,1,0,0], gt = [1,0,0,0]: tp=1, fp=1, fn=0, tn=2; means 0.5 and 0.25.
    p_fg, p_bg, g_fg, g_bg = 0.5, -0.5, 0.75, -0.25

    def cell(a, b):
        return (2 * a * b / (a * a + b * b + sod.EPS) + 1) ** 2 / 4

    expected = (cell(p_fg, g_fg) + cell(p_fg, g_bg) + 2 * cell(p_bg, g_bg)) / (4 - 1 + sod.EPS)
    assert sod.e_measure_from_counts(1, 1, 1, 4) == pytest.approx(expected)


def test_weighted_f_empty_mask_is_zero_and_fast_path_matches_definition():
    assert sod.weighted_f_measure(np.full((5, 5), 0.3), np.zeros((5, 5), bool)) == 0.0
    rng = np.random.default_rng(1)
    for _ in range(5):
        gt = np.zeros((40, 50), bool)
        gt[rng.integers(0, 20) : rng.integers(21, 40), rng.integers(0, 25) : rng.integers(26, 50)] = True
        pred = np.clip(gt * 0.7 + rng.normal(0, 0.2, gt.shape), 0, 1)
        assert sod.weighted_f_measure(pred, gt) == pytest.approx(_weighted_f_reference(pred, gt), abs=1e-12)


def _weighted_f_reference(pred, gt):
    """Margolin et al.'s definition written out plainly (full-image transforms, 2-D kernel)."""
    from scipy.ndimage import convolve, distance_transform_edt

    dist, (ir, ic) = distance_transform_edt(~gt, return_indices=True)
    error = np.abs(pred - gt)
    error_t = error[ir, ic]
    x = np.arange(-3, 4)
    kernel = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / 50.0)
    kernel /= kernel.sum()
    smoothed = convolve(error_t, kernel, mode="constant")
    min_error = np.where(gt & (smoothed < error), smoothed, error)
    weighted = min_error * np.where(gt, 1.0, 2 - np.exp(np.log(0.5) / 5 * dist))
    tp = gt.sum() - weighted[gt].sum()
    precision = tp / (tp + weighted[~gt].sum() + sod.EPS)
    recall = 1 - weighted[gt].mean()
    return 2 * recall * precision / (recall + precision + sod.EPS)


# ------------------------------------------------------------- 8-bit maps: histograms against per-pixel code
_SCALARS = ("mae", "s_measure", "weighted_f", "adaptive_f", "adaptive_e")
_CURVES = ("precision", "recall", "f_curve", "e_curve")


def _assert_histogram_path_matches_per_pixel_path(code: np.ndarray, gt: np.ndarray) -> sod.SODImageScores:
    """``score_image`` of an 8-bit map (histograms) against the same map as floats (per-pixel functions).

    ``code / 255.0`` goes through the same floating-point normalisation as the 8-bit lookup table, so the
    two paths see bit-identical predictions; they differ only in how they sum.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the per-pixel path's empty quadrants
        reference = sod.score_image(code / 255.0, gt)
    scores = sod.score_image(code, gt)
    for name in _SCALARS:
        assert getattr(scores, name) == pytest.approx(getattr(reference, name), abs=1e-12), name
    for name in _CURVES:
        np.testing.assert_array_equal(getattr(scores, name), getattr(reference, name), err_msg=name)
    return scores


def _blobs(rng, shape, fraction) -> np.ndarray:
    """A mask of smooth random blobs (touching the border at random) covering about ``fraction`` of it."""
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.normal(size=shape), sigma=min(shape) / 8)
    return field > np.quantile(field, 1 - fraction)


@pytest.mark.parametrize("seed", range(8))
def test_uint8_maps_score_as_their_float_copies(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(20, 90, 2))
    gt = _blobs(rng, shape, fraction=rng.uniform(0.05, 0.6))
    kind = seed % 4
    if kind == 0:  # noise
        code = rng.integers(0, 256, shape, dtype=np.uint8)
    elif kind == 1:  # a soft prediction of the mask, mostly 0 outside it
        code = np.clip(gt * 200.0 + rng.normal(0, 40, shape) - 30, 0, 255).astype(np.uint8)
    elif kind == 2:  # a few levels, none of them 0
        code = rng.choice(np.array([17, 90, 91, 230], np.uint8), shape)
    else:  # a blurred mask, shifted
        code = np.roll((_blobs(rng, shape, 0.3) * 255).astype(np.uint8), 3, axis=1)
    scores = _assert_histogram_path_matches_per_pixel_path(code, gt.astype(np.uint8) * 255)
    assert scores.weighted_f == pytest.approx(_weighted_f_reference(*sod.prepare(code, gt)), abs=1e-12)


def _edge_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    soft = rng.integers(0, 256, (12, 15), dtype=np.uint8)
    box = _binary((12, 15), (3, 9, 4, 11))
    last_row = np.zeros((6, 7), np.uint8)
    last_row[-1, 2:5] = 255
    one_fg = np.zeros((2, 2), np.uint8)
    one_fg[0, 0] = 255
    return {
        "empty mask": (soft, np.zeros_like(soft)),
        "full mask": (soft, np.full_like(soft, 255)),
        "constant 0": (np.zeros_like(soft), box),
        "constant 51": (np.full_like(soft, 51), box),
        "constant 255": (np.full_like(soft, 255), box),
        "constant, empty mask": (np.full_like(soft, 51), np.zeros_like(soft)),
        "binary prediction": (box[::-1].copy(), box),
        "1x1 foreground": (np.array([[77]], np.uint8), np.array([[255]], np.uint8)),
        "1x1 background": (np.array([[77]], np.uint8), np.array([[0]], np.uint8)),
        "1x2": (np.array([[10, 200]], np.uint8), np.array([[255, 0]], np.uint8)),
        "2x1": (np.array([[10], [200]], np.uint8), np.array([[0], [255]], np.uint8)),
        "2x2, 1-pixel quadrants": (np.array([[10, 200], [90, 30]], np.uint8), one_fg),
        "3x3 centre": (np.arange(9, dtype=np.uint8).reshape(3, 3) * 20, _binary((3, 3), (1, 2, 1, 2))),
        "mask in the last row": (soft[:6, :7].copy(), last_row),
        "mask in the last column": (soft[:7, :6].copy(), last_row.T.copy()),
        "boolean mask": (soft, box > 128),
        "strided inputs": (soft[::2, ::3], box[::2, ::3]),
    }


@pytest.mark.parametrize("case", list(_edge_cases()))
def test_uint8_edge_cases_score_as_their_float_copies(case):
    code, gt = _edge_cases()[case]
    scores = _assert_histogram_path_matches_per_pixel_path(code, gt)
    if case.startswith("mask in the last"):
        # Two quadrants are empty; as in the per-pixel code their NaN makes S 0 (PySODMetrics: NaN).
        assert scores.s_measure == 0.0


def test_boolean_and_uint8_masks_score_the_same():
    code, gt = _edge_cases()["strided inputs"]
    a, b = sod.score_image(code, gt), sod.score_image(code, gt > 128)
    assert a.scalars() == b.scalars()


@pytest.mark.parametrize("shape", [(5, 6), (9, 14), (23, 17)])
@pytest.mark.parametrize("value", [51, 200])
def test_constant_quadrants_take_numpys_mean(shape, value):
    # numpy's mean of a window full of 0.2 (or 200/255) is an ulp off for some of these quadrants: the
    # per-pixel variance is then tiny instead of 0, and the quadrant inside (or outside) the mask scores 0
    # instead of 1. The histogram path reproduces that.
    gt = np.zeros(shape, np.uint8)
    gt[shape[0] // 2 :, shape[1] // 2 :] = 255
    _assert_histogram_path_matches_per_pixel_path(np.full(shape, value, np.uint8), gt)


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
def test_adaptive_threshold_ties_follow_the_per_pixel_mean(monkeypatch):
    # Values 0, 1/3 and 1 with 2 * mean = 1/3 in exact arithmetic: whether the 1/3 pixel is positive
    # depends on the last bit of the mean, i.e. on the summation order.
    cases = []
    for start in range(0, 40, 3):
        code = np.zeros((1, 50), np.uint8)
        code[0, start : start + 8] = 255
        code[0, start + 8] = 85
        gt = np.zeros(code.shape, bool)
        gt[0, [0, start + 8]] = True
        _assert_histogram_path_matches_per_pixel_path(code, gt)
        cases.append((code, gt))
    # Without the tie guard the sum over codes rounds the other way on some of them.
    monkeypatch.setattr(sod, "_THRESHOLD_TIE", 0.0)
    assert any(sod.score_image(c, g).adaptive_f != sod.score_image(c / 255.0, g).adaptive_f for c, g in cases)


def test_histogram_fallback_for_large_images_counts_the_same(monkeypatch):
    rng = np.random.default_rng(3)
    gt = _blobs(rng, (40, 50), 0.3)
    code = np.clip(gt * 180.0 + rng.normal(0, 50, gt.shape), 0, 255).astype(np.uint8)
    expected = sod.score_image(code, gt)
    monkeypatch.setattr(sod, "_CALCHIST_MAX_PIXELS", 0)  # np.bincount instead of cv2.calcHist
    scores = sod.score_image(code, gt)
    assert scores.scalars() == expected.scalars()
    for name in _CURVES:
        np.testing.assert_array_equal(getattr(scores, name), getattr(expected, name))


@pytest.mark.parametrize("seed", range(4))
def test_nearest_foreground_makes_scipys_choice(seed):
    from scipy.ndimage import distance_transform_edt

    rng = np.random.default_rng(seed)
    blocks = np.kron(rng.random((8, 10)) < 0.3, np.ones((3, 2), bool))  # straight edges: many equal distances
    mask = blocks | (rng.random(blocks.shape) < 0.03)
    window = np.ones((sod.WFM_GAUSS_SIZE, sod.WFM_GAUSS_SIZE), np.uint8)
    band = np.flatnonzero(cv2.dilate(mask.view(np.uint8), window).view(bool) & ~mask)
    rows, cols = distance_transform_edt(~mask, return_distances=False, return_indices=True)
    expected = (rows * mask.shape[1] + cols).ravel()[band]
    np.testing.assert_array_equal(sod._nearest_foreground(mask, band), expected)


def test_accumulator_update_reset_and_bad_mode():
    metrics = sod.SODMetrics()
    gt = _binary((8, 8), (2, 6, 2, 6))
    metrics.update(gt, gt)
    metrics.update(255 - gt, gt)
    assert len(metrics) == 2
    assert metrics.summary()["mae"] == pytest.approx(0.5)
    assert set(metrics.summary()) == set(sod.SOD_METRICS)
    metrics.reset()
    with pytest.raises(InputError, match="no images"):
        metrics.summary()
    with pytest.raises(InputError, match="f_curve"):
        sod.SODMetrics(f_curve="matlab")


# ------------------------------------------------------------------------------ PySODMetrics on real data
def _real_sets(data: Path) -> list[tuple[str, Path, Path]]:
    sets = [("ECSSD/ScribbleSaliency", data / "ecssd/masks", data / "ecssd/predictions/ScribbleSaliency_CVPR2020")]
    sets += [(f"SOD/{m}", data / "sod/masks", data / f"sod/predictions/{m}") for m in ("Amulet", "DSS", "PiCANet")]
    return sets


def _pysod_chunk(files: list[tuple[str, str]]):
    """Run PySODMetrics' own classes on a chunk of images (in a worker) and return them."""
    import py_sod_metrics as psm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        objects = [psm.Fmeasure(), psm.WeightedFmeasure(), psm.Smeasure(), psm.Emeasure(), psm.MAE()]
    for pred_path, gt_path in files:
        pred, gt = io.read_gray(pred_path), io.read_gray(gt_path)
        for metric in objects:
            metric.step(pred, gt)
    return objects


def _pysod_results(files) -> dict[str, float]:
    """PySODMetrics' dataset numbers, computed on 2 workers whose per-image lists are concatenated."""
    chunks = [files[: len(files) // 2], files[len(files) // 2 :]]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        parts = pool.map(_pysod_chunk, chunks)
    merged = parts[0]
    for other in parts[1:]:
        for mine, theirs in zip(merged, other, strict=True):
            for key, value in vars(theirs).items():
                if isinstance(value, list):
                    getattr(mine, key).extend(value)
    fm, wfm, sm, em, mae = (m.get_results() for m in merged)
    return {
        "s_measure": sm["sm"],
        "weighted_f": wfm["wfm"],
        "max_f": fm["fm"]["curve"].max(),
        "mean_f": fm["fm"]["curve"].mean(),
        "adaptive_f": fm["fm"]["adp"],
        "max_e": em["em"]["curve"].max(),
        "mean_e": em["em"]["curve"].mean(),
        "adaptive_e": em["em"]["adp"],
        "mae": mae["mae"],
    }


def test_matches_pysodmetrics_on_real_predictions(shared_data):
    pytest.importorskip("py_sod_metrics")
    from gensal.evaluate import evaluate_sod

    for label, gt_dir, pred_dir in _real_sets(shared_data):
        ours = evaluate_sod(gt_dir, label, pred_dir, workers=2, progress=False)
        files = [(str(pred_dir / f"{stem}.png"), str(gt_dir / f"{stem}.png")) for stem in ours.per_image]
        reference = _pysod_results(files)
        assert len(ours.per_image) == len(files) >= 300
        for key in sod.SOD_METRICS:
            assert ours.summary[key] == pytest.approx(reference[key], abs=1e-6), (label, key)


# ---------------------------------------------------------------------------- MATLAB toolbox on real data
@pytest.mark.parametrize("model", ["Amulet", "DSS", "PiCANet"])
def test_matches_matlab_toolbox(shared_data, model):
    reference = sio.loadmat(shared_data / f"sod/reference_metrics/{model}.mat", squeeze_me=True)
    masks = shared_data / "sod/masks"
    per_pr = sod.SODMetrics()
    mean_pr = sod.SODMetrics(f_curve="mean-pr")
    for mask in sorted(masks.glob("*.png")):
        scores = sod.score_image(io.read_gray(shared_data / f"sod/predictions/{model}/{mask.name}"), io.read_gray(mask))
        per_pr.add(scores)
        mean_pr.add(scores)
    summary = mean_pr.summary()
    assert summary["mae"] == pytest.approx(reference["MAE"], abs=1e-6)
    assert summary["s_measure"] == pytest.approx(reference["S_measure"], abs=1e-6)
    np.testing.assert_allclose([s["mae"] for s in mean_pr.per_image()], reference["MAE_image"], atol=1e-9)
    np.testing.assert_allclose([s["s_measure"] for s in mean_pr.per_image()], reference["S_measure_image"], atol=1e-9)
    curves = mean_pr.curves()
    np.testing.assert_allclose(curves["precision"], reference["Pre"], atol=1e-9)
    np.testing.assert_allclose(curves["recall"], reference["Recall"], atol=1e-9)
    np.testing.assert_allclose(curves["f_curve"], reference["Fmeasure_Curve"], atol=1e-9)
    assert summary["max_f"] == pytest.approx(reference["MaxFmeasure"], abs=1e-6)
    # The toolbox's mean_Fmeasure is (precision, recall, F) at the adaptive threshold, averaged per image.
    assert summary["adaptive_f"] == pytest.approx(reference["mean_Fmeasure"][2], abs=1e-6)
    # PySODMetrics' convention (mean of per-image F curves) is lower on these maps: the documented gap.
    assert per_pr.summary()["max_f"] < summary["max_f"] - 0.01
