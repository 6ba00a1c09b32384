"""Per-example weights of the training and validation splits: class times sample weight.

``s_i = c_{y_i} · w_i`` with ``w`` the data's sample weights (``data.weight``; 1 when
absent) and ``c`` from ``train.class_weight``:

* ``"balanced"``: ``c_k = n / (C · n_k)`` on the training split (scikit-learn's
  ``compute_class_weight("balanced")``: every class carries the same total weight);
* a mapping ``{label: weight}`` (labels as the data writes them; absent labels 1).

The losses average with these weights (:mod:`caviar.losses.weighted`) and the metrics
take them as sample weights. None when every weight would be 1 (the unweighted path).
"""

from __future__ import annotations

import numpy as np
import torch

from caviar.errors import CaviarError


def class_weights(class_weight, data) -> np.ndarray | None:
    """``c`` ``(C,)`` for ``train.class_weight`` on ``data`` (None when unset)."""
    if class_weight is None:
        return None
    if data.task != "classification":
        raise CaviarError("train.class_weight is for classification, the data is a regression")
    n_classes = int(data.n_classes)
    if class_weight == "balanced":
        counts = np.bincount(np.asarray(data.y_train, dtype=np.int64), minlength=n_classes)
        if (counts == 0).any():
            raise CaviarError("train.class_weight 'balanced': a class has no training rows")
        return len(data.y_train) / (n_classes * counts.astype(np.float64))
    labels = _labels(data, n_classes)
    out = np.ones(n_classes)
    for key, value in class_weight.items():
        if key not in labels:
            raise CaviarError(
                f"train.class_weight: no class '{key}' (classes: {', '.join(labels)})"
            )
        if not np.isfinite(value) or value < 0:
            raise CaviarError(f"train.class_weight['{key}'] must be >= 0, got {value}")
        out[labels.index(key)] = float(value)
    return out


def _labels(data, n_classes: int) -> list[str]:
    pre = data.preprocessor
    classes = getattr(pre, "classes_", None) if pre is not None else None
    return [str(c) for c in (classes if classes is not None else range(n_classes))]


def split_weights(class_weight, data, split: str, dtype, device) -> torch.Tensor | None:
    """``s`` ``(n,)`` of ``split`` ("train", "val" or "test"), or None when all are 1."""
    c = class_weights(class_weight, data)
    w = getattr(data, f"w_{split}", None)
    if c is None and w is None:
        return None
    y = np.asarray(getattr(data, f"y_{split}"))
    s = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    if c is not None:
        s = s * c[y.astype(np.int64)]
    return torch.as_tensor(s, dtype=dtype, device=device)
