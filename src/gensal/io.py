"""Reading images and maps, and writing every output atomically (temporary file, then rename)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from gensal.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
FIGURE_FORMATS = ("png", "jpg", "jpeg", "pdf", "svg")
"""Formats :func:`save_figure` writes, chosen by the file's suffix (no suffix: PNG)."""
HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I", "F")
"""Pillow modes of 16-bit, 32-bit integer and floating-point single-channel images, scaled to 8 bits by
:func:`read_rgb` and :func:`read_gray` instead of being clipped at 255 by Pillow's ``convert``."""


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


def _high_depth_to_uint8(image: Image.Image, path: Path) -> np.ndarray:
    """A single-channel image of one of :data:`HIGH_DEPTH_MODES` as ``uint8`` (H, W).

    16-bit images are divided by 65535. 32-bit integer images (``I``: also how older Pillow versions
    open 16-bit PNGs) and floating-point images are divided by their maximum when it exceeds 1 (so float
    images within [0, 1] are taken as such, and 0/1 masks become 0/255); negative values become 0.
    """
    array = np.asarray(image, dtype=np.float64)
    if not np.isfinite(array).all():
        raise DataError(f"{path}: image contains NaN or infinite values")
    top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max(initial=0.0)), 1.0)
    return np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8)


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image as ``uint8`` RGB of shape (H, W, 3).

    Grayscale images are replicated to 3 channels; 16-bit, 32-bit and floating-point grayscale images are
    scaled to 8 bits first (see :data:`HIGH_DEPTH_MODES`); 16-bit colour PNGs keep their high bytes
    (Pillow reads them as 8-bit RGB). An alpha channel is dropped, as OpenCV's ``IMREAD_COLOR`` does;
    palette and CMYK images are converted to RGB.
    """
    path = Path(path)
    image = _open(path)
    if image.mode in HIGH_DEPTH_MODES:
        return np.repeat(_high_depth_to_uint8(image, path)[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB"))


def read_gray(path: str | Path) -> np.ndarray:
    """Read a map or mask as ``uint8`` of shape (H, W).

    1-bit masks become 0/255; colour maps are converted with the ITU-R 601-2 luma transform (the same as
    OpenCV's ``IMREAD_GRAYSCALE``); 16-bit, 32-bit and floating-point maps are scaled to 8 bits (see
    :data:`HIGH_DEPTH_MODES`).
    """
    path = Path(path)
    image = _open(path)
    if image.mode in HIGH_DEPTH_MODES:
        return _high_depth_to_uint8(image, path)
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


def _naming(err: OSError, path: Path, temporary: Path) -> OSError:
    """``err``, naming the output ``path`` where it names the temporary file written in its place."""
    if err.errno is None or str(temporary) not in (err.filename, err.filename2):
        return err
    return OSError(err.errno, err.strerror or os.strerror(err.errno), str(path))


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Raises:
        OSError: the file cannot be written (naming ``path``, not the temporary file), or ``path`` is a
            folder (:class:`IsADirectoryError`).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:  # a file on the way: say so rather than "File exists"
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), err.filename) from err
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(path)) from err
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp creates 0600; outputs get the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as err:
        raise _naming(err, path, tmp_path) from err
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def check_output_folder(path: str | Path, option: str = "--output") -> Path:
    """Refuse, before any work is done, an output folder that could not be created or written.

    Nothing is created: the nearest existing folder on the way to ``path`` must be a writable folder.

    Raises:
        DataError: ``path`` or a folder on its way is a file (or a broken link), or is not writable.
    """
    path = Path(path)
    existing = path
    while not (existing.exists() or existing.is_symlink()) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        problem = "is a broken link" if existing.is_symlink() and not existing.exists() else "is not a folder"
        if existing == path:
            raise DataError(f"{option} {path}: exists and {problem}")
        raise DataError(f"{option} {path}: cannot create it, {existing} {problem}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"{option} {path}: permission denied (cannot write in {existing})")
    return path


def check_figure_path(path: str | Path, option: str = "--figure") -> Path:
    """Refuse, before any work is done, a figure path :func:`save_figure` could not write.

    Raises:
        DataError: ``path`` is a folder, has a suffix that is not one of :data:`FIGURE_FORMATS`, or its
            folder cannot be created or written (:func:`check_output_folder`).
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{option} {path}: is a folder; give a file name such as {path / 'figure.png'}")
    suffix = path.suffix.lstrip(".").lower()
    if suffix and suffix not in FIGURE_FORMATS:
        raise DataError(f"{option} {path}: unknown figure format {suffix!r} (use one of {', '.join(FIGURE_FORMATS)})")
    check_output_folder(path.parent, option)
    return path


def check_outputs_apart(
    output_dir: str | Path,
    inputs: dict[str, str | Path],
    outputs: list[Path] | tuple[Path, ...] = (),
    input_files: list[Path] | tuple[Path, ...] = (),
) -> None:
    """Refuse outputs that would replace inputs, comparing resolved paths (links and ``..`` followed).

    Args:
        output_dir: the output folder.
        inputs: label -> input folder (or file: its folder counts); the output folder must be none of them.
        outputs: every file the command is about to write.
        input_files: every file the command reads; no output may be one of them.

    Raises:
        DataError: naming the output and the input it would replace.
    """
    output_dir = Path(output_dir)
    resolved = output_dir.resolve()
    for label, source in inputs.items():
        source = Path(source)
        folder = source if source.is_dir() else source.parent
        if resolved == folder.resolve():
            named = "" if str(folder) == str(output_dir) else f" {folder}"
            raise DataError(
                f"{output_dir}: the output folder must not be the {label} folder{named} (files would be replaced)"
            )
    read = {path.resolve(): path for path in input_files}
    folders: dict[Path, Path] = {}
    for path in outputs:
        # an output replaces the file at its name (a link there, not the link's target): resolve its folder
        folder = folders.setdefault(path.parent, path.parent.resolve())
        if folder / path.name in read:
            raise DataError(f"{path}: this output would replace the input {read[folder / path.name]}")


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
