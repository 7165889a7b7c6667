"""SOD metrics: hand-computed cases, PySODMetrics parity on real predictions, MATLAB toolbox parity."""

from __future__ import annotations

import multiprocessing
import warnings
from pathlib import Path

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
