"""The energy's training options: corrupted ground truths, unrolled refinement, the energy-only algorithm."""

from __future__ import annotations

import pytest
import torch

from gensal.checkpoint import build_models, initialise_from, load_model, read_checkpoint
from gensal.config import apply_overrides, config_from_dict, config_to_dict
from gensal.errors import ConfigError
from gensal.models import create_model
from gensal.sampling import langevin_data
from gensal.training import loop
from gensal.training.energy import CORRUPTIONS, corrupt, energy_objective, perturb_masks, refinement_terms
from gensal.training.loop import make_optimizers, run_algorithm_step
from tests.test_training import batch, make_dataset, tiny_config


def energy_config(tmp_path, **train):
    cfg = config_to_dict(tiny_config(tmp_path, "deterministic"))
    cfg["model"].update(ebm_norm="none", ebm_activation="silu")
    cfg["train"].update({"algorithm": "energy", "ebm_refine_weight": 1.0, "energy_refine_steps": 2, **train})
    return config_from_dict(cfg)


def disc(size: int = 32, radius: float = 8.0) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < radius**2).float()[None]


def test_differentiable_chain_matches_the_detached_one_and_carries_gradients():
    weight = torch.tensor(2.0, requires_grad=True)
    energy = lambda y: (weight * (y - 1.0) ** 2).flatten(1).sum(1)  # noqa: E731
    y0 = torch.zeros(2, 3)
    plain = langevin_data(energy, y0, 3, 0.5, noise=False)
    kept = langevin_data(energy, y0, 3, 0.5, noise=False, differentiable=True)
    # y <- y - (d^2/2) 2w (y - 1) = y - (w/4)(y - 1) with d = 0.5: from 0, y_3 = 1 - (1 - w/4)^3 = 7/8 at w = 2
    assert torch.allclose(plain, torch.full((2, 3), 1 - 0.5**3)) and torch.allclose(kept.detach(), plain)
    (grad,) = torch.autograd.grad(kept.sum(), weight)
    # d y_3 / dw = (3/4) (1 - w/4)^2 = 3/16 at w = 2, for each of the 6 entries
    assert grad.item() == pytest.approx(6 * 3 / 16, rel=1e-5)
    assert not plain.requires_grad


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_each_corruption_changes_the_mask_the_way_its_name_says(kind):
    mask = disc()
    out = corrupt(mask, kind, torch.Generator().manual_seed(1))
    assert out.shape == mask.shape and 0 <= float(out.min()) and float(out.max()) <= 1
    assert float((out - mask).abs().sum()) > 1
    if kind == "dilate":
        assert float(out.sum()) > float(mask.sum()) and bool((out >= mask).all())
    if kind == "erode":
        assert float(out.sum()) < float(mask.sum()) and bool((out <= mask).all())
    if kind == "drop":
        assert float(out.sum()) < float(mask.sum())
    if kind == "blob":
        assert bool((out >= mask).all())
    if kind == "soften":
        assert float(out.max()) < 1 and float(out.min()) > 0
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(mask, "melt")


def test_perturb_masks_is_reproducible_and_keeps_shape():
    masks = torch.stack([disc(), disc(radius=5)])
    a = perturb_masks(masks, torch.Generator().manual_seed(0))
    b = perturb_masks(masks, torch.Generator().manual_seed(0))
    assert a.shape == masks.shape and torch.equal(a, b)
    assert not torch.equal(a, masks)


