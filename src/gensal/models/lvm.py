"""The latent variable model G(X, h) of paper 1 (Sec. 3.2 and 5) and its deterministic ablation G(X).

An encoder backbone and a MiDaS-style decoder; the latent vector h ~ N(0, I_d) (d = 8 in the paper) is
tiled over the deepest feature map. The model returns logits; the saliency map is ``sigmoid(logits)``.

The encoder runs once per image and its features serve many latent vectors: :meth:`SaliencyLVM.decode`
takes features of batch B and latent vectors of batch B*N (image-major: rows ``b*N .. b*N+N-1`` belong to
image ``b``) and returns B*N maps, without copying the fine feature maps N times. Use
:func:`repeat_features` only where code needs features of the same batch as ``h``.

Example:
    >>> model = create_model("lvm", backbone="efficientnet_lite0", pretrained=False).eval()
    >>> image = torch.rand(2, 3, 64, 64)
    >>> features = model.encode(image)
    >>> h = model.sample_latent(2 * 5)  # 5 samples per image
    >>> model.decode(features, h).shape
    torch.Size([10, 1, 64, 64])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from gensal.errors import ConfigError, InputError
from gensal.models.backbones import Backbone, create_backbone, resolve_pretrained
from gensal.models.common import check_image, check_tensor
from gensal.models.decoder import MidasDecoder
from gensal.models.registry import register_model

# Decoder width per backbone when none is given: MiDaS's 256 for the paper's backbones, 64 for the
# CPU-sized EfficientNet-Lite0 (whose deepest level has only 320 channels).
DEFAULT_DECODER_CHANNELS = {"efficientnet_lite0": 64, "resnet50": 256, "vgg16": 256}


def repeat_features(features: Sequence[Tensor], n: int) -> list[Tensor]:
    """Repeat each feature map ``n`` times along the batch, image-major (``repeat_interleave``).

    ``decode(repeat_features(f, n), h)`` equals ``decode(f, h)`` for ``h`` of batch B*N; the latter is
    cheaper and is what the library uses.

    Args:
        features: tensors (B, C_i, H_i, W_i).
        n: copies per image, >= 1.

    Returns:
        Tensors (B*n, C_i, H_i, W_i).

    Raises:
        InputError: ``n`` < 1.
    """
    if not isinstance(n, int) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    return [f.repeat_interleave(n, dim=0) for f in features]


class SaliencyLVM(nn.Module):
    """Saliency generator G(X, h): backbone + MiDaS decoder with the latent vector at the bottleneck.

    With ``latent_dim=0`` it is the deterministic G(X) of the ablation (the same network without h).

    Args:
        backbone: an encoder from :func:`gensal.models.backbones.create_backbone`.
        latent_dim: dimension d of h (paper: 8); 0 for no latent vector.
        decoder_channels: decoder width (MiDaS: 256).
        head_channels: width of the output head's hidden layer (MiDaS: 32).

    Attributes:
        latent_dim: d, or 0 for the deterministic model.

    Raises:
        ConfigError: negative ``latent_dim``, or ``decoder_channels``/``head_channels`` < 2.
    """

    def __init__(
        self, backbone: Backbone, latent_dim: int = 8, decoder_channels: int = 64, head_channels: int = 32
    ) -> None:
        super().__init__()
        if not isinstance(latent_dim, int) or latent_dim < 0:
            raise ConfigError(f"latent_dim must be an integer >= 0, got {latent_dim!r}")
        for label, value in (("decoder_channels", decoder_channels), ("head_channels", head_channels)):
            if not isinstance(value, int) or value < 2:
                raise ConfigError(f"{label} must be an integer >= 2, got {value!r}")
        self.latent_dim = latent_dim
        self.backbone = backbone
        self.decoder = MidasDecoder(backbone.feature_channels, decoder_channels, latent_dim, head_channels)

    def encode(self, image: Tensor) -> list[Tensor]:
        """Everything that does not depend on h: backbone features, projected and skip-refined.

        Args:
            image: RGB (B, 3, H, W) in [0, 1], H and W >= 32 (any size; not only multiples of 32).

        Returns:
            One (B, decoder_channels, ~H/s, ~W/s) tensor per stride s in ``backbone.feature_strides``.

        Raises:
            InputError: not a float tensor (B, 3, H, W) of at least 32x32 pixels.
        """
        check_image(image)
        return self.decoder.prepare(self.backbone(image))

    def decode(self, features: Sequence[Tensor], h: Tensor | None, size: tuple[int, int] | None = None) -> Tensor:
        """Logits of G(X, h) from encoded features.

        Args:
            features: output of :meth:`encode`, batch B.
            h: latent vectors (B*N, latent_dim), N >= 1, rows image-major (rows ``b*N .. b*N+N-1`` decode
                image ``b``). Must be None for the deterministic model (an empty (B*N, 0) tensor is accepted
                too).
            size: output (height, width). Default: the finest feature size times its stride (4), which is
                the input size whenever H and W are multiples of 4; pass the image size otherwise.

        Returns:
            Logits (B*N, 1, size[0], size[1]); the saliency map is their sigmoid.

        Raises:
            InputError: features that do not come from this model's encoder, h of the wrong shape or given
                to the deterministic model, or a bad size.
        """
        features = self._check_features(features)
        batch = features[0].shape[0]
        h = self._check_latent(h, batch)
        if size is None:
            stride = self.backbone.feature_strides[0]
            size = (features[0].shape[-2] * stride, features[0].shape[-1] * stride)
        elif len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
            raise InputError(f"size must be (height, width) with positive integers, got {size!r}")
        return self.decoder(features, h, size)

    def forward(self, image: Tensor, h: Tensor | None = None) -> Tensor:
        """Logits of G(X, h) for images; ``h=None`` draws h ~ N(0, I) (the LVM) or uses none (deterministic).

        Args:
            image: RGB (B, 3, H, W) in [0, 1].
            h: (B*N, latent_dim) or None.

        Returns:
            Logits (B*N, 1, H, W).

        Raises:
            InputError: see :meth:`encode` and :meth:`decode`.
        """
        features = self.encode(image)
        if h is None and self.latent_dim > 0:
            h = self.sample_latent(image.shape[0], device=image.device)
        return self.decode(features, h, size=(image.shape[-2], image.shape[-1]))

    def sample_latent(
        self, batch: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """Draw h ~ N(0, I_d).

        Args:
            batch: number of vectors.
            generator: random generator for reproducible draws (drawn on its own device, then moved).
            device: where the result lives; default: the model's device.

        Returns:
            (batch, latent_dim); (batch, 0) for the deterministic model.

        Raises:
            InputError: ``batch`` < 1.
        """
        if not isinstance(batch, int) or batch < 1:
            raise InputError(f"batch must be a positive integer, got {batch!r}")
        parameter = next(self.parameters())
        device = parameter.device if device is None else torch.device(device)
        draw_device = generator.device if generator is not None else device
        h = torch.randn(batch, self.latent_dim, generator=generator, device=draw_device, dtype=parameter.dtype)
        return h.to(device)

    def _check_features(self, features: Sequence[Tensor]) -> list[Tensor]:
        levels = len(self.backbone.feature_channels)
        if not isinstance(features, Sequence) or len(features) != levels:
            raise InputError(f"features must be the list of {levels} tensors returned by encode()")
        width = self.decoder.channels
        for index, feature in enumerate(features):
            check_tensor(feature, f"features[{index}]")
            if feature.ndim != 4 or feature.shape[1] != width or feature.shape[0] != features[0].shape[0]:
                raise InputError(
                    f"features[{index}] has shape {tuple(feature.shape)}; expected (B, {width}, H, W) with the "
                    "same B at every level, as returned by encode()"
                )
        return list(features)

    def _check_latent(self, h: Tensor | None, batch: int) -> Tensor | None:
        if self.latent_dim == 0:
            if h is not None and (not isinstance(h, Tensor) or h.ndim != 2 or h.shape[1] != 0):
                raise InputError(
                    "the deterministic model takes no latent vector: pass h=None "
                    f"(got {type(h).__name__} of shape {tuple(getattr(h, 'shape', ()))})"
                )
            if h is None or h.shape[0] == batch:
                return None
            if h.shape[0] % batch:
                raise InputError(f"h has {h.shape[0]} rows, not a multiple of the feature batch {batch}")
            return h
        if h is None:
            raise InputError(f"h must be given: a (B*N, {self.latent_dim}) tensor, e.g. from sample_latent()")
        check_tensor(h, "h")
        if h.ndim != 2 or h.shape[1] != self.latent_dim or h.shape[0] < batch or h.shape[0] % batch:
            raise InputError(
                f"h must have shape (B*N, {self.latent_dim}) with B = {batch} (the feature batch) and N >= 1, "
                f"got {tuple(h.shape)}"
            )
        return h


def _build_lvm(
    backbone: str,
    latent_dim: int,
    decoder_channels: int | None,
    pretrained: bool | str | Path,
    backbone_weights: str | Path | None,
) -> SaliencyLVM:
    pretrained = resolve_pretrained(pretrained, backbone_weights)
    if decoder_channels is None:
        decoder_channels = DEFAULT_DECODER_CHANNELS.get(backbone, 256)
    return SaliencyLVM(create_backbone(backbone, pretrained), latent_dim, decoder_channels)


@register_model
def lvm(
    backbone: str = "efficientnet_lite0",
    latent_dim: int = 8,
    decoder_channels: int | None = None,
    pretrained: bool | str | Path = True,
    backbone_weights: str | Path | None = None,
) -> SaliencyLVM:
    """The LVM G(X, h) of paper 1.

    Args:
        backbone: ``efficientnet_lite0`` (CPU default), ``resnet50`` (paper) or ``vgg16``.
        latent_dim: d (paper: 8), >= 1.
        decoder_channels: decoder width; default 64 for EfficientNet-Lite0, 256 (MiDaS) otherwise.
        pretrained: ``True`` for packaged ImageNet weights (EfficientNet-Lite0 only), ``False`` for random
            weights, or a path to a local backbone state dict.
        backbone_weights: path to a local backbone state dict (same as passing it as ``pretrained``).

    Raises:
        ConfigError: ``latent_dim`` < 1, unknown backbone, unavailable or mismatched weights.
    """
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ConfigError(f"latent_dim of the lvm must be an integer >= 1, got {latent_dim!r}; use 'deterministic'")
    return _build_lvm(backbone, latent_dim, decoder_channels, pretrained, backbone_weights)


@register_model
def deterministic(
    backbone: str = "efficientnet_lite0",
    decoder_channels: int | None = None,
    pretrained: bool | str | Path = True,
    backbone_weights: str | Path | None = None,
) -> SaliencyLVM:
    """The deterministic ablation G(X): the LVM's network without the latent vector (``latent_dim = 0``).

    Args and Raises: as :func:`lvm`, without ``latent_dim``.
    """
    return _build_lvm(backbone, 0, decoder_channels, pretrained, backbone_weights)
