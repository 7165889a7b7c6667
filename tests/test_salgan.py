"""SalGAN: generator and discriminator shapes, fixed layers, losses, the training schedule and steps, the
fixation training data, the OSIE split, configs, and an end-to-end ``gensal train`` with resume."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gensal.checkpoint import build_models, load_model, read_checkpoint
from gensal.cli import main
from gensal.config import TrainConfig, apply_overrides, config_from_dict, load_config
from gensal.data.fixation_train import FixationTrainDataset
from gensal.data.fixations import fixation_density, read_osie
from gensal.data.sod import SODTrainDataset
from gensal.data.splits import make_split, osie_names, read_split, write_split
from gensal.errors import ConfigError, DataError, InputError
from gensal.io import resize_map
from gensal.models import SalGANDiscriminator, SalGANGenerator, create_model
from gensal.training import loop
from gensal.training.loop import make_optimizers, run_algorithm_step, train
from gensal.training.salgan import (
    discriminator_loss,
    downsampled_bce,
    generator_losses,
    salgan_phase,
    salgan_step,
)

REPO = Path(__file__).resolve().parents[1]
OSIE = REPO / ".." / "shared" / "data" / "osie"
SALICON = REPO / ".." / "shared" / "data" / "salicon-examples"
SPLIT = REPO / "configs" / "splits" / "osie-seed0.json"
SIZE = (64, 96)  # (H, W): a small stand-in for SalGAN's 192 x 256


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


def tiny_config(tmp_path: Path, **train) -> object:
    """SalGAN with a random EfficientNet-Lite0 on 8 OSIE training images at 64 x 96."""
    settings = {
        "algorithm": "salgan",
        "epochs": 3,
        "bce_epochs": 1,
        "batch_size": 4,
        "log_every": 1,
        "checkpoint_every": 0,
        "progress": False,
        "threads": 1,
        "output_dir": str(tmp_path / "run"),
        **train,
    }
    data = {
        "train_images": str(OSIE / "images"),
        "train_fixations": str(OSIE / "fixations" / "fixations.mat"),
        "train_split": str(SPLIT),
        "image_size": list(SIZE),
        "max_images": 8,
    }
    model = {"backbone": "efficientnet_lite0", "pretrained": False}
    return config_from_dict({"model": model, "data": data, "train": settings})


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def changed(module: torch.nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    return [name for name, p in module.named_parameters() if not torch.equal(p, before[name])]


# ------------------------------------------------------------------------------------------------ models


@pytest.fixture(scope="module")
def vgg() -> SalGANGenerator:
    """The paper's generator, random weights, conv blocks 1-3 fixed (built once: 32M parameters)."""
    torch.manual_seed(0)
    return create_model("salgan", backbone="vgg16", pretrained=False, freeze_early_encoder=True)


@pytest.mark.parametrize("backbone", ["vgg16", "efficientnet_lite0"])
def test_generator_returns_logits_at_the_input_size(backbone, vgg):
    torch.manual_seed(0)
    generator = vgg if backbone == "vgg16" else create_model("salgan", backbone=backbone, pretrained=False)
    generator.eval()
    assert isinstance(generator, SalGANGenerator) and generator.backbone_name == backbone
    with torch.no_grad():
        logits = generator(torch.rand(2, 3, *SIZE))
        odd = generator(torch.rand(1, 3, 72, 100))  # not a multiple of the stride: resized back
    assert logits.shape == (2, 1, *SIZE) and odd.shape == (1, 1, 72, 100)
    assert torch.isfinite(logits).all() and logits.std() > 0
    saliency = generator.saliency(torch.rand(1, 3, *SIZE))
    assert saliency.shape == (1, 1, *SIZE) and 0 <= saliency.min() and saliency.max() <= 1
    with pytest.raises(InputError, match="3 channels"):
        generator(torch.rand(1, 4, *SIZE))


