"""Fixation metrics: MIT-benchmark parity (Octave reference values), hand-computed and analytic cases,
our conventions where pysaliency differs, and the data-set evaluator."""

from __future__ import annotations

import importlib.util
import json
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from gensal.data.fixations import Fixations, fixation_density
from gensal.errors import ConfigError, InputError
from gensal.metrics import fixation
from gensal.metrics.fixation import (
    ALL_METRICS,
    EMD_SOLVERS,
    EPS,
    FixationEvaluator,
    _transport_cost,
    auc_borji,
    auc_judd,
    auc_shuffled,
    borji_negative_indices,
    cc,
    center_bias,
    density_from_log,
    emd,
    info_gain,
    kl_div,
    nss,
    resize_map,
    shuffled_negative_choice,
    sim,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "mit_reference"


def _load_cases():
    spec = importlib.util.spec_from_file_location("mit_reference_cases", FIXTURE / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cases = _load_cases()
REFERENCE = json.loads(cases.REFERENCE_FILE.read_text())
POINTS = cases.load_points()


def _fixations(points: dict, subjects: tuple[int, ...]) -> Fixations:
    """gensal's view of the fixture points: 1-based file coordinates minus one."""
    x, y = cases.subject_points(points, subjects)
    return Fixations("case", cases.HEIGHT, cases.WIDTH, x - 1.0, y - 1.0)


# ------------------------------------------------------------------------------------- MIT / Octave parity
@pytest.fixture(scope="module", params=cases.IMAGES)
def mit_case(request):
    name = request.param
    fix = _fixations(POINTS[name], cases.GT_SUBJECTS)
    other_x, other_y = cases.other_points(POINTS, name)
    other = Fixations("other", cases.HEIGHT, cases.WIDTH, other_x - 1.0, other_y - 1.0)
    return {
        "name": name,
        "fixation_map": fix.to_fixation_map(),
        "density": fixation_density(fix),
        "other_map": other.to_fixation_map(),
        "baseline": cases.baseline_map(other_x, other_y),
        "models": cases.model_maps(POINTS[name]),
        "reference": REFERENCE["images"][name],
    }


def test_ground_truth_maps_match_octave(mit_case):
    checks = mit_case["reference"]["checks"]
    fixated_rows, fixated_cols = np.nonzero(mit_case["fixation_map"])
    assert fixated_rows.size == checks["fixated"]
    assert np.sum(fixated_cols * cases.HEIGHT + fixated_rows + 1) == checks["fixated_index_sum"]
    other_rows, other_cols = np.nonzero(mit_case["other_map"])
    assert other_rows.size == checks["other_fixated"]
    assert np.sum(other_cols * cases.HEIGHT + other_rows + 1) == checks["other_index_sum"]
    density = mit_case["density"] * checks["density_max"]  # gensal's map has maximum 1
    np.testing.assert_allclose(density.sum(), checks["density_sum"], rtol=1e-12)
    for row, col in ((100, 100), (300, 400), (500, 700)):
        np.testing.assert_allclose(density[row - 1, col - 1], checks[f"density_{row}_{col}"], rtol=1e-9, atol=1e-15)


def _gensal_scores(case: dict, model: str) -> dict[str, float]:
    saliency, fixated, name = case["models"][model], case["fixation_map"], case["name"]
    scores = {
        "auc_judd_no_jitter": auc_judd(saliency, fixated, jitter=False),
        "auc_judd": auc_judd(saliency, fixated, rng=cases.rng(name, model, "auc_judd")),
        "auc_borji": auc_borji(saliency, fixated, rng=cases.rng(name, model, "auc_borji")),
        "auc_shuffled": auc_shuffled(saliency, fixated, case["other_map"], rng=cases.rng(name, model, "auc_shuffled")),
        "nss": nss(saliency, fixated),
        "cc": cc(saliency, case["density"]),
        "kl_div": kl_div(saliency, case["density"]),
        "sim": sim(saliency, case["density"]),
        "info_gain": info_gain(saliency, fixated, case["baseline"]),
    }
    if case["reference"]["scores"][model]["emd"] is not None:
        scores["emd"] = emd(saliency, case["density"])
    return scores


@pytest.mark.parametrize("model", cases.MODELS)
def test_metrics_match_mit_matlab_code_in_octave(mit_case, model):
    reference = mit_case["reference"]["scores"][model]
    scores = _gensal_scores(mit_case, model)
    saliency = mit_case["models"][model]
    overshoot = (
        resize_map(saliency, mit_case["fixation_map"].shape).min() < 0 if saliency.shape != (600, 800) else False
    )
    for metric, value in scores.items():
        if metric == "kl_div" and overshoot:
            # bicubic enlarging undershoots zero; MATLAB then takes the log of a negative number (complex
            # result), gensal clips the resized map at 0 (docs/metrics.md)
            clipped = np.maximum(resize_map(saliency, mit_case["density"].shape), 0)
            assert value == kl_div(clipped, mit_case["density"])
            continue
        # EMD: both sides solve the transport problem exactly (gensal: pyemd's network simplex; the fixture:
        # GLPK in place of FastEMD's MEX file); the shrunk saliency map differs by ~5e-7 because Octave's
        # imresize does not renormalise its kernel weights (MATLAB's and gensal's do)
        tolerance = 2e-6 if metric == "emd" else 1e-6
        assert value == pytest.approx(reference[metric], abs=tolerance), metric
    # With Octave's own random jitter AUC-Judd agrees only statistically: where the map has no ties the
    # jitter changes nothing (1e-3); large tied regions (exact zeros) are ordered at random, and the score
    # itself then varies by up to ~1e-2 between draws.
    spread = 1e-3 if model == "center" else 2e-2
    assert scores["auc_judd"] == pytest.approx(reference["auc_judd_octave_rand"], abs=spread)


def test_resize_matches_octave_imresize():
    image = cases.resize_input()
    for case in REFERENCE["resize"]:
        expected = np.array(case["values"])
        np.testing.assert_allclose(resize_map(image, tuple(case["shape"]), method=case["method"]), expected, atol=1e-12)


def test_resize_scale_and_size_conventions():
    image = np.arange(600 * 800, dtype=float).reshape(600, 800)
    assert resize_map(image, scale=1 / 32).shape == (19, 25)  # ceil, as imresize
    np.testing.assert_array_equal(resize_map(image, (600, 800)), image)
    # antialiased shrinking: the triangle kernel is twice as wide, weights 1/8, 3/8, 3/8, 1/8, and the
    # border is mirrored (0, 0, 1, 2 -> 0.625)
    ramp = np.tile(np.arange(8.0), (3, 1))
    np.testing.assert_allclose(resize_map(ramp, scale=0.5, method="bilinear")[0], [0.625, 2.5, 4.5, 6.375])
    np.testing.assert_allclose(resize_map(ramp, scale=0.5, method="bilinear", antialias=False)[0], [0.5, 2.5, 4.5, 6.5])
    with pytest.raises(InputError, match="exactly one of"):
        resize_map(image)
    with pytest.raises(InputError, match="unknown resize method 'nearest'"):
        resize_map(image, (3, 3), method="nearest")


# ------------------------------------------------------------------------------------- hand-computed cases
RAMP = np.arange(16, dtype=float).reshape(4, 4)


def _fixation_map(shape, *pixels) -> np.ndarray:
    fixated = np.zeros(shape, dtype=bool)
    for row, col in pixels:
        fixated[row, col] = True
    return fixated


def test_nss_by_hand():
    fixated = _fixation_map((4, 4), (3, 3), (3, 2))  # values 15 and 14; mean 7.5; sample std sqrt(340 / 15)
    assert nss(RAMP, fixated) == pytest.approx(7.0 / np.sqrt(340 / 15), abs=1e-12)


def test_auc_judd_by_hand():
    # positives 15, 14, 5 of 0..15: ROC points (0,0) (0,1/3) (0,2/3) (8/13,1) (1,1) -> 35/39
    fixated = _fixation_map((4, 4), (3, 3), (3, 2), (1, 1))
    assert auc_judd(RAMP, fixated, jitter=False) == pytest.approx(35 / 39, abs=1e-12)


def test_auc_shuffled_by_hand_with_ties_on_thresholds():
    # positives 15/15 and 10/15, negatives 12/15 = 0.8 and 3/15 = 0.2, which lie exactly on the thresholds
    # 8 * 0.1 and 2 * 0.1 and so count as above them: ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1) -> 0.75
    fixated = _fixation_map((4, 4), (3, 3), (2, 2))
    other = _fixation_map((4, 4), (3, 0), (0, 3))
    assert auc_shuffled(RAMP, fixated, other, rng=0) == pytest.approx(0.75, abs=1e-12)


def test_auc_borji_by_hand():
    # one positive at the maximum: a split scores 1 if its negative is below it, 0.5 if it drew that pixel
    saliency = np.array([[1.0, 0.55], [0.25, 0.0]])
    fixated = _fixation_map((2, 2), (0, 0))
    drawn = borji_negative_indices(np.random.default_rng(3), 4, 1, 100)
    assert auc_borji(saliency, fixated, rng=3) == pytest.approx(np.mean(np.where(drawn[:, 0] == 0, 0.5, 1.0)))


def test_cc_by_hand():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert cc(a, 2 * a + 1) == pytest.approx(1.0)
    assert cc(a, -a) == pytest.approx(-1.0)
    assert cc(a, np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx(-1.5 / np.sqrt(5 * 0.75))


def test_kl_by_hand():
    uniform = np.ones((2, 2))
    diagonal = np.array([[1.0, 0.0], [0.0, 1.0]])
    expected = 2 * 0.5 * np.log(EPS + 0.5 / (0.25 + EPS))
    assert kl_div(uniform, diagonal) == pytest.approx(expected, abs=1e-15)
    assert kl_div(uniform, diagonal) == pytest.approx(np.log(2), abs=1e-12)
    # a zero where the ground truth has mass costs log(q / eps) per unit of mass
    assert kl_div(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])) == pytest.approx(
        0.5 * np.log(EPS + 0.5 / (1 + EPS)) + 0.5 * np.log(EPS + 0.5 / EPS)
    )


def test_sim_by_hand():
    # min-max then sum-normalise: [0, 1/6, 1/3, 1/2] against [1/2, 1/3, 1/6, 0]
    assert sim(np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[3.0, 2.0], [1.0, 0.0]])) == pytest.approx(1 / 3)


