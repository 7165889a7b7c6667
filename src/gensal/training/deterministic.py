"""Ablation ``deterministic``: the generator without a latent vector, G(X), trained with cross-entropy."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gensal.training.losses import cross_entropy


def deterministic_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, image: Tensor, target: Tensor
) -> dict[str, float]:
    """One supervised step: per-pixel binary cross-entropy of G(X) against Y; updates ``model`` in place.

    Args:
        model: deterministic generator (``encode``/``decode`` with ``h=None``).
        optimizer: Adam over its parameters.
        image: (B, 3, H, W) images in [0, 1].
        target: (B, 1, H, W) observed maps in [0, 1].

    Returns:
        ``{"ce": loss, "mae": |sigmoid(G(X)) - Y| before the update}``.
    """
    logits = model.decode(model.encode(image), None)
    loss = cross_entropy(logits, target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        mae = (torch.sigmoid(logits) - target).abs().mean()
    return {"ce": float(loss.detach()), "mae": float(mae)}
