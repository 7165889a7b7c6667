"""Full fixation evaluation of 1920x1080 maps: EMD with pyemd (network simplex) vs the former HiGHS LP.

Data: the fixations of the first N OSIE images (800x600), their coordinates stretched to 1920x1080, so the
maps have real fixation structure at the size the issue asks about. Ground truth: subjects 7-14 (the MIT
filter, 8 cycles per image, as `gensal evaluate`); prediction: an inter-observer model, the fixations of
subjects 0-6 blurred the same way, plus 10% of a centre bias (no exact zeros).

Timed, in one process with one BLAS thread (what each worker of `gensal evaluate` does):
:meth:`FixationEvaluator.score` per image with

* the eight metrics other than EMD;
* all nine metrics, EMD by pyemd (gensal's EMD since this change: exact, ``solver="exact"``);
* all nine metrics, EMD by the former linear program (``scipy.optimize.linprog``, HiGHS dual simplex on the
  surplus-to-deficit transport problem, as gensal computed it before; kept here as the baseline only), on
  fewer images because it takes minutes per image.

The one-time costs of the pyemd path (importing pyemd, whose POT backend imports PyTorch, and building the
34x60 grid's distance matrix) are timed apart. The 95-image wall time on 2 cores is extrapolated as
``one-time + ceil(95 / 2) * per-image``: `gensal evaluate` scores images in one worker process per core.
FastEMD (``solver="fastemd"``, pyemd's C++ backend) is timed on OSIE's own 800x600 size only: on the 34x60
grid it does not finish in minutes.

    python benchmarks/fixation_emd_speed.py [--images 4] [--old-images 1] [--fastemd-images 1]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
from scipy import optimize, sparse

from gensal.data.fixations import Fixations, fixation_density, read_osie
from gensal.metrics import fixation
from gensal.metrics.fixation import ALL_METRICS, FixationEvaluator, center_bias, emd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import provenance, write_section  # noqa: E402

OSIE_MAT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "osie" / "fixations" / "fixations.mat"
HEIGHT, WIDTH = 1080, 1920
IMAGES_TO_EXTRAPOLATE, CORES = 95, 2
CENTRE_WEIGHT = 0.1


def legacy_transport_cost(source: np.ndarray, target: np.ndarray, solver: str) -> float:
    """gensal's EMD solver before pyemd: the surplus-to-deficit transport LP, HiGHS dual simplex."""
    del solver
    difference = (source - target).ravel()
    senders, receivers = np.flatnonzero(difference > 0), np.flatnonzero(difference < 0)
    if senders.size == 0 or receivers.size == 0:
        return 0.0
    cells = np.stack(np.unravel_index(np.arange(source.size), source.shape), axis=1).astype(np.float64)
    distance = np.sqrt(((cells[senders, None, :] - cells[None, receivers, :]) ** 2).sum(axis=-1))
    n_send, n_receive = senders.size, receivers.size
    variables = np.arange(n_send * n_receive)
    rows = np.concatenate([variables // n_receive, n_send + variables % n_receive])
    constraints = sparse.coo_matrix(
        (np.ones(2 * variables.size), (rows, np.tile(variables, 2))), shape=(n_send + n_receive, variables.size)
    ).tocsr()
    supply = np.concatenate([difference[senders], -difference[receivers]])
    result = optimize.linprog(
        distance.ravel(),
        A_eq=constraints[:-1],
        b_eq=supply[:-1],
        bounds=(0, None),
        method="highs-ds",
        options={"presolve": False},
    )
    if result.status != 0:
        raise RuntimeError(f"EMD transport problem not solved: {result.message}")
    return float(result.fun)


def stretched(fix: Fixations, subjects: range) -> Fixations:
    """The fixations of ``subjects`` with pixel-centre coordinates stretched to 1920x1080."""
    keep = np.isin(fix.subjects, list(subjects))
    xs = (fix.xs[keep] + 0.5) * WIDTH / fix.width - 0.5
    ys = (fix.ys[keep] + 0.5) * HEIGHT / fix.height - 0.5
    return Fixations(fix.name, HEIGHT, WIDTH, xs, ys, fix.subjects[keep])


def time_scores(
    truth: dict[str, Fixations],
    maps: dict[str, np.ndarray],
    names: list[str],
    metrics: tuple[str, ...],
    warm_up: bool = True,
) -> tuple[list[float], dict[str, dict[str, float]]]:
    """Seconds per image of :meth:`FixationEvaluator.score` and the scores.

    ``warm_up`` first scores the first image untimed: the evaluator's scratch arrays and centre-bias
    baseline are made once per worker process, not per image.
    """
    evaluator = FixationEvaluator(truth, metrics=metrics)
    if warm_up:
        evaluator.score(names[0], maps[names[0]])
    seconds, scores = [], {}
    for name in names:
        start = time.perf_counter()
        scores[name] = evaluator.score(name, maps[name])
        seconds.append(time.perf_counter() - start)
        print(f"  {name}: {seconds[-1]:.2f} s", flush=True)
    return seconds, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="images timed with the pyemd EMD (default 4)")
    parser.add_argument("--old-images", type=int, default=2, help="of those, timed with the former LP (default 2)")
    parser.add_argument("--fastemd-images", type=int, default=1, help="800x600 images timed with FastEMD (default 1)")
    args = parser.parse_args()

    osie = read_osie(OSIE_MAT)
    names = list(osie)[: args.images]
    truth = {name: stretched(osie[name], range(7, 15)) for name in names}
    centre = center_bias(HEIGHT, WIDTH)
    maps = {}
    for name in names:
        observers = fixation_density(stretched(osie[name], range(0, 7)))
        maps[name] = (1 - CENTRE_WEIGHT) * observers / observers.max() + CENTRE_WEIGHT * centre
    loads = [os.getloadavg()[0]]

    start = time.perf_counter()
    fixation._pyemd()
    import_seconds = time.perf_counter() - start
    start = time.perf_counter()
    fixation._grid_distances(math.ceil(HEIGHT / fixation.EMD_DOWNSIZE), math.ceil(WIDTH / fixation.EMD_DOWNSIZE))
    distance_seconds = time.perf_counter() - start

    without_emd = tuple(m for m in ALL_METRICS if m != "emd")
    print("eight metrics without EMD")
    other_seconds, _ = time_scores(truth, maps, names, without_emd)
    print("all nine, EMD by pyemd")
    new_seconds, new_scores = time_scores(truth, maps, names, ALL_METRICS)
    loads.append(os.getloadavg()[0])
    print("all nine, EMD by the former LP")
    with mock.patch.object(fixation, "_transport_cost", legacy_transport_cost):  # no warm-up: an LP takes minutes
        old_seconds, old_scores = time_scores(truth, maps, names[: args.old_images], ALL_METRICS, warm_up=False)
    loads.append(os.getloadavg()[0])
    emd_difference = max(abs(new_scores[n]["emd"] - old_scores[n]["emd"]) for n in old_scores)
    other_difference = max(
        abs(new_scores[n][m] - old_scores[n][m]) for n in old_scores for m in ALL_METRICS if m != "emd"
    )

    fastemd_rows = []
    for name in list(osie)[: args.fastemd_images]:
        fix = osie[name]
        keep = np.isin(fix.subjects, list(range(7, 15)))
        native = Fixations(name, fix.height, fix.width, fix.xs[keep], fix.ys[keep])
        observers = np.isin(fix.subjects, list(range(0, 7)))
        model = fixation_density(Fixations(name, fix.height, fix.width, fix.xs[observers], fix.ys[observers]))
        density = fixation_density(native)
        row = {}
        for solver in fixation.EMD_SOLVERS:
            start = time.perf_counter()
            row[solver] = (emd(model, density, solver=solver), time.perf_counter() - start)
        fastemd_rows.append((name, row))
        print(f"  {name} 800x600: " + ", ".join(f"{s} {v:.6f} in {t:.2f} s" for s, (v, t) in row.items()))
    loads.append(os.getloadavg()[0])

    mean_other, mean_new, mean_old = (float(np.mean(s)) for s in (other_seconds, new_seconds, old_seconds))
    rounds = math.ceil(IMAGES_TO_EXTRAPOLATE / CORES)
    one_time = import_seconds + distance_seconds
    new_total = one_time + rounds * mean_new
    old_total = rounds * mean_old
    grid = f"{math.ceil(HEIGHT / fixation.EMD_DOWNSIZE)}x{math.ceil(WIDTH / fixation.EMD_DOWNSIZE)}"
    lines = [
        "## Fixation evaluation at 1920x1080: EMD by pyemd vs the former LP (benchmarks/fixation_emd_speed.py)",
        "",
        provenance(),
        f"{len(names)} OSIE images with their fixations stretched to {WIDTH}x{HEIGHT} (ground truth: subjects "
        "7-14; prediction: subjects 0-6 blurred with the MIT filter, plus 10% centre bias). "
        "`FixationEvaluator.score` per image, one process, one BLAS thread (as each `gensal evaluate` worker), "
        "after one untimed image (scratch arrays, centre-bias baseline; not for the LP, whose time it would "
        "hardly change). "
        f"EMD on the 1/32 grid ({grid} cells). 1-minute load average {loads[0]:.1f} at the start, "
        f"{loads[1]:.1f} after the pyemd runs, {loads[2]:.1f} after the LP runs, {loads[3]:.1f} at the end "
        "(above 1, other jobs shared the 2 cores: times are upper bounds).",
        "",
        "| what | images | s/image (mean) | min | max | 95 images on 2 cores (extrapolated) |",
        "|---|---|---|---|---|---|",
        f"| 8 metrics, no EMD | {len(names)} | {mean_other:.2f} | {min(other_seconds):.2f} | "
        f"{max(other_seconds):.2f} | {rounds * mean_other:.0f} s |",
        f"| **9 metrics, EMD by pyemd (exact, network simplex)** | {len(names)} | **{mean_new:.2f}** | "
        f"{min(new_seconds):.2f} | {max(new_seconds):.2f} | **{new_total:.0f} s** |",
        f"| 9 metrics, EMD by the former HiGHS LP | {len(old_seconds)} | {mean_old:.1f} | {min(old_seconds):.1f} | "
        f"{max(old_seconds):.1f} | {old_total / 60:.0f} min |",
        "",
        f"EMD alone: {mean_new - mean_other:.2f} s/image by pyemd vs {mean_old - mean_other:.1f} s/image by the LP "
        f"(**{(mean_old - mean_other) / max(mean_new - mean_other, 1e-9):.0f}x**); whole evaluation "
        f"**{mean_old / mean_new:.0f}x** faster. One-time cost of the pyemd path per process: import "
        f"{import_seconds:.1f} s (POT imports PyTorch), {grid} distance matrix {distance_seconds:.2f} s (cached), "
        f"included in the extrapolation. Extrapolation: one-time + ceil({IMAGES_TO_EXTRAPOLATE}/{CORES}) = "
        f"{rounds} rounds x s/image. Same scores: EMD differs by at most {emd_difference:.1e} between the two "
        f"solvers (the LP's feasibility tolerance is 1e-7), the other metrics by {other_difference:.1e}.",
    ]
    if fastemd_rows:
        lines += [
            "",
            "FastEMD (pyemd's C++ backend, the code the MIT benchmark compiles) at OSIE's own 800x600 (19x25 grid):",
            "",
            "| image | exact EMD | s | FastEMD | s | difference |",
            "|---|---|---|---|---|---|",
        ]
        for name, row in fastemd_rows:
            (exact, exact_s), (fast, fast_s) = row["exact"], row["fastemd"]
            lines.append(f"| {name} | {exact:.6f} | {exact_s:.3f} | {fast:.6f} | {fast_s:.2f} | {fast - exact:+.1e} |")
    body = "\n".join(lines) + "\n"
    write_section("fixation_emd_speed", body)
    print(body)


if __name__ == "__main__":
    main()