def test_info_gain_by_hand():
    saliency = np.array([[0.0, 1.0], [1.0, 2.0]])  # -> [0, .25, .25, .5]
    baseline = np.array([[1.0, 1.0], [1.0, 2.0]])  # -> [0, 0, 0, 1]
    assert info_gain(saliency, _fixation_map((2, 2), (1, 1)), baseline) == pytest.approx(-1.0)
    expected = (np.log2(EPS + 0.25) - np.log2(EPS) - 1.0) / 2
    assert info_gain(saliency, _fixation_map((2, 2), (1, 1), (0, 1)), baseline) == pytest.approx(expected)


def test_emd_by_hand():
    corner = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert emd(corner, np.array([[0.0, 0.0], [0.0, 1.0]]), downsize=1) == pytest.approx(np.sqrt(2))
    assert emd(corner, np.array([[0.0, 0.5], [0.5, 0.0]]), downsize=1) == pytest.approx(1.0)
    assert emd(np.array([[3.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 1.0]]), downsize=1) == pytest.approx(2.0)


def _point(shape: tuple[int, int], *cells: tuple[int, int]) -> np.ndarray:
    mass = np.zeros(shape)
    for cell in cells:
        mass[cell] += 1.0
    return mass


@pytest.mark.parametrize("solver", EMD_SOLVERS)
def test_emd_moves_mass_by_hand(solver):
    # FastEMD rounds masses and distances to 1e-6 of their largest value, hence its tolerance
    tolerance = 1e-12 if solver == "exact" else 1e-5
    grid = (5, 6)
    one_pixel = emd(_point(grid, (2, 3)), _point(grid, (2, 2)), downsize=1, solver=solver)
    assert one_pixel == pytest.approx(1.0, rel=tolerance)
    assert emd(_point(grid, (2, 3)), _point(grid, (3, 2)), downsize=1, solver=solver) == pytest.approx(
        np.sqrt(2), rel=tolerance
    )
    # half the mass moves one pixel down, the other half stays
    half = emd(_point(grid, (1, 1), (2, 1)), _point(grid, (1, 1), (1, 1)), downsize=1, solver=solver)
    assert half == pytest.approx(0.5, rel=tolerance)
    # a point spread evenly onto its four neighbours: every quarter moves one pixel
    spread = emd(_point(grid, (1, 2), (3, 2), (2, 1), (2, 3)), _point(grid, (2, 2)), downsize=1, solver=solver)
    assert spread == pytest.approx(1.0, rel=tolerance)
    # the ground distance is not thresholded: across the whole grid costs the full Euclidean distance
    far = emd(_point(grid, (0, 0)), _point(grid, (4, 5)), downsize=1, solver=solver)
    assert far == pytest.approx(np.hypot(4, 5), rel=tolerance)
    # each map is normalised to mass 1
    assert emd(7.0 * _point(grid, (2, 3)), _point(grid, (2, 2)), downsize=1, solver=solver) == pytest.approx(
        1.0, rel=tolerance
    )


