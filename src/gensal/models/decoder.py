"""MiDaS-style decoder (Ranftl et al. 2020, "Towards Robust Monocular Depth Estimation"), with a latent input.

Structure, as in MiDaS: each encoder level is projected to ``channels`` by a 3x3 convolution; feature
fusion blocks then run from coarse to fine, each adding a residual-conv-unit-refined skip feature to the
upsampled coarser path and refining the sum with a second residual conv unit; an output head turns the
finest fused map into one channel. The latent vector ``h`` of the LVM is tiled over the projected deepest
feature map, concatenated with it and mixed back to ``channels`` by a 3x3 convolution (paper 1, Sec. 5).

Differences from MiDaS, chosen for speed and arbitrary input sizes (see ``docs/models.md``):

* the fusion blocks upsample to the size of the next skip feature (not by a fixed factor of 2), so inputs
  that are not multiples of 32 work;
* the head's last two convolutions run at stride 2 and the one-channel logits are upsampled bilinearly to
  the output size (MiDaS upsamples 128-channel features and convolves at full resolution);
* the output is a logit map (no final ReLU): saliency is ``sigmoid(logits)``.

The decoder is split in two so that the encoder-side work is done once per image:
:meth:`MidasDecoder.prepare` holds every step that does not depend on ``h`` (the projections and the skip
residual units) and :meth:`MidasDecoder.forward` the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _conv3x3(in_channels: int, out_channels: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=bias)


def _upsample(x: Tensor, size: Sequence[int]) -> Tensor:
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class ResidualConvUnit(nn.Module):
    """MiDaS residual conv unit: ``x + conv(relu(conv(relu(x))))`` with 3x3 convolutions, no normalisation."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(channels, channels)
        self.conv2 = _conv3x3(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FeatureFusionBlock(nn.Module):
    """MiDaS feature fusion block: ``upsample(rcu2(x + rcu1(skip)))``.

    ``rcu1(skip)`` depends only on the image, so it is applied by :meth:`prepare_skip` (once per image)
    and :meth:`forward` receives its result. The deepest block has no skip input and no ``rcu1``.
    """

    def __init__(self, channels: int, has_skip: bool) -> None:
        super().__init__()
        self.skip_unit = ResidualConvUnit(channels) if has_skip else None
        self.output_unit = ResidualConvUnit(channels)

    def prepare_skip(self, skip: Tensor) -> Tensor:
        """Apply the skip residual unit, (B, C, H, W) -> (B, C, H, W)."""
        if self.skip_unit is None:
            raise RuntimeError("this fusion block takes no skip input")
        return self.skip_unit(skip)

    def forward(self, x: Tensor, prepared_skip: Tensor | None, size: Sequence[int]) -> Tensor:
        """Fuse and upsample.

        Args:
            x: coarser path (B*N, C, h, w), already at the skip's size when a skip is given.
            prepared_skip: output of :meth:`prepare_skip` with batch B (broadcast over the N samples of each
                image, rows ordered image-major), or None for the deepest block.
            size: output (height, width).

        Returns:
            (B*N, C, size[0], size[1]).
        """
        if prepared_skip is not None:
            batch = prepared_skip.shape[0]
            per_image = x.shape[0] // batch
            x = (x.unflatten(0, (batch, per_image)) + prepared_skip.unsqueeze(1)).flatten(0, 1)
        return _upsample(self.output_unit(x), size)


class MidasDecoder(nn.Module):
    """MiDaS decoder over encoder levels at increasing strides, with an optional latent vector.

    Args:
        in_channels: channels of the encoder levels, fine to coarse (e.g. 24, 40, 112, 320).
        channels: width of the decoder (MiDaS: 256).
        latent_dim: size of ``h``; 0 for a deterministic decoder.
        head_channels: width of the head's hidden layer (MiDaS: 32).
    """

    def __init__(self, in_channels: Sequence[int], channels: int, latent_dim: int = 0, head_channels: int = 32) -> None:
        super().__init__()
        self.in_channels = tuple(in_channels)
        self.channels = channels
        self.latent_dim = latent_dim
        # MiDaS's "scratch" projections: 3x3, no bias.
        self.projections = nn.ModuleList(_conv3x3(c, channels, bias=False) for c in in_channels)
        self.latent_fusion = _conv3x3(channels + latent_dim, channels) if latent_dim > 0 else None
        levels = len(self.in_channels)
        self.fusions = nn.ModuleList(FeatureFusionBlock(channels, has_skip=i < levels - 1) for i in range(levels))
        self.head = nn.Sequential(
            _conv3x3(channels, channels // 2),
            _conv3x3(channels // 2, head_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_channels, 1, kernel_size=1),
        )

    def prepare(self, features: Sequence[Tensor]) -> list[Tensor]:
        """The h-independent part: projections, and the skip residual units of the fusion blocks.

        Args:
            features: encoder levels, fine to coarse; level i is (B, in_channels[i], H_i, W_i).

        Returns:
            One (B, channels, H_i, W_i) tensor per level, fine to coarse.
        """
        projected = [projection(f) for projection, f in zip(self.projections, features, strict=True)]
        prepared = [fusion.prepare_skip(p) for fusion, p in zip(self.fusions[:-1], projected[:-1], strict=True)]
        return prepared + [projected[-1]]

    def forward(self, prepared: Sequence[Tensor], h: Tensor | None, size: Sequence[int]) -> Tensor:
        """Decode prepared features (batch B) and latent vectors (batch B*N) into logits.

        Args:
            prepared: output of :meth:`prepare`.
            h: (B*N, latent_dim), rows image-major (rows ``b*N .. b*N+N-1`` belong to image ``b``), or
                None when ``latent_dim == 0`` (then N = 1).
            size: output (height, width).

        Returns:
            Logits (B*N, 1, size[0], size[1]).
        """
        deepest = prepared[-1]
        per_image = 1 if h is None else h.shape[0] // deepest.shape[0]
        x = deepest.repeat_interleave(per_image, dim=0) if per_image > 1 else deepest
        if self.latent_fusion is not None:
            tiled = h[:, :, None, None].expand(-1, -1, *x.shape[-2:]).to(x.dtype)
            x = self.latent_fusion(torch.cat([x, tiled], dim=1))
        # Fusion block i upsamples to the size of level i - 1; the finest one by 2, as in MiDaS.
        sizes = [tuple(p.shape[-2:]) for p in prepared]
        out_sizes = [(2 * sizes[0][0], 2 * sizes[0][1])] + sizes[:-1]
        x = self.fusions[-1](x, None, out_sizes[-1])
        for level in range(len(prepared) - 2, -1, -1):
            x = self.fusions[level](x, prepared[level], out_sizes[level])
        return _upsample(self.head(x), size)