def test_vgg16_generator_mirrors_the_encoder(vgg):
    generator = vgg
    encoder = [m.out_channels for m in generator.backbone.features_net[:30] if isinstance(m, torch.nn.Conv2d)]
    decoder = [m.out_channels for m in generator.decoder.body if isinstance(m, torch.nn.Conv2d)]
    assert encoder == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]  # conv1_1 ... conv5_3
    assert decoder == encoder[::-1]
    upsampling = [m for m in generator.decoder.body if isinstance(m, torch.nn.Upsample)]
    assert len(upsampling) == 4 and all(m.mode == "nearest" for m in upsampling)
    head = generator.decoder.head
    assert (head.in_channels, head.out_channels, head.kernel_size) == (64, 1, (1, 1))


def test_fixed_encoder_layers_get_no_gradients_and_keep_their_statistics(vgg):
    convs = [(i, m) for i, m in enumerate(vgg.backbone.features_net) if isinstance(m, torch.nn.Conv2d)]
    fixed = [i for i, m in convs if not m.weight.requires_grad]
    assert fixed == [0, 2, 5, 7, 10, 12, 14]  # conv blocks 1-3 (conv1_1 ... conv3_3)
    assert all(p.requires_grad for p in vgg.decoder.parameters())

    lite = create_model("salgan", backbone="efficientnet_lite0", pretrained=False, freeze_early_encoder=True)
    encoder = lite.backbone.encoder
    fixed_modules = [encoder.conv_stem, encoder.bn1, *encoder.blocks[:3]]
    assert not any(p.requires_grad for m in fixed_modules for p in m.parameters())
    assert all(p.requires_grad for m in encoder.blocks[3:] for p in m.parameters())
    lite.train()
    assert not encoder.bn1.training and not encoder.blocks[2].training and encoder.blocks[3].training
    statistics = encoder.bn1.running_mean.clone()
    lite(torch.rand(2, 3, *SIZE)).sum().backward()
    assert torch.equal(encoder.bn1.running_mean, statistics) and encoder.conv_stem.weight.grad is None

    # Fixed only when pretrained (the default), also when rebuilt from a checkpoint without pretrained weights.
    assert create_model("salgan", backbone="efficientnet_lite0", pretrained=False).fixed_modules == []
    config = config_from_dict({"model": {"backbone": "efficientnet_lite0"}, "train": {"algorithm": "salgan"}})
    rebuilt = build_models(config, pretrained=False)["generator"]
    assert not rebuilt.backbone.encoder.conv_stem.weight.requires_grad


