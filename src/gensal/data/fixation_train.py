"""Eye-fixation training data for SalGAN: images and continuous fixation maps at the model's size.

Targets come from one of two sources:

* **fixation points** (an OSIE ``fixations.mat``, a SALICON fixation ``.json`` or a folder of binary
  fixation maps, read by :func:`gensal.data.fixations.read_fixations`): the map is
  :func:`gensal.data.fixations.fixation_density` at the image's original size (binary fixation map,
  Gaussian blur, maximum 1), the same ground truth the fixation metrics use. ``sigma=None`` is the MIT
  benchmark's filter, a Gaussian of 24 px on OSIE's 800x600 images (about one degree of visual angle, the
  OSIE authors' blur) and on SALICON's 640x480; SALICON's official maps use 19 px (``sigma=19``).
* **continuous saliency maps** in a folder matched by file stem (e.g. SALICON's ``maps/``), divided by 255
  as the official SalGAN code does.

Images (PIL, bilinear) and maps (bilinear) are resized to the model size (SalGAN: 192 x 256, H x W);
the resized map is not renormalised, so its values stay in [0, 1]. As :class:`gensal.data.sod.SODTrainDataset`,
horizontal flips are drawn from ``(seed, epoch, index)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gensal.data.fixations import Fixations, fixation_density, read_fixations, read_image_size
from gensal.data.pairs import files_by_stem
from gensal.data.sod import FlippedItems, examples_text, pair_images_and_masks, resized, to_tensor
from gensal.data.splits import SPLIT_NAMES, read_split
from gensal.errors import DataError, InputError
from gensal.io import read_gray, read_rgb, resize_map


class FixationTrainDataset(FlippedItems):
    """Images and continuous fixation maps resized to (height, width), with deterministic flips.

    Args:
        images_dir: folder of images, matched by file stem.
        size: model size, ``(height, width)`` or one side of a square.
        fixations: fixation points (``.mat``, ``.json`` or a folder of binary fixation maps); or ``None`` to
            read continuous maps from ``maps_dir``.
        maps_dir: folder of continuous saliency maps (used when ``fixations`` is ``None``).
        sigma: blur of the fixation points in original-image pixels; ``None``: the MIT benchmark's filter.
        split: a split file (:mod:`gensal.data.splits`); only the names of its ``subset`` list are used.
        hflip: flip each item horizontally with probability 0.5.
        seed: seed of the flips.
        max_images: keep only the first N names (sorted).
        cache: keep each resized image and map in memory after its first use (about 340 KB per image at
            192 x 256: 170 MB for the 500 OSIE training images). Useful with ``num_workers=0`` only: worker
            processes fill copies that are dropped after each epoch.
        subset: which list of ``split`` to read (``train``, ``validation`` or ``test``).

    Items are ``(image, map)``: float32 tensors (3, H, W) and (1, H, W) in [0, 1].

    Raises:
        DataError: missing folders or files; names of the split (or of the fixation file) without an image;
            images without a map; an image whose size differs from its fixations' frame.

    Example:
        >>> ds = FixationTrainDataset("../shared/data/osie/images", (192, 256),
        ...     fixations="../shared/data/osie/fixations/fixations.mat",
        ...     split="configs/splits/osie-seed0.json")  # doctest: +SKIP
        >>> len(ds), ds[0][1].shape  # doctest: +SKIP
        (500, torch.Size([1, 192, 256]))
    """

    def __init__(
        self,
        images_dir: str | Path,
        size: int | tuple[int, int],
        fixations: str | Path | None = None,
        maps_dir: str | Path | None = None,
        sigma: float | None = None,
        split: str | Path | None = None,
        hflip: bool = True,
        seed: int = 0,
        max_images: int | None = None,
        cache: bool = False,
        subset: str = "train",
    ) -> None:
        super().__init__(size, hflip, seed)
        self.sigma = sigma
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] | None = {} if cache else None
        if subset not in SPLIT_NAMES:
            raise InputError(f"subset must be one of {', '.join(SPLIT_NAMES)}, got {subset!r}")
        wanted = read_split(split)[subset] if split is not None else None
        self.fixations: dict[str, Fixations] | None = None
        if fixations is not None:
            self.fixations = read_fixations(fixations)
            images = files_by_stem(images_dir)
            names = sorted(self.fixations) if wanted is None else sorted(wanted)
            no_fixations = [n for n in names if n not in self.fixations]
            if no_fixations:
                raise DataError(
                    f"{split}: {len(no_fixations)} image(s) of the {subset} list have no fixations in {fixations}: "
                    f"{examples_text(no_fixations)}"
                )
            no_image = [n for n in names if n not in images]
            if no_image:
                raise DataError(f"{images_dir}: {len(no_image)} image(s) not found: {examples_text(no_image)}")
            names = names[:max_images] if max_images is not None else names
            self.items = [(name, images[name], None) for name in names]
            for name, path, _ in self.items:
                fix = self.fixations[name]
                if read_image_size(path) != (fix.height, fix.width):
                    raise DataError(
                        f"{path}: image is {read_image_size(path)} (H, W) but its fixations were recorded on "
                        f"{(fix.height, fix.width)}"
                    )
        else:
            if maps_dir is None:
                raise DataError("fixation training data needs fixation points or a folder of saliency maps")
            pairs = {stem: (image, saliency) for stem, image, saliency in pair_images_and_masks(images_dir, maps_dir)}
            names = sorted(pairs) if wanted is None else sorted(wanted)
            missing = [n for n in names if n not in pairs]
            if missing:
                raise DataError(
                    f"{split}: {len(missing)} image(s) of the {subset} list have no image and map in "
                    f"{images_dir} / {maps_dir}: {examples_text(missing)}"
                )
            names = names[:max_images] if max_images is not None else names
            self.items = [(name, *pairs[name]) for name in names]

    def target(self, index: int) -> np.ndarray:
        """The (H, W) ``float32`` map of item ``index`` at the model size, unflipped, in [0, 1]."""
        name, _, map_path = self.items[index]
        if self.fixations is not None:
            resized = resize_map(fixation_density(self.fixations[name], self.sigma), self.size)
            return np.clip(resized, 0.0, 1.0).astype(np.float32)
        return resize_map(read_gray(map_path), self.size).astype(np.float32) / np.float32(255.0)

    def _prepared(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The resized (H, W, 3) ``uint8`` image and (H, W) ``float32`` map of item ``index``, unflipped."""
        if self.cache is not None and index in self.cache:
            return self.cache[index]
        _, image_path, _ = self.items[index]
        prepared = (resized(read_rgb(image_path), self.size), self.target(index))
        if self.cache is not None:
            self.cache[index] = prepared
        return prepared

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, target = self._prepared(index)
        if self.flip(index):
            image, target = image[:, ::-1], target[:, ::-1]
        return to_tensor(image), to_tensor(target, divisor=1.0)  # copies: never sharing memory with the cache
