"""Guard helpers that validate public inputs with typed, explanatory errors (never ``assert``), and the
documented limits of the commands' options (light to import: the command line shows them in ``--help``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gensal.errors import ConfigError, InputError

MAX_SEED = 2**63 - 1
"""Largest seed: every generator gensal seeds takes it (``torch.manual_seed`` 64 bits, numpy any size >= 0)."""

MAX_STEP_SIZE = 10.0
"""Largest Langevin step size d that ``gensal predict`` and ``gensal refine`` accept: 25 times the paper's
0.4, a descent rate d^2/2 of 50. Larger steps only overshoot, and absurd ones overflow: d = 1e30 made the
rate infinite and every map black."""

MAX_SAMPLES = 1000
"""Most latent samples per image (``gensal predict --samples``): they are decoded in one batch, which takes N
times the memory of one map at the model's resolution (10000 samples of a 352 x 352 model would need tens
of GB)."""

MAX_FIGURE_COUNT = 64
"""Most images (rows) in ``gensal predict --figure``: 64 rows are about 15,500 pixels high at 110 dpi."""

MAX_BLUR = 0.25
"""Largest post-processing blur of a fixation map (``gensal predict --blur``), as a fraction of the image width."""

MAX_PARALLEL = 256
"""Most ``--workers`` processes or ``--threads`` a command starts."""


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


def check_int_range(value, name: str, minimum: int, maximum: int | None = None) -> int:
    """An integer option with ``minimum <= value <= maximum`` (no maximum when None), as an ``int``.

    Raises:
        ConfigError: a non-integer (``bool`` included) or a value out of range, naming the option ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        expected = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{name} must be {expected}, got {value}")
    return int(value)


def check_seed(seed, name: str = "--seed") -> int:
    """A random seed: an integer in [0, :data:`MAX_SEED`]; :class:`ConfigError` otherwise."""
    return check_int_range(seed, name, 0, MAX_SEED)
