"""Self-describing checkpoints: safetensors weights plus a JSON description, written atomically.

A checkpoint is a folder::

    step-00001234/
        checkpoint.json              format, gensal version, full resolved config, training position,
                                     optimizer hyper-parameters, Python/numpy RNG scalars
        generator.safetensors        weights and buffers of each model (never pickle)
        ebm.safetensors
        optimizer-generator.safetensors   optimizer state tensors (Adam moments, step counts)
        optimizer-ebm.safetensors
        rng.safetensors              torch (CPU, CUDA, sampling generator) and numpy RNG states

Inference-only checkpoints (:func:`export_half`) hold only ``checkpoint.json`` and the model files. The
folder is written under a temporary name and renamed into place, so a crash never leaves a partial
checkpoint. A run folder holds several step checkpoints and a ``LATEST`` file naming the newest.

Loading rebuilds the networks from the stored config, checks every tensor name and shape against them
(:class:`~gensal.errors.ConfigError` listing what does not match) and rejects non-finite weights
(:class:`~gensal.errors.DataError` naming the file).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from gensal import __version__
from gensal.config import Config, config_from_dict, config_to_dict, image_sides
from gensal.errors import ConfigError, DataError
from gensal.io import write_text

FORMAT = "gensal-checkpoint"
FORMAT_VERSION = 1
DESCRIPTION_FILE = "checkpoint.json"
LATEST_FILE = "LATEST"
RNG_FILE = "rng.safetensors"


@dataclass
class Checkpoint:
    """A checkpoint read from disk (tensors on the CPU).

    Attributes:
        path: the checkpoint folder.
        config: the full resolved config it was trained with.
        weights: model name -> state dict.
        optimizers: optimizer name -> ``torch.optim.Optimizer.state_dict()``-shaped dict.
        training: training position (``step``, ``epoch``, ...); empty for inference-only checkpoints.
        rng: RNG states for :func:`set_rng_state`; empty for inference-only checkpoints.
        gensal_version: version of gensal that wrote it.
    """

    path: Path
    config: Config
    weights: dict[str, dict[str, torch.Tensor]]
    optimizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    rng: dict[str, Any] = field(default_factory=dict)
    gensal_version: str = ""


@dataclass
class LoadedModel:
    """Networks rebuilt from a checkpoint for inference (in eval mode).

    Attributes:
        generator: G(X, h) (or G(X) for a deterministic checkpoint; SalGAN's generator for a SalGAN one).
        ebm: the energy model U(Y, X), or ``None`` when the checkpoint has none.
        config: the config the models were trained with.
        path: the checkpoint folder.
        prediction: default prediction settings stored with the model (``samples``, ``refine_steps``,
            ``step_size``, and where they were chosen: ``chosen_on``); empty when the checkpoint has none.
    """

    generator: nn.Module
    ebm: nn.Module | None
    config: Config
    path: Path
    prediction: dict[str, Any] = field(default_factory=dict)


def build_models(config: Config, pretrained: bool | None = None) -> dict[str, nn.Module]:
    """Build the networks a config describes: ``{"generator": G}`` plus ``"ebm"`` for cooperative training,
    or SalGAN's generator plus ``"discriminator"`` for adversarial SalGAN training.

    Args:
        config: the run's configuration.
        pretrained: override ``config.model.pretrained`` (``False`` when weights come from a checkpoint).
            SalGAN's fixed encoder layers follow ``config.model.pretrained`` either way, so a network rebuilt
            for a checkpoint has the same trainable parameters as the one that was trained.
    """
    from gensal.models import create_model

    model = config.model
    use_pretrained = model.pretrained if pretrained is None else pretrained
    weights = model.backbone_weights if use_pretrained else None
    if config.train.algorithm == "salgan":
        return _build_salgan(config, use_pretrained, weights)
    if config.train.algorithm == "deterministic" or (config.train.algorithm == "energy" and model.latent_dim == 0):
        generator = create_model(
            "deterministic",
            backbone=model.backbone,
            pretrained=use_pretrained,
            backbone_weights=weights,
            decoder_channels=model.decoder_channels,
        )
    else:
        generator = create_model(
            "lvm",
            backbone=model.backbone,
            latent_dim=model.latent_dim,
            pretrained=use_pretrained,
            backbone_weights=weights,
            decoder_channels=model.decoder_channels,
        )
    models: dict[str, nn.Module] = {"generator": generator}
    if config.train.algorithm in ("cooperative", "cooperative-weak", "energy"):
        models["ebm"] = create_model(
            "ebm",
            channels=tuple(model.ebm_channels),
            norm=model.ebm_norm,
            activation=model.ebm_activation,
            norm_act_last=model.ebm_norm_act_last,
            pixel_scale=model.ebm_pixel_scale,
        )
    return models


def _build_salgan(config: Config, pretrained: bool, weights: str | None) -> dict[str, nn.Module]:
    """SalGAN's generator, plus its discriminator unless the run is the BCE-only baseline."""
    from gensal.models import create_model

    model = config.model
    models: dict[str, nn.Module] = {
        "generator": create_model(
            "salgan",
            backbone=model.backbone,
            pretrained=pretrained,
            backbone_weights=weights,
            freeze_early_encoder=model.freeze_early_encoder and model.pretrained,
        )
    }
    if config.train.adversarial:
        models["discriminator"] = create_model(
            "salgan_discriminator",
            input_size=image_sides(config.data.image_size),
            first_pool=model.discriminator_first_pool,
            weight_norm=model.discriminator_weight_norm,
            init=model.discriminator_init,
        )
    return models


# ----------------------------------------------------------------------------------------------- RNG state


def get_rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Capture every RNG that training touches: Python, numpy, torch CPU/CUDA and the sampling generator."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def set_rng_state(state: Mapping[str, Any], generator: torch.Generator | None = None) -> None:
    """Restore states captured by :func:`get_rng_state` (those present in ``state``)."""
    if "python" in state:
        random.setstate(state["python"])
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])


