"""Export round trips that wait for features being built on other branches: each test
runs as soon as its feature is in the build (and must then pass), and skips with the
reason until then.

* missing values (imputation with indicator columns, categorical NaN as a level);
* the built-in sequence model (``model.kind = "rnn"``): its recurrent layers need a
  ``torch.nn`` counterpart in ``caviar.model.export_torch.PLAIN_LAYERS``.
"""

from __future__ import annotations

import numpy as np
import pytest
from export_models import (
    onnx_outputs,
    plain_outputs,
    reference,
    table,
    torchscript_outputs,
)
from pydantic import ValidationError

import caviar
from caviar.errors import CaviarError


def _train_or_skip(config: dict, feature: str, markers: tuple[str, ...]):
    """``caviar.train(config)``, or a skip when this build refuses ``feature`` (a refusal
    naming one of ``markers``)."""
    try:
        return caviar.train(config)
    except (CaviarError, ValidationError) as e:
        if any(m in str(e) for m in markers):
            pytest.skip(f"{feature} is not in this build: {str(e).splitlines()[0][:120]}")
        raise


def roundtrip(model, X, tmp_path) -> None:
    expected = reference(model, X)
    np.testing.assert_allclose(plain_outputs(model, X), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        torchscript_outputs(model, X, tmp_path / "m.pt"), expected, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        onnx_outputs(model, X, tmp_path / "m.onnx"), expected, rtol=1e-5, atol=1e-5
    )


def test_missing_values_roundtrip(tmp_path):
    """Hook for missing-value imputation: NaN in numeric and categorical columns at
    training and at prediction."""
    frame = table()
    frame.loc[::7, "age"] = np.nan
    frame.loc[::11, "city"] = None
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    run = _train_or_skip(
        {
            "data": {"source": str(tmp_path / "gaps.csv"), "target": "label"},
            "model": {"hidden": [8]},
            "train": {"epochs": 2, "batch_size": 32},
        },
        "missing-value imputation",
        ("missing value",),
    )
    rows = table(20, seed=3).drop(columns="label")
    rows.loc[::3, "age"] = np.nan
    rows.loc[::4, "city"] = None
    roundtrip(run.best_model, rows, tmp_path)


@pytest.mark.parametrize(
    "cell",
    [
        {"cell": "gru"},
        {"cell": "lstm", "num_layers": 2, "bidirectional": True, "readout": "mean"},
        {"cell": "rnn", "hidden": [6], "batch_norm": True},
    ],
    ids=["gru", "lstm-2-layers-bidirectional", "elman-bn-head"],
)
def test_sequence_model_roundtrip(tmp_path, cell):
    """Hook for the built-in sequence model on generated signals ``(1, 32)``."""
    from caviar.data import synthetic

    if not hasattr(synthetic, "make_signals"):
        pytest.skip("the sequence model's signals are not in this build")
    X, y = synthetic.make_signals(200, 32, seed=0)
    np.savez(tmp_path / "signals.npz", X=X, y=y)
    run = _train_or_skip(
        {
            "data": {"source": str(tmp_path / "signals.npz")},
            "model": {"kind": "rnn", "hidden_size": 8, **cell},
            "train": {"epochs": 1, "batch_size": 64},
        },
        "the sequence model (model.kind = 'rnn')",
        ("'rnn'", "kind"),
    )
    roundtrip(run.best_model, X[:16].reshape(16, -1), tmp_path)
