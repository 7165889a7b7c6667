"""Revising saliency maps with a trained energy U(Y, X): Langevin revision (training) and refinement (test).

Paper 1 uses one operation in three places: line 5 of Algorithm 1 (K Langevin steps of Eq. 2 with noise),
cooperative prediction (section 3.3: the same steps with the diffusion term disabled, i.e. gradient descent
on the energy, starting from the mean of the LVM's samples) and the refinement of other models' maps
(section 6.3). :func:`revise_with_energy` is that operation; it runs the chain in the space the model was
trained in:

* ``"logit"``: Eq. 2 on z with Y = sigmoid(z), as the authors' code does (our default);
* ``"probability"``: Eq. 2 on Y itself, Eq. 2 read literally (Y may leave [0, 1] on the way).

The energy model is put in eval mode for the chain (BatchNorm uses its running statistics, so the energy of
one image does not depend on the others in the batch) and restored afterwards; no gradient reaches its
parameters (:func:`gensal.sampling.langevin_data` differentiates with ``torch.autograd.grad``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from gensal.errors import InputError
from gensal.sampling import langevin_data

Space = Literal["logit", "probability"]

PROBABILITY_EPS = 1e-4
"""Maps are clipped to [eps, 1 - eps] before taking logits, so that a hard 0/1 map starts at |z| <= 9.2."""


def to_state(maps: Tensor, space: Space) -> Tensor:
    """Maps in [0, 1] -> the chain's state: logits (clipped, see :data:`PROBABILITY_EPS`) or the maps."""
    if space == "logit":
        return torch.logit(maps.clamp(PROBABILITY_EPS, 1.0 - PROBABILITY_EPS))
    if space == "probability":
        return maps
    raise InputError(f"space must be 'logit' or 'probability', got {space!r}")


def from_state(state: Tensor, space: Space) -> Tensor:
    """The chain's state -> maps: sigmoid of logits, or the state itself (which may leave [0, 1])."""
    if space == "logit":
        return torch.sigmoid(state)
    if space == "probability":
        return state
    raise InputError(f"space must be 'logit' or 'probability', got {space!r}")


def revise_with_energy(
    ebm: nn.Module,
    image: Tensor,
    state: Tensor,
    steps: int,
    step_size: float,
    space: Space = "logit",
    noise: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """K steps of Eq. 2 on U(Y, X) from ``state``; with ``noise=False`` gradient descent with rate d^2/2.

    Args:
        ebm: energy model U(Y, X) returning one energy per image.
        image: (B, 3, H, W) images in [0, 1].
        state: (B, 1, H, W) start of the chain in ``space``: logits for ``"logit"`` (e.g. the generator's
            output, or :func:`to_state` of a map), maps for ``"probability"``.
        steps: K (paper: 5).
        step_size: d (paper: 0.4).
        space: ``"logit"`` or ``"probability"`` (see the module notes).
        noise: add the diffusion term (training); off for refinement.
        generator: source of the noise.

    Returns:
        Revised maps (B, 1, H, W), detached: sigmoid of the final logits, or the final maps (which may
        leave [0, 1] in probability space; clip them before writing).
    """
    final = descend_energy(ebm, image, state, steps, step_size, space, noise, generator)
    return from_state(final, space)


def descend_energy(
    ebm: nn.Module,
    image: Tensor,
    state: Tensor,
    steps: int,
    step_size: float,
    space: Space = "logit",
    noise: bool = False,
    generator: torch.Generator | None = None,
    differentiable: bool = False,
) -> Tensor:
    """The chain of :func:`revise_with_energy`, returning its final *state* (logits in logit space).

    ``differentiable=True`` keeps the chain's graph (see :func:`gensal.sampling.langevin_data`) and leaves the
    energy model's mode alone (the caller trains through it; use a model without BatchNorm)."""
    if space not in ("logit", "probability"):
        raise InputError(f"space must be 'logit' or 'probability', got {space!r}")
    was_training = ebm.training
    if not differentiable:
        ebm.eval()
    try:
        if space == "logit":
            energy = lambda z: ebm(torch.sigmoid(z), image)  # noqa: E731
        else:
            energy = lambda y: ebm(y, image)  # noqa: E731
        return langevin_data(energy, state.detach(), steps, step_size, noise, generator, differentiable=differentiable)
    finally:
        ebm.train(was_training)


def refine_maps(
    ebm: nn.Module, image: Tensor, maps: Tensor, steps: int, step_size: float, space: Space = "logit"
) -> Tensor:
    """Noise-free refinement of maps in [0, 1] (paper 1, sections 3.3 and 6.3); returns maps in [0, 1]."""
    refined = revise_with_energy(ebm, image, to_state(maps, space), steps, step_size, space, noise=False)
    return refined.clamp(0.0, 1.0)
