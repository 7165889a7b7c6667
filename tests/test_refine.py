"""Refining other models' maps with the energy model: sizes, the full-resolution delta, energy, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gensal.checkpoint import build_models, load_model, save_checkpoint
from gensal.cli import main
from gensal.config import config_from_dict
from gensal.errors import DataError, InputError
from gensal.inference import image_to_tensor, map_to_tensor, resize_tensor
from gensal.refine import refine_folder, refine_map
from gensal.refinement import PROBABILITY_EPS, from_state, revise_with_energy, to_state

IMAGE_SIZE = 64
TINY = {"pretrained": False, "latent_dim": 4, "decoder_channels": 16, "ebm_channels": [4, 8, 8, 8]}


def _config(algorithm: str):
    train = {"algorithm": algorithm, "energy_langevin_steps": 3}
    return config_from_dict({"model": TINY, "data": {"image_size": IMAGE_SIZE}, "train": train})


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Freshly built tiny networks (random weights) saved as checkpoints, with and without an energy model."""
    root = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    models = build_models(_config("cooperative"))
    return {
        "cooperative": save_checkpoint(root / "cooperative", _config("cooperative"), models),
        "lvm-abp": save_checkpoint(root / "lvm-abp", _config("lvm-abp"), {"generator": models["generator"]}),
    }


@pytest.fixture(scope="module")
def loaded(checkpoints):
    return load_model(checkpoints["cooperative"])


@pytest.fixture(scope="module")
def ebm(loaded):
    return loaded.ebm


def _smooth_map(height: int, width: int, seed: int) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    cy, cx = np.random.default_rng(seed).uniform(0.3, 0.7, 2) * (height, width)
    return np.clip(255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (0.1 * height * width)), 0, 255).astype(np.uint8)


@pytest.fixture()
def folders(tmp_path: Path) -> Path:
    """Three images (one grayscale JPEG) and their maps (PNG of another size than the image, JPEG, .npy)."""
    rng = np.random.default_rng(0)
    images, maps = tmp_path / "images", tmp_path / "maps"
    images.mkdir()
    maps.mkdir()
    Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(images / "a.png")
    Image.fromarray(rng.integers(0, 256, (80, 70), dtype=np.uint8)).save(images / "b.jpg")
    Image.fromarray(rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)).save(images / "c.jpg")
    Image.fromarray(_smooth_map(45, 60, 1)).save(maps / "a.png")  # half the image's size
    Image.fromarray(_smooth_map(80, 70, 2)).save(maps / "b.jpg", quality=95)
    np.save(maps / "c.npy", _smooth_map(50, 60, 3) / 255.0)
    return tmp_path


def test_from_state_inverts_to_state():
    maps = torch.tensor([[[[0.0, 0.25, 0.5, 1.0]]]])
    clipped = maps.clamp(PROBABILITY_EPS, 1.0 - PROBABILITY_EPS)
    torch.testing.assert_close(from_state(to_state(maps, "logit"), "logit"), clipped)
    assert torch.equal(from_state(to_state(maps, "probability"), "probability"), maps)
    assert torch.equal(from_state(torch.tensor([1.5]), "probability"), torch.tensor([1.5]))  # not clipped
    with pytest.raises(InputError, match="space must be"):
        from_state(maps, "bits")


def test_outputs_have_the_maps_names_and_sizes(checkpoints, folders):
    summary = refine_folder(
        checkpoints["cooperative"], folders / "images", folders / "maps", folders / "out", progress=False
    )
    assert summary.files == 3 and summary.steps == 3 and summary.image_size == (IMAGE_SIZE, IMAGE_SIZE)
    assert summary.space == "logit" and summary.step_size == pytest.approx(0.4)
    assert sorted(p.name for p in (folders / "out").iterdir()) == ["a.png", "b.png", "c.png"]
    sizes = {"a": (60, 45), "b": (70, 80), "c": (60, 50)}
    for stem, size in sizes.items():
        with Image.open(folders / "out" / f"{stem}.png") as image:
            assert image.mode == "L" and image.size == size


@pytest.mark.parametrize("space", ["logit", "probability"])
def test_zero_steps_return_the_input_map(checkpoints, folders, space):
    refine_folder(checkpoints["cooperative"], folders / "images", folders / "maps", folders / "out",
                  steps=0, space=space, progress=False)  # fmt: skip
    for name in ("a.png", "b.jpg"):
        before = np.asarray(Image.open(folders / "maps" / name).convert("L"), dtype=int)
        after = np.asarray(Image.open(folders / "out" / (Path(name).stem + ".png")), dtype=int)
        assert np.abs(after - before).max() <= 1


