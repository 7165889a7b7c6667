"""The outer training loop shared by every algorithm: data, schedules, logging, checkpoints, budgets.

``train(config)`` reads top to bottom: build the data and the models, restore a checkpoint when resuming,
then for each batch set the schedules, call the algorithm's step function (Algorithm 1 lives in
:mod:`gensal.training.cooperative`, SalGAN in :mod:`gensal.training.salgan`), check the result, log, and
checkpoint. Everything random is seeded from ``train.seed``: model initialisation (torch's global RNG), the
data order and flips (numpy generators keyed by seed, epoch and index) and h / Langevin noise (one
``torch.Generator``), so a run is deterministic on a given machine and a resumed run continues bit for bit.

A run folder holds ``step-NNNNNNNN/`` checkpoints, ``LATEST``, ``config.yaml`` (the resolved config),
``log.jsonl`` (one line of averaged scalars per ``log_every`` steps) and ``tensorboard/``.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from gensal.checkpoint import (
    DESCRIPTION_FILE,
    Checkpoint,
    build_models,
    get_rng_state,
    initialise_from,
    latest_checkpoint,
    read_checkpoint,
    restore_models,
    save_checkpoint,
    set_rng_state,
    write_latest,
)
from gensal.config import (
    RESUMABLE_FIELDS,
    Config,
    apply_overrides,
    config_differences,
    config_to_dict,
    image_sides,
    load_config,
)
from gensal.data.fixation_train import FixationTrainDataset
from gensal.data.scribbles import ScribbleTrainDataset
from gensal.data.sod import SODTrainDataset, multiscale_size, resize_batch
from gensal.errors import ConfigError, DataError, GensalError
from gensal.inference import resolve_device as checked_device
from gensal.io import write_text
from gensal.training.abp import abp_step
from gensal.training.cooperative import cooperative_step
from gensal.training.deterministic import deterministic_step
from gensal.training.energy import energy_step
from gensal.training.salgan import salgan_phase, salgan_step
from gensal.training.schedules import ce_weight_at, cosine_lr_at, lr_at
from gensal.training.weak import weak_step

CHECKPOINT_PREFIX = "step-"
ENERGY_TERMS = ("energy_data", "energy_sample")
LOSS_TERMS = ("ebm", "lvm", "ce", "lvm_total", "bce", "adversarial", "generator", "discriminator")


class TrainingDivergedError(GensalError):
    """A loss became NaN/infinite or an energy exploded; the message names the step."""


@dataclass
class TrainResult:
    """What a call of :func:`train` did.

    Attributes:
        output_dir: the run folder.
        checkpoint: the last checkpoint written.
        step: optimisation steps completed in total.
        total_steps: steps the config plans (epochs x steps per epoch).
        stop_reason: ``finished``, ``max_steps`` or ``time budget``.
        seconds: wall-clock seconds of this call.
        images_per_second: training throughput of this call.
    """

    output_dir: Path
    checkpoint: Path
    step: int
    total_steps: int
    stop_reason: str
    seconds: float
    images_per_second: float


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; other names are checked by
    :func:`gensal.inference.resolve_device` (a clear error for unknown or absent devices)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return checked_device(name, "train.device")


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_order(num_items: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled item order of an epoch, a pure function of (seed, epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(num_items)


def base_learning_rates(config: Config) -> dict[str, float]:
    """The configured learning rate of each model's optimizer, before the step decay."""
    if config.train.algorithm == "salgan":
        return {"generator": config.train.lr_generator, "discriminator": config.train.lr_discriminator}
    return {"generator": config.train.lr_lvm, "ebm": config.train.lr_ebm}


