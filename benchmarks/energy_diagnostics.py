"""Does an energy know what a salient object looks like? A few-minute diagnostic on held-out training data.

For each image of a validation list (default: the 200 DUTS-TR images that ``configs/splits/duts-tr-seed0.json``
holds out of training) and for several kinds of wrong maps, it reports:

* ``prefers gt``: the share of images with U(ground truth) < U(wrong map);
* ``towards gt``: the share of one noise-free descent step's change (sum of |delta Y|) that moves pixels
  towards the ground truth (50%: the descent ignores the errors);
* MAE and S-measure of the wrong maps before and after K noise-free descent steps (what refinement does).

Kinds of wrong maps: one sample of the model's own generator (``own``), the map of each ``--other
NAME=CHECKPOINT`` generator, and the ground truth corrupted by each kind of
:data:`gensal.training.energy.CORRUPTIONS` (blurred, dilated, ...; one seeded draw per image).
Everything runs at the model's training resolution; S-measure is computed there too.

    python benchmarks/energy_diagnostics.py --model runs/energy-x --other det=runs/det [--limit 100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from gensal.checkpoint import load_model
from gensal.data.sod import pair_images_and_masks, resized, sides, to_tensor
from gensal.data.splits import SPLIT_NAMES, read_split
from gensal.io import read_gray, read_rgb
from gensal.metrics.sod import prepare, s_measure
from gensal.refinement import descend_energy, from_state, to_state
from gensal.training.energy import CORRUPTIONS, corrupt, proposals

ROOT = Path(__file__).resolve().parents[1]
DUTS = ROOT / ".." / "shared" / "data" / "duts-tr"


def load_batch(pairs, size):
    images, masks = [], []
    for _, image_path, mask_path in pairs:
        images.append(to_tensor(resized(read_rgb(image_path), size)))
        masks.append(to_tensor(resized(read_gray(mask_path), size)))
    return torch.stack(images), torch.stack(masks)


def s_of(maps: torch.Tensor, masks: torch.Tensor) -> list[float]:
    """S-measure of each map with the evaluation's conventions (min-max normalised, mask > 128)."""
    return [
        s_measure(*prepare(m[0].numpy().astype(np.float64), (g[0].numpy() * 255).round().astype(np.uint8)))
        for m, g in zip(maps.clamp(0, 1), masks, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="checkpoint or run folder with an energy model")
    parser.add_argument("--other", action="append", default=[], metavar="NAME=CHECKPOINT", help="other generators")
    parser.add_argument("--images", default=str(DUTS / "images"))
    parser.add_argument("--masks", default=str(DUTS / "masks"))
    parser.add_argument("--split", default=str(ROOT / "configs" / "splits" / "duts-tr-seed0.json"))
    parser.add_argument("--subset", default="validation", choices=SPLIT_NAMES)
    parser.add_argument("--limit", type=int, default=64, help="the first N images of the list")
    parser.add_argument("--steps", type=int, default=None, help="K descent steps (default: the model's)")
    parser.add_argument("--step-size", type=float, default=None, help="d (default: the model's)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--kinds", default=None, help="comma-separated kinds to run (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.monotonic()

    model = load_model(args.model)
    if model.ebm is None:
        parser.error(f"--model {args.model}: holds no energy model")
    train = model.config.train
    space = train.energy_langevin_space
    steps = args.steps if args.steps is not None else train.energy_langevin_steps
    step_size = args.step_size if args.step_size is not None else train.energy_step_size
    size = sides(model.config.data.image_size)
    others = {}
    for spec in args.other:
        name, path = spec.split("=", 1)
        others[name] = load_model(path).generator
    chosen = set(read_split(args.split)[args.subset])
    pairs = [p for p in pair_images_and_masks(args.images, args.masks) if p[0] in chosen][: args.limit]
    kinds = ["own", *others, *CORRUPTIONS]
    if args.kinds:
        kinds = [k for k in kinds if k in args.kinds.split(",")]
    stats = {k: {"prefers": [], "towards": [], "mae0": [], "mae1": [], "s0": [], "s1": []} for k in kinds}
    sampler = torch.Generator().manual_seed(0)

    for start in range(0, len(pairs), args.batch):
        image, mask = load_batch(pairs[start : start + args.batch], size)
        for kind in kinds:
            if kind == "own":
                wrong = proposals(model.generator, image, sampler)
            elif kind in others:
                wrong = proposals(others[kind], image, sampler)
            else:
                wrong = torch.stack([corrupt(m, kind, sampler) for m in mask])
            with torch.no_grad():
                prefers = (model.ebm(mask, image) < model.ebm(wrong, image)).float()
            state = descend_energy(model.ebm, image, to_state(wrong, space), 1, step_size, space)
            change = from_state(state, space) - wrong
            good = (change * torch.sign(mask - wrong) > 0).float()
            towards = (change.abs() * good).flatten(1).sum(1) / change.abs().flatten(1).sum(1).clamp_min(1e-12)
            if steps > 1:
                state = descend_energy(model.ebm, image, state, steps - 1, step_size, space)
            refined = from_state(state, space).clamp(0, 1)
            entry = stats[kind]
            entry["prefers"] += prefers.tolist()
            entry["towards"] += towards.tolist()
            entry["mae0"] += (wrong - mask).abs().flatten(1).mean(1).tolist()
            entry["mae1"] += (refined - mask).abs().flatten(1).mean(1).tolist()
            entry["s0"] += s_of(wrong, mask)
            entry["s1"] += s_of(refined, mask)

    print(
        f"energy diagnostics: {args.model} on {len(pairs)} {args.subset} images, K = {steps}, d = {step_size}, "
        f"{space} space, {time.monotonic() - started:.0f} s"
    )
    print("| wrong maps | prefers gt | towards gt | MAE before | MAE after | S before | S after |")
    print("|---|---|---|---|---|---|---|")
    for kind in kinds:
        e = {k: float(np.mean(v)) for k, v in stats[kind].items()}
        print(
            f"| {kind} | {100 * e['prefers']:.1f}% | {100 * e['towards']:.1f}% | {e['mae0']:.4f} | {e['mae1']:.4f} "
            f"| {e['s0']:.4f} | {e['s1']:.4f} |"
        )


if __name__ == "__main__":
    main()
