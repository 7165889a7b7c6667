"""The energy-based model U(Y, X) of paper 1 (Sec. 3.1 and 5).

Layers, as the paper lists them (cksl-n: k x k Convolution-Norm-ReLU with n filters and stride l):
``c3s1-32, c4s2-64, c4s2-128, c4s2-256, c4s1-1, fc-100``, applied to the channel concatenation of the
image X and the saliency map Y.

Choices the paper leaves open (see ``docs/models.md``):

* **Inputs.** X is an RGB image in [0, 1], normalised inside the model with the ImageNet mean and std
  (as the official code feeds it); Y enters as given, nominally in [0, 1]. Values of Y outside [0, 1]
  are accepted, because Langevin steps leave that range.
* **Padding.** The 3x3 convolution pads by 1 and the stride-2 ones by 1 (each halves the size); c4s1-1
  has no padding, as in the official code, so its map is ``floor(H/8) - 3`` pixels high (41x41 at
  352x352). Inputs must be at least 32x32.
* **Any input size.** The official code ties its fc layers to three resolutions (29, 41, 53). Here the
  c4s1-1 map is average-pooled adaptively to a ``grid_size`` x ``grid_size`` grid (10 x 10 = 100 values)
  before fc-100, so one set of weights serves every size.
* **The scalar.** The energy is the sum of the 100 fc outputs, U = sum_j fc(z)_j. (A learnt 100 -> 1
  read-out would be equivalent: fc-100 is linear, so any linear read-out collapses to one linear map.)
  The official code's Langevin step also sums the 100 outputs.
* **c4s1-1.** Read literally, the paper's notation makes it Conv-Norm-ReLU like the other layers
  (``norm_act_last=True``, the default). The official code uses a plain convolution there
  (``norm_act_last=False``), which cannot saturate.
* **Normalisation** (``norm``): ``"batch"`` (the paper's BatchNorm, default), ``"group"`` (GroupNorm,
  8 groups; the final 1-channel layer uses one group) or ``"none"``. With BatchNorm in training mode,
  the energy of a sample depends on the other samples of the batch (batch statistics), so Langevin
  samples in one batch are coupled and every energy evaluation updates the running statistics; in eval
  mode BatchNorm uses the running statistics and samples are independent. ``"group"`` and ``"none"``
  give a per-sample energy in both modes.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from gensal.errors import ConfigError, InputError
from gensal.models.backbones import IMAGENET_MEAN, IMAGENET_STD
from gensal.models.common import check_image, check_tensor
from gensal.models.registry import register_model

Norm = Literal["batch", "group", "none"]
Activation = Literal["relu", "leaky_relu", "silu"]
ACTIVATIONS = ("relu", "leaky_relu", "silu")
GROUPS = 8


def _norm_layer(norm: Norm, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(min(GROUPS, channels), channels)
    return nn.Identity()


def _conv_norm_act(
    in_channels: int, out_channels: int, kernel: int, stride: int, padding: int, norm: Norm, act: nn.Module
) -> nn.Sequential:
    """The paper's cksl-n layer: Conv (no bias before a norm), Norm, activation."""
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=norm == "none")
    return nn.Sequential(conv, _norm_layer(norm, out_channels), act)


