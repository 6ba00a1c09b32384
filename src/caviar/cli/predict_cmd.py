"""``caviar predict MODEL_DIR DATA -o preds.csv``: predictions in the original labels.

With ``--mc-samples T`` (Monte-Carlo dropout, see the background page) the
prediction is the mean of ``T`` passes with dropout on, and a standard deviation
column is written next to every probability (``std_<label>``) or value (``std``).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from caviar.atomic import atomic_file
from caviar.errors import CaviarError
from caviar.run_dir import check_output_file

if TYPE_CHECKING:  # imported by the command, not by --help
    import pandas as pd

    from caviar.model import TrainedModel


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="predict with a saved model", description=__doc__.splitlines()[0]
    )
    p.add_argument("model_dir", help="a model directory written by caviar train/tune")
    p.add_argument("data", help="a .csv/.parquet/.npz file or a bundled dataset name")
    p.add_argument(
        "-o", "--output", help="output CSV (default: stdout); an existing file is refused"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing -o file, once predicted"
    )
    p.add_argument(
        "--mc-samples",
        type=int,
        default=None,
        metavar="T",
        help="Monte-Carlo dropout: average T stochastic passes, also write their std",
    )
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    p.set_defaults(func=run)


def predictions_frame(model: TrainedModel, X: pd.DataFrame) -> pd.DataFrame:
    """A prediction column, plus one probability column per class for classifiers."""
    import pandas as pd

    if model.task != "classification":
        return pd.DataFrame({"prediction": model.predict(X)})
    proba = model.predict_proba(X)  # once: the rows go through the preprocessing once
    frame = pd.DataFrame({"prediction": model.preprocessor.decode_labels(proba.argmax(axis=1))})
    if model.task == "classification":
        for k, label in enumerate(model.classes or range(proba.shape[1])):
            frame[f"proba_{label}"] = proba[:, k]
    return frame


def mc_frame(model: TrainedModel, X: pd.DataFrame, samples: int) -> pd.DataFrame:
    """MC-dropout mean prediction with its standard deviation columns."""
    import pandas as pd

    mean, std = model.predict_mc(X, samples)
    if model.task == "classification":
        frame = pd.DataFrame({"prediction": model.preprocessor.decode_labels(mean.argmax(axis=1))})
        for k, label in enumerate(model.classes or range(mean.shape[1])):
            frame[f"proba_{label}"] = mean[:, k]
            frame[f"std_{label}"] = std[:, k]
        return frame
    if mean.shape[1] == 1:
        return pd.DataFrame({"prediction": mean[:, 0], "std": std[:, 0]})
    frame = pd.DataFrame({f"prediction_{j}": mean[:, j] for j in range(mean.shape[1])})
    for j in range(mean.shape[1]):
        frame[f"std_{j}"] = std[:, j]
    return frame


def run(args: argparse.Namespace) -> int:
    from caviar.data import load_features
    from caviar.model import TrainedModel

    replacing = check_output_file(args.output, overwrite=args.overwrite)
    model = TrainedModel.load(args.model_dir, device=args.device)
    X = load_features(args.data, drop=model.preprocessor.target)
    if len(X) == 0:
        raise CaviarError(f"{args.data}: no rows to predict")
    if args.mc_samples is not None:
        if args.mc_samples < 1:
            raise CaviarError(f"--mc-samples must be >= 1, got {args.mc_samples}")
        frame = mc_frame(model, X, args.mc_samples)
    else:
        frame = predictions_frame(model, X)
    if args.output:
        if replacing:
            sys.stderr.write(f"note: {replacing}\n")
        with atomic_file(Path(args.output)) as tmp:
            frame.to_csv(tmp, index=False)
    else:
        buf = io.StringIO()
        frame.to_csv(buf, index=False)
        sys.stdout.write(buf.getvalue())
    return 0
