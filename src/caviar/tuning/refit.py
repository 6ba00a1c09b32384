"""The final model of a search (:ref:`bg-validation`, :ref:`bg-early-stopping`).

Selection uses the validation split only. The final model is then

* ``refit = "none"``: the trained best member(s) as they are (best-validation
  weights), or
* ``refit = "train_val"``: the best configuration(s) retrained from scratch on
  train + validation for their best epoch count (``best_epoch + 1`` epochs,
  the first strategy of :ref:`bg-early-stopping`: the epoch count picked on the
  validation split, then all the data used).

A trial changed while it ran by ``caviar set`` (panda mode) gets its changes again
after the same epochs (:class:`caviar.tuning.live_tune.ReplayTrialChanges`).
A trial changed by population-based training is refit with the values it ended
with (its stored ``params``, which its member config carries), held constant from
scratch: the sequence of values PBT gave it depended on the other members'
weights and cannot be replayed on train+validation. The sampled values stay in
its record (``pbt_initial_params``; ``best_initial_params`` in the summary).

With ``ensemble_top_k = k > 1`` the final model averages the probabilities (or
values) of the ``k`` best members that share the best member's structure. The
test split is evaluated once, on this final model only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from caviar.data.weights import train_val_weights
from caviar.diagnose.baseline import _score
from caviar.model import TrainedModel
from caviar.model import network as networks
from caviar.openmp import load_aware
from caviar.training.scoring.model import score_model
from caviar.training.trainer import PopulationTrainer
from caviar.training.weights import split_weights
from caviar.tuning.executor import MemberRecord
from caviar.tuning.live_tune import ReplayTrialChanges


def model_from_records(records: list[MemberRecord], data, metrics: dict) -> TrainedModel:
    first = records[0]
    return TrainedModel(
        sizes=first.sizes,
        activation=first.activation,
        loss_name=first.loss_name,
        task=data.task,
        member_tensors=[r.weights for r in records],
        leaky_slopes=[r.leaky_slope for r in records],
        preprocessor=data.preprocessor,
        configs=[r.member.config.model_dump(mode="json") for r in records],
        metrics=metrics,
        batch_norm=first.member.config.model.batch_norm,
        dropout=[r.member.config.model.dropout for r in records],
        input_dropout=[r.member.config.model.input_dropout for r in records],
        seeds=[r.member.config.train.seed for r in records],
        network=networks.joined([r.network for r in records]),
    )


def train_val_data(data):
    """The data with the validation rows appended to the training rows."""
    return dataclasses.replace(
        data,
        X_train=np.concatenate([data.X_train, data.X_val]),
        y_train=np.concatenate([data.y_train, data.y_val]),
        w_train=train_val_weights(data),
    )


@load_aware
def refit_train_val(records: list[MemberRecord], data) -> list[MemberRecord]:
    """Retrain each record's configuration on train+val for ``best_epoch + 1`` epochs, keeping
    the weights of the last epoch (no early stopping: there is no held-out split left)."""
    configs = []
    for r in records:
        cfg = r.member.config.model_copy(deep=True)
        epochs = max(1, r.member.best_epoch + 1)
        cfg.train.epochs = epochs
        cfg.train.patience = None
        configs.append(cfg)
    # one population when the epoch counts agree, otherwise one per record
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(c.train.epochs, []).append(i)
    full = train_val_data(data)
    out: dict[int, MemberRecord] = {}
    for idx in groups.values():
        trainer = PopulationTrainer([configs[i] for i in idx], full)
        replay = ReplayTrialChanges({row: records[i].changes for row, i in enumerate(idx)})
        for epoch in range(trainer.epochs):
            trainer.epoch = epoch
            trainer.train_epoch()
            trainer.validate()
            replay(trainer)  # caviar set changes, after the epochs they were made
        for row, i in enumerate(idx):
            out[i] = dataclasses.replace(
                records[i],
                weights=trainer.model.member_tensors(row),
                leaky_slope=float(trainer.knobs.leaky_slope[row]),
            )
    return [out[i] for i in range(len(records))]


def test_score(model: TrainedModel, data, metric: str = "auto") -> float:
    """Score of the final model on the test split (nan without one): evaluated once."""
    if data.X_test is None or len(data.X_test) == 0:
        return float("nan")
    cfg = model.configs[0]["train"]
    w = split_weights(cfg.get("class_weight"), data, "test", torch.float64, "cpu")
    if metric != "auto" or w is not None:
        x, y = np.asarray(data.X_test), np.asarray(data.y_test)
        return score_model(model, x, y, metric, None if w is None else w.numpy())
    with torch.no_grad():
        if data.task == "classification":
            pred = model.predict_proba(np.asarray(data.X_test), preprocessed=True).argmax(axis=1)
        else:
            pred = model.outputs(np.asarray(data.X_test)).mean(axis=0)
    return _score(data.task, np.asarray(data.y_test), pred)