def test_emd_is_measured_in_cells_of_the_shrunk_grid():
    rows, cols = np.mgrid[0:256, 0:320]

    def blob(row, col):
        return np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * 24.0**2))

    # a smooth blob moved by 32 px moves by one cell of the 1/32 grid (resizing blurs it by about 1%)
    assert emd(blob(128, 160), blob(128, 128)) == pytest.approx(1.0, rel=0.02)
    assert emd(blob(128, 192), blob(128, 128)) == pytest.approx(2.0, rel=0.02)
    assert emd(blob(160, 160), blob(128, 128)) == pytest.approx(np.sqrt(2), rel=0.02)


def test_emd_bicubic_undershoot_adds_to_demand():
    # like FastEMD's pre-flow: a negative cell (bicubic undershoot) needs its deficit filled, here from the
    # neighbour's surplus of 0.1
    source = np.array([[0.5, 0.6, -0.1]])
    target = np.array([[0.5, 0.5, 0.0]])
    assert _transport_cost(source, target, "exact") == pytest.approx(0.1, rel=1e-12)
    assert _transport_cost(source, target, "fastemd") == pytest.approx(0.1, rel=1e-5)


def test_fastemd_agrees_with_the_exact_solver_on_osie(real_case):
    _, density, _ = real_case
    saliency = cases.model_maps(POINTS[cases.IMAGES[0]])["subjects"]
    # a 10x13 grid keeps FastEMD fast; its rounding moves the EMD by up to 6e-5 relative on the fixture
    exact = emd(saliency, density, downsize=64)
    assert emd(saliency, density, downsize=64, solver="fastemd") == pytest.approx(exact, rel=2e-4)


