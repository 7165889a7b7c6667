"""Fixation evaluation speed and agreement: gensal vs pysaliency on the 700 OSIE images.

Ground truth: the fixations of OSIE subjects 7-14 (the fixated pixels, each once, for both tools).
Models: a centre bias (:func:`gensal.metrics.fixation.center_bias`) and an inter-observer model (the
fixations of subjects 0-6 blurred with a 24 px Gaussian). The ground-truth density for CC, KL and SIM is
the fixation map blurred with the same 24 px Gaussian in both tools (zero padding).

Timed: gensal's :class:`FixationEvaluator` with the seven metrics both tools have (AUC-Judd, AUC-Borji,
sAUC, NSS, CC, KL, SIM), against pysaliency's model methods for the same seven (``AUC_Judd``, ``AUC``
with uniform negatives, ``sAUC``, ``NSS``, ``CC``, the MIT-style ``image_based_kl_divergence`` and
``SIM``, averaged per image). Stimuli are in-memory blank images for pysaliency (so neither tool reads
JPEGs); pysaliency caches each model's and the gold standard's maps, gensal computes them once per image.
gensal runs as ``gensal evaluate`` does (:func:`gensal.evaluate.evaluate_fixation`): each image's map is
built and scored with :meth:`FixationEvaluator.score` in worker processes (:func:`gensal.evaluate.parallel_map`,
one per core) and the scores are added to the evaluator in order; it is also timed in one process.
gensal's information gain and EMD (no pysaliency counterpart) are timed separately.

    python benchmarks/fixation_speed.py [--limit N] [--emd-images 50] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from gensal.data.fixations import Fixations, fixation_density, read_osie
from gensal.evaluate import default_workers, parallel_map
from gensal.metrics.fixation import FixationEvaluator, center_bias

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import provenance, write_section  # noqa: E402

OSIE_MAT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "osie" / "fixations" / "fixations.mat"
COMMON = ("auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "kl_div", "sim")
SIGMA = 24.0
MIT_EPS = 2.2204e-16
AGREEMENT = {
    "auc_judd": "same definition; random tie-breaking jitter differs (seeded differently)",
    "auc_borji": "differs: MIT uses 100 random splits and thresholds every 0.1; pysaliency all pixels, all values",
    "auc_shuffled": "differs: MIT draws from 10 other images with 0.1 steps; pysaliency all other fixations",
    "nss": "gensal = pysaliency x sqrt((N-1)/N) (sample vs population std)",
    "cc": "same",
    "kl_div": "same (pysaliency rounds eps to 2.2204e-16)",
    "sim": "same when a map's minimum is 0; MIT min-max normalises, pysaliency does not",
}


def subset(fix: Fixations, subjects: range) -> Fixations:
    keep = np.isin(fix.subjects, list(subjects))
    return Fixations(fix.name, fix.height, fix.width, fix.xs[keep], fix.ys[keep], fix.subjects[keep])


_model_state: dict = {}
"""The model and evaluator being scored, inherited by the forked worker processes."""


def model_map(model: str, name: str) -> np.ndarray:
    """A model's saliency map of one image, built from scratch (as pysaliency's model classes do)."""
    if model == "center":
        fix = _model_state["observers"][name]
        return center_bias(fix.height, fix.width)
    return fixation_density(_model_state["observers"][name], SIGMA)


def score_image(name: str) -> tuple[str, dict[str, float]]:
    """Build and score one image's map (what ``evaluate_fixation``'s workers do with a prediction file)."""
    return name, _model_state["evaluator"].score(name, model_map(_model_state["model"], name))


def run_gensal(truth: dict[str, Fixations], observers: dict[str, Fixations], workers: int) -> tuple[dict, tuple]:
    """Scores of both models and (wall, CPU of this process and its workers) seconds."""
    scores = {}
    start, cpu_start = time.perf_counter(), cpu_seconds()
    for model in ("center", "inter-observer"):
        evaluator = FixationEvaluator(truth, metrics=COMMON, sigma=SIGMA, seed=0)
        _model_state.update(model=model, evaluator=evaluator, observers=observers)
        for name, image_scores in parallel_map(score_image, list(truth), workers, model, progress=False):
            evaluator.add(name, image_scores)
        scores[model] = evaluator.summary()
    _model_state.clear()
    return scores, (time.perf_counter() - start, cpu_seconds() - cpu_start)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_gensal_extra(truth: dict, observers: dict, emd_images: int) -> dict[str, float]:
    timings = {}
    names = list(truth)
    evaluator = FixationEvaluator(truth, metrics=("info_gain",), sigma=SIGMA)
    start = time.perf_counter()
    for name in names:
        evaluator.update(name, fixation_density(observers[name], SIGMA))
    timings["info_gain"] = (time.perf_counter() - start) / len(names)
    timings["info_gain_value"] = evaluator.summary()["info_gain"]
    evaluator = FixationEvaluator(truth, metrics=("emd",), sigma=SIGMA)
    start = time.perf_counter()
    for name in names[:emd_images]:
        evaluator.update(name, fixation_density(observers[name], SIGMA))
    timings["emd"] = (time.perf_counter() - start) / min(emd_images, len(names))
    return timings


def per_image_mean(values: np.ndarray, image_index: np.ndarray) -> float:
    """Mean over images of per-fixation values (pysaliency's average="image" needs pandas)."""
    sums = np.bincount(image_index, weights=values)
    counts = np.bincount(image_index)
    return float(np.mean(sums[counts > 0] / counts[counts > 0]))


def run_pysaliency(truth: dict[str, Fixations], observers: dict[str, Fixations]) -> tuple[dict, tuple, str]:
    """Scores of both models, (wall, CPU) seconds and pysaliency's version."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pysaliency
    from importlib.metadata import version

    names = list(truth)
    blanks = []
    for index, name in enumerate(names):
        blank = np.zeros((truth[name].height, truth[name].width), dtype=np.uint8)
        blank[0, :2] = (index % 256, index // 256)  # distinct images, distinct stimulus ids
        blanks.append(blank)
    stimuli = pysaliency.Stimuli(blanks)

    def fixations_of(fixations: dict[str, Fixations]):
        xs, ys, ns = [], [], []
        for index, name in enumerate(names):
            rows, cols = np.nonzero(fixations[name].to_fixation_map())
            xs.append(cols.astype(float))
            ys.append(rows.astype(float))
            ns.append(np.full(rows.size, index))
        return pysaliency.Fixations.create_without_history(np.concatenate(xs), np.concatenate(ys), np.concatenate(ns))

    gt_fixations, observer_fixations = fixations_of(truth), fixations_of(observers)

    class CenterBias(pysaliency.SaliencyMapModel):
        def _saliency_map(self, stimulus):
            return center_bias(stimulus.shape[0], stimulus.shape[1])

    def blurred(fixations):
        return pysaliency.FixationMap(
            stimuli, fixations, kernel_size=SIGMA, convolution_mode="constant", ignore_doublicates=True
        )

    stimuli.stimulus_ids  # noqa: B018 (hash the stimuli before timing, as a data set would have them)
    scores = {}
    start, cpu_start = time.perf_counter(), cpu_seconds()
    gold = blurred(gt_fixations)
    for model_name, model in (("center", CenterBias()), ("inter-observer", blurred(observer_fixations))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores[model_name] = {
                "auc_judd": model.AUC_Judd(stimuli, gt_fixations),
                "auc_borji": model.AUC(stimuli, gt_fixations, nonfixations="uniform", average="image"),
                "auc_shuffled": model.sAUC(stimuli, gt_fixations, average="image"),
                "nss": per_image_mean(model.NSSs(stimuli, gt_fixations), gt_fixations.n),
                "cc": model.CC(stimuli, gold),
                "kl_div": model.image_based_kl_divergence(
                    stimuli, gold, minimum_value=0, log_regularization=MIT_EPS, quotient_regularization=MIT_EPS
                ),
                "sim": model.SIM(stimuli, gold),
            }
        del model
    return scores, (time.perf_counter() - start, cpu_seconds() - cpu_start), version("pysaliency")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    parser.add_argument("--emd-images", type=int, default=50, help="images for the EMD timing")
    parser.add_argument("--workers", type=int, default=None, help="gensal worker processes (default: one per core)")
    args = parser.parse_args()
    workers = default_workers() if args.workers is None else args.workers

    everything = read_osie(OSIE_MAT)
    names = list(everything)[: args.limit]
    truth = {name: subset(everything[name], range(7, 15)) for name in names}
    observers = {name: subset(everything[name], range(0, 7)) for name in names}

    warm_up = {name: truth[name] for name in names[:3]}  # one-time costs (imports, caches, JIT) untimed
    run_gensal(warm_up, observers, 1)
    loads = [os.getloadavg()[0]]
    gensal_scores, parallel_seconds = run_gensal(truth, observers, workers)
    serial_scores, serial_seconds = run_gensal(truth, observers, 1)
    if serial_scores != gensal_scores:
        raise RuntimeError("gensal's scores depend on the number of worker processes")
    loads.append(os.getloadavg()[0])
    extra = run_gensal_extra(truth, observers, args.emd_images)
    loads.append(os.getloadavg()[0])
    try:
        run_pysaliency(warm_up, observers)
        pysaliency_scores, pysaliency_seconds, pysaliency_version = run_pysaliency(truth, observers)
    except ImportError as err:
        pysaliency_scores, pysaliency_seconds, pysaliency_version = None, None, f"not importable ({err})"
    loads.append(os.getloadavg()[0])

    lines = [
        "## Fixation evaluation speed: gensal vs pysaliency (benchmarks/fixation_speed.py)",
        "",
        provenance(),
        f"{len(names)} OSIE images; ground truth: subjects 7-14 (fixated pixels once each); models: centre bias "
        f"and inter-observer (subjects 0-6 blurred, {SIGMA:g} px); density for CC/KL/SIM: {SIGMA:g} px blur. "
        f"Seven shared metrics (AUC-Judd, AUC-Borji, sAUC, NSS, CC, KL, SIM), both models; each tool builds "
        "the model maps and the ground truth itself, in memory. gensal runs as `gensal evaluate` does: images "
        f"scored in {workers} worker processes (`parallel_map`), and for comparison in 1 process (same scores). "
        f"1-minute load average {loads[0]:.1f} before gensal, {loads[1]:.1f} after it, {loads[2]:.1f} before "
        f"pysaliency and {loads[3]:.1f} after it (above 1, other jobs shared the cores). Each tool first ran "
        "on 3 images untimed. CPU s: this process and its workers.",
        "",
        "| pipeline | wall s | CPU s | images/s (x2 models, wall) | speed-up vs pysaliency (wall / CPU) |",
        "|---|---|---|---|---|",
    ]
    if pysaliency_seconds is not None:
        wall, cpu = pysaliency_seconds
        lines.append(
            f"| pysaliency {pysaliency_version} | {wall:.1f} | {cpu:.1f} | {2 * len(names) / wall:.1f} | 1.00x |"
        )
    else:
        lines.append(f"| pysaliency | {pysaliency_version} | | | |")
    for label, (gensal_wall, gensal_cpu) in (
        (f"gensal ({workers} worker processes)", parallel_seconds),
        ("gensal (1 process)", serial_seconds),
    ):
        ratio = "n/a"
        if pysaliency_seconds is not None:
            ratio = f"**{wall / gensal_wall:.2f}x** / **{cpu / gensal_cpu:.2f}x**"
        lines.append(
            f"| {label} | {gensal_wall:.1f} | {gensal_cpu:.1f} | {2 * len(names) / gensal_wall:.1f} | {ratio} |"
        )
    lines += [
        "",
        f"gensal only: information gain over the centre bias {extra['info_gain'] * 1000:.1f} ms/image "
        f"(inter-observer: {extra['info_gain_value']:.3f} bits); EMD {extra['emd']:.2f} s/image "
        f"(first {min(args.emd_images, len(names))} images; exact transport on the 1/32 grid, pyemd).",
        "",
        "| model | metric | gensal (MIT conventions) | pysaliency | difference | expected |",
        "|---|---|---|---|---|---|",
    ]
    for model, values in gensal_scores.items():
        for metric in COMMON:
            ours = values[metric]
            if pysaliency_scores is None:
                lines.append(f"| {model} | {metric} | {ours:.6f} | | | {AGREEMENT[metric]} |")
                continue
            theirs = float(pysaliency_scores[model][metric])
            lines.append(
                f"| {model} | {metric} | {ours:.6f} | {theirs:.6f} | {ours - theirs:+.2e} | {AGREEMENT[metric]} |"
            )
    body = "\n".join(lines) + "\n"
    write_section("fixation_speed", body)
    print(body)


if __name__ == "__main__":
    main()
