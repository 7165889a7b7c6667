"""gensal predict: entropy and its split, cooperative prediction, outputs, CLI errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

import gensal.predict as predict_module
from gensal.checkpoint import build_models, get_rng_state, load_model, save_checkpoint
from gensal.cli import main
from gensal.config import config_from_dict
from gensal.errors import ConfigError, InputError
from gensal.metrics.fixation import density_from_log, log_density_from_map
from gensal.predict import Predictor, binary_entropy, uncertainty_maps
from gensal.training.loop import make_optimizers

TINY = {
    "model": {"pretrained": False, "latent_dim": 4, "decoder_channels": 16, "ebm_channels": [4, 8, 8, 8]},
    "data": {"image_size": 64},
    "train": {"batch_size": 2, "energy_langevin_steps": 3, "energy_step_size": 0.4, "seed": 11},
}


def make_checkpoint(path, algorithm="cooperative"):
    torch.manual_seed(0)
    settings = {key: dict(value) for key, value in TINY.items()}
    settings["train"]["algorithm"] = algorithm
    if algorithm == "deterministic":
        settings["model"]["latent_dim"] = 0
    if algorithm == "salgan":
        settings = {"model": {"pretrained": False}, "data": {"image_size": [64, 96]}, "train": {"algorithm": "salgan"}}
    config = config_from_dict(settings)
    models = build_models(config)
    optimizers = make_optimizers(config, models)
    return save_checkpoint(path, config, models, optimizers, {"step": 0}, get_rng_state(torch.Generator()))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "coop")


def write_images(folder, sizes):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index, (height, width) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(folder / f"im{index}.jpg")
    return folder


def test_binary_entropy_matches_hand_values():
    p = torch.tensor([0.0, 0.5, 1.0, 0.25])
    expected = [0.0, 1.0, 0.0, -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))]
    assert torch.allclose(binary_entropy(p), torch.tensor(expected), atol=1e-7)


def test_uncertainty_split_in_the_two_extreme_cases():
    agreeing = torch.full((5, 1, 2, 2), 0.5)
    maps = uncertainty_maps(agreeing)
    assert torch.allclose(maps["entropy"], torch.ones(1, 2, 2)) and torch.allclose(maps["aleatoric"], maps["entropy"])
    assert torch.all(maps["epistemic"] == 0)
    disagreeing = torch.tensor([0.0, 1.0, 0.0, 1.0]).view(4, 1, 1, 1)  # each sample sure, the samples split
    maps = uncertainty_maps(disagreeing)
    assert maps["aleatoric"].item() == 0 and maps["entropy"].item() == pytest.approx(1.0)
    assert maps["epistemic"].item() == pytest.approx(1.0)


def test_uncertainty_parts_add_up_and_are_bounded():
    samples = torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    maps = uncertainty_maps(samples)
    assert torch.allclose(maps["aleatoric"] + maps["epistemic"], maps["entropy"], atol=1e-6)
    for values in maps.values():
        assert values.min() >= 0 and values.max() <= 1


def test_encoder_runs_once_per_batch_and_samples_share_it(checkpoint, monkeypatch):
    predictor = Predictor(checkpoint, samples=7, refine_steps=0)
    calls = {"encode": 0, "decode_rows": 0}
    encode, decode = predictor.model.generator.encode, predictor.model.generator.decode

    def counting_encode(images):
        calls["encode"] += 1
        return encode(images)

    def counting_decode(features, h, size=None):
        calls["decode_rows"] += h.shape[0]
        return decode(features, h, size)

    monkeypatch.setattr(predictor.model.generator, "encode", counting_encode)
    monkeypatch.setattr(predictor.model.generator, "decode", counting_decode)
    result = predictor.predict(torch.rand(2, 3, 64, 64), ["a", "b"], uncertainty=True)
    assert calls == {"encode": 1, "decode_rows": 14}
    assert result.saliency.shape == (2, 1, 64, 64) and set(result.uncertainty) == {"entropy", "aleatoric", "epistemic"}
    assert torch.equal(result.saliency, result.proposal)  # refine_steps=0


def test_an_image_gets_the_same_map_alone_or_in_a_batch(checkpoint):
    predictor = Predictor(checkpoint, samples=4)
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    together = predictor.predict(images, ["a", "b"]).saliency
    alone = predictor.predict(images[1:], ["b"]).saliency
    assert torch.allclose(together[1:], alone, atol=1e-5)
    other_seed = Predictor(predictor.model, samples=4, seed=1).predict(images[1:], ["b"]).proposal
    assert not torch.allclose(other_seed, predictor.predict(images[1:], ["b"]).proposal)


def test_refinement_lowers_the_energy(checkpoint):
    predictor = Predictor(checkpoint, samples=3, refine_steps=3, step_size=0.1)
    images = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    result = predictor.predict(images, ["a", "b", "c"])
    ebm = predictor.model.ebm
    with torch.no_grad():
        before, after = ebm(result.proposal, images), ebm(result.saliency, images)
    assert after.mean() < before.mean()
    assert not any(p.grad is not None for p in ebm.parameters())


def test_checkpoint_without_energy_cannot_refine(tmp_path):
    path = make_checkpoint(tmp_path / "abp", algorithm="lvm-abp")
    assert Predictor(path).refine_steps == 0
    with pytest.raises(ConfigError, match="no energy model"):
        Predictor(path, refine_steps=2)


def test_deterministic_checkpoint_has_one_sample_and_no_epistemic(tmp_path):
    predictor = Predictor(load_model(make_checkpoint(tmp_path / "det", algorithm="deterministic")), samples=10)
    result = predictor.predict(torch.rand(1, 3, 64, 64), ["a"], uncertainty=True)
    assert predictor.samples == 1 and torch.all(result.uncertainty["epistemic"] == 0)


def test_cli_writes_maps_at_the_original_sizes(tmp_path, checkpoint, capsys):
    inputs = write_images(tmp_path / "in", [(50, 70), (64, 64)])
    out = tmp_path / "out"
    code = main(
        ["predict", "--model", str(checkpoint), "--input", str(inputs), "--output", str(out)]
        + ["--samples", "3", "--uncertainty", "--figure", str(tmp_path / "fig.png"), "--no-progress"]
    )
    assert code == 0
    assert "2 image(s)" in capsys.readouterr().out
    for folder in (out, out / "entropy", out / "aleatoric", out / "epistemic"):
        assert Image.open(folder / "im0.png").size == (70, 50) and Image.open(folder / "im1.png").size == (64, 64)
    assert (tmp_path / "fig.png").stat().st_size > 0
    assert not list(out.glob(".*tmp*"))


def test_cli_single_file_and_bad_inputs(tmp_path, checkpoint, capsys, monkeypatch):
    inputs = write_images(tmp_path / "in", [(40, 40)])
    assert (
        main(
            [
                "predict",
                "--model",
                str(checkpoint),
                "--input",
                str(inputs / "im0.jpg"),
                "--output",
                str(tmp_path / "o"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert (tmp_path / "o" / "im0.png").exists()
    capsys.readouterr()
    assert (
        main(
            ["predict", "--model", str(checkpoint), "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    assert (
        main(
            ["predict", "--model", str(checkpoint), "--input", str(tmp_path / "empty"), "--output", str(tmp_path / "o")]
        )
        == 2
    )
    assert "no images" in capsys.readouterr().err
    monkeypatch.setitem(predict_module.DEFAULT_MODELS, "sod", tmp_path / "missing-model")
    assert main(["predict", "--input", str(inputs), "--output", str(tmp_path / "o")]) == 2
    assert "--model" in capsys.readouterr().err


def test_log_density_is_the_normalised_map_in_logs():
    saliency = np.array([[0.0, 1.0], [2.0, 1.0]])
    log_density = log_density_from_map(saliency)
    assert np.exp(log_density).sum() == pytest.approx(1.0, abs=1e-12)
    assert np.exp(log_density[1, 0]) == pytest.approx(0.5, rel=1e-9)  # 2 / (0 + 1 + 2 + 1)
    assert np.isfinite(log_density).all() and log_density[0, 0] < np.log(1e-11)  # floored, not -inf
    np.testing.assert_allclose(density_from_log(log_density), np.exp(log_density), atol=1e-15)
    np.testing.assert_allclose(np.exp(log_density_from_map(np.zeros((2, 5)))), 0.1)
    with pytest.raises(InputError, match="negative"):
        log_density_from_map(np.array([[0.5, -0.1]]))
    with pytest.raises(InputError, match="NaN"):
        log_density_from_map(np.array([[0.5, np.nan]]))


def test_salgan_checkpoint_predicts_maps_and_log_densities(tmp_path, capsys):
    path = make_checkpoint(tmp_path / "salgan", algorithm="salgan")
    predictor = Predictor(path)
    assert predictor.fixation and predictor.samples == 1 and predictor.refine_steps == 0
    images = torch.rand(2, 3, 64, 96)
    result = predictor.predict(images, ["a", "b"])
    assert torch.equal(result.saliency, predictor.model.generator.saliency(images))
    inputs = write_images(tmp_path / "in", [(50, 70)])
    out = tmp_path / "out"
    args = ["predict", "--model", str(path), "--input", str(inputs), "--output", str(out), "--no-progress"]
    assert main(args + ["--log-density"]) == 0
    assert "log-densities in" in capsys.readouterr().out
    saliency = np.asarray(Image.open(out / "im0.png"))
    log_density = np.load(out / "log_density" / "im0.npy")
    assert saliency.shape == log_density.shape == (50, 70) and log_density.dtype == np.float64
    assert np.exp(log_density).sum() == pytest.approx(1.0, abs=1e-9)
    assert np.corrcoef(saliency.ravel(), log_density.ravel())[0, 1] > 0.9  # the same map, in logs
    assert main(args + ["--uncertainty"]) == 2
    err = capsys.readouterr().err
    assert "no uncertainty" in err and len(err.strip().splitlines()) == 1


def test_task_picks_the_default_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(predict_module.DEFAULT_MODELS, "fixation", tmp_path / "no-salgan")
    inputs = write_images(tmp_path / "in", [(40, 40)])
    assert main(["predict", "--task", "fixation", "--input", str(inputs), "--output", str(tmp_path / "o")]) == 2
    assert "no default fixation model" in capsys.readouterr().err


def test_fixation_blur_post_processing(tmp_path):
    path = make_checkpoint(tmp_path / "salgan", algorithm="salgan")
    plain = Predictor(path)
    assert plain.blur == 0.0
    point = np.zeros((40, 60), dtype=np.float32)
    point[20, 30] = 1.0
    assert np.array_equal(plain.postprocess(point), point)
    blurred = Predictor(path, blur=0.05).postprocess(point)
    # a Gaussian of sigma 0.05 x 60 = 3 px, rescaled to a maximum of 1 at the point
    assert blurred.max() == pytest.approx(1.0) and blurred[20, 30] == pytest.approx(1.0)
    assert blurred[20, 33] == pytest.approx(np.exp(-0.5), rel=0.02)
    for bad in (-0.1, float("nan"), float("inf"), 1.0):
        with pytest.raises(ConfigError, match="--blur"):
            Predictor(path, blur=bad)
    sod = make_checkpoint(tmp_path / "coop")
    assert Predictor(sod, blur=0.05).blur == 0.0  # salient-object maps are never blurred
