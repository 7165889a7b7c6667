"""Ablation ``deterministic``: the generator without a latent vector, G(X), trained with cross-entropy."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gensal.training.losses import cross_entropy, soft_iou


def deterministic_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, image: Tensor, target: Tensor, iou_weight: float = 0.0
) -> dict[str, float]:
    """One supervised step: per-pixel binary cross-entropy of G(X) against Y (plus ``iou_weight`` times the
    soft IoU loss, an option that is not in the paper); updates ``model`` in place.

    Args:
        model: deterministic generator (``encode``/``decode`` with ``h=None``).
        optimizer: Adam over its parameters.
        image: (B, 3, H, W) images in [0, 1].
        target: (B, 1, H, W) observed maps in [0, 1].
        iou_weight: weight of :func:`~gensal.training.losses.soft_iou` (0: cross-entropy only, the paper).

    Returns:
        ``{"ce": cross-entropy, "mae": |sigmoid(G(X)) - Y| before the update}``, plus ``"iou"`` when
        ``iou_weight > 0``.
    """
    logits = model.decode(model.encode(image), None)
    ce = cross_entropy(logits, target)
    terms = {"ce": ce}
    if iou_weight > 0:
        terms["iou"] = soft_iou(logits, target)
    loss = ce + iou_weight * terms.get("iou", 0.0)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        mae = (torch.sigmoid(logits) - target).abs().mean()
    return {**{name: float(value.detach()) for name, value in terms.items()}, "mae": float(mae)}
