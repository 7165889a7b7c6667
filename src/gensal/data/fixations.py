"""Eye-fixation data: readers for OSIE, SALICON and fixation-map folders, and ground-truth maps.

Coordinates convention: :class:`Fixations` holds 0-based pixel coordinates in which the integer value ``i``
is the *centre* of pixel ``i`` (column ``x``, row ``y``). A fixation belongs to the pixel
``floor(coordinate + 0.5)``, the pixel whose centre is nearest, which is MATLAB's ``round`` of the 1-based
coordinate minus one. Files that store 1-based MATLAB coordinates (OSIE, SALICON) are shifted by -1 on
reading.

Ground truth for the distribution metrics (CC, KL, SIM, EMD) is a blurred *binary* fixation map, as in the
MIT saliency benchmark: a pixel fixated twice counts once.

* :func:`fixation_density` with ``sigma`` in pixels is a Gaussian blur with zero padding, identical to
  ``scipy.ndimage.gaussian_filter(fixation_map, sigma, mode="constant", truncate=4.0)`` (mass that falls
  outside the image is lost; reflecting it back would pile fixations up at the borders).
* :func:`fixation_density` with ``sigma=None`` and :func:`antonio_gaussian` are the MIT benchmark's
  ``antonioGaussian.m`` low-pass filter (cut-off 8 cycles per image). On an 800x600 or 640x480 image it is
  a Gaussian of standard deviation 24.0 px (the padded canvas is 1024 px wide), which is the
  one-degree-of-visual-angle blur the OSIE authors use.

Both are computed as separable sums over the fixated pixels (``O(n_fixated * (H + W))`` plus one
``H x n x W`` product), so a ground-truth map costs milliseconds rather than a full-image filter.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image, UnidentifiedImageError

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # optional: without it the BLAS library keeps its own thread count
    ThreadpoolController = None

from gensal.checks import check_finite, check_shape
from gensal.errors import DataError, InputError
from gensal.io import list_images, read_gray

OSIE_HEIGHT = 600
"""Height of every OSIE stimulus; ``fixations.mat`` does not store image sizes."""
OSIE_WIDTH = 800
"""Width of every OSIE stimulus."""
MIT_CUTOFF_CYCLES = 8.0
"""Cut-off of the MIT benchmark's ground-truth blur (``antonioGaussian.m``), in cycles per image."""
GAUSSIAN_TRUNCATE = 4.0
"""Gaussian kernels stop at ``int(4 * sigma + 0.5)`` pixels, as scipy's ``gaussian_filter`` default."""