@pytest.mark.parametrize("first_pool, weight_norm, flat", [(2, False, 64 * 24 * 32), (4, True, 64 * 12 * 16)])
def test_discriminator_architecture(first_pool, weight_norm, flat):
    torch.manual_seed(0)
    discriminator = create_model("salgan_discriminator", first_pool=first_pool, weight_norm=weight_norm)
    assert isinstance(discriminator, SalGANDiscriminator) and discriminator.input_size == (192, 256)
    layers = list(discriminator.features)
    convs = [m for m in discriminator.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [
        (4, 3, 1),
        (3, 32, 3),
        (32, 64, 3),
        (64, 64, 3),
        (64, 64, 3),
        (64, 64, 3),
    ]
    assert [m.kernel_size for m in layers if isinstance(m, torch.nn.MaxPool2d)] == [first_pool, 2, 2]
    normalised = [hasattr(m, "parametrizations") for m in convs]
    assert normalised == [False] * 4 + [weight_norm] * 2
    linear = [m for m in discriminator.classifier if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(flat, 100), (100, 2), (2, 1)]
    assert [type(m).__name__ for m in discriminator.classifier][2:] == ["Tanh", "Linear", "Tanh", "Linear"]
    logits = discriminator(torch.rand(3, 3, 192, 256), torch.rand(3, 1, 192, 256))
    assert logits.shape == (3,) and torch.isfinite(logits).all()
    with pytest.raises(InputError, match="built for 192x256"):
        discriminator(torch.rand(1, 3, 96, 128), torch.rand(1, 1, 96, 128))
    with pytest.raises(ConfigError, match="too small"):
        SalGANDiscriminator((32, 32), first_pool=16)


def test_discriminator_glorot_init_and_its_effect_on_the_map_signal():
    torch.manual_seed(0)
    glorot = SalGANDiscriminator((96, 128), first_pool=2, init="glorot")
    layers = [m for m in glorot.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 9
    for layer in layers:
        fan_out, fan_in = layer.weight.shape[0], layer.weight[0].numel()
        if isinstance(layer, torch.nn.Conv2d):
            fan_out *= layer.weight[0, 0].numel()
        bound = (6.0 / (fan_in + fan_out)) ** 0.5
        largest = float(layer.weight.detach().abs().max())
        assert 0.8 * bound < largest <= bound
        assert float(layer.bias.detach().abs().max()) == 0.0
    # PyTorch's defaults shrink the signal at every layer: the output hardly depends on the map.
    torch.manual_seed(0)
    default = SalGANDiscriminator((96, 128), first_pool=2, init="pytorch")
    image, map_a, map_b = torch.rand(4, 3, 96, 128), torch.rand(4, 1, 96, 128), torch.zeros(4, 1, 96, 128)
    with torch.no_grad():
        spread = {
            name: float((d(image, map_a) - d(image, map_b)).abs().mean())
            for name, d in [("glorot", glorot), ("pytorch", default)]
        }
    assert spread["glorot"] > 20 * spread["pytorch"]
    with pytest.raises(ConfigError, match="init must be"):
        SalGANDiscriminator((96, 128), init="he")


# ------------------------------------------------------------------------------------------------ losses


def test_downsampled_bce_matches_hand_computation():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 1, 4, 6, generator=generator, dtype=torch.float64) * 3
    target = torch.rand(2, 1, 4, 6, generator=generator, dtype=torch.float64)
    # The official code: average-pool probabilities and targets by 2, then per-pixel BCE, averaged.
    p = torch.sigmoid(logits).reshape(2, 1, 2, 2, 3, 2).mean(dim=(3, 5))
    t = target.reshape(2, 1, 2, 2, 3, 2).mean(dim=(3, 5))
    expected = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()
    assert downsampled_bce(logits, target, 2).item() == pytest.approx(expected.item(), rel=1e-12)
    assert downsampled_bce(logits, target, 1).item() == pytest.approx(
        F.binary_cross_entropy(torch.sigmoid(logits), target).item(), rel=1e-12
    )
    # Saturated logits stay finite: a window of +100 against an empty target costs 100 per pooled pixel.
    saturated = downsampled_bce(torch.full((1, 1, 4, 4), 100.0), torch.zeros(1, 1, 4, 4), 4)
    assert saturated.item() == pytest.approx(100.0, rel=1e-6)
    with pytest.raises(ValueError, match="logits must have shape"):
        downsampled_bce(torch.zeros(1, 4, 4), torch.zeros(1, 1, 4, 4), 2)


def test_adversarial_losses_match_hand_computation():
    real = torch.tensor([0.0, math.log(3.0)])  # D = 0.5, 0.75
    fake = torch.tensor([0.0, -math.log(3.0)])  # D = 0.5, 0.25
    terms = discriminator_loss(real, fake)
    # BCE over the 2B pairs: real pairs labelled 1, generated pairs labelled 0.
    expected = -(math.log(0.5) + math.log(0.75) + math.log(1 - 0.5) + math.log(1 - 0.25)) / 4
    assert terms["discriminator"].item() == pytest.approx(expected)
    assert terms["d_real"].item() == pytest.approx(0.625) and terms["d_fake"].item() == pytest.approx(0.375)

    logits, target = torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)  # BCE/4 = log 2
    terms = generator_losses(logits, target, fake, bce_weight=0.05, factor=4)
    adversarial = -(math.log(0.5) + math.log(0.25)) / 2  # Eq. 3: -log D(X, G(X))
    assert terms["bce"].item() == pytest.approx(math.log(2))
    assert terms["adversarial"].item() == pytest.approx(adversarial)
    assert terms["generator"].item() == pytest.approx(0.05 * math.log(2) + adversarial)


# ------------------------------------------------------------------------------------------ the schedule


def test_schedule_pretrains_with_bce_then_alternates_discriminator_and_generator():
    settings = TrainConfig(algorithm="salgan", epochs=4, bce_epochs=2)
    phases = [salgan_phase(step, 3, settings) for step in range(10)]
    assert phases == ["bce"] * 6 + ["discriminator", "generator", "discriminator", "generator"]
    baseline = TrainConfig(algorithm="salgan", epochs=4, bce_epochs=2, adversarial=False)
    assert {salgan_phase(step, 3, baseline) for step in range(12)} == {"bce"}


