"""Training: the loss terms, the schedules, one step of each algorithm, the guards, resuming, the CLI."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gensal.checkpoint import (
    build_models,
    initialise_from,
    latest_checkpoint,
    lift_to_latent,
    load_model,
    read_checkpoint,
)
from gensal.cli import main
from gensal.config import apply_overrides, config_from_dict
from gensal.data.sod import multiscale_size, resize_batch
from gensal.errors import ConfigError, DataError
from gensal.training import loop
from gensal.training.loop import TrainingDivergedError, check_step, make_optimizers, run_algorithm_step, train
from gensal.training.losses import cross_entropy, ebm_losses, gaussian_nll, lvm_losses, soft_iou
from gensal.training.schedules import ce_weight_at, cosine_lr_at, lr_at

REPO = Path(__file__).resolve().parents[1]
SHARED_DUTS = REPO / ".." / "shared" / "data" / "duts-tr"

TINY_MODEL = {"pretrained": False, "decoder_channels": 16, "ebm_channels": [4, 8, 8, 8]}


def tiny_config(tmp_path: Path, algorithm: str = "cooperative", **train):
    """A config of tiny networks on 64x64 images (no pretrained weights)."""
    settings = {
        "algorithm": algorithm,
        "batch_size": 2,
        "epochs": 2,
        "log_every": 1,
        "checkpoint_every": 0,
        "progress": False,
        "threads": 2,
        "energy_langevin_steps": 2,
        "latent_langevin_steps": 2,
        "output_dir": str(tmp_path / "run"),
        **train,
    }
    model = dict(TINY_MODEL, latent_dim=0 if algorithm == "deterministic" else 4)
    data = {"train_images": str(tmp_path / "images"), "train_masks": str(tmp_path / "masks"), "image_size": 64}
    return config_from_dict({"model": model, "data": data, "train": settings})


def make_dataset(root: Path, count: int = 6, size: int = 72) -> None:
    """Random photos and blob masks (one grayscale JPEG, one 1-bit mask) in ``root/images`` and ``root/masks``."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:size, :size]
    for i in range(count):
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        cy, cx, r = rng.integers(20, 52), rng.integers(20, 52), rng.integers(8, 20)
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2).astype(np.uint8) * 255
        if i == 0:
            Image.fromarray(image[..., 0]).save(root / "images" / f"im{i}.jpg")
            Image.fromarray(mask > 0).save(root / "masks" / f"im{i}.png")
        else:
            Image.fromarray(image).save(root / "images" / f"im{i}.png")
            Image.fromarray(mask).save(root / "masks" / f"im{i}.png")


def batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(2, 3, 64, 64, generator=g)
    target = (torch.rand(2, 1, 64, 64, generator=g) > 0.5).float()
    return image, target


# ------------------------------------------------------------------------------------------ loss terms


def test_ebm_loss_matches_hand_computation():
    data, sample = torch.tensor([1.0, 3.0], requires_grad=True), torch.tensor([2.0, 6.0], requires_grad=True)
    terms = ebm_losses(data, sample)
    assert terms["ebm"].item() == pytest.approx(2.0 - 4.0)
    assert (terms["energy_data"].item(), terms["energy_sample"].item()) == (2.0, 4.0)
    terms["ebm"].backward()  # Eq. 5: +1/n on observed maps, -1/n on samples
    assert data.grad.tolist() == [0.5, 0.5] and sample.grad.tolist() == [-0.5, -0.5]
    regularised = ebm_losses(data.detach(), sample.detach(), energy_reg=0.1)
    assert regularised["ebm"].item() == pytest.approx(-2.0 + 0.1 * ((1 + 9) / 2 + (4 + 36) / 2))


def test_lvm_losses_match_hand_computation():
    logits = torch.zeros(2, 1, 4, 4)  # sigmoid = 0.5 everywhere
    revised = torch.ones(2, 1, 4, 4)
    target = torch.zeros(2, 1, 4, 4)
    assert gaussian_nll(logits, revised, sigma=0.5).item() == pytest.approx(0.5**2 / (2 * 0.25))
    assert cross_entropy(logits, target).item() == pytest.approx(math.log(2))
    terms = lvm_losses(logits, revised, target, sigma=0.5, ce_weight=0.25)
    assert terms["lvm_total"].item() == pytest.approx(0.5 + 0.25 * math.log(2))
    soft = torch.full((1, 1, 2, 2), 0.3)
    logit = torch.full((1, 1, 2, 2), 0.7)
    p = 1 / (1 + math.exp(-0.7))
    assert cross_entropy(logit, soft).item() == pytest.approx(-(0.3 * math.log(p) + 0.7 * math.log(1 - p)))


