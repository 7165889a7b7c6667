"""Simulated scribbles: S-DUTS format, determinism, boundary safety, real masks, edge cases, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gensal.cli import main
from gensal.data.scribbles import (
    BACKGROUND,
    SALIENT,
    derive_scribbles,
    make_scribble,
    read_scribble,
    rng_for,
)
from gensal.errors import DataError, InputError


def _disk_mask(height: int, width: int, cy: float, cx: float, radius: float, soft: bool = False) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    distance = np.hypot(yy - cy, xx - cx) - radius
    if soft:  # anti-aliased edge, as in DUTS: a ramp of grey levels across 3 pixels
        return np.clip(np.round(255 * (0.5 - distance / 3)), 0, 255).astype(np.uint8)
    return np.where(distance <= 0, 255, 0).astype(np.uint8)


def _assert_inside(labels: np.ndarray, mask: np.ndarray) -> None:
    assert labels.dtype == np.uint8 and labels.shape == mask.shape
    assert set(np.unique(labels)) <= {0, 1, 2}
    salient = mask >= 128
    assert not (labels == SALIENT)[~salient].any(), "a salient stroke crosses the boundary"
    assert not (labels == BACKGROUND)[salient].any(), "a background stroke crosses the boundary"


@pytest.fixture(scope="module")
def duts_masks(shared_data: Path) -> list[Path]:
    """Twenty DUTS-TR masks spread over the name range."""
    return sorted((shared_data / "duts-tr" / "masks").glob("*.png"))[::131][:20]


def test_strokes_stay_inside_their_region_on_soft_and_odd_masks():
    masks = [
        _disk_mask(120, 160, 60, 80, 35, soft=True),
        _disk_mask(90, 70, 10, 10, 25, soft=True),  # object cut by the image corner
        np.where(np.random.default_rng(0).random((64, 64)) > 0.6, 255, 0).astype(np.uint8),  # salt and pepper
        np.tile(np.array([0, 0, 255, 255, 130, 127], np.uint8), (50, 10)),  # thin stripes near the threshold
    ]
    ring = _disk_mask(100, 100, 50, 50, 40)
    ring[_disk_mask(100, 100, 50, 50, 20) > 0] = 0  # a background hole inside the object
    masks.append(ring)
    for index, mask in enumerate(masks):
        labels = make_scribble(mask, np.random.default_rng(index))
        _assert_inside(labels, mask)
        assert (labels == SALIENT).any() and (labels == BACKGROUND).any()


def test_strokes_are_thin_lines_not_blobs():
    mask = _disk_mask(200, 300, 100, 150, 70, soft=True)
    labels = make_scribble(mask, np.random.default_rng(1))
    salient = labels == SALIENT
    # A 5 px brush: the stroke covers a small part of the object, and its area is at most ~5x its length.
    assert 0.005 < salient.sum() / (mask >= 128).sum() < 0.2
    rows = np.nonzero(salient.any(axis=1))[0]
    cols = np.nonzero(salient.any(axis=0))[0]
    extent = max(np.ptp(rows), np.ptp(cols)) + 1
    assert extent > 40, "a round object gets a line across it, not a dot"
    assert salient.sum() < 7 * extent


def test_same_seed_and_stem_give_the_same_scribble_other_seeds_differ():
    mask = _disk_mask(120, 160, 60, 80, 35, soft=True)
    first = make_scribble(mask, rng_for(7, "im0"))
    assert np.array_equal(first, make_scribble(mask, rng_for(7, "im0")))
    assert not np.array_equal(first, make_scribble(mask, rng_for(8, "im0")))
    assert not np.array_equal(first, make_scribble(mask, rng_for(7, "im1")))


def test_empty_full_and_tiny_masks():
    empty = np.zeros((80, 100), np.uint8)
    labels = make_scribble(empty, np.random.default_rng(0))
    assert not (labels == SALIENT).any() and (labels == BACKGROUND).any()
    full = np.full((80, 100), 255, np.uint8)
    labels = make_scribble(full, np.random.default_rng(0))
    assert (labels == SALIENT).any() and not (labels == BACKGROUND).any()
    for tiny in (_disk_mask(80, 100, 40, 50, 2.5), _disk_mask(80, 100, 0, 0, 1)):
        labels = make_scribble(tiny, np.random.default_rng(0))
        _assert_inside(labels, tiny)
        assert (labels == SALIENT).any(), "a tiny object still gets a dab of the brush"
    single = np.zeros((80, 100), np.uint8)
    single[30, 40] = 200
    labels = make_scribble(single, np.random.default_rng(0))
    assert labels[30, 40] == SALIENT and (labels == SALIENT).sum() == 1


def test_bad_mask_array_is_refused():
    with pytest.raises(InputError, match="2-D uint8"):
        make_scribble(np.zeros((4, 4, 3), np.uint8), np.random.default_rng(0))
    with pytest.raises(InputError, match="2-D uint8"):
        make_scribble(np.zeros((4, 4)), np.random.default_rng(0))


def test_labelled_fraction_on_real_duts_masks_is_a_few_percent(duts_masks):
    from gensal.io import read_gray

    salient, background = [], []
    for path in duts_masks:
        mask = read_gray(path)
        labels = make_scribble(mask, rng_for(0, path.stem))
        _assert_inside(labels, mask)
        assert (labels == SALIENT).any() and (labels == BACKGROUND).any(), path.name
        salient.append(np.mean(labels == SALIENT))
        background.append(np.mean(labels == BACKGROUND))
    total = np.mean(salient) + np.mean(background)
    assert 0.015 < total < 0.06  # S-DUTS: roughly 3% of the pixels
    assert 0.002 < np.mean(salient) < np.mean(background)
    assert max(np.add(salient, background)) < 0.15


def test_cli_writes_s_duts_pngs_independent_of_order(tmp_path, duts_masks, capsys):
    masks = tmp_path / "masks"
    masks.mkdir()
    for path in duts_masks[:4]:
        (masks / path.name).write_bytes(path.read_bytes())
    assert main(["scribbles", "--masks", str(masks), "--output", str(tmp_path / "out"), "--seed", "5",
                 "--no-progress"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "wrote 4 scribble(s)" in printed and "salient" in printed and "background" in printed
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(p.name for p in duts_masks[:4])  # no temporary files left behind
    for path in duts_masks[:4]:
        with Image.open(tmp_path / "out" / path.name) as image:
            assert image.mode == "L" and image.size == Image.open(path).size
        labels = read_scribble(tmp_path / "out" / path.name)
        _assert_inside(labels, np.asarray(Image.open(path).convert("L")))
    # One file alone (another order, another folder) gives the same scribble as within the folder.
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / duts_masks[2].name).write_bytes(duts_masks[2].read_bytes())
    summary = derive_scribbles(alone, tmp_path / "out-alone", seed=5, progress=False)
    assert summary.files == 1 and 0 < summary.labelled_fraction < 0.2
    name = duts_masks[2].name
    assert np.array_equal(read_scribble(tmp_path / "out-alone" / name), read_scribble(tmp_path / "out" / name))


def test_cli_bad_input_gives_one_line_errors(tmp_path, capsys):
    assert main(["scribbles", "--masks", str(tmp_path / "missing"), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing" in err and "folder not found" in err
    (tmp_path / "empty").mkdir()
    assert main(["scribbles", "--masks", str(tmp_path / "empty"), "--output", str(tmp_path / "o")]) == 2
    assert "no files found" in capsys.readouterr().err
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(_disk_mask(40, 50, 20, 25, 10)).save(masks / "good.png")
    (masks / "broken.png").write_bytes(b"not a png")
    assert main(["scribbles", "--masks", str(masks), "--output", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "broken.png" in err and "cannot read" in err
    assert main(["scribbles", "--masks", str(masks), "--output", str(masks), "--no-progress"]) == 2
    assert "must not be the mask folder" in capsys.readouterr().err


def test_read_scribble_validates_values_and_channels(tmp_path):
    good = np.zeros((10, 12), np.uint8)
    good[2, 3], good[5, 6] = 1, 2
    Image.fromarray(good).save(tmp_path / "good.png")
    assert np.array_equal(read_scribble(tmp_path / "good.png"), good)
    bad = good.copy()
    bad[0, 0] = 255
    Image.fromarray(bad).save(tmp_path / "mask.png")
    with pytest.raises(DataError, match=r"mask\.png: scribble labels must be 0 .* found 255"):
        read_scribble(tmp_path / "mask.png")
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(DataError, match=r"rgb\.png: .*single-channel"):
        read_scribble(tmp_path / "rgb.png")
    with pytest.raises(DataError, match="file not found"):
        read_scribble(tmp_path / "nope.png")
    (tmp_path / "junk.png").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"junk\.png: cannot read scribble"):
        read_scribble(tmp_path / "junk.png")
