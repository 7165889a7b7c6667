"""Checkpoints: round trips (weights, config, optimizer, RNG), atomic writes, validation, half export."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import gensal.checkpoint as ckpt
from gensal.checkpoint import (
    build_models,
    export_half,
    get_rng_state,
    load_model,
    read_checkpoint,
    restore_models,
    save_checkpoint,
    set_rng_state,
    write_latest,
)
from gensal.config import apply_overrides, config_from_dict
from gensal.errors import ConfigError, DataError
from gensal.training.loop import make_optimizers, run_algorithm_step

TINY = {
    "model": {"pretrained": False, "latent_dim": 4, "decoder_channels": 16, "ebm_channels": [4, 8, 8, 8]},
    "train": {"batch_size": 2, "energy_langevin_steps": 1, "latent_langevin_steps": 1, "seed": 11},
}


@pytest.fixture(scope="module")
def trained():
    """Tiny cooperative models after one step (so Adam has state), with their optimizers and generator."""
    torch.manual_seed(0)
    config = config_from_dict(TINY)
    models = build_models(config)
    optimizers = make_optimizers(config, models)
    generator = torch.Generator().manual_seed(3)
    image, target = torch.rand(2, 3, 64, 64), (torch.rand(2, 1, 64, 64) > 0.5).float()
    run_algorithm_step(config, models, optimizers, image, target, 1.0, generator)
    return config, models, optimizers, generator


def test_round_trip_restores_weights_config_optimizer_and_rng(tmp_path, trained):
    config, models, optimizers, generator = trained
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(4)
    rng = get_rng_state(generator)
    expected = (random.random(), np.random.rand(), torch.rand(1), torch.rand(1, generator=generator))
    path = save_checkpoint(tmp_path / "step-1", config, models, optimizers, {"step": 1, "epoch": 0}, rng)

    loaded = read_checkpoint(path)
    assert loaded.config == config and loaded.training == {"step": 1, "epoch": 0}
    assert sorted(p.name for p in path.iterdir()) == [
        "checkpoint.json",
        "ebm.safetensors",
        "generator.safetensors",
        "optimizer-ebm.safetensors",
        "optimizer-generator.safetensors",
        "rng.safetensors",
    ]
    fresh = build_models(loaded.config, pretrained=False)
    restore_models(loaded, fresh)
    for name, module in models.items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, fresh[name].state_dict()[key]), f"{name}.{key}"
    new_optimizers = make_optimizers(config, fresh)
    for name, optimizer in new_optimizers.items():
        optimizer.load_state_dict(loaded.optimizers[name])
        original, restored = optimizers[name].state_dict(), optimizer.state_dict()
        assert original["param_groups"] == [dict(g, betas=tuple(g["betas"])) for g in restored["param_groups"]]
        for index, values in original["state"].items():
            assert all(torch.equal(v, restored["state"][index][k]) for k, v in values.items())
    other = torch.Generator()
    set_rng_state(loaded.rng, other)
    again = (random.random(), np.random.rand(), torch.rand(1), torch.rand(1, generator=other))
    assert again[:2] == expected[:2] and torch.equal(again[2], expected[2]) and torch.equal(again[3], expected[3])
    assert json.loads((path / "checkpoint.json").read_text())["gensal_version"]


def test_failed_write_leaves_no_partial_checkpoint(tmp_path, trained, monkeypatch):
    config, models, optimizers, _ = trained
    target = tmp_path / "step-2"
    save_checkpoint(target, config, models)
    before = (target / "generator.safetensors").read_bytes()

    def failing_save(tensors, filename, metadata=None):  # fails after the model files are written
        if "optimizer" in Path(filename).name:
            raise OSError("disk full")
        save_file(tensors, filename, metadata=metadata)

    monkeypatch.setattr(ckpt, "save_file", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(target, config, models, optimizers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-2"]  # no temporary folder left behind
    assert (target / "generator.safetensors").read_bytes() == before  # the old checkpoint is intact
    assert not (target / "optimizer-generator.safetensors").exists()
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "step-3", config, models, optimizers)
    assert not (tmp_path / "step-3").exists()


def test_nan_weights_are_refused_when_saving_and_loading(tmp_path, trained):
    config, models, _, _ = trained
    path = save_checkpoint(tmp_path / "ok", config, models)
    weights = path / "ebm.safetensors"
    tensors = load_file(str(weights))
    tensors["fc.weight"][0, 0] = float("nan")
    save_file(tensors, str(weights))
    with pytest.raises(DataError) as err:
        read_checkpoint(path)
    assert str(weights) in str(err.value) and "'fc.weight' contains NaN" in str(err.value)
    assert "\n" not in str(err.value)
    broken = build_models(config, pretrained=False)
    with torch.no_grad():
        next(broken["generator"].parameters()).fill_(float("inf"))
    with pytest.raises(DataError, match="model 'generator'.*NaN or infinite"):
        save_checkpoint(tmp_path / "bad", config, broken)
    assert not (tmp_path / "bad").exists()


def test_config_that_does_not_match_the_weights_is_reported(tmp_path, trained):
    config, models, _, _ = trained
    path = save_checkpoint(tmp_path / "c", config, models)
    description = json.loads((path / "checkpoint.json").read_text())
    description["config"]["model"]["latent_dim"] = 6
    (path / "checkpoint.json").write_text(json.dumps(description))
    with pytest.raises(ConfigError) as err:
        load_model(path)
    message = str(err.value)
    assert "generator.safetensors" in message and "model.latent_dim=6" in message
    assert "decoder.latent_fusion.weight" in message and "other shapes" in message

    description["config"]["model"]["latent_dimension"] = 6
    (path / "checkpoint.json").write_text(json.dumps(description))
    with pytest.raises(ConfigError, match=r"checkpoint.json: unknown key 'model.latent_dimension'"):
        read_checkpoint(path)

    deterministic = apply_overrides(config, ["train.algorithm=deterministic", "model.latent_dim=0"])
    other = save_checkpoint(tmp_path / "d", deterministic, build_models(deterministic, pretrained=False))
    loaded = read_checkpoint(other)
    with pytest.raises(
        ConfigError, match=r"holds models \['generator'\] but the config .* needs \['ebm', 'generator'\]"
    ):
        restore_models(loaded, build_models(config, pretrained=False))


def test_unreadable_or_foreign_folders(tmp_path):
    with pytest.raises(DataError, match="not a checkpoint folder"):
        read_checkpoint(tmp_path)
    (tmp_path / "checkpoint.json").write_text('{"format": "something-else"}')
    with pytest.raises(DataError, match="not a gensal-checkpoint version 1"):
        read_checkpoint(tmp_path)


def test_run_folder_resolves_to_latest_and_half_export_predicts_the_same(tmp_path, trained):
    config, models, _, _ = trained
    run = tmp_path / "run"
    save_checkpoint(run / "step-00000001", config, models, training={"step": 1})
    write_latest(run, run / "step-00000001")
    loaded = load_model(run)
    assert loaded.path == run / "step-00000001" and not loaded.generator.training and not loaded.ebm.training

    half = export_half(run, tmp_path / "half")
    assert sorted(p.name for p in half.iterdir()) == ["checkpoint.json", "ebm.safetensors", "generator.safetensors"]
    assert load_file(str(half / "generator.safetensors"))["decoder.head.3.weight"].dtype == torch.float16
    full_size = (run / "step-00000001" / "generator.safetensors").stat().st_size
    assert (half / "generator.safetensors").stat().st_size < 0.6 * full_size
    small = load_model(half)
    assert read_checkpoint(half).training["exported_from"] == "step-00000001"
    image = torch.rand(1, 3, 64, 64)
    h = torch.zeros(1, 4)
    with torch.no_grad():
        reference = torch.sigmoid(loaded.generator.decode(loaded.generator.encode(image), h))
        approximate = torch.sigmoid(small.generator.decode(small.generator.encode(image), h))
    assert torch.allclose(reference, approximate, atol=1e-2)
