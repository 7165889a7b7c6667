"""Cooperative prediction with uncertainty (paper 1, section 3.3): ``gensal predict``.

For each image the encoder runs once; N latent vectors h_i ~ N(0, I_d) are decoded in one batch into maps
p_i = sigmoid(G(X, h_i)); their mean is the coarse prediction Y^, which the energy model refines by K steps
of noise-free Langevin dynamics (gradient descent on U(Y, X) with rate d^2/2, in the space the model was
trained in; :func:`gensal.refinement.refine_maps`). The refined map is the prediction.

Uncertainty (``--uncertainty``) comes from the N samples, in bits (so every map lies in [0, 1]):

* predictive entropy   H[p_mean]             with H[p] = -p log2 p - (1 - p) log2 (1 - p);
* aleatoric            mean_i H[p_i]         (expected entropy: what each sample is unsure about);
* epistemic            H[p_mean] - mean_i H[p_i]   (mutual information between Y and h: how much the
                                                    samples disagree); never negative (H is concave).

They describe the LVM's samples before refinement: refining each of the N samples would cost N energy
chains, and the split into aleatoric + epistemic holds only for the mixture of the samples. Checkpoints
without an energy model (``lvm-abp``) skip refinement; deterministic ones have one sample (epistemic 0).

SalGAN checkpoints (paper 2, ``train.algorithm: salgan``) predict eye-fixation saliency in one pass of
the generator: no samples, no refinement, no uncertainty maps.

Outputs, at each image's original size (bilinear): ``OUTPUT/<stem>.png`` (the prediction, 0..255), with
``--uncertainty`` ``OUTPUT/entropy/``, ``OUTPUT/aleatoric/`` and ``OUTPUT/epistemic/`` (bits x 255), and with
``--log-density`` ``OUTPUT/log_density/<stem>.npy``: the prediction as a log-probability density over the
pixels (:func:`gensal.metrics.fixation.log_density_from_map`), the format of the MIT/Tübingen benchmark and
pysaliency, which ``gensal evaluate --task fixation`` also reads.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import Tensor
from tqdm import tqdm

from gensal.checkpoint import DESCRIPTION_FILE, LoadedModel, load_model
from gensal.checks import MAX_BLUR, MAX_FIGURE_COUNT, MAX_SAMPLES, check_int_range, check_seed
from gensal.errors import ConfigError, DataError, InputError
from gensal.inference import check_step_size, image_to_tensor, list_inputs, resize_tensor, to_uint8
from gensal.io import (
    check_figure_path,
    check_output_folder,
    check_outputs_apart,
    read_rgb,
    save_figure,
    write_gray_png,
    write_npy,
)
from gensal.metrics.fixation import log_density_from_map
from gensal.refinement import refine_maps

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MODELS = {"sod": MODELS_DIR / "coop-cpu", "fixation": MODELS_DIR / "salgan-cpu"}
"""The committed default model of each task (a source checkout or editable install; see README)."""

UNCERTAINTY_MAPS = ("entropy", "aleatoric", "epistemic")


def binary_entropy(p: Tensor) -> Tensor:
    """H[p] = -p log2 p - (1 - p) log2 (1 - p) in bits, elementwise, with 0 log 0 = 0."""
    q = 1.0 - p
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(q, q)) / math.log(2.0)


def uncertainty_maps(samples: Tensor) -> dict[str, Tensor]:
    """Predictive entropy and its split, from N sampled maps of one image.

    Args:
        samples: (N, ..., H, W) probabilities in [0, 1], one row per latent sample.

    Returns:
        ``entropy`` = H[mean], ``aleatoric`` = mean H[p_i], ``epistemic`` = their difference (clipped at 0
        against rounding), each of shape ``samples.shape[1:]``, in bits.
    """
    entropy = binary_entropy(samples.mean(dim=0))
    aleatoric = binary_entropy(samples).mean(dim=0)
    return {"entropy": entropy, "aleatoric": aleatoric, "epistemic": (entropy - aleatoric).clamp_min(0.0)}


@dataclass
class Prediction:
    """The prediction for a batch of images at the model's resolution.

    Attributes:
        saliency: (B, 1, h, w) final maps in [0, 1] (refined mean of the samples).
        proposal: (B, 1, h, w) mean of the samples before refinement.
        uncertainty: name -> (B, 1, h, w) maps in bits (see :func:`uncertainty_maps`); empty unless asked.
    """

    saliency: Tensor
    proposal: Tensor
    uncertainty: dict[str, Tensor]


DEFAULT_SAMPLES = 10
"""Latent samples per image when neither the caller nor the model says (paper 1, section 3.3: "10")."""

_STORED_SETTINGS = {"samples": int, "refine_steps": int, "step_size": float, "blur": float}
"""Prediction defaults a checkpoint may store (:attr:`LoadedModel.prediction`) and their types."""


def stored_settings(model: LoadedModel) -> dict[str, int | float]:
    """The prediction defaults stored with ``model``, type-checked (ranges are checked where they are used).

    Raises:
        DataError: a stored value of the wrong type, naming the checkpoint file and the key.
    """
    settings = {}
    for key, kind in _STORED_SETTINGS.items():
        if key not in model.prediction:
            continue
        value = model.prediction[key]
        allowed = int if kind is int else int | float
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise DataError(
                f"{model.path / DESCRIPTION_FILE}: training.prediction.{key} must be "
                f"{'an integer' if kind is int else 'a number'}, got {value!r}"
            )
        settings[key] = kind(value)
    return settings


class Predictor:
    """Runs a trained checkpoint the way section 3.3 describes (see the module notes).

    Args:
        model: a :class:`~gensal.checkpoint.LoadedModel` (or a checkpoint / run folder to load).
        samples: N latent samples per image, 1 to :data:`MAX_SAMPLES` (forced to 1 for a deterministic
            model); None: the model's stored default (``LoadedModel.prediction``), else 10.
        refine_steps: K noise-free Langevin steps on the energy; None: the model's stored default, else the
            training value (``train.energy_langevin_steps``), 0 for checkpoints without an energy model.
        step_size: d in (0, :data:`gensal.checks.MAX_STEP_SIZE`]; None: the model's stored default, else
            the training value (``train.energy_step_size``).
        seed: seed of the latent samples, in [0, :data:`gensal.checks.MAX_SEED`]; image ``stem`` uses seed
            ``crc32(stem) ^ seed``, so its result does not depend on which other images are predicted with it.
        blur: fixation models' blur, in [0, :data:`MAX_BLUR`]; None: the model's stored default, else 0.

    Raises:
        ConfigError: ``refine_steps > 0`` for a checkpoint without an energy model, or a setting out of
            range (naming the option, or the checkpoint file when the value is stored there).
        DataError: a stored default of the wrong type.
    """

    def __init__(
        self,
        model: LoadedModel | str | Path,
        samples: int | None = None,
        refine_steps: int | None = None,
        step_size: float | None = None,
        seed: int = 0,
        blur: float | None = None,
    ) -> None:
        self.model = model if isinstance(model, LoadedModel) else load_model(model)
        generator, ebm, train = self.model.generator, self.model.ebm, self.model.config.train
        stored = stored_settings(self.model)
        where = f"{self.model.path / DESCRIPTION_FILE}: training.prediction"

        def source(key: str, option: str, given) -> str:
            return option if given is not None or key not in stored else f"{where}.{key}"

        samples_name = source("samples", "--samples", samples)
        samples = stored.get("samples", DEFAULT_SAMPLES) if samples is None else samples
        samples = check_int_range(samples, samples_name, 1, MAX_SAMPLES)
        refine_name = source("refine_steps", "--refine-steps", refine_steps)
        if refine_steps is None and ebm is not None and "refine_steps" in stored:
            refine_steps = stored["refine_steps"]
        step_name = source("step_size", "--step-size", step_size)
        if step_size is None and "step_size" in stored:
            step_size = stored["step_size"]
        self.fixation = train.algorithm == "salgan"
        self.latent = getattr(generator, "latent_dim", 0) > 0
        self.samples = samples if self.latent else 1
        if refine_steps is None:
            refine_steps = train.energy_langevin_steps if ebm is not None else 0
        refine_steps = check_int_range(refine_steps, refine_name, 0)
        if refine_steps > 0 and ebm is None:
            raise ConfigError(
                f"{self.model.path}: no energy model to refine with (trained with train.algorithm="
                f"{train.algorithm}); use --refine-steps 0"
            )
        self.refine_steps = refine_steps
        if step_size is None:
            step_size, step_name = train.energy_step_size, f"{self.model.path}: train.energy_step_size"
        self.step_size = check_step_size(step_size, step_name)
        self.space = train.energy_langevin_space
        self.seed = check_seed(seed)
        blur_name = source("blur", "--blur", blur)
        blur = float(stored.get("blur", 0.0)) if blur is None else blur
        if (
            isinstance(blur, bool)
            or not isinstance(blur, int | float)
            or not (math.isfinite(blur) and 0 <= blur <= MAX_BLUR)
        ):
            raise ConfigError(f"{blur_name} must be in [0, {MAX_BLUR}] (a fraction of the image width), got {blur}")
        self.blur = float(blur) if self.fixation else 0.0
        self.image_size = self.model.config.data.image_size

    def postprocess(self, saliency: np.ndarray) -> np.ndarray:
        """A fixation map at the image's size, blurred by a Gaussian of ``blur`` x the image width (SalGAN's
        official code blurs its maps; the width is chosen on validation data and stored with the model) and
        rescaled to a maximum of 1. SOD maps and ``blur = 0`` are returned unchanged."""
        if self.blur <= 0:
            return saliency
        blurred = gaussian_filter(saliency.astype(np.float64), sigma=self.blur * saliency.shape[1], mode="nearest")
        peak = float(blurred.max())
        return (blurred / peak if peak > 0 else blurred).astype(saliency.dtype)

    def _latents(self, stems: list[str]) -> Tensor:
        rows = []
        for stem in stems:
            generator = torch.Generator().manual_seed(zlib.crc32(stem.encode()) ^ self.seed)
            rows.append(self.model.generator.sample_latent(self.samples, generator=generator, device="cpu"))
        return torch.cat(rows)

    @torch.no_grad()
    def predict(self, images: Tensor, stems: list[str], uncertainty: bool = False) -> Prediction:
        """Predict a batch of preprocessed images.

        Args:
            images: (B, 3, h, w) in [0, 1] at the model's resolution
                (:func:`gensal.inference.image_to_tensor`).
            stems: one name per image (seeds its latent samples).
            uncertainty: also compute the uncertainty maps.

        Returns:
            :class:`Prediction`.
        """
        if images.ndim != 4 or images.shape[0] != len(stems):
            raise InputError(f"expected (B, 3, H, W) images and B names, got {tuple(images.shape)} and {len(stems)}")
        generator = self.model.generator
        device = next(generator.parameters()).device
        images = images.to(device)
        if self.fixation:
            if uncertainty:
                raise ConfigError(f"{self.model.path}: a SalGAN model predicts one map; it has no uncertainty maps")
            saliency = generator.saliency(images)
            return Prediction(saliency=saliency, proposal=saliency, uncertainty={})
        batch, size = images.shape[0], (images.shape[-2], images.shape[-1])
        features = generator.encode(images)
        h = self._latents(stems).to(device) if self.latent else None
        samples = torch.sigmoid(generator.decode(features, h, size=size))
        samples = samples.unflatten(0, (batch, self.samples))  # (B, N, 1, h, w)
        proposal = samples.mean(dim=1)
        saliency = proposal
        if self.refine_steps > 0:
            saliency = refine_maps(self.model.ebm, images, proposal, self.refine_steps, self.step_size, self.space)
        maps = {}
        if uncertainty:
            maps = uncertainty_maps(samples.transpose(0, 1))
        return Prediction(saliency=saliency, proposal=proposal, uncertainty=maps)


def resolve_model(path: str | Path | None, task: str = "sod") -> Path:
    """The checkpoint to use: ``path``, or the task's committed default model (clear error if it is missing)."""
    if path is not None:
        return Path(path)
    default = DEFAULT_MODELS[task]
    if not default.exists():
        raise ConfigError(
            f"no default {task} model at {default} (it ships with a source checkout of gensal); pass --model CKPT"
        )
    return default