def test_emd_solver_errors(monkeypatch):
    with pytest.raises(InputError, match="unknown EMD solver 'lp'; choose one of exact, fastemd"):
        emd(RAMP, RAMP, downsize=1, solver="lp")

    class StoppedEarly:
        __version__ = "1.1.0"

        @staticmethod
        def emd(*args, **kwargs):
            warnings.warn("numItermax reached before optimality.", UserWarning, stacklevel=2)
            return 0.0

    # a transport plan cut short by POT's iteration limit never becomes a score
    monkeypatch.setattr(fixation, "_pyemd", lambda: StoppedEarly)
    with pytest.raises(InputError, match="too large for the transport solver"):
        emd(RAMP, RAMP[::-1], downsize=1)


@pytest.mark.parametrize("installed", [None, "0.5.1"])
def test_emd_without_pyemd_is_a_clear_error(monkeypatch, installed):
    import sys
    import types

    old = None if installed is None else types.SimpleNamespace(__version__=installed)
    monkeypatch.setitem(sys.modules, "pyemd", old)  # None makes the import fail
    with pytest.raises(ConfigError, match=r"pip install 'pyemd>=1.1,<2'"):
        emd(RAMP, RAMP[::-1], downsize=1)
    with pytest.raises(ConfigError, match="pyemd"):
        FixationEvaluator({"a": Fixations("a", 4, 4, np.array([1.0]), np.array([1.0]))}, metrics=("nss", "emd"))
    FixationEvaluator({"a": Fixations("a", 4, 4, np.array([1.0]), np.array([1.0]))}, metrics=("nss",))


# ------------------------------------------------------------------------------------------ analytic cases
@pytest.fixture(scope="module")
def real_case():
    name = cases.IMAGES[0]
    fix = _fixations(POINTS[name], cases.GT_SUBJECTS)
    other_x, other_y = cases.other_points(POINTS, name)
    other = Fixations("other", cases.HEIGHT, cases.WIDTH, other_x - 1.0, other_y - 1.0)
    return fix.to_fixation_map(), fixation_density(fix), other.to_fixation_map()


def test_constant_map_scores_chance(real_case):
    fixated, density, other = real_case
    constant = np.full(fixated.shape, 0.3)
    assert auc_judd(constant, fixated, jitter=False) == 0.5
    # with jitter the map is uniform noise: 0.5 on average (one draw varies by ~0.04 with 78 fixated pixels)
    assert np.mean([auc_judd(constant, fixated, rng=seed) for seed in range(10)]) == pytest.approx(0.5, abs=0.04)
    assert auc_borji(constant, fixated, rng=0) == 0.5
    assert auc_shuffled(constant, fixated, other, rng=0) == 0.5
    assert nss(constant, fixated) == 0.0
    assert cc(constant, density) == 0.0
    assert sim(constant, density) == pytest.approx(np.minimum(1 / density.size, density / density.sum()).sum())
    assert info_gain(constant, fixated, constant) == 0.0


def test_identical_distributions(real_case):
    _, density, _ = real_case
    # eps in q / (p + eps) makes the terms of near-zero pixels slightly negative (MATLAB does the same)
    assert kl_div(density, density) == pytest.approx(0.0, abs=1e-9)
    assert sim(density, density) == pytest.approx(1.0)
    assert cc(density, density) == pytest.approx(1.0)
    square = np.zeros((480, 640))  # sides multiples of 32: both maps land on the same 15x20 grid
    square[200:260, 300:380] = 1.0
    assert emd(square, square) == pytest.approx(0.0, abs=1e-12)


def test_emd_reproduces_the_mit_grid_quirk(real_case):
    # EMD.m shrinks the fixation map with imresize(G, 1/32) (rows sampled every 32 px) but the saliency map
    # with imresize(S, [19 25]) (rows every 600/19 px): for 600-row images even identical maps differ
    # (the exact transport cost: POT's network simplex, and HiGHS with feasibility tolerances of 1e-10, agree
    # to 3e-10; HiGHS with its default 1e-7 tolerances, gensal's solver before pyemd, gave 0.1173327)
    _, density, _ = real_case
    assert emd(density, density) == pytest.approx(0.11733533015, abs=1e-9)
    assert resize_map(density, scale=1 / 32).shape == (19, 25)


def test_scores_are_invariant_to_positive_affine_changes(real_case):
    fixated, density, other = real_case
    saliency = cases.model_maps(POINTS[cases.IMAGES[0]])["subjects"]
    scaled = 7.0 * saliency + 3.0
    assert auc_judd(scaled, fixated, jitter=False) == pytest.approx(auc_judd(saliency, fixated, jitter=False))
    assert auc_borji(scaled, fixated, rng=1) == pytest.approx(auc_borji(saliency, fixated, rng=1))
    assert auc_shuffled(scaled, fixated, other, rng=1) == pytest.approx(auc_shuffled(saliency, fixated, other, rng=1))
    assert nss(scaled, fixated) == pytest.approx(nss(saliency, fixated))
    assert cc(scaled, density) == pytest.approx(cc(saliency, density))
    assert sim(scaled, density) == pytest.approx(sim(saliency, density))


