"""
Export a model to ONNX and serve it with onnxruntime
====================================================

Train a small classifier on a table with numeric and string columns, export it to
ONNX (and TorchScript), and predict with onnxruntime alone. The exported graph holds
the standardization, the one-hot encoding, every member's network and the ensemble
average; :func:`caviar.export.encode_rows` maps the string categories to the codes the
graph takes.
"""

# %%
# A table with a string column
# ----------------------------
# Three numeric columns and one categorical column (``city``); the label is one of
# three strings.
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd

import caviar
from caviar.export import encode_rows, read_export_metadata

rng = np.random.default_rng(0)
n = 400
frame = pd.DataFrame(
    {
        "age": rng.normal(40.0, 12.0, n).round(1),
        "city": rng.choice(["Oslo", "Lima", "Pune", "Kyiv"], n),
        "income": rng.lognormal(10.0, 0.5, n),
        "visits": rng.integers(0, 9, n),
    }
)
score = (frame.age - 40) / 12 + (frame.city == "Lima") + 0.3 * frame.visits - 1.0
frame["label"] = np.where(score > 0.8, "high", np.where(score > -0.3, "mid", "low"))

work = Path(tempfile.mkdtemp())
frame.to_csv(work / "customers.csv", index=False)

# %%
# Train an ensemble
# -----------------
# Four members in one population; the best three are averaged.
run = caviar.train(
    {
        "data": {"source": str(work / "customers.csv"), "target": "label"},
        "model": {"hidden": [16], "batch_norm": True},
        "optimizer": {"lr": [0.01, 0.03]},
        "train": {"epochs": 15, "batch_size": 32, "seed": [0, 1]},
        "ensemble": {"size": 3},
    }
)
model = run.best_model
print(f"{model.n_members} members, test score {run.test_score:.3f}")

# %%
# Export
# ------
# The format comes from the suffix. ONNX needs ``pip install 'caviar[export]'``.
model.export(work / "model.onnx")
model.export(work / "model.pt")
meta = read_export_metadata(work / "model.onnx")
print("input columns:", meta["input_columns"])
print("classes:", meta["classes"])
print("city categories:", next(c for c in meta["columns"] if c["name"] == "city")["categories"])

# %%
# Serve with onnxruntime
# ----------------------
# New rows, one with a city never seen in training: Caviar warns, and its code has no
# indicator in the graph (all zeros), as predict_proba encodes it.
new = pd.DataFrame(
    {
        "age": [25.0, 58.0, 41.0],
        "city": ["Lima", "Oslo", "Quito"],
        "income": [30000.0, 52000.0, 18000.0],
        "visits": [1, 7, 3],
    }
)
x = encode_rows(model, new)  # float32 (3, 4): numbers as they are, city as its code
print(pd.DataFrame(x, columns=meta["input_columns"]))

session = ort.InferenceSession(str(work / "model.onnx"), providers=["CPUExecutionProvider"])
probabilities = session.run(None, {"features": x})[0]
print(pd.DataFrame(probabilities, columns=model.classes).round(3))

# %%
# The same numbers as Caviar
# --------------------------
# onnxruntime (float32) agrees with :meth:`caviar.TrainedModel.predict_proba`.
difference = np.abs(probabilities - model.predict_proba(new)).max()
print(f"largest difference from predict_proba: {difference:.1e}")
assert difference < 1e-5