def test_each_phase_updates_only_its_network(tmp_path):
    torch.manual_seed(0)
    config = tiny_config(tmp_path, bce_epochs=1)
    models = build_models(config)
    optimizers = make_optimizers(config, models)
    assert isinstance(optimizers["generator"], torch.optim.Adagrad)
    assert optimizers["discriminator"].param_groups[0]["weight_decay"] == 1e-4
    generator, discriminator = models["generator"], models["discriminator"]
    image = torch.rand(2, 3, *SIZE, generator=torch.Generator().manual_seed(1))
    target = torch.rand(2, 1, *SIZE, generator=torch.Generator().manual_seed(2))

    def step(at: int) -> dict[str, float]:
        g, d = snapshot(generator), snapshot(discriminator)
        terms = run_algorithm_step(config, models, optimizers, image, target, 1.0, None, at, 1)
        return terms, changed(generator, g), changed(discriminator, d)

    g_count, d_count = len(snapshot(generator)), len(snapshot(discriminator))
    terms, g_changed, d_changed = step(0)  # BCE pre-training
    assert set(terms) == {"bce", "mae"} and len(g_changed) > 0.9 * g_count and not d_changed
    terms, g_changed, d_changed = step(1)  # discriminator
    assert {"discriminator", "d_real", "d_fake", "bce"} == set(terms)
    assert not g_changed and len(d_changed) > 0.9 * d_count
    terms, g_changed, d_changed = step(2)  # generator, through the discriminator
    assert {"bce", "adversarial", "generator", "d_fake", "mae"} == set(terms)
    assert terms["generator"] == pytest.approx(0.05 * terms["bce"] + terms["adversarial"], rel=1e-5)
    discriminator.zero_grad(set_to_none=True)
    terms, g_changed, d_changed = step(4)  # generator again: D's parameters get no gradient
    assert len(g_changed) > 0.9 * g_count and not d_changed
    assert all(p.grad is None for p in discriminator.parameters())
    assert all(math.isfinite(v) for v in terms.values())
    with pytest.raises(ValueError, match="needs a discriminator"):
        salgan_step(generator, None, optimizers["generator"], None, image, target, config.train, "generator")


def test_bce_only_baseline_has_no_discriminator(tmp_path):
    config = tiny_config(tmp_path, adversarial=False)
    assert set(build_models(config)) == {"generator"}


def test_logger_averages_each_term_over_the_steps_that_report_it(tmp_path):
    logger = loop._Logger(tmp_path, 0, resumed=False)
    logger.update({"discriminator": 0.6, "bce": 0.2}, 4)
    logger.update({"generator": 0.9, "bce": 0.4}, 4)
    means = logger.write(2, 0, {}, 1.0)
    logger.close()
    assert means == pytest.approx({"discriminator": 0.6, "generator": 0.9, "bce": 0.3})


# -------------------------------------------------------------------------------------------------- data


def test_fixation_dataset_gives_blurred_maps_at_the_model_size():
    need(OSIE)
    data = FixationTrainDataset(
        OSIE / "images", SIZE, fixations=OSIE / "fixations" / "fixations.mat", split=SPLIT, max_images=2
    )
    assert len(data) == 2 and [name for name, *_ in data.items] == read_split(SPLIT)["train"][:2]
    image, target = data[0]
    assert image.shape == (3, *SIZE) and target.shape == (1, *SIZE)
    assert image.dtype == target.dtype == torch.float32 and 0 <= target.min() and target.max() <= 1
    fix = read_osie(OSIE / "fixations" / "fixations.mat")[data.items[0][0]]
    expected = resize_map(fixation_density(fix), SIZE)  # MIT blur (24 px) at 800x600, then resized
    assert np.allclose(target[0].numpy(), expected, atol=1e-6)
    flips = []
    for epoch in range(6):
        data.set_epoch(epoch)
        flipped_image, flipped = data[0]
        flips.append(torch.equal(flipped, target.flip(-1)) and torch.equal(flipped_image, image.flip(-1)))
    assert any(flips) and not all(flips)
    data.set_epoch(0)
    cached = FixationTrainDataset(
        OSIE / "images", SIZE, fixations=OSIE / "fixations" / "fixations.mat", split=SPLIT, max_images=2, cache=True
    )
    first = cached[0]
    first[1].zero_()  # the cache hands out copies
    assert torch.equal(cached[0][1], target) and torch.equal(cached[0][0], image)