def predict_files(
    predictor: Predictor,
    inputs: list[Path],
    output: str | Path,
    uncertainty: bool = False,
    log_density: bool = False,
    figure: str | Path | None = None,
    figure_count: int = 4,
    progress: bool = True,
) -> dict[str, float]:
    """Predict every input image and write the maps (see the module notes); returns timing figures.

    Everything that can be checked before the first prediction is: the output folders can be created and
    written, the figure path and count are usable, and no output would replace an input (the output folder
    must not be the inputs' folder).

    Returns:
        ``images``, ``seconds`` (total, reading and writing included) and ``seconds_per_image``.

    Raises:
        DataError: unusable output paths, outputs that would replace inputs, unreadable images.
        ConfigError: a bad ``figure_count``, or uncertainty maps asked of a SalGAN model.
        InputError: a prediction with NaN or infinite values (a diverged refinement), naming the image.
    """
    output = Path(output)
    figure_count = check_int_range(figure_count, "--figure-count", 1, MAX_FIGURE_COUNT)
    if uncertainty and predictor.fixation:
        raise ConfigError(f"{predictor.model.path}: a SalGAN model predicts one map; it has no uncertainty maps")
    image_folders = [output] + [output / name for name in UNCERTAINTY_MAPS if uncertainty]
    density_folder = output / "log_density"
    for folder in image_folders + ([density_folder] if log_density else []):
        check_output_folder(folder)
    planned = [folder / f"{path.stem}.png" for folder in image_folders for path in inputs]
    planned += [density_folder / f"{path.stem}.npy" for path in inputs] if log_density else []
    if figure is not None:
        planned.append(check_figure_path(figure))
    check_outputs_apart(output, {"input": inputs[0].parent} if inputs else {}, planned, inputs)
    panels: list[tuple[str, np.ndarray, dict[str, np.ndarray]]] = []
    started = time.perf_counter()
    for path in tqdm(inputs, desc="predict", unit="img", disable=not progress):
        rgb = read_rgb(path)
        original = rgb.shape[:2]
        tensor = image_to_tensor(rgb, predictor.image_size)
        result = predictor.predict(tensor, [path.stem], uncertainty=uncertainty)
        maps = {"saliency": predictor.postprocess(resize_tensor(result.saliency, original)[0, 0].numpy())}
        maps.update({name: resize_tensor(v, original)[0, 0].numpy() for name, v in result.uncertainty.items()})
        if not np.isfinite(maps["saliency"]).all():
            raise InputError(
                f"{path}: the prediction has NaN or infinite values (the refinement diverged; try a smaller "
                "--step-size, or --refine-steps 0)"
            )
        write_gray_png(output / f"{path.stem}.png", to_uint8(maps["saliency"]))
        for name in result.uncertainty:
            write_gray_png(output / name / f"{path.stem}.png", to_uint8(maps[name]))
        if log_density:
            write_npy(density_folder / f"{path.stem}.npy", log_density_from_map(maps["saliency"]))
        if figure is not None and len(panels) < figure_count:
            panels.append((path.stem, rgb, maps))
    seconds = time.perf_counter() - started
    if figure is not None:
        draw_figure(panels, figure)
    return {"images": len(inputs), "seconds": seconds, "seconds_per_image": seconds / max(len(inputs), 1)}


