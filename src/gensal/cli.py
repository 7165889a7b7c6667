"""The ``gensal`` command: argument parsing only; the work happens in the modules it calls.

Each subcommand has an ``_add_<name>(subparsers)`` function that declares its arguments and sets
``func`` to a small handler. Errors caused by the user (:class:`gensal.errors.GensalError`, including the
option checks of :func:`check_run_options`) are printed as one line on stderr and exit with status 2; a
file-system error (:class:`OSError`: a full disk, a file where a folder is needed, no permission) as one line
``gensal <command>: <path>: <reason>`` with status 1. Neither prints a traceback.
"""

from __future__ import annotations

import argparse
import sys

from gensal import __version__
from gensal.checks import (
    MAX_BLUR,
    MAX_FIGURE_COUNT,
    MAX_PARALLEL,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEP_SIZE,
    check_int_range,
    check_seed,
)
from gensal.errors import GensalError
from gensal.io import FIGURE_FORMATS

SEED_RANGE = f"0 to 2**{MAX_SEED.bit_length()} - 1"


def _add_run_options(parser: argparse.ArgumentParser, parallel: str) -> None:
    """``--workers`` (processes) or ``--threads`` (PyTorch threads), and ``--no-progress``."""
    if parallel == "workers":
        parser.add_argument(
            "--workers", type=int, default=None, help=f"worker processes, 1 to {MAX_PARALLEL} (default: all cores)"
        )
    else:
        parser.add_argument(
            "--threads", type=int, default=None, help=f"CPU threads, 1 to {MAX_PARALLEL} (default: PyTorch's choice)"
        )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def check_run_options(args: argparse.Namespace) -> None:
    """Check the options several commands share (``--threads``, ``--workers``, ``--seed``) before any work.

    Raises:
        ConfigError: a value out of range, naming the option.
    """
    for option in ("threads", "workers"):
        if getattr(args, option, None) is not None:
            check_int_range(getattr(args, option), f"--{option}", 1, MAX_PARALLEL)
    if getattr(args, "seed", None) is not None:
        check_seed(args.seed)


def _named_folder(text: str) -> tuple[str, str]:
    """Parse ``NAME=DIR`` (or a bare ``DIR``, named after its last path component)."""
    if "=" in text:
        name, folder = text.split("=", 1)
        if not name or not folder:
            raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
        return name, folder
    return text.rstrip("/").split("/")[-1] or text, text


def _add_evaluate(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score saliency maps against ground truth (SOD masks or eye fixations)",
        description="Score one or more folders of saliency maps against ground truth and print a "
        "methods x metrics table; also writes metrics.json and metrics.csv.",
    )
    parser.add_argument("--task", choices=["sod", "fixation"], default="sod")
    parser.add_argument(
        "--gt",
        required=True,
        help="sod: folder of masks; fixation: OSIE fixations.mat, SALICON fixation JSON, "
        "or a folder of binary fixation maps",
    )
    parser.add_argument(
        "--pred",
        action="append",
        required=True,
        type=_named_folder,
        metavar="NAME=DIR",
        help="a folder of saliency maps (PNG/JPEG, or .npy log-densities for fixations); repeat to compare",
    )
    parser.add_argument("--output", default="outputs/evaluate", help="folder for metrics.json / metrics.csv")
    parser.add_argument(
        "--metrics",
        default=None,
        metavar="LIST",
        help="compute only these comma-separated metrics, by key or column label (default: all); "
        "sod: s_measure, weighted_f, max_f, mean_f, adaptive_f, max_e, mean_e, adaptive_e, mae; "
        "fixation: auc_judd, auc_borji, auc_shuffled, nss, cc, kl_div, sim, emd, info_gain",
    )
    parser.add_argument("--curves", default=None, help="sod: draw PR and F-measure curves to this PNG")
    parser.add_argument(
        "--intersection",
        action="store_true",
        help="evaluate only the names present in both ground truth and predictions (says how many skipped)",
    )
    parser.add_argument(
        "--f-curve",
        choices=["per-image", "mean-pr"],
        default="per-image",
        help="sod: average per-image F curves (PySODMetrics, default) or take F of the mean PR curve "
        "(the MATLAB toolbox)",
    )
    parser.add_argument("--images", default=None, help="fixation: image folder (gives image sizes)")
    parser.add_argument("--seed", type=int, default=0, help=f"seed of the random parts (AUC-Borji, sAUC), {SEED_RANGE}")
    _add_run_options(parser, parallel="workers")
    parser.set_defaults(func=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from gensal.evaluate import run_evaluate

    run_evaluate(args)
    return 0


def _add_train(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the cooperative saliency model (Algorithm 1), an ablation, or SalGAN",
        description="Train from a YAML config (configs/*.yaml); section.key=value arguments override it "
        "(e.g. train.epochs=2). Writes checkpoints, TensorBoard logs and log.jsonl to the output folder.",
    )
    parser.add_argument("--config", default=None, help="YAML config, e.g. configs/coop-cpu.yaml")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in the output folder from its latest checkpoint"
    )
    parser.add_argument("--output", default=None, help="run folder (overrides train.output_dir)")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value", help="config overrides")
    parser.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from gensal.training.loop import train_from_command_line

    train_from_command_line(args.config, args.overrides, resume=args.resume, output=args.output)
    return 0


