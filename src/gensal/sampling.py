"""Langevin dynamics in data space (the EBM, paper 1 Eq. 2) and latent space (the LVM, Eq. 7).

Both are pure functions of a callable and a starting point. Gradients are taken with
``torch.autograd.grad`` with respect to the chain state only, so nothing accumulates in any model
parameter's ``.grad``; they run under ``torch.enable_grad()`` (so they work inside ``torch.no_grad()``)
and return detached tensors. Models keep whatever mode (train/eval) the caller set: with a BatchNorm EBM
in training mode the samples of a batch are coupled (see :mod:`gensal.models.ebm`).

Which space Y lives in
----------------------
In the paper Y is the saliency map itself, in [0, 1] (the ground-truth maps): the EBM scores U(Y, X) and
the LVM's observation model is Y = G(X, h) + eps, eps ~ N(0, sigma^2 I) (Eq. 3), with G's output a
saliency map. gensal's models return logits, so callers pass saliency-space callables:

* data space: ``energy = lambda y: ebm(y, image)`` on maps ``y`` in [0, 1]; the paper does not clip
  (``clamp=None``, the default), and the EBM accepts values outside [0, 1]. ``clamp=(0.0, 1.0)`` keeps
  the chain in the valid range (a projection that the paper does not describe). (The official code runs
  the chain on logits and feeds ``sigmoid(logits)`` to the EBM; pass ``lambda z: ebm(torch.sigmoid(z),
  image)`` on logits to reproduce that.)
* latent space: ``decode = lambda h: torch.sigmoid(model.decode(features, h))`` and ``target`` the map
  Y in [0, 1] of the same shape.

Scale of the latent likelihood
------------------------------
log p(Y, h | X) = -sum_pixels (Y - G(X, h))^2 / (2 sigma^2) - |h|^2 / 2 + const sums over every pixel
(Eq. 7), so its gradient grows with the number of pixels: at 352x352 the data term is ~1e5 times the
prior's and a step of s = 0.1 with sigma = 0.3 can overshoot. ``reduction="mean"`` divides the data term
by the number of values per sample (the official code's ``mse_loss`` does this), which is the same as
using sigma * sqrt(C*H*W).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from gensal.errors import InputError


def _check_chain(steps: int, step_size: float) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise InputError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(step_size, int | float) or not step_size > 0:
        raise InputError(f"step_size must be a positive number, got {step_size!r}")


def _check_state(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor) or not torch.is_floating_point(x):
        raise InputError(f"{name} must be a floating-point torch.Tensor, got {type(x).__name__}")
    if x.ndim < 1 or x.shape[0] == 0:
        raise InputError(f"{name} must have a non-empty batch dimension, got shape {tuple(x.shape)}")
    return x


def _gaussian_like(x: Tensor, generator: torch.Generator | None) -> Tensor:
    """N(0, I) noise shaped like ``x``; drawn on the generator's device when one is given."""
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def _grad(value: Tensor, wrt: Tensor, what: str, create_graph: bool = False) -> Tensor:
    if not value.requires_grad:
        raise InputError(f"{what} does not depend differentiably on its input (was it computed under no_grad?)")
    (grad,) = torch.autograd.grad(value, wrt, allow_unused=True, create_graph=create_graph)
    if grad is None:
        raise InputError(f"{what} does not depend on its input")
    return grad


def langevin_data(
    energy: Callable[[Tensor], Tensor],
    y0: Tensor,
    steps: int,
    step_size: float,
    noise: bool = True,
    generator: torch.Generator | None = None,
    clamp: tuple[float, float] | None = None,
    differentiable: bool = False,
) -> Tensor:
    """Y_{t+1} = Y_t - (d^2/2) dU/dY + d * N(0, I)   (paper 1, Eq. 2).

    With ``noise=False`` it is gradient descent on U with rate d^2/2 (the paper's test-time refinement).

    Args:
        energy: maps Y (B, ...) to energies (B,); e.g. ``lambda y: ebm(y, image)``. Energies of different
            rows are summed before differentiating, so rows should not interact (see the module notes).
        y0: initial state (B, ...), e.g. the LVM's saliency map (B, 1, H, W) in [0, 1].
        steps: number of steps K (paper: 5); 0 returns a copy of ``y0``.
        step_size: d (paper: 0.4).
        noise: add the diffusion term d * N(0, I).
        generator: random generator for the noise (reproducible chains).
        clamp: ``(low, high)`` to clip Y to after every step, e.g. ``(0.0, 1.0)``; the paper does not clip.
        differentiable: keep the graph of the whole chain (``create_graph``), so that a loss on Y_K can be
            back-propagated to the energy's parameters (training the energy by unrolled refinement,
            :mod:`gensal.training.energy`). Default: each step is detached.

    Returns:
        Y_K, same shape as ``y0``: detached, or with the chain's graph when ``differentiable``.

    Raises:
        InputError: bad ``steps``/``step_size``/``clamp``, ``y0`` not a float tensor, or ``energy``
            returning something other than one differentiable value per row.
    """
    _check_chain(steps, step_size)
    y = _check_state(y0, "y0").detach().clone()
    if clamp is not None and (len(clamp) != 2 or not clamp[0] < clamp[1]):
        raise InputError(f"clamp must be (low, high) with low < high, got {clamp!r}")
    half_step = 0.5 * step_size**2
    with torch.enable_grad():
        if differentiable:
            y.requires_grad_(True)
        for _ in range(steps):
            if not differentiable:
                y.requires_grad_(True)
            energies = energy(y)
            if not isinstance(energies, Tensor) or energies.shape != (y.shape[0],):
                shape = tuple(energies.shape) if isinstance(energies, Tensor) else type(energies).__name__
                raise InputError(f"energy(y) must return one value per row, shape ({y.shape[0]},); got {shape}")
            grad = _grad(energies.sum(), y, "energy(y)", create_graph=differentiable)
            y = (y if differentiable else y.detach()) - half_step * grad
            if noise:
                y = y + step_size * _gaussian_like(y, generator)
            if clamp is not None:
                y = y.clamp(clamp[0], clamp[1])
    return y if differentiable else y.detach()


