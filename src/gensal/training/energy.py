"""Training the energy U(Y, X) to refine maps: realistic negatives and an unrolled-refinement objective.

Paper 1 trains the energy only by Eq. 5 (MCMC-based maximum likelihood) against the generator's own
samples after K short Langevin steps. At CPU scale that energy learns what tells those samples from the
data (first sharpness, then the generator's own mistakes), and its descent from another model's map is
uncorrelated with that map's errors (docs/refine.md). Two documented options change how it is trained:

* **Negatives beyond the generator's samples** (:func:`perturb_masks`): the ground truth corrupted the way
  saliency models err (blurred, dilated, eroded, parts missing, spurious blobs, softened).
* **Unrolled refinement** (:func:`refinement_terms`): K noise-free descent steps of Eq. 2 from each
  negative, kept in the autograd graph, and the cross-entropy of where they land against the ground truth
  (the end-to-end training of structured prediction energy networks, Belanger, Yang and McCallum 2017).
  It trains exactly what refinement is used for: that descending the energy from a wrong map moves it to the
  right one, with the step size and step count used at test time. Its energy scale adapts to that step size
  by construction.

:func:`energy_step` is one step of the energy-only algorithm (``train.algorithm: energy``): the generator
from ``train.init_from`` is frozen and proposes maps (cheap: one no-grad pass), so an experiment on the
energy costs minutes, not hours. The same objective can join Algorithm 1 (``train.ebm_refine_weight``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gensal.checks import check_shape
from gensal.refinement import PROBABILITY_EPS, Space, descend_energy, to_state

CORRUPTIONS = ("blur", "dilate", "erode", "drop", "blob", "soften")
"""Kinds of :func:`perturb_masks`, each applied to an image with equal probability (one or two per map)."""


def _uniform(generator: torch.Generator | None, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _randint(generator: torch.Generator | None, low: int, high: int) -> int:
    """An integer in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def _odd(k: int) -> int:
    return k if k % 2 else k + 1


