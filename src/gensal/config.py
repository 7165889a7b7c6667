"""Typed, strict configuration of a training run: one dataclass per component, loaded from YAML.

A run is described by :class:`Config`, made of :class:`ModelConfig`, :class:`DataConfig` and
:class:`TrainConfig`. YAML files may only set fields that exist; every value is type-checked; command-line
overrides use ``section.key=value`` with the value parsed by ``yaml.safe_load``::

    cfg = load_config("configs/coop-cpu.yaml", ["train.epochs=2", "model.latent_dim=4"])

Relative data paths are resolved against the current working directory (the repository root when run
through ``make``), not against the YAML file.

Example:
    >>> cfg = config_from_dict({"train": {"epochs": 2}})
    >>> cfg.train.epochs, cfg.model.backbone
    (2, 'efficientnet_lite0')
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from gensal.errors import ConfigError

ALGORITHMS = ("cooperative", "cooperative-weak", "lvm-abp", "deterministic", "salgan", "energy")
Algorithm = Literal["cooperative", "cooperative-weak", "lvm-abp", "deterministic", "salgan", "energy"]
SALGAN_BACKBONES = ("vgg16", "efficientnet_lite0")
"""Encoders of the SalGAN generator: the paper's VGG16 and the CPU-sized EfficientNet-Lite0 (docs/salgan.md)."""

# Fields that may differ between a checkpoint and the config used to resume it: they change how long the
# run goes on, how it is logged or where it reads from, not what it computes.
RESUMABLE_FIELDS = frozenset(
    {
        "data.train_images",
        "data.train_masks",
        "data.train_scribbles",
        "data.train_fixations",
        "data.num_workers",
        "data.cache_in_memory",
        "train.max_minutes",
        "train.max_steps",
        "train.log_every",
        "train.checkpoint_every",
        "train.keep_checkpoints",
        "train.output_dir",
        "train.progress",
        "train.threads",
    }
)


@dataclass
class ModelConfig:
    """The networks: the LVM generator G(X, h) and the energy model U(Y, X), or SalGAN's generator and
    discriminator (``train.algorithm: salgan``, docs/salgan.md).

    Attributes:
        backbone: encoder of the generator (``efficientnet_lite0``, ``resnet50`` or ``vgg16``; SalGAN:
            ``vgg16`` as in its paper, or ``efficientnet_lite0`` with a light decoder).
        latent_dim: size d of the latent vector h (paper: 8). Ignored by the deterministic ablation.
        pretrained: start the encoder from ImageNet weights (packaged for EfficientNet-Lite0; other
            backbones need ``backbone_weights``).
        backbone_weights: optional local file with encoder weights (safetensors or a state dict).
        decoder_channels: width of the generator's MiDaS decoder (``None``: 64 for EfficientNet-Lite0, MiDaS's
            256 otherwise).
        ebm_channels: widths of the energy model's c3s1, c4s2, c4s2, c4s2 layers (paper: 32, 64, 128, 256).
        ebm_norm: normalisation in the energy model: ``batch`` (paper), ``group`` or ``none``.
        ebm_activation: ``relu`` (paper), ``leaky_relu`` (slope 0.2, the authors' code) or ``silu`` (smooth
            input-gradients for the Langevin chain; docs/refine.md).
        ebm_norm_act_last: follow c4s1-1 by norm and activation (the paper's notation read literally) or
            not (the authors' code). Off: with it, the last ReLU zeroes the energy model's output on revised
            maps, so their energy is a constant and the Langevin revision has no drift (docs/training.md).
        ebm_pixel_scale: multiply the energy by the number of pixels of the map, so that its gradient per
            pixel is of order 1 (not in the paper; docs/refine.md).
        freeze_early_encoder: SalGAN: when ``pretrained``, keep the encoder layers that compute the stride-8
            features fixed (VGG16: conv blocks 1-3, as the SalGAN paper; EfficientNet-Lite0: stem and
            stages 1-3).
        discriminator_first_pool: SalGAN: size (and stride) of the discriminator's first max-pool (paper:
            2; the official code: 4).
        discriminator_weight_norm: SalGAN: weight normalisation on the discriminator's conv3_1 and conv3_2
            (the official code; not in the paper).
        discriminator_init: SalGAN: initial weights of the discriminator: ``glorot`` (Glorot-uniform weights
            and zero biases, the default of Lasagne and so of the official code; the paper does not say) or
            ``pytorch`` (PyTorch's layer defaults, under which the 4-channel input's signal fades through the
            six conv layers and D's output barely depends on the map: docs/salgan.md).
    """

    backbone: str = "efficientnet_lite0"
    latent_dim: int = 8
    pretrained: bool = True
    backbone_weights: str | None = None
    decoder_channels: int | None = None
    ebm_channels: tuple[int, int, int, int] = (32, 64, 128, 256)
    ebm_norm: Literal["batch", "group", "none"] = "batch"
    ebm_activation: Literal["relu", "leaky_relu", "silu"] = "relu"
    ebm_norm_act_last: bool = False
    ebm_pixel_scale: bool = False
    freeze_early_encoder: bool = True
    discriminator_first_pool: int = 2
    discriminator_weight_norm: bool = False
    discriminator_init: Literal["glorot", "pytorch"] = "glorot"


