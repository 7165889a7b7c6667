"""``gensal evaluate``: score folders of saliency maps and report a methods x metrics table.

Salient-object maps are scored against masks (:mod:`gensal.metrics.sod`), fixation maps against eye
fixations (:mod:`gensal.metrics.fixation`). Images are scored in worker processes, one per core by
default. Results go to ``metrics.json`` (summary, per-image scores and curves) and ``metrics.csv``
(the table), both written atomically.
"""

from __future__ import annotations

import contextlib
import csv
import io as _stringio
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from gensal import io
from gensal.data.pairs import MAP_SUFFIXES, files_by_stem, match_names, match_pairs
from gensal.errors import DataError, InputError
from gensal.metrics import sod

SOD_LABELS = {
    "s_measure": "S-measure",
    "weighted_f": "wF",
    "max_f": "maxF",
    "mean_f": "meanF",
    "adaptive_f": "adpF",
    "max_e": "maxE",
    "mean_e": "meanE",
    "adaptive_e": "adpE",
    "mae": "MAE",
}
FIXATION_LABELS = {
    "auc_judd": "AUC-J",
    "auc_borji": "AUC-B",
    "auc_shuffled": "sAUC",
    "nss": "NSS",
    "cc": "CC",
    "kl_div": "KL",
    "sim": "SIM",
    "emd": "EMD",
    "info_gain": "IG",
}
METRIC_LABELS = {"sod": SOD_LABELS, "fixation": FIXATION_LABELS}
"""The metrics of each ``--task``, in table order, with their column labels."""
SERIAL_BELOW = 24  # fewer images than this are scored in the main process (a pool costs more)


@dataclass
class MethodResult:
    """Scores of one prediction folder."""

    name: str
    folder: str
    summary: dict[str, float]
    per_image: dict[str, dict[str, float]]
    skipped: int = 0
    resized: int = 0
    curves: dict[str, list[float]] = field(default_factory=dict)


def select_metrics(text: str | None, task: str) -> tuple[str, ...]:
    """The metrics named by ``--metrics`` (comma-separated), in table order; all of the task's when None.

    A name is a metric's key (``mae``, ``auc_judd``: those of ``metrics.json``) or its column label (``MAE``,
    ``AUC-J``), in any case; repeats count once.

    Raises:
        InputError: an unknown name or an empty list, in one line that lists the valid names.
    """
    labels = METRIC_LABELS[task]
    if text is None:
        return tuple(labels)
    aliases = {name: name for name in labels} | {label.lower(): name for name, label in labels.items()}
    requested = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in requested if part.lower() not in aliases]
    if unknown or not requested:
        what = f"unknown metric(s) {', '.join(unknown)}" if unknown else "no metric"
        raise InputError(f"--metrics: {what} for --task {task}; valid: {', '.join(labels)}")
    chosen = {aliases[part.lower()] for part in requested}
    return tuple(name for name in labels if name in chosen)


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return max(os.cpu_count() or 1, 1)


@contextlib.contextmanager
def _one_thread_per_worker() -> Iterator[None]:
    """Keep worker processes to one thread each: the workers already fill the cores, and BLAS or OpenCV
    threads on top of them oversubscribe (measured: 2 workers took 39 s instead of 7 s on 2 cores).

    The limits are set in the parent around the pool's creation and inherited by the forked workers:
    changing them inside a forked child can hang (the parent's thread pools do not exist there).
    """
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        cv2.setNumThreads(previous)


