"""Reading images and maps, and writing every output atomically (temporary file, then rename)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from gensal.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def _open(path: str | Path) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"{path}: cannot read image ({err})") from err
    return image


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image as ``uint8`` RGB of shape (H, W, 3); grayscale images are replicated to 3 channels."""
    return np.asarray(_open(path).convert("RGB"))


def read_gray(path: str | Path) -> np.ndarray:
    """Read a map or mask as ``uint8`` of shape (H, W).

    1-bit masks become 0/255; colour maps are converted with the ITU-R 601-2 luma transform (the same as
    OpenCV's ``IMREAD_GRAYSCALE``); 16-bit maps are scaled to 8 bits.
    """
    image = _open(path)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max()), 1.0)
        return np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8)
    return np.asarray(image.convert("L"))


def read_map(path: str | Path) -> np.ndarray:
    """Read a saliency map: an image file as ``uint8`` (H, W), or a ``.npy`` file as a 2-D float array.

    Raises:
        DataError: if the file is missing or unreadable, a ``.npy`` array is not 2-D, or it holds NaN or
            infinite values.
    """
    path = Path(path)
    if path.suffix.lower() != ".npy":
        return read_gray(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: cannot read .npy file ({err})") from err
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D map, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = array.astype(np.float64)
        if not np.isfinite(array).all():
            raise DataError(f"{path}: map contains NaN or infinite values")
    return array


def resize_map(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D map to ``size = (height, width)`` bilinearly, keeping ``uint8`` or ``float`` dtype."""
    height, width = size
    if array.dtype == np.uint8:
        return np.asarray(Image.fromarray(array).resize((width, height), Image.BILINEAR))
    resized = Image.fromarray(array.astype(np.float32), mode="F").resize((width, height), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float64)


def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files directly inside ``folder``; raises :class:`DataError` if it is missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    return files


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_figure(figure, path: str | Path, dpi: int) -> None:
    """Lay out a Matplotlib figure, write it atomically (format from the suffix, PNG by default), close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")
    plt.close(figure)


def write_json(path: str | Path, data) -> None:
    """Write JSON atomically (indented, keys in insertion order)."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def write_gray_png(path: str | Path, array: np.ndarray) -> None:
    """Write a map in [0, 1] (float) or ``uint8`` as an 8-bit grayscale PNG, atomically."""
    if array.dtype != np.uint8:
        array = np.clip(np.round(np.asarray(array, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(array, mode="L").save(tmp, format="PNG")


def write_npy(path: str | Path, array: np.ndarray) -> None:
    """Write a ``.npy`` file atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)
