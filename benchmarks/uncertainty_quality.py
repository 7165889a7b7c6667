"""How good are a model's uncertainty maps and how diverse are its samples? (paper 1, section 6.5)

For each image of a folder (default: the DUTS-TR validation list of ``configs/splits/duts-tr-seed0.json``;
``--images/--masks`` and ``--split`` for others, e.g. ECSSD without a split) the model predicts N samples
at its resolution as ``gensal predict`` does, and the script reports, averaged over images
(:mod:`gensal.metrics.uncertainty`): AUROC and AUPR of the predictive entropy for the pixels where the
mean map thresholded at .5 is wrong, the expected calibration error of the mean map (15 bins), AUSE of
the entropy against |mean - gt|, the correlation over images of mean entropy and MAE, the mean per-pixel
standard deviation of the samples and the generalised energy distance (1 - IoU) of the samples.

    python benchmarks/uncertainty_quality.py NAME=CHECKPOINT [...] [--limit 100] [--samples 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from gensal.data.sod import pair_images_and_masks, resized, sides, to_tensor
from gensal.data.splits import SPLIT_NAMES, read_split
from gensal.io import read_gray, read_rgb
from gensal.metrics.uncertainty import (
    calibration,
    error_detection,
    generalised_energy_distance,
    sample_spread,
    sparsification,
    uncertainty_error_correlation,
)
from gensal.predict import Predictor, binary_entropy

ROOT = Path(__file__).resolve().parents[1]
DUTS = ROOT / ".." / "shared" / "data" / "duts-tr"
COLUMNS = ("auroc", "aupr", "ece", "ause", "corr", "spread", "ged", "mae")


def score_model(predictor: Predictor, pairs, samples: int) -> dict[str, float]:
    size = sides(predictor.image_size)
    rows: dict[str, list[float]] = {k: [] for k in COLUMNS if k != "corr"}
    entropies = []
    for stem, image_path, mask_path in pairs:
        image = to_tensor(resized(read_rgb(image_path), size))[None]
        gt = resized(read_gray(mask_path), size) > 127
        with torch.no_grad():
            features = predictor.model.generator.encode(image)
            h = predictor._latents([stem]) if predictor.latent else None
            maps = torch.sigmoid(predictor.model.generator.decode(features, h, size=size))[:, 0].numpy()
        mean = maps.mean(axis=0)
        entropy = binary_entropy(torch.from_numpy(mean)).numpy()
        detection = error_detection(mean, entropy, gt.astype(float))
        rows["auroc"].append(detection["auroc"])
        rows["aupr"].append(detection["aupr"])
        rows["ece"].append(calibration(mean, gt.astype(float))["ece"])
        rows["ause"].append(sparsification(entropy, np.abs(mean - gt))["ause"])
        rows["spread"].append(sample_spread(maps))
        rows["ged"].append(generalised_energy_distance(maps, gt.astype(float)))
        rows["mae"].append(float(np.abs(mean - gt).mean()))
        entropies.append(float(entropy.mean()))
    result = {k: float(np.nanmean(v)) for k, v in rows.items()}
    result["corr"] = uncertainty_error_correlation(np.array(entropies), np.array(rows["mae"]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="NAME=CHECKPOINT")
    parser.add_argument("--images", default=str(DUTS / "images"))
    parser.add_argument("--masks", default=str(DUTS / "masks"))
    parser.add_argument("--split", default=str(ROOT / "configs" / "splits" / "duts-tr-seed0.json"))
    parser.add_argument("--subset", default="validation", choices=SPLIT_NAMES)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = pair_images_and_masks(args.images, args.masks)
    if args.split and args.split != "none":
        chosen = set(read_split(args.split)[args.subset])
        pairs = [p for p in pairs if p[0] in chosen]
    pairs = pairs[: args.limit]
    print(f"{len(pairs)} images, N = {args.samples} samples, at each model's resolution")
    print("| model | " + " | ".join(COLUMNS) + " | seconds |")
    print("|---|" + "---|" * (len(COLUMNS) + 1))
    for spec in args.models:
        name, path = spec.split("=", 1)
        started = time.monotonic()
        result = score_model(Predictor(path, samples=args.samples, refine_steps=0), pairs, args.samples)
        values = " | ".join(f"{result[k]:.4f}" for k in COLUMNS)
        print(f"| {name} | {values} | {time.monotonic() - started:.0f} |")


if __name__ == "__main__":
    main()