def parallel_map(
    function: Callable, items: list, workers: int | None, description: str, progress: bool = True
) -> Iterable:
    """Apply ``function`` to ``items`` in order, in worker processes when it pays off, with a progress bar."""
    workers = default_workers() if workers is None else max(int(workers), 1)
    bar = tqdm(total=len(items), desc=description, unit="img", disable=not progress, file=sys.stderr)
    try:
        if workers == 1 or len(items) < SERIAL_BELOW:
            for item in items:
                yield function(item)
                bar.update()
            return
        chunksize = max(1, min(32, len(items) // (workers * 8)))
        with _one_thread_per_worker(), multiprocessing.get_context("fork").Pool(workers) as pool:
            for result in pool.imap(function, items, chunksize=chunksize):
                yield result
                bar.update()
    finally:
        bar.close()


def _score_sod_pair(task: tuple[str, Path, Path, bool]) -> tuple[str, sod.SODImageScores, bool]:
    stem, gt_path, pred_path, with_weighted_f = task
    gt = io.read_gray(gt_path)
    pred = io.read_map(pred_path)
    resized = pred.shape != gt.shape
    if resized:
        pred = io.resize_map(pred, gt.shape)
    try:
        return stem, sod.score_image(pred, gt, with_weighted_f), resized
    except InputError as err:
        raise DataError(f"{pred_path}: {err}") from err


def evaluate_sod(
    gt_dir: str | Path,
    name: str,
    pred_dir: str | Path,
    intersection: bool = False,
    workers: int | None = None,
    progress: bool = True,
    f_curve: str = "per-image",
    metrics: tuple[str, ...] | None = None,
) -> MethodResult:
    """Score one folder of predictions against a folder of masks (matched by file stem).

    Predictions of another size than their mask are resized bilinearly (counted in ``resized``).
    ``f_curve`` picks the F-measure curve convention (:data:`gensal.metrics.sod.F_CURVE_MODES`); ``metrics``
    the numbers reported (names from :data:`gensal.metrics.sod.SOD_METRICS`, all when None; without
    ``weighted_f`` its distance transforms are skipped).
    """
    accumulator = sod.SODMetrics(f_curve, metrics or sod.SOD_METRICS)
    pairs, skipped = match_pairs(gt_dir, pred_dir, intersection, second_suffixes=MAP_SUFFIXES)
    tasks = [(stem, gt_path, pred_path, "weighted_f" in accumulator.metrics) for stem, gt_path, pred_path in pairs]
    stems: list[str] = []
    resized = 0
    for stem, scores, was_resized in parallel_map(_score_sod_pair, tasks, workers, name, progress):
        accumulator.add(scores)
        stems.append(stem)
        resized += was_resized
    per_image = dict(zip(stems, accumulator.per_image(), strict=True))
    curves = {key: value.tolist() for key, value in accumulator.curves().items()}
    return MethodResult(name, str(pred_dir), accumulator.summary(), per_image, skipped, resized, curves)


def _score_fixation_image(task):
    from gensal.metrics.fixation import density_from_log

    stem, pred_path, size = task
    saliency = io.read_map(pred_path)
    if pred_path.suffix.lower() == ".npy" and saliency.dtype != np.uint8 and saliency.max() <= 0:
        saliency = density_from_log(saliency)
    saliency = np.asarray(saliency, dtype=np.float64)
    resized = saliency.shape != size
    if resized:
        saliency = io.resize_map(saliency, size)
    return stem, saliency, resized


_fixation_worker_state: dict = {}
"""The evaluator of the running :func:`evaluate_fixation`, read by worker processes (forked, so inherited)."""


def _score_fixation_prediction(task) -> tuple[str, dict[str, float], bool]:
    """Read one prediction and score it with the running evaluator, in a worker process or not."""
    stem, saliency, resized = _score_fixation_image(task)
    try:
        return stem, _fixation_worker_state["evaluator"].score(stem, saliency), resized
    except InputError as err:
        raise DataError(f"{task[1]}: {err}") from err


def evaluate_fixation(
    fixations: dict,
    name: str,
    pred_dir: str | Path,
    intersection: bool = False,
    workers: int | None = None,
    progress: bool = True,
    seed: int = 0,
    metrics: tuple[str, ...] | None = None,
) -> MethodResult:
    """Score a folder of fixation predictions (maps, or ``.npy`` log-densities) against eye fixations.

    Images are read and scored in worker processes (:func:`parallel_map`); their scores are added to one
    :class:`~gensal.metrics.fixation.FixationEvaluator` in name order. Every image's random draws are
    seeded from its name, so the scores do not depend on ``workers`` (nor on which ``metrics`` are
    computed: names from :data:`gensal.metrics.fixation.ALL_METRICS`, all when None).
    """
    from gensal.metrics.fixation import ALL_METRICS, FixationEvaluator

    predictions = files_by_stem(pred_dir, MAP_SUFFIXES)
    common, skipped = match_names(fixations, predictions, "the fixation data's images", str(pred_dir), intersection)
    evaluator = FixationEvaluator(fixations, metrics=metrics or ALL_METRICS, seed=seed)
    tasks = [(stem, predictions[stem], (fixations[stem].height, fixations[stem].width)) for stem in common]
    resized = 0
    _fixation_worker_state["evaluator"] = evaluator  # set before parallel_map forks its workers
    try:
        for stem, scores, was_resized in parallel_map(_score_fixation_prediction, tasks, workers, name, progress):
            evaluator.add(stem, scores)
            resized += was_resized
    finally:
        _fixation_worker_state.clear()
    return MethodResult(name, str(pred_dir), evaluator.summary(), evaluator.per_image(), skipped, resized)


def format_table(results: list[MethodResult], labels: dict[str, str] | None = None) -> str:
    """A plain-text methods x metrics table."""
    keys = list(results[0].summary)
    labels = labels or {}
    header = ["method", "images"] + [labels.get(key, key) for key in keys]
    rows = [[r.name, str(len(r.per_image))] + [f"{r.summary[key]:.4f}" for key in keys] for r in results]
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        for row in [header] + rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _csv_text(results: list[MethodResult]) -> str:
    buffer = _stringio.StringIO()
    writer = csv.writer(buffer)
    keys = list(results[0].summary)
    writer.writerow(["method", "images", "skipped", "resized"] + keys)
    for r in results:
        writer.writerow([r.name, len(r.per_image), r.skipped, r.resized] + [f"{r.summary[k]:.6f}" for k in keys])
    return buffer.getvalue()


def plot_sod_curves(results: list[MethodResult], path: str | Path) -> None:
    """Draw precision-recall and F-measure-vs-threshold curves of every method to a PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_pr, ax_f) = plt.subplots(1, 2, figsize=(11, 4.5))
    thresholds = np.arange(255, -1, -1)
    for r in results:
        ax_pr.plot(r.curves["recall"], r.curves["precision"], label=r.name)
        ax_f.plot(thresholds, r.curves["f_curve"], label=f"{r.name} (max {r.summary['max_f']:.3f})")
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.01))
    ax_f.set(
        xlabel="threshold",
        ylabel="F-measure (beta^2 = 0.3)",
        title="F-measure",
        xlim=(0, 255),
        ylim=(0, 1.01),
    )
    for ax in (ax_pr, ax_f):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    io.save_figure(fig, path, dpi=110)


def run_evaluate(args) -> list[MethodResult]:
    """Entry point of ``gensal evaluate`` (arguments as parsed by :mod:`gensal.cli`)."""
    names = [name for name, _ in args.pred]
    if len(set(names)) != len(names):
        raise InputError(f"--pred names must be unique, got {names}")
    metrics = select_metrics(args.metrics, args.task)
    io.check_output_folder(args.output)  # before the scoring, which can take minutes
    if args.curves:
        io.check_figure_path(args.curves, "--curves")
    progress = not args.no_progress
    results: list[MethodResult] = []
    if args.task == "sod":
        if not Path(args.gt).is_dir():
            raise DataError(f"{args.gt}: ground-truth folder not found")
        for name, folder in args.pred:
            results.append(
                evaluate_sod(args.gt, name, folder, args.intersection, args.workers, progress, args.f_curve, metrics)
            )
        labels = SOD_LABELS
    else:
        if args.curves:
            raise InputError("--curves draws PR curves and is only for --task sod")
        from gensal.data.fixations import read_fixations

        fixations = read_fixations(args.gt, image_dir=args.images)
        for name, folder in args.pred:
            results.append(
                evaluate_fixation(
                    fixations, name, folder, args.intersection, args.workers, progress, args.seed, metrics
                )
            )
        labels = FIXATION_LABELS

    for r in results:
        if r.skipped:
            print(f"{r.name}: evaluated {len(r.per_image)} common names, skipped {r.skipped}", file=sys.stderr)
        if r.resized:
            print(
                f"warning: {r.resized} prediction(s) of {r.name} differ in size from the ground truth; "
                "resized bilinearly",
                file=sys.stderr,
            )
    output = Path(args.output)
    io.write_json(
        output / "metrics.json",
        {
            "task": args.task,
            "ground_truth": str(args.gt),
            "metrics": list(metrics),
            "methods": {
                r.name: {
                    "folder": r.folder,
                    "images": len(r.per_image),
                    "skipped": r.skipped,
                    "resized": r.resized,
                    "summary": r.summary,
                    "curves": r.curves,
                    "per_image": r.per_image,
                }
                for r in results
            },
        },
    )
    io.write_text(output / "metrics.csv", _csv_text(results))
    if args.curves:
        plot_sod_curves(results, args.curves)
    print(format_table(results, labels))
    print(
        f"wrote {output / 'metrics.json'} and {output / 'metrics.csv'}"
        + (f" and {args.curves}" if args.curves else ""),
        file=sys.stderr,
    )
    return results