def draw_figure(panels: list[tuple[str, np.ndarray, dict[str, np.ndarray]]], path: str | Path) -> None:
    """One row per image: image | prediction | (predictive entropy | epistemic, when computed).

    Prediction and entropy are drawn on their full range [0, 1]; the epistemic part is usually much
    smaller, so each of its panels is scaled to its own maximum, which the panel's title gives in bits.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {"saliency": "prediction", "entropy": "predictive entropy (bits)", "epistemic": "epistemic (MI)"}
    columns = ["saliency"] + [name for name in ("entropy", "epistemic") if panels and name in panels[0][2]]
    figure, axes = plt.subplots(
        len(panels), 1 + len(columns), figsize=(2.6 * (1 + len(columns)), 2.2 * len(panels)), squeeze=False
    )
    for row, (stem, rgb, maps) in enumerate(panels):
        axes[row, 0].imshow(rgb)
        axes[row, 0].set_title(stem, fontsize=8)
        for column, name in enumerate(columns, start=1):
            values, top = maps[name], 1.0
            title = titles[name] if row == 0 else ""
            if name == "epistemic":
                top = max(float(values.max()), 1e-6)
                title = f"{title}\nscaled to max {top:.3g} bits".lstrip("\n")
            cmap = "gray" if name == "saliency" else "inferno"
            axes[row, column].imshow(values, cmap=cmap, vmin=0.0, vmax=top)
            axes[row, column].set_title(title, fontsize=8)
    for axis in axes.flat:
        axis.axis("off")
    save_figure(figure, path, dpi=110)


def run_predict(args) -> None:
    """``gensal predict``: load, predict every input, report where the maps went."""
    inputs = list_inputs(args.input)
    check_output_folder(args.output)
    if args.figure is not None:
        check_figure_path(args.figure)
    predictor = Predictor(
        resolve_model(args.model, args.task),
        samples=args.samples,
        refine_steps=args.refine_steps,
        step_size=args.step_size,
        seed=args.seed,
        blur=args.blur,
    )
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    timing = predict_files(
        predictor,
        inputs,
        args.output,
        uncertainty=args.uncertainty,
        log_density=args.log_density,
        figure=args.figure,
        figure_count=args.figure_count,
        progress=not args.no_progress,
    )
    extra = f", uncertainty in {Path(args.output)}/{{{','.join(UNCERTAINTY_MAPS)}}}" if args.uncertainty else ""
    extra += f", log-densities in {Path(args.output) / 'log_density'}" if args.log_density else ""
    print(
        f"gensal predict: {timing['images']} image(s) with {predictor.model.path} ({predictor.samples} samples, "
        f"{predictor.refine_steps} refinement steps), {timing['seconds_per_image']:.3f} s/image -> "
        f"{args.output}{extra}" + (f"; figure {args.figure}" if args.figure else "")
    )
