"""Fixation models on the OSIE test split: predict with `gensal predict`, score with `gensal evaluate`.

Each ``NAME=CHECKPOINT`` predicts the 100 test images of ``configs/splits/osie-seed0.json`` as
``gensal predict --log-density`` does (maps in ``outputs/osie/NAME/``, log-densities in
``outputs/osie/NAME/log_density/``); a centre-bias baseline (:func:`gensal.metrics.fixation.center_bias`,
the benchmark's usual reference, written the same way) joins them, and all are scored on the test images'
fixations with every MIT benchmark metric (`gensal evaluate --task fixation` conventions: the PNG maps,
sAUC negatives from the other test images, information gain over the centre bias). The training time and
steps are read from each checkpoint. Already predicted folders are reused unless ``--overwrite``. A figure
(image with its fixations | ground-truth fixation map | each model's map, or those named by ``--figure-models``, for 4
evenly spaced test images) goes to ``docs/images/osie-examples.png``.

    python benchmarks/osie_fixation.py salgan-cpu=models/salgan-cpu salgan-bce-cpu=runs/salgan-bce-cpu

``NAME=CHECKPOINT,blur=F`` predicts with that post-processing blur (``gensal predict --blur F``: sigma F x the
image width) instead of the model's own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from gensal.checkpoint import read_checkpoint
from gensal.data.fixations import fixation_density, read_fixations
from gensal.data.splits import SPLIT_NAMES, read_split
from gensal.evaluate import evaluate_fixation
from gensal.io import read_gray, read_rgb, save_figure, write_gray_png, write_json, write_npy
from gensal.metrics.fixation import ALL_METRICS, center_bias, log_density_from_map
from gensal.predict import Predictor, predict_files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import provenance, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OSIE = ROOT / ".." / "shared" / "data" / "osie"
SPLIT = ROOT / "configs" / "splits" / "osie-seed0.json"
LOWER_IS_BETTER = {"kl_div", "emd"}
MAP_LABELS = {"png": "8-bit PNG", "density": "float .npy"}
FIGURE_ROWS = 4


def write_center_bias(fixations: dict, folder: Path) -> None:
    """The centre-bias baseline as maps and log-densities, at each test image's size."""
    for stem, record in fixations.items():
        baseline = center_bias(record.height, record.width)
        write_gray_png(folder / f"{stem}.png", baseline)
        write_npy(folder / "log_density" / f"{stem}.npy", log_density_from_map(baseline))