def _rng_to_files(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {"torch": state["torch"]}
    for i, cuda_state in enumerate(state.get("torch_cuda", [])):
        tensors[f"torch_cuda.{i}"] = cuda_state
    if "generator" in state:
        tensors["generator"] = state["generator"]
    kind, keys, pos, has_gauss, cached = state["numpy"]
    tensors["numpy_keys"] = torch.from_numpy(np.asarray(keys, dtype=np.uint32).astype(np.int64))
    version, internal, gauss_next = state["python"]
    scalars = {
        "numpy": {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "state": list(internal), "gauss_next": gauss_next},
        "torch_cuda_devices": len(state.get("torch_cuda", [])),
    }
    return tensors, scalars


def _rng_from_files(tensors: Mapping[str, torch.Tensor], scalars: Mapping[str, Any]) -> dict[str, Any]:
    numpy = scalars["numpy"]
    python = scalars["python"]
    state: dict[str, Any] = {
        "torch": tensors["torch"],
        "numpy": (
            numpy["kind"],
            tensors["numpy_keys"].numpy().astype(np.uint32),
            numpy["pos"],
            numpy["has_gauss"],
            numpy["cached_gaussian"],
        ),
        "python": (python["version"], tuple(python["state"]), python["gauss_next"]),
    }
    cuda = [tensors[f"torch_cuda.{i}"] for i in range(int(scalars.get("torch_cuda_devices", 0)))]
    if cuda:
        state["torch_cuda"] = cuda
    if "generator" in tensors:
        state["generator"] = tensors["generator"]
    return state


# ------------------------------------------------------------------------------------------ optimizer state


def _optimizer_to_files(state_dict: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, param_state in state_dict["state"].items():
        for key, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalar_state": scalars}


def _optimizer_from_files(tensors: Mapping[str, torch.Tensor], described: Mapping[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    for index, values in described.get("scalar_state", {}).items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": described["param_groups"]}


# ---------------------------------------------------------------------------------------------- writing


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _weights_of(module: nn.Module, half: bool) -> dict[str, torch.Tensor]:
    tensors = {}
    for key, value in module.state_dict().items():
        value = value.detach().cpu()
        if half and value.is_floating_point():
            value = value.half()
        tensors[key] = value.contiguous()
    return tensors


def _check_finite_weights(tensors: Mapping[str, torch.Tensor], where: str) -> None:
    for key, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise DataError(f"{where}: tensor '{key}' contains NaN or infinite values; the weights are unusable")


def save_checkpoint(
    path: str | Path,
    config: Config,
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    training: Mapping[str, Any] | None = None,
    rng: Mapping[str, Any] | None = None,
    half: bool = False,
) -> Path:
    """Write a checkpoint folder atomically (temporary folder, then rename; an existing one is replaced).

    Args:
        path: the checkpoint folder to create.
        config: full resolved config (stored so the checkpoint can rebuild its networks).
        models: name -> module; each is written to ``<name>.safetensors``.
        optimizers: name -> optimizer, written to ``optimizer-<name>.safetensors`` + JSON scalars.
        training: JSON-serialisable training position (``step``, ``epoch``, ...).
        rng: states from :func:`get_rng_state`.
        half: store floating-point weights in float16 (inference-only exports).

    Returns:
        The checkpoint folder.

    Raises:
        DataError: a model holds NaN or infinite weights (nothing is written).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        description: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "gensal_version": __version__,
            "config": config_to_dict(config),
            "models": {},
            "optimizers": {},
            "training": dict(training or {}),
        }
        metadata = {"format": FORMAT, "gensal_version": __version__}
        for name, module in models.items():
            tensors = _weights_of(module, half)
            _check_finite_weights(tensors, f"{path} (model '{name}')")
            file = f"{name}.safetensors"
            save_file(tensors, str(tmp / file), metadata={**metadata, "model": name})
            description["models"][name] = {
                "file": file,
                "dtype": "float16" if half else "float32",
                "parameters": sum(p.numel() for p in module.parameters()),
            }
        for name, optimizer in (optimizers or {}).items():
            tensors, scalars = _optimizer_to_files(optimizer.state_dict())
            file = f"optimizer-{name}.safetensors"
            save_file(tensors, str(tmp / file), metadata={**metadata, "optimizer": name})
            description["optimizers"][name] = {"file": file, **scalars}
        if rng is not None:
            tensors, scalars = _rng_to_files(rng)
            save_file(tensors, str(tmp / RNG_FILE), metadata=metadata)
            description["rng"] = {"file": RNG_FILE, **scalars}
        (tmp / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
        # mkdtemp creates 0700 and safetensors 0600; a checkpoint gets the usual permissions.
        umask = _umask()
        os.chmod(tmp, 0o777 & ~umask)
        for file in tmp.iterdir():
            os.chmod(file, 0o666 & ~umask)
        if path.exists():
            # rename(2) cannot replace a non-empty folder: move the old one aside first.
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


# ---------------------------------------------------------------------------------------------- reading


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise DataError(f"{path}: file not found (incomplete checkpoint)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise DataError(f"{path}: not a readable safetensors file ({err})") from None


def resolve_checkpoint(path: str | Path) -> Path:
    """Return the checkpoint folder for ``path``: a checkpoint folder itself, or a run folder (via LATEST).

    Raises:
        DataError: ``path`` is neither.
    """
    path = Path(path)
    if (path / DESCRIPTION_FILE).is_file():
        return path
    latest = latest_checkpoint(path)
    if latest is None:
        raise DataError(f"{path}: not a checkpoint folder (no {DESCRIPTION_FILE}) nor a run folder with one")
    return latest


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint named by ``run_dir/LATEST``, or ``None`` when the run has none yet."""
    pointer = Path(run_dir) / LATEST_FILE
    if not pointer.is_file():
        return None
    target = Path(run_dir) / pointer.read_text(encoding="utf-8").strip()
    if not (target / DESCRIPTION_FILE).is_file():
        raise DataError(f"{pointer}: names {target.name}, which is not a complete checkpoint")
    return target


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint folder (or a run folder's latest checkpoint) without building any network.

    Raises:
        DataError: missing/unreadable files, an unknown format, or NaN/infinite weights (naming the file).
        ConfigError: the stored config is not valid for this gensal version.
    """
    path = resolve_checkpoint(path)
    description_path = path / DESCRIPTION_FILE
    try:
        description = json.loads(description_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{description_path}: cannot read checkpoint description ({err})") from None
    if description.get("format") != FORMAT or description.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"{description_path}: not a {FORMAT} version {FORMAT_VERSION} description "
            f"(format={description.get('format')!r}, version={description.get('format_version')!r})"
        )
    config = config_from_dict(description.get("config"), str(description_path))
    weights = {}
    for name, entry in description["models"].items():
        file = path / entry["file"]
        tensors = _read_safetensors(file)
        _check_finite_weights(tensors, str(file))
        weights[name] = tensors
    optimizers = {
        name: _optimizer_from_files(_read_safetensors(path / entry["file"]), entry)
        for name, entry in description.get("optimizers", {}).items()
    }
    rng = {}
    if "rng" in description:
        rng = _rng_from_files(_read_safetensors(path / description["rng"]["file"]), description["rng"])
    return Checkpoint(
        path=path,
        config=config,
        weights=weights,
        optimizers=optimizers,
        training=description.get("training", {}),
        rng=rng,
        gensal_version=description.get("gensal_version", ""),
    )


def _describe_architecture(config: Config) -> str:
    m = config.model
    if config.train.algorithm == "salgan":
        return (
            f"train.algorithm=salgan, model.backbone={m.backbone}, train.adversarial={config.train.adversarial}, "
            f"data.image_size={config.data.image_size}, model.discriminator_first_pool={m.discriminator_first_pool}, "
            f"model.discriminator_weight_norm={m.discriminator_weight_norm}"
        )
    return (
        f"train.algorithm={config.train.algorithm}, model.backbone={m.backbone}, "
        f"model.latent_dim={m.latent_dim}, model.decoder_channels={m.decoder_channels}, "
        f"model.ebm_channels={list(m.ebm_channels)}, model.ebm_norm={m.ebm_norm}"
    )


def load_weights(module: nn.Module, tensors: Mapping[str, torch.Tensor], where: str, config: Config) -> None:
    """Copy ``tensors`` into ``module`` after checking that names and shapes match exactly.

    Raises:
        ConfigError: missing, unexpected or differently shaped tensors; the message names some of them and
            the architecture settings of the config.
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    shapes = [
        f"'{k}' {tuple(tensors[k].shape)} in file vs {tuple(v.shape)} in the model"
        for k, v in expected.items()
        if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        if shapes:
            problems.append(f"{len(shapes)} with other shapes (e.g. {'; '.join(shapes[:2])})")
        raise ConfigError(
            f"{where}: weights do not match the network built from the config "
            f"({_describe_architecture(config)}): {'; '.join(problems)}"
        )
    module.load_state_dict(dict(tensors), strict=True)


def restore_models(checkpoint: Checkpoint, models: Mapping[str, nn.Module]) -> None:
    """Load a checkpoint's weights into already-built models (names must match exactly).

    Raises:
        ConfigError: a model is missing from the checkpoint (or vice versa) or its tensors do not match.
    """
    if set(models) != set(checkpoint.weights):
        raise ConfigError(
            f"{checkpoint.path}: holds models {sorted(checkpoint.weights)} but the config "
            f"({_describe_architecture(checkpoint.config)}) needs {sorted(models)}"
        )
    for name, module in models.items():
        load_weights(module, checkpoint.weights[name], str(checkpoint.path / f"{name}.safetensors"), checkpoint.config)


def initialise_from(
    path: str | Path, models: Mapping[str, nn.Module], config: Config, only: Sequence[str] | None = None
) -> tuple[list[str], list[str]]:
    """Load the weights of a checkpoint into the networks of a new run (``train.init_from``).

    Every network of ``models`` that the checkpoint holds is loaded; the architecture, as built from
    ``config``, must match the stored tensors exactly. Networks the checkpoint lacks (e.g. SalGAN's
    discriminator when starting from a BCE-only generator) keep their initial weights.

    Args:
        path: checkpoint folder or run folder (its latest checkpoint).
        models: the run's networks, already built from ``config``.
        config: the run's config (named in error messages).
        only: load only these networks (``train.init_ebm_from`` loads the energy model alone).

    Returns:
        ``(loaded, fresh)``: the names of the networks loaded and of those left as initialised.

    Raises:
        DataError: unreadable checkpoint or NaN weights. ConfigError: no network in common, or tensors that
            do not match the run's architecture.
    """
    checkpoint = read_checkpoint(path)
    # The energy-only algorithm takes the generator it trains against; its energy model starts afresh.
    wanted = ["generator"] if config.train.algorithm == "energy" else list(models)
    if only is not None:
        wanted = [name for name in wanted if name in only]
    loaded = [name for name in wanted if name in checkpoint.weights]
    if not loaded:
        raise ConfigError(
            f"train.init_from={path}: holds networks {sorted(checkpoint.weights)}, none of the run's {sorted(models)}"
        )
    for name in loaded:
        where = f"train.init_from: {checkpoint.path / f'{name}.safetensors'}"
        tensors = checkpoint.weights[name]
        if name == "generator":
            tensors = lift_to_latent(tensors, models[name])
        load_weights(models[name], tensors, where, config)
    return loaded, [name for name in models if name not in loaded]


LATENT_FUSION = "decoder.latent_fusion."


def lift_to_latent(tensors: Mapping[str, torch.Tensor], generator: nn.Module) -> dict[str, torch.Tensor]:
    """Weights of a deterministic G(X) made into those of G(X, h) that computes the same map for every h.

    The LVM differs from the deterministic generator only by its latent fusion, a 3x3 convolution from the
    deepest features and the tiled h (C + d channels) to C channels. When ``tensors`` lack it and
    ``generator`` has it, it is set to the identity on the features (a centred Dirac kernel), zero on h,
    with zero bias, so G(X, h) = G(X) at the start and h gains influence as training goes on (the
    deterministic warm start of docs/training.md). Other weights are returned unchanged.
    """
    tensors = dict(tensors)
    expected = generator.state_dict()
    weight_key, bias_key = LATENT_FUSION + "weight", LATENT_FUSION + "bias"
    if weight_key not in expected or weight_key in tensors:
        return tensors
    weight = torch.zeros_like(expected[weight_key])
    channels = weight.shape[0]
    centre = (weight.shape[2] // 2, weight.shape[3] // 2)
    weight[torch.arange(channels), torch.arange(channels), centre[0], centre[1]] = 1.0
    tensors[weight_key] = weight
    if bias_key in expected:
        tensors[bias_key] = torch.zeros_like(expected[bias_key])
    return tensors


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the trained networks of a checkpoint (or a run folder's latest one) for inference.

    The networks are built from the stored config without downloading or reading pretrained weights, then
    every tensor is checked and loaded; half-precision exports are converted back to float32.

    Args:
        path: checkpoint folder or run folder.
        device: where to put the networks.

    Returns:
        :class:`LoadedModel` with the models in eval mode.

    Raises:
        DataError: unreadable files or NaN weights. ConfigError: config/weights mismatch.

    Example:
        >>> loaded = load_model("models/coop-efficientnet_lite0")  # doctest: +SKIP
        >>> probabilities = torch.sigmoid(loaded.generator(image))  # doctest: +SKIP
    """
    checkpoint = read_checkpoint(path)
    models = build_models(checkpoint.config, pretrained=False)
    restore_models(checkpoint, models)
    for module in models.values():
        module.to(device).eval()
    return LoadedModel(
        generator=models["generator"],
        ebm=models.get("ebm"),
        config=checkpoint.config,
        path=checkpoint.path,
        prediction=_stored_prediction(checkpoint),
    )


def _stored_prediction(checkpoint: Checkpoint) -> dict[str, Any]:
    """The prediction defaults stored with a model (``training.prediction``), checked to be an object.

    Raises:
        DataError: ``training`` or ``training.prediction`` in ``checkpoint.json`` is not a JSON object.
    """
    training = checkpoint.training
    where = checkpoint.path / DESCRIPTION_FILE
    if not isinstance(training, dict):
        raise DataError(f"{where}: 'training' must be an object, got {training!r}")
    prediction = training.get("prediction") or {}
    if not isinstance(prediction, dict):
        raise DataError(f"{where}: 'training.prediction' must be an object of prediction settings, got {prediction!r}")
    return dict(prediction)


def export_half(path: str | Path, output: str | Path, prediction: Mapping[str, Any] | None = None) -> Path:
    """Write an inference-only, half-precision copy of a checkpoint (weights and config; no training state).

    Args:
        path: checkpoint folder or run folder.
        output: the new checkpoint folder.
        prediction: default prediction settings to store with it (``samples``, ``refine_steps``,
            ``step_size``, ``chosen_on``), which ``gensal predict`` uses unless told otherwise.

    Returns:
        ``output``.
    """
    checkpoint = read_checkpoint(path)
    models = build_models(checkpoint.config, pretrained=False)
    restore_models(checkpoint, models)
    kept = ("step", "epoch", "finished", "stop_reason", "elapsed_seconds")
    training = {k: checkpoint.training[k] for k in kept if k in checkpoint.training}
    training["exported_from"] = checkpoint.training.get("exported_from", checkpoint.path.name)
    if prediction is not None:
        training["prediction"] = dict(prediction)
    return save_checkpoint(output, checkpoint.config, models, training=training, half=True)


def write_latest(run_dir: str | Path, checkpoint: str | Path) -> None:
    """Point ``run_dir/LATEST`` at ``checkpoint`` (a folder inside ``run_dir``), atomically."""
    write_text(Path(run_dir) / LATEST_FILE, Path(checkpoint).name + "\n")