def test_fixation_dataset_reads_the_subset_asked_for_and_refuses_unknown_ones():
    need(OSIE)
    fixations = OSIE / "fixations" / "fixations.mat"
    validation = FixationTrainDataset(OSIE / "images", SIZE, fixations=fixations, split=SPLIT, subset="validation")
    assert [name for name, *_ in validation.items] == read_split(SPLIT)["validation"]
    with pytest.raises(InputError, match="subset must be one of train, validation, test, got 'val'"):
        FixationTrainDataset(OSIE / "images", SIZE, fixations=fixations, split=SPLIT, subset="val")


def test_fixation_dataset_reads_salicon_json_and_map_folders(tmp_path):
    examples = need(SALICON)
    points = FixationTrainDataset(
        examples / "train_examples" / "images",
        SIZE,
        fixations=examples / "train_examples" / "fixations_train2014examples.json",
        sigma=19.0,
    )
    assert len(points) == 10 and points[3][1].max() > 0.5
    maps = FixationTrainDataset(examples / "val_examples" / "images", SIZE, maps_dir=examples / "val_examples" / "maps")
    image, target = maps[0]
    raw = np.asarray(Image.open(examples / "val_examples" / "maps" / f"{maps.items[0][0]}.png").convert("L"))
    assert np.allclose(target[0].numpy(), resize_map(raw, SIZE) / 255.0, atol=1e-6)

    # An image whose size is not the frame its fixations were recorded on.
    shutil.copytree(examples / "train_examples" / "images", tmp_path / "images")
    Image.new("RGB", (320, 240)).save(tmp_path / "images" / "COCO_train2014_000000123067.jpg")
    with pytest.raises(DataError, match=r"image is \(240, 320\) \(H, W\) but its fixations were recorded on"):
        FixationTrainDataset(
            tmp_path / "images", SIZE, fixations=examples / "train_examples" / "fixations_train2014examples.json"
        )


def test_fixation_dataset_reports_missing_names(tmp_path):
    need(OSIE)
    split = dict(read_split(SPLIT), train=["1001", "9999"])
    write_split(tmp_path / "split.json", split)
    with pytest.raises(DataError, match="1 image.* have no fixations .*: 9999"):
        FixationTrainDataset(
            OSIE / "images", SIZE, fixations=OSIE / "fixations" / "fixations.mat", split=tmp_path / "split.json"
        )
    write_split(tmp_path / "bad.json", dict(split, validation=["1001"]))
    with pytest.raises(DataError, match="'1001' is in both 'train' and 'validation'"):
        read_split(tmp_path / "bad.json")


def test_osie_split_file_is_regenerated_by_its_seed():
    need(OSIE)
    names = osie_names(OSIE / "images")
    stored = read_split(SPLIT)
    assert make_split(names, seed=0) == stored
    assert [len(stored[p]) for p in ("train", "validation", "test")] == [500, 100, 100]
    assert sorted(stored["train"] + stored["validation"] + stored["test"]) == names
    assert make_split(names, seed=1)["test"] != stored["test"]
    with pytest.raises(DataError, match="must be 3 counts adding up to the 700 names"):
        make_split(names, sizes=(500, 100, 99))


# ------------------------------------------------------------------------------------------------ configs


