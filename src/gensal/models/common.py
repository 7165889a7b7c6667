"""Input guards shared by the models (typed errors, never ``assert``)."""

from __future__ import annotations

import torch
from torch import Tensor

from gensal.checks import check_shape
from gensal.errors import InputError

MIN_IMAGE_SIZE = 32
"""Smallest height and width the models accept: the encoders reach stride 32, and the energy model's
c4s1-1 layer needs a feature map of at least 4x4 at stride 8."""


def check_tensor(x: object, name: str) -> Tensor:
    """Raise :class:`InputError` unless ``x`` is a floating-point tensor."""
    if not isinstance(x, Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise InputError(f"{name} must be a floating-point tensor (values in [0, 1]), got dtype {x.dtype}")
    return x


def check_image(image: object, channels: int = 3, name: str = "image") -> Tensor:
    """Check an image batch: a float tensor (B, channels, H, W) with H, W >= :data:`MIN_IMAGE_SIZE`.

    Raises:
        InputError: wrong type, dtype, number of dimensions, channel count or size.
    """
    image = check_tensor(image, name)
    if image.ndim == 4 and image.shape[1] != channels:
        raise InputError(
            f"{name} must have {channels} channels (shape (B, {channels}, H, W)), got shape {tuple(image.shape)}"
        )
    check_shape(image, f"B {channels} H W", name)
    if min(image.shape[-2:]) < MIN_IMAGE_SIZE:
        raise InputError(
            f"{name} must be at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} pixels, got {tuple(image.shape[-2:])}; "
            "resize it first"
        )
    return image