def _add_predict(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict saliency maps (and their uncertainty) for images with a trained model",
        description="Cooperative prediction (paper 1, section 3.3): the mean of N latent samples, refined by "
        "noise-free Langevin steps on the learned energy; SalGAN checkpoints (paper 2) predict fixation saliency "
        "in one pass. Writes OUTPUT/<stem>.png at each image's size; with --uncertainty also OUTPUT/entropy/, "
        "OUTPUT/aleatoric/ and OUTPUT/epistemic/ (bits x 255); with --log-density OUTPUT/log_density/<stem>.npy.",
    )
    parser.add_argument("--model", default=None, help="checkpoint or run folder (default: the shipped model of --task)")
    parser.add_argument(
        "--task",
        choices=("sod", "fixation"),
        default="sod",
        help="picks the default model: sod = models/coop-cpu, fixation = models/salgan-cpu (default sod)",
    )
    parser.add_argument("--input", required=True, help="an image file or a folder of images")
    parser.add_argument("--output", required=True, help="folder for the maps")
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help=f"latent samples per image, 1 to {MAX_SAMPLES} (default: the model's, else 10)",
    )
    parser.add_argument(
        "--refine-steps", type=int, default=None, help="noise-free Langevin steps (default: the model's, else K=5)"
    )
    parser.add_argument(
        "--step-size",
        type=float,
        default=None,
        help=f"Langevin step size d in (0, {MAX_STEP_SIZE:g}] (default: the model's, else as in training)",
    )
    parser.add_argument("--uncertainty", action="store_true", help="also write the uncertainty maps")
    parser.add_argument(
        "--log-density",
        action="store_true",
        help="also write OUTPUT/log_density/<stem>.npy log-probability densities (MIT/Tübingen, pysaliency)",
    )
    parser.add_argument(
        "--figure",
        default=None,
        help=f"draw image | prediction | uncertainty rows to this file ({', '.join(FIGURE_FORMATS)}; default png)",
    )
    parser.add_argument(
        "--figure-count", type=int, default=4, help=f"images in the figure, 1 to {MAX_FIGURE_COUNT} (default 4)"
    )
    parser.add_argument("--seed", type=int, default=0, help=f"seed of the latent samples, {SEED_RANGE} (default 0)")
    parser.add_argument(
        "--blur",
        type=float,
        default=None,
        help=f"fixation models: Gaussian blur of the map, sigma as a fraction of the image width, 0 to {MAX_BLUR} "
        "(default: the model's)",
    )
    _add_run_options(parser, parallel="threads")
    parser.set_defaults(func=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    from gensal.predict import run_predict

    run_predict(args)
    return 0


def _add_scribbles(subparsers) -> None:
    parser = subparsers.add_parser(
        "scribbles",
        help="simulate scribble annotations (S-DUTS format) from full saliency masks",
        description="Write one scribble PNG per mask, same name and size, with 1 = salient, 2 = background, "
        "0 = unknown: thin strokes along random pieces of the skeletons of the eroded foreground and "
        "background (docs/scribbles.md). The result depends only on the masks and --seed.",
    )
    parser.add_argument("--masks", required=True, help="folder of saliency masks (binarised at 128)")
    parser.add_argument("--output", required=True, help="folder for the scribble PNGs")
    parser.add_argument("--seed", type=int, default=0, help=f"seed of the simulated strokes, {SEED_RANGE} (default 0)")
    _add_run_options(parser, parallel="workers")
    parser.set_defaults(func=_run_scribbles)


def _run_scribbles(args: argparse.Namespace) -> int:
    from gensal.data.scribbles import derive_scribbles, print_summary

    summary = derive_scribbles(args.masks, args.output, args.seed, not args.no_progress, args.workers)
    print_summary(summary, args.output)
    return 0


def _add_refine(subparsers) -> None:
    parser = subparsers.add_parser(
        "refine",
        help="refine another model's saliency maps with a trained energy model",
        description="Refine saliency maps by noise-free Langevin steps (gradient descent) on the learned energy "
        "U(Y, X), starting from each given map (paper 1, section 6.3). The chain runs at the size the energy "
        "model was trained at (data.image_size); only its change is upsampled and applied to the full-size "
        "map, in the chain's space: logit: sigmoid(logit(map) + up(z_K - z_0)); probability: "
        "clip(map + up(Y_K - Y_0), 0, 1). Writes OUTPUT/<stem>.png at each map's size (docs/refine.md).",
    )
    parser.add_argument("--model", required=True, help="checkpoint or run folder of a cooperative model")
    parser.add_argument("--images", required=True, help="folder of images (or one image file)")
    parser.add_argument("--maps", required=True, help="folder of maps matched to the images by name (or one map file)")
    parser.add_argument("--output", required=True, help="folder for the refined maps")
    parser.add_argument("--steps", type=int, default=None, help="gradient steps (default: train.energy_langevin_steps)")
    parser.add_argument(
        "--step-size", type=float, default=None, help=f"d in (0, {MAX_STEP_SIZE:g}] (default: train.energy_step_size)"
    )
    parser.add_argument(
        "--space",
        choices=["logit", "probability"],
        default=None,
        help="where the chain runs (default: train.energy_langevin_space)",
    )
    parser.add_argument(
        "--intersection", action="store_true", help="refine only names present in both folders (says how many)"
    )
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N or mps (default cpu)")
    _add_run_options(parser, parallel="threads")
    parser.set_defaults(func=_run_refine)


def _run_refine(args: argparse.Namespace) -> int:
    from gensal.refine import print_summary, refine_folder

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    summary = refine_folder(
        args.model,
        args.images,
        args.maps,
        args.output,
        steps=args.steps,
        step_size=args.step_size,
        space=args.space,
        intersection=args.intersection,
        device=args.device,
        progress=not args.no_progress,
    )
    print_summary(summary, args.output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gensal", description="Generative saliency prediction and saliency evaluation."
    )
    parser.add_argument("--version", action="version", version=f"gensal {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_evaluate(subparsers)
    _add_train(subparsers)
    _add_predict(subparsers)
    _add_scribbles(subparsers)
    _add_refine(subparsers)
    return parser


def _describe_os_error(err: OSError) -> str:
    """``<path>: <reason>`` of a file-system error, on one line."""
    reason = err.strerror or str(err) or type(err).__name__
    if err.filename is None:
        return " ".join(reason.split())
    return " ".join(f"{err.filename}: {reason}".split())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_run_options(args)
        return int(args.func(args) or 0)
    except GensalError as err:
        print(f"gensal {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"gensal {args.command}: {_describe_os_error(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gensal {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