def test_loss_shapes_are_checked():
    with pytest.raises(ValueError, match="energy_data must have shape"):
        ebm_losses(torch.zeros(2, 1), torch.zeros(2))
    with pytest.raises(ValueError, match="logits must have shape"):
        gaussian_nll(torch.zeros(2, 4, 4), torch.zeros(2, 1, 4, 4), 0.3)


# ------------------------------------------------------------------------------------------- schedules


def test_ce_weight_decreases_linearly_to_zero():
    weights = [ce_weight_at(step, 10, 2.0) for step in range(12)]
    assert weights[0] == 2.0 and weights[5] == pytest.approx(1.0) and weights[10] == 0.0 and weights[11] == 0.0
    assert all(a > b for a, b in zip(weights[:10], weights[1:11], strict=True))
    assert np.allclose(np.diff(weights[:11]), -0.2)


def test_lr_decays_ten_percent_every_twenty_epochs():
    assert lr_at(1e-3, 0, 0.9, 20) == lr_at(1e-3, 19, 0.9, 20) == 1e-3
    assert lr_at(1e-3, 20, 0.9, 20) == pytest.approx(9e-4)
    assert lr_at(1e-3, 45, 0.9, 20) == pytest.approx(8.1e-4)


def test_loop_applies_the_lr_schedule():
    cfg = config_from_dict({"train": {"lr_decay_every": 2, "lr_decay_factor": 0.5, "lr_lvm": 1e-4}})
    models = {"generator": torch.nn.Linear(2, 2), "ebm": torch.nn.Linear(2, 1)}
    optimizers = make_optimizers(cfg, models)
    assert loop.set_learning_rates(optimizers, cfg, 3) == {"generator": 5e-5, "ebm": 5e-4}
    assert optimizers["ebm"].param_groups[0]["lr"] == 5e-4


# ------------------------------------------------------------------------------------- one step each


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def test_one_cooperative_step_updates_both_models_and_reports_every_term(tmp_path):
    torch.manual_seed(0)
    cfg = tiny_config(tmp_path)
    models = build_models(cfg)
    optimizers = make_optimizers(cfg, models)
    before = {name: snapshot(m) for name, m in models.items()}
    image, target = batch()
    terms = run_algorithm_step(cfg, models, optimizers, image, target, 0.7, torch.Generator().manual_seed(0))

    expected = {"ebm", "lvm", "ce", "lvm_total", "energy_data", "energy_sample", "ce_weight", "mae_proposal"}
    assert expected <= set(terms) and all(math.isfinite(v) for v in terms.values())
    assert terms["ebm"] == pytest.approx(terms["energy_data"] - terms["energy_sample"], abs=1e-5)
    assert terms["lvm_total"] == pytest.approx(terms["lvm"] + 0.7 * terms["ce"], rel=1e-5)
    generator_changed = [
        n for n, p in models["generator"].named_parameters() if not torch.equal(p, before["generator"][n])
    ]
    assert len(generator_changed) == len(before["generator"])
    ebm_unchanged = [n for n, p in models["ebm"].named_parameters() if torch.equal(p, before["ebm"][n])]
    # Eq. 5 is a difference of mean energies, so a constant offset (the fc bias) gets no gradient.
    assert ebm_unchanged == ["fc.bias"]
    assert models["ebm"].training and models["generator"].training


def test_cooperative_step_is_deterministic_given_the_seed(tmp_path):
    results = []
    for _ in range(2):
        torch.manual_seed(1)
        cfg = tiny_config(tmp_path)
        models = build_models(cfg)
        terms = run_algorithm_step(
            cfg, models, make_optimizers(cfg, models), *batch(), 1.0, torch.Generator().manual_seed(5)
        )
        results.append((terms, snapshot(models["generator"])))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, results[1][1][n]) for n, a in results[0][1].items())


