"""Learning-rate and loss-weight schedules as pure functions of the training position (paper 1, section 5)."""

from __future__ import annotations

import math


def ce_weight_at(step: int, total_steps: int, initial: float) -> float:
    """Weight lambda of the extra cross-entropy loss: decreases linearly from ``initial`` to 0.

    ``lambda(step) = initial * (1 - step / total_steps)``, clipped at 0 after the planned steps.

    Example:
        >>> ce_weight_at(0, 100, 1.0), ce_weight_at(50, 100, 1.0), ce_weight_at(100, 100, 1.0)
        (1.0, 0.5, 0.0)
    """
    if total_steps <= 0:
        return 0.0
    return initial * max(0.0, 1.0 - step / total_steps)


def lr_at(base_lr: float, epoch: int, decay_factor: float, decay_every: int) -> float:
    """Step decay: ``base_lr * decay_factor ** (epoch // decay_every)`` (paper: 10% less every 20 epochs).

    Args:
        base_lr: initial learning rate.
        epoch: 0-based epoch index.
        decay_factor: multiplier applied at each decay (0.9 for "decrease by 10%").
        decay_every: epochs between decays.

    Example:
        >>> lr_at(1e-3, 19, 0.9, 20), lr_at(1e-3, 20, 0.9, 20)
        (0.001, 0.0009000000000000001)
    """
    return base_lr * decay_factor ** (epoch // decay_every)


def cosine_lr_at(base_lr: float, step: int, total_steps: int, min_ratio: float) -> float:
    """Cosine decay per step from ``base_lr`` to ``min_ratio * base_lr`` at ``total_steps`` (then flat).

    ``lr = base_lr * (min_ratio + (1 - min_ratio) * (1 + cos(pi * t)) / 2)`` with ``t = min(step / total, 1)``.
    Not in paper 1 (which decays by 10% every 20 epochs); an option for short CPU runs (docs/training.md).

    Example:
        >>> cosine_lr_at(1.0, 0, 100, 0.0), cosine_lr_at(1.0, 50, 100, 0.0), cosine_lr_at(1.0, 100, 100, 0.1)
        (1.0, 0.5, 0.1)
    """
    if total_steps <= 0:
        return base_lr * min_ratio
    t = min(max(step, 0) / total_steps, 1.0)
    return base_lr * (min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t)))
