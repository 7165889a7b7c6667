"""Scribble annotations in the S-DUTS format, simulated from full saliency masks.

S-DUTS (Zhang et al., CVPR 2020, "Weakly-supervised salient object detection via scribble annotations") is
DUTS-TR relabelled by people with one or a few strokes on the salient object and on the background. Its
files are single-channel PNGs of the image's size and name with the labels

* ``1``: salient (foreground scribble),
* ``2``: background scribble,
* ``0``: unknown (everything not scribbled over).

S-DUTS itself is not available here, so :func:`make_scribble` simulates such strokes from a full mask
(docs/scribbles.md): the mask is binarised at 128, each region (foreground, background) is eroded away
from its boundary and skeletonised, a few random pieces of the skeleton are kept and thickened to a
brush a few pixels wide, and the result is cut to the region, so a stroke never crosses the true
boundary. The strokes depend only on the mask and the random generator; :func:`rng_for` derives that
generator from a seed and the file stem, so a folder's scribbles do not depend on the order in which
its files are processed nor on the number of worker processes.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from skimage.morphology import skeletonize

from gensal import io
from gensal.checks import check_seed
from gensal.data.sod import FlippedItems, pair_images_and_masks, resized, to_tensor
from gensal.errors import DataError, InputError

UNKNOWN, SALIENT, BACKGROUND = 0, 1, 2
"""The S-DUTS label values."""

MASK_THRESHOLD = 128
"""A mask pixel is salient when its value is >= 128 (DUTS masks are anti-aliased)."""

BRUSH_DIVISOR = 150
"""The brush radius is ``max(1, round(min(H, W) / BRUSH_DIVISOR))``: 2 px (a 5 px wide stroke) on the
300-400 px DUTS images."""

MARGIN_FRACTION = 0.05
"""Strokes run on the skeleton of the region eroded by ``MARGIN_FRACTION * min(H, W)`` pixels (at most half
the region's largest inscribed radius, so thin and small regions still get a stroke)."""

KEEP_FRACTION = (0.35, 0.65)
"""Each region keeps a random fraction, drawn uniformly from this range, of its skeleton's length."""

PIECE_HALF_LENGTH = (0.04, 0.12)
"""A stroke piece is the part of the skeleton within a geodesic distance drawn from this range (times the
image diagonal) of a random skeleton point."""

MIN_COMPONENT_SHARE = 0.1
"""Skeleton components at least this share of the longest one get a stroke each (several objects, or a
background split by the object); shorter crumbs only by chance."""


def binarize(mask: np.ndarray) -> np.ndarray:
    """(H, W) ``uint8`` mask -> boolean salient region (``mask >= MASK_THRESHOLD``)."""
    return np.asarray(mask) >= MASK_THRESHOLD


def brush_radius(shape: tuple[int, int]) -> int:
    """Half-width of a stroke in pixels for an image of ``shape = (H, W)`` (see :data:`BRUSH_DIVISOR`)."""
    return max(1, round(min(shape) / BRUSH_DIVISOR))


def rng_for(seed: int, stem: str) -> np.random.Generator:
    """The generator of one file's scribble: a function of ``seed`` and the file stem only."""
    digest = int.from_bytes(hashlib.sha256(stem.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([int(seed), digest])


def _inscribed_distance(region: np.ndarray) -> np.ndarray:
    """Euclidean distance of each region pixel to the nearest pixel outside it or outside the image.

    The image border counts as a boundary so that background strokes keep off the frame, as people's do.
    """
    padded = np.pad(region, 1, constant_values=False).astype(np.uint8)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


def _skeleton_graph(skeleton: np.ndarray) -> tuple[np.ndarray, coo_matrix]:
    """Pixels of a skeleton and the graph joining 8-neighbours (edge length 1 or sqrt 2)."""
    ys, xs = np.nonzero(skeleton)
    count = len(ys)
    index = np.full(skeleton.shape, -1, dtype=np.int64)
    index[ys, xs] = np.arange(count)
    height, width = skeleton.shape
    rows, cols, lengths = [], [], []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each undirected neighbour pair once
        y2, x2 = ys + dy, xs + dx
        inside = (y2 < height) & (x2 >= 0) & (x2 < width)
        source = np.nonzero(inside)[0]
        target = index[y2[inside], x2[inside]]
        linked = target >= 0
        rows.append(source[linked])
        cols.append(target[linked])
        lengths.append(np.full(int(linked.sum()), np.hypot(dy, dx)))
    graph = coo_matrix((np.concatenate(lengths), (np.concatenate(rows), np.concatenate(cols))), (count, count))
    return np.stack([ys, xs], axis=1), graph


def _axis_chord(interior: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """The straight line through ``point`` along the principal axis of the part of ``interior`` holding it.

    Compact shapes have skeletons much shorter than themselves (a disk's is one pixel); people draw a line
    across such an object, along its longest direction.
    """
    _, parts = cv2.connectedComponents(interior.astype(np.uint8), connectivity=8)
    part = parts == parts[point]
    moments = cv2.moments(part.astype(np.uint8), binaryImage=True)
    angle = 0.5 * np.arctan2(2 * moments["mu11"], moments["mu20"] - moments["mu02"])
    reach = float(np.hypot(*interior.shape))
    y, x = point
    dx, dy = reach * np.cos(angle), reach * np.sin(angle)
    canvas = np.zeros(interior.shape, dtype=np.uint8)
    cv2.line(canvas, (round(x - dx), round(y - dy)), (round(x + dx), round(y + dy)), 1, thickness=1)
    return canvas.astype(bool) & part


def _keep_pieces(points: np.ndarray, graph: coo_matrix, rng: np.random.Generator, diagonal: float) -> np.ndarray:
    """Boolean selection of skeleton pixels: random geodesic pieces, at least one per large component."""
    target = rng.uniform(*KEEP_FRACTION) * len(points)
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    guaranteed = [c for c in rng.permutation(len(sizes)) if sizes[c] >= MIN_COMPONENT_SHARE * sizes.max()]
    kept = np.zeros(len(points), dtype=bool)
    while guaranteed or kept.sum() < target:
        allowed = ~kept & (component == guaranteed.pop()) if guaranteed else ~kept
        candidates = np.nonzero(allowed)[0]
        if len(candidates) == 0:
            continue
        start = int(rng.choice(candidates))
        reach = rng.uniform(*PIECE_HALF_LENGTH) * diagonal
        kept |= np.isfinite(dijkstra(graph, directed=False, indices=start, limit=reach))
    return kept


def _region_stroke(region: np.ndarray, rng: np.random.Generator, radius: int) -> np.ndarray:
    """Boolean stroke mask inside ``region`` (empty when the region is empty)."""
    if not region.any():
        return np.zeros_like(region)
    height, width = region.shape
    distance = _inscribed_distance(region)
    deepest_point = np.unravel_index(int(np.argmax(distance)), distance.shape)
    deepest = float(distance[deepest_point])
    margin = min(MARGIN_FRACTION * min(height, width), deepest / 2)
    interior = distance > margin
    skeleton = skeletonize(interior)
    if skeleton.sum() < 2 * deepest:
        skeleton |= _axis_chord(interior, deepest_point)
    points, graph = _skeleton_graph(skeleton)
    centre = np.zeros_like(region)
    if len(points) <= 1:
        # A region too small for a line (a speck, a thin sliver): one dab of the brush at its deepest point.
        centre[deepest_point] = True
    else:
        kept = _keep_pieces(points, graph, rng, float(np.hypot(height, width)))
        centre[points[kept, 0], points[kept, 1]] = True
    brush = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    stroke = cv2.dilate(centre.astype(np.uint8), brush).astype(bool)
    return stroke & region  # the brush never paints across the true boundary


def make_scribble(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Simulate a person's scribbles on a saliency mask, in the S-DUTS label format.

    Args:
        mask: (H, W) ``uint8`` mask (anti-aliased edges allowed; binarised at :data:`MASK_THRESHOLD`).
        rng: the source of randomness (e.g. :func:`rng_for`); the same mask and generator state give the
            same scribble.

    Returns:
        (H, W) ``uint8`` labels: :data:`SALIENT` (1) on foreground strokes, :data:`BACKGROUND` (2) on
        background strokes, :data:`UNKNOWN` (0) elsewhere. Every 1 lies in ``mask >= 128`` and every 2
        outside it; a mask without foreground gets background strokes only (and vice versa).

    Raises:
        InputError: ``mask`` is not a 2-D ``uint8`` array.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != np.uint8:
        raise InputError(f"mask must be a 2-D uint8 array, got shape {mask.shape} and dtype {mask.dtype}")
    salient = binarize(mask)
    radius = brush_radius(mask.shape)
    labels = np.zeros(mask.shape, dtype=np.uint8)
    labels[_region_stroke(salient, rng, radius)] = SALIENT
    labels[_region_stroke(~salient, rng, radius)] = BACKGROUND
    return labels


def read_scribble(path: str | Path) -> np.ndarray:
    """Read an S-DUTS scribble file as (H, W) ``uint8`` labels in {0, 1, 2}.

    Raises:
        DataError: the file is missing or unreadable, not single-channel, or holds other values.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            labels = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"{path}: cannot read scribble ({err})") from err
    if labels.ndim != 2 or mode not in ("L", "P"):
        raise DataError(f"{path}: a scribble must be a single-channel 8-bit PNG, got mode {mode}")
    bad = np.setdiff1d(np.unique(labels), (UNKNOWN, SALIENT, BACKGROUND))
    if bad.size:
        shown = ", ".join(str(int(v)) for v in bad[:5]) + (", ..." if bad.size > 5 else "")
        raise DataError(f"{path}: scribble labels must be 0 (unknown), 1 (salient) or 2 (background), found {shown}")
    return labels.astype(np.uint8, copy=False)


@dataclass
class ScribbleSummary:
    """What :func:`derive_scribbles` wrote: file count and mean labelled fractions of the pixels."""

    files: int
    salient_fraction: float
    background_fraction: float

    @property
    def labelled_fraction(self) -> float:
        return self.salient_fraction + self.background_fraction


def _derive_one(task: tuple[str, Path, Path, int]) -> tuple[float, float]:
    stem, mask_path, output_path, seed = task
    mask = io.read_gray(mask_path)
    labels = make_scribble(mask, rng_for(seed, stem))
    io.write_gray_png(output_path, labels)
    return float(np.mean(labels == SALIENT)), float(np.mean(labels == BACKGROUND))


def derive_scribbles(
    masks_dir: str | Path,
    output_dir: str | Path,
    seed: int = 0,
    progress: bool = True,
    workers: int | None = 1,
) -> ScribbleSummary:
    """Write one simulated scribble ``<stem>.png`` into ``output_dir`` per mask in ``masks_dir``.

    Args:
        masks_dir: folder of masks (PNG/JPEG/...; binarised at 128).
        output_dir: created if needed; files are written atomically.
        seed: the scribbles are a function of ``seed`` and each file's stem only.
        progress: show a progress bar on stderr.
        workers: worker processes (``None``: all cores); the output does not depend on it.

    Returns:
        The number of files and the mean fraction of pixels labelled salient and background.

    Raises:
        DataError: missing or empty folder, two masks with one stem, an unreadable mask (naming it), an output
            folder that cannot be written or is the mask folder.
        ConfigError: a seed outside [0, :data:`gensal.checks.MAX_SEED`].
    """
    from gensal.data.pairs import files_by_stem
    from gensal.evaluate import parallel_map

    seed = check_seed(seed)
    output_dir = io.check_output_folder(output_dir)
    masks = files_by_stem(masks_dir)
    tasks = [(stem, path, output_dir / f"{stem}.png", seed) for stem, path in masks.items()]
    io.check_outputs_apart(output_dir, {"mask": masks_dir}, [task[2] for task in tasks], list(masks.values()))
    fractions = np.array(list(parallel_map(_derive_one, tasks, workers, "scribbles", progress)), dtype=np.float64)
    return ScribbleSummary(len(tasks), float(fractions[:, 0].mean()), float(fractions[:, 1].mean()))


def print_summary(summary: ScribbleSummary, output_dir: str | Path, file=None) -> None:
    """The one-paragraph report of ``gensal scribbles``."""
    print(
        f"wrote {summary.files} scribble(s) to {output_dir}: on average "
        f"{100 * summary.labelled_fraction:.2f}% of the pixels labelled "
        f"({100 * summary.salient_fraction:.2f}% salient, {100 * summary.background_fraction:.2f}% background)",
        file=file or sys.stdout,
    )


class ScribbleTrainDataset(FlippedItems):
    """Training items for Algorithm 2: images with scribbles (and, optionally, full masks for logging only).

    Images and scribbles are matched by stem (:func:`gensal.data.sod.pair_images_and_masks`), resized to a
    square (images bilinearly, scribble labels by nearest neighbour, so labels are never mixed) and
    flipped exactly like :class:`gensal.data.sod.SODTrainDataset` (same seeds, so the same items flip).

    Args:
        images_dir: folder of images.
        scribbles_dir: folder of S-DUTS-format scribbles (real ones, or made by ``gensal scribbles``).
        image_size: output side S.
        masks_dir: optional folder of full masks; they are returned only to measure how well the training
            recovers them (never used for learning).
        hflip, seed, max_images: as for :class:`~gensal.data.sod.SODTrainDataset`.

    Items are ``(image, partial, visible, full)``: (3, S, S) image in [0, 1]; (1, S, S) partial map (1 on
    salient scribbles, 0 elsewhere); (1, S, S) visibility mask O (1 on any scribble); (1, S, S) full mask
    in [0, 1], or filled with -1 when ``masks_dir`` is None.
    """

    def __init__(
        self,
        images_dir: str | Path,
        scribbles_dir: str | Path,
        image_size: int,
        masks_dir: str | Path | None = None,
        hflip: bool = True,
        seed: int = 0,
        max_images: int | None = None,
    ) -> None:
        super().__init__(image_size, hflip, seed)
        pairs = pair_images_and_masks(images_dir, scribbles_dir)
        self.items = pairs[:max_images] if max_images is not None else pairs
        self.mask_paths: list[Path] | None = None
        if masks_dir is not None:
            masks = {stem: path for stem, _, path in pair_images_and_masks(images_dir, masks_dir)}
            self.mask_paths = [masks[stem] for stem, _, _ in self.items]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        _, image_path, scribble_path = self.items[index]
        image = resized(io.read_rgb(image_path), self.size)
        labels = resized(read_scribble(scribble_path), self.size, Image.NEAREST)
        flip = self.flip(index)
        if flip:
            image, labels = image[:, ::-1], labels[:, ::-1]
        partial, visible = to_tensor(labels == SALIENT, divisor=1.0), to_tensor(labels != UNKNOWN, divisor=1.0)
        if self.mask_paths is None:
            return to_tensor(image), partial, visible, torch.full_like(partial, -1.0)
        mask = resized(io.read_gray(self.mask_paths[index]), self.size)
        return to_tensor(image), partial, visible, to_tensor(mask[:, ::-1] if flip else mask)
