"""Prediction speed: cooperative prediction (N latent samples + K refinement steps) vs one deterministic pass.

The issue's target: N = 10 samples plus refinement in at most 1.5x the time of one deterministic forward
pass of the same network, at 352x352 on this CPU. "The same network" is the generator of the model being
timed with one pass and nothing else (the deterministic ablation G(X) has the same encoder and decoder, only
without the latent input; its pass is timed too). The networks are built from a checkpoint's config (the
shipped model by default; weights do not change the time) and run in eval mode on one image at a time,
with all cores; the configurations alternate within each round and the median of ``--repeats`` rounds of
``--images`` images each is reported.

    python benchmarks/predict_speed.py [--model models/coop-cpu] [--size 352] [--images 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from gensal.checkpoint import load_model
from gensal.models import create_model
from gensal.predict import DEFAULT_MODELS, Predictor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import provenance, write_section  # noqa: E402


def time_call(function, images: list[torch.Tensor]) -> float:
    """Seconds per image of ``function`` over ``images`` (one call per image)."""
    start = time.perf_counter()
    for index, image in enumerate(images):
        function(image, f"image{index}")
    return (time.perf_counter() - start) / len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODELS["sod"]), help="checkpoint whose networks are timed")
    parser.add_argument("--size", type=int, default=352)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()

    loaded = load_model(args.model)
    model = loaded.config.model
    deterministic = create_model(
        "deterministic", backbone=model.backbone, pretrained=False, decoder_channels=model.decoder_channels
    ).eval()
    generator = torch.Generator().manual_seed(0)
    images = [torch.rand(1, 3, args.size, args.size, generator=generator) for _ in range(args.images)]
    cooperative = Predictor(loaded, samples=args.samples)
    one_sample = Predictor(loaded, samples=1, refine_steps=0)
    samples_only = Predictor(loaded, samples=args.samples, refine_steps=0)
    with_uncertainty = Predictor(loaded, samples=args.samples)

    def one_pass(image, _name):
        with torch.no_grad():
            return loaded.generator(image, torch.zeros(1, loaded.generator.latent_dim))

    configurations = {
        "one pass of the generator (h = 0, no refinement)": one_pass,
        "one pass of the deterministic ablation G(X)": lambda image, _n: deterministic(image).detach(),
        "1 sample via `Predictor` (no refinement)": lambda image, n: one_sample.predict(image, [n]),
        f"{args.samples} samples (no refinement)": lambda image, n: samples_only.predict(image, [n]),
        f"{args.samples} samples + {cooperative.refine_steps} refinement steps (`gensal predict` default)": (
            lambda image, n: cooperative.predict(image, [n])
        ),
        f"{args.samples} samples + refinement + uncertainty maps": (
            lambda image, n: with_uncertainty.predict(image, [n], uncertainty=True)
        ),
    }
    for function in configurations.values():  # warm-up
        function(images[0], "warm-up")
    runs: dict[str, list[float]] = {name: [] for name in configurations}
    for _ in range(args.repeats):
        for name, function in configurations.items():
            runs[name].append(time_call(function, images))
    median = {name: statistics.median(values) for name, values in runs.items()}
    base = median["one pass of the generator (h = 0, no refinement)"]
    rows = "\n".join(f"| {name} | {seconds:.3f} | {seconds / base:.2f}x |" for name, seconds in median.items())
    target = median[next(n for n in configurations if "`gensal predict` default" in n)] / base
    body = (
        "## Prediction speed (`gensal predict`)\n\n"
        + provenance()
        + f"\nNetworks of `{Path(args.model).name}` ({model.backbone}, decoder width {model.decoder_channels}, "
        f"energy widths {list(model.ebm_channels)}), one {args.size}x{args.size} image at a time, "
        f"{torch.get_num_threads()} threads, median of {args.repeats} rounds of {args.images} images.\n\n"
        "| configuration | seconds / image | vs one pass |\n|---|---|---|\n"
        + rows
        + f"\n\nTarget: {args.samples} samples + refinement within 1.5x of one pass: measured **{target:.2f}x**"
        + (" (met).\n" if target <= 1.5 else " (not met).\n")
    )
    print(body)
    if not args.no_write:
        write_section("predict_speed", body)


if __name__ == "__main__":
    main()
