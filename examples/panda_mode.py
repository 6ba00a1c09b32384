"""
Panda mode from Python: steer a running population
==================================================

``caviar watch`` and ``caviar set`` let you babysit a running ``caviar train``: watch
each member's curves, and change a member's continuous hyperparameters between
epochs. From Python, pass ``live_dir=`` to :func:`caviar.train`: progress goes to
``live_dir/progress.jsonl`` and commands appended to ``live_dir/control.jsonl`` (what
``caviar set`` writes) are applied after the current epoch.

Here a callback plays the user: after epoch 4 it queues a cut of member 1's learning
rate, as ``caviar set`` would from another terminal; the training applies it at its
next check, after epoch 5. The change is recorded, so the run can be replayed exactly.
"""

import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import caviar
from caviar.training.callbacks import Callback

live = Path(tempfile.mkdtemp())
config = {
    "data": {"source": "digits"},
    "model": {"hidden": [32]},
    "optimizer": {"name": "sgd", "lr": [0.3, 1.0]},
    "train": {"epochs": 10, "batch_size": 64, "patience": None},
}


class CutTheRate(Callback):
    """What ``caviar set RUN_DIR --member 1 optimizer.lr=0.05`` writes, after epoch 4."""

    def on_epoch_end(self, epoch, logs):
        if epoch == 3:  # epochs count from 0 here, as in Keras
            command = {"member": 1, "set": {"optimizer.lr": 0.05}}
            with open(live / "control.jsonl", "a") as f:
                f.write(json.dumps(command) + "\n")


run = caviar.train(config, live_dir=live, callbacks=[CutTheRate()])
member = next(m for m in run.members if m.index == 1)
print("recorded changes:", member.changes)

# %%
# What ``caviar watch`` reads
# ---------------------------
lines = [json.loads(line) for line in (live / "progress.jsonl").read_text().splitlines()]
print(len(lines), "progress lines; one of them:", {k: lines[3][k] for k in list(lines[3])[:4]})

# %%
# A run with changes replays exactly
# ----------------------------------
# ``changes=`` applies the recorded changes at the same epochs.
changes = [c for m in run.members for c in m.changes]
replay = caviar.train(config, changes=changes)
again = next(m for m in replay.members if m.index == 1)
print("same curve:", np.allclose(member.history["val_loss"], again.history["val_loss"]))

fig, ax = plt.subplots(figsize=(6, 4))
for m in run.members:
    ax.plot(
        range(1, len(m.history["lr"]) + 1),
        m.history["val_loss"],
        label=f"member {m.index} (lr {m.history['lr'][0]:g} -> {m.history['lr'][-1]:g})",
    )
change = member.changes[0]
ax.axvline(change["epoch"] + 0.5, color="grey", ls=":")
ax.set(
    xlabel="epoch",
    ylabel="validation loss",
    title=f"member 1's rate cut after epoch {change['epoch']}",
)
ax.legend()
fig.tight_layout()
