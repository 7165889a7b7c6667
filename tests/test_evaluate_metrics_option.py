"""``gensal evaluate --metrics LIST``: only the chosen metrics are computed and reported, for both tasks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gensal import evaluate
from gensal.cli import main
from gensal.errors import InputError
from gensal.metrics import fixation, sod


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture()
def tiny_sod(tmp_path: Path) -> Path:
    """Three 24x32 masks and a noisy prediction of each."""
    rng = np.random.default_rng(0)
    for i in range(3):
        gt = np.zeros((24, 32), np.uint8)
        gt[4 + i : 16 + i, 6:20] = 255
        _write(tmp_path / "gt" / f"im{i}.png", gt)
        noisy = np.clip(gt * 0.6 + rng.integers(0, 100, gt.shape), 0, 255).astype(np.uint8)
        _write(tmp_path / "pred" / f"im{i}.png", noisy)
    return tmp_path


@pytest.fixture()
def tiny_fixations(tmp_path: Path) -> Path:
    """Three 48x64 binary fixation maps (the ground truth) and blurred maps of nearby points (predictions)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(1)
    for i in range(3):
        fixated = np.zeros((48, 64), np.uint8)
        rows, cols = rng.integers(8, 40, 6), rng.integers(8, 56, 6)
        fixated[rows, cols] = 255
        _write(tmp_path / "gt" / f"im{i}.png", fixated)
        near = np.zeros((48, 64))
        near[rows + 2, cols - 3] = 1.0
        blurred = gaussian_filter(near, 5.0)
        _write(tmp_path / "pred" / f"im{i}.png", (blurred / blurred.max() * 255).astype(np.uint8))
    return tmp_path


def _evaluate(root: Path, task: str, output: str, *extra: str) -> int:
    return main(["evaluate", "--task", task, "--gt", str(root / "gt"), "--pred", f"model={root / 'pred'}",
                 "--output", str(root / output), "--no-progress", "--workers", "1", *extra])  # fmt: skip


def _report(root: Path, output: str) -> tuple[dict, list[dict]]:
    data = json.loads((root / output / "metrics.json").read_text())
    rows = list(csv.DictReader((root / output / "metrics.csv").open()))
    return data, rows


# --------------------------------------------------------------------------------------------- parsing
def test_metric_names_are_the_accumulators_names_in_table_order():
    assert tuple(evaluate.METRIC_LABELS["sod"]) == sod.SOD_METRICS
    assert tuple(evaluate.METRIC_LABELS["fixation"]) == fixation.ALL_METRICS
    assert evaluate.select_metrics(None, "sod") == sod.SOD_METRICS
    assert evaluate.select_metrics(None, "fixation") == fixation.ALL_METRICS


def test_select_metrics_takes_keys_or_labels_in_any_case_and_orders_them():
    assert evaluate.select_metrics("mae, S-measure,maxF", "sod") == ("s_measure", "max_f", "mae")
    assert evaluate.select_metrics("EMD,auc_judd,sauc,emd,", "fixation") == ("auc_judd", "auc_shuffled", "emd")


@pytest.mark.parametrize(
    ("text", "task", "message"),
    [
        ("mae,auc_judd", "sod", "unknown metric(s) auc_judd for --task sod"),
        ("nss,fmeasure,bogus", "fixation", "unknown metric(s) fmeasure, bogus for --task fixation"),
        (" , ", "sod", "no metric for --task sod"),
    ],
)
def test_select_metrics_rejects_unknown_names_listing_the_valid_ones(text, task, message):
    with pytest.raises(InputError) as raised:
        evaluate.select_metrics(text, task)
    text = str(raised.value)
    assert message in text and "\n" not in text
    valid = sod.SOD_METRICS if task == "sod" else fixation.ALL_METRICS
    assert text.endswith("valid: " + ", ".join(valid))


# ------------------------------------------------------------------------------------------ sod, CLI
def test_sod_reports_only_the_chosen_metrics_with_the_full_runs_values(tiny_sod, capsys):
    assert _evaluate(tiny_sod, "sod", "all") == 0
    assert _evaluate(tiny_sod, "sod", "some", "--metrics", "mae,S-measure,maxF") == 0
    table = capsys.readouterr().out.splitlines()[-3:]  # the second table: header, rule, one row
    assert table[0].split() == ["method", "images", "S-measure", "maxF", "MAE"]
    full, _ = _report(tiny_sod, "all")
    chosen, rows = _report(tiny_sod, "some")
    assert chosen["metrics"] == ["s_measure", "max_f", "mae"]
    summary = chosen["methods"]["model"]["summary"]
    assert list(summary) == ["s_measure", "max_f", "mae"]
    for metric, value in summary.items():
        assert value == full["methods"]["model"]["summary"][metric]
    assert list(rows[0])[4:] == ["s_measure", "max_f", "mae"]
    assert set(chosen["methods"]["model"]["per_image"]["im0"]) == {"s_measure", "mae"}  # per-image ones only


