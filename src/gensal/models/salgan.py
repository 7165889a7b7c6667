"""SalGAN (Pan et al., "SalGAN: Visual Saliency Prediction with Generative Adversarial Networks", 2017).

The **generator** is a convolutional encoder-decoder (paper 2, Sec. 3.1): the encoder is VGG16 without its
last max-pool and fully connected layers (conv1_1 ... conv5_3, stride 16); the decoder mirrors it, layer for
layer in reverse order, with the max-pools replaced by nearest-neighbour upsampling (x2), ReLU after every
convolution, and a final 1x1 convolution to one channel. ``forward`` returns that convolution's **logits**;
the saliency map is ``sigmoid(logits)`` (:meth:`SalGANGenerator.saliency`). The losses take logits and
apply the sigmoid inside (log-sigmoid / BCE-with-logits), which is exact and stays finite where a
saturated sigmoid followed by ``log`` would not. When the encoder starts from ImageNet weights, the layers
that compute its stride-8 features (VGG16 conv blocks 1-3) are fixed, as in the paper.

A CPU-sized variant replaces VGG16 by EfficientNet-Lite0 (packaged ImageNet weights, 3.0M parameters,
stride 32) and the mirrored VGG decoder by a light one that mirrors EfficientNet-Lite0's stage widths
(320, 112, 40, 24 channels at strides 32, 16, 8, 4), one 3x3 convolution per stride, nearest upsampling
between them, a 1x1 convolution to logits at stride 4 and a bilinear x4 upsampling of the logits. Its
fixed part is the stem and the stages up to stride 8.

The **discriminator** (paper 2, Sec. 3.2 and Table 1; the official ``discriminator.py``) sees the image and
a saliency map stacked as 4 channels (RGBS): a 1x1 convolution to 3 channels, conv 32, pool, conv 64 x2,
pool, conv 64 x2, pool (all convolutions 3x3 with ReLU, except the first), then fully connected layers
100 (tanh), 2 (tanh), 1. It returns the **logit** of D(X, S); D = sigmoid(logit) is the probability that
the map is a ground-truth map. Its first pool is 2x2 in the paper and 4x4 in the official code
(``first_pool``), and the official code puts weight normalisation on conv3_1 and conv3_2
(``weight_norm``). The fully connected layer depends on the input size, so a discriminator is built for
one (height, width): 192 x 256 in the paper (256 x 192 in its W x H notation).

Example:
    >>> generator = create_model("salgan", backbone="efficientnet_lite0", pretrained=False)
    >>> image = torch.rand(2, 3, 192, 256)
    >>> generator(image).shape
    torch.Size([2, 1, 192, 256])
    >>> discriminator = create_model("salgan_discriminator", input_size=(192, 256))
    >>> discriminator(image, generator.saliency(image)).shape
    torch.Size([2])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gensal.errors import ConfigError, InputError
from gensal.models.backbones import create_backbone, resolve_pretrained
from gensal.models.common import check_image, check_tensor
from gensal.models.registry import register_model

SALGAN_INPUT_SIZE = (192, 256)
"""(height, width) of SalGAN's input and output maps in the paper (256 x 192, W x H)."""

# Conv blocks of VGG16's encoder as (width, convolutions); the mirrored decoder runs them in reverse.
VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
# Light decoder of the EfficientNet-Lite0 variant: the encoder's stage widths at strides 32, 16, 8, 4.
LITE0_DECODER_BLOCKS = ((320, 1), (112, 1), (40, 1), (24, 1))
# Index of pool5 in torchvision's ``vgg16().features`` (the encoder stops before it) and of the first layer
# after pool3 (everything before it - conv blocks 1-3 - is fixed when pretrained).
_VGG16_POOL5 = 30
_VGG16_AFTER_POOL3 = 17
# EfficientNet-Lite0 stages (timm ``blocks``) that end at stride <= 8 and are fixed with the stem.
_LITE0_FIXED_STAGES = 3


class MirroredDecoder(nn.Module):
    """Blocks of 3x3 convolutions + ReLU, coarse to fine, with nearest x2 upsampling between blocks,
    then a 1x1 convolution to one channel of logits (SalGAN's decoder, paper 2, Sec. 3.1).

    Args:
        in_channels: channels of the encoder output.
        blocks: ``(width, convolutions)`` per block, coarse to fine.

    Attributes:
        upsampling: total upsampling factor, ``2 ** (len(blocks) - 1)``.
    """

    def __init__(self, in_channels: int, blocks: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for index, (width, convolutions) in enumerate(blocks):
            if index > 0:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            for _ in range(convolutions):
                conv = nn.Conv2d(channels, width, kernel_size=3, padding=1)
                # He initialisation keeps the activations' scale through a deep, plain ReLU stack; the
                # official code uses Lasagne's Glorot-uniform default (docs/salgan.md).
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
                nn.init.zeros_(conv.bias)
                layers += [conv, nn.ReLU(inplace=True)]
                channels = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, 1, kernel_size=1)
        self.upsampling = 2 ** (len(blocks) - 1)

    def forward(self, features: Tensor) -> Tensor:
        """(B, in_channels, h, w) -> logits (B, 1, h * upsampling, w * upsampling)."""
        return self.head(self.body(features))


