"""Salient-object training pairs: an image folder and a mask folder matched by file stem.

Images may be JPEG or PNG, colour or grayscale (replicated to 3 channels); masks may be 8-bit or 1-bit.
Masks are kept as soft targets in [0, 1] by default: DUTS masks have anti-aliased edges whose grey levels
say how much of a pixel the object covers, and resizing a binary mask produces such levels anyway, so
binarising would throw information away. ``binarize=True`` thresholds the resized mask at 128 of 255 (the
evaluation convention) instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from gensal.data.pairs import files_by_stem
from gensal.errors import DataError
from gensal.io import read_gray, read_rgb

MASK_THRESHOLD = 128


def examples_text(names: list[str], limit: int = 3) -> str:
    """A few names for an error message: ``a, b, c, ... (12 in all)``."""
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def pair_images_and_masks(images_dir: str | Path, masks_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """Match images to masks by file stem.

    Args:
        images_dir: folder of images.
        masks_dir: folder of masks.

    Returns:
        ``(stem, image_path, mask_path)`` sorted by stem.

    Raises:
        DataError: a folder is missing or empty, two files in a folder share a stem, or an image has no
            mask (or a mask no image); the message names a few of them.
    """
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    images = files_by_stem(images_dir)
    masks = files_by_stem(masks_dir)
    no_mask = sorted(set(images) - set(masks))
    if no_mask:
        raise DataError(f"{images_dir}: {len(no_mask)} image(s) have no mask in {masks_dir}: {examples_text(no_mask)}")
    no_image = sorted(set(masks) - set(images))
    if no_image:
        raise DataError(
            f"{masks_dir}: {len(no_image)} mask(s) have no image in {images_dir}: {examples_text(no_image)}"
        )
    return [(stem, images[stem], masks[stem]) for stem in sorted(images)]


def pairs_in_split(pairs: list[tuple[str, Path, Path]], split: str | Path) -> list[tuple[str, Path, Path]]:
    """The pairs whose stem is in the ``train`` list of a split file.

    Raises:
        DataError: the split file is unreadable, or names a training image that has no pair here.
    """
    from gensal.data.splits import read_split

    names = set(read_split(split)["train"])
    kept = [pair for pair in pairs if pair[0] in names]
    missing = sorted(names - {pair[0] for pair in kept})
    if missing:
        raise DataError(f"{split}: {len(missing)} training name(s) have no image/mask pair: {examples_text(missing)}")
    return kept


def flips(seed: int, epoch: int, index: int) -> bool:
    """Whether training item ``index`` is flipped in ``epoch``: a draw from a generator keyed by
    ``(seed, epoch, index)``, so it does not depend on workers, read order or resuming mid-epoch."""
    return bool(np.random.default_rng([seed, epoch, index]).random() < 0.5)


def sides(size: int | tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` of a size given as one side of a square or as ``(height, width)``."""
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def resized(array: np.ndarray, size: tuple[int, int], resample: int = Image.BILINEAR) -> np.ndarray:
    """An (H, W) or (H, W, 3) ``uint8`` array resized by PIL to ``size = (height, width)``."""
    return np.asarray(Image.fromarray(array).resize((size[1], size[0]), resample))


def to_tensor(array: np.ndarray, divisor: float = 255.0) -> torch.Tensor:
    """(H, W, 3) -> (3, H, W) or (H, W) -> (1, H, W) ``float32`` divided by ``divisor``, a copy (any strides)."""
    tensor = torch.tensor(np.ascontiguousarray(array), dtype=torch.float32).div_(divisor)
    return tensor.permute(2, 0, 1) if tensor.ndim == 3 else tensor.unsqueeze(0)


