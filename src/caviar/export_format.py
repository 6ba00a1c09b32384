"""The export file formats and how a file name names one (no torch import: the CLI
checks a name before it loads anything)."""

from __future__ import annotations

from pathlib import Path

from caviar.errors import CaviarError

FORMATS = ("onnx", "torchscript")
SUFFIXES = {".onnx": "onnx", ".pt": "torchscript"}


def export_format(path: str | Path, format: str | None = None) -> str:
    """The export format: ``format`` if given (``onnx`` or ``torchscript``), else the one
    ``path``'s suffix names (``.onnx``, ``.pt``).

    Parameters
    ----------
    path
        The file to write.
    format
        ``"onnx"``, ``"torchscript"`` or None (from the suffix).

    Returns
    -------
    str
        ``"onnx"`` or ``"torchscript"``; a :class:`~caviar.errors.CaviarError` line for an
        unknown format or suffix.
    """
    if format is not None:
        if format not in FORMATS:
            raise CaviarError(f"unknown export format '{format}' (choose from: onnx, torchscript)")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise CaviarError(
            f"cannot tell the export format from '{Path(path).name}': name it .onnx or .pt, "
            "or give the format (onnx, torchscript)"
        )
    return SUFFIXES[suffix]


def check_export_target(path: str | Path, *, overwrite: bool) -> Path:
    """``path`` as a Path if an export may be written there: not a directory, and not an
    existing file unless ``overwrite``; a one-line error otherwise."""
    target = Path(path)
    if target.is_dir():
        raise CaviarError(f"{target} is a directory; give a file name for the export")
    if target.exists() and not overwrite:
        raise CaviarError(f"{target} already exists; choose another name or pass --overwrite")
    return target
