"""SalGAN training (paper 2, Sec. 4): BCE pre-training of the generator, then adversarial training.

The schedule, as in the paper and the official code (docs/salgan.md):

1. For ``train.bce_epochs`` epochs every batch updates the generator with the content loss alone: binary
   cross-entropy between the predicted and the ground-truth maps, both average-pooled by
   ``train.bce_downsample`` (4: "BCE/4", 64 x 48 maps, Sec. 5.1, Table 2).
2. Then batches alternate (Sec. 4.2: "we alternate the training of the generator and discriminator after
   each iteration (batch)"; the official ``02-train.py`` starts with the discriminator):

   * even batches of the adversarial phase update the discriminator: BCE of D on (X, Y) labelled 1 and
     on (X, sigmoid(G(X))) labelled 0, averaged over the 2B pairs;
   * odd batches update the generator with Eq. 3, ``L = alpha * BCE/4 - log D(X, sigmoid(G(X)))``.

With ``train.adversarial: false`` every batch is a BCE batch: the BCE-only baseline the paper compares
against (Table 3, Fig. 3). Both networks use AdaGrad (``lr_generator``, ``lr_discriminator``,
``weight_decay``); :func:`gensal.training.loop.make_optimizers` builds them.

Every loss takes logits and applies the sigmoid inside, in log space, so that saturated predictions give
finite losses and gradients.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gensal.checks import check_shape
from gensal.config import TrainConfig

Phase = Literal["bce", "discriminator", "generator"]


def salgan_phase(step: int, steps_per_epoch: int, settings: TrainConfig) -> Phase:
    """Which network the 0-based ``step`` updates, and with which loss.

    Example:
        >>> from gensal.config import TrainConfig
        >>> settings = TrainConfig(algorithm="salgan", bce_epochs=1)
        >>> [salgan_phase(step, 2, settings) for step in range(5)]
        ['bce', 'bce', 'discriminator', 'generator', 'discriminator']
    """
    bce_steps = settings.bce_epochs * steps_per_epoch
    if not settings.adversarial or step < bce_steps:
        return "bce"
    return "discriminator" if (step - bce_steps) % 2 == 0 else "generator"


def downsampled_bce(logits: Tensor, target: Tensor, factor: int) -> Tensor:
    """SalGAN's content loss: BCE between maps average-pooled by ``factor`` (paper 2, Eq. 2, "BCE/4").

    As the official code: the predicted probabilities ``p = sigmoid(logits)`` and the target are each
    average-pooled over ``factor x factor`` windows (rows and columns that do not fill a window are
    dropped), then ``-mean(t log p + (1 - t) log(1 - p))``. The pooled ``log p`` is computed as
    ``logsumexp(logsigmoid(logits)) - log(factor^2)`` over each window (and ``log(1 - p)`` from
    ``-logits``), which is exact and finite for any logits. ``factor = 1`` is
    ``binary_cross_entropy_with_logits``.

    Args:
        logits: (B, 1, H, W) generator output before the sigmoid.
        target: (B, 1, H, W) ground-truth maps in [0, 1].
        factor: pooling factor (>= 1).

    Returns:
        0-dim tensor.
    """
    check_shape(logits, "B 1 H W", "logits")
    check_shape(target, "B 1 H W", "target")
    if factor == 1:
        return F.binary_cross_entropy_with_logits(logits, target)
    batch, _, height, width = logits.shape
    rows, cols = height // factor, width // factor
    windows = logits[..., : rows * factor, : cols * factor].reshape(batch, 1, rows, factor, cols, factor)
    log_area = math.log(factor * factor)
    log_p = torch.logsumexp(F.logsigmoid(windows), dim=(3, 5)) - log_area
    log_not_p = torch.logsumexp(F.logsigmoid(-windows), dim=(3, 5)) - log_area
    pooled_target = F.avg_pool2d(target, factor)
    return -(pooled_target * log_p + (1.0 - pooled_target) * log_not_p).mean()


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> dict[str, Tensor]:
    """The discriminator's objective: BCE of D with ground-truth maps labelled 1 and generated maps 0.

    Averaged over the 2B pairs, as the official code (one BCE over the concatenated outputs).

    Args:
        real_logits: (B,) logits of D(X, Y) for the ground-truth maps Y.
        fake_logits: (B,) logits of D(X, sigmoid(G(X))).

    Returns:
        ``{"discriminator": loss, "d_real": mean D(X, Y), "d_fake": mean D(X, G(X))}`` (the last two are
        probabilities, detached).
    """
    check_shape(real_logits, "B", "real_logits")
    check_shape(fake_logits, "B", "fake_logits")
    loss = 0.5 * (
        F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    )
    return {
        "discriminator": loss,
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def generator_losses(
    logits: Tensor, target: Tensor, fake_logits: Tensor, bce_weight: float, factor: int
) -> dict[str, Tensor]:
    """The generator's adversarial-phase objective, Eq. 3: ``alpha * BCE/4 - log D(X, sigmoid(G(X)))``.

    Args:
        logits: (B, 1, H, W) generator output before the sigmoid.
        target: (B, 1, H, W) ground-truth maps in [0, 1].
        fake_logits: (B,) logits of D(X, sigmoid(logits)), with gradients to ``logits``.
        bce_weight: alpha (paper: 0.05).
        factor: pooling factor of the content loss.

    Returns:
        ``{"bce": BCE/4, "adversarial": -mean log D, "generator": the total, "d_fake": mean D}``.
    """
    check_shape(fake_logits, "B", "fake_logits")
    bce = downsampled_bce(logits, target, factor)
    # -log D = -log sigmoid(logit) = BCE-with-logits against the label 1 ("real").
    adversarial = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return {
        "bce": bce,
        "adversarial": adversarial,
        "generator": bce_weight * bce + adversarial,
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def _trainable(module: nn.Module) -> list[nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def salgan_step(
    generator: nn.Module,
    discriminator: nn.Module | None,
    generator_optimizer: torch.optim.Optimizer,
    discriminator_optimizer: torch.optim.Optimizer | None,
    image: Tensor,
    target: Tensor,
    settings: TrainConfig,
    phase: Phase,
) -> dict[str, float]:
    """One SalGAN update on a batch: a BCE, discriminator or generator step (see :func:`salgan_phase`).

    Args:
        generator: SalGAN generator, ``generator(image)`` -> logits (B, 1, H, W).
        discriminator: ``discriminator(image, saliency)`` -> logits (B,); ``None`` for the BCE-only baseline.
        generator_optimizer: AdaGrad over the generator's trainable parameters.
        discriminator_optimizer: AdaGrad over the discriminator's; ``None`` without a discriminator.
        image: (B, 3, H, W) images in [0, 1].
        target: (B, 1, H, W) ground-truth fixation maps in [0, 1].
        settings: ``bce_weight`` and ``bce_downsample``.
        phase: ``bce``, ``discriminator`` or ``generator``.

    Returns:
        Named scalars. ``bce``: ``bce`` (BCE/4) and ``mae``. ``discriminator``: ``discriminator``,
        ``d_real``, ``d_fake`` and ``bce`` of the current generator. ``generator``: ``bce``,
        ``adversarial``, ``generator``, ``d_fake`` (before the update) and ``mae``.

    Raises:
        ValueError: an adversarial phase without a discriminator.
    """
    factor = settings.bce_downsample
    if phase == "bce":
        logits = generator(image)
        loss = downsampled_bce(logits, target, factor)
        generator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        generator_optimizer.step()
        scalars = {"bce": float(loss.detach())}
    elif discriminator is None or discriminator_optimizer is None:
        raise ValueError(f"the SalGAN {phase} phase needs a discriminator (train.adversarial is false)")
    elif phase == "discriminator":
        with torch.no_grad():
            logits = generator(image)
        fake = torch.sigmoid(logits)
        terms = discriminator_loss(discriminator(image, target), discriminator(image, fake))
        discriminator_optimizer.zero_grad(set_to_none=True)
        terms["discriminator"].backward()
        discriminator_optimizer.step()
        scalars = {name: float(value.detach()) for name, value in terms.items()}
        scalars["bce"] = float(downsampled_bce(logits, target, factor))
        return scalars
    elif phase == "generator":
        logits = generator(image)
        fake_logits = discriminator(image, torch.sigmoid(logits))
        terms = generator_losses(logits, target, fake_logits, settings.bce_weight, factor)
        generator_optimizer.zero_grad(set_to_none=True)
        # Gradients reach the generator through D, but D's own parameters get none (D is not updated here).
        terms["generator"].backward(inputs=_trainable(generator))
        generator_optimizer.step()
        scalars = {name: float(value.detach()) for name, value in terms.items()}
    else:
        raise ValueError(f"unknown SalGAN phase {phase!r}; expected bce, discriminator or generator")
    with torch.no_grad():
        scalars["mae"] = float((torch.sigmoid(logits) - target).abs().mean())
    return scalars