def test_sod_without_weighted_f_does_not_compute_it(tiny_sod, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the weighted F-measure was computed")

    monkeypatch.setattr(sod, "_weighted_f", refuse)
    assert _evaluate(tiny_sod, "sod", "o", "--metrics", "mae,max_e,adaptive_f") == 0
    assert list(_report(tiny_sod, "o")[0]["methods"]["model"]["summary"]) == ["adaptive_f", "max_e", "mae"]
    with pytest.raises(AssertionError, match="weighted F-measure was computed"):  # the guard itself works
        _evaluate(tiny_sod, "sod", "o", "--metrics", "weighted_f")


def test_score_image_without_weighted_f_changes_no_other_score():
    rng = np.random.default_rng(3)
    gt = np.zeros((30, 40), np.uint8)
    gt[5:20, 10:30] = 255
    pred = rng.integers(0, 256, gt.shape).astype(np.uint8)
    for prediction in (pred, pred / 255.0):
        full, skipped = sod.score_image(prediction, gt), sod.score_image(prediction, gt, with_weighted_f=False)
        assert np.isnan(skipped.weighted_f) and full.weighted_f > 0
        for name, value in full.scalars().items():
            if name != "weighted_f":
                assert getattr(skipped, name) == value, name
        np.testing.assert_array_equal(full.e_curve, skipped.e_curve)


def test_sod_accumulator_rejects_unknown_metrics():
    with pytest.raises(InputError, match="valid: s_measure, weighted_f"):
        sod.SODMetrics(metrics=("mae", "nss"))
    with pytest.raises(InputError, match="none given"):
        sod.SODMetrics(metrics=())


# ------------------------------------------------------------------------------------- fixation, CLI
def test_fixation_reports_only_the_chosen_metrics_with_the_full_runs_values(tiny_fixations, capsys):
    assert _evaluate(tiny_fixations, "fixation", "all") == 0
    assert _evaluate(tiny_fixations, "fixation", "some", "--metrics", "cc,AUC-J,emd") == 0
    table = capsys.readouterr().out.splitlines()[-3:]
    assert table[0].split() == ["method", "images", "AUC-J", "CC", "EMD"]
    full, _ = _report(tiny_fixations, "all")
    chosen, rows = _report(tiny_fixations, "some")
    assert list(full["methods"]["model"]["summary"]) == list(fixation.ALL_METRICS)
    assert chosen["metrics"] == ["auc_judd", "cc", "emd"]
    # each image's random draws depend on its name and the metric only, so the values are the full run's
    for name, scores in chosen["methods"]["model"]["per_image"].items():
        assert scores == {m: full["methods"]["model"]["per_image"][name][m] for m in ("auc_judd", "cc", "emd")}
    assert list(rows[0])[4:] == ["auc_judd", "cc", "emd"]


def test_fixation_without_emd_does_not_compute_it(tiny_fixations, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("EMD was computed")

    monkeypatch.setattr(fixation, "_transport_cost", refuse)
    assert _evaluate(tiny_fixations, "fixation", "o", "--metrics", "nss,kl_div,sim") == 0
    assert list(_report(tiny_fixations, "o")[0]["methods"]["model"]["summary"]) == ["nss", "kl_div", "sim"]
    with pytest.raises(AssertionError, match="EMD was computed"):
        _evaluate(tiny_fixations, "fixation", "o", "--metrics", "emd")


@pytest.mark.parametrize(
    ("task", "metrics", "unknown"),
    [("sod", "mae,nss", "nss"), ("fixation", "nss,MAE", "MAE"), ("fixation", ",", None)],
)
def test_unknown_metric_is_a_one_line_error_before_any_work(tiny_sod, capsys, task, metrics, unknown):
    assert _evaluate(tiny_sod, task, "o", "--metrics", metrics) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("gensal evaluate: error: --metrics: ")
    assert (f"unknown metric(s) {unknown}" if unknown else "no metric") in err
    valid = sod.SOD_METRICS if task == "sod" else fixation.ALL_METRICS
    assert err.endswith("valid: " + ", ".join(valid))
    assert not (tiny_sod / "o").exists()  # nothing was read or written


def test_emd_without_pyemd_is_a_one_line_error(tiny_fixations, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "pyemd", None)
    assert _evaluate(tiny_fixations, "fixation", "o", "--metrics", "nss,emd") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'pyemd>=1.1,<2'" in err and "--metrics" in err
    assert _evaluate(tiny_fixations, "fixation", "o", "--metrics", "nss") == 0