@pytest.mark.parametrize("algorithm, keys", [("lvm-abp", {"lvm", "ce", "lvm_total"}), ("deterministic", {"ce"})])
def test_ablation_steps_update_the_generator(tmp_path, algorithm, keys):
    torch.manual_seed(0)
    cfg = tiny_config(tmp_path, algorithm)
    models = build_models(cfg)
    assert set(models) == {"generator"}
    before = snapshot(models["generator"])
    terms = run_algorithm_step(
        cfg, models, make_optimizers(cfg, models), *batch(), 1.0, torch.Generator().manual_seed(0)
    )
    assert keys <= set(terms) and all(math.isfinite(v) for v in terms.values())
    assert all(not torch.equal(p, before[n]) for n, p in models["generator"].named_parameters())


def test_soft_iou_matches_hand_computation():
    logits = torch.tensor([0.0, 0.0, 20.0, -20.0]).view(1, 1, 2, 2)  # p = .5, .5, ~1, ~0
    target = torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 1, 2, 2)
    # intersection .5 + 1 = 1.5; union (.5 + 1 - .5) + .5 + 1 + 0 = 2.5
    assert soft_iou(logits, target).item() == pytest.approx(1 - 1.5 / 2.5, abs=1e-6)
    assert soft_iou(torch.full((2, 1, 3, 3), 30.0), torch.ones(2, 1, 3, 3)).item() == pytest.approx(0, abs=1e-6)


def test_iou_weight_adds_the_iou_term_to_the_deterministic_step(tmp_path):
    results = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        cfg = apply_overrides(tiny_config(tmp_path, "deterministic"), [f"train.iou_weight={weight}"])
        models = build_models(cfg)
        terms = run_algorithm_step(cfg, models, make_optimizers(cfg, models), *batch(), 1.0, None)
        results[weight] = (terms, snapshot(models["generator"]))
    assert "iou" not in results[0.0][0] and 0 < results[1.0][0]["iou"] < 1
    assert results[0.0][0]["ce"] == results[1.0][0]["ce"]  # same start, same cross-entropy
    assert any(not torch.equal(a, results[1.0][1][n]) for n, a in results[0.0][1].items())  # other update
    with pytest.raises(ConfigError, match="iou_weight"):
        apply_overrides(tiny_config(tmp_path, "salgan", bce_epochs=1), ["train.iou_weight=1"])


@pytest.mark.parametrize("algorithm", ["cooperative", "lvm-abp"])
def test_iou_weight_joins_the_ce_term_of_the_latent_algorithms(tmp_path, algorithm):
    torch.manual_seed(0)
    cfg = apply_overrides(tiny_config(tmp_path, algorithm), ["train.iou_weight=2.0"])
    models = build_models(cfg)
    terms = run_algorithm_step(
        cfg, models, make_optimizers(cfg, models), *batch(), 0.5, torch.Generator().manual_seed(0)
    )
    assert 0 < terms["iou"] < 1
    assert terms["lvm_total"] == pytest.approx(terms["lvm"] + 0.5 * (terms["ce"] + 2.0 * terms["iou"]), rel=1e-5)


def test_lvm_losses_with_iou_match_hand_sum():
    logits = torch.tensor([0.0, 0.0, 20.0, -20.0]).view(1, 1, 2, 2)
    target = torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 1, 2, 2)
    terms = lvm_losses(logits, target, target, sigma=1.0, ce_weight=0.5, iou_weight=3.0)
    expected = terms["lvm"] + 0.5 * (terms["ce"] + 3.0 * (1 - 1.5 / 2.5))
    assert terms["lvm_total"].item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="iou_weight"):
        lvm_losses(logits, target, target, 1.0, 0.5, ce_mask=torch.ones_like(target), iou_weight=1.0)


def test_lift_to_latent_gives_the_deterministic_map_for_every_h(tmp_path):
    torch.manual_seed(0)
    deterministic = build_models(tiny_config(tmp_path, "deterministic"))["generator"].eval()
    torch.manual_seed(1)
    lvm = build_models(tiny_config(tmp_path, "cooperative"))["generator"].eval()
    lvm.load_state_dict(lift_to_latent(deterministic.state_dict(), lvm))
    image = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected = deterministic(image)
        for _ in range(3):
            assert torch.allclose(lvm(image, torch.randn(2, 4) * 3), expected, atol=1e-5)
    # a checkpoint that already has the latent fusion is left alone
    state = lvm.state_dict()
    assert lift_to_latent(state, lvm).keys() == state.keys()


