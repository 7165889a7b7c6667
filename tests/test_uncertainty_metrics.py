"""Uncertainty-quality metrics against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from gensal.metrics.uncertainty import (
    auroc,
    average_precision,
    calibration,
    error_detection,
    generalised_energy_distance,
    sample_spread,
    sparsification,
    uncertainty_error_correlation,
)


def test_auroc_by_hand():
    # positives score 3 and 1, negatives 2 and 0: pairs (3>2, 3>0, 1<2, 1>0) -> 3 of 4
    assert auroc(np.array([3, 2, 1, 0]), np.array([1, 0, 1, 0])) == pytest.approx(0.75)
    assert auroc(np.array([1, 1, 1, 1]), np.array([1, 0, 1, 0])) == pytest.approx(0.5)  # ties count half
    assert np.isnan(auroc(np.array([1, 2]), np.array([1, 1])))


def test_average_precision_by_hand():
    # ranking: pos (P=1), neg, pos (P=2/3): AP = (1 + 2/3) / 2
    assert average_precision(np.array([3, 2, 1, 0]), np.array([1, 0, 1, 0])) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision(np.array([5, 4, 0]), np.array([1, 1, 0])) == pytest.approx(1.0)


def test_error_detection_finds_the_wrong_pixels():
    mean_map = np.array([[0.9, 0.9], [0.1, 0.1]])
    gt = np.array([[1, 0], [0, 1]], dtype=float)  # wrong at (0, 1) and (1, 1)
    perfect = error_detection(mean_map, np.array([[0.0, 1.0], [0.0, 1.0]]), gt)
    assert perfect == {"auroc": 1.0, "aupr": 1.0, "error_rate": 0.5}
    backwards = error_detection(mean_map, np.array([[1.0, 0.0], [1.0, 0.0]]), gt)
    assert backwards["auroc"] == 0.0


def test_calibration_by_hand():
    # two bins used: p = 0.1 (2 pixels, 1 salient: accuracy .5) and p = 0.9 (2 pixels, both salient)
    p = np.array([[0.1, 0.1], [0.9, 0.9]])
    gt = np.array([[1, 0], [1, 1]], dtype=float)
    result = calibration(p, gt, bins=10)
    assert result["ece"] == pytest.approx(0.5 * abs(0.5 - 0.1) + 0.5 * abs(1.0 - 0.9))
    assert result["counts"][1] == 2 and result["counts"][9] == 2
    assert calibration(np.array([[0.0, 1.0]]), np.array([[0, 255]]), bins=15)["ece"] == pytest.approx(0.0)


def test_sparsification_oracle_gives_zero_and_a_bad_order_a_positive_area():
    error = np.array([[0.9, 0.5], [0.1, 0.0]])
    assert sparsification(error, error, steps=4)["ause"] == pytest.approx(0.0)
    bad = sparsification(-error, error, steps=4)
    # removing 0, 1, 2, 3 of 4 pixels, largest error first (oracle) or smallest first (the reversed order)
    total = 1.5 / 4
    oracle = np.array([1.5 / 4, 0.6 / 3, 0.1 / 2, 0.0]) / total
    worst = np.array([1.5 / 4, 1.5 / 3, 1.4 / 2, 0.9]) / total
    assert bad["ause"] == pytest.approx(np.mean(worst - oracle))


def test_generalised_energy_distance_and_spread():
    gt = np.array([[1, 1], [0, 0]], dtype=float)
    exact = np.stack([gt, gt])
    assert generalised_energy_distance(exact, gt) == pytest.approx(0.0)
    assert sample_spread(exact) == 0.0
    # one sample right, one covering everything: d(S1, Y) = 0, d(S2, Y) = 1 - 2/4 = .5, d(S1, S2) = .5
    samples = np.stack([gt, np.ones((2, 2))])
    assert generalised_energy_distance(samples, gt) == pytest.approx(2 * 0.25 - (0 + 0.5 + 0.5 + 0) / 4)
    assert sample_spread(samples) == pytest.approx(0.25)  # std of {0, 1} on half of the pixels


def test_uncertainty_error_correlation():
    assert uncertainty_error_correlation(np.array([1.0, 2, 3]), np.array([0.1, 0.2, 0.3])) == pytest.approx(1.0)
    assert np.isnan(uncertainty_error_correlation(np.array([1.0, 1.0]), np.array([0.1, 0.2])))
    with pytest.raises(ValueError):
        uncertainty_error_correlation(np.ones(3), np.ones(2))
