"""What every command that runs a trained model on images shares: inputs, preprocessing, output sizes.

Images go to the network exactly as in training (:class:`gensal.data.sod.SODTrainDataset`): RGB, resized
bilinearly (PIL) to the square size the model was trained at, scaled to [0, 1]; the backbone normalises
them itself. Outputs are resized bilinearly back to each image's original size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from gensal.errors import DataError
from gensal.io import IMAGE_SUFFIXES, list_images


def list_inputs(path: str | Path) -> list[Path]:
    """One image file, or the sorted images of a folder; a clear :class:`DataError` otherwise."""
    path = Path(path)
    if path.is_dir():
        return list_images(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: not an image file (expected one of {', '.join(IMAGE_SUFFIXES)})")
    return [path]


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
    """A map in [0, 1] (any leading singleton dimensions) -> (H, W) ``uint8`` 0..255, rounded."""
    array = saliency.detach().cpu().numpy() if isinstance(saliency, Tensor) else np.asarray(saliency)
    array = np.squeeze(array)
    if array.ndim != 2:
        raise ValueError(f"expected one 2-D map, got shape {array.shape}")
    return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