def test_refinement_terms_train_the_energy_towards_the_target():
    torch.manual_seed(0)
    ebm = create_model("ebm", channels=(4, 8, 8, 8), norm="none", activation="silu", norm_act_last=False)
    image = torch.rand(2, 3, 32, 32)
    target = torch.stack([disc(), disc(radius=6)])
    start = perturb_masks(target, torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(ebm.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        terms = refinement_terms(ebm, image, start, target, steps=3, step_size=0.4)
        optimizer.zero_grad()
        terms["refine"].backward()
        optimizer.step()
        first = first if first is not None else float(terms["refine_mae_after"])
    assert float(terms["refine_mae_after"]) < first
    assert float(terms["refine_mae_after"]) < float(terms["refine_mae_before"])


def test_energy_objective_weights_its_parts():
    torch.manual_seed(0)
    ebm = create_model("ebm", channels=(4, 8, 8, 8), norm="none", activation="silu", norm_act_last=False)
    image, target = torch.rand(2, 3, 32, 32), torch.stack([disc(), disc()])
    negatives = torch.rand(4, 1, 32, 32)
    only_contrast = energy_objective(ebm, image, target, negatives, 2, 0.4, "logit", 0.0, 1.0, 0.0)
    assert "refine" not in only_contrast
    assert only_contrast["energy_total"].item() == pytest.approx(only_contrast["ebm"].item(), rel=1e-5)
    both = energy_objective(ebm, image, target, negatives, 2, 0.4, "logit", 2.0, 0.5, 0.0)
    expected = 2.0 * both["refine"] + 0.5 * both["ebm"]
    assert both["energy_total"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_energy_algorithm_trains_only_the_energy_and_predicts(tmp_path):
    make_dataset(tmp_path, count=4)
    det = tiny_config(tmp_path, "deterministic", output_dir=str(tmp_path / "det"), max_steps=1)
    loop.train(det)
    cfg = energy_config(tmp_path, init_from=str(tmp_path / "det"), output_dir=str(tmp_path / "energy"), max_steps=2)
    loop.train(cfg)
    before = read_checkpoint(tmp_path / "det").weights["generator"]
    after = read_checkpoint(tmp_path / "energy")
    assert all(torch.equal(before[k], after.weights["generator"][k]) for k in before)  # frozen
    assert "ebm" in after.weights
    loaded = load_model(tmp_path / "energy")
    assert loaded.ebm is not None
    with pytest.raises(ConfigError, match="init_from"):
        energy_config(tmp_path, init_from=None)
    with pytest.raises(ConfigError, match="ebm_norm"):
        apply_overrides(tiny_config(tmp_path, "cooperative"), ["train.ebm_refine_weight=1"])


def test_cooperative_step_with_refinement_and_corrupted_negatives(tmp_path):
    torch.manual_seed(0)
    cfg = apply_overrides(
        tiny_config(tmp_path, "cooperative"),
        ["model.ebm_norm=group", "train.ebm_refine_weight=1", "train.ebm_perturbed_negatives=true"],
    )
    models = build_models(cfg)
    terms = run_algorithm_step(
        cfg, models, make_optimizers(cfg, models), *batch(), 1.0, torch.Generator().manual_seed(0)
    )
    for key in ("refine", "ebm", "energy_data", "energy_sample", "lvm", "ce", "mae_revised"):
        assert key in terms


def test_pixel_scale_starts_flat_and_scales_with_the_map_size():
    torch.manual_seed(0)
    ebm = create_model(
        "ebm", channels=(4, 8, 8, 8), norm="none", activation="silu", norm_act_last=False, pixel_scale=True
    )
    y = torch.rand(2, 1, 32, 32, requires_grad=True)
    energy = ebm(y, torch.rand(2, 3, 32, 32))
    (grad,) = torch.autograd.grad(energy.sum(), y)
    assert torch.count_nonzero(grad) == 0  # flat at initialisation
    torch.nn.init.normal_(ebm.fc.weight)
    plain = create_model("ebm", channels=(4, 8, 8, 8), norm="none", activation="silu", norm_act_last=False)
    plain.load_state_dict(ebm.state_dict())
    image, maps = torch.rand(1, 3, 48, 64), torch.rand(1, 1, 48, 64)
    assert ebm(maps, image).item() == pytest.approx(48 * 64 * plain(maps, image).item(), rel=1e-5)


def test_stored_prediction_defaults_are_used_unless_overridden(tmp_path):
    from gensal.checkpoint import export_half
    from gensal.predict import Predictor

    make_dataset(tmp_path, count=4)
    cfg = tiny_config(tmp_path, "cooperative", output_dir=str(tmp_path / "coop"), max_steps=1)
    loop.train(cfg)
    export_half(tmp_path / "coop", tmp_path / "model", prediction={"samples": 3, "refine_steps": 0, "step_size": 0.2})
    predictor = Predictor(tmp_path / "model")
    assert (predictor.samples, predictor.refine_steps, predictor.step_size) == (3, 0, 0.2)
    predictor = Predictor(tmp_path / "model", samples=5, refine_steps=2, step_size=0.3)
    assert (predictor.samples, predictor.refine_steps, predictor.step_size) == (5, 2, 0.3)
    plain = Predictor(tmp_path / "coop")
    assert (plain.samples, plain.refine_steps) == (10, cfg.train.energy_langevin_steps)


def test_init_ebm_from_loads_the_energy_alone(tmp_path):
    make_dataset(tmp_path, count=4)
    det = tiny_config(tmp_path, "deterministic", output_dir=str(tmp_path / "det"), max_steps=1)
    loop.train(det)
    loop.train(
        energy_config(tmp_path, init_from=str(tmp_path / "det"), output_dir=str(tmp_path / "energy"), max_steps=1)
    )
    cfg = config_to_dict(tiny_config(tmp_path, "cooperative"))
    cfg["model"].update(ebm_norm="none", ebm_activation="silu")
    cfg["train"].update(
        init_from=str(tmp_path / "det"), init_ebm_from=str(tmp_path / "energy"), output_dir=str(tmp_path / "coop")
    )
    cfg["train"]["max_steps"] = 1
    coop = config_from_dict(cfg)
    models = build_models(coop)
    initialise_from(tmp_path / "det", models, coop)
    initialise_from(tmp_path / "energy", models, coop, only=["ebm"])
    stored = read_checkpoint(tmp_path / "energy").weights["ebm"]
    assert all(torch.equal(stored[k], v) for k, v in models["ebm"].state_dict().items())
    loop.train(coop)  # the whole path through train()


def test_prediction_defaults_that_are_not_an_object_are_a_one_line_error(tmp_path):
    import json

    from gensal.checkpoint import export_half
    from gensal.errors import DataError

    make_dataset(tmp_path, count=4)
    loop.train(tiny_config(tmp_path, "cooperative", output_dir=str(tmp_path / "coop"), max_steps=1))
    export_half(tmp_path / "coop", tmp_path / "model")
    description = tmp_path / "model" / "checkpoint.json"
    data = json.loads(description.read_text())
    data["training"]["prediction"] = "ten samples"
    description.write_text(json.dumps(data))
    with pytest.raises(DataError, match="training.prediction") as err:
        load_model(tmp_path / "model")
    assert "\n" not in str(err.value)


def test_an_energy_without_any_objective_is_refused(tmp_path):
    for algorithm in ("cooperative", "energy"):
        with pytest.raises(ConfigError, match="ebm_contrastive_weight"):
            if algorithm == "energy":
                energy_config(tmp_path, init_from="x", ebm_refine_weight=0.0, ebm_contrastive_weight=0.0)
            else:
                apply_overrides(tiny_config(tmp_path, algorithm), ["train.ebm_contrastive_weight=0"])
