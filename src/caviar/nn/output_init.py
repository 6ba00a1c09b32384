"""Output-layer initialization from the training targets (:ref:`bg-output-init`).

"For the output units, non-bias weights can be set to zero and the bias weights to
the mean for regression or inverse-sigmoid of the empirical probability for
classification." The network then starts out predicting the naive baseline:

* regression: W_out = 0, b_out = mean(y)
* one sigmoid output (binary cross-entropy): b_out = logit(p) = log(p / (1 - p))
* K softmax outputs: b_out,k = log(p_k), so softmax(b_out) = p (the softmax analogue
  of the inverse sigmoid; any constant shift gives the same probabilities)
* K independent sigmoid outputs (binary cross-entropy, one-vs-rest, ``sigmoid=True``):
  b_out,k = logit(p_k), so every sigmoid starts at its class frequency

Class frequencies are clipped to [1e-6, 1 - 1e-6] so an absent class stays finite.
With per-example weights (class and sample weights) the mean and the frequencies are
weighted: the baseline of the weighted loss.
"""

from __future__ import annotations

import numpy as np


def output_bias(
    y: np.ndarray,
    *,
    task: str,
    n_outputs: int,
    weight: np.ndarray | None = None,
    sigmoid: bool = False,
) -> np.ndarray:
    """Bias of the output layer that makes the untrained network predict the baseline."""
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    if task == "regression":
        values = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return np.atleast_1d((w[:, None] * values).sum(axis=0) / w.sum())
    n_classes = max(int(np.max(y)) + 1, 2 if n_outputs == 1 else n_outputs)
    prior = np.bincount(np.asarray(y, dtype=np.int64), weights=w, minlength=n_classes) / w.sum()
    prior = np.clip(prior, 1e-6, 1 - 1e-6)
    if n_outputs == 1:
        p = prior[1:2]
    else:
        p = prior[:n_outputs]
        if not sigmoid:
            return np.log(p)
    return np.log(p / (1 - p))
