"""Trained models on ECSSD: predict the 1,000 images with `gensal predict` settings, score with `gensal evaluate`.

Each ``NAME=CHECKPOINT`` is run as ``gensal predict`` runs it (default N = 10 latent samples and the
checkpoint's refinement; deterministic and ABP models as they allow), the maps go to
``outputs/ecssd/NAME/``, and all of them are scored against the ECSSD masks in one table (S-measure, max F,
mean E, MAE and the rest) with the training time and steps read from each checkpoint. Already predicted
folders are reused unless ``--overwrite``.

    python benchmarks/ecssd_models.py coop-cpu=models/coop-cpu coop-cpu-K0=models/coop-cpu,0 \\
        lvm-abp-cpu=runs/lvm-abp-cpu [--limit N]

``NAME=CHECKPOINT,K`` predicts with K refinement steps instead of the checkpoint's (``,0``: none), and
``NAME=CHECKPOINT,K,N`` with N latent samples too.

Other data: ``--images DIR --masks DIR`` (default ECSSD), and ``--split FILE --subset validation`` to score
only that list of a split file, e.g. the DUTS-TR validation images that the training configs hold out
(``--images ../shared/data/duts-tr/images --masks ../shared/data/duts-tr/masks --split
configs/splits/duts-tr-seed0.json --subset validation --no-write``), for choosing settings without
touching the test set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from gensal.checkpoint import read_checkpoint
from gensal.data.splits import SPLIT_NAMES, read_split
from gensal.evaluate import evaluate_sod
from gensal.inference import list_inputs
from gensal.io import write_json
from gensal.predict import Predictor, predict_files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import provenance, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ECSSD = ROOT / ".." / "shared" / "data" / "ecssd"
COLUMNS = ("s_measure", "max_f", "mean_e", "mae", "weighted_f", "mean_f", "max_e")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="NAME=CHECKPOINT[,K]")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images (a quick check)")
    parser.add_argument("--images", default=str(ECSSD / "images"), help="folder of images (default: ECSSD)")
    parser.add_argument("--masks", default=str(ECSSD / "masks"), help="folder of ground-truth masks")
    parser.add_argument("--split", default=None, help="a split file (gensal.data.splits); see --subset")
    parser.add_argument("--subset", default="validation", choices=SPLIT_NAMES, help="the split's list to score")
    parser.add_argument("--step-size", type=float, default=None, help="refinement step size (default: training's)")
    parser.add_argument("--samples", type=int, default=None, help="default: the model's stored default, else 10")
    parser.add_argument("--output", default=str(ROOT / "outputs" / "ecssd"))
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--section", default="ecssd_models", help="RESULTS.md section to (re)write")
    parser.add_argument("--title", default="Trained models on ECSSD", help="heading of that section")
    parser.add_argument("--note", default="", help="a paragraph added under the table")
    parser.add_argument(
        "--relative-to", default=None, metavar="NAME", help="add each model's scores as a percentage of NAME's"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    images = list_inputs(Path(args.images))
    if args.split is not None:
        chosen = set(read_split(args.split)[args.subset])
        images = [p for p in images if p.stem in chosen]
    images = images[: args.limit]
    partial = args.limit is not None or args.split is not None
    data_name = "ECSSD" if Path(args.images).resolve() == (ECSSD / "images").resolve() else args.images
    rows = []
    for spec in args.models:
        name, checkpoint_path = spec.split("=", 1)
        refine_steps, samples = None, args.samples
        if "," in checkpoint_path:
            checkpoint_path, *numbers = checkpoint_path.split(",")
            refine_steps = int(numbers[0])
            if len(numbers) > 1:
                samples = int(numbers[1])
        checkpoint = read_checkpoint(checkpoint_path)
        folder = Path(args.output) / name
        predictor = Predictor(checkpoint.path, samples=samples, refine_steps=refine_steps, step_size=args.step_size)
        done = folder.is_dir() and all((folder / f"{p.stem}.png").exists() for p in images)
        timing_file = folder / "timing.json"
        if args.overwrite or not done:
            timing = predict_files(predictor, images, folder)
            timing["threads"] = torch.get_num_threads()
            write_json(timing_file, timing)
        timing = json.loads(timing_file.read_text()) if timing_file.exists() else {}
        seconds_per_image = timing.get("seconds_per_image", float("nan"))
        result = evaluate_sod(Path(args.masks), name, folder, intersection=partial)
        training = checkpoint.training
        rows.append(
            {
                "name": name,
                "algorithm": checkpoint.config.train.algorithm,
                "minutes": training.get("elapsed_seconds", float("nan")) / 60,
                "steps": training.get("step", 0),
                "how": f"N={predictor.samples}, K={predictor.refine_steps}",
                "seconds_per_image": seconds_per_image,
                **result.summary,
            }
        )
        print(name, {k: round(v, 4) for k, v in result.summary.items()})

    header = "| model | algorithm | training | prediction | " + " | ".join(COLUMNS) + " |"
    lines = [header, "|" + "---|" * (4 + len(COLUMNS))]
    for row in rows:
        metrics = " | ".join(f"{row[c]:.4f}" for c in COLUMNS)
        lines.append(
            f"| {row['name']} | {row['algorithm']} | {row['minutes']:.0f} min, {row['steps']} steps | "
            f"{row['how']}, {row['seconds_per_image']:.2f} s/img | {metrics} |"
        )
    relative = ""
    if args.relative_to is not None:
        reference = next((row for row in rows if row["name"] == args.relative_to), None)
        if reference is None:
            parser.error(f"--relative-to {args.relative_to}: not one of the models given")
        relative = (
            f"\nAs a percentage of {args.relative_to}'s score (MAE: its MAE over the model's, so that higher is "
            "better here too): "
            + "; ".join(
                f"{row['name']}: "
                + ", ".join(
                    f"{c} {100 * (reference[c] / row[c] if c == 'mae' else row[c] / reference[c]):.1f}%"
                    for c in COLUMNS[:4]
                )
                for row in rows
                if row is not reference
            )
            + ".\n"
        )
    body = (
        f"## {args.title} ({len(images):,} images)\n\n"
        + provenance()
        + f"\nTrained on DUTS-TR images of `../shared/data/duts-tr/`, evaluated on "
        f"{len(images)} {data_name} images with `gensal evaluate` conventions (PySODMetrics; max F over 256 "
        "thresholds of the per-image F curves). Prediction time per image includes reading and writing "
        "files, on this machine's 2 cores (measured when the maps were made; `timing.json` beside them).\n\n"
        + "\n".join(lines)
        + "\n"
        + relative
        + (f"\n{args.note}\n" if args.note else "")
    )
    print(body)
    if not args.no_write:
        write_section(args.section, body)


if __name__ == "__main__":
    main()
