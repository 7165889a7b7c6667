"""``gensal refine``: improve another model's saliency maps with a trained energy model (paper 1, sec. 6.3).

The refinement is the noise-free Langevin revision of :func:`gensal.refinement.revise_with_energy`
(gradient descent on U(Y, X) with rate d^2/2) started from the given map instead of the generator's
proposal.

Resolution. The energy model was trained on ``config.data.image_size`` inputs (a square side, or
(height, width)), so the chain runs there: image and map are resized (bilinearly) to that size. Resizing
the revised map back up would blur the original's detail, so only the *change* is carried back, as a
delta at full resolution:

* logit space: ``refined = sigmoid(logit(map) + upsample(z_K - z_0))``;
* probability space: ``refined = clip(map + upsample(Y_K - Y_0), 0, 1)``,

with ``z_0`` / ``Y_0`` the start of the chain at model resolution and ``logit`` clipped as in
:func:`gensal.refinement.to_state`. With zero steps the output equals the input (up to 8-bit rounding).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from gensal import io
from gensal.checkpoint import LoadedModel, load_model
from gensal.data.pairs import MAP_SUFFIXES, match_pairs
from gensal.errors import DataError, InputError
from gensal.inference import (
    check_step_size,
    image_to_tensor,
    list_inputs,
    map_to_tensor,
    resize_tensor,
    resolve_device,
    to_uint8,
)
from gensal.refinement import Space, descend_energy, from_state, to_state


@dataclass
class RefineSummary:
    """What :func:`refine_folder` did: file count, chain settings, mean energies at model resolution."""

    files: int
    steps: int
    step_size: float
    space: str
    image_size: tuple[int, int]
    energy_before: float
    energy_after: float


def energy_model_of(model: LoadedModel) -> nn.Module:
    """The energy model of a loaded checkpoint; a clear error for checkpoints without one."""
    if model.ebm is None:
        raise InputError(
            f"{model.path} has no energy model (trained with train.algorithm={model.config.train.algorithm}); "
            "refinement needs a checkpoint of train.algorithm=cooperative"
        )
    return model.ebm


@torch.no_grad()
def _energy(ebm: nn.Module, maps: Tensor, image: Tensor) -> Tensor:
    return ebm(maps, image)


def refine_map(
    ebm: nn.Module,
    rgb: np.ndarray,
    saliency: np.ndarray,
    image_size: int | tuple[int, int],
    steps: int,
    step_size: float,
    space: Space = "logit",
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, float, float]:
    """Refine one saliency map with the energy model, keeping its size and detail.

    Args:
        ebm: energy model U(Y, X) (eval mode is set by the revision).
        rgb: (H0, W0, 3) ``uint8`` image.
        saliency: (H, W) map: ``uint8`` 0..255 or float in [0, 1]; the output has this size.
        image_size: the size the energy model was trained at (``config.data.image_size``): a square side
            or (height, width).
        steps: K, number of gradient steps (0 returns the map).
        step_size: d; each step moves the state by -(d^2/2) dU/dstate.
        space: ``"logit"`` or ``"probability"``: where the chain runs (as in training).
        device: where to run the energy model.

    Returns:
        ``(refined, energy_before, energy_after)``: the refined (H, W) float map in [0, 1] and the energy
        of the map at model resolution before and after the chain.
    """
    height, width = saliency.shape
    image = image_to_tensor(rgb, image_size).to(device)
    start_map = map_to_tensor(saliency, image_size).to(device)
    start = to_state(start_map, space)
    final = descend_energy(ebm, image, start, steps, step_size, space, noise=False)
    delta = resize_tensor(final - start, (height, width))
    full = to_state(map_to_tensor(saliency, (height, width)).to(device), space)
    refined = from_state(full + delta, space).clamp(0.0, 1.0)
    after = from_state(final, space).clamp(0.0, 1.0)
    before_energy = float(_energy(ebm, start_map, image))
    after_energy = float(_energy(ebm, after, image))
    return refined[0, 0].cpu().numpy(), before_energy, after_energy


def _pairs(images: str | Path, maps: str | Path, intersection: bool) -> list[tuple[str, Path, Path]]:
    """(stem, image, map) triples: two folders matched by stem, or one image file and one map file."""
    images, maps = Path(images), Path(maps)
    if images.is_dir() or maps.is_dir():
        if not (images.is_dir() and maps.is_dir()):
            raise DataError(f"--images {images} and --maps {maps} must both be folders or both be files")
        pairs, skipped = match_pairs(images, maps, intersection, second_suffixes=MAP_SUFFIXES)
        if skipped:
            print(f"refining the {len(pairs)} common names; {skipped} unmatched file(s) skipped", file=sys.stderr)
        return pairs
    image = list_inputs(images)[0]
    if not maps.is_file():
        raise DataError(f"{maps}: file not found")
    if maps.suffix.lower() not in MAP_SUFFIXES:
        raise DataError(f"{maps}: not a map file (expected one of {', '.join(MAP_SUFFIXES)})")
    return [(maps.stem, image, maps)]


def refine_folder(
    model: str | Path | LoadedModel,
    images: str | Path,
    maps: str | Path,
    output_dir: str | Path,
    steps: int | None = None,
    step_size: float | None = None,
    space: Space | None = None,
    intersection: bool = False,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> RefineSummary:
    """Refine every map of ``maps`` (matched to ``images`` by file stem) and write ``<stem>.png`` maps.

    Args:
        model: checkpoint folder, run folder (its latest checkpoint) or an already loaded model; it must
            hold an energy model (``train.algorithm=cooperative``).
        images: folder of images (or one image file).
        maps: folder of saliency maps to refine, PNG/JPEG or ``.npy`` in [0, 1] (or one map file).
        output_dir: where the refined maps go, with the maps' stems and sizes; written atomically.
        steps, step_size, space: the chain; ``None`` takes the checkpoint's ``train.energy_langevin_steps``,
            ``train.energy_step_size`` and ``train.energy_langevin_space``.
        intersection: refine only the names present on both sides instead of failing on unmatched files.
        device: where to run the energy model.
        progress: show a progress bar on stderr.

    Returns:
        A :class:`RefineSummary` with the mean energies before and after at model resolution.

    Raises:
        InputError: the checkpoint has no energy model, a bad ``steps``/``step_size``/``space`` (``step_size``
            in (0, :data:`gensal.checks.MAX_STEP_SIZE`]) or ``device``, or a chain that diverged.
        DataError: missing or empty folders, unmatched or unreadable files, an output folder that cannot be
            written or that is the maps' or the images' folder (naming them).
    """
    output_dir = io.check_output_folder(output_dir)
    pairs = _pairs(images, maps, intersection)
    io.check_outputs_apart(
        output_dir,
        {"maps": maps, "images": images},
        [output_dir / f"{stem}.png" for stem, _, _ in pairs],
        [path for _, image_path, map_path in pairs for path in (image_path, map_path)],
    )
    device = resolve_device(device)
    if step_size is not None:
        step_size = check_step_size(step_size)
    loaded = model if isinstance(model, LoadedModel) else load_model(model, device)
    ebm = energy_model_of(loaded).to(device).eval()
    train = loaded.config.train
    steps = train.energy_langevin_steps if steps is None else steps
    if step_size is None:
        step_size = check_step_size(train.energy_step_size, f"{loaded.path}: train.energy_step_size")
    space = train.energy_langevin_space if space is None else space
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise InputError(f"steps must be an integer >= 0, got {steps!r}")
    if space not in ("logit", "probability"):
        raise InputError(f"space must be 'logit' or 'probability', got {space!r}")
    size = loaded.config.data.image_size
    image_size = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    before, after = [], []
    for stem, image_path, map_path in tqdm(pairs, desc="refine", unit="img", disable=not progress, file=sys.stderr):
        rgb = io.read_rgb(image_path)
        saliency = io.read_map(map_path)
        refined, energy_before, energy_after = refine_map(
            ebm, rgb, saliency, image_size, steps, step_size, space, device
        )
        if not np.isfinite(refined).all():
            raise InputError(
                f"{map_path}: the refined map has NaN or infinite values (the chain diverged; try a smaller "
                "--step-size or fewer --steps)"
            )
        io.write_gray_png(output_dir / f"{stem}.png", to_uint8(refined))
        before.append(energy_before)
        after.append(energy_after)
    return RefineSummary(
        len(pairs), steps, float(step_size), space, image_size, float(np.mean(before)), float(np.mean(after))
    )


def print_summary(summary: RefineSummary, output_dir: str | Path, file=None) -> None:
    """The report of ``gensal refine``."""
    print(
        f"refined {summary.files} map(s) into {output_dir} ({summary.steps} steps of size {summary.step_size:g} "
        f"in {summary.space} space at {summary.image_size[0]}x{summary.image_size[1]}); mean energy "
        f"{summary.energy_before:.6g} -> {summary.energy_after:.6g}",
        file=file or sys.stdout,
    )
