"""Fixed train / validation / test splits of a data set, stored as JSON lists of image names (file stems).

OSIE has no official split. ``configs/splits/osie-seed0.json`` holds the one gensal uses: the 700 image
names sorted, shuffled by ``numpy.random.default_rng(0).permutation``, then cut into 500 train,
100 validation and 100 test images. Regenerate (and compare) it with::

    from gensal.data.splits import make_split, read_split, write_split, osie_names
    split = make_split(osie_names("../shared/data/osie/images"), seed=0, dataset="osie")
    assert split == read_split("configs/splits/osie-seed0.json")
    write_split("configs/splits/osie-seed0.json", split)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gensal.data.pairs import files_by_stem
from gensal.errors import DataError
from gensal.io import write_json

SPLIT_NAMES = ("train", "validation", "test")
OSIE_SPLIT_SIZES = (500, 100, 100)
"""Train, validation and test sizes of the OSIE split (700 images)."""


def osie_names(images_dir: str | Path) -> list[str]:
    """The sorted image names (file stems) of an OSIE image folder.

    Raises:
        DataError: the folder is missing or holds no images.
    """
    return sorted(files_by_stem(images_dir))


def make_split(
    names: Iterable[str], seed: int = 0, sizes: Sequence[int] = OSIE_SPLIT_SIZES, dataset: str = "osie"
) -> dict[str, Any]:
    """Split image names at random, reproducibly.

    The names are sorted, permuted by ``numpy.random.default_rng(seed).permutation`` and cut into
    consecutive parts of ``sizes``; each part is stored sorted.

    Args:
        names: image names (file stems), each once.
        seed: seed of the permutation.
        sizes: numbers of train, validation and test names; they must add up to the number of names.
        dataset: recorded in the result.

    Returns:
        ``{"dataset", "seed", "sizes", "train": [...], "validation": [...], "test": [...]}``.

    Raises:
        DataError: duplicate names, or sizes that do not add up to the number of names.
    """
    ordered = sorted(names)
    if len(set(ordered)) != len(ordered):
        raise DataError("split: the image names contain duplicates")
    if len(sizes) != len(SPLIT_NAMES) or any(s < 0 for s in sizes) or sum(sizes) != len(ordered):
        raise DataError(f"split: sizes {list(sizes)} must be 3 counts adding up to the {len(ordered)} names")
    order = np.random.default_rng(seed).permutation(len(ordered))
    split: dict[str, Any] = {"dataset": dataset, "seed": int(seed), "sizes": [int(s) for s in sizes]}
    start = 0
    for part, size in zip(SPLIT_NAMES, sizes, strict=True):
        split[part] = sorted(ordered[i] for i in order[start : start + size])
        start += size
    return split


def write_split(path: str | Path, split: dict[str, Any]) -> None:
    """Write a split as indented JSON (atomically)."""
    write_json(path, split)


def read_split(path: str | Path) -> dict[str, Any]:
    """Read and check a split file.

    Raises:
        DataError: the file is missing or not JSON, a part is missing or not a list of names, or a name
            appears in two parts.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: split file not found")
    try:
        split = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(split, dict):
        raise DataError(f"{path}: expected an object with lists {', '.join(SPLIT_NAMES)}")
    seen: dict[str, str] = {}
    for part in SPLIT_NAMES:
        names = split.get(part)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataError(f"{path}: '{part}' must be a list of image names")
        for name in names:
            if name in seen:
                raise DataError(f"{path}: image {name!r} is in both '{seen[name]}' and '{part}'")
            seen[name] = part
    return split