class EnergyModel(nn.Module):
    """Energy U(Y, X): a bottom-up ConvNet on the concatenation of image and saliency map.

    Args:
        image_channels: channels of X (3 for RGB, normalised with the ImageNet mean/std; other counts
            are normalised with mean 0.5 and std 0.25).
        channels: widths of c3s1, c4s2, c4s2, c4s2 (paper: 32, 64, 128, 256).
        norm: ``"batch"`` (paper), ``"group"`` or ``"none"``; see the module docstring.
        activation: ``"relu"`` (paper), ``"leaky_relu"`` (slope 0.2, the official code) or ``"silu"`` (smooth:
            the input-gradient a Langevin chain follows is then smooth too, not piecewise constant).
        norm_act_last: whether c4s1-1 is followed by norm and activation (the paper's notation) or is a
            plain convolution (the official code).
        grid_size: side of the grid the c4s1-1 map is average-pooled to before the fc layer.
        fc_features: outputs of the fc layer (paper: 100), summed into the energy.
        pixel_scale: multiply the energy by the number of pixels H * W of the map (not in the paper). The
            fc layer reads a 10 x 10 average of the last feature map, so without it the energy's gradient
            per pixel is about 1e-5 at initialisation (256 x 256) and a descent step of Eq. 2 (rate 0.08)
            moves nothing; with it the gradient per pixel is of order 1 at any size, as for an energy summed
            over pixels (docs/refine.md). The fc weights then start at zero (a flat energy, whose descent
            leaves maps unchanged until it has learnt something).

    Raises:
        ConfigError: an unknown ``norm`` or ``activation``, or non-positive sizes.

    Example:
        >>> ebm = create_model("ebm")
        >>> ebm(torch.rand(2, 1, 64, 64), torch.rand(2, 3, 64, 64)).shape
        torch.Size([2])
    """

    def __init__(
        self,
        image_channels: int = 3,
        channels: tuple[int, int, int, int] = (32, 64, 128, 256),
        norm: Norm = "batch",
        activation: Activation = "relu",
        norm_act_last: bool = True,
        grid_size: int = 10,
        fc_features: int = 100,
        pixel_scale: bool = False,
    ) -> None:
        super().__init__()
        self.pixel_scale = bool(pixel_scale)
        if norm not in ("batch", "group", "none"):
            raise ConfigError(f"norm must be 'batch', 'group' or 'none', got {norm!r}")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        sizes = {"image_channels": image_channels, "grid_size": grid_size, "fc_features": fc_features}
        if len(tuple(channels)) != 4:
            raise ConfigError(f"channels must hold 4 widths (c3s1, c4s2, c4s2, c4s2), got {channels!r}")
        sizes.update({f"channels[{i}]": c for i, c in enumerate(channels)})
        for label, value in sizes.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{label} must be a positive integer, got {value!r}")
        self.image_channels = image_channels
        self.norm = norm
        mean = IMAGENET_MEAN if image_channels == 3 else (0.5,) * image_channels
        std = IMAGENET_STD if image_channels == 3 else (0.25,) * image_channels
        self.register_buffer("image_mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("image_std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

        def act() -> nn.Module:
            return {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "silu": nn.SiLU}[activation]()

        c1, c2, c3, c4 = channels
        self.features = nn.Sequential(
            _conv_norm_act(image_channels + 1, c1, 3, 1, 1, norm, act()),  # c3s1-32
            _conv_norm_act(c1, c2, 4, 2, 1, norm, act()),  # c4s2-64
            _conv_norm_act(c2, c3, 4, 2, 1, norm, act()),  # c4s2-128
            _conv_norm_act(c3, c4, 4, 2, 1, norm, act()),  # c4s2-256
        )
        if norm_act_last:  # c4s1-1
            self.last = _conv_norm_act(c4, 1, 4, 1, 0, norm, act())
        else:
            self.last = nn.Conv2d(c4, 1, 4, stride=1, padding=0)
        self.pool = nn.AdaptiveAvgPool2d(grid_size)
        self.fc = nn.Linear(grid_size * grid_size, fc_features)  # fc-100
        if self.pixel_scale:  # start flat: refinement leaves maps unchanged until the energy has learnt
            nn.init.zeros_(self.fc.weight)

    def forward(self, saliency: Tensor, image: Tensor) -> Tensor:
        """Energy U(Y, X) for a batch.

        Args:
            saliency: Y, (B*N, 1, H, W), nominally in [0, 1] (any real value is accepted).
            image: X, (B, image_channels, H, W) in [0, 1], H and W >= 32. With N > 1 each image serves the
                N consecutive saliency maps ``b*N .. b*N+N-1``.

        Returns:
            Energies (B*N,).

        Raises:
            InputError: wrong types, shapes, sizes, or batch sizes that do not divide.
        """
        image = check_image(image, self.image_channels, "image")
        check_tensor(saliency, "saliency")
        if saliency.ndim != 4 or saliency.shape[1] != 1 or saliency.shape[-2:] != image.shape[-2:]:
            raise InputError(
                f"saliency must have shape (B, 1, {image.shape[-2]}, {image.shape[-1]}) to match the image "
                f"{tuple(image.shape)}, got {tuple(saliency.shape)}"
            )
        batch = image.shape[0]
        if saliency.shape[0] % batch:
            raise InputError(f"saliency batch {saliency.shape[0]} is not a multiple of the image batch {batch}")
        per_image = saliency.shape[0] // batch
        if per_image > 1:
            image = image.repeat_interleave(per_image, dim=0)
        image = (image - self.image_mean) / self.image_std
        x = self.last(self.features(torch.cat([image, saliency.to(image.dtype)], dim=1)))
        energy = self.fc(self.pool(x).flatten(1)).sum(dim=1)
        if self.pixel_scale:
            energy = energy * float(saliency.shape[-2] * saliency.shape[-1])
        return energy


@register_model
def ebm(
    image_channels: int = 3,
    channels: tuple[int, int, int, int] = (32, 64, 128, 256),
    norm: Norm = "batch",
    activation: Activation = "relu",
    norm_act_last: bool = True,
    grid_size: int = 10,
    fc_features: int = 100,
    pixel_scale: bool = False,
) -> EnergyModel:
    """The EBM U(Y, X) of paper 1; arguments as :class:`EnergyModel` (defaults follow the paper)."""
    return EnergyModel(
        image_channels, tuple(channels), norm, activation, norm_act_last, grid_size, fc_features, pixel_scale
    )
