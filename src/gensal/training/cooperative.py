"""Algorithm 1 of paper 1: cooperative training of the coarse predictor (LVM) and the fine one (EBM).

One call of :func:`cooperative_step` is one iteration of Algorithm 1 on a batch, lines 3-8 in order. The
outer loop (epochs, schedules, logging, checkpoints) lives in :mod:`gensal.training.loop`.

Choices the paper leaves open (see ``docs/training.md``):

* The energy model's Langevin revision (line 5) runs with the energy model in eval mode, so U(Y, X) is a
  function of each image alone (BatchNorm uses running statistics, as at prediction time). Its update
  (line 7) evaluates observed and revised maps in one batch, so they share BatchNorm statistics and the
  contrast of Eq. 5 is not normalised away.
* ``energy_langevin_space="logit"`` (default) runs Eq. 2 on z with Y = sigmoid(z), as the authors' code
  does; ``"probability"`` runs it on the map in [0, 1] without clamping (Eq. 2 read literally).
* The encoder runs once per iteration; the latent Langevin steps (line 6) reuse its detached features,
  and the generator update (line 8) back-propagates through the features computed at line 4.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gensal.config import TrainConfig
from gensal.refinement import revise_with_energy
from gensal.sampling import langevin_latent
from gensal.training.energy import configured_energy_objective, perturb_masks
from gensal.training.losses import ebm_losses, lvm_losses


def detach_features(features):
    """Detach encoder features (a tensor or a list/tuple of tensors) from the graph."""
    if isinstance(features, Tensor):
        return features.detach()
    return type(features)(f.detach() for f in features)


def infer_latent(
    lvm: nn.Module,
    fixed_features: list[Tensor],
    target: Tensor,
    h_start: Tensor,
    settings: TrainConfig,
    generator: torch.Generator | None,
    mask: Tensor | None = None,
) -> Tensor:
    """K Langevin steps of Eq. 7 from ``h_start`` towards p(h | target, X), through the decoder only.

    Line 6 of Algorithm 1, the inference step of ABP and (with the scribbles' ``mask``) line 3 of
    Algorithm 2. ``fixed_features`` are the encoder's detached output; returns h, detached.
    """
    return langevin_latent(
        lambda h: torch.sigmoid(lvm.decode(fixed_features, h)),
        target,
        h_start,
        settings.latent_langevin_steps,
        settings.latent_step_size,
        settings.sigma,
        mask=mask,
        noise=True,
        generator=generator,
        reduction=settings.latent_likelihood,
    )


def revise_proposal(
    ebm: nn.Module,
    image: Tensor,
    logits: Tensor,
    settings: TrainConfig,
    generator: torch.Generator | None,
) -> Tensor:
    """Line 5: K Langevin steps of Eq. 2 on the energy, starting from the proposal sigmoid(logits).

    Args:
        ebm: energy model U(Y, X).
        image: (B, 3, H, W) images in [0, 1].
        logits: (B, 1, H, W) proposal logits (no gradient needed).
        settings: ``energy_langevin_steps``, ``energy_step_size``, ``energy_langevin_noise`` and
            ``energy_langevin_space``.
        generator: source of the Langevin noise.

    Returns:
        Revised maps Y~ (B, 1, H, W), detached. In ``probability`` space they may leave [0, 1].
    """
    space = settings.energy_langevin_space
    state = logits.detach() if space == "logit" else torch.sigmoid(logits.detach())
    return revise_with_energy(
        ebm,
        image,
        state,
        settings.energy_langevin_steps,
        settings.energy_step_size,
        space,
        noise=settings.energy_langevin_noise,
        generator=generator,
    )


def cooperative_step(
    lvm: nn.Module,
    ebm: nn.Module,
    lvm_optimizer: torch.optim.Optimizer,
    ebm_optimizer: torch.optim.Optimizer,
    image: Tensor,
    target: Tensor,
    settings: TrainConfig,
    ce_weight: float,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """One iteration of Algorithm 1 (paper 1) on a batch; updates both models in place.

    Args:
        lvm: generator G(X, h) with ``encode``, ``decode``, ``sample_latent``.
        ebm: energy model U(Y, X).
        lvm_optimizer: Adam over the generator's parameters.
        ebm_optimizer: Adam over the energy model's parameters.
        image: (B, 3, H, W) images X in [0, 1].
        target: (B, 1, H, W) observed saliency maps Y in [0, 1].
        settings: Langevin steps/sizes, sigma and the energy penalty.
        ce_weight: current lambda of the extra cross-entropy term.
        generator: source of h and of the Langevin noise (explicit, for reproducibility).

    Returns:
        Named scalars: ``ebm``, ``energy_data``, ``energy_sample``, ``lvm``, ``ce``, ``lvm_total``,
        ``ce_weight``, ``mae_proposal`` (|Y^ - Y|), ``mae_revised`` (|Y~ - Y|), ``revision`` (|Y~ - Y^|)
        and ``latent_norm`` (mean ||h~||).
    """
    return sample_and_learn(
        lvm, ebm, lvm_optimizer, ebm_optimizer, image, target, target, None, settings, ce_weight, generator
    )


def sample_and_learn(
    lvm: nn.Module,
    ebm: nn.Module,
    lvm_optimizer: torch.optim.Optimizer,
    ebm_optimizer: torch.optim.Optimizer,
    image: Tensor,
    data: Tensor,
    ce_target: Tensor,
    ce_mask: Tensor | None,
    settings: TrainConfig,
    ce_weight: float,
    generator: torch.Generator | None,
    features: list[Tensor] | None = None,
) -> dict[str, float]:
    """Cooperative sampling and learning: lines 3-8 of Algorithm 1, which are lines 6-11 of Algorithm 2.

    Args:
        data: (B, 1, H, W) the maps the energy model learns to prefer (Eq. 5): the ground truth Y in
            Algorithm 1, the recovered maps Y~' in Algorithm 2.
        ce_target, ce_mask: target and observed-pixel mask of the lambda * CE term (Y and None in
            Algorithm 1; the scribbles and their mask O in Algorithm 2).
        features: the encoder's output for ``image`` with its graph, if already computed.
        (the other arguments as in :func:`cooperative_step`)
    """
    batch = image.shape[0]
    # Line 3: draw h^ ~ N(0, I_d).
    h_proposal = lvm.sample_latent(batch, generator=generator).to(image.device)
    # Line 4: initial prediction Y^ = G(X, h^). The features keep their graph for the update of line 8.
    if features is None:
        features = lvm.encode(image)
    fixed_features = detach_features(features)
    with torch.no_grad():
        proposal_logits = lvm.decode(fixed_features, h_proposal)
    proposal = torch.sigmoid(proposal_logits)
    # Line 5: revise Y^ into Y~ with K Langevin steps on the energy (Eq. 2).
    revised = revise_proposal(ebm, image, proposal_logits, settings, generator)
    # Line 6: revise h^ into h~ given Y~ with K Langevin steps on the latent posterior (Eq. 7).
    h_revised = infer_latent(lvm, fixed_features, revised, h_proposal, settings, generator)
    # Line 7: update theta with Eq. 5; data and samples share one batch (and its BatchNorm statistics).
    if settings.ebm_refine_weight > 0 or settings.ebm_perturbed_negatives or settings.ebm_contrastive_weight != 1:
        # Options (docs/refine.md): corrupted ground truths beside the revised samples, unrolled refinement.
        negatives = revised[:, None]
        if settings.ebm_perturbed_negatives:
            negatives = torch.cat([negatives, perturb_masks(data, generator)[:, None]], dim=1)
        ebm_terms = configured_energy_objective(ebm, image, data, negatives.flatten(0, 1), settings)
        ebm_loss = ebm_terms.pop("energy_total")
    else:
        energies = ebm(torch.cat([data, revised]), torch.cat([image, image]))
        ebm_terms = ebm_losses(energies[:batch], energies[batch:], settings.energy_reg)
        ebm_loss = ebm_terms["ebm"]
    ebm_optimizer.zero_grad(set_to_none=True)
    ebm_loss.backward()
    ebm_optimizer.step()
    # Line 8: update alpha with Eq. 8 on (h~, Y~), plus lambda * CE(G(X, h~), Y) (section 5).
    logits = lvm.decode(features, h_revised)
    lvm_terms = lvm_losses(
        logits,
        revised,
        ce_target,
        settings.sigma,
        ce_weight,
        ce_mask,
        iou_weight=0.0 if ce_mask is not None else settings.iou_weight,
    )
    lvm_optimizer.zero_grad(set_to_none=True)
    lvm_terms["lvm_total"].backward()
    lvm_optimizer.step()

    terms = {**ebm_terms, **lvm_terms}
    scalars = {name: float(value.detach()) for name, value in terms.items()}
    with torch.no_grad():
        scalars["ce_weight"] = float(ce_weight)
        scalars["mae_proposal"] = float((proposal - data).abs().mean())
        scalars["mae_revised"] = float((revised - data).abs().mean())
        scalars["revision"] = float((revised - proposal).abs().mean())
        scalars["latent_norm"] = float(h_revised.norm(dim=1).mean())
    return scalars