def multiscale_size(size: tuple[int, int], scales: tuple[float, ...], seed: int, step: int) -> tuple[int, int]:
    """The (height, width) of training batch ``step`` under multi-scale training: ``size`` times a factor
    drawn from ``scales`` by a generator keyed by ``(seed, step)``, each side rounded to a multiple of 32
    (at least 32). A pure function of its arguments, so a resumed run draws the same sizes.

    Example:
        >>> multiscale_size((256, 256), (1.0,), 0, 7)
        (256, 256)
    """
    factor = scales[int(np.random.default_rng([seed, step, 1]).integers(len(scales)))]
    return tuple(max(32, int(round(side * factor / 32)) * 32) for side in size)


def resize_batch(image: torch.Tensor, target: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear resize of a batch of images (B, 3, H, W) and soft masks (B, 1, H, W) to ``size``."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image, target
    resize = torch.nn.functional.interpolate
    image = resize(image, size=size, mode="bilinear", align_corners=False).clamp_(0, 1)
    target = resize(target, size=size, mode="bilinear", align_corners=False).clamp_(0, 1)
    return image, target


class FlippedItems(Dataset):
    """What the training datasets share: items resized to one size, flipped by :func:`flips`.

    Subclasses set ``self.items`` (one tuple per item) and read item ``index`` flipped when
    ``self.flip(index)``.

    Args:
        size: output side length S, or (height, width); kept as ``self.size = (height, width)``.
        hflip: flip each item horizontally with probability 0.5.
        seed: seed of the flips.
    """

    items: list

    def __init__(self, size: int | tuple[int, int], hflip: bool, seed: int) -> None:
        self.size = sides(size)
        self.hflip = hflip
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose flips ``__getitem__`` draws (call before creating the loader iterator)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def flip(self, index: int) -> bool:
        """Whether item ``index`` is flipped in the current epoch."""
        return self.hflip and flips(self.seed, self.epoch, index)


class SODTrainDataset(FlippedItems):
    """Image/mask pairs resized to a square (or to (height, width)), with deterministic random horizontal flips.

    The flip of item ``i`` in epoch ``e`` is drawn from a generator seeded with ``(seed, e, i)``, so it does
    not depend on worker processes, on the order items are read in, or on resuming mid-epoch.

    Args:
        images_dir: folder of images.
        masks_dir: folder of masks (same stems).
        image_size: output side length S, or (height, width).
        hflip: flip each item horizontally with probability 0.5.
        binarize: threshold masks at 128/255 instead of keeping soft grey levels.
        seed: seed of the flips.
        max_images: keep only the first N pairs (sorted by stem).
        split: a split file (:mod:`gensal.data.splits`); only the names in its ``train`` list are used.

    Items are ``(image, mask)``: float32 tensors of shape (3, S, S) and (1, S, S) in [0, 1] (or (3, H, W)
    and (1, H, W)).

    Example:
        >>> ds = SODTrainDataset("../shared/data/duts-tr/images", "../shared/data/duts-tr/masks", 256)
        >>> image, mask = ds[0]  # (3, 256, 256), (1, 256, 256)
    """

    def __init__(
        self,
        images_dir: str | Path,
        masks_dir: str | Path,
        image_size: int | tuple[int, int],
        hflip: bool = True,
        binarize: bool = False,
        seed: int = 0,
        max_images: int | None = None,
        split: str | Path | None = None,
    ) -> None:
        super().__init__(image_size, hflip, seed)
        pairs = pair_images_and_masks(images_dir, masks_dir)
        if split is not None:
            pairs = pairs_in_split(pairs, split)
        self.items = pairs[:max_images] if max_images is not None else pairs
        self.binarize = binarize

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        _, image_path, mask_path = self.items[index]
        image = resized(read_rgb(image_path), self.size)
        mask = resized(read_gray(mask_path), self.size)
        if self.flip(index):
            image, mask = image[:, ::-1], mask[:, ::-1]
        if self.binarize:
            return to_tensor(image), to_tensor(mask > MASK_THRESHOLD, divisor=1.0)
        return to_tensor(image), to_tensor(mask)
