"""What every command that runs a trained model on images shares: inputs, preprocessing, output sizes.

Images go to the network exactly as in training (:class:`gensal.data.sod.SODTrainDataset`): RGB, resized
bilinearly (PIL) to the square size the model was trained at, scaled to [0, 1]; the backbone normalises
them itself. Outputs are resized bilinearly back to each image's original size.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from gensal.checks import MAX_STEP_SIZE
from gensal.errors import ConfigError, DataError
from gensal.io import IMAGE_SUFFIXES, list_images

DEVICE_TYPES = ("cpu", "cuda", "mps")
"""Torch device types the commands run on."""


def list_inputs(path: str | Path) -> list[Path]:
    """One image file, or the sorted images of a folder; a clear :class:`DataError` otherwise.

    Raises:
        DataError: a missing path, a file that is not an image, a folder without images, or two images
            of a folder with one stem (``a.jpg`` and ``a.png``), whose outputs would have the same name.
    """
    path = Path(path)
    if path.is_dir():
        files = list_images(path)
        first: dict[str, Path] = {}
        for file in files:
            if file.stem in first:
                raise DataError(
                    f"{path}: {first[file.stem].name} and {file.name} share the name {file.stem!r}, so both "
                    f"maps would be {file.stem}.png; rename or move one of them"
                )
            first[file.stem] = file
        return files
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: not an image file (expected one of {', '.join(IMAGE_SUFFIXES)})")
    return [path]


def check_step_size(value: float, name: str = "--step-size") -> float:
    """A Langevin step size d: a finite number in (0, :data:`MAX_STEP_SIZE`]; ``name`` says where it came from.

    Raises:
        ConfigError: otherwise (NaN, infinite, not positive or above the limit).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite step size in (0, {MAX_STEP_SIZE:g}], got {value!r}")
    if not 0 < value <= MAX_STEP_SIZE:
        raise ConfigError(f"{name} must be a step size in (0, {MAX_STEP_SIZE:g}] (paper: 0.4), got {value!r}")
    return float(value)


def resolve_device(name: str | torch.device, option: str = "--device") -> torch.device:
    """The torch device called ``name`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``), checked to exist here.

    Raises:
        ConfigError: an unknown name, or a device this machine does not have.
    """
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(
            f"{option} {name!r}: unknown device (use one of {', '.join(DEVICE_TYPES)}, or cuda:N)"
        ) from None
    if device.type not in DEVICE_TYPES:
        raise ConfigError(f"{option} {name!r}: unsupported device type (use one of {', '.join(DEVICE_TYPES)})")
    use_cpu = f"use {option} cpu" if option.startswith("--") else f"use {option}=cpu"
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"{option} {name!r}: CUDA is not available on this machine; {use_cpu}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{option} {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{option} {name!r}: MPS is not available on this machine; {use_cpu}")
    return device


def image_to_tensor(rgb: np.ndarray, size: int | tuple[int, int]) -> Tensor:
    """(H, W, 3) ``uint8`` RGB -> (1, 3, h, w) float in [0, 1] at ``size`` (int: square; tuple: (h, w))."""
    height, width = (size, size) if isinstance(size, int) else size
    resized = np.array(Image.fromarray(rgb).resize((width, height), Image.BILINEAR))
    return torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1).float().div_(255.0).unsqueeze(0)


def map_to_tensor(saliency: np.ndarray, size: int | tuple[int, int]) -> Tensor:
    """(H, W) map (``uint8`` 0..255, or float in [0, 1]) -> (1, 1, h, w) float in [0, 1] at ``size``."""
    height, width = (size, size) if isinstance(size, int) else size
    if saliency.dtype == np.uint8:
        values = torch.from_numpy(np.array(saliency)).float().div_(255.0)
    else:
        values = torch.from_numpy(np.ascontiguousarray(saliency, dtype=np.float32)).clamp_(0.0, 1.0)
    return resize_tensor(values[None, None], (height, width))


def resize_tensor(maps: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize of (B, C, h, w) to ``size = (H, W)`` (no-op when the size already matches)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)


def to_uint8(saliency: Tensor | np.ndarray) -> np.ndarray:
    """A map in [0, 1] (any leading singleton dimensions) -> (H, W) ``uint8`` 0..255, rounded.

    Only the leading dimensions are dropped, so a 1 x 1 or 1 x W map keeps its two dimensions.
    """
    array = saliency.detach().cpu().numpy() if isinstance(saliency, Tensor) else np.asarray(saliency)
    if array.ndim < 2 or any(size != 1 for size in array.shape[:-2]):
        raise ValueError(f"expected one 2-D map, got shape {array.shape}")
    array = array.reshape(array.shape[-2:])
    return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