def test_good_model_beats_centre_bias(real_case):
    fixated, density, other = real_case
    model = cases.model_maps(POINTS[cases.IMAGES[0]])["subjects"]
    model = model + 0.01 * model.max()  # no exact zeros, which KL punishes with log(q / eps)
    centre = center_bias(*fixated.shape)
    assert auc_shuffled(model, fixated, other, rng=0) > auc_shuffled(centre, fixated, other, rng=0)
    assert nss(model, fixated) > nss(centre, fixated) > 0
    assert kl_div(model, density) < kl_div(centre, density)
    assert emd(model, density) < emd(centre, density)
    # information gain: the centre bias beats a uniform map on OSIE
    assert info_gain(centre, fixated, np.ones(fixated.shape)) > 0


def test_random_metrics_are_seeded(real_case):
    fixated, _, other = real_case
    saliency = center_bias(*fixated.shape)
    assert auc_borji(saliency, fixated, rng=5) == auc_borji(saliency, fixated, rng=np.random.default_rng(5))
    assert auc_borji(saliency, fixated, rng=5) != auc_borji(saliency, fixated, rng=6)
    assert auc_shuffled(saliency, fixated, other, rng=5) == auc_shuffled(saliency, fixated, other, rng=5)
    choice = shuffled_negative_choice(np.random.default_rng(0), 50, 20, 100)
    assert choice.shape == (100, 20) and all(len(set(row)) == 20 for row in choice)


def test_smaller_saliency_map_is_resized_bicubically(real_case):
    fixated, density, _ = real_case
    small = cases.model_maps(POINTS[cases.IMAGES[0]])["small"]
    full = resize_map(small, fixated.shape, method="bicubic")
    assert nss(small, fixated) == nss(full, fixated)
    assert cc(small, density) == cc(full, density)


