"""End-to-end tests of ``gensal evaluate --task sod`` on tiny folders, including bad input."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gensal.cli import main


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture()
def tiny_sod(tmp_path: Path) -> Path:
    """Four 24x32 masks and two prediction folders (one good, one noisy)."""
    rng = np.random.default_rng(0)
    for i in range(4):
        gt = np.zeros((24, 32), np.uint8)
        gt[4 + i : 16 + i, 6:20] = 255
        _write(tmp_path / "gt" / f"im{i}.png", gt)
        _write(tmp_path / "good" / f"im{i}.png", gt)
        noisy = np.clip(gt * 0.6 + rng.integers(0, 100, gt.shape), 0, 255).astype(np.uint8)
        _write(tmp_path / "noisy" / f"im{i}.png", noisy)
    return tmp_path


def test_evaluate_writes_table_json_csv_and_curves(tiny_sod, capsys):
    out = tiny_sod / "out"
    code = main(
        ["evaluate", "--task", "sod", "--gt", str(tiny_sod / "gt"), "--pred", f"good={tiny_sod / 'good'}",
         "--pred", f"noisy={tiny_sod / 'noisy'}", "--output", str(out), "--curves", str(out / "curves.png"),
         "--no-progress"]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "S-measure" in printed and "good" in printed and "noisy" in printed
    data = json.loads((out / "metrics.json").read_text())
    assert data["methods"]["good"]["summary"]["mae"] == 0
    assert data["methods"]["noisy"]["summary"]["mae"] > 0.05
    assert len(data["methods"]["good"]["curves"]["precision"]) == 256
    assert set(data["methods"]["noisy"]["per_image"]) == {f"im{i}" for i in range(4)}
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["method"] for r in rows] == ["good", "noisy"]
    assert float(rows[0]["s_measure"]) == pytest.approx(1.0)
    assert Image.open(out / "curves.png").size[0] > 400
    assert not list(out.glob(".*tmp*"))  # no temporary files left behind


def test_resized_predictions_warn_once(tiny_sod, capsys):
    big = tiny_sod / "big"
    for path in sorted((tiny_sod / "good").glob("*.png")):
        _write(big / path.name, np.asarray(Image.open(path).resize((64, 48), Image.NEAREST)))
    code = main(["evaluate", "--gt", str(tiny_sod / "gt"), "--pred", f"big={big}", "--output",
                 str(tiny_sod / "o"), "--no-progress"])  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("resized bilinearly") == 1 and "4 prediction(s) of big" in err
    data = json.loads((tiny_sod / "o" / "metrics.json").read_text())
    assert data["methods"]["big"]["resized"] == 4
    assert data["methods"]["big"]["summary"]["mae"] < 0.02


def test_missing_predictions_fail_unless_intersection(tiny_sod, capsys):
    (tiny_sod / "good" / "im3.png").unlink()
    args = ["evaluate", "--gt", str(tiny_sod / "gt"), "--pred", f"good={tiny_sod / 'good'}", "--output",
            str(tiny_sod / "o"), "--no-progress"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "im3" in err and "--intersection" in err
    assert not (tiny_sod / "o" / "metrics.json").exists()
    assert main(args + ["--intersection"]) == 0
    assert "skipped 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "damage, message",
    [
        ("empty", "no files found"),
        ("unreadable", "cannot read image"),
        ("nan", "NaN"),
        ("missing", "folder not found"),
    ],
)
def test_bad_input_gives_one_line_error(tiny_sod, capsys, damage, message):
    pred = tiny_sod / "bad"
    shutil.copytree(tiny_sod / "good", pred)
    if damage == "empty":
        shutil.rmtree(pred)
        pred.mkdir()
    elif damage == "unreadable":
        (pred / "im1.png").write_bytes(b"not a png")
    elif damage == "nan":
        (pred / "im2.png").unlink()
        np.save(pred / "im2.npy", np.full((24, 32), np.nan))
    elif damage == "missing":
        shutil.rmtree(pred)
    code = main(["evaluate", "--gt", str(tiny_sod / "gt"), "--pred", f"bad={pred}", "--output",
                 str(tiny_sod / "o"), "--no-progress", "--workers", "1"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tiny_sod / "o").exists()


def test_console_script_help_lists_subcommands():
    result = subprocess.run([sys.executable, "-m", "gensal.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "evaluate" in result.stdout


def test_fixation_evaluation_on_salicon_examples(shared_data, tmp_path, capsys):
    """Centre bias vs a map made from the fixations themselves, on the 10 real SALICON examples."""
    from gensal.data.fixations import fixation_density, read_fixations
    from gensal.metrics.fixation import center_bias

    source = shared_data / "salicon-examples/train_examples/fixations_train2014examples.json"
    fixations = read_fixations(source)
    assert len(fixations) == 10
    for name, fix in fixations.items():
        bias = center_bias(fix.height, fix.width)
        _write(tmp_path / "center" / f"{name}.png", (bias / bias.max() * 255).astype(np.uint8))
        # The "oracle" is saved at half size, so the resizing path is exercised too.
        oracle = fixation_density(fix, sigma=19.0)
        small = Image.fromarray((oracle * 255).astype(np.uint8)).resize((fix.width // 2, fix.height // 2))
        _write(tmp_path / "oracle" / f"{name}.png", np.asarray(small))
    out = tmp_path / "out"
    code = main(["evaluate", "--task", "fixation", "--gt", str(source), "--pred", f"center={tmp_path / 'center'}",
                 "--pred", f"oracle={tmp_path / 'oracle'}", "--output", str(out), "--no-progress"])  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "AUC-J" in captured.out and "10 prediction(s) of oracle" in captured.err
    summary = {k: v["summary"] for k, v in json.loads((out / "metrics.json").read_text())["methods"].items()}
    for metric in ("auc_judd", "auc_borji", "nss", "cc", "sim", "info_gain"):
        assert summary["oracle"][metric] > summary["center"][metric], metric
    assert summary["oracle"]["kl_div"] < summary["center"]["kl_div"]
    assert summary["center"]["info_gain"] == pytest.approx(0.0, abs=0.01)  # the baseline is the centre bias


def test_fixation_bad_source_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "fix.json"
    bad.write_text("{not json")
    (tmp_path / "pred").mkdir()
    _write(tmp_path / "pred" / "a.png", np.zeros((4, 4), np.uint8))
    code = main(["evaluate", "--task", "fixation", "--gt", str(bad), "--pred", f"x={tmp_path / 'pred'}",
                 "--output", str(tmp_path / "o"), "--no-progress"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fix.json" in err


def test_atomic_writes_have_normal_permissions_and_leave_nothing_on_failure(tmp_path):
    import os

    from gensal import io

    io.write_text(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~_current_umask()
    with pytest.raises(RuntimeError), io.atomic_path(tmp_path / "b.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_save_figure_writes_the_format_of_the_suffix_and_closes_the_figure(tmp_path):
    import os

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gensal import io

    for name, magic in (("f.png", b"\x89PNG"), ("f.pdf", b"%PDF"), ("noext", b"\x89PNG")):
        figure, axis = plt.subplots()
        axis.plot([0, 1], [1, 0])
        io.save_figure(figure, tmp_path / "sub" / name, dpi=40)
        assert (tmp_path / "sub" / name).read_bytes()[:4] == magic
        assert not plt.fignum_exists(figure.number)
    assert sorted(os.listdir(tmp_path / "sub")) == ["f.pdf", "f.png", "noext"]


def _current_umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
