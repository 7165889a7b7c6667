"""Bad input to the commands: one clear line, a non-zero exit, no traceback, inputs and outputs untouched.

Each test covers a class of problem of the hardening issue, parametrised over the commands and the ways to
hit it: outputs that would replace inputs (1), inputs whose outputs would share a name (2), non-finite or
absurd float options (3), images of every Pillow mode (4), file-system errors on outputs (5), bad counts,
seeds, devices, figure paths, degenerate images and checkpoints (6), and constant fixation maps (7).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gensal.predict as predict_module
from gensal import io
from gensal.checkpoint import build_models, save_checkpoint, write_latest
from gensal.checks import MAX_SEED, MAX_STEP_SIZE
from gensal.cli import main
from gensal.config import config_from_dict
from gensal.errors import ConfigError, DataError
from gensal.inference import check_step_size, list_inputs, to_uint8
from gensal.metrics.fixation import auc_borji, auc_judd, auc_shuffled, cc, density_from_log, nss

TINY = {
    "model": {"pretrained": False, "latent_dim": 4, "decoder_channels": 16, "ebm_channels": [4, 8, 8, 8]},
    "data": {"image_size": 64},
    "train": {"batch_size": 2, "energy_langevin_steps": 1, "energy_step_size": 0.4, "seed": 11},
}


def tiny_config(**train):
    settings = {key: dict(value) for key, value in TINY.items()}
    settings["train"].update(train)
    return config_from_dict(settings)


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return build_models(tiny_config())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, models) -> Path:
    """A tiny cooperative checkpoint with random weights (generator and energy model)."""
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "coop", tiny_config(), models)


def _image(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _mask(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = 255
    return mask


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch) -> Path:
    """images/{a,b}.jpg, maps/{a,b}.png (saliency maps), masks/{a,b}.png (ground truth); cwd = the folder."""
    for folder in ("images", "maps", "masks"):
        (tmp_path / folder).mkdir()
    for seed, stem in enumerate("ab"):
        Image.fromarray(_image(20, 24, seed)).save(tmp_path / "images" / f"{stem}.jpg")
        Image.fromarray(_image(20, 24, seed + 10)[:, :, 0]).save(tmp_path / "maps" / f"{stem}.png")
        Image.fromarray(_mask(20, 24)).save(tmp_path / "masks" / f"{stem}.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


COMMANDS = ("predict", "refine", "scribbles", "evaluate")


def command(name: str, workspace: Path, output, checkpoint: Path) -> list[str]:
    """A quick, valid command line of ``gensal name`` writing to ``output``."""
    if name == "predict":
        return ["predict", "--model", str(checkpoint), "--input", str(workspace / "images"), "--output", str(output),
                "--samples", "2", "--refine-steps", "1", "--no-progress"]  # fmt: skip
    if name == "refine":
        return ["refine", "--model", str(checkpoint), "--images", str(workspace / "images"), "--maps",
                str(workspace / "maps"), "--output", str(output), "--steps", "1", "--no-progress"]  # fmt: skip
    if name == "scribbles":
        return ["scribbles", "--masks", str(workspace / "masks"), "--output", str(output), "--workers", "1",
                "--no-progress"]  # fmt: skip
    return ["evaluate", "--gt", str(workspace / "masks"), "--pred", f"p={workspace / 'maps'}", "--output",
            str(output), "--workers", "1", "--no-progress"]  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes; links as the text of their target."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            files[str(path.relative_to(folder))] = os.readlink(path).encode()
        elif path.is_file():
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def run(args, capsys) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str, status: int = 2) -> str:
    """The command failed with ``status`` and said so on one line (no traceback) holding every needle."""
    assert code == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def writable_by_us(path: Path) -> bool:
    return os.access(path, os.W_OK)


# 1. An output folder that is an input folder ---------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["same", "symlink", "relative"])
@pytest.mark.parametrize(
    ("name", "label"), [("predict", "images"), ("refine", "maps"), ("refine", "images"), ("scribbles", "masks")]
)
def test_output_folder_that_is_an_input_folder_is_refused(workspace, checkpoint, capsys, name, label, spelling):
    if spelling == "symlink":
        (workspace / "link").symlink_to(workspace / label, target_is_directory=True)
        output = workspace / "link"
    else:
        output = workspace / label if spelling == "same" else Path(f"./{label}/../{label}")
    before = snapshot(workspace)
    code, _, err = run(command(name, workspace, output, checkpoint), capsys)
    assert_one_line_error(code, err, "must not be the", "folder")
    assert snapshot(workspace) == before


def test_predict_refuses_a_single_input_file_in_the_output_folder(workspace, checkpoint, capsys):
    before = snapshot(workspace)
    args = command("predict", workspace, workspace / "images", checkpoint)
    args[args.index("--input") + 1] = str(workspace / "images" / "a.jpg")
    code, _, err = run(args, capsys)
    assert_one_line_error(code, err, "must not be the input folder")
    assert snapshot(workspace) == before


@pytest.mark.parametrize("where", ["uncertainty folder", "figure"])
def test_predict_refuses_any_output_file_that_is_an_input(workspace, checkpoint, capsys, where):
    """Not only the main folder: an uncertainty map or the figure must not land on an input either."""
    args = command("predict", workspace, workspace / "out", checkpoint)
    if where == "uncertainty folder":
        entropy = workspace / "out" / "entropy"
        entropy.mkdir(parents=True)
        Image.fromarray(_image(20, 24, 0)).save(entropy / "a.png")
        args[args.index("--input") + 1] = str(entropy)
        args.append("--uncertainty")
    else:
        args += ["--figure", str(workspace / "images" / "a.jpg")]
    before = snapshot(workspace)
    code, _, err = run(args, capsys)
    assert_one_line_error(code, err, "would replace the input")
    assert snapshot(workspace) == before


# 2. Two inputs whose outputs would have one name -----------------------------------------------------------
@pytest.mark.parametrize("other", ["a.png", "a.JPEG", "a.tif"])
def test_predict_refuses_two_images_with_one_stem(workspace, checkpoint, capsys, other):
    Image.fromarray(_image(20, 24, 5)).save(workspace / "images" / other)
    before = snapshot(workspace)
    code, _, err = run(command("predict", workspace, workspace / "out", checkpoint), capsys)
    assert_one_line_error(code, err, "a.jpg", other, "share the name 'a'")
    assert snapshot(workspace) == before and not (workspace / "out").exists()
    with pytest.raises(DataError, match="share the name"):
        list_inputs(workspace / "images")


def test_refine_and_scribbles_also_refuse_two_files_with_one_stem(workspace, checkpoint, capsys):
    Image.fromarray(_image(20, 24, 5)[:, :, 0]).save(workspace / "maps" / "a.jpg")
    Image.fromarray(_mask(20, 24)).save(workspace / "masks" / "b.bmp")
    before = snapshot(workspace)
    for name, files in (("refine", ("a.jpg", "a.png")), ("scribbles", ("b.bmp", "b.png"))):
        code, _, err = run(command(name, workspace, workspace / "out", checkpoint), capsys)
        assert_one_line_error(code, err, *files)
    assert snapshot(workspace) == before and not (workspace / "out").exists()


# 3. Non-finite and absurd float options --------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "-0.5", "1e30", "10.001"])
@pytest.mark.parametrize("name", ["predict", "refine"])
def test_bad_step_sizes_are_refused(workspace, checkpoint, capsys, name, value):
    before = snapshot(workspace)
    code, _, err = run(command(name, workspace, workspace / "out", checkpoint) + [f"--step-size={value}"], capsys)
    assert_one_line_error(code, err, "--step-size", f"(0, {MAX_STEP_SIZE:g}]")
    assert snapshot(workspace) == before and not (workspace / "out").exists()


@pytest.mark.parametrize("value", ["inf", "nan", "-0.1", "0.3"])
def test_bad_blur_is_refused(workspace, checkpoint, capsys, value):
    code, _, err = run(command("predict", workspace, workspace / "out", checkpoint) + ["--blur", value], capsys)
    assert_one_line_error(code, err, "--blur")
    assert not (workspace / "out").exists()


def test_step_size_limit_is_inclusive_and_typed():
    assert check_step_size(MAX_STEP_SIZE) == MAX_STEP_SIZE and check_step_size(1) == 1.0
    for bad in (True, "0.4", None, float("nan"), MAX_STEP_SIZE * (1 + 1e-9)):
        with pytest.raises(ConfigError, match="--step-size"):
            check_step_size(bad)


@pytest.mark.parametrize(
    ("stored", "needle"),
    [
        ({"step_size": 1e30}, "training.prediction.step_size"),
        ({"step_size": "big"}, "training.prediction.step_size"),
        ({"samples": "ten"}, "training.prediction.samples"),
        ({"samples": 10**6}, "training.prediction.samples"),
        ({"refine_steps": -2}, "training.prediction.refine_steps"),
        ({"blur": 3.0}, "training.prediction.blur"),
    ],
)
def test_bad_defaults_stored_with_a_model_are_refused(workspace, models, capsys, stored, needle):
    model = save_checkpoint(workspace / "model", tiny_config(), models, training={"prediction": stored})
    args = command("predict", workspace, workspace / "out", model)
    for option in ("--samples", "--refine-steps"):  # use the stored defaults
        del args[args.index(option) : args.index(option) + 2]
    code, _, err = run(args, capsys)
    assert_one_line_error(code, err, needle)
    assert not (workspace / "out").exists()


def test_refine_refuses_an_absurd_training_step_size_in_the_checkpoint(workspace, models, capsys):
    model = save_checkpoint(workspace / "model", tiny_config(energy_step_size=1e30), models)
    code, _, err = run(command("refine", workspace, workspace / "out", model), capsys)
    assert_one_line_error(code, err, "train.energy_step_size", "1e+30")
    assert not (workspace / "out").exists()


# 4. Images of every Pillow mode ----------------------------------------------------------------------------
GRADIENT = np.tile(np.linspace(0.0, 1.0, 24), (8, 1))  # (8, 24) from black to white


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [("I;16", ".png"), ("I", ".tif"), ("F", ".tif"), ("L", ".png"), ("LA", ".png"), ("1", ".png")],
)
def test_read_rgb_scales_every_grayscale_depth_to_8_bits(tmp_path, mode, suffix):
    path = tmp_path / f"gray{suffix}"
    if mode == "I;16":
        Image.fromarray(np.round(GRADIENT * 65535).astype(np.uint16)).save(path)
    elif mode == "I":
        Image.fromarray(np.round(GRADIENT * 1000).astype(np.int32)).save(path)
    elif mode == "F":
        Image.fromarray(GRADIENT.astype(np.float32)).save(path)
    else:
        Image.fromarray(np.round(GRADIENT * 255).astype(np.uint8)).convert(mode, dither=Image.Dither.NONE).save(path)
    assert Image.open(path).mode == mode
    rgb = io.read_rgb(path)
    assert rgb.shape == (8, 24, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[:, :, 0], rgb[:, :, 2]) and np.array_equal(rgb[:, :, 0], io.read_gray(path))
    expected = 255 * GRADIENT if mode != "1" else 255 * (GRADIENT >= 0.5)
    assert np.abs(rgb[:, :, 0].astype(float) - expected).max() <= 1.0


@pytest.mark.parametrize("mode", ["RGBA", "P", "CMYK", "RGB"])
def test_read_rgb_converts_colour_modes(tmp_path, mode):
    rgb = _image(8, 12, 3)
    source = Image.fromarray(rgb).convert(mode)
    path = tmp_path / ("colour.tif" if mode == "CMYK" else "colour.png")
    source.save(path)
    assert Image.open(path).mode == mode
    read = io.read_rgb(path)
    assert read.shape == (8, 12, 3) and read.dtype == np.uint8
    assert np.array_equal(read, np.asarray(source.convert("RGBA").convert("RGB")))  # alpha dropped


def test_a_16_bit_image_is_not_read_as_white(tmp_path):
    Image.fromarray(np.full((6, 6), 16384, dtype=np.uint16)).save(tmp_path / "quarter.png")
    assert np.all(io.read_rgb(tmp_path / "quarter.png") == 64)  # 16384 / 65535 * 255, not clipped to 255


# 5. File-system errors on outputs --------------------------------------------------------------------------
@pytest.mark.parametrize("name", COMMANDS)
def test_an_output_that_is_an_existing_file_is_refused(workspace, checkpoint, capsys, name):
    (workspace / "taken").write_text("keep me")
    for output, needle in ((workspace / "taken", "is not a folder"), (workspace / "taken" / "sub", "is not a folder")):
        code, _, err = run(command(name, workspace, output, checkpoint), capsys)
        assert_one_line_error(code, err, str(output), needle)
    assert (workspace / "taken").read_text() == "keep me"


@pytest.mark.parametrize("name", COMMANDS)
def test_an_output_file_that_is_a_folder_is_one_line_naming_it(workspace, checkpoint, capsys, name):
    blocked = workspace / "out" / ("metrics.json" if name == "evaluate" else "a.png")
    blocked.mkdir(parents=True)
    code, _, err = run(command(name, workspace, workspace / "out", checkpoint), capsys)
    line = assert_one_line_error(code, err, status=1)
    assert line == f"gensal {name}: {blocked}: Is a directory"
    assert not [p for p in (workspace / "out").rglob(".*") if p.name.endswith(".tmp.png")]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_read_only_output_folder_is_one_line_naming_it(workspace, checkpoint, capsys, name):
    locked = workspace / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if writable_by_us(locked):
            pytest.skip("running as a user who may write into read-only folders (root)")
        for output in (locked, locked / "sub"):
            code, _, err = run(command(name, workspace, output, checkpoint), capsys)
            assert code != 0
            assert_one_line_error(code, err, str(locked), "permission denied", status=code)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_atomic_writes_name_the_output_not_their_temporary_file(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if writable_by_us(locked):
            pytest.skip("running as a user who may write into read-only folders (root)")
        with pytest.raises(PermissionError) as caught:
            io.write_text(locked / "a.txt", "x")
        assert caught.value.filename == str(locked / "a.txt")
    finally:
        locked.chmod(0o755)
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        io.write_text(tmp_path / "dir.txt", "x")
    assert caught.value.filename == str(tmp_path / "dir.txt")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        io.write_text(tmp_path / "file" / "a.txt", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.txt", "file", "locked"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/x/out/a.png"), "/x/out/a.png: No space left on device"),
        (PermissionError(errno.EACCES, "Permission denied", "/x/out"), "/x/out: Permission denied"),
        (OSError("the disk\nis on fire"), "the disk is on fire"),
    ],
)
def test_os_errors_reach_the_user_as_one_line(workspace, checkpoint, capsys, monkeypatch, error, expected):
    def fail(args):
        raise error

    monkeypatch.setattr(predict_module, "run_predict", fail)
    code, _, err = run(command("predict", workspace, workspace / "out", checkpoint), capsys)
    assert assert_one_line_error(code, err, status=1) == f"gensal predict: {expected}"


# 6. Bad counts, seeds, devices and figure paths; degenerate images and checkpoints -------------------------
BAD_OPTIONS = [
    ("predict", ["--threads", "0"], "--threads"),
    ("predict", ["--threads", "-2"], "--threads"),
    ("predict", ["--seed", "-1"], "--seed"),
    ("predict", ["--seed", str(2**70)], "--seed"),
    ("predict", ["--samples", "10000"], "--samples"),
    ("predict", ["--samples", "0"], "--samples"),
    ("predict", ["--refine-steps", "-1"], "--refine-steps"),
    ("predict", ["--figure-count", "0"], "--figure-count"),
    ("predict", ["--figure", "FOLDER"], "is a folder"),
    ("predict", ["--figure", "figure.xyz"], "unknown figure format 'xyz'"),
    ("refine", ["--threads", "0"], "--threads"),
    ("refine", ["--device", "banana"], "--device 'banana'"),
    ("refine", ["--device", "meta"], "--device 'meta'"),
    ("scribbles", ["--workers", "0"], "--workers"),
    ("scribbles", ["--seed", "-1"], "--seed"),
    ("scribbles", ["--seed", str(MAX_SEED + 1)], "--seed"),
    ("evaluate", ["--workers", "-2"], "--workers"),
    ("evaluate", ["--seed", "-1"], "--seed"),
    ("evaluate", ["--curves", "FOLDER"], "is a folder"),
    ("evaluate", ["--curves", "curves.xyz"], "unknown figure format"),
]


@pytest.mark.parametrize(
    ("name", "extra", "needle"), BAD_OPTIONS, ids=[f"{c[0]} {' '.join(c[1])}" for c in BAD_OPTIONS]
)
def test_bad_options_are_one_line_errors_before_any_work(workspace, checkpoint, capsys, name, extra, needle):
    extra = [str(workspace / "images") if arg == "FOLDER" else arg for arg in extra]
    before = snapshot(workspace)
    code, _, err = run(command(name, workspace, workspace / "out", checkpoint) + extra, capsys)
    assert_one_line_error(code, err, needle)
    assert snapshot(workspace) == before and not (workspace / "out").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_refine_on_cuda_without_cuda_is_one_line(workspace, checkpoint, capsys):
    code, _, err = run(command("refine", workspace, workspace / "out", checkpoint) + ["--device", "cuda"], capsys)
    assert_one_line_error(code, err, "--device 'cuda'", "CUDA is not available")


@pytest.mark.parametrize("size", [(1, 1), (1, 5), (4, 1)])
def test_tiny_images_give_maps_of_their_size(workspace, checkpoint, capsys, size):
    for folder in ("images", "maps"):
        for path in (workspace / folder).iterdir():
            path.unlink()
    Image.fromarray(_image(*size, 0)).save(workspace / "images" / "a.png")
    Image.fromarray(_image(*size, 1)[:, :, 0]).save(workspace / "maps" / "a.png")
    for name in ("predict", "refine"):
        code, _, err = run(command(name, workspace, workspace / name, checkpoint), capsys)
        assert code == 0, err
        assert np.asarray(Image.open(workspace / name / "a.png")).shape == size


def test_to_uint8_keeps_both_map_dimensions():
    assert to_uint8(torch.ones(1, 1, 1, 1)).shape == (1, 1)
    assert to_uint8(np.zeros((1, 5))).shape == (1, 5)
    assert to_uint8(np.zeros((3, 1))).shape == (3, 1)
    for shape in ((2, 1, 3, 3), (5,)):
        with pytest.raises(ValueError, match="one 2-D map"):
            to_uint8(np.zeros(shape))


@pytest.mark.parametrize(
    "training",
    [{"step": "twelve"}, {"step": -1}, {"step": 1.5}, {"step": True}, {}, {"step": 3, "elapsed_seconds": "long"}],
)
def test_resume_refuses_a_checkpoint_with_a_bad_training_position(tmp_path, models, capsys, training):
    run_dir = tmp_path / "run"
    saved = save_checkpoint(run_dir / "step-00000012", tiny_config(), models, training=training)
    write_latest(run_dir, saved)
    code, _, err = run(["train", "--resume", "--output", run_dir], capsys)
    key = "elapsed_seconds" if "elapsed_seconds" in training else "step"
    assert_one_line_error(code, err, str(saved / "checkpoint.json"), f"training.{key}")


# 7. Constant maps score chance in every fixation metric ----------------------------------------------------
def _fixated(shape: tuple[int, int]) -> np.ndarray:
    fixated = np.zeros(shape, dtype=bool)
    fixated[[3, 10, 14, 12], [5, 7, 20, 2]] = True
    return fixated


@pytest.mark.parametrize(
    ("image_shape", "map_shape"),
    [((30, 40), (30, 40)), ((25, 35), (25, 35)), ((17, 23), (17, 23)), ((30, 40), (31, 41)), ((25, 35), (64, 48))],
)
@pytest.mark.parametrize("value", [0.3, 1 / 1200, 7.0, 1e6, -2.5, 0.0, "uniform log-density"])
def test_constant_maps_score_chance_whatever_their_value_and_size(image_shape, map_shape, value):
    if value == "uniform log-density":
        saliency = density_from_log(np.full(map_shape, -np.log(map_shape[0] * map_shape[1])))
    else:
        saliency = np.full(map_shape, value)
    fixated, other = _fixated(image_shape), np.zeros(image_shape, dtype=bool)
    other[[2, 16], [3, 22]] = True
    assert nss(saliency, fixated) == 0.0
    assert cc(saliency, fixated + 0.5 * np.roll(fixated, 1)) == 0.0
    assert auc_borji(saliency, fixated, rng=0) == 0.5
    assert auc_shuffled(saliency, fixated, other, rng=0) == 0.5
    assert auc_judd(saliency, fixated, jitter=False) == 0.5


def test_a_nearly_constant_map_is_still_scored():
    """The tolerance covers round-off only: a map with a real (if small) bump still scores above chance."""
    fixated = _fixated((30, 40))
    saliency = np.full((30, 40), 0.3)
    saliency[fixated] += 1e-6
    assert nss(saliency, fixated) > 5 and auc_judd(saliency, fixated, jitter=False) > 0.99


def test_uniform_log_density_files_score_nss_zero_in_evaluate(workspace, capsys):
    """The issue's case: a uniform log-density scored NSS -1 on a 25 x 35 image where a constant PNG scored 0."""
    gt, uniform, constant = workspace / "fixations", workspace / "uniform", workspace / "constant"
    for folder in (gt, uniform, constant):
        folder.mkdir()
    for stem, shape in (("a", (25, 35)), ("b", (17, 23))):  # b's prediction has another size than its image
        Image.fromarray((_fixated((25, 35)) * 255).astype(np.uint8)).save(gt / f"{stem}.png")
        np.save(uniform / f"{stem}.npy", np.full(shape, -np.log(shape[0] * shape[1])))
        Image.fromarray(np.full(shape, 77, dtype=np.uint8)).save(constant / f"{stem}.png")
    args = ["evaluate", "--task", "fixation", "--gt", gt, "--pred", f"uniform={uniform}", "--pred",
            f"constant={constant}", "--output", workspace / "scores", "--workers", "1", "--no-progress"]  # fmt: skip
    code, _, err = run(args, capsys)
    assert code == 0, err
    methods = json.loads((workspace / "scores" / "metrics.json").read_text())["methods"]
    for name in ("uniform", "constant"):
        for stem in ("a", "b"):
            scores = methods[name]["per_image"][stem]
            assert (scores["nss"], scores["cc"], scores["auc_borji"], scores["auc_shuffled"]) == (0.0, 0.0, 0.5, 0.5)