def test_init_from_a_deterministic_run_lifts_it_into_the_lvm(tmp_path):
    make_dataset(tmp_path)
    det = apply_overrides(
        tiny_config(tmp_path, "deterministic"), ["train.max_steps=1", f"train.output_dir={tmp_path / 'det'}"]
    )
    loop.train(det)
    coop = apply_overrides(
        tiny_config(tmp_path, "cooperative"),
        ["train.max_steps=1", f"train.output_dir={tmp_path / 'coop'}", f"train.init_from={tmp_path / 'det'}"],
    )
    loaded, fresh = initialise_from(tmp_path / "det", build_models(coop), coop)
    assert loaded == ["generator"] and fresh == ["ebm"]


def test_cosine_schedule_and_per_step_rates(tmp_path):
    assert cosine_lr_at(2.0, 0, 10, 0.1) == pytest.approx(2.0)
    assert cosine_lr_at(2.0, 5, 10, 0.1) == pytest.approx(2.0 * (0.1 + 0.9 * 0.5))
    assert cosine_lr_at(2.0, 10, 10, 0.1) == pytest.approx(0.2)
    assert cosine_lr_at(2.0, 50, 10, 0.1) == pytest.approx(0.2)
    cfg = apply_overrides(tiny_config(tmp_path), ["train.lr_schedule=cosine", "train.lr_min_ratio=0"])
    models = build_models(cfg)
    optimizers = make_optimizers(cfg, models)
    rates = loop.set_learning_rates(optimizers, cfg, 0, 50, 100)
    assert rates["generator"] == pytest.approx(cfg.train.lr_lvm / 2)
    assert optimizers["ebm"].param_groups[0]["lr"] == pytest.approx(cfg.train.lr_ebm / 2)


def test_multiscale_sizes_are_multiples_of_32_and_reproducible():
    sizes = {multiscale_size((256, 256), (0.75, 1.0, 1.25), 0, step) for step in range(60)}
    assert sizes == {(192, 192), (256, 256), (320, 320)}
    assert [multiscale_size((256, 192), (0.75, 1.25), 3, s) for s in range(20)] == [
        multiscale_size((256, 192), (0.75, 1.25), 3, s) for s in range(20)
    ]
    image, mask = torch.rand(2, 3, 64, 64), torch.rand(2, 1, 64, 64)
    small_image, small_mask = resize_batch(image, mask, (32, 32))
    assert small_image.shape == (2, 3, 32, 32) and small_mask.shape == (2, 1, 32, 32)
    assert 0 <= float(small_mask.min()) and float(small_mask.max()) <= 1