def _bump(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> Tensor:
    """A (H, W) Gaussian-shaped blob with value 1 at ``centre`` and a soft edge near ``radius``."""
    yy = torch.arange(shape[0], dtype=torch.float32)[:, None]
    xx = torch.arange(shape[1], dtype=torch.float32)[None, :]
    d2 = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2
    return torch.sigmoid((radius**2 - d2) / max(radius, 1.0) / 2.0)


def corrupt(mask: Tensor, kind: str, generator: torch.Generator | None = None) -> Tensor:
    """One corruption of one map (1, H, W) in [0, 1]; sizes are relative to the map's side.

    ``blur``: box blur twice (kernel 3-12% of the side); ``dilate`` / ``erode``: grey max / min filter (kernel
    3-10%); ``drop``: a soft disc (radius 10-30%) centred on an object pixel is removed; ``blob``: a soft disc
    (radius 5-20%) of height .5-1 appears at a random place; ``soften``: the map is pulled towards .5 by
    20-70% and blurred (an unsure model).
    """
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; valid: {', '.join(CORRUPTIONS)}")
    _, height, width = mask.shape
    side = min(height, width)
    x = mask[None]
    if kind == "blur":
        k = _odd(max(3, int(side * _uniform(generator, 0.03, 0.12))))
        for _ in range(2):
            x = F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)
    elif kind == "dilate":
        k = _odd(max(3, int(side * _uniform(generator, 0.03, 0.10))))
        x = F.max_pool2d(x, k, stride=1, padding=k // 2)
    elif kind == "erode":
        k = _odd(max(3, int(side * _uniform(generator, 0.03, 0.10))))
        x = -F.max_pool2d(-x, k, stride=1, padding=k // 2)
    elif kind == "drop":
        inside = (mask[0] > 0.5).nonzero()
        if len(inside) == 0:
            return corrupt(mask, "blob", generator)
        centre = inside[_randint(generator, 0, len(inside) - 1)].tolist()
        x = x * (1 - _bump((height, width), centre, side * _uniform(generator, 0.10, 0.30)))
    elif kind == "blob":
        centre = (_uniform(generator, 0, height - 1), _uniform(generator, 0, width - 1))
        bump = _uniform(generator, 0.5, 1.0) * _bump((height, width), centre, side * _uniform(generator, 0.05, 0.20))
        x = torch.maximum(x, bump)
    else:  # soften
        x = 0.5 + (x - 0.5) * (1 - _uniform(generator, 0.2, 0.7))
        k = _odd(max(3, int(side * 0.04)))
        x = F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)
    return x[0].clamp(0.0, 1.0)


def perturb_masks(masks: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Ground-truth maps corrupted the way saliency models err: one or two random :data:`CORRUPTIONS` each.

    Args:
        masks: (B, 1, H, W) in [0, 1].
        generator: CPU random generator (reproducible corruptions).

    Returns:
        (B, 1, H, W) in [0, 1], on the masks' device.
    """
    check_shape(masks, "B 1 H W", "masks")
    source = masks.detach().float().cpu()
    out = []
    for mask in source:
        for _ in range(_randint(generator, 1, 2)):
            mask = corrupt(mask, CORRUPTIONS[_randint(generator, 0, len(CORRUPTIONS) - 1)], generator)
        out.append(mask)
    return torch.stack(out).to(device=masks.device, dtype=masks.dtype)


def refinement_terms(
    ebm: nn.Module,
    image: Tensor,
    start: Tensor,
    target: Tensor,
    steps: int,
    step_size: float,
    space: Space = "logit",
) -> dict[str, Tensor]:
    """Unrolled refinement: K noise-free steps of Eq. 2 from ``start``, scored against ``target``.

    Args:
        ebm: energy model U(Y, X) (no BatchNorm: the chain runs in training mode with its graph kept).
        image: (B, 3, H, W) images in [0, 1].
        start: (B, 1, H, W) maps in [0, 1] to refine (wrong maps, and the ground truth itself, which
            refinement should leave alone).
        target: (B, 1, H, W) ground truth in [0, 1].
        steps: K, as at test time.
        step_size: d, as at test time.
        space: the chain's space (``logit``: logits of ``start`` clipped at :data:`PROBABILITY_EPS`).

    Returns:
        ``refine``: the cross-entropy of the refined maps against ``target`` (carries gradients to the
        energy's parameters); ``refine_mae_before`` / ``refine_mae_after``: |start - Y| and |refined - Y|
        (detached).
    """
    check_shape(start, "B 1 H W", "start")
    check_shape(target, "B 1 H W", "target")
    final = descend_energy(ebm, image, to_state(start, space), steps, step_size, space, differentiable=True)
    if space == "logit":
        loss = F.binary_cross_entropy_with_logits(final, target)
        refined = torch.sigmoid(final)
    else:
        refined = final.clamp(PROBABILITY_EPS, 1 - PROBABILITY_EPS)
        loss = F.binary_cross_entropy(refined, target)
    with torch.no_grad():
        before = (start - target).abs().mean()
        after = (refined - target).abs().mean()
    return {"refine": loss, "refine_mae_before": before, "refine_mae_after": after}


def proposals(lvm: nn.Module, image: Tensor, generator: torch.Generator | None) -> Tensor:
    """One map of the (frozen) generator per image: sigmoid(G(X, h)), h ~ N(0, I) (or G(X)); no gradient."""
    with torch.no_grad():
        features = lvm.encode(image)
        latent = getattr(lvm, "latent_dim", 0)
        h = lvm.sample_latent(image.shape[0], generator=generator).to(image.device) if latent > 0 else None
        return torch.sigmoid(lvm.decode(features, h))


def energy_objective(
    ebm: nn.Module,
    image: Tensor,
    target: Tensor,
    negatives: Tensor,
    steps: int,
    step_size: float,
    space: Space,
    refine_weight: float,
    contrastive_weight: float,
    energy_reg: float,
) -> dict[str, Tensor]:
    """The energy's loss on one batch: ``refine_weight`` times the unrolled refinement from the negatives and
    from the ground truth, plus ``contrastive_weight`` times Eq. 5 (data against the negatives) and the
    squared-energy penalty.

    Args:
        negatives: (B*M, 1, H, W) wrong maps, M per image (image-major, as ``EnergyModel`` takes them).

    Returns:
        ``energy_total`` (to minimise) and its named parts (``refine``, ``ebm``, ``energy_data``,
        ``energy_sample``, ``refine_mae_before``, ``refine_mae_after``).
    """
    batch = image.shape[0]
    per_image = negatives.shape[0] // batch
    starts = torch.cat([negatives.view(batch, per_image, *negatives.shape[1:]), target[:, None]], dim=1)
    starts = starts.flatten(0, 1)
    targets = target.repeat_interleave(per_image + 1, dim=0)
    images = image.repeat_interleave(per_image + 1, dim=0)
    terms: dict[str, Tensor] = {}
    total = torch.zeros((), device=image.device)
    if refine_weight > 0:
        terms = refinement_terms(ebm, images, starts, targets, steps, step_size, space)
        total = total + refine_weight * terms["refine"]
    if contrastive_weight > 0 or energy_reg > 0:
        # One batch for data and negatives, so that BatchNorm (the paper's energy) normalises them together.
        energies = ebm(torch.cat([target, negatives]), torch.cat([image, image.repeat_interleave(per_image, dim=0)]))
        energy_data, energy_sample = energies[:batch], energies[batch:]
        contrast = energy_data.mean() - energy_sample.mean()
        terms.update({"ebm": contrast, "energy_data": energy_data.mean(), "energy_sample": energy_sample.mean()})
        total = total + contrastive_weight * contrast
        if energy_reg > 0:
            total = total + energy_reg * (energy_data.pow(2).mean() + energy_sample.pow(2).mean())
    terms["energy_total"] = total
    return terms


def configured_energy_objective(ebm: nn.Module, image: Tensor, target: Tensor, negatives: Tensor, settings):
    """:func:`energy_objective` with the weights, steps and space of a :class:`gensal.config.TrainConfig`."""
    return energy_objective(
        ebm,
        image,
        target,
        negatives,
        settings.energy_refine_steps,
        settings.energy_step_size,
        settings.energy_langevin_space,
        settings.ebm_refine_weight,
        settings.ebm_contrastive_weight,
        settings.energy_reg,
    )


def energy_step(
    lvm: nn.Module,
    ebm: nn.Module,
    ebm_optimizer: torch.optim.Optimizer,
    image: Tensor,
    target: Tensor,
    settings,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One step of the energy-only algorithm: the frozen generator's proposal and a corrupted ground truth
    per image as negatives, :func:`energy_objective`, one Adam step of the energy model.

    Args:
        lvm: the frozen generator (eval mode, no gradients).
        ebm: the energy model being trained.
        settings: :class:`gensal.config.TrainConfig` (``energy_refine_steps``, ``energy_step_size``,
            ``energy_langevin_space``, ``ebm_refine_weight``, ``ebm_contrastive_weight``, ``energy_reg``).
    """
    negatives = torch.stack([proposals(lvm, image, generator), perturb_masks(target, generator)], dim=1).flatten(0, 1)
    terms = configured_energy_objective(ebm, image, target, negatives, settings)
    ebm_optimizer.zero_grad(set_to_none=True)
    terms["energy_total"].backward()
    ebm_optimizer.step()
    return {name: float(value.detach()) for name, value in terms.items()}