@dataclass
class DataConfig:
    """The training pairs (image, mask or fixation map) and how they are prepared.

    Attributes:
        train_images: folder of training images (JPEG/PNG), matched to masks by file stem.
        train_masks: folder of training masks (for ``cooperative-weak``: optional, only to log how well
            the scribbles' recovery matches them; ``null`` to skip); for SalGAN without ``train_fixations``, a folder of
            continuous saliency maps (e.g. SALICON's ``maps/``), used as targets after dividing by 255.
        train_scribbles: ``cooperative-weak``: folder of S-DUTS-format scribbles (1 salient, 2 background,
            0 unknown), real ones or made by ``gensal scribbles``.
        train_fixations: SalGAN: fixation points (an OSIE ``fixations.mat``, a SALICON fixation ``.json`` or
            a folder of binary fixation maps); the targets are their blurred maps (``fixation_sigma``).
        fixation_sigma: SalGAN: blur of the fixation points in pixels of the original image; ``None`` is
            the MIT benchmark's filter used by the evaluation (24 px on OSIE's 800x600, docs/metrics.md).
        train_split: a JSON split file (e.g. ``configs/splits/osie-seed0.json`` for SalGAN,
            ``configs/splits/duts-tr-seed0.json`` for salient objects); training uses the image names in its
            ``train`` list, so its ``validation`` list stays unseen for choosing settings.
        image_size: images and masks are resized to ``image_size x image_size`` (paper: 352), or to
            ``[height, width]`` (SalGAN: [192, 256]).
        hflip: random horizontal flips (probability 0.5, deterministic given the seed and epoch).
        binarize_masks: binarise masks at 128 instead of keeping anti-aliased grey levels as soft targets.
        num_workers: DataLoader worker processes (0 loads in the training process).
        max_images: use only the first N pairs in name order (quick runs and tests); ``None`` uses all.
        scales: multi-scale training (salient objects): each batch is resized by a factor drawn from this
            list (a pure function of the seed and the step, so resuming is exact), its sides rounded to a
            multiple of 32; the authors' code uses 0.75, 1, 1.25. Empty: always ``image_size``.
        cache_in_memory: SalGAN: keep each resized image and map in memory after its first use (about
            340 KB per image at 192 x 256; for ``num_workers: 0``).
    """

    train_images: str = "../shared/data/duts-tr/images"
    train_masks: str | None = "../shared/data/duts-tr/masks"
    train_scribbles: str | None = None
    train_fixations: str | None = None
    fixation_sigma: float | None = None
    train_split: str | None = None
    image_size: int | tuple[int, int] = 352
    hflip: bool = True
    binarize_masks: bool = False
    num_workers: int = 0
    max_images: int | None = None
    scales: tuple[float, ...] = ()
    cache_in_memory: bool = False


