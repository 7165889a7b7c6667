"""SOD evaluation speed: gensal vs PySODMetrics on the 1,000 ECSSD ScribbleSaliency predictions.

Both pipelines read every prediction and mask from disk and compute the full metric set (MAE, S-measure,
weighted F, F-measure curve + adaptive, E-measure curve + adaptive). PySODMetrics runs as its README shows
(one process, ``cv2.imread``); gensal runs ``gensal.evaluate.evaluate_sod`` with its default worker count
and, for reference, with one worker. Runs alternate and the median of ``--repeats`` is reported; the
dataset numbers of both are compared too.

    python benchmarks/eval_speed.py [--repeats 3] [--limit N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import cv2
import py_sod_metrics as psm

from gensal.evaluate import default_workers, evaluate_sod
from gensal.metrics.sod import SOD_METRICS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import provenance, write_section  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ecssd"


def run_pysodmetrics(pairs: list[tuple[Path, Path]]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Fmeasure's deprecation notice
        fm, wfm, sm, em, mae = psm.Fmeasure(), psm.WeightedFmeasure(), psm.Smeasure(), psm.Emeasure(), psm.MAE()
    for pred_path, gt_path in pairs:
        pred = cv2.imread(str(pred_path), cv2.IMREAD_GRAYSCALE)
        gt = cv2.imread(str(gt_path), cv2.IMREAD_GRAYSCALE)
        for metric in (fm, wfm, sm, em, mae):
            metric.step(pred, gt)
    f, e = fm.get_results()["fm"], em.get_results()["em"]
    return {
        "s_measure": sm.get_results()["sm"],
        "weighted_f": wfm.get_results()["wfm"],
        "max_f": f["curve"].max(),
        "mean_f": f["curve"].mean(),
        "adaptive_f": f["adp"],
        "max_e": e["curve"].max(),
        "mean_e": e["curve"].mean(),
        "adaptive_e": e["adp"],
        "mae": mae.get_results()["mae"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    args = parser.parse_args()

    gt_dir = DATA / "masks"
    pred_dir = DATA / "predictions" / "ScribbleSaliency_CVPR2020"
    stems = sorted(p.stem for p in pred_dir.glob("*.png"))[: args.limit]
    if args.limit:  # evaluate_sod works on folders: build a folder of links for a subset
        subset = Path("/tmp/gensal-eval-speed")
        for sub, src in (("gt", gt_dir), ("pred", pred_dir)):
            (subset / sub).mkdir(parents=True, exist_ok=True)
            for stem in stems:
                link = subset / sub / f"{stem}.png"
                if not link.exists():
                    link.symlink_to((src / f"{stem}.png").resolve())
        gt_dir, pred_dir = subset / "gt", subset / "pred"
    pairs = [(pred_dir / f"{s}.png", gt_dir / f"{s}.png") for s in stems]
    workers = default_workers()

    timings: dict[str, list[float]] = {"pysodmetrics": [], "gensal": [], "gensal_1worker": []}
    results = {}
    for _ in range(args.repeats):
        start = time.perf_counter()
        results["pysodmetrics"] = run_pysodmetrics(pairs)
        timings["pysodmetrics"].append(time.perf_counter() - start)
        start = time.perf_counter()
        results["gensal"] = evaluate_sod(gt_dir, "gensal", pred_dir, workers=workers, progress=False).summary
        timings["gensal"].append(time.perf_counter() - start)
        start = time.perf_counter()
        evaluate_sod(gt_dir, "gensal", pred_dir, workers=1, progress=False)
        timings["gensal_1worker"].append(time.perf_counter() - start)

    median = {k: statistics.median(v) for k, v in timings.items()}
    worst = max(abs(results["gensal"][k] - results["pysodmetrics"][k]) for k in SOD_METRICS)
    lines = [
        "## SOD evaluation speed: gensal vs PySODMetrics (benchmarks/eval_speed.py)",
        "",
        provenance(),
        f"{len(pairs)} ECSSD ScribbleSaliency predictions, full SOD metric set (MAE, S, wF, F and E curves "
        f"+ adaptive), reading files included; median of {args.repeats} alternating runs.",
        "",
        "| pipeline | seconds | images/s | speed-up vs PySODMetrics |",
        "|---|---|---|---|",
        f"| PySODMetrics {psm_version()} (1 process) | {median['pysodmetrics']:.2f} | "
        f"{len(pairs) / median['pysodmetrics']:.1f} | 1.00x |",
        f"| gensal, 1 worker | {median['gensal_1worker']:.2f} | {len(pairs) / median['gensal_1worker']:.1f} | "
        f"{median['pysodmetrics'] / median['gensal_1worker']:.2f}x |",
        f"| gensal, {workers} workers (default) | {median['gensal']:.2f} | {len(pairs) / median['gensal']:.1f} | "
        f"**{median['pysodmetrics'] / median['gensal']:.2f}x** |",
        "",
        f"Largest difference between the two tools' dataset numbers: {worst:.1e} (target: 1e-6).",
        "All runs (s): " + "; ".join(f"{k} " + ", ".join(f"{t:.2f}" for t in v) for k, v in timings.items()),
    ]
    text = "\n".join(lines)
    print(text)
    write_section("eval_speed", text)


def psm_version() -> str:
    from importlib.metadata import version

    return version("pysodmetrics")


if __name__ == "__main__":
    main()
