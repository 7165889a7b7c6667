"""Ablation ``lvm-abp``: the generator G(X, h) trained alone by alternating back-propagation.

Han et al., "Alternating back-propagation for generator network", AAAI 2017, applied to saliency as in
paper 1 without its energy model: each iteration (i) infers h~ from the observed map Y by Langevin dynamics
on the latent posterior (Eq. 7, starting from h ~ N(0, I) like line 3 of Algorithm 1), then (ii) updates
the generator with Eq. 8 using Y itself as the data. It keeps the same lambda * CE term as the cooperative
model (section 5), so the two runs differ only by the energy model's revision of the targets.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gensal.config import TrainConfig
from gensal.training.cooperative import detach_features, infer_latent
from gensal.training.losses import lvm_losses


def abp_step(
    lvm: nn.Module,
    lvm_optimizer: torch.optim.Optimizer,
    image: Tensor,
    target: Tensor,
    settings: TrainConfig,
    ce_weight: float,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One alternating back-propagation iteration on a batch; updates the generator in place.

    Args:
        lvm: generator G(X, h) with ``encode``, ``decode``, ``sample_latent``.
        lvm_optimizer: Adam over its parameters.
        image: (B, 3, H, W) images in [0, 1].
        target: (B, 1, H, W) observed maps Y in [0, 1].
        settings: ``latent_langevin_steps``, ``latent_step_size``, ``sigma``.
        ce_weight: current lambda of the cross-entropy term.
        generator: source of h and of the Langevin noise.

    Returns:
        Named scalars: ``lvm``, ``ce``, ``lvm_total``, ``ce_weight``, ``mae`` (|G(X, h~) - Y| before the
        update) and ``latent_norm``.
    """
    h_prior = lvm.sample_latent(image.shape[0], generator=generator).to(image.device)
    features = lvm.encode(image)
    fixed_features = detach_features(features)
    # Inference step: h~ ~ p(h | Y, X) by Langevin dynamics (Eq. 7) given the ground truth.
    h_posterior = infer_latent(lvm, fixed_features, target, h_prior, settings, generator)
    # Learning step: Eq. 8 with Y as the data, plus lambda * CE.
    logits = lvm.decode(features, h_posterior)
    terms = lvm_losses(logits, target, target, settings.sigma, ce_weight, iou_weight=settings.iou_weight)
    lvm_optimizer.zero_grad(set_to_none=True)
    terms["lvm_total"].backward()
    lvm_optimizer.step()

    scalars = {name: float(value.detach()) for name, value in terms.items()}
    with torch.no_grad():
        scalars["ce_weight"] = float(ce_weight)
        scalars["mae"] = float((torch.sigmoid(logits) - target).abs().mean())
        scalars["latent_norm"] = float(h_posterior.norm(dim=1).mean())
    return scalars