def test_multiscale_training_runs_and_resumes_exactly(tmp_path):
    make_dataset(tmp_path, count=8)
    settings = ["data.scales=[0.5, 1.0]", "train.lr_schedule=cosine", "train.epochs=2", "train.checkpoint_every=2"]
    full = apply_overrides(tiny_config(tmp_path, "deterministic"), settings + [f"train.output_dir={tmp_path / 'a'}"])
    loop.train(full)
    part = apply_overrides(
        tiny_config(tmp_path, "deterministic"), settings + [f"train.output_dir={tmp_path / 'b'}", "train.max_steps=2"]
    )
    loop.train(part)
    loop.train(apply_overrides(part, ["train.max_steps=null"]), resume=True)
    a = read_checkpoint(tmp_path / "a").weights["generator"]
    b = read_checkpoint(tmp_path / "b").weights["generator"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sod_training_reads_only_the_train_names_of_a_split(tmp_path):
    make_dataset(tmp_path, count=6)
    names = sorted(p.stem for p in (tmp_path / "images").iterdir())
    split = {"dataset": "tiny", "seed": 0, "sizes": [4, 2, 0], "train": names[:4], "validation": names[4:], "test": []}
    (tmp_path / "split.json").write_text(json.dumps(split))
    cfg = apply_overrides(tiny_config(tmp_path, "deterministic"), [f"data.train_split={tmp_path / 'split.json'}"])
    dataset = loop.build_dataset(cfg)
    assert [item[0] for item in dataset.items] == names[:4]
    split["train"].append("not-there")
    (tmp_path / "split.json").write_text(json.dumps(split))
    with pytest.raises(DataError, match="not-there"):
        loop.build_dataset(cfg)


# ------------------------------------------------------------------------------------------- the guard


def test_guard_names_the_step():
    check_step({"ebm": 1.0, "energy_data": 10.0}, 5, 0, 100.0, None)
    with pytest.raises(TrainingDivergedError, match=r"diverged at step 7 \(epoch 2\): lvm is nan"):
        check_step({"ebm": 1.0, "lvm": float("nan")}, 7, 1, 100.0, None)
    with pytest.raises(TrainingDivergedError, match=r"step 9 .*energy_sample = -1000 exceeds .*exploded"):
        check_step({"energy_sample": -1000.0}, 9, 0, 100.0, Path("run/step-00000008"))


def test_training_stops_at_the_first_nan_step(tmp_path, monkeypatch):
    make_dataset(tmp_path)
    cfg = tiny_config(tmp_path, "deterministic")
    calls = []

    def fake_step(*args, **kwargs):
        calls.append(1)
        return {"ce": float("nan") if len(calls) == 3 else 0.5}

    monkeypatch.setattr(loop, "run_algorithm_step", fake_step)
    with pytest.raises(TrainingDivergedError, match="at step 3 .*ce is nan") as err:
        train(cfg)
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------------- loop and resuming


def all_state(cfg) -> dict[str, torch.Tensor]:
    checkpoint = read_checkpoint(cfg.train.output_dir)
    state = {f"{m}.{k}": v for m, tensors in checkpoint.weights.items() for k, v in tensors.items()}
    for name, optimizer in checkpoint.optimizers.items():
        for index, values in optimizer["state"].items():
            state.update({f"opt.{name}.{index}.{k}": v for k, v in values.items()})
    state["rng.generator"] = checkpoint.rng["generator"]
    return state


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    make_dataset(tmp_path, count=5)  # 2 steps per epoch (the fifth image is dropped), 2 epochs
    whole = tiny_config(tmp_path, output_dir=str(tmp_path / "whole"))
    result = train(whole)
    assert (result.step, result.total_steps, result.stop_reason) == (4, 4, "finished")

    # Interrupted in the middle of the first epoch, then resumed across the epoch boundary.
    parts = tiny_config(tmp_path, output_dir=str(tmp_path / "parts"), max_steps=1)
    assert train(parts).stop_reason == "max_steps"
    assert read_checkpoint(parts.train.output_dir).training["step"] == 1
    with pytest.raises(ConfigError, match="already holds a run"):
        train(parts)
    with pytest.raises(ConfigError, match=r"cannot resume with a different config \(train.seed"):
        train(apply_overrides(parts, ["train.seed=1"]), resume=True)
    resumed = train(apply_overrides(parts, ["train.max_steps=null"]), resume=True)
    assert (resumed.step, resumed.stop_reason) == (4, "finished")

    a, b = all_state(whole), all_state(parts)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"differ after resuming: {different[:5]}"
    log = [json.loads(line) for line in (tmp_path / "parts" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert {"ebm", "lvm", "ce", "energy_data", "energy_sample", "lr_generator", "lr_ebm"} <= set(log[0])
    assert list((tmp_path / "parts" / "tensorboard").iterdir())
    assert train(parts, resume=True).stop_reason == "finished"  # nothing left to do


def test_time_budget_stops_cleanly_with_a_checkpoint(tmp_path):
    make_dataset(tmp_path)
    cfg = tiny_config(tmp_path, "deterministic", max_minutes=1e-4, epochs=50)
    result = train(cfg)
    assert result.stop_reason == "time budget" and result.step >= 1
    assert latest_checkpoint(cfg.train.output_dir) == result.checkpoint
    assert read_checkpoint(result.checkpoint).training["stop_reason"] == "time budget"


def test_missing_masks_and_too_few_images_are_data_errors(tmp_path):
    make_dataset(tmp_path, count=3)
    (tmp_path / "masks" / "im2.png").unlink()
    with pytest.raises(DataError, match=r"1 image\(s\) have no mask in .*: im2"):
        train(tiny_config(tmp_path))
    (tmp_path / "images" / "im2.png").unlink()
    (tmp_path / "images" / "im1.png").unlink()
    (tmp_path / "masks" / "im1.png").unlink()
    with pytest.raises(DataError, match="1 training pair"):
        train(tiny_config(tmp_path))


def test_init_from_loads_the_networks_a_checkpoint_holds_and_starts_the_others_fresh(tmp_path):
    make_dataset(tmp_path, count=4)
    first = tiny_config(tmp_path, output_dir=str(tmp_path / "first"), max_steps=1)
    train(first)
    stored = read_checkpoint(first.train.output_dir).weights

    # A cooperative checkpoint into a generator-only run: the generator is loaded, nothing is fresh.
    abp = tiny_config(tmp_path, "lvm-abp")
    models = build_models(abp)
    assert initialise_from(first.train.output_dir, models, abp) == (["generator"], [])
    assert all(torch.equal(v, stored["generator"][k]) for k, v in models["generator"].state_dict().items())

    # A new cooperative run started from it: trains on, and its first checkpoint records where it began.
    second = tiny_config(tmp_path, output_dir=str(tmp_path / "second"), max_steps=1, init_from=str(tmp_path / "first"))
    assert train(second).step == 1
    after = read_checkpoint(second.train.output_dir)
    assert after.config.train.init_from == str(tmp_path / "first")
    ebm = after.weights["ebm"]
    moved = [k for k, v in ebm.items() if v.is_floating_point() and not torch.equal(v, stored["ebm"][k])]
    assert moved, "the energy model should have been loaded and then updated"

    # A generator-only checkpoint into a cooperative run: the energy model starts fresh.
    abp_run = tiny_config(tmp_path, "lvm-abp", output_dir=str(tmp_path / "abp"), max_steps=1)
    train(abp_run)
    cooperative = tiny_config(tmp_path)
    assert initialise_from(abp_run.train.output_dir, build_models(cooperative), cooperative) == (["generator"], ["ebm"])


def test_init_from_refuses_another_architecture_in_one_line(tmp_path):
    make_dataset(tmp_path, count=4)
    deterministic = tiny_config(tmp_path, "deterministic", output_dir=str(tmp_path / "det"), max_steps=1)
    train(deterministic)
    cooperative = tiny_config(tmp_path, "cooperative")
    cooperative.model.decoder_channels = 8  # another decoder width
    with pytest.raises(ConfigError, match=r"train.init_from: .*generator.safetensors: weights do not match") as err:
        initialise_from(deterministic.train.output_dir, build_models(cooperative), cooperative)
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match="nowhere"):
        train(tiny_config(tmp_path, init_from=str(tmp_path / "nowhere")))


# ------------------------------------------------------------------------------------------------ CLI


def write_tiny_yaml(tmp_path: Path, images: Path, masks: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "model: {pretrained: false, latent_dim: 2, decoder_channels: 16, ebm_channels: [4, 8, 8, 8]}\n"
        f"data: {{train_images: '{images}', train_masks: '{masks}', image_size: 64}}\n"
        "train: {epochs: 1, batch_size: 2, log_every: 1, progress: false, threads: 2, "
        "energy_langevin_steps: 2, latent_langevin_steps: 2}\n"
    )
    return path


def test_cli_trains_on_real_images(tmp_path, capsys):
    if not (SHARED_DUTS / "images").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DUTS}")
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    for path in sorted((SHARED_DUTS / "images").iterdir())[:4]:
        shutil.copy(path, tmp_path / "images")
        shutil.copy(SHARED_DUTS / "masks" / f"{path.stem}.png", tmp_path / "masks")
    config = write_tiny_yaml(tmp_path, tmp_path / "images", tmp_path / "masks")
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--output", str(out), "train.seed=3"]) == 0
    printed = capsys.readouterr().out
    assert "stopped (finished) after step 2/2" in printed
    loaded = load_model(out)
    assert loaded.config.train.seed == 3 and loaded.ebm is not None and not loaded.generator.training
    assert (out / "config.yaml").is_file() and len((out / "log.jsonl").read_text().splitlines()) == 2


def test_cli_rejects_a_bad_key_in_one_line(tmp_path):
    config = write_tiny_yaml(tmp_path, tmp_path / "images", tmp_path / "masks")
    done = subprocess.run(
        [sys.executable, "-m", "gensal.cli", "train", "--config", str(config), "train.epochz=2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "gensal train: error: command line: unknown key 'train.epochz'; valid keys in 'train':" in done.stderr


def test_resume_at_max_steps_trains_nothing_more(tmp_path):
    make_dataset(tmp_path, count=4)
    cfg = tiny_config(tmp_path, "deterministic", max_steps=1)
    first = train(cfg)
    for _ in range(2):
        again = train(cfg, resume=True)
        assert (again.step, again.stop_reason, again.checkpoint) == (1, "max_steps", first.checkpoint)
    assert latest_checkpoint(cfg.train.output_dir) == first.checkpoint
