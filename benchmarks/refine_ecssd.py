"""EBM refinement on ECSSD (paper 1, section 6.3): another model's maps before and after ``gensal refine``.

Refines the maps of one published method shipped in ``../shared/data/ecssd/predictions/<method>/`` with a
trained cooperative checkpoint (noise-free Langevin on its energy, as ``gensal refine`` runs it), scores
the maps before and after with ``gensal.evaluate.evaluate_sod`` against the ECSSD masks, writes a section
of ``benchmarks/RESULTS.md`` and a figure (image | before | after | ground truth, 4 evenly spaced images)
to ``docs/images/refine-ecssd.png``. It also asks whether the energy knows which map is better, on
``--diagnose`` evenly spaced images: how often U(ground truth) < U(map), how often U(map thresholded at 0.5)
< U(map) (an energy that has only learnt "sharp maps are data" prefers every thresholded map), and on the
pixels where the map is off by more than 0.3, how often the first descent step moves towards the ground truth;
and which share of that step's change to the maps goes towards the ground truth, and away from 0.5.

    python benchmarks/refine_ecssd.py --model runs/coop-cpu [--method ScribbleSaliency_CVPR2020]
        [--steps K] [--step-size D] [--limit N] [--output DIR] [--results PATH] [--figure PATH] [--threads N]
        [--diagnose N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from gensal import io
from gensal.checkpoint import load_model
from gensal.config import image_sides
from gensal.data.pairs import MAP_SUFFIXES, files_by_stem
from gensal.evaluate import SOD_LABELS, evaluate_sod
from gensal.inference import image_to_tensor, map_to_tensor
from gensal.refine import energy_model_of, refine_folder
from gensal.refinement import descend_energy, from_state, to_state

sys.path.insert(0, str(Path(__file__).resolve().parent))
import results as results_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data" / "ecssd").resolve()
SECTION = "refine_ecssd"
FIGURE_ROWS = 4
WRONG = 0.3
"""A pixel of a map is "wrong" when it differs from the ground truth by more than this."""


def _subset(source: Path, stems: list[str], target: Path, suffixes: tuple[str, ...]) -> Path:
    """A folder of symbolic links to the files of ``source`` with the given stems."""
    target.mkdir(parents=True, exist_ok=True)
    files = files_by_stem(source, suffixes)
    for stem in stems:
        link = target / files[stem].name
        if not link.is_symlink():
            link.symlink_to(files[stem].resolve())
    return target


def _table(before: dict[str, float], after: dict[str, float], method: str, refined_label: str) -> list[str]:
    keys = list(SOD_LABELS)
    lower_is_better = {"mae"}
    lines = [
        "| maps | " + " | ".join(SOD_LABELS[k] for k in keys) + " |",
        "|---" * (len(keys) + 1) + "|",
        f"| {method} | " + " | ".join(f"{before[k]:.4f}" for k in keys) + " |",
        f"| {refined_label} | " + " | ".join(f"{after[k]:.4f}" for k in keys) + " |",
    ]
    changes = []
    for k in keys:
        change = after[k] - before[k]
        better = change < 0 if k in lower_is_better else change > 0
        changes.append(f"{change:+.4f}" + (" (better)" if better and abs(change) >= 5e-5 else ""))
    lines.append("| change | " + " | ".join(changes) + " |")
    return lines


def energy_diagnostics(
    model, stems: list[str], images: Path, maps: Path, masks: Path, step_size: float
) -> dict[str, float]:
    """Does the energy rank the ground truth below the map, and does its descent point towards it?

    At model resolution, in the checkpoint's Langevin space. Returns the fractions of images with
    U(gt) < U(map) and U(map > 0.5) < U(map), and the fraction of wrong pixels (|gt - map| > WRONG), pooled
    over the images, where the first noise-free descent step (the chain of ``gensal refine``) has the
    sign of gt - map. Of the change that first step makes to the map (sum of |delta Y| over all pixels,
    with step size ``step_size``), it also returns the share that moves pixels towards the ground truth
    and the share that moves them away from 0.5 (sharpening).
    """
    ebm = energy_model_of(model).eval()
    size = model.config.data.image_size
    space = model.config.train.energy_langevin_space
    image_files, map_files, mask_files = files_by_stem(images), files_by_stem(maps, MAP_SUFFIXES), files_by_stem(masks)
    gt_lower, sharp_lower, agree, wrong = 0, 0, 0, 0
    moved, moved_towards, moved_outwards = 0.0, 0.0, 0.0
    for stem in stems:
        image = image_to_tensor(io.read_rgb(image_files[stem]), size)
        given = map_to_tensor(io.read_map(map_files[stem]), size)
        truth = map_to_tensor(io.read_map(mask_files[stem]), size)
        with torch.no_grad():
            energy_map, energy_gt, energy_sharp = (float(ebm(y, image)) for y in (given, truth, (given > 0.5).float()))
        gt_lower += energy_gt < energy_map
        sharp_lower += energy_sharp < energy_map
        start = to_state(given, space)
        after = descend_energy(ebm, image, start, 1, step_size, space)
        first_step = after - start  # -(d^2/2) dU/dstate
        error = truth - given
        off = error.abs() > WRONG
        agree += int((first_step.sign() == error.sign())[off].sum())
        wrong += int(off.sum())
        change = from_state(after, space) - given
        size_of_change = change.abs()
        moved += float(size_of_change.sum())
        moved_towards += float(size_of_change[change.sign() == error.sign()].sum())
        moved_outwards += float(size_of_change[change.sign() == (given - 0.5).sign()].sum())
    count = max(len(stems), 1)
    return {
        "images": len(stems),
        "gt_lower": gt_lower / count,
        "thresholded_lower": sharp_lower / count,
        "towards_gt": agree / max(wrong, 1),
        "wrong_fraction": wrong / (count * math.prod(image_sides(size))),
        "change_towards_gt": moved_towards / max(moved, 1e-12),
        "change_sharpening": moved_outwards / max(moved, 1e-12),
    }


def draw_figure(
    path: Path, stems: list[str], images: Path, before: Path, after: Path, masks: Path, scores: dict
) -> None:
    """Rows of image | before | after | ground truth for ``stems``, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image_files = files_by_stem(images)
    before_files = files_by_stem(before, MAP_SUFFIXES)
    mask_files = files_by_stem(masks)
    fig, axes = plt.subplots(len(stems), 4, figsize=(10, 2.3 * len(stems)), squeeze=False)
    for row, stem in zip(axes, stems, strict=True):
        panels = [
            (io.read_rgb(image_files[stem]), stem),
            (io.read_map(before_files[stem]), f"before (MAE {scores['before'][stem]['mae']:.3f})"),
            (io.read_gray(after / f"{stem}.png"), f"after (MAE {scores['after'][stem]['mae']:.3f})"),
            (io.read_gray(mask_files[stem]), "ground truth"),
        ]
        for ax, (array, title) in zip(row, panels, strict=True):
            ax.imshow(array, cmap=None if array.ndim == 3 else "gray", vmin=0, vmax=255 if array.ndim == 2 else None)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    io.save_figure(fig, path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="cooperative checkpoint or run folder")
    parser.add_argument("--method", default="ScribbleSaliency_CVPR2020", help="folder under predictions/")
    parser.add_argument("--data", default=str(DATA), help="ECSSD folder (images/, masks/, predictions/)")
    parser.add_argument("--steps", type=int, default=None, help="default: the checkpoint's K")
    parser.add_argument("--step-size", type=float, default=None, help="default: the checkpoint's d")
    parser.add_argument("--limit", type=int, default=None, help="only the first N names (quick checks)")
    parser.add_argument("--output", default=None, help="refined maps (default outputs/refine-ecssd/METHOD)")
    parser.add_argument("--results", default=str(results_file.RESULTS), help="the RESULTS.md to update")
    parser.add_argument("--figure", default=str(REPO / "docs" / "images" / "refine-ecssd.png"))
    parser.add_argument("--workers", type=int, default=None, help="evaluation worker processes")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch CPU threads (default: its choice)")
    parser.add_argument("--diagnose", type=int, default=200, help="images for the energy diagnostics (0: none)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    data = Path(args.data)
    images, masks, maps = data / "images", data / "masks", data / "predictions" / args.method
    output = Path(args.output or REPO / "outputs" / "refine-ecssd" / args.method)
    stems = sorted(files_by_stem(maps, MAP_SUFFIXES))
    if args.limit is not None:
        stems = stems[: args.limit]
        inputs = output.parent / f".{output.name}-inputs"
        images = _subset(images, stems, inputs / "images", io.IMAGE_SUFFIXES)
        masks = _subset(masks, stems, inputs / "masks", io.IMAGE_SUFFIXES)
        maps = _subset(maps, stems, inputs / "maps", MAP_SUFFIXES)

    model = load_model(args.model)
    start = time.perf_counter()
    summary = refine_folder(model, images, maps, output, steps=args.steps, step_size=args.step_size)
    seconds = time.perf_counter() - start
    scored = {
        "before": evaluate_sod(masks, args.method, maps, workers=args.workers, progress=False),
        "after": evaluate_sod(masks, f"{args.method} + EBM", output, workers=args.workers, progress=False),
    }
    before, after = scored["before"].summary, scored["after"].summary
    per_image = {key: result.per_image for key, result in scored.items()}
    improved_mae = np.mean([per_image["after"][s]["mae"] < per_image["before"][s]["mae"] for s in stems])
    improved_s = np.mean([per_image["after"][s]["s_measure"] > per_image["before"][s]["s_measure"] for s in stems])

    figure_stems = [stems[i] for i in np.linspace(0, len(stems) - 1, min(FIGURE_ROWS, len(stems))).astype(int)]
    figure = Path(args.figure)
    draw_figure(figure, figure_stems, images, maps, output, masks, per_image)

    spaced = np.linspace(0, len(stems) - 1, min(args.diagnose, len(stems))).astype(int)
    diagnosed = [stems[i] for i in np.unique(spaced)]
    diagnostics = (
        energy_diagnostics(model, diagnosed, images, maps, masks, summary.step_size) if args.diagnose > 0 else None
    )

    training = json.loads((model.path / "checkpoint.json").read_text()).get("training", {})
    config = model.config
    refined_label = f"{args.method} + EBM ({summary.steps} steps, d = {summary.step_size:g}, {summary.space})"
    lines = [
        "## EBM refinement of another model's maps on ECSSD (benchmarks/refine_ecssd.py)",
        "",
        results_file.provenance(),
        f"{summary.files} ECSSD maps of {args.method} refined with `gensal refine` (paper 1, section 6.3): "
        f"noise-free Langevin on the energy of `{model.path}` (train.algorithm={config.train.algorithm}, "
        f"backbone {config.model.backbone}, step {training.get('step', '?')}, epoch {training.get('epoch', '?')}), "
        f"run at {summary.image_size[0]}x{summary.image_size[1]} (height x width) and applied as a "
        "full-resolution delta (docs/refine.md). Scores: `gensal.evaluate.evaluate_sod` against the ECSSD masks.",
        "",
        *_table(before, after, args.method, refined_label),
        "",
        f"Images improved: MAE {100 * improved_mae:.1f}%, S-measure {100 * improved_s:.1f}%. "
        f"Mean energy at model resolution {summary.energy_before:.4g} -> {summary.energy_after:.4g}. "
        f"Refinement time {seconds:.1f} s ({1000 * seconds / max(summary.files, 1):.0f} ms/image on "
        f"{torch.get_num_threads()} CPU thread(s), reading and writing included).",
        *_diagnostics_lines(diagnostics, args.method),
        "",
        f"![image, before, after, ground truth]({_relative(figure, Path(args.results).parent)})",
    ]
    text = "\n".join(lines)
    print(text)
    results_file.write_section(SECTION, text, Path(args.results))


def _diagnostics_lines(diagnostics: dict[str, float] | None, method: str) -> list[str]:
    if diagnostics is None:
        return []
    return [
        "",
        f"Does the energy know the better map? On {diagnostics['images']} evenly spaced images, at model "
        f"resolution: U(ground truth) < U({method} map) on {100 * diagnostics['gt_lower']:.1f}% of them; "
        f"U(the map thresholded at 0.5) < U(map) on {100 * diagnostics['thresholded_lower']:.1f}%; on the "
        f"pixels where the map is off by more than {WRONG} ({100 * diagnostics['wrong_fraction']:.1f}% of all), "
        f"the descent direction points towards the ground truth on {100 * diagnostics['towards_gt']:.1f}% "
        "(a useful refiner needs well over 50% on both the first and the last). Of the change the first "
        f"step makes to the maps (sum of |delta Y|), {100 * diagnostics['change_towards_gt']:.1f}% moves pixels "
        f"towards the ground truth and {100 * diagnostics['change_sharpening']:.1f}% moves them away from 0.5.",
    ]


def _relative(path: Path, start: Path) -> str:
    return os.path.relpath(path.resolve(), start.resolve())


if __name__ == "__main__":
    main()
