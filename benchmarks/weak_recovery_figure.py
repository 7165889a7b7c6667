"""Annotation recovery of Algorithm 2 (paper 1, Figure 2): image | ground truth | scribbles | recovered.

Runs lines 3-5 of Algorithm 2 (:func:`gensal.training.weak.recover`: latent Langevin on the scribbled
pixels only, G(X, h'), then the energy's revision) with a trained ``cooperative-weak`` checkpoint on a few
evenly spaced training images and draws them beside their full masks, which the training never used:

    python benchmarks/weak_recovery_figure.py runs/weak-cpu [--rows 4] [--output docs/images/weak-recovery-examples.png]

The networks are in eval mode (BatchNorm running statistics) and the Langevin noise is seeded, so the
figure is reproducible; during training the same recovery runs in train mode on each batch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from gensal import io
from gensal.checkpoint import load_model
from gensal.data.scribbles import ScribbleTrainDataset
from gensal.training.weak import recover

REPO = Path(__file__).resolve().parents[1]
SALIENT_COLOUR = np.array([255, 220, 0])
BACKGROUND_COLOUR = np.array([0, 110, 255])


def overlay(image: torch.Tensor, partial: torch.Tensor, visible: torch.Tensor) -> np.ndarray:
    """The image with salient scribbles in yellow and background scribbles in blue (as the paper's figure)."""
    rgb = (image.permute(1, 2, 0).numpy() * 255).astype(np.uint8).copy()
    labelled, salient = visible[0].numpy() > 0.5, partial[0].numpy() > 0.5
    rgb[labelled & salient] = SALIENT_COLOUR
    rgb[labelled & ~salient] = BACKGROUND_COLOUR
    return rgb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="cooperative-weak checkpoint or run folder")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0, help="seed of h and the Langevin noise")
    parser.add_argument("--output", default=str(REPO / "docs" / "images" / "weak-recovery-examples.png"))
    args = parser.parse_args()

    model = load_model(args.run)
    config = model.config
    if config.train.algorithm != "cooperative-weak" or model.ebm is None:
        raise SystemExit(f"{args.run}: trained with train.algorithm={config.train.algorithm}, not cooperative-weak")
    data = config.data
    if data.train_masks is None:
        raise SystemExit(f"{args.run}: its config names no data.train_masks to compare the recovery with")
    dataset = ScribbleTrainDataset(
        data.train_images, data.train_scribbles, data.image_size, masks_dir=data.train_masks, hflip=False
    )
    indices = np.linspace(0, len(dataset) - 1, args.rows).astype(int)
    image, partial, visible, full = (torch.stack(parts) for parts in zip(*(dataset[i] for i in indices), strict=True))
    generator = torch.Generator().manual_seed(args.seed)
    features = [f.detach() for f in model.generator.encode(image)]
    lvm_recovery, recovered = recover(
        model.generator, model.ebm, image, features, partial, visible, config.train, generator
    )
    recovered = recovered.clamp(0.0, 1.0)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(indices), 5, figsize=(11.5, 2.4 * len(indices)), squeeze=False)
    for row, index in enumerate(indices):
        stem = dataset.items[index][0]
        mae_g = float((lvm_recovery[row] - full[row]).abs().mean())
        mae_r = float((recovered[row] - full[row]).abs().mean())
        panels = [
            (image[row].permute(1, 2, 0).numpy(), stem),
            (full[row, 0].numpy(), "ground truth (unused)"),
            (overlay(image[row], partial[row], visible[row]), f"scribbles ({100 * float(visible[row].mean()):.1f}%)"),
            (lvm_recovery[row, 0].numpy(), f"G(X, h') (MAE {mae_g:.3f})"),
            (recovered[row, 0].detach().numpy(), f"revised (MAE {mae_r:.3f})"),
        ]
        for ax, (array, title) in zip(axes[row], panels, strict=True):
            ax.imshow(array, cmap=None if array.ndim == 3 else "gray", vmin=0, vmax=1 if array.ndim == 2 else None)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    io.save_figure(fig, args.output, dpi=80)
    print(f"wrote {args.output} ({len(indices)} training images of {args.run})")


if __name__ == "__main__":
    main()
