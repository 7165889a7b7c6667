"""Objectives of paper 1 as small functions returning dicts of named scalars (for logging and tests)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gensal.checks import check_shape


def ebm_losses(energy_data: Tensor, energy_sample: Tensor, energy_reg: float = 0.0) -> dict[str, Tensor]:
    """Energy-model objective whose gradient is Eq. 5 of paper 1 (MCMC-based maximum likelihood).

    ``ebm = mean U(Y_data) - mean U(Y_sample) + energy_reg * (mean U(Y_data)^2 + mean U(Y_sample)^2)``;
    descending it lowers the energy of observed maps and raises that of the cooperative samples. The
    squared-energy penalty (Du & Mordatch 2019) is an option that keeps energies near zero; the paper has
    none and it is off by default.

    Args:
        energy_data: (B,) energies U(Y_i, X_i) of the ground-truth maps.
        energy_sample: (B,) energies U(Y~_i, X_i) of the revised samples.
        energy_reg: weight of the squared-energy penalty.

    Returns:
        ``{"ebm": loss, "energy_data": mean U(Y), "energy_sample": mean U(Y~)}`` (0-dim tensors; only
        ``ebm`` carries gradients that matter).
    """
    check_shape(energy_data, "B", "energy_data")
    check_shape(energy_sample, "B", "energy_sample")
    mean_data, mean_sample = energy_data.mean(), energy_sample.mean()
    loss = mean_data - mean_sample
    if energy_reg > 0:
        loss = loss + energy_reg * (energy_data.pow(2).mean() + energy_sample.pow(2).mean())
    return {"ebm": loss, "energy_data": mean_data.detach(), "energy_sample": mean_sample.detach()}


def gaussian_nll(logits: Tensor, target: Tensor, sigma: float) -> Tensor:
    """Negative log-likelihood of Eq. 3 up to a constant: ``||target - sigmoid(logits)||^2 / (2 sigma^2)``.

    Averaged over pixels and images rather than summed: this only rescales the gradient of Eq. 8 by the
    constant number of pixels D (to which Adam is invariant) and keeps the term on the same per-pixel scale
    as the cross-entropy it is added to.

    Args:
        logits: (B, 1, H, W) generator output G(X, h) before the sigmoid.
        target: (B, 1, H, W) map the generator should explain (Y~ for Algorithm 1, Y for ABP).
        sigma: observation standard deviation of Eq. 3.
    """
    check_shape(logits, "B 1 H W", "logits")
    check_shape(target, "B 1 H W", "target")
    return (target - torch.sigmoid(logits)).pow(2).mean() / (2.0 * sigma**2)


def cross_entropy(logits: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Per-pixel binary cross-entropy of sigmoid(logits) against a (soft) mask in [0, 1], averaged.

    Args:
        logits: (B, 1, H, W) generator output before the sigmoid.
        target: (B, 1, H, W) ground truth in [0, 1].
        mask: optional (B, 1, H, W) weights O (1 where the target is observed, e.g. scribbled pixels): the
            "partial" cross-entropy sum(O * BCE) / sum(O) of scribble-supervised saliency (0 if O is empty).
    """
    check_shape(logits, "B 1 H W", "logits")
    check_shape(target, "B 1 H W", "target")
    if mask is None:
        return F.binary_cross_entropy_with_logits(logits, target)
    check_shape(mask, "B 1 H W", "mask")
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (mask * per_pixel).sum() / mask.sum().clamp_min(1.0)


def soft_iou(logits: Tensor, target: Tensor) -> Tensor:
    """Soft IoU loss ``1 - sum(p * y) / sum(p + y - p * y)`` per image (p = sigmoid(logits)), averaged.

    Not in paper 1: an option (``train.iou_weight``), the BCE + IoU objective common in salient-object
    detection (e.g. BASNet; the authors' code adds a weighted IoU to its cross-entropy), for every algorithm
    trained on full masks (docs/training.md).

    Args:
        logits: (B, 1, H, W) generator output before the sigmoid.
        target: (B, 1, H, W) ground truth in [0, 1].
    """
    check_shape(logits, "B 1 H W", "logits")
    check_shape(target, "B 1 H W", "target")
    p = torch.sigmoid(logits).flatten(1)
    y = target.flatten(1)
    intersection = (p * y).sum(dim=1)
    union = (p + y - p * y).sum(dim=1)
    return (1.0 - intersection / union.clamp_min(1e-6)).mean()


def lvm_losses(
    logits: Tensor,
    revised: Tensor,
    target: Tensor,
    sigma: float,
    ce_weight: float,
    ce_mask: Tensor | None = None,
    iou_weight: float = 0.0,
) -> dict[str, Tensor]:
    """Generator objective: Eq. 8 (learn from the revised maps) plus lambda * CE on the ground truth.

    Args:
        logits: (B, 1, H, W) G(X, h~) before the sigmoid.
        revised: (B, 1, H, W) maps the generator learns from (Y~ in Algorithm 1, Y in ABP); no gradient.
        target: (B, 1, H, W) ground truth Y for the cross-entropy term.
        sigma: observation standard deviation of Eq. 3.
        ce_weight: lambda, the weight of the cross-entropy term (section 5).
        ce_mask: pixels where ``target`` is observed (Algorithm 2: the scribbles); None: all.
        iou_weight: weight of :func:`soft_iou` against ``target`` inside lambda's term (an option, not in the
            paper; only with ``ce_mask=None``).

    Returns:
        ``{"lvm": Gaussian NLL, "ce": cross-entropy, "lvm_total": lvm + ce_weight * (ce + iou_weight * iou)}``,
        plus ``"iou"`` when ``iou_weight > 0``.
    """
    nll = gaussian_nll(logits, revised.detach(), sigma)
    ce = cross_entropy(logits, target, ce_mask)
    terms = {"lvm": nll, "ce": ce}
    supervised = ce
    if iou_weight > 0:
        if ce_mask is not None:
            raise ValueError("iou_weight needs a full ground truth (ce_mask=None)")
        terms["iou"] = soft_iou(logits, target)
        supervised = ce + iou_weight * terms["iou"]
    terms["lvm_total"] = nll + ce_weight * supervised
    return terms
