"""Fixation readers (OSIE, SALICON, map folders) and ground-truth maps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy.ndimage import gaussian_filter

from gensal.data.fixations import (
    Fixations,
    antonio_gaussian,
    blur_map,
    fixation_density,
    read_fixation_maps,
    read_fixations,
    read_osie,
    read_salicon,
)
from gensal.errors import DataError, InputError

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OSIE = SHARED_DATA / "osie"
SALICON = SHARED_DATA / "salicon-examples" / "train_examples"


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def _fft_antonio(image: np.ndarray, cutoff: float) -> np.ndarray:
    """antonioGaussian.m written out with numpy FFTs (an independent reference for the separable version)."""
    side = max(image.shape)
    side += side % 2
    side = 2 ** int(np.ceil(np.log2(side)))
    fx, fy = np.meshgrid(np.arange(side) - side / 2, np.arange(side) - side / 2)
    transfer = np.fft.fftshift(np.exp(-(fx**2 + fy**2) / (cutoff / np.sqrt(np.log(2))) ** 2))
    blurred = np.real(np.fft.ifft2(np.fft.fft2(image, (side, side)) * transfer))
    return blurred[: image.shape[0], : image.shape[1]]


# ---------------------------------------------------------------------------------------------- Fixations
def test_fixations_round_to_nearest_pixel_centre_and_clip():
    fix = Fixations("a", 3, 4, xs=[0.5, -0.4, 2.49, 10.0], ys=[0.0, 1.5, 2.0, -3.0])
    rows, cols = fix.pixels()
    # 0.5 -> pixel 1 (MATLAB round(1.5) = 2, 1-based); outside points are clipped to the border
    np.testing.assert_array_equal(cols, [1, 0, 2, 3])
    np.testing.assert_array_equal(rows, [0, 2, 2, 0])
    expected = np.zeros((3, 4), dtype=bool)
    expected[[0, 2, 2, 0], [1, 0, 2, 3]] = True
    np.testing.assert_array_equal(fix.to_fixation_map(), expected)
    assert len(fix) == 4


def test_fixations_reject_inconsistent_arrays():
    with pytest.raises(InputError, match="2 x coordinates but 1 y"):
        Fixations("a", 3, 4, xs=[1, 2], ys=[1])
    with pytest.raises(InputError, match="size must be positive"):
        Fixations("a", 0, 4, xs=[], ys=[])
    with pytest.raises(InputError, match="subject indices"):
        Fixations("a", 3, 4, xs=[1], ys=[1], subjects=[0, 1])
    with pytest.raises(InputError, match="NaN"):
        Fixations("a", 3, 4, xs=[np.nan], ys=[1])


# ------------------------------------------------------------------------------------------ ground truth
def test_gaussian_density_equals_scipy_gaussian_filter_with_zero_padding():
    rng = np.random.default_rng(0)
    fix = Fixations("a", 60, 90, xs=rng.uniform(0, 89, 40), ys=rng.uniform(0, 59, 40))
    binary = fix.to_fixation_map().astype(float)
    for sigma in (1.5, 7.0, 24.0):
        expected = gaussian_filter(binary, sigma, mode="constant")
        np.testing.assert_allclose(fixation_density(fix, sigma), expected / expected.max(), atol=1e-12)
        np.testing.assert_allclose(blur_map(binary, sigma), expected, atol=1e-12)


def test_mit_density_equals_fft_antonio_gaussian():
    rng = np.random.default_rng(1)
    fix = Fixations("a", 75, 130, xs=rng.uniform(0, 129, 30), ys=rng.uniform(0, 74, 30))
    expected = _fft_antonio(fix.to_fixation_map().astype(float), 8.0)
    np.testing.assert_allclose(fixation_density(fix), expected / expected.max(), atol=1e-12)
    image = rng.random((37, 50))
    np.testing.assert_allclose(antonio_gaussian(image, 5.0), _fft_antonio(image, 5.0), atol=1e-12)


def test_mit_filter_is_a_24_pixel_gaussian_on_osie_sized_images():
    single = Fixations("a", 600, 800, xs=[400.0], ys=[300.0])
    profile = fixation_density(single)[300, 300:500]
    # a Gaussian with sigma = 1024 / (sqrt(2) * pi * 8 / sqrt(log 2)) = 23.97 px
    sigma = 1024 / (np.sqrt(2) * np.pi * 8 / np.sqrt(np.log(2)))
    np.testing.assert_allclose(profile, np.exp(-0.5 * ((np.arange(300, 500) - 400) / sigma) ** 2), atol=1e-9)


def test_density_counts_a_pixel_once_and_handles_no_fixations():
    twice = Fixations("a", 20, 20, xs=[5.0, 5.2, 14.0], ys=[5.0, 4.9, 14.0])
    once = Fixations("a", 20, 20, xs=[5.0, 14.0], ys=[5.0, 14.0])
    np.testing.assert_allclose(fixation_density(twice, 2.0), fixation_density(once, 2.0))
    empty = Fixations("a", 5, 6, xs=[], ys=[])
    assert not fixation_density(empty, 2.0).any()
    with pytest.raises(InputError, match="sigma"):
        fixation_density(once, -1.0)


# ------------------------------------------------------------------------------------ real shared data
@pytest.fixture(scope="module")
def osie_fixations():
    path = OSIE / "fixations" / "fixations.mat"
    if not path.is_file():
        pytest.skip(f"OSIE data not found at {path}")
    return read_osie(path)


def test_read_osie_matches_the_raw_file(osie_fixations):
    assert len(osie_fixations) == 700
    assert sum(len(f) for f in osie_fixations.values()) == 98321
    raw = scipy.io.loadmat(OSIE / "fixations" / "fixations.mat", squeeze_me=True, struct_as_record=False)
    record = raw["fixations"][0]
    fix = osie_fixations["1001"]
    assert (record.img, fix.height, fix.width) == ("1001.jpg", 600, 800)
    first = record.subjects[0]
    np.testing.assert_allclose(fix.xs[: first.fix_x.size], first.fix_x - 1)
    np.testing.assert_allclose(fix.ys[: first.fix_y.size], first.fix_y - 1)
    assert set(fix.subjects) == set(range(15))
    for f in osie_fixations.values():
        assert f.xs.min() >= -0.5 and f.xs.max() < 799.5 and f.ys.min() >= -0.5 and f.ys.max() < 599.5


def test_read_osie_takes_sizes_from_images(osie_fixations, tmp_path):
    sized = read_osie(OSIE / "fixations" / "fixations.mat", OSIE / "images")
    assert {(f.height, f.width) for f in sized.values()} == {(600, 800)}
    np.testing.assert_array_equal(sized["1700"].xs, osie_fixations["1700"].xs)
    with pytest.raises(DataError, match=r"1001\.jpg: image file not found") as err:
        read_osie(OSIE / "fixations" / "fixations.mat", tmp_path)
    _one_line(err)


def test_read_salicon_matches_the_raw_file():
    path = SALICON / "fixations_train2014examples.json"
    if not path.is_file():
        pytest.skip(f"SALICON examples not found at {path}")
    fixations = read_salicon(path)
    raw = json.loads(path.read_text())
    assert len(fixations) == 10
    assert sum(len(f) for f in fixations.values()) == 73630
    first = raw["annotations"][0]
    name = Path(next(i["file_name"] for i in raw["images"] if i["id"] == first["image_id"])).stem
    fix = fixations[name]
    assert (fix.height, fix.width) == (480, 640)
    row, col = first["fixations"][0]
    assert (fix.ys[0], fix.xs[0], fix.subjects[0]) == (row - 1, col - 1, first["worker_id"])
    assert read_fixations(path).keys() == fixations.keys()


# ------------------------------------------------------------------------------------------ map folders
def test_read_fixation_maps_and_dispatch(tmp_path):
    first = np.zeros((4, 5), dtype=np.uint8)
    first[1, 2] = 255
    first[3, 0] = 1
    Image.fromarray(first).save(tmp_path / "a.png")
    Image.fromarray(np.eye(3, dtype=bool)).save(tmp_path / "b.png")  # 1-bit map
    fixations = read_fixation_maps(tmp_path)
    assert list(fixations) == ["a", "b"]
    np.testing.assert_array_equal(fixations["a"].to_fixation_map(), first > 0)
    np.testing.assert_array_equal(fixations["b"].to_fixation_map(), np.eye(3, dtype=bool))
    assert len(read_fixation_maps(tmp_path, threshold=1)["a"]) == 1
    assert read_fixations(tmp_path).keys() == fixations.keys()


# ----------------------------------------------------------------------------------------- bad inputs
def test_missing_and_unknown_sources(tmp_path):
    with pytest.raises(DataError, match="not found") as err:
        read_fixations(tmp_path / "nope.mat")
    _one_line(err)
    (tmp_path / "fix.txt").write_text("1 2\n")
    with pytest.raises(DataError, match="unknown fixation format '.txt'") as err:
        read_fixations(tmp_path / "fix.txt")
    _one_line(err)
    with pytest.raises(DataError, match="file not found"):
        read_salicon(tmp_path / "nope.json")


def test_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no images found") as err:
        read_fixations(tmp_path)
    assert str(tmp_path) in _one_line(err)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "no 'images' list"),
        ('{"images": [], "annotations": []}', "'images' is empty"),
        ('{"images": [{"id": 1}], "annotations": []}', "lacks id/file_name/height/width"),
        ('{"images": [{"id": 1, "file_name": "a.jpg", "height": 2, "width": 2}]}', "no 'annotations' list"),
        (
            '{"images": [{"id": 1, "file_name": "a.jpg", "height": 2, "width": 2}], '
            '"annotations": [{"image_id": 7, "fixations": [[1, 1]]}]}',
            "unknown image_id 7",
        ),
        (
            '{"images": [{"id": 1, "file_name": "a.jpg", "height": 2, "width": 2}], '
            '"annotations": [{"image_id": 1, "fixations": [[1, 1, 1]]}]}',
            r"not image_id \+ \[row, col\]",
        ),
    ],
)
def test_malformed_salicon_json(tmp_path, content, message):
    path = tmp_path / "fixations.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as err:
        read_fixations(path)
    assert _one_line(err).startswith(str(path))


def test_malformed_osie_mat(tmp_path):
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"not a MATLAB file at all")
    with pytest.raises(DataError, match="cannot read MATLAB file") as err:
        read_fixations(garbage)
    _one_line(err)
    wrong = tmp_path / "wrong.mat"
    scipy.io.savemat(wrong, {"something": np.zeros(3)})
    with pytest.raises(DataError, match="no 'fixations' variable .found something.") as err:
        read_osie(wrong)
    _one_line(err)
    no_fields = tmp_path / "no_fields.mat"
    scipy.io.savemat(no_fields, {"fixations": np.zeros(3)})
    with pytest.raises(DataError, match=r"fixations\[0\] lacks img/subjects") as err:
        read_osie(no_fields)
    _one_line(err)


def _osie_like(path: Path, fix_x: list[float], fix_y: list[float]) -> None:
    subject = {"fix_x": np.array(fix_x), "fix_y": np.array(fix_y), "fix_duration": np.ones(len(fix_x))}
    record = np.empty(1, dtype=[("img", object), ("subjects", object)])
    record[0] = ("9.jpg", np.array([subject], dtype=object))
    scipy.io.savemat(path, {"fixations": record})


def test_small_osie_file_and_frame_check(tmp_path):
    good = tmp_path / "good.mat"
    _osie_like(good, [1.0, 800.0], [1.0, 600.0])
    fix = read_fixations(good)["9"]
    np.testing.assert_array_equal(fix.xs, [0.0, 799.0])
    np.testing.assert_array_equal(fix.subjects, [0, 0])
    outside = tmp_path / "outside.mat"
    _osie_like(outside, [1.0, 1200.0], [1.0, 5.0])
    with pytest.raises(DataError, match="outside the assumed 800x600 OSIE frame; pass image_dir") as err:
        read_osie(outside)
    _one_line(err)