@dataclass(frozen=True)
class Fixations:
    """The fixations recorded on one image.

    Attributes:
        name: image file stem (``"1001"`` for ``1001.jpg``); the key used to match saliency maps.
        height: image height in pixels.
        width: image width in pixels.
        xs: (N,) column coordinates, 0-based, pixel centres at integers.
        ys: (N,) row coordinates, 0-based.
        subjects: optional (N,) integer subject (viewer) index of each fixation.
    """

    name: str
    height: int
    width: int
    xs: np.ndarray
    ys: np.ndarray
    subjects: np.ndarray | None = None

    def __post_init__(self) -> None:
        if int(self.height) <= 0 or int(self.width) <= 0:
            raise InputError(f"{self.name}: image size must be positive, got {self.height}x{self.width}")
        xs = np.asarray(self.xs, dtype=np.float64).reshape(-1)
        ys = np.asarray(self.ys, dtype=np.float64).reshape(-1)
        if xs.shape != ys.shape:
            raise InputError(f"{self.name}: {xs.size} x coordinates but {ys.size} y coordinates")
        check_finite(xs, f"{self.name}: fixation x coordinates")
        check_finite(ys, f"{self.name}: fixation y coordinates")
        object.__setattr__(self, "height", int(self.height))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "xs", xs)
        object.__setattr__(self, "ys", ys)
        if self.subjects is not None:
            subjects = np.asarray(self.subjects).reshape(-1).astype(np.int64)
            if subjects.shape != xs.shape:
                raise InputError(f"{self.name}: {subjects.size} subject indices for {xs.size} fixations")
            object.__setattr__(self, "subjects", subjects)

    def __len__(self) -> int:
        return int(self.xs.size)

    def pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel (row, column) of every fixation: nearest pixel centre, clipped into the image.

        Returns:
            Two (N,) ``int64`` arrays, rows and columns; duplicates are kept.
        """
        rows = np.clip(np.floor(self.ys + 0.5), 0, self.height - 1).astype(np.int64)
        cols = np.clip(np.floor(self.xs + 0.5), 0, self.width - 1).astype(np.int64)
        return rows, cols

    def pixel_indices(self) -> np.ndarray:
        """Row-major flat indices of the fixated pixels, each once, ascending (``np.flatnonzero`` of the map).

        Returns:
            (F,) ``int64`` indices into a (height, width) map's ``ravel()``.
        """
        return np.unique(np.ravel_multi_index(self.pixels(), (self.height, self.width)))

    def to_fixation_map(self) -> np.ndarray:
        """Binary fixation map: True at every fixated pixel (see :meth:`pixels`).

        Returns:
            (height, width) ``bool`` array.
        """
        fixation_map = np.zeros((self.height, self.width), dtype=bool)
        rows, cols = self.pixels()
        fixation_map[rows, cols] = True
        return fixation_map


def _gaussian_kernel_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) matrix of the 1-D zero-padded Gaussian filter used by ``gaussian_filter``."""
    radius = int(GAUSSIAN_TRUNCATE * sigma + 0.5)
    taps = np.exp(-0.5 / sigma**2 * np.arange(-radius, radius + 1, dtype=np.float64) ** 2)
    taps /= taps.sum()
    offset = np.arange(size)[:, None] - np.arange(size)[None, :]
    inside = np.abs(offset) <= radius
    return np.where(inside, taps[np.clip(offset + radius, 0, 2 * radius)], 0.0)


def _antonio_kernel_matrix(size: int, canvas: int, cutoff: float) -> np.ndarray:
    """(size, size) matrix of the 1-D factor of ``antonioGaussian.m``'s circular filter on ``canvas``."""
    # fftshift(meshgrid(-n/2:n/2-1)) in FFT order: 0, 1, ..., n/2-1, -n/2, ..., -1
    frequencies = np.fft.fftfreq(canvas, d=1.0 / canvas)
    width = cutoff / math.sqrt(math.log(2.0))
    # the exact kernel is positive; clipping removes FFT round-off (about -1e-18) from its far tail
    taps = np.maximum(np.fft.ifft(np.exp(-(frequencies**2) / width**2)).real, 0.0)
    offset = np.arange(size)[:, None] - np.arange(size)[None, :]
    return taps[np.mod(offset, canvas)]


def _antonio_canvas(height: int, width: int) -> int:
    """Side of the square FFT canvas of ``antonioGaussian.m``: next power of two of the larger side."""
    side = max(height, width)
    side += side % 2
    return 2 ** math.ceil(math.log2(side))


