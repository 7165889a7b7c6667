"""Match files of two folders (images and masks, masks and predictions) by file stem."""

from __future__ import annotations

from pathlib import Path

from gensal.errors import DataError
from gensal.io import IMAGE_SUFFIXES

MAP_SUFFIXES = IMAGE_SUFFIXES + (".npy",)


def files_by_stem(folder: str | Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> dict[str, Path]:
    """Map file stem -> path for the files in ``folder`` with one of ``suffixes`` (case-insensitive).

    Raises:
        DataError: if the folder is missing, has no such file, or two files share a stem (``a.jpg`` and
            ``a.png``), which would make the matching ambiguous.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in suffixes or not path.is_file() or path.name.startswith("."):
            continue
        if path.stem in found:
            raise DataError(f"{folder}: two files share the name {path.stem!r} ({found[path.stem].name}, {path.name})")
        found[path.stem] = path
    if not found:
        raise DataError(f"{folder}: no files found (looked for {', '.join(suffixes)})")
    return found


def _examples(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (", ..." if len(names) > limit else "")


def match_names(
    first: dict, second: dict, first_label: str, second_label: str, intersection: bool = False
) -> tuple[list[str], int]:
    """Common keys of two name-indexed collections, failing clearly on unmatched names.

    Args:
        first, second: mappings keyed by file stem (e.g. from :func:`files_by_stem`).
        first_label, second_label: how to name each side in errors (e.g. folder paths).
        intersection: keep only the common names instead of failing on unmatched ones.

    Returns:
        ``(names, skipped)``: the sorted common names and the number of names left out.

    Raises:
        DataError: if nothing matches, or (without ``intersection``) some name has no partner.
    """
    only_first = sorted(set(first) - set(second))
    only_second = sorted(set(second) - set(first))
    common = sorted(set(first) & set(second))
    if not common:
        raise DataError(f"{second_label}: no name matches one in {first_label} (e.g. {_examples(sorted(second))})")
    if (only_first or only_second) and not intersection:
        parts = []
        if only_first:
            parts.append(
                f"{len(only_first)} of {first_label} have no match in {second_label} ({_examples(only_first)})"
            )
        if only_second:
            parts.append(
                f"{len(only_second)} of {second_label} have no match in {first_label} ({_examples(only_second)})"
            )
        raise DataError("; ".join(parts) + f"; use --intersection to use the {len(common)} common names")
    return common, len(only_first) + len(only_second)


def match_pairs(
    first: str | Path,
    second: str | Path,
    intersection: bool = False,
    first_suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
    second_suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
) -> tuple[list[tuple[str, Path, Path]], int]:
    """Pair the files of two folders by stem.

    Args:
        first: e.g. the image or ground-truth folder.
        second: e.g. the mask or prediction folder.
        intersection: keep only the common stems instead of failing on unmatched files.

    Returns:
        ``(pairs, skipped)``: sorted ``(stem, first_path, second_path)`` triples and the number of files
        left out (0 unless ``intersection``).

    Raises:
        DataError: if a folder is missing or empty, or (without ``intersection``) a file has no partner,
            or nothing matches at all.
    """
    a = files_by_stem(first, first_suffixes)
    b = files_by_stem(second, second_suffixes)
    common, skipped = match_names(a, b, str(first), str(second), intersection)
    return [(stem, a[stem], b[stem]) for stem in common], skipped