def draw_figure(path: Path, fixations: dict, images: dict, folders: list, scores: dict) -> None:
    """Rows of image (fixations as dots) | fixation map | each folder's map with its NSS and CC."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(fixations)
    stems = [names[i] for i in np.linspace(0, len(names) - 1, min(FIGURE_ROWS, len(names))).astype(int)]
    columns = 2 + len(folders)
    figure, axes = plt.subplots(len(stems), columns, figsize=(2.6 * columns, 2.1 * len(stems)), squeeze=False)
    for row, stem in zip(axes, stems, strict=True):
        record = fixations[stem]
        row[0].imshow(read_rgb(images[stem]))
        row[0].scatter(record.xs, record.ys, s=2, c="yellow", linewidths=0)
        row[0].set_title(f"{stem} ({len(record)} fixations)", fontsize=8)
        row[1].imshow(fixation_density(record), cmap="gray", vmin=0, vmax=1)
        row[1].set_title("fixation map", fontsize=8)
        for axis, (name, folder) in zip(row[2:], folders, strict=True):
            axis.imshow(read_gray(folder / f"{stem}.png"), cmap="gray", vmin=0, vmax=255)
            per_image = scores[name][stem]
            axis.set_title(f"{name}\nNSS {per_image['nss']:.2f}, CC {per_image['cc']:.2f}", fontsize=8)
    for axis in axes.flat:
        axis.axis("off")
    save_figure(figure, path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", metavar="NAME=CHECKPOINT")
    parser.add_argument("--split", default=str(SPLIT), help="split file (its 'test' names are scored)")
    parser.add_argument("--subset", default="test", choices=SPLIT_NAMES)
    parser.add_argument("--metrics", default=",".join(m for m in ALL_METRICS if m != "emd"))
    parser.add_argument("--output", default=str(ROOT / "outputs" / "osie"))
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--figure", default=str(ROOT / "docs" / "images" / "osie-examples.png"), help="drawn for --subset test only"
    )
    parser.add_argument(
        "--figure-models",
        default=None,
        help="comma-separated NAMEs drawn in the figure (default: all; the centre bias always)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md and the figure alone")
    parser.add_argument("--section", default=None, help="RESULTS.md section to (re)write (default: osie_SUBSET)")
    parser.add_argument("--title", default=None, help="heading of that section")
    parser.add_argument(
        "--maps",
        default="png,density",
        help="what to score, comma-separated: 'png' (the 8-bit maps) and/or 'density' (the float64 .npy "
        "log-densities, the model's output at full precision)",
    )
    args = parser.parse_args()
    malformed = [spec for spec in args.models if "=" not in spec]
    if malformed:
        parser.error(f"expected NAME=CHECKPOINT, got {', '.join(malformed)}")
    specs = [spec.split("=", 1) for spec in args.models]
    blurs = {}
    for spec in specs:
        if ",blur=" in spec[1]:
            spec[1], value = spec[1].split(",blur=", 1)
            blurs[spec[0]] = float(value)
    metrics = args.metrics.split(",")
    sources = args.maps.split(",")
    unknown = sorted(set(sources) - {"png", "density"})
    if unknown:
        parser.error(f"--maps: unknown {', '.join(unknown)}; expected png and/or density")
    given = {"center bias", *(name for name, _ in specs)}
    drawn = given if args.figure_models is None else {"center bias", *args.figure_models.split(",")}
    if drawn - given:
        parser.error(f"--figure-models: {', '.join(sorted(drawn - given))} not among the models given")
    if args.threads:
        torch.set_num_threads(args.threads)

    names = read_split(args.split)[args.subset]
    every = read_fixations(OSIE / "fixations" / "fixations.mat", image_dir=OSIE / "images")
    fixations = {name: every[name] for name in names}
    images = [OSIE / "images" / f"{name}.jpg" for name in names]

    rows = []
    output = Path(args.output)
    baseline = output / "center-bias"
    if args.overwrite or not baseline.is_dir():
        write_center_bias(fixations, baseline)
    folders = [("center bias", None, baseline, {})]
    for name, checkpoint_path in specs:
        folder = output / name
        done = folder.is_dir() and all((folder / f"{p.stem}.png").exists() for p in images)
        if args.overwrite or not done:
            predictor = Predictor(checkpoint_path, blur=blurs.get(name))
            timing = predict_files(predictor, images, folder, log_density=True)
            timing["threads"] = torch.get_num_threads()
            write_json(folder / "timing.json", timing)
        timing_file = folder / "timing.json"
        timing = json.loads(timing_file.read_text()) if timing_file.exists() else {}
        folders.append((name, read_checkpoint(checkpoint_path), folder, timing))

    per_image = {}
    for (name, checkpoint, folder, timing), source in ((f, s) for s in sources for f in folders):
        scored = folder if source == "png" else folder / "log_density"
        result = evaluate_fixation(fixations, name, scored, progress=False)
        if source == sources[0]:
            per_image[name] = result.per_image
        row = {"name": name, "maps": MAP_LABELS[source], "training": "-", "prediction": "-", **result.summary}
        if checkpoint is not None:
            train, state = checkpoint.config.train, checkpoint.training
            variant = "BCE + adversarial" if train.adversarial else "BCE only"
            row["training"] = (
                f"{variant}, {state.get('elapsed_seconds', float('nan')) / 60:.0f} min, {state.get('step', 0)} steps"
            )
            if train.init_from:
                row["training"] += f", started from {train.init_from}"
            row["prediction"] = f"{timing.get('seconds_per_image', float('nan')):.3f} s/img"
        rows.append(row)
        print(name, source, {m: round(result.summary[m], 4) for m in metrics if m in result.summary})

    arrows = {m: ("lower better" if m in LOWER_IS_BETTER else "higher better") for m in metrics}
    header = "| model | maps | training | prediction | " + " | ".join(f"{m} ({arrows[m]})" for m in metrics) + " |"
    lines = [header, "|" + "---|" * (4 + len(metrics))]
    for row in rows:
        values = " | ".join(f"{row[m]:.4f}" for m in metrics)
        lines.append(f"| {row['name']} | {row['maps']} | {row['training']} | {row['prediction']} | {values} |")
    body = (
        f"## {args.title or f'Fixation models on the OSIE {args.subset} split'} ({len(names)} images)\n\n"
        + provenance()
        + f"\nSplit `{Path(args.split).name}` ({args.subset} names), fixations from "
        "`../shared/data/osie/fixations/fixations.mat`; metrics as `gensal evaluate --task fixation` (MIT "
        "saliency benchmark definitions; sAUC negatives from the other images of the split; information gain "
        "in bits over the centre bias, so the centre bias scores about 0: its map is stored as an 8-bit PNG). "
        "Maps 'png' are the 8-bit PNGs `gensal predict` writes; 'density' the float64 log-densities of "
        "`--log-density` (the same map at full precision: 8-bit rounding sets every value below 1/510 to 0, "
        "which KL and information gain punish with the eps of the MIT code). "
        "Prediction time per image includes reading and writing files, on this machine's cores.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(body)
    if not args.no_write:
        write_section(args.section or f"osie_{args.subset}", body)
        if args.subset != "test":
            return  # the figure shows the test images
        image_files = {path.stem: path for path in images}
        shown = [(n, f) for n, _, f, _ in folders if n in drawn]
        draw_figure(Path(args.figure), fixations, image_files, shown, per_image)


if __name__ == "__main__":
    main()
