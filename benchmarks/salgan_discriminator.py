"""Can SalGAN's discriminator learn on our data? D-only training against a fixed, trained generator.

In `runs/salgan-cpu` the discriminator stayed at chance for the whole adversarial phase (D(real) = D(fake)
= 0.50, loss ln 2; docs/salgan.md). This script separates "D cannot learn with these settings" from "the
generated maps cannot be told apart": it freezes a trained generator (by default the BCE-only run), computes
its maps once for the training and validation images of the OSIE split, and trains a fresh discriminator
(the run config's ``model.discriminator_*`` settings) on real (label 1) and generated (label 0) maps with
the adversarial phase's loss, for each learning rate asked for. Every ``--every`` steps it prints the
training loss and D(real), D(fake) and the accuracy on the validation images (threshold 0.5), which D never
trains on. The last line of each learning rate goes to ``benchmarks/RESULTS.md``.

    python benchmarks/salgan_discriminator.py runs/salgan-bce-cpu --init glorot,pytorch --lr 3e-4 --steps 75
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from gensal.checkpoint import load_model
from gensal.config import image_sides
from gensal.data.fixation_train import FixationTrainDataset
from gensal.models import create_model
from gensal.training.salgan import discriminator_loss

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import provenance, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def fixation_items(config, split_file: str, subset: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, H, W) and ground-truth maps (N, 1, H, W) of one subset, unflipped, at the model size."""
    data = config.data
    dataset = FixationTrainDataset(
        data.train_images,
        image_sides(data.image_size),
        fixations=data.train_fixations,
        sigma=data.fixation_sigma,
        split=split_file,
        hflip=False,
        subset=subset,
    )
    pairs = [dataset[i] for i in range(len(dataset))]
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


@torch.no_grad()
def generated_maps(generator: torch.nn.Module, images: torch.Tensor, batch: int = 25) -> torch.Tensor:
    return torch.cat([torch.sigmoid(generator(images[i : i + batch])) for i in range(0, len(images), batch)])


@torch.no_grad()
def validation_scores(discriminator, images, real, fake, batch: int = 50) -> dict[str, float]:
    starts = range(0, len(images), batch)
    real_p = torch.cat([torch.sigmoid(discriminator(images[i : i + batch], real[i : i + batch])) for i in starts])
    fake_p = torch.cat([torch.sigmoid(discriminator(images[i : i + batch], fake[i : i + batch])) for i in starts])
    accuracy = 0.5 * (float((real_p > 0.5).float().mean()) + float((fake_p < 0.5).float().mean()))
    return {"val_d_real": float(real_p.mean()), "val_d_fake": float(fake_p.mean()), "val_accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("generator", help="checkpoint or run folder of a trained SalGAN generator")
    parser.add_argument("--lr", default="3e-4,3e-3,3e-2", help="comma-separated discriminator learning rates")
    parser.add_argument("--optimizer", default="adagrad", choices=("adagrad", "adam"))
    parser.add_argument(
        "--init", default="glorot,pytorch", help="comma-separated initialisations of D: glorot, pytorch"
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--split", default=str(ROOT / "configs" / "splits" / "osie-seed0.json"))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    loaded = load_model(args.generator)
    config = loaded.config
    train_images, train_real = fixation_items(config, args.split, "train")
    val_images, val_real = fixation_items(config, args.split, "validation")
    train_fake = generated_maps(loaded.generator, train_images)
    val_fake = generated_maps(loaded.generator, val_images)
    print(f"{len(train_images)} training and {len(val_images)} validation images; generated maps ready")

    rows = []
    runs = [(init, float(lr)) for init in args.init.split(",") for lr in args.lr.split(",")]
    for init, lr in runs:
        torch.manual_seed(args.seed)
        discriminator = create_model(
            "salgan_discriminator",
            input_size=tuple(train_images.shape[-2:]),
            first_pool=config.model.discriminator_first_pool,
            weight_norm=config.model.discriminator_weight_norm,
            init=init,
        ).train()
        weight_decay = config.train.weight_decay
        if args.optimizer == "adagrad":
            optimizer = torch.optim.Adagrad(discriminator.parameters(), lr=lr, weight_decay=weight_decay)
        else:
            optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, weight_decay=weight_decay)
        rng = np.random.default_rng(args.seed)
        started = time.monotonic()
        window: list[dict[str, float]] = []
        for step in range(1, args.steps + 1):
            pick = torch.from_numpy(rng.choice(len(train_images), args.batch, replace=False))
            images = train_images[pick]
            terms = discriminator_loss(discriminator(images, train_real[pick]), discriminator(images, train_fake[pick]))
            optimizer.zero_grad(set_to_none=True)
            terms["discriminator"].backward()
            optimizer.step()
            window.append({k: float(v.detach()) for k, v in terms.items()})
            if step % args.every == 0 or step == args.steps:
                discriminator.eval()
                row = {
                    "init": init,
                    "lr": lr,
                    "step": step,
                    **{k: float(np.mean([w[k] for w in window])) for k in window[0]},
                    **validation_scores(discriminator, val_images, val_real, val_fake),
                    "seconds": time.monotonic() - started,
                }
                discriminator.train()
                window = []
                print(
                    " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True
                )
        rows.append(row)

    lines = [
        "| D init | D learning rate | steps | train loss (last window) | train D(real) | train D(fake) | val D(real) "
        "| val D(fake) | val accuracy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['init']} | {r['lr']:g} | {r['step']} | {r['discriminator']:.4f} | {r['d_real']:.3f} | "
            f"{r['d_fake']:.3f} | {r['val_d_real']:.3f} | {r['val_d_fake']:.3f} | {r['val_accuracy']:.3f} |"
        )
    body = (
        f"## SalGAN discriminator against a fixed generator ({Path(args.generator).name})\n\n"
        + provenance()
        + f"\nA fresh discriminator ({config.model.discriminator_first_pool}x{config.model.discriminator_first_pool} "
        f"first pool, weight norm {config.model.discriminator_weight_norm}) "
        f"trained alone, {args.optimizer} with "
        f"weight decay {config.train.weight_decay:g}, batches of {args.batch} training images of the OSIE split "
        "(real: ground-truth fixation maps, label 1; fake: the frozen generator's maps, label 0); D(real) and "
        "D(fake) are mean probabilities, accuracy at 0.5 on the validation images D never sees.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(body)
    if not args.no_write:
        write_section(f"salgan_discriminator_{args.optimizer}", body)


if __name__ == "__main__":
    main()