@dataclass
class TrainConfig:
    """Optimisation, Langevin dynamics, logging and checkpointing (paper 1, section 5).

    Attributes:
        algorithm: ``cooperative`` (Algorithm 1), ``cooperative-weak`` (Algorithm 2: learning while
            recovering, from ``data.train_scribbles``), ``lvm-abp`` (the generator alone, alternating
            back-propagation), ``deterministic`` (G(X) trained with cross-entropy) or ``salgan`` (SalGAN,
            paper 2: BCE pre-training, then adversarial training; docs/salgan.md) or ``energy`` (the energy
            model alone, against the frozen generator of ``train.init_from``: a fast way to try how the
            energy is trained; docs/refine.md).
        epochs: passes over the training set (paper: 30).
        max_steps: stop after this many optimisation steps in total (``None``: no limit).
        batch_size: images per step (paper: 7). At least 2, for BatchNorm.
        lr_lvm: Adam learning rate of the generator (paper: 5e-5).
        lr_ebm: Adam learning rate of the energy model (paper: 1e-3).
        adam_betas: Adam (beta1, beta2) (paper: "momentum 0.9").
        lr_schedule: ``step`` (paper: multiply by ``lr_decay_factor`` every ``lr_decay_every`` epochs) or
            ``cosine`` (per step, from the base rate down to ``lr_min_ratio`` times it at the last planned
            step; not in the paper, docs/training.md).
        lr_min_ratio: ``cosine``: the final learning rate as a fraction of the base rate.
        lr_decay_factor: multiply both learning rates by this ...
        lr_decay_every: ... after every this many epochs (paper: 0.9 every 20 epochs).
        energy_langevin_steps: K, Langevin steps revising the proposal with the energy model (Eq. 2).
        energy_step_size: delta of the data-space Langevin dynamics (paper: 0.4).
        energy_langevin_noise: keep the noise term of Eq. 2 during training.
        energy_langevin_space: run Eq. 2 on the logits z of the map, Y = sigmoid(z) (``logit``, as the
            authors' code does) or on the map in [0, 1] itself (``probability``). With step 0.4 the latter
            adds noise of std 0.9 per pixel and, measured, made the energies explode and the revision
            harmful; in logit space the revision improves the proposals (docs/training.md).
        latent_langevin_steps: K, Langevin steps inferring h from a saliency map (Eq. 7).
        latent_step_size: delta of the latent Langevin dynamics (paper: 0.1).
        latent_likelihood: ``sum`` the Gaussian log-likelihood of Eq. 7 over pixels (as written) or take its
            ``mean`` (the authors' code; this makes the data term negligible, h~ stays close to the prior).
        sigma: observation standard deviation of Eq. 3, per pixel of a map in [0, 1]. Not given in the
            paper (the authors' code: 0.3, with an averaged likelihood). With the summed likelihood, 0.3
            moves h by ~14 in 5 Langevin steps at initialisation, far outside the prior h is drawn from at
            prediction time; 1.0 moves it by ~1.6 (docs/training.md).
        ce_weight: initial weight lambda of the extra cross-entropy loss on the ground truth, decreased
            linearly to 0 over the planned training steps (section 5).
        iou_weight: weight of a soft IoU loss added to the cross-entropy on the ground truth (not in the
            paper, which has the cross-entropy alone; the authors' code adds an IoU "structure" term; 0 by
            default; docs/training.md). In the cooperative and ABP algorithms the IoU term shares lambda's
            schedule: lambda * (CE + iou_weight * IoU).
        energy_reg: weight of an optional penalty on squared energies (off by default).
        ebm_contrastive_weight: weight of Eq. 5, the paper's contrastive update of the energy (1).
        ebm_refine_weight: weight of the unrolled-refinement loss of the energy (not in the paper; 0): the
            cross-entropy against the ground truth of ``energy_refine_steps`` noise-free descent steps
            (step ``energy_step_size``) from wrong maps, so that the energy learns to refine
            (:mod:`gensal.training.energy`, docs/refine.md). Needs ``model.ebm_norm`` group or none.
        energy_refine_steps: K of that unrolled descent; use the same K to refine at test time.
        ebm_perturbed_negatives: add the ground truth corrupted like other models' errors (blurred,
            dilated, eroded, parts missing, spurious blobs) to the energy's negatives in Algorithm 1 (off:
            the paper's revised samples only).
        max_abs_energy: stop with an error when an energy's magnitude exceeds this (divergence guard).
        seed: seed of model initialisation, data order, augmentation and Langevin noise.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
        threads: CPU threads for torch (``None``: torch's default).
        channels_last: keep models and images in the channels-last memory layout (about 25% faster
            cooperative steps on CPU; the results differ from the default layout only by rounding).
        log_every: write scalars to TensorBoard and log.jsonl every this many steps.
        checkpoint_every: write a checkpoint every this many steps (0: only at the end).
        keep_checkpoints: how many step checkpoints to keep on disk.
        max_minutes: wall-clock budget of one invocation; training stops cleanly with a checkpoint.
        output_dir: folder for checkpoints, TensorBoard logs and log.jsonl.
        progress: show a tqdm progress bar.
        bce_epochs: SalGAN: epochs of BCE-only training before the adversarial phase (paper: 15).
        adversarial: SalGAN: ``false`` trains the BCE-only baseline for every epoch (no discriminator).
        bce_weight: SalGAN: alpha, the weight of the BCE content loss in the generator's adversarial loss
            ``alpha * BCE - log D(X, G(X))`` (paper: 0.05).
        bce_downsample: SalGAN: the content loss compares maps average-pooled by this factor (paper: 4).
        lr_generator: SalGAN: AdaGrad learning rate of the generator (paper: 3e-4).
        lr_discriminator: SalGAN: AdaGrad learning rate of the discriminator (paper: 3e-4).
        weight_decay: SalGAN: AdaGrad weight decay of both networks (paper: 1e-4; the official code never
            adds its L2 term to the loss, i.e. 0).
        init_from: start a new run from the weights of this checkpoint (or run folder) instead of the
            initial ones: fine-tuning, or continuing a model under other settings (e.g. SalGAN's
            adversarial phase from a BCE-trained generator). Each network of the run that the checkpoint
            holds is loaded (its architecture must match); the others start fresh. Optimiser state, step
            and schedules start anew. Ignored when resuming (the run's own checkpoint holds the weights).
        init_ebm_from: load the energy model alone from this checkpoint (after ``init_from``), e.g. an
            energy trained by ``train.algorithm: energy`` against the generator that ``init_from`` gives.
    """

    algorithm: Algorithm = "cooperative"
    epochs: int = 30
    max_steps: int | None = None
    batch_size: int = 7
    lr_lvm: float = 5e-5
    lr_ebm: float = 1e-3
    adam_betas: tuple[float, float] = (0.9, 0.999)
    lr_schedule: Literal["step", "cosine"] = "step"
    lr_min_ratio: float = 0.01
    lr_decay_factor: float = 0.9
    lr_decay_every: int = 20
    energy_langevin_steps: int = 5
    energy_step_size: float = 0.4
    energy_langevin_noise: bool = True
    energy_langevin_space: Literal["probability", "logit"] = "logit"
    latent_langevin_steps: int = 5
    latent_step_size: float = 0.1
    latent_likelihood: Literal["sum", "mean"] = "sum"
    sigma: float = 1.0
    ce_weight: float = 1.0
    iou_weight: float = 0.0
    energy_reg: float = 0.0
    ebm_contrastive_weight: float = 1.0
    ebm_refine_weight: float = 0.0
    energy_refine_steps: int = 5
    ebm_perturbed_negatives: bool = False
    max_abs_energy: float = 1.0e7
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    channels_last: bool = True
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    max_minutes: float | None = None
    output_dir: str = "runs/train"
    progress: bool = True
    bce_epochs: int = 15
    adversarial: bool = True
    bce_weight: float = 0.05
    bce_downsample: int = 4
    lr_generator: float = 3e-4
    lr_discriminator: float = 3e-4
    weight_decay: float = 1e-4
    init_from: str | None = None
    init_ebm_from: str | None = None