@functools.lru_cache(maxsize=8)
def _blur_matrices(height: int, width: int, sigma: float | None, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column filter matrices of a separable blur; cached because every image of a data set
    usually has the same size. The arrays are shared: callers must not modify them."""
    if sigma is None:
        canvas = _antonio_canvas(height, width)
        return _antonio_kernel_matrix(height, canvas, cutoff), _antonio_kernel_matrix(width, canvas, cutoff)
    if not sigma > 0:
        raise InputError(f"sigma must be a positive number of pixels or None, got {sigma}")
    return _gaussian_kernel_matrix(height, sigma), _gaussian_kernel_matrix(width, sigma)


def blur_map(image: np.ndarray, sigma: float | None = None, cutoff: float = MIT_CUTOFF_CYCLES) -> np.ndarray:
    """Blur a 2-D map with the ground-truth filter (Gaussian of ``sigma`` px, or the MIT filter).

    Args:
        image: (H, W) real array, e.g. a binary fixation map.
        sigma: Gaussian standard deviation in pixels, zero padding (equal to
            ``scipy.ndimage.gaussian_filter(image, sigma, mode="constant")``); ``None`` selects the MIT
            benchmark's ``antonioGaussian`` filter with ``cutoff``.
        cutoff: cut-off frequency of the MIT filter in cycles per image (only used when ``sigma`` is None).

    Returns:
        (H, W) ``float64`` blurred map (not normalised).

    Raises:
        InputError: if ``image`` is not 2-D or ``sigma`` is not positive.
    """
    image = np.asarray(image, dtype=np.float64)
    check_shape(image, "H W", "map to blur")
    rows_matrix, cols_matrix = _blur_matrices(image.shape[0], image.shape[1], sigma, cutoff)
    return rows_matrix @ image @ cols_matrix.T


def antonio_gaussian(image: np.ndarray, cutoff: float = MIT_CUTOFF_CYCLES) -> np.ndarray:
    """The MIT benchmark's ``antonioGaussian.m`` (A. Torralba): Gaussian low-pass with circular boundary.

    The image is zero-padded to an ``n x n`` canvas (``n`` the next power of two of its larger side) and
    multiplied in the Fourier domain by ``exp(-(fx^2 + fy^2) / s^2)``, ``s = cutoff / sqrt(log 2)``, so the
    amplitude halves at ``cutoff`` cycles per image; the result is cropped back. The filter is separable,
    so it is evaluated here as two matrix products with the same periodic kernel.

    Args:
        image: (H, W) real array.
        cutoff: cut-off frequency in cycles per image (the benchmark uses 8).

    Returns:
        (H, W) ``float64`` filtered image.
    """
    return blur_map(image, sigma=None, cutoff=cutoff)


@functools.cache
def _blas_threads():
    return None if ThreadpoolController is None else ThreadpoolController()


def single_threaded_blas() -> contextlib.AbstractContextManager:
    """Context manager limiting BLAS to one thread (when threadpoolctl is installed; else it does nothing).

    A ground-truth map's matrix product (800x600 output, inner size = number of fixated pixels) is too
    small to gain from threads, and OpenBLAS threads busy-wait after every call: with a product every few
    milliseconds they never sleep and take a core from the worker processes or other jobs (evaluation
    ran 2x slower with them on 2 cores). :func:`fixation_density` and
    :meth:`gensal.metrics.fixation.FixationEvaluator.score` use it.
    """
    controller = _blas_threads()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def fixation_density(
    fix: Fixations, sigma: float | None = None, cutoff: float = MIT_CUTOFF_CYCLES, out: np.ndarray | None = None
) -> np.ndarray:
    """Continuous ground-truth map: the binary fixation map blurred, normalised to maximum 1.

    Args:
        fix: fixations of one image.
        sigma: Gaussian standard deviation in pixels with zero padding, the same as
            ``scipy.ndimage.gaussian_filter(fix.to_fixation_map(), sigma, mode="constant")``; ``None``
            (default) uses the MIT benchmark's ``antonioGaussian`` filter (``cutoff`` cycles per image,
            24 px on OSIE and SALICON images). The OSIE authors use about 24 px, SALICON 19 px.
        cutoff: cut-off of the MIT filter in cycles per image (used only when ``sigma`` is None).
        out: optional C-contiguous (height, width) ``float64`` array to write the map into.

    Returns:
        (height, width) ``float64`` map with maximum 1 (all zeros if there are no fixations); ``out`` if given.

    Raises:
        InputError: if ``sigma`` is not positive.
    """
    rows_matrix, cols_matrix = _blur_matrices(fix.height, fix.width, sigma, cutoff)
    rows, cols = np.unravel_index(fix.pixel_indices(), (fix.height, fix.width))
    with single_threaded_blas():
        density = np.matmul(rows_matrix[:, rows], cols_matrix[:, cols].T, out=out)
    peak = density.max(initial=0.0)
    if peak > 0:
        density /= peak
    return density


def read_image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image from its header."""
    if not path.is_file():
        raise DataError(f"{path}: image file not found")
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"{path}: cannot read image ({err})") from err
    return height, width


