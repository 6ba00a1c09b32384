"""
Save a model, load it and predict
=================================

A trained model is a directory: ``model.safetensors`` (the weights, never a pickle)
and ``model.json`` (the structure, the fitted preprocessing, the label mapping, the
configuration and its metrics, and the SHA-256 of the weights). Loading checks all of
it, then :meth:`~caviar.TrainedModel.predict` takes raw features, here a DataFrame
with the training columns.
"""

import json
import tempfile
from pathlib import Path

from sklearn.datasets import load_wine

import caviar

frame = load_wine(as_frame=True).frame
run = caviar.train(
    {
        "data": {"source": "wine"},
        "model": {"hidden": [32]},
        "optimizer": {"name": "adam", "lr": [1e-3, 1e-2]},
        "train": {"epochs": 40, "batch_size": 16},
    }
)
path = run.best_model.save(Path(tempfile.mkdtemp()) / "wine-model")
print(sorted(p.name for p in path.iterdir()))

# %%
# Load and predict
# ----------------
model = caviar.TrainedModel.load(path)
new = frame.drop(columns="target").sample(5, random_state=0)
print("predicted:", model.predict(new))
print("true:     ", frame.loc[new.index, "target"].to_numpy())
model.predict_proba(new).round(3)

# %%
# What ``model.json`` records
# ---------------------------
meta = json.loads((path / "model.json").read_text())
print(sorted(meta))

# %%
# A damaged model is refused
# --------------------------
# Loading verifies the weights' checksum: a changed byte is a one-line error, never
# wrong predictions.
weights = path / "model.safetensors"
data = bytearray(weights.read_bytes())
data[-1] ^= 1
weights.write_bytes(bytes(data))
try:
    caviar.TrainedModel.load(path)
except caviar.CaviarError as error:
    print("refused:", error)
