"""Guard helpers that validate public inputs with typed, explanatory errors (never ``assert``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gensal.errors import InputError


def check_shape(x, pattern: str | Sequence[str], name: str = "input") -> None:
    """Check that ``x.shape`` matches a pattern such as ``"B 1 H W"``.

    Letters are free dimensions (the same letter must have the same size everywhere in the pattern);
    integers are fixed sizes.

    Raises:
        InputError: when the number of dimensions or a fixed/shared size does not match.
    """
    dims = pattern.split() if isinstance(pattern, str) else list(pattern)
    shape = tuple(x.shape)
    if len(shape) != len(dims):
        raise InputError(f"{name} must have shape ({', '.join(dims)}), got {shape}")
    seen: dict[str, int] = {}
    for dim, size in zip(dims, shape, strict=False):
        if dim.isdigit():
            if int(dim) != size:
                raise InputError(f"{name} must have shape ({', '.join(dims)}), got {shape}")
        elif seen.setdefault(dim, size) != size:
            raise InputError(f"{name}: dimension {dim} differs within shape {shape}")


def check_finite(x: np.ndarray, name: str = "input") -> None:
    """Raise :class:`InputError` if ``x`` holds NaN or infinite values."""
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise InputError(f"{name} contains {bad} NaN or infinite value(s)")


def check_same_size(a: np.ndarray, b: np.ndarray, name_a: str = "prediction", name_b: str = "ground truth"):
    """Raise :class:`InputError` unless two 2-D maps have the same height and width."""
    if a.shape[:2] != b.shape[:2]:
        raise InputError(f"{name_a} has size {a.shape[:2]} but {name_b} has size {b.shape[:2]}")