def _load_mat(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except Exception as err:  # scipy raises ValueError, TypeError, OSError, MatReadError ... on bad files
        raise DataError(f"{path}: cannot read MATLAB file ({type(err).__name__}: {err})") from err


def read_osie(mat_path: str | Path, image_dir: str | Path | None = None) -> dict[str, Fixations]:
    """Read OSIE's ``fixations.mat`` (Xu et al., "Predicting human gaze beyond pixels", JoV 2014).

    The file holds a struct array ``fixations``; ``fixations[i].img`` is the image file name and
    ``fixations[i].subjects[j].fix_x / fix_y`` are 1-based MATLAB pixel coordinates of subject ``j``.
    They are converted to 0-based coordinates (minus one) and the subject index ``j`` is kept.

    Args:
        mat_path: path of ``fixations.mat``.
        image_dir: folder of the stimuli; when given, each image's size is read from its file (which must
            exist). When omitted, every image is taken to be 800x600 (all OSIE stimuli are), and a
            fixation outside that frame is an error.

    Returns:
        Fixations by image name (file stem), in file order.

    Raises:
        DataError: if the file is missing, unreadable, empty or not in the OSIE layout, or an image is
            missing from ``image_dir``.
    """
    path = Path(mat_path)
    content = _load_mat(path)
    if "fixations" not in content:
        found = ", ".join(k for k in content if not k.startswith("__")) or "nothing"
        raise DataError(f"{path}: no 'fixations' variable (found {found}); expected OSIE fixations.mat")
    records = np.atleast_1d(content["fixations"])
    if records.size == 0:
        raise DataError(f"{path}: 'fixations' is empty")
    result: dict[str, Fixations] = {}
    for index, record in enumerate(records):
        try:
            image_name = str(record.img)
            per_subject = [
                (
                    np.asarray(s.fix_x, dtype=np.float64).reshape(-1),
                    np.asarray(s.fix_y, dtype=np.float64).reshape(-1),
                )
                for s in np.atleast_1d(record.subjects)
            ]
        except (AttributeError, TypeError, ValueError) as err:
            raise DataError(
                f"{path}: fixations[{index}] lacks img/subjects/fix_x/fix_y ({err}); expected OSIE layout"
            ) from err
        if any(x.shape != y.shape for x, y in per_subject):
            raise DataError(f"{path}: fixations[{index}] ({image_name}) has fix_x and fix_y of different lengths")
        xs = np.concatenate([np.empty(0)] + [x for x, _ in per_subject]) - 1.0
        ys = np.concatenate([np.empty(0)] + [y for _, y in per_subject]) - 1.0
        subject_ids = np.concatenate(
            [np.empty(0, np.int64)] + [np.full(x.size, j, dtype=np.int64) for j, (x, _) in enumerate(per_subject)]
        )
        if image_dir is not None:
            height, width = read_image_size(Path(image_dir) / image_name)
        else:
            height, width = OSIE_HEIGHT, OSIE_WIDTH
            outside = (xs < -0.5) | (xs >= width - 0.5) | (ys < -0.5) | (ys >= height - 0.5)
            if outside.any():
                raise DataError(
                    f"{path}: {image_name} has {int(outside.sum())} fixation(s) outside the assumed "
                    f"{width}x{height} OSIE frame; pass image_dir to read the real image sizes"
                )
        name = Path(image_name).stem
        if name in result:
            raise DataError(f"{path}: image {image_name} appears twice")
        result[name] = Fixations(name, height, width, xs, ys, subject_ids)
    return result


def read_salicon(json_path: str | Path) -> dict[str, Fixations]:
    """Read a SALICON fixation file (Jiang et al., "SALICON: Saliency in Context", CVPR 2015).

    COCO-style JSON: ``images`` (``id``, ``file_name``, ``height``, ``width``) and ``annotations``
    (``image_id``, ``worker_id``, ``fixations`` as 1-based ``[row, col]`` pairs). Coordinates become
    0-based; ``worker_id`` becomes the subject index. Images without annotations get no fixations.

    Args:
        json_path: path of e.g. ``fixations_train2014.json``.

    Returns:
        Fixations by image name (file stem), in the order of ``images``.

    Raises:
        DataError: if the file is missing, not JSON, empty, or not in the SALICON layout.
    """
    path = Path(json_path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(content, dict) or not isinstance(content.get("images"), list):
        raise DataError(f"{path}: no 'images' list; expected SALICON fixation JSON (COCO style)")
    if not isinstance(content.get("annotations"), list):
        raise DataError(f"{path}: no 'annotations' list; expected SALICON fixation JSON (COCO style)")
    if not content["images"]:
        raise DataError(f"{path}: 'images' is empty")
    try:
        images = {int(e["id"]): (str(e["file_name"]), int(e["height"]), int(e["width"])) for e in content["images"]}
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: an entry of 'images' lacks id/file_name/height/width ({err})") from err
    points: dict[int, list[np.ndarray]] = {image_id: [] for image_id in images}
    workers: dict[int, list[np.ndarray]] = {image_id: [] for image_id in images}
    for index, annotation in enumerate(content["annotations"]):
        try:
            image_id = int(annotation["image_id"])
            pairs = np.asarray(annotation["fixations"], dtype=np.float64).reshape(-1, 2)
            worker = int(annotation.get("worker_id", index))
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"{path}: annotations[{index}] is not image_id + [row, col] fixations ({err})") from err
        if image_id not in images:
            raise DataError(f"{path}: annotations[{index}] refers to unknown image_id {image_id}")
        points[image_id].append(pairs)
        workers[image_id].append(np.full(len(pairs), worker, dtype=np.int64))
    result: dict[str, Fixations] = {}
    for image_id, (file_name, height, width) in images.items():
        pairs = np.concatenate(points[image_id]) if points[image_id] else np.empty((0, 2))
        subjects = np.concatenate(workers[image_id]) if workers[image_id] else np.empty(0, np.int64)
        name = Path(file_name).stem
        result[name] = Fixations(name, height, width, pairs[:, 1] - 1.0, pairs[:, 0] - 1.0, subjects)
    return result


def read_fixation_maps(folder: str | Path, threshold: int = 0) -> dict[str, Fixations]:
    """Read a folder of binary fixation-map images (one per image, matched by file stem).

    Every pixel whose 8-bit grey value exceeds ``threshold`` is one fixation at that pixel (0-based
    integer coordinates). Lossy (JPEG) maps can hold faint compression noise: raise ``threshold`` for them.

    Args:
        folder: folder of PNG/JPEG/... fixation maps.
        threshold: grey level (0-255) a fixated pixel must exceed; 0 means "nonzero".

    Returns:
        Fixations by file stem, sorted by name.

    Raises:
        DataError: if the folder is missing, holds no images or an image cannot be read.
    """
    result: dict[str, Fixations] = {}
    for path in list_images(folder):
        fixation_map = read_gray(path) > threshold
        ys, xs = np.nonzero(fixation_map)
        if path.stem in result:
            raise DataError(f"{path}: two fixation maps share the name {path.stem}")
        result[path.stem] = Fixations(path.stem, fixation_map.shape[0], fixation_map.shape[1], xs, ys)
    return result


def read_fixations(source: str | Path, image_dir: str | Path | None = None) -> dict[str, Fixations]:
    """Read fixations from an OSIE ``.mat``, a SALICON ``.json`` or a folder of fixation maps.

    Args:
        source: file or folder.
        image_dir: stimuli folder, used for the image sizes of ``.mat`` files (see :func:`read_osie`).

    Returns:
        Fixations by image name.

    Raises:
        DataError: if the source is missing, of an unknown kind, or unreadable, empty or malformed.
    """
    path = Path(source)
    if path.is_dir():
        return read_fixation_maps(path)
    if not path.exists():
        raise DataError(f"{path}: file or folder not found")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return read_osie(path, image_dir)
    if suffix == ".json":
        return read_salicon(path)
    raise DataError(
        f"{path}: unknown fixation format '{suffix}'; expected an OSIE .mat, a SALICON .json or a folder of maps"
    )