def langevin_latent(
    decode: Callable[[Tensor], Tensor],
    target: Tensor,
    h0: Tensor,
    steps: int,
    step_size: float,
    sigma: float,
    mask: Tensor | None = None,
    noise: bool = True,
    generator: torch.Generator | None = None,
    reduction: Literal["sum", "mean"] = "sum",
) -> Tensor:
    """h_{t+1} = h_t + (s^2/2) [ (1/sigma^2) (O*(Y - G(X,h))) dG/dh - h ] + s N(0, I)  (Eq. 7; mask O for Algorithm 2).

    Samples the posterior p(h | Y, X) of the LVM Y = G(X, h) + eps, eps ~ N(0, sigma^2 I), h ~ N(0, I).
    The bracket is the gradient of log p(Y, h | X) = -sum O (Y - G)^2 / (2 sigma^2) - |h|^2 / 2; with a
    binary mask O only the visible pixels inform h (paper 1, Sec. 4).

    Args:
        decode: maps h (B, d) to G(X, h) with the shape of ``target``, in the same space as ``target``;
            e.g. ``lambda h: torch.sigmoid(model.decode(features, h))``. Row i of the output must depend
            only on row i of h.
        target: Y, e.g. (B, 1, H, W) in [0, 1].
        h0: initial latent vectors (B, d), e.g. the ones that produced the initial prediction.
        steps: number of steps K (paper: 5); 0 returns a copy of ``h0``.
        step_size: s (paper: 0.1).
        sigma: standard deviation of the observation noise eps.
        mask: O, broadcastable to ``target``: 1 where Y is observed, 0 where it is not (any
            non-negative weights work). None means every pixel is observed.
        noise: add the diffusion term s * N(0, I); False gives gradient ascent to the posterior mode.
        generator: random generator for the noise.
        reduction: ``"sum"`` over pixels (the paper's likelihood) or ``"mean"``: divide the data term by the
            number of values per sample of ``target`` (the official code's scaling; see the module notes).

    Returns:
        h_K, detached, shape (B, d).

    Raises:
        InputError: bad ``steps``/``step_size``/``sigma``/``reduction``, tensors of the wrong type, a
            ``decode`` output whose shape differs from ``target``, or a mask that does not broadcast.
    """
    _check_chain(steps, step_size)
    if not isinstance(sigma, int | float) or not sigma > 0:
        raise InputError(f"sigma must be a positive number, got {sigma!r}")
    if reduction not in ("sum", "mean"):
        raise InputError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    h = _check_state(h0, "h0").detach().clone()
    target = _check_state(target, "target").detach()
    weight = 1.0 / (2.0 * sigma**2)
    if reduction == "mean":
        weight /= target[0].numel()
    if mask is not None:
        mask = _check_state(mask, "mask").detach()
        try:
            torch.broadcast_shapes(mask.shape, target.shape)
        except RuntimeError as err:
            raise InputError(f"mask of shape {tuple(mask.shape)} does not broadcast to {tuple(target.shape)}") from err
    half_step = 0.5 * step_size**2
    with torch.enable_grad():
        for _ in range(steps):
            h.requires_grad_(True)
            prediction = decode(h)
            if not isinstance(prediction, Tensor) or prediction.shape != target.shape:
                shape = tuple(prediction.shape) if isinstance(prediction, Tensor) else type(prediction).__name__
                raise InputError(f"decode(h) must return the shape of target {tuple(target.shape)}, got {shape}")
            squared_error = (target - prediction) ** 2
            if mask is not None:
                squared_error = mask * squared_error
            log_likelihood = -weight * squared_error.sum()
            grad = _grad(log_likelihood, h, "decode(h)") - h.detach()
            h = h.detach() + half_step * grad
            if noise:
                h = h + step_size * _gaussian_like(h, generator)
    return h.detach()
