"""One registry and one factory for every gensal model: ``create_model(name, **kwargs)``.

Entry points are small functions that pick hyperparameters and build a model; they are registered with
:func:`register_model` under their function name (or an explicit name)::

    @register_model
    def lvm(backbone: str = "efficientnet_lite0", latent_dim: int = 8, ...) -> SaliencyLVM: ...

    model = create_model("lvm", backbone="resnet50", pretrained=False)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from torch import nn

from gensal.errors import ConfigError

_MODELS: dict[str, Callable[..., nn.Module]] = {}

EntryPoint = TypeVar("EntryPoint", bound=Callable[..., nn.Module])


def register_model(fn: EntryPoint | None = None, *, name: str | None = None):
    """Register a model entry point, as ``@register_model`` or ``@register_model(name="...")``.

    Raises:
        ValueError: the name is already taken (a programming error, not a user one).
    """

    def decorator(entry_point: EntryPoint) -> EntryPoint:
        key = name or entry_point.__name__
        if key in _MODELS:
            raise ValueError(f"model {key!r} is already registered")
        _MODELS[key] = entry_point
        return entry_point

    return decorator(fn) if fn is not None else decorator


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_MODELS)


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model.

    Keyword arguments that are ``None`` are dropped, so the entry point's defaults apply (a config can
    leave a field unset).

    Args:
        name: one of :func:`list_models`.
        **kwargs: arguments of the entry point.

    Returns:
        The model, in training mode.

    Raises:
        ConfigError: unknown name (the message lists the valid ones), an argument the entry point does not
            take (the message lists the ones it does), or a bad argument value.

    Example:
        >>> model = create_model("lvm", backbone="efficientnet_lite0", pretrained=False)
        >>> model.latent_dim
        8
    """
    if name not in _MODELS:
        raise ConfigError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")
    entry_point = _MODELS[name]
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    signature = inspect.signature(entry_point)
    unknown = sorted(set(kwargs) - set(signature.parameters))
    if unknown:
        raise ConfigError(
            f"model {name!r} does not take {', '.join(unknown)}; it takes: {', '.join(signature.parameters)}"
        )
    return entry_point(**kwargs)