@pytest.mark.parametrize(
    "overrides, match",
    [
        (["train.bce_epochs=3"], r"train.bce_epochs must be < train.epochs = 3 .*train.adversarial=false"),
        (["model.backbone=resnet50"], r"model.backbone must be one of \('vgg16', 'efficientnet_lite0'\)"),
        (["data.image_size=[100,256]"], r"data.image_size must be a multiple of 32"),
        (["data.image_size=[192]"], r"data.image_size: expected int \| list of 2 numbers"),
        (["train.bce_downsample=5"], r"train.bce_downsample must be >= 1 and a divisor"),
        (["model.discriminator_first_pool=0"], r"model.discriminator_first_pool must be >= 1"),
        (["data.fixation_sigma=0"], r"data.fixation_sigma must be > 0"),
        (["train.bce_epoch=3"], r"unknown key 'train.bce_epoch'; valid keys in 'train'"),
    ],
)
def test_bad_salgan_settings_are_config_errors(tmp_path, overrides, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(tiny_config(tmp_path), overrides)


def test_shipped_salgan_configs():
    paper, cpu, bce = (load_config(REPO / "configs" / f"salgan-{n}.yaml") for n in ("paper", "cpu", "bce-cpu"))
    assert paper.data.image_size == (192, 256) and paper.model.backbone == "vgg16"
    assert (paper.train.bce_epochs, paper.train.batch_size, paper.train.bce_weight) == (15, 32, 0.05)
    assert (paper.train.lr_generator, paper.model.discriminator_first_pool) == (3e-4, 2)
    assert cpu.model.backbone == "efficientnet_lite0" and cpu.train.max_minutes == bce.train.max_minutes == 115
    differences = {
        (section, key)
        for section in ("model", "data", "train")
        for key, value in vars(getattr(cpu, section)).items()
        if getattr(getattr(bce, section), key) != value
    }
    assert differences == {("train", "adversarial"), ("train", "output_dir")}


# ------------------------------------------------------------------------------------------------ end to end


def test_cli_trains_checkpoints_and_resumes_bit_for_bit(tmp_path, capsys):
    need(OSIE)
    whole = tiny_config(tmp_path, output_dir=str(tmp_path / "whole"))
    path = tmp_path / "salgan.yaml"
    path.write_text(json.dumps({"model": vars(whole.model), "data": vars(whole.data), "train": vars(whole.train)}))
    # 8 images, batch 4: 2 steps per epoch; epoch 1 is BCE, then D, G, D, G.
    assert main(["train", "--config", str(path), "--output", str(tmp_path / "whole")]) == 0
    assert "salgan on" in capsys.readouterr().out
    parts = tmp_path / "parts"
    assert main(["train", "--config", str(path), "--output", str(parts), "train.max_steps=3"]) == 0
    assert main(["train", "--resume", "--output", str(parts), "train.max_steps=null"]) == 0
    printed = capsys.readouterr().out
    assert "stopped (max_steps) after step 3/6" in printed and "stopped (finished) after step 6/6" in printed

    a, b = read_checkpoint(tmp_path / "whole"), read_checkpoint(parts)
    assert set(a.weights) == {"generator", "discriminator"} and set(a.optimizers) == set(a.weights)
    for name, tensors in a.weights.items():
        assert all(torch.equal(value, b.weights[name][key]) for key, value in tensors.items()), name
    for name, optimizer in a.optimizers.items():
        for index, values in optimizer["state"].items():
            assert all(torch.equal(v, b.optimizers[name]["state"][index][k]) for k, v in values.items())
    log = [json.loads(line) for line in (parts / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert "bce" in log[0] and "discriminator" not in log[1]
    assert {"discriminator", "d_real", "d_fake"} <= set(log[2]) and {"adversarial", "generator"} <= set(log[3])

    loaded = load_model(parts)
    assert isinstance(loaded.generator, SalGANGenerator) and loaded.ebm is None and not loaded.generator.training
    maps = loaded.generator.saliency(torch.rand(1, 3, *SIZE))
    assert maps.shape == (1, 1, *SIZE)


def test_train_rejects_too_few_images(tmp_path):
    need(OSIE)
    with pytest.raises(DataError, match="fewer than train.batch_size=16"):
        train(tiny_config(tmp_path, batch_size=16))


def test_sod_pairs_accept_a_height_and_width(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.new("RGB", (80, 60), (200, 10, 10)).save(tmp_path / "images" / "a.png")
    Image.new("L", (80, 60), 255).save(tmp_path / "masks" / "a.png")
    image, mask = SODTrainDataset(tmp_path / "images", tmp_path / "masks", (32, 64), hflip=False)[0]
    assert image.shape == (3, 32, 64) and mask.shape == (1, 32, 64) and mask.min() == 1.0
