"""SOD evaluation speed: gensal vs PySODMetrics on the 1,000 ECSSD ScribbleSaliency predictions.

Both pipelines read every prediction and mask from disk and compute the full metric set (MAE, S-measure,
weighted F, F-measure curve + adaptive, E-measure curve + adaptive). PySODMetrics runs as its README shows
(one process, ``cv2.imread``); gensal runs ``gensal.evaluate.evaluate_sod`` with its default worker count
and, for reference, with one worker. Every run is a fresh process; the pipelines
alternate and the median of ``--repeats`` rounds is reported; the dataset numbers of both are compared.

    python benchmarks/eval_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
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


PIPELINES = ("pysodmetrics", "gensal_1worker", "gensal")


def run_single(pipeline: str, gt_dir: Path, pred_dir: Path, stems: list[str]) -> dict:
    """Time one pipeline in this (fresh) process; the malloc setting of one run cannot leak into another."""
    pairs = [(pred_dir / f"{s}.png", gt_dir / f"{s}.png") for s in stems]
    start = time.perf_counter()
    if pipeline.startswith("pysodmetrics"):
        summary = run_pysodmetrics(pairs)
    else:
        workers = 1 if pipeline == "gensal_1worker" else default_workers()
        summary = evaluate_sod(gt_dir, "gensal", pred_dir, workers=workers, progress=False).summary
    return {"seconds": time.perf_counter() - start, "summary": {k: float(v) for k, v in summary.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--single", choices=PIPELINES, help=argparse.SUPPRESS)
    args = parser.parse_args()

    gt_dir = DATA / "masks"
    pred_dir = DATA / "predictions" / "ScribbleSaliency_CVPR2020"
    stems = sorted(p.stem for p in pred_dir.glob("*.png"))
    if args.single:
        print(json.dumps(run_single(args.single, gt_dir, pred_dir, stems)))
        return

    timings: dict[str, list[float]] = {name: [] for name in PIPELINES}
    results = {}
    for _ in range(args.repeats):
        for name in PIPELINES:
            command = [sys.executable, __file__, "--single", name]
            out = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            timings[name].append(out["seconds"])
            results[name] = out["summary"]

    n = len(stems)
    median = {k: statistics.median(v) for k, v in timings.items()}
    worst = max(abs(results["gensal"][k] - results["pysodmetrics"][k]) for k in SOD_METRICS)
    base = median["pysodmetrics"]
    labels = {
        "pysodmetrics": f"PySODMetrics {psm_version()} (1 process, as its README runs it)",
        "gensal_1worker": "gensal, 1 worker",
        "gensal": f"gensal, {default_workers()} workers (default, as `gensal evaluate` runs)",
    }
    rows = [
        f"| {labels[k]} | {median[k]:.2f} | {n / median[k]:.1f} | "
        + (f"**{base / median[k]:.2f}x**" if k == "gensal" else f"{base / median[k]:.2f}x")
        + " |"
        for k in PIPELINES
    ]
    lines = [
        "## SOD evaluation speed: gensal vs PySODMetrics (benchmarks/eval_speed.py)",
        "",
        provenance(),
        f"{n} ECSSD ScribbleSaliency predictions, full SOD metric set (MAE, S, wF, F and E curves + adaptive), "
        f"reading files included; each run in a fresh process, median of {args.repeats} rounds.",
        "",
        "| pipeline | seconds | images/s | speed-up vs PySODMetrics |",
        "|---|---|---|---|",
        *rows,
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
