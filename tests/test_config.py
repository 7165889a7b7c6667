"""Typed, strict configs: YAML loading, overrides, round trips and the shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gensal.config import (
    Config,
    apply_overrides,
    config_differences,
    config_from_dict,
    config_to_dict,
    load_config,
)
from gensal.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_defaults_follow_the_paper():
    cfg = Config()
    assert cfg.model.backbone == "efficientnet_lite0" and cfg.model.latent_dim == 8
    assert (cfg.train.energy_step_size, cfg.train.latent_step_size) == (0.4, 0.1)
    assert (cfg.train.energy_langevin_steps, cfg.train.latent_langevin_steps) == (5, 5)
    assert (cfg.train.lr_lvm, cfg.train.lr_ebm, cfg.train.adam_betas) == (5e-5, 1e-3, (0.9, 0.999))


def test_yaml_values_are_typed(tmp_path):
    path = write(
        tmp_path,
        "model:\n  latent_dim: 4\n  ebm_channels: [8, 16, 32, 64]\n"
        "train:\n  lr_lvm: 2e-4\n  epochs: 3\n  adam_betas: [0.5, 0.99]\n  max_minutes: 1\n",
    )
    cfg = load_config(path)
    assert cfg.model.latent_dim == 4 and cfg.model.ebm_channels == (8, 16, 32, 64)
    # YAML 1.1 reads "2e-4" as a string; float fields accept it, ints become floats.
    assert cfg.train.lr_lvm == pytest.approx(2e-4) and isinstance(cfg.train.lr_lvm, float)
    assert cfg.train.max_minutes == 1.0 and isinstance(cfg.train.max_minutes, float)
    assert cfg.train.adam_betas == (0.5, 0.99) and cfg.train.epochs == 3


def test_unknown_key_names_key_file_and_valid_keys(tmp_path):
    path = write(tmp_path, "train:\n  epoch: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "train.epoch" in message and str(path) in message and "epochs" in message and "batch_size" in message
    assert "\n" not in message


def test_unknown_section(tmp_path):
    with pytest.raises(ConfigError, match="unknown section 'optim'.*model, data, train"):
        load_config(write(tmp_path, "optim:\n  lr: 1\n"))


@pytest.mark.parametrize(
    "text, match",
    [
        ("train:\n  epochs: two\n", r"train.epochs: expected int, got 'two'"),
        ("train:\n  epochs: 2.5\n", r"train.epochs: expected int"),
        ("train:\n  progress: 1\n", r"train.progress: expected bool"),
        (
            "train:\n  algorithm: gan\n",
            r"train.algorithm: expected 'cooperative' \| 'cooperative-weak' \| 'lvm-abp' \| 'deterministic'",
        ),
        ("model:\n  ebm_channels: [8, 16]\n", r"model.ebm_channels: expected list of 4 numbers"),
        ("train:\n  batch_size: 1\n", r"train.batch_size must be >= 2"),
        ("data:\n  image_size: 100\n", r"data.image_size must be a multiple of 32"),
        ("train:\n  sigma: 0\n", r"train.sigma must be > 0"),
        ("train:\n  - 1\n", r"section 'train' must be a mapping"),
    ],
)
def test_bad_values_are_rejected(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "train: [1, 2\n"))


def test_overrides_are_parsed_with_yaml_and_checked():
    cfg = apply_overrides(
        Config(),
        ["train.epochs=2", "model.backbone_weights=null", "train.adam_betas=[0.5,0.9]", "data.hflip=false"],
    )
    assert cfg.train.epochs == 2 and cfg.model.backbone_weights is None
    assert cfg.train.adam_betas == (0.5, 0.9) and cfg.data.hflip is False
    cfg = apply_overrides(cfg, ["train.output_dir=runs/a=b", "model.backbone_weights=/w/r50.safetensors"])
    assert cfg.train.output_dir == "runs/a=b" and cfg.model.backbone_weights == "/w/r50.safetensors"


@pytest.mark.parametrize(
    "override, match",
    [
        ("train.epochz=2", r"unknown key 'train.epochz'; valid keys in 'train': algorithm, epochs"),
        ("trainer.epochs=2", r"unknown section 'trainer'"),
        ("epochs=2", r"must look like section.key"),
        ("train.epochs", r"must look like section.key=value"),
        ("train.epochs=[1", r"cannot parse the value of train.epochs"),
        ("train.epochs=2.5", r"train.epochs: expected int"),
    ],
)
def test_bad_overrides(override, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides(Config(), [override])


def test_dict_round_trip_and_differences():
    cfg = apply_overrides(Config(), ["train.seed=3", "model.ebm_channels=[4,8,16,32]", "train.max_steps=7"])
    data = config_to_dict(cfg)
    assert data["model"]["ebm_channels"] == [4, 8, 16, 32]  # plain lists, JSON-ready
    assert config_from_dict(data) == cfg
    diffs = config_differences(Config(), cfg)
    assert ("train.seed", 0, 3) in diffs and len(diffs) == 3


def test_deterministic_needs_no_latent_but_lvm_does():
    config_from_dict({"model": {"latent_dim": 0}, "train": {"algorithm": "deterministic"}})
    with pytest.raises(ConfigError, match="model.latent_dim must be > 0 for train.algorithm=cooperative"):
        config_from_dict({"model": {"latent_dim": 0}})


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_load(path):
    cfg = load_config(path)
    # Stage 1 of the cooperative default is a deterministic warm start (docs/training.md).
    stages = {"coop-cpu-stage1.yaml": "deterministic", "coop-cpu-stage2.yaml": "energy"}
    name = path.name.replace("coop", "cooperative").replace("weak", "cooperative-weak")
    assert cfg.train.algorithm == stages.get(path.name, cfg.train.algorithm) and cfg.train.algorithm in (
        stages.get(path.name) or name
    )


def test_cpu_configs_share_one_budget():
    # The four paper-1 runs (full supervision, its two ablations, scribbles); SalGAN's two CPU configs are
    # checked in test_salgan.py.
    cpu = [
        load_config(p) for p in CONFIGS if p.name.endswith("-cpu.yaml") and not p.name.startswith(("salgan", "energy"))
    ]
    assert len(cpu) == 4
    assert {c.train.max_minutes for c in cpu} == {115.0}
    assert len({(c.data.image_size, c.model.backbone, c.train.seed) for c in cpu}) == 1
