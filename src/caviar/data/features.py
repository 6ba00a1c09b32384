"""Reading features to predict on: a data source without (or ignoring) its target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from caviar.data.sources import BUNDLED_DATASETS, load_source, read_table
from caviar.errors import CaviarError


def load_features(source: str, *, drop: str | None = None) -> pd.DataFrame:
    """Feature columns of a bundled dataset or a ``.csv``/``.parquet``/``.npz`` file.

    The target column ``drop`` is removed when present; it need not be. An
    ``.npz`` file needs an array ``X`` (``y`` is ignored).
    """
    key = source.strip().lower().replace("-", "_")
    if key in BUNDLED_DATASETS:
        return load_source(key).X
    path = Path(source)
    if not path.is_file():
        raise CaviarError(f"data file not found: {source}")
    ext = path.suffix.lower()
    if ext in (".csv", ".parquet", ".pq"):
        reader = pd.read_csv if ext == ".csv" else pd.read_parquet
        frame = read_table(path, source, reader)
        return frame.drop(columns=[drop]) if drop and drop in frame.columns else frame
    if ext == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                if "X" not in archive.files:
                    raise CaviarError(f"{source} has no array 'X' to predict on")
                X = np.asarray(archive["X"])
        except CaviarError:
            raise
        except Exception as exc:
            raise CaviarError(f"cannot read {source}: {type(exc).__name__}") from None
        shape = tuple(int(v) for v in X.shape[1:]) or (1,)
        X = X.reshape(len(X), -1)
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        # the model checks one example's shape against its own (caviar.model.validate)
        frame.attrs.update(example_shape=shape, source=source)
        return frame
    raise CaviarError(f"unsupported data file extension '{ext or '(none)'}' for {source}")
