"""``caviar export MODEL_DIR OUT.onnx|OUT.pt``: a saved model as an ONNX or TorchScript file.

The file maps raw feature rows ``features (batch, C)`` (categorical columns as category
codes, see ``caviar.export.encode_rows``) to probabilities or predictions, with the
preprocessing and the ensemble average inside; its input columns are recorded in it.
The format comes from the suffix (``.onnx``, ``.pt``) or ``--format``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a saved model to ONNX or TorchScript",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("model_dir", help="a model directory (RUN/model) or a run directory holding one")
    p.add_argument("output", help="the file to write: OUT.onnx or OUT.pt")
    p.add_argument(
        "--format",
        choices=["onnx", "torchscript"],
        default=None,
        help="the file format (default: from the output's suffix)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--float64", action="store_true", help="export in float64 (default: float32)")
    p.set_defaults(func=run)


def model_directory(path: str) -> Path:
    """``path`` itself, or its ``model/`` subdirectory when ``path`` is a run directory."""
    d = Path(path)
    if not (d / "model.json").is_file() and (d / "model" / "model.json").is_file():
        return d / "model"
    return d


def run(args: argparse.Namespace) -> int:
    from caviar.export_format import check_export_target, export_format

    # a bad name or an existing file fails before anything is loaded
    fmt = export_format(args.output, args.format)
    out = check_export_target(args.output, overwrite=args.overwrite)

    import torch

    from caviar.model import TrainedModel

    model = TrainedModel.load(model_directory(args.model_dir))
    dtype = torch.float64 if args.float64 else torch.float32
    model.export(out, fmt, overwrite=args.overwrite, dtype=dtype)
    n = len(model.preprocessor.input_columns)
    sys.stderr.write(f"wrote {out} ({fmt}; input 'features': {n} columns)\n")
    return 0