def make_optimizers(config: Config, models: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """Adam for each model with the paper's betas and the configured base learning rates; for SalGAN,
    AdaGrad over each model's trainable parameters with ``train.weight_decay`` (paper 2, Sec. 4.2)."""
    base = base_learning_rates(config)
    if config.train.algorithm == "salgan":
        return {
            name: torch.optim.Adagrad(
                [p for p in model.parameters() if p.requires_grad],
                lr=base[name],
                weight_decay=config.train.weight_decay,
            )
            for name, model in models.items()
        }
    return {
        name: torch.optim.Adam(model.parameters(), lr=base[name], betas=tuple(config.train.adam_betas))
        for name, model in models.items()
    }


def set_learning_rates(
    optimizers: dict[str, torch.optim.Optimizer], config: Config, epoch: int, step: int = 0, total_steps: int = 1
) -> dict[str, float]:
    """Apply the learning-rate schedule (``train.lr_schedule``) at ``epoch`` / ``step`` of ``total_steps``
    and return the learning rates set."""
    base = base_learning_rates(config)
    settings = config.train
    rates = {}
    for name, optimizer in optimizers.items():
        if settings.lr_schedule == "cosine":
            rates[name] = cosine_lr_at(base[name], step, total_steps, settings.lr_min_ratio)
        else:
            rates[name] = lr_at(base[name], epoch, settings.lr_decay_factor, settings.lr_decay_every)
        for group in optimizer.param_groups:
            group["lr"] = rates[name]
    return rates


def check_step(terms: dict[str, float], step: int, epoch: int, max_abs_energy: float, last: Path | None) -> None:
    """Stop training when a scalar is NaN/infinite or an energy's magnitude exceeds ``max_abs_energy``.

    Raises:
        TrainingDivergedError: naming the step, the epoch, the offending term and the last good checkpoint.
    """
    problem = None
    for name, value in terms.items():
        if not math.isfinite(value):
            problem = f"{name} is {value}"
            break
        if name in ENERGY_TERMS and abs(value) > max_abs_energy:
            problem = f"{name} = {value:.4g} exceeds train.max_abs_energy = {max_abs_energy:g} (energy exploded)"
            break
    if problem is not None:
        where = f"the last good checkpoint is {last}" if last is not None else "no checkpoint was written yet"
        raise TrainingDivergedError(
            f"training diverged at step {step} (epoch {epoch + 1}): {problem}; {where}; "
            "try a lower train.lr_ebm / train.lr_lvm or train.energy_reg > 0"
        )


def run_algorithm_step(
    config: Config,
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    image: torch.Tensor,
    target: torch.Tensor | tuple[torch.Tensor, ...],
    ce_weight: float,
    generator: torch.Generator,
    step: int = 0,
    steps_per_epoch: int = 1,
) -> dict[str, float]:
    """Dispatch one optimisation step to the configured algorithm.

    ``target`` is the batch of masks (or fixation maps), or for ``cooperative-weak`` the tuple
    ``(partial, visible, full)`` of :class:`gensal.data.scribbles.ScribbleTrainDataset` (``full`` is -1
    when no masks were given).

    ``step`` (0-based, counted over the whole run) and ``steps_per_epoch`` place the step in SalGAN's
    schedule (BCE pre-training, then discriminator and generator batches in turn); the other algorithms
    do the same thing at every step.
    """
    settings = config.train
    if settings.algorithm == "salgan":
        return salgan_step(
            models["generator"],
            models.get("discriminator"),
            optimizers["generator"],
            optimizers.get("discriminator"),
            image,
            target,
            settings,
            salgan_phase(step, steps_per_epoch, settings),
        )
    if settings.algorithm == "cooperative-weak":
        partial, visible, full = target
        return weak_step(
            models["generator"],
            models["ebm"],
            optimizers["generator"],
            optimizers["ebm"],
            image,
            partial,
            visible,
            settings,
            ce_weight,
            generator,
            full=None if bool((full < 0).any()) else full,
        )
    if settings.algorithm == "cooperative":
        return cooperative_step(
            models["generator"],
            models["ebm"],
            optimizers["generator"],
            optimizers["ebm"],
            image,
            target,
            settings,
            ce_weight,
            generator,
        )
    if settings.algorithm == "energy":
        return energy_step(models["generator"], models["ebm"], optimizers["ebm"], image, target, settings, generator)
    if settings.algorithm == "lvm-abp":
        return abp_step(models["generator"], optimizers["generator"], image, target, settings, ce_weight, generator)
    return deterministic_step(models["generator"], optimizers["generator"], image, target, settings.iou_weight)


class _Logger:
    """Averages step scalars and writes them to TensorBoard and ``log.jsonl`` every ``log_every`` steps.

    Each term is averaged over the steps that reported it (SalGAN's discriminator and generator steps
    report different terms).
    """

    def __init__(self, output_dir: Path, start_step: int, resumed: bool) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.jsonl = output_dir / "log.jsonl"
        if resumed and self.jsonl.is_file():
            # Drop lines written after the checkpoint we resume from: they will be recomputed.
            kept = [
                line
                for line in self.jsonl.read_text(encoding="utf-8").splitlines()
                if self._step_of(line) is not None and self._step_of(line) <= start_step
            ]
            write_text(self.jsonl, "".join(line + "\n" for line in kept))
        elif not resumed and self.jsonl.exists():
            self.jsonl.unlink()
        self.writer = SummaryWriter(str(output_dir / "tensorboard"), purge_step=start_step if resumed else None)
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.count = 0
        self.images = 0
        self.since = time.monotonic()

    @staticmethod
    def _step_of(line: str) -> int | None:
        """The step of a log line, or None for a line cut short by a crash."""
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):
            return None

    def update(self, terms: dict[str, float], images: int) -> None:
        for name, value in terms.items():
            self.sums[name] += value
            self.counts[name] += 1
        self.count += 1
        self.images += images

    @staticmethod
    def _tag(name: str) -> str:
        if name in ENERGY_TERMS:
            return "energy/" + name.split("_", 1)[1]
        if name in LOSS_TERMS:
            return "loss/" + name
        if name in ("d_real", "d_fake"):
            return "discriminator/" + name.split("_", 1)[1]
        return "train/" + name

    def write(self, step: int, epoch: int, rates: dict[str, float], elapsed: float) -> dict[str, Any]:
        if self.count == 0:
            return {}
        now = time.monotonic()
        means = {name: total / self.counts[name] for name, total in self.sums.items()}
        speed = self.images / max(now - self.since, 1e-9)
        for name, value in means.items():
            self.writer.add_scalar(self._tag(name), value, step)
        if all(name in means for name in ENERGY_TERMS):
            self.writer.add_scalar("energy/gap", means["energy_sample"] - means["energy_data"], step)
        for name, rate in rates.items():
            self.writer.add_scalar(f"lr/{name}", rate, step)
        self.writer.add_scalar("speed/images_per_second", speed, step)
        record = {"step": step, "epoch": epoch + 1, "seconds": round(elapsed, 3), "images_per_second": speed}
        record.update({f"lr_{name}": rate for name, rate in rates.items()})
        record.update(means)
        with open(self.jsonl, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        self.sums.clear()
        self.counts.clear()
        self.count = 0
        self.images = 0
        self.since = now
        return means

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def _prune_checkpoints(output_dir: Path, keep: int, latest: Path) -> None:
    found = sorted(p for p in output_dir.glob(f"{CHECKPOINT_PREFIX}*") if p.is_dir() and p != latest)
    for old in found[: max(0, len(found) - (keep - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def _check_training_position(checkpoint: Checkpoint) -> None:
    """The stored training position must be usable: ``step`` an integer >= 0, ``elapsed_seconds`` a number >= 0.

    Raises:
        DataError: naming the checkpoint's description file, the key and the value found.
    """
    where = checkpoint.path / DESCRIPTION_FILE
    training = checkpoint.training
    if not isinstance(training, dict):
        raise DataError(f"{where}: 'training' must be an object with the training position, got {training!r}")
    step = training.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise DataError(f"{where}: training.step must be an integer >= 0, got {step!r}; cannot resume from it")
    elapsed = training.get("elapsed_seconds", 0.0)
    if (
        isinstance(elapsed, bool)
        or not isinstance(elapsed, int | float)
        or not (math.isfinite(elapsed) and elapsed >= 0)
    ):
        raise DataError(f"{where}: training.elapsed_seconds must be a number >= 0, got {elapsed!r}")


def _check_resumable(checkpoint: Checkpoint, config: Config) -> None:
    _check_training_position(checkpoint)
    changed = [d for d in config_differences(checkpoint.config, config) if d[0] not in RESUMABLE_FIELDS]
    if changed:
        listed = "; ".join(f"{key}: {old!r} in the checkpoint, {new!r} now" for key, old, new in changed[:5])
        raise ConfigError(
            f"{checkpoint.path}: cannot resume with a different config ({listed}); only "
            f"{', '.join(sorted(RESUMABLE_FIELDS))} may change"
        )


def train(config: Config, resume: bool = False) -> TrainResult:
    """Train the configured algorithm, or resume the run in ``train.output_dir``.

    Args:
        config: the resolved configuration.
        resume: continue from the latest checkpoint in ``train.output_dir`` (the config must match it
            except for :data:`gensal.config.RESUMABLE_FIELDS`).

    Returns:
        :class:`TrainResult`.

    Raises:
        ConfigError: bad settings, nothing to resume, a run already in the folder without ``resume``, or a
            config that differs from the checkpoint's.
        DataError: missing or unmatched training data.
        TrainingDivergedError: NaN losses or exploding energies (naming the step).
    """
    started = time.monotonic()
    settings = config.train
    output_dir = Path(settings.output_dir)
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    device = resolve_device(settings.device)

    existing = latest_checkpoint(output_dir) if output_dir.is_dir() else None
    checkpoint: Checkpoint | None = None
    if resume:
        if existing is None:
            raise ConfigError(f"{output_dir}: no checkpoint to resume from; run without --resume to start")
        checkpoint = read_checkpoint(existing)
        _check_resumable(checkpoint, config)
    elif existing is not None:
        raise ConfigError(
            f"{output_dir} already holds a run (latest checkpoint {existing.name}); pass --resume to continue it "
            "or choose another --output"
        )

    dataset = build_dataset(config)
    steps_per_epoch = len(dataset) // settings.batch_size
    if steps_per_epoch == 0:
        raise DataError(
            f"{config.data.train_images}: {len(dataset)} training pair(s), fewer than train.batch_size="
            f"{settings.batch_size}"
        )
    total_steps = settings.epochs * steps_per_epoch

    seed_everything(settings.seed)
    models = build_models(config, pretrained=False if checkpoint is not None else None)
    memory_format = torch.channels_last if settings.channels_last else torch.contiguous_format
    for model in models.values():
        model.to(device, memory_format=memory_format).train()
    if settings.algorithm == "energy":  # the generator only proposes maps
        models["generator"].eval().requires_grad_(False)
    optimizers = make_optimizers(config, models)
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    step, elapsed_before = 0, 0.0
    last_checkpoint: Path | None = None
    if checkpoint is not None:
        restore_models(checkpoint, models)
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(checkpoint.optimizers[name])
        set_rng_state(checkpoint.rng, generator)
        step = int(checkpoint.training["step"])
        elapsed_before = float(checkpoint.training.get("elapsed_seconds", 0.0))
        last_checkpoint = checkpoint.path
    elif settings.init_from is not None:
        loaded, fresh = initialise_from(settings.init_from, models, config)
        fresh_text = f"; {', '.join(fresh)} initialised afresh" if fresh else ""
        print(f"initialised {', '.join(loaded)} from {settings.init_from}{fresh_text}", file=sys.stderr)
    if checkpoint is None and settings.init_ebm_from is not None:
        initialise_from(settings.init_ebm_from, models, config, only=["ebm"])
        print(f"initialised ebm from {settings.init_ebm_from}", file=sys.stderr)

    output_dir.mkdir(parents=True, exist_ok=True)
    write_text(output_dir / "config.yaml", yaml.safe_dump(config_to_dict(config), sort_keys=False))
    logger = _Logger(output_dir, step, resumed=checkpoint is not None)
    deadline = started + settings.max_minutes * 60 if settings.max_minutes is not None else math.inf
    save_seconds = 5.0  # estimate until the first checkpoint has been timed
    step_seconds = 0.0
    steps_this_call = 0

    def save(finished: bool, reason: str | None) -> Path:
        nonlocal save_seconds, last_checkpoint
        t0 = time.monotonic()
        training = {
            "step": step,
            "epoch": step // steps_per_epoch,
            "steps_per_epoch": steps_per_epoch,
            "total_steps": total_steps,
            "finished": finished,
            "stop_reason": reason,
            "elapsed_seconds": elapsed_before + time.monotonic() - started,
        }
        path = output_dir / f"{CHECKPOINT_PREFIX}{step:08d}"
        save_checkpoint(path, config, models, optimizers, training, get_rng_state(generator))
        write_latest(output_dir, path)
        _prune_checkpoints(output_dir, settings.keep_checkpoints, path)
        save_seconds = time.monotonic() - t0
        last_checkpoint = path
        return path

    if checkpoint is not None and checkpoint.training.get("finished"):
        logger.close()
        return TrainResult(output_dir, checkpoint.path, step, total_steps, "finished", 0.0, 0.0)
    if checkpoint is not None and settings.max_steps is not None and step >= settings.max_steps:
        # A run resumed at its step limit has nothing left to do (it used to train one more step per call).
        logger.close()
        return TrainResult(output_dir, checkpoint.path, step, total_steps, "max_steps", 0.0, 0.0)

    planned = min(total_steps, settings.max_steps) if settings.max_steps is not None else total_steps
    progress = tqdm(
        total=planned, initial=min(step, planned), disable=not settings.progress, unit="step", dynamic_ncols=True
    )
    stop_reason: str | None = None
    rates: dict[str, float] = {}
    try:
        while stop_reason is None:
            if step >= total_steps:
                stop_reason = "finished"
                break
            epoch, offset = divmod(step, steps_per_epoch)
            for image, target in _epoch_loader(dataset, epoch, offset, steps_per_epoch, config, device):
                t0 = time.monotonic()
                rates = set_learning_rates(optimizers, config, epoch, step, total_steps)
                if config.data.scales:
                    size = multiscale_size(dataset.size, config.data.scales, settings.seed, step)
                    image, target = resize_batch(image, target, size)
                    image = image.contiguous(memory_format=memory_format)
                ce_weight = ce_weight_at(step, total_steps, settings.ce_weight)
                terms = run_algorithm_step(
                    config, models, optimizers, image, target, ce_weight, generator, step, steps_per_epoch
                )
                check_step(terms, step + 1, epoch, settings.max_abs_energy, last_checkpoint)
                step += 1
                steps_this_call += 1
                logger.update(terms, image.shape[0])
                step_seconds = (
                    time.monotonic() - t0 if step_seconds == 0 else 0.9 * step_seconds + 0.1 * (time.monotonic() - t0)
                )
                progress.update(1)
                if step % settings.log_every == 0:
                    means = logger.write(step, epoch, rates, elapsed_before + time.monotonic() - started)
                    progress.set_postfix({k: f"{v:.3g}" for k, v in list(means.items())[:4]}, refresh=False)
                if settings.max_steps is not None and step >= settings.max_steps:
                    stop_reason = "max_steps"
                elif step >= total_steps:
                    stop_reason = "finished"
                elif time.monotonic() + 1.5 * step_seconds + save_seconds > deadline:
                    stop_reason = "time budget"
                if stop_reason is not None:
                    break
                if settings.checkpoint_every and step % settings.checkpoint_every == 0:
                    save(False, None)
        final = save(stop_reason == "finished", stop_reason)
    finally:
        progress.close()
        logger.close()
    seconds = time.monotonic() - started
    images = steps_this_call * settings.batch_size
    return TrainResult(output_dir, final, step, total_steps, stop_reason, seconds, images / max(seconds, 1e-9))


def build_dataset(config: Config) -> SODTrainDataset | ScribbleTrainDataset | FixationTrainDataset:
    """The training data a config describes: image/mask pairs, images with scribbles (Algorithm 2), or
    images and fixation maps for SalGAN."""
    data = config.data
    if config.train.algorithm == "cooperative-weak":
        return ScribbleTrainDataset(
            data.train_images,
            data.train_scribbles,
            data.image_size,
            masks_dir=data.train_masks,
            hflip=data.hflip,
            seed=config.train.seed,
            max_images=data.max_images,
        )
    if config.train.algorithm == "salgan":
        return FixationTrainDataset(
            data.train_images,
            image_sides(data.image_size),
            fixations=data.train_fixations,
            maps_dir=data.train_masks if data.train_fixations is None else None,
            sigma=data.fixation_sigma,
            split=data.train_split,
            hflip=data.hflip,
            seed=config.train.seed,
            max_images=data.max_images,
            cache=data.cache_in_memory,
        )
    return SODTrainDataset(
        data.train_images,
        data.train_masks,
        data.image_size,
        hflip=data.hflip,
        binarize=data.binarize_masks,
        seed=config.train.seed,
        max_images=data.max_images,
        split=data.train_split,
    )


def _epoch_loader(
    dataset: SODTrainDataset | ScribbleTrainDataset | FixationTrainDataset,
    epoch: int,
    offset: int,
    steps_per_epoch: int,
    config: Config,
    device: torch.device,
) -> Iterable[tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, ...]]]:
    """Batches of ``epoch`` starting at batch ``offset`` (the tail that does not fill a batch is dropped)."""
    batch_size = config.train.batch_size
    dataset.set_epoch(epoch)
    order = epoch_order(len(dataset), config.train.seed, epoch)[: steps_per_epoch * batch_size]
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=order[offset * batch_size :].tolist(),
        num_workers=config.data.num_workers,
        drop_last=True,
        pin_memory=device.type == "cuda",
    )
    memory_format = torch.channels_last if config.train.channels_last else torch.contiguous_format
    for image, *targets in loader:
        image = image.to(device, non_blocking=True).contiguous(memory_format=memory_format)
        targets = [t.to(device, non_blocking=True) for t in targets]
        yield image, targets[0] if len(targets) == 1 else tuple(targets)


def _size_text(size: int | tuple[int, int]) -> str:
    """``352px`` for a square size, ``192x256px`` (height x width) otherwise."""
    return f"{size}px" if isinstance(size, int) else f"{size[0]}x{size[1]}px"


def train_from_command_line(
    config_path: str | None,
    overrides: Iterable[str] = (),
    resume: bool = False,
    output: str | None = None,
    echo: Callable[[str], None] = print,
) -> TrainResult:
    """What ``gensal train`` does: resolve the config (file, ``--output``, overrides) and train.

    With ``--resume`` and no ``--config`` the config stored in the run's latest checkpoint is used.

    Raises:
        ConfigError: neither a config nor a run to resume, or see :func:`train`.
    """
    overrides = list(overrides)
    if output is not None:
        overrides.append(f"train.output_dir={json.dumps(output)}")
    if config_path is None:
        if not resume:
            raise ConfigError("give --config FILE (or --resume --output RUN_DIR to continue a run)")
        if output is None:
            raise ConfigError("--resume without --config needs --output RUN_DIR to find the run")
        existing = latest_checkpoint(output) if Path(output).is_dir() else None
        if existing is None:
            raise ConfigError(f"{output}: no checkpoint to resume from")
        config = apply_overrides(read_checkpoint(existing).config, overrides)
    else:
        config = load_config(config_path, overrides)
    size = _size_text(config.data.image_size)
    echo(
        f"gensal train: {config.train.algorithm} on {config.data.train_images} at {size}, "
        f"{config.train.epochs} epochs of batch {config.train.batch_size} -> {config.train.output_dir}"
        + (" (resuming)" if resume else "")
    )
    result = train(config, resume=resume)
    echo(
        f"gensal train: stopped ({result.stop_reason}) after step {result.step}/{result.total_steps}, "
        f"{result.seconds / 60:.1f} min, {result.images_per_second:.2f} images/s; checkpoint {result.checkpoint}"
    )
    return result
