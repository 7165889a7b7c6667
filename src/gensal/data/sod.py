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


def flips(seed: int, epoch: int, index: int) -> bool:
    """Whether training item ``index`` is flipped in ``epoch``: a draw from a generator keyed by
    ``(seed, epoch, index)``, so it does not depend on workers, read order or resuming mid-epoch."""
    return bool(np.random.default_rng([seed, epoch, index]).random() < 0.5)


class SODTrainDataset(Dataset):
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
    ) -> None:
        pairs = pair_images_and_masks(images_dir, masks_dir)
        self.pairs = pairs[:max_images] if max_images is not None else pairs
        self.image_size = int(image_size) if isinstance(image_size, int) else tuple(int(s) for s in image_size)
        self.hflip = hflip
        self.binarize = binarize
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose flips ``__getitem__`` draws (call before creating the loader iterator)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.pairs)

    def _flip(self, index: int) -> bool:
        return self.hflip and flips(self.seed, self.epoch, index)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        _, image_path, mask_path = self.pairs[index]
        if isinstance(self.image_size, int):
            size = (self.image_size, self.image_size)
        else:
            size = (self.image_size[1], self.image_size[0])  # PIL: (width, height)
        image = np.array(Image.fromarray(read_rgb(image_path)).resize(size, Image.BILINEAR))
        mask = np.array(Image.fromarray(read_gray(mask_path)).resize(size, Image.BILINEAR))
        if self._flip(index):
            image, mask = image[:, ::-1], mask[:, ::-1]
        image_t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)
        if self.binarize:
            mask_t = torch.from_numpy(np.ascontiguousarray(mask > MASK_THRESHOLD)).float()
        else:
            mask_t = torch.from_numpy(np.ascontiguousarray(mask)).float().div_(255.0)
        return image_t, mask_t.unsqueeze(0)