def test_center_bias_and_log_density():
    centre = center_bias(60, 80, sigma_fraction=0.25)
    assert centre.shape == (60, 80)
    np.testing.assert_allclose(centre, centre[::-1, ::-1])
    assert centre.max() == pytest.approx(np.exp(-((0.5 / 60) ** 2) * 8 - (0.5 / 80) ** 2 * 8))
    # one standard deviation (a quarter of the width) right of the centre
    assert center_bias(1, 4000)[0, 2999] == pytest.approx(np.exp(-0.5 * ((2999.5 / 4000 - 0.5) / 0.25) ** 2))
    log_density = np.log(np.array([[1.0, 2.0], [3.0, 4.0]])) + 100.0
    np.testing.assert_allclose(density_from_log(log_density), [[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_allclose(density_from_log(np.array([[0.0, -np.inf]])), [[1.0, 0.0]])
    with pytest.raises(InputError, match="NaN"):
        density_from_log(np.array([[np.nan, 0.0]]))


def test_bad_inputs_raise_clear_errors():
    fixated = _fixation_map((4, 4), (1, 1))
    with pytest.raises(InputError, match="no fixations"):
        nss(RAMP, np.zeros((4, 4)))
    with pytest.raises(InputError, match="NaN or infinite"):
        nss(np.full((4, 4), np.nan), fixated)
    with pytest.raises(InputError, match=r"must have shape \(H, W\)"):
        auc_judd(np.zeros((4, 4, 3)), fixated)
    with pytest.raises(InputError, match="negative values"):
        kl_div(RAMP - 5, RAMP)
    with pytest.raises(InputError, match="no mass"):
        emd(np.zeros((4, 4)), RAMP, downsize=1)
    with pytest.raises(InputError, match="other map has no fixations"):
        auc_shuffled(RAMP, fixated, np.zeros((4, 4)))
    with pytest.raises(InputError, match="other map has size"):
        auc_shuffled(RAMP, fixated, np.ones((3, 4)))
    with pytest.raises(InputError, match="every pixel"):
        auc_judd(RAMP, np.ones((4, 4)), jitter=False)


# --------------------------------------------------------------------- pysaliency, where conventions agree
@pytest.fixture(scope="module")
def pysaliency():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysaliency imports the deprecated pkg_resources
        return pytest.importorskip("pysaliency")


def _unique_pixels(fixated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(fixated)
    return cols, rows


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning")  # inside pysaliency
def test_cc_and_kl_equal_pysaliency(pysaliency, real_case):
    _, density, _ = real_case
    models = cases.model_maps(POINTS[cases.IMAGES[0]])
    for saliency in (models["center"], models["subjects"], models["quantized"]):
        assert cc(saliency, density) == pytest.approx(pysaliency.metrics.CC(saliency, density), abs=1e-12)
    # pysaliency rounds MATLAB's eps to 2.2204e-16: equal unless the map has zeros where fixations are,
    # where the log(q / eps) terms move by log(2.220446 / 2.2204) = 2e-5 nats
    assert kl_div(models["center"], density) == pytest.approx(
        pysaliency.metrics.MIT_KLDiv(models["center"], density), abs=1e-9
    )
    assert kl_div(models["subjects"], density) == pytest.approx(
        pysaliency.metrics.MIT_KLDiv(models["subjects"], density), rel=2e-5
    )


def test_sim_differs_from_pysaliency_by_the_min_max_step(pysaliency, real_case):
    _, density, _ = real_case
    centre = center_bias(*density.shape)  # minimum > 0: pysaliency only divides by the sum
    ours = sim(centre, density)
    assert ours == pytest.approx(pysaliency.metrics.SIM(centre - centre.min(), density - density.min()), abs=1e-12)
    assert abs(ours - pysaliency.metrics.SIM(centre, density)) > 1e-3


def test_nss_differs_from_pysaliency_by_ddof_and_duplicates(pysaliency, real_case):
    fixated, _, _ = real_case
    centre = center_bias(*fixated.shape)
    xs, ys = _unique_pixels(fixated)
    per_fixation = pysaliency.metrics.NSS(centre, xs, ys)  # population std, one value per fixation
    n_pixels = centre.size
    assert nss(centre, fixated) == pytest.approx(per_fixation.mean() * np.sqrt((n_pixels - 1) / n_pixels), abs=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning")  # inside pysaliency
def test_auc_judd_equals_pysaliency_without_jitter_on_unique_pixels(pysaliency, real_case):
    fixated, _, _ = real_case
    height, width = fixated.shape
    untied = center_bias(height, width) + 1e-9 * np.arange(height * width).reshape(height, width)

    class Fixed(pysaliency.SaliencyMapModel):
        def _saliency_map(self, stimulus):
            return untied

    stimuli = pysaliency.Stimuli([np.zeros((height, width, 3), dtype=np.uint8)])
    xs, ys = _unique_pixels(fixated)
    fixations = pysaliency.Fixations.create_without_history(xs.astype(float), ys.astype(float), np.zeros(xs.size, int))
    expected = Fixed(caching=False).AUC_Judd(stimuli, fixations, jitter=False)
    assert auc_judd(untied, fixated, jitter=False) == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------------------------------------ evaluator
def _toy_fixations() -> dict[str, Fixations]:
    rng = np.random.default_rng(0)
    result = {}
    for index in range(12):
        count = 5 + index
        result[f"im{index:02d}"] = Fixations(
            f"im{index:02d}", 30, 40, rng.uniform(0, 39, count), rng.uniform(0, 29, count), np.arange(count) % 3
        )
    return result


def _toy_map(name: str) -> np.ndarray:
    rng = np.random.default_rng(int(name[2:]))
    return np.clip(center_bias(30, 40) + 0.3 * rng.random((30, 40)), 0, None)


def test_evaluator_summary_is_the_mean_of_per_image_scores():
    fixations = _toy_fixations()
    evaluator = FixationEvaluator(fixations, seed=1)
    for name in fixations:
        scores = evaluator.update(name, _toy_map(name))
        assert set(scores) == set(ALL_METRICS)
    per_image = evaluator.per_image()
    assert list(per_image) == list(fixations)
    summary = evaluator.summary()
    for metric in ALL_METRICS:
        assert summary[metric] == pytest.approx(np.mean([s[metric] for s in per_image.values()]))
    evaluator.reset()
    with pytest.raises(InputError, match="no image evaluated"):
        evaluator.summary()


def test_evaluator_uses_the_metric_functions_with_documented_inputs():
    fixations = _toy_fixations()
    name = "im03"
    evaluator = FixationEvaluator(fixations, seed=4, sigma=3.0)
    scores = evaluator.update(name, _toy_map(name))
    fix = fixations[name]
    fixated, density = fix.to_fixation_map(), fixation_density(fix, 3.0)
    assert scores["nss"] == nss(_toy_map(name), fixated)
    assert scores["cc"] == cc(_toy_map(name), density)
    assert scores["info_gain"] == info_gain(_toy_map(name), fixated, center_bias(30, 40))
    assert scores["auc_shuffled"] == auc_shuffled(
        _toy_map(name), fixated, evaluator.other_map(name), rng=np.random.default_rng([4, zlib.crc32(b"im03"), 3])
    )


def test_evaluator_is_independent_of_order_and_metric_selection():
    fixations = _toy_fixations()
    forward = FixationEvaluator(fixations, seed=2)
    backward = FixationEvaluator(fixations, seed=2, metrics=("auc_shuffled", "auc_borji", "auc_judd"))
    for name in fixations:
        forward.update(name, _toy_map(name))
    for name in reversed(list(fixations)):
        backward.update(name, _toy_map(name))
    for name in fixations:
        for metric in ("auc_judd", "auc_borji", "auc_shuffled"):
            assert forward.per_image()[name][metric] == backward.per_image()[name][metric]
    other_seed = FixationEvaluator(fixations, seed=3, metrics=("auc_borji",))
    other_seed.update("im00", _toy_map("im00"))
    assert other_seed.per_image()["im00"]["auc_borji"] != forward.per_image()["im00"]["auc_borji"]


def test_evaluator_other_map_pools_other_images():
    fixations = {
        f"im{k}": Fixations(f"im{k}", 10, 20, [float(k)], [float(k % 10)]) for k in range(15)
    }  # one distinct pixel per image
    evaluator = FixationEvaluator(fixations, metrics=("auc_shuffled",), n_other_images=10)
    other = evaluator.other_map("im3")
    assert other.sum() == 10 and not other[3, 3]
    shrunk = dict(fixations, im3=Fixations("im3", 5, 10, [1.0], [1.0]))
    assert FixationEvaluator(shrunk, metrics=("auc_shuffled",)).other_map("im3").shape == (5, 10)


def test_evaluator_resizes_bilinearly_and_accepts_densities():
    fixations = _toy_fixations()
    small = _toy_map("im05")[::2, ::2]
    direct = FixationEvaluator(fixations, metrics=("nss", "kl_div"))
    resized = direct.update("im05", small)
    expected = FixationEvaluator(fixations, metrics=("nss", "kl_div")).update(
        "im05", resize_map(small, (30, 40), method="bilinear")
    )
    assert resized == expected
    log_density = np.log(_toy_map("im06") + 1e-3)
    scores = direct.update("im06", density_from_log(log_density))
    assert np.isfinite(list(scores.values())).all()
    with pytest.raises(InputError, match="negative values.*density_from_log"):
        direct.update("im07", log_density)
    bicubic = FixationEvaluator(fixations, metrics=("kl_div",), resize_method="bicubic")
    sharp = np.zeros((15, 20))
    sharp[5:9, 5:9] = 1.0  # bicubic enlarging undershoots below zero around the square
    assert np.isfinite(bicubic.update("im07", sharp)["kl_div"])


def test_evaluator_errors():
    fixations = _toy_fixations()
    with pytest.raises(InputError, match="unknown fixation metric.*valid: auc_judd"):
        FixationEvaluator(fixations, metrics=("auc",))
    with pytest.raises(InputError, match="info_gain needs a baseline"):
        FixationEvaluator(fixations, baseline=None)
    with pytest.raises(InputError, match="at least one image"):
        FixationEvaluator({})
    with pytest.raises(InputError, match="two images"):
        FixationEvaluator({"im00": fixations["im00"]}, metrics=("auc_shuffled",))
    evaluator = FixationEvaluator(fixations, metrics=("nss",), baseline=None)
    with pytest.raises(InputError, match="no fixations for image 'nope'"):
        evaluator.update("nope", _toy_map("im00"))
    evaluator.update("im00", _toy_map("im00"))
    with pytest.raises(InputError, match="already evaluated"):
        evaluator.update("im00", _toy_map("im00"))
    empty = dict(fixations, bare=Fixations("bare", 30, 40, [], []))
    with pytest.raises(InputError, match="'bare' has no fixations"):
        FixationEvaluator(empty, metrics=("nss",)).update("bare", _toy_map("im00"))


# ------------------------------------------------------------------------------ fast paths vs plain versions
def _plain_auc_judd(saliency: np.ndarray, fixated: np.ndarray, draws: np.ndarray | None) -> float:
    """AUC_Judd.m line by line: one full comparison of the map per fixated threshold."""
    if draws is not None:
        saliency = saliency + draws / 10_000_000
    normalised = ((saliency - saliency.min()) / (saliency.max() - saliency.min())).ravel()
    thresholds = np.sort(normalised[fixated.ravel()])[::-1]
    n_fixated, n_pixels = thresholds.size, normalised.size
    tp, fp = [0.0], [0.0]
    for rank, threshold in enumerate(thresholds, start=1):
        tp.append(rank / n_fixated)
        fp.append((np.count_nonzero(normalised >= threshold) - rank) / (n_pixels - n_fixated))
    tp.append(1.0)
    fp.append(1.0)
    return float(np.trapezoid(tp, fp))


def _tied_map(rng: np.random.Generator, shape: tuple[int, int], levels: int) -> np.ndarray:
    """A map with large ties: a few grey levels, and an exactly-zero region."""
    saliency = np.round(rng.random(shape) * levels) / levels
    saliency[: shape[0] // 3] = 0.0
    return saliency


@pytest.mark.parametrize("levels", [3, 255, 0])
def test_fast_auc_judd_equals_the_plain_definition(levels):
    rng = np.random.default_rng(levels)
    for trial in range(4):
        shape = (37, 53)
        saliency = _tied_map(rng, shape, levels) if levels else rng.random(shape)
        fixated = rng.random(shape) < 0.05
        fixated[0, :3] = True  # fixated pixels inside the zero region: tied thresholds at the minimum
        expected = _plain_auc_judd(saliency, fixated, None)
        assert auc_judd(saliency, fixated, jitter=False) == pytest.approx(expected, abs=1e-14)
        draws = np.random.default_rng(trial).random(shape)  # judd_jitter_draws(rng, shape)
        expected = _plain_auc_judd(saliency, fixated, draws)
        assert auc_judd(saliency, fixated, rng=trial) == pytest.approx(expected, abs=1e-14)


def test_count_at_least_is_exact_with_ties_and_shared_buckets():
    from gensal.metrics.fixation import _count_at_least, _Scratch

    rng = np.random.default_rng(0)
    half = 0.5
    below, above = np.nextafter(half, 0.0), np.nextafter(half, 1.0)  # same bucket as 0.5, one ulp away
    values = np.concatenate(
        [rng.random(5000), np.zeros(300), np.full(40, half), [below, above, 1.0, 1e-300, 5e-324], rng.random(50) * 1e-9]
    )
    rng.shuffle(values)
    thresholds = np.sort(np.concatenate([[0.0, half, half, below, above, 1.0, 5e-324, 2e-9], rng.choice(values, 60)]))
    expected = np.array([np.count_nonzero(values >= t) for t in thresholds])
    np.testing.assert_array_equal(_count_at_least(values, thresholds, _Scratch()), expected)


def _plain_auc_fixed_step(positives: np.ndarray, negatives: np.ndarray, step: float) -> np.ndarray:
    """Per-split ROC areas with every threshold compared with every negative."""
    from gensal.metrics.fixation import _octave_range_end, _trapezoid

    top = np.maximum(positives.max(), negatives.max(axis=1))
    count, last = _octave_range_end(top, step)
    index = np.arange(count.max())[None, :]
    thresholds = np.where(index < count[:, None] - 1, index * step, last[:, None])
    thresholds = np.where(index < count[:, None], thresholds, np.inf)[:, ::-1]
    tp = (positives[None, :, None] >= thresholds[:, None, :]).sum(axis=1) / positives.size
    fp = (negatives[:, :, None] >= thresholds[:, None, :]).sum(axis=1) / negatives.shape[1]
    zeros, ones = np.zeros((len(top), 1)), np.ones((len(top), 1))
    return _trapezoid(np.hstack([zeros, fp, ones]), np.hstack([zeros, tp, ones]))


def test_fast_fixed_step_auc_equals_the_plain_definition():
    from gensal.metrics.fixation import _auc_fixed_step

    rng = np.random.default_rng(1)
    for levels in (255, 10, 4):  # 8-bit values (153/255 = 0.6 lies exactly on a threshold), coarse grids
        positives = np.round(rng.random(40) * levels) / levels
        negatives = np.round(rng.random((100, 40)) * levels) / levels
        negatives[:50] *= 0.55  # splits with fewer thresholds than the others
        expected = _plain_auc_fixed_step(positives, negatives, 0.1)
        np.testing.assert_array_equal(_auc_fixed_step(positives, negatives, 0.1), expected)


def test_evaluator_score_and_add_equal_update_and_reuse_nothing_between_images():
    fixations = _toy_fixations()
    fixations["wide"] = Fixations("wide", 20, 70, [3.0, 50.0, 60.0], [4.0, 10.0, 18.0])  # another size
    updated, added = FixationEvaluator(fixations, seed=5), FixationEvaluator(fixations, seed=5)
    for name in ["im00", "wide", "im01", "im02"]:
        fix = fixations[name]
        saliency = center_bias(fix.height, fix.width) + 0.1 * np.random.default_rng(len(name)).random(
            (fix.height, fix.width)
        )
        scores = added.score(name, saliency)
        added.add(name, scores)
        assert updated.update(name, saliency) == scores
        # scratch arrays reused from the previous image change nothing
        assert FixationEvaluator(fixations, seed=5).score(name, saliency) == scores
    assert added.per_image() == updated.per_image()
    with pytest.raises(InputError, match="already evaluated"):
        added.add("im00", scores)
    with pytest.raises(InputError, match="lack metric"):
        added.add("im03", {"nss": 1.0})
    with pytest.raises(InputError, match="no fixations for image"):
        added.add("nope", scores)


def test_evaluate_fixation_in_worker_processes_equals_one_process(tmp_path):
    from PIL import Image

    from gensal.evaluate import SERIAL_BELOW, evaluate_fixation

    fixations = {}
    rng = np.random.default_rng(2)
    for index in range(SERIAL_BELOW + 2):  # enough images for the process pool
        name = f"im{index:02d}"
        count = 4 + index % 5
        fixations[name] = Fixations(name, 30, 40, rng.uniform(0, 39, count), rng.uniform(0, 29, count))
        Image.fromarray((_toy_map(f"im{index % 12:02d}") / 1.3 * 255).astype(np.uint8)).save(tmp_path / f"{name}.png")
    serial = evaluate_fixation(fixations, "toy", tmp_path, workers=1, progress=False, seed=3)
    parallel = evaluate_fixation(fixations, "toy", tmp_path, workers=2, progress=False, seed=3)
    assert parallel.per_image == serial.per_image
    assert list(parallel.per_image) == sorted(fixations)
    assert parallel.summary == serial.summary