@dataclass
class Config:
    """A complete, resolved training configuration."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


SECTIONS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is tuple:
        items = typing.get_args(annotation)
        if len(items) == 2 and items[1] is Ellipsis:
            return "list of numbers"
        return f"list of {len(items)} numbers"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Return ``value`` converted to ``annotation`` or raise :class:`ConfigError` naming ``where``."""
    origin = typing.get_origin(annotation)
    bad = ConfigError(f"{where}: expected {_type_name(annotation)}, got {value!r}")
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None:
            if type(None) in options:
                return None
            raise bad
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        if value in typing.get_args(annotation):
            return value
        raise bad
    if origin is tuple:
        items = typing.get_args(annotation)
        if len(items) == 2 and items[1] is Ellipsis:
            if not isinstance(value, (list, tuple)):
                raise bad
            return tuple(_coerce(v, items[0], where) for v in value)
        if not isinstance(value, (list, tuple)) or len(value) != len(items):
            raise bad
        return tuple(_coerce(v, t, where) for v, t in zip(value, items, strict=True))
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # YAML 1.1 reads "5e-5" (no dot) as a string; accept numeric strings for float fields.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        raise bad
    if annotation is str:
        if isinstance(value, str):
            return value
        raise bad
    raise ConfigError(f"{where}: unsupported field type {annotation!r}")


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _section_from_dict(cls: type, data: Any, section: str, source: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: section '{section}' must be a mapping of keys to values, got {data!r}")
    hints = _field_types(cls)
    unknown = [key for key in data if key not in hints]
    if unknown:
        raise ConfigError(
            f"{source}: unknown key '{section}.{unknown[0]}'; valid keys in '{section}': {', '.join(hints)}"
        )
    values = {key: _coerce(value, hints[key], f"{source}: {section}.{key}") for key, value in data.items()}
    return cls(**values)


def config_from_dict(data: Mapping[str, Any] | None, source: str = "<dict>") -> Config:
    """Build a :class:`Config` from a nested dict (as in YAML or a checkpoint), strictly.

    Args:
        data: ``{"model": {...}, "data": {...}, "train": {...}}``; missing sections and keys keep defaults.
        source: name used in error messages (a file name, "checkpoint", ...).

    Raises:
        ConfigError: an unknown section or key (the message lists the valid ones) or a wrongly typed value.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping with sections {', '.join(SECTIONS)}, got {data!r}")
    unknown = [key for key in data if key not in SECTIONS]
    if unknown:
        raise ConfigError(f"{source}: unknown section '{unknown[0]}'; valid sections: {', '.join(SECTIONS)}")
    config = Config(**{name: _section_from_dict(cls, data.get(name), name, source) for name, cls in SECTIONS.items()})
    validate_config(config, source)
    return config


def config_to_dict(config: Config) -> dict[str, dict[str, Any]]:
    """Plain nested dict of a config (tuples become lists), suitable for YAML or JSON."""

    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    return {
        name: {f.name: plain(getattr(getattr(config, name), f.name)) for f in dataclasses.fields(cls)}
        for name, cls in SECTIONS.items()
    }


def apply_overrides(config: Config, overrides: Iterable[str], source: str = "command line") -> Config:
    """Return a copy of ``config`` with ``section.key=value`` overrides applied.

    Values are parsed with ``yaml.safe_load`` (``train.epochs=2``, ``model.backbone_weights=null``,
    ``train.adam_betas=[0.5,0.999]``), then type-checked like YAML values.

    Raises:
        ConfigError: a malformed override, an unknown section/key (listing the valid ones) or a bad value.
    """
    data = config_to_dict(config)
    for override in overrides:
        if "=" not in override:
            raise ConfigError(f"{source}: override {override!r} must look like section.key=value")
        dotted, text = override.split("=", 1)
        if dotted.count(".") != 1:
            raise ConfigError(f"{source}: override key {dotted!r} must look like section.key (e.g. train.epochs)")
        section, key = dotted.split(".")
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section '{section}'; valid sections: {', '.join(SECTIONS)}")
        hints = _field_types(SECTIONS[section])
        if key not in hints:
            raise ConfigError(f"{source}: unknown key '{section}.{key}'; valid keys in '{section}': {', '.join(hints)}")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"{source}: cannot parse the value of {dotted}: {err}") from None
        data[section][key] = value
    return config_from_dict(data, source)


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Config:
    """Load a YAML config (or the defaults when ``path`` is None) and apply ``section.key=value`` overrides.

    Raises:
        ConfigError: the file is missing or not valid YAML, or a key/value is wrong (see
            :func:`config_from_dict`).
    """
    if path is None:
        config = Config()
    else:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML ({err})".replace("\n", " ")) from None
        config = config_from_dict(data, str(path))
    return apply_overrides(config, overrides)


def validate_config(config: Config, source: str = "<config>") -> None:
    """Check ranges and cross-field constraints that types alone cannot express.

    Raises:
        ConfigError: naming the offending key, its value and the allowed range.
    """
    model, data, train = config.model, config.data, config.train

    def need(condition: bool, key: str, value: Any, expected: str) -> None:
        if not condition:
            raise ConfigError(f"{source}: {key} must be {expected}, got {value!r}")

    need(model.latent_dim >= 0, "model.latent_dim", model.latent_dim, ">= 0")
    need(
        model.latent_dim > 0 or train.algorithm in ("deterministic", "salgan", "energy"),
        "model.latent_dim",
        model.latent_dim,
        f"> 0 for train.algorithm={train.algorithm}",
    )
    need(
        model.decoder_channels is None or model.decoder_channels >= 2,
        "model.decoder_channels",
        model.decoder_channels,
        ">= 2 or null",
    )
    need(all(c > 0 for c in model.ebm_channels), "model.ebm_channels", model.ebm_channels, "4 positive widths")
    sides = image_sides(data.image_size)
    need(min(sides) >= 32, "data.image_size", data.image_size, ">= 32")
    need(all(s % 32 == 0 for s in sides), "data.image_size", data.image_size, "a multiple of 32 (encoder stride)")
    need(data.num_workers >= 0, "data.num_workers", data.num_workers, ">= 0")
    need(data.max_images is None or data.max_images > 0, "data.max_images", data.max_images, "> 0 or null")
    need(train.epochs > 0, "train.epochs", train.epochs, "> 0")
    need(train.max_steps is None or train.max_steps > 0, "train.max_steps", train.max_steps, "> 0 or null")
    need(train.batch_size >= 2, "train.batch_size", train.batch_size, ">= 2 (BatchNorm needs 2 samples)")
    for key in ("lr_lvm", "lr_ebm", "energy_step_size", "latent_step_size", "sigma", "max_abs_energy"):
        value = getattr(train, key)
        need(value > 0, f"train.{key}", value, "> 0")
    need(all(0 <= b < 1 for b in train.adam_betas), "train.adam_betas", train.adam_betas, "two values in [0, 1)")
    need(0 < train.lr_decay_factor <= 1, "train.lr_decay_factor", train.lr_decay_factor, "in (0, 1]")
    need(train.lr_decay_every > 0, "train.lr_decay_every", train.lr_decay_every, "> 0")
    for key in ("energy_langevin_steps", "latent_langevin_steps", "checkpoint_every"):
        value = getattr(train, key)
        need(value >= 0, f"train.{key}", value, ">= 0")
    need(train.ce_weight >= 0, "train.ce_weight", train.ce_weight, ">= 0")
    need(train.iou_weight >= 0, "train.iou_weight", train.iou_weight, ">= 0")
    need(
        train.iou_weight == 0 or train.algorithm in ("deterministic", "cooperative", "lvm-abp"),
        "train.iou_weight",
        train.iou_weight,
        "0 unless train.algorithm is deterministic, cooperative or lvm-abp",
    )
    need(0 <= train.lr_min_ratio <= 1, "train.lr_min_ratio", train.lr_min_ratio, "in [0, 1]")
    need(all(0.25 <= s <= 4 for s in data.scales), "data.scales", list(data.scales), "factors in [0.25, 4]")
    need(
        not data.scales or train.algorithm in ("deterministic", "cooperative", "lvm-abp"),
        "data.scales",
        list(data.scales),
        "empty unless train.algorithm is deterministic, cooperative or lvm-abp",
    )
    need(train.energy_reg >= 0, "train.energy_reg", train.energy_reg, ">= 0")
    need(train.ebm_contrastive_weight >= 0, "train.ebm_contrastive_weight", train.ebm_contrastive_weight, ">= 0")
    need(train.ebm_refine_weight >= 0, "train.ebm_refine_weight", train.ebm_refine_weight, ">= 0")
    need(train.energy_refine_steps >= 1, "train.energy_refine_steps", train.energy_refine_steps, ">= 1")
    need(
        train.ebm_refine_weight == 0 or model.ebm_norm != "batch",
        "model.ebm_norm",
        model.ebm_norm,
        "group or none with train.ebm_refine_weight > 0 (the unrolled chain runs in training mode)",
    )
    need(
        train.init_ebm_from is None or train.algorithm in ("cooperative", "cooperative-weak"),
        "train.init_ebm_from",
        train.init_ebm_from,
        "null unless train.algorithm is cooperative or cooperative-weak",
    )
    need(
        train.ebm_refine_weight > 0
        or train.ebm_contrastive_weight > 0
        or train.algorithm not in ("cooperative", "cooperative-weak", "energy"),
        "train.ebm_contrastive_weight",
        train.ebm_contrastive_weight,
        "> 0 (or train.ebm_refine_weight > 0): the energy model needs an objective",
    )
    if train.algorithm == "energy":
        need(train.init_from is not None, "train.init_from", None, "a trained generator for train.algorithm=energy")
    need(train.log_every > 0, "train.log_every", train.log_every, "> 0")
    need(train.keep_checkpoints > 0, "train.keep_checkpoints", train.keep_checkpoints, "> 0")
    need(train.threads is None or train.threads > 0, "train.threads", train.threads, "> 0 or null")
    need(train.max_minutes is None or train.max_minutes > 0, "train.max_minutes", train.max_minutes, "> 0 or null")
    need(
        train.device == "auto" or train.device == "cpu" or train.device.startswith("cuda"),
        "train.device",
        train.device,
        "'auto', 'cpu' or 'cuda[:N]'",
    )
    need(
        (train.algorithm == "cooperative-weak") == (data.train_scribbles is not None),
        "data.train_scribbles",
        data.train_scribbles,
        "a folder for train.algorithm=cooperative-weak (and only for it)",
    )
    need(
        data.train_masks is not None or train.algorithm == "cooperative-weak",
        "data.train_masks",
        data.train_masks,
        f"a folder for train.algorithm={train.algorithm}",
    )
    if train.algorithm == "salgan":
        _validate_salgan(config, need)


def _validate_salgan(config: Config, need: Callable[[bool, str, Any, str], None]) -> None:
    """The SalGAN settings (docs/salgan.md)."""
    model, data, train = config.model, config.data, config.train
    need(model.backbone in SALGAN_BACKBONES, "model.backbone", model.backbone, f"one of {SALGAN_BACKBONES} for SalGAN")
    need(train.bce_epochs >= 0, "train.bce_epochs", train.bce_epochs, ">= 0")
    need(
        not train.adversarial or train.bce_epochs < train.epochs,
        "train.bce_epochs",
        train.bce_epochs,
        f"< train.epochs = {train.epochs} for adversarial training (the BCE-only baseline is train.adversarial=false)",
    )
    need(train.bce_weight >= 0, "train.bce_weight", train.bce_weight, ">= 0")
    factor = train.bce_downsample
    need(
        factor >= 1 and all(s % factor == 0 for s in image_sides(data.image_size)),
        "train.bce_downsample",
        factor,
        f">= 1 and a divisor of data.image_size {data.image_size}",
    )
    for key in ("lr_generator", "lr_discriminator"):
        need(getattr(train, key) > 0, f"train.{key}", getattr(train, key), "> 0")
    need(train.weight_decay >= 0, "train.weight_decay", train.weight_decay, ">= 0")
    pool = model.discriminator_first_pool
    need(
        pool >= 1 and min(image_sides(data.image_size)) // (4 * pool) >= 1,
        "model.discriminator_first_pool",
        pool,
        f">= 1 and small enough to leave a feature map after three pools of data.image_size {data.image_size}",
    )
    need(
        data.fixation_sigma is None or data.fixation_sigma > 0,
        "data.fixation_sigma",
        data.fixation_sigma,
        "> 0 pixels or null (the MIT benchmark's filter)",
    )


def image_sides(size: int | tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` of ``data.image_size``: an int is a square side, a pair is (height, width).

    Example:
        >>> image_sides(352), image_sides((192, 256))
        ((352, 352), (192, 256))
    """
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def config_differences(old: Config, new: Config) -> list[tuple[str, Any, Any]]:
    """List ``(section.key, old value, new value)`` for every field that differs."""
    a, b = config_to_dict(old), config_to_dict(new)
    return [
        (f"{section}.{key}", a[section][key], b[section][key])
        for section in a
        for key in a[section]
        if a[section][key] != b[section][key]
    ]
