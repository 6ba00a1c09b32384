"""``caviar predict MODEL_DIR DATA -o preds.csv``: predictions in the original labels."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import pandas as pd

from caviar.atomic import atomic_file
from caviar.data import load_features
from caviar.errors import CaviarError
from caviar.model import TrainedModel


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="predict with a saved model", description=__doc__.splitlines()[0]
    )
    p.add_argument("model_dir", help="a model directory written by caviar train/tune")
    p.add_argument("data", help="a .csv/.parquet/.npz file or a bundled dataset name")
    p.add_argument("-o", "--output", help="output CSV (default: stdout)")
    p.set_defaults(func=run)


def predictions_frame(model: TrainedModel, X: pd.DataFrame) -> pd.DataFrame:
    """A prediction column, plus one probability column per class for classifiers."""
    frame = pd.DataFrame({"prediction": model.predict(X)})
    if model.task == "classification":
        proba = model.predict_proba(X)
        for k, label in enumerate(model.classes or range(proba.shape[1])):
            frame[f"proba_{label}"] = proba[:, k]
    return frame


def run(args: argparse.Namespace) -> int:
    model = TrainedModel.load(args.model_dir)
    X = load_features(args.data, drop=model.preprocessor.target)
    if len(X) == 0:
        raise CaviarError(f"{args.data}: no rows to predict")
    frame = predictions_frame(model, X)
    if args.output:
        with atomic_file(Path(args.output)) as tmp:
            frame.to_csv(tmp, index=False)
    else:
        buf = io.StringIO()
        frame.to_csv(buf, index=False)
        sys.stdout.write(buf.getvalue())
    return 0
