"""Algorithm 2 of paper 1: cooperative learning while recovering, from scribbles (section 4).

Each iteration first *recovers* the full saliency map of every training image from its partial annotation
Y' (scribbles: 1 = salient, 0 = background on the visible pixels O), then runs Algorithm 1's cooperative
sampling and learning with the recovered maps as the data:

====  =========================================================================================
line  what the code does
====  =========================================================================================
3     h' from h ~ N(0, I) by K Langevin steps of Eq. 7 with the mask O in the likelihood (only the
      visible pixels inform h)
4     initial recovery Y^' = G(X, h')
5     Y^' revised into Y~' by K Langevin steps of Eq. 2 on the energy (the same revision as line 5 of
      Algorithm 1, with noise)
6-9   as lines 3-6 of Algorithm 1 (:func:`gensal.training.cooperative.sample_and_learn`)
10    energy update, Eq. 5 with Y~' in place of Y
11    generator update, Eq. 8 on (h~, Y~), plus lambda * partial CE on the scribbles
====  =========================================================================================

The lambda * CE term of section 5 needs a ground truth; with scribbles it is the *partial* cross-entropy
over the labelled pixels (sum O * BCE / sum O), the usual loss of scribble-supervised saliency (Zhang et
al. 2020). The paper does not say what replaces Y there; this choice and its reasons are in
``docs/training.md``. The encoder runs once per iteration and is shared by recovery and sampling.

When the full masks are known (DUTS-TR here), the quality of the recovered maps is logged against them:
``recovery_mae_lvm`` (|Y^' - Y|), ``recovery_mae`` (|Y~' - Y|) and ``recovery_scribble_agreement``
(fraction of labelled pixels where Y~' rounds to the scribble's label).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gensal.config import TrainConfig
from gensal.training.cooperative import detach_features, infer_latent, revise_proposal, sample_and_learn


def recover(
    lvm: nn.Module,
    ebm: nn.Module,
    image: Tensor,
    fixed_features: list[Tensor],
    partial: Tensor,
    visible: Tensor,
    settings: TrainConfig,
    generator: torch.Generator | None,
) -> tuple[Tensor, Tensor]:
    """Lines 3-5 of Algorithm 2: cooperative recovery of full maps from partial ones.

    Args:
        lvm: generator G(X, h).
        ebm: energy model U(Y, X).
        image: (B, 3, H, W) images.
        fixed_features: the encoder's output for ``image``, detached.
        partial: (B, 1, H, W) annotation Y' in [0, 1] (values off the visible pixels are ignored).
        visible: (B, 1, H, W) mask O: 1 on labelled pixels, 0 elsewhere.
        settings: Langevin steps and sizes, sigma, likelihood reduction.
        generator: source of h and the Langevin noise.

    Returns:
        ``(lvm_recovery, recovered)``: Y^' = G(X, h') and its revision Y~' by the energy, both detached.
    """
    h_start = lvm.sample_latent(image.shape[0], generator=generator).to(image.device)
    h_inferred = infer_latent(lvm, fixed_features, partial, h_start, settings, generator, mask=visible)
    with torch.no_grad():
        logits = lvm.decode(fixed_features, h_inferred)
    recovered = revise_proposal(ebm, image, logits, settings, generator)
    return torch.sigmoid(logits), recovered


def weak_step(
    lvm: nn.Module,
    ebm: nn.Module,
    lvm_optimizer: torch.optim.Optimizer,
    ebm_optimizer: torch.optim.Optimizer,
    image: Tensor,
    partial: Tensor,
    visible: Tensor,
    settings: TrainConfig,
    ce_weight: float,
    generator: torch.Generator | None = None,
    full: Tensor | None = None,
) -> dict[str, float]:
    """One iteration of Algorithm 2 on a batch; updates both models in place.

    Args:
        partial: (B, 1, H, W) scribble labels as a map: 1 salient, 0 background (anything off ``visible``).
        visible: (B, 1, H, W) 1 where a scribble labels the pixel.
        full: (B, 1, H, W) complete masks, only to log the recovery's quality (never used for learning).
        (the other arguments as in :func:`gensal.training.cooperative.cooperative_step`)

    Returns:
        The scalars of :func:`~gensal.training.cooperative.sample_and_learn` (``mae_*`` there compare with
        the recovered maps), plus ``visible_fraction`` and, with ``full``, the recovery's quality (see the
        module notes).
    """
    features = lvm.encode(image)
    lvm_recovery, recovered = recover(lvm, ebm, image, detach_features(features), partial, visible, settings, generator)
    scalars = sample_and_learn(
        lvm,
        ebm,
        lvm_optimizer,
        ebm_optimizer,
        image,
        recovered,
        partial,
        visible,
        settings,
        ce_weight,
        generator,
        features=features,
    )
    with torch.no_grad():
        scalars["visible_fraction"] = float(visible.mean())
        labelled = visible.sum().clamp_min(1.0)
        agreement = ((recovered > 0.5).float() == (partial > 0.5).float()).float()
        scalars["recovery_scribble_agreement"] = float((agreement * visible).sum() / labelled)
        if full is not None:
            scalars["recovery_mae_lvm"] = float((lvm_recovery - full).abs().mean())
            scalars["recovery_mae"] = float((recovered - full).abs().mean())
    return scalars