@pytest.mark.parametrize("space", ["logit", "probability"])
def test_the_change_is_computed_at_model_size_and_added_at_full_size(ebm, space):
    """The output is the full-resolution map plus the upsampled change of the chain, so fine detail stays."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    saliency = rng.uniform(0.3, 0.7, (96, 128))  # pixel noise: detail the 64x64 chain cannot represent
    refined, _, _ = refine_map(ebm, rgb, saliency, IMAGE_SIZE, steps=3, step_size=8.0, space=space)

    image = image_to_tensor(rgb, IMAGE_SIZE)
    start = to_state(map_to_tensor(saliency, IMAGE_SIZE), space)
    revised = revise_with_energy(ebm, image, start, 3, 8.0, space)
    chain_state = torch.logit(revised.double()) if space == "logit" else revised.double()
    delta = resize_tensor(chain_state - start.double(), (96, 128))[0, 0].numpy()
    full = to_state(torch.from_numpy(saliency)[None, None], space)[0, 0].numpy()
    expected = 1 / (1 + np.exp(-(full + delta))) if space == "logit" else np.clip(full + delta, 0, 1)
    assert np.abs(delta).max() > 1e-3, "the chain must move for this test to mean anything"
    np.testing.assert_allclose(refined, expected, atol=2e-5)
    assert refined.shape == (96, 128)
    assert np.corrcoef(refined.ravel(), saliency.ravel())[0, 1] > 0.9  # the pixel detail survives


def test_refinement_lowers_the_energy_at_model_resolution(ebm):
    rng = np.random.default_rng(4)
    before, after = [], []
    for seed in range(4):
        rgb = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
        _, energy_before, energy_after = refine_map(
            ebm, rgb, _smooth_map(70, 90, seed), IMAGE_SIZE, steps=5, step_size=10.0
        )
        before.append(energy_before)
        after.append(energy_after)
    # Random weights give small gradients, hence the large step; a trained model uses the config's d.
    assert np.mean(after) < np.mean(before) - 1e-3


def test_bad_chain_settings_are_refused(loaded, folders):
    for kwargs, message in [({"steps": -1}, "steps"), ({"step_size": 0.0}, "step size"), ({"space": "x"}, "space")]:
        with pytest.raises(InputError, match=message):
            refine_folder(loaded, folders / "images", folders / "maps", folders / "out",
                          progress=False, **kwargs)  # fmt: skip


def test_cli_end_to_end(checkpoints, folders, capsys):
    args = ["refine", "--model", str(checkpoints["cooperative"]), "--images", str(folders / "images"),
            "--maps", str(folders / "maps"), "--output", str(folders / "cli"), "--steps", "2",
            "--step-size", "0.5", "--threads", "1", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "refined 3 map(s)" in printed and "2 steps of size 0.5 in logit space at 64x64" in printed
    assert sorted(p.name for p in (folders / "cli").iterdir()) == ["a.png", "b.png", "c.png"]


def test_cli_refuses_a_checkpoint_without_energy_model(checkpoints, folders, capsys):
    args = ["refine", "--model", str(checkpoints["lvm-abp"]), "--images", str(folders / "images"),
            "--maps", str(folders / "maps"), "--output", str(folders / "o"), "--no-progress"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "has no energy model (trained with train.algorithm=lvm-abp)" in err
    assert str(checkpoints["lvm-abp"]) in err
    assert not (folders / "o").exists()


def test_cli_unmatched_files_fail_clearly_unless_intersection(checkpoints, folders, capsys):
    (folders / "maps" / "c.npy").unlink()
    Image.fromarray(_smooth_map(20, 20, 0)).save(folders / "maps" / "z.png")
    args = ["refine", "--model", str(checkpoints["cooperative"]), "--images", str(folders / "images"),
            "--maps", str(folders / "maps"), "--output", str(folders / "o"), "--no-progress"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "1 of" in err and "(c)" in err and "(z)" in err and "--intersection" in err
    assert main(args + ["--intersection"]) == 0
    assert "2 unmatched file(s) skipped" in capsys.readouterr().err
    assert sorted(p.name for p in (folders / "o").iterdir()) == ["a.png", "b.png"]


def test_bad_paths(checkpoints, folders):
    with pytest.raises(DataError, match="not a checkpoint folder"):
        refine_folder(folders / "images", folders / "images", folders / "maps", folders / "o", progress=False)
    with pytest.raises(DataError, match="must not be the maps folder"):
        refine_folder(checkpoints["cooperative"], folders / "images", folders / "maps", folders / "maps",
                      progress=False)  # fmt: skip
    with pytest.raises(DataError, match="both be folders or both be files"):
        refine_folder(checkpoints["cooperative"], folders / "images" / "a.png", folders / "maps", folders / "o",
                      progress=False)  # fmt: skip
    summary = refine_folder(checkpoints["cooperative"], folders / "images" / "a.png", folders / "maps" / "a.png",
                            folders / "one", progress=False)  # fmt: skip
    assert summary.files == 1 and (folders / "one" / "a.png").is_file()