class SalGANGenerator(nn.Module):
    """SalGAN's generator: encoder (VGG16 or EfficientNet-Lite0) + mirrored decoder; returns logits.

    Args:
        backbone: ``vgg16`` (paper) or ``efficientnet_lite0`` (CPU variant with the light decoder).
        pretrained: passed to :func:`gensal.models.backbones.create_backbone` (``False``, ``True`` for the
            packaged EfficientNet-Lite0 weights, or a local state dict file).
        freeze_early_encoder: fix the encoder layers that compute its stride-8 features (no gradients; their
            BatchNorm layers, if any, stay in eval mode even when the model trains).

    Attributes:
        backbone_name: ``vgg16`` or ``efficientnet_lite0``.
        encoder_stride: input pixels per pixel of the encoder output (16 or 32).
        fixed_modules: the fixed encoder layers (empty when nothing is fixed).

    Raises:
        ConfigError: an unsupported backbone, or unavailable or mismatched weights.
    """

    def __init__(
        self, backbone: str = "vgg16", pretrained: bool | str | Path = False, freeze_early_encoder: bool = False
    ) -> None:
        super().__init__()
        if backbone not in ("vgg16", "efficientnet_lite0"):
            raise ConfigError(f"SalGAN's backbone must be vgg16 or efficientnet_lite0, got {backbone!r}")
        self.backbone_name = backbone
        self.backbone = create_backbone(backbone, pretrained)
        if backbone == "vgg16":
            self.encoder_stride = 16
            self.decoder = MirroredDecoder(512, tuple(reversed(VGG16_BLOCKS)))
            fixed: list[nn.Module] = [self.backbone.features_net[:_VGG16_AFTER_POOL3]]
        else:
            self.encoder_stride = 32
            self.decoder = MirroredDecoder(320, LITE0_DECODER_BLOCKS)
            encoder = self.backbone.encoder
            fixed = [encoder.conv_stem, encoder.bn1, *encoder.blocks[:_LITE0_FIXED_STAGES]]
        self.fixed_modules: list[nn.Module] = fixed if freeze_early_encoder else []
        for module in self.fixed_modules:
            module.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> SalGANGenerator:
        """Set training mode, keeping the fixed encoder layers in eval mode (their BatchNorm statistics stay)."""
        super().train(mode)
        for module in getattr(self, "fixed_modules", []):
            module.eval()
        return self

    def encode(self, image: Tensor) -> Tensor:
        """Deepest encoder features: VGG16 conv5_3 (512 ch, stride 16) or EfficientNet-Lite0 (320 ch, stride 32).

        Args:
            image: RGB (B, 3, H, W) in [0, 1]; the encoder normalises it as its weights expect.
        """
        if self.backbone_name == "vgg16":
            return self.backbone.features_net[:_VGG16_POOL5](self.backbone.normalize(image))
        return self.backbone(image)[-1]

    def forward(self, image: Tensor) -> Tensor:
        """Saliency logits for a batch of images.

        Args:
            image: RGB (B, 3, H, W) in [0, 1], H and W >= 32 (SalGAN: 192 x 256). Multiples of the encoder
                stride (16 for VGG16, 32 for EfficientNet-Lite0) map pixel to pixel; other sizes are resized
                back to (H, W) bilinearly.

        Returns:
            Logits (B, 1, H, W); the saliency map is their sigmoid.

        Raises:
            InputError: not a float tensor (B, 3, H, W) of at least 32x32 pixels.
        """
        check_image(image)
        logits = self.decoder(self.encode(image))
        if tuple(logits.shape[-2:]) != tuple(image.shape[-2:]):
            logits = F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)
        return logits

    @torch.no_grad()
    def saliency(self, image: Tensor) -> Tensor:
        """Saliency maps ``sigmoid(forward(image))`` (B, 1, H, W) in [0, 1], without gradients."""
        return torch.sigmoid(self(image))


class SalGANDiscriminator(nn.Module):
    """SalGAN's discriminator D(X, S) on the 4-channel image + saliency input; returns logits (B,).

    Args:
        input_size: (height, width) of the images and maps it judges (paper: 192 x 256).
        first_pool: size and stride of the first max-pool (paper: 2; official code: 4).
        weight_norm: weight normalisation on conv3_1 and conv3_2 (official code).
        init: ``glorot``: Glorot-uniform weights and zero biases for every conv and linear layer (Lasagne's
            defaults, so the official code's); ``pytorch``: PyTorch's layer defaults, whose smaller weights
            shrink the signal at each of the six conv layers, so that at the start D's output hardly depends
            on its input.

    Raises:
        ConfigError: a size too small for the three pools, ``first_pool`` < 1 or an unknown ``init``.
    """

    def __init__(
        self,
        input_size: tuple[int, int] = SALGAN_INPUT_SIZE,
        first_pool: int = 2,
        weight_norm: bool = False,
        init: str = "glorot",
    ) -> None:
        super().__init__()
        if len(input_size) != 2 or not all(isinstance(s, int) and s > 0 for s in input_size):
            raise ConfigError(f"input_size must be (height, width) with positive integers, got {input_size!r}")
        if not isinstance(first_pool, int) or first_pool < 1:
            raise ConfigError(f"first_pool must be an integer >= 1, got {first_pool!r}")
        if init not in ("glorot", "pytorch"):
            raise ConfigError(f"init must be 'glorot' or 'pytorch', got {init!r}")
        height, width = (s // first_pool // 2 // 2 for s in input_size)
        if height < 1 or width < 1:
            raise ConfigError(f"input_size {tuple(input_size)} is too small for pools of {first_pool}, 2 and 2")
        self.input_size = (int(input_size[0]), int(input_size[1]))

        def glorot(layer: nn.Conv2d | nn.Linear) -> nn.Conv2d | nn.Linear:
            if init == "glorot":
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
            return layer

        def conv(in_channels: int, out_channels: int, kernel: int = 3, normalised: bool = False) -> nn.Module:
            layer = glorot(nn.Conv2d(in_channels, out_channels, kernel_size=kernel, padding=kernel // 2))
            return nn.utils.parametrizations.weight_norm(layer) if normalised else layer

        self.features = nn.Sequential(
            conv(4, 3, kernel=1),  # "merge": mixes the RGBS input into 3 channels
            nn.ReLU(inplace=True),
            conv(3, 32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(first_pool),
            conv(32, 64),
            nn.ReLU(inplace=True),
            conv(64, 64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            conv(64, 64, normalised=weight_norm),
            nn.ReLU(inplace=True),
            conv(64, 64, normalised=weight_norm),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            glorot(nn.Linear(64 * height * width, 100)),
            nn.Tanh(),
            glorot(nn.Linear(100, 2)),
            nn.Tanh(),
            glorot(nn.Linear(2, 1)),
        )

    def forward(self, image: Tensor, saliency: Tensor) -> Tensor:
        """Logits of D(X, S), the probability that S is X's ground-truth map (after a sigmoid).

        Args:
            image: RGB (B, 3, H, W) in [0, 1] at ``input_size``.
            saliency: (B, 1, H, W) maps in [0, 1] (ground truth, or the generator's sigmoid output).

        Returns:
            (B,) logits.

        Raises:
            InputError: wrong shapes, batch sizes or sizes other than ``input_size``.
        """
        check_image(image)
        check_tensor(saliency, "saliency")
        expected = (image.shape[0], 1, *self.input_size)
        if tuple(image.shape[-2:]) != self.input_size or tuple(saliency.shape) != expected:
            raise InputError(
                f"the discriminator was built for {self.input_size[0]}x{self.input_size[1]} inputs: expected image "
                f"(B, 3, {self.input_size[0]}, {self.input_size[1]}) and saliency {expected}, got "
                f"{tuple(image.shape)} and {tuple(saliency.shape)}"
            )
        return self.classifier(self.features(torch.cat([image, saliency], dim=1))).squeeze(1)


@register_model
def salgan(
    backbone: str = "vgg16",
    pretrained: bool | str | Path = True,
    backbone_weights: str | Path | None = None,
    freeze_early_encoder: bool | None = None,
) -> SalGANGenerator:
    """SalGAN's generator (paper 2): VGG16 encoder + mirrored decoder, or the EfficientNet-Lite0 variant.

    Args:
        backbone: ``vgg16`` (paper) or ``efficientnet_lite0`` (CPU variant, light decoder).
        pretrained: ``True`` for packaged ImageNet weights (EfficientNet-Lite0 only), ``False`` for random
            weights, or a path to a local backbone state dict (VGG16: torchvision or timm key names).
        backbone_weights: path to a local backbone state dict (same as passing it as ``pretrained``).
        freeze_early_encoder: fix the layers up to stride 8 (VGG16: conv blocks 1-3). ``None``: when the
            encoder starts from pretrained weights, as in the paper.

    Raises:
        ConfigError: unknown backbone, unavailable or mismatched weights.
    """
    pretrained = resolve_pretrained(pretrained, backbone_weights)
    if freeze_early_encoder is None:
        freeze_early_encoder = pretrained is not False
    return SalGANGenerator(backbone, pretrained, freeze_early_encoder)


@register_model
def salgan_discriminator(
    input_size: tuple[int, int] = SALGAN_INPUT_SIZE,
    first_pool: int = 2,
    weight_norm: bool = False,
    init: str = "glorot",
) -> SalGANDiscriminator:
    """SalGAN's discriminator (paper 2, Table 1) for one input size; see :class:`SalGANDiscriminator`."""
    return SalGANDiscriminator(tuple(input_size), first_pool, weight_norm, init)
