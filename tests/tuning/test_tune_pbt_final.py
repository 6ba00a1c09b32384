"""PBT: a trial's stored parameters are the hyperparameters its member ended with."""

import math

import optuna
import torch

from caviar.api import load_data_for
from caviar.config import validate_config
from caviar.training.trainer import PopulationTrainer
from caviar.tuning.refit import train_val_data
from caviar.tuning.runner import make_plan, tune
from caviar.tuning.storage import decode_params

SPACE = {
    "optimizer.lr": {"log_uniform": [1e-3, 1e-1]},
    "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
}


def pbt_config(**search):
    return {
        "data": {"source": "iris", "seed": 0},
        "model": {"hidden": [8]},
        "optimizer": {"name": "adam"},
        "train": {"epochs": 6, "batch_size": 16, "patience": 100, "dtype": "float64"},
        "search": {
            "strategy": "random",
            "trials": 4,
            "seed": 0,
            # 4 live members, fraction 0.5: the worst 2 copy the best 2 at epochs 2 and 4
            "pbt": {"interval": 2, "fraction": 0.5, "perturb": 0.5},
            "space": dict(SPACE),
            **search,
        },
    }


def test_stored_params_are_the_final_hyperparameters(tmp_path):
    cfg = pbt_config(refit="train_val", ensemble_top_k=4)
    result = tune(cfg, out=tmp_path / "run")
    study = optuna.load_study(study_name=result.plan.name, storage=result.storage_url)
    trials = {t.user_attrs["index"]: t for t in study.get_trials()}
    assert len(trials) == 4
    changed = 0
    for t in trials.values():
        rec = t.user_attrs
        history = rec["pbt_history"]
        final = rec["final_hypers"]  # read from the trainer's per-member tensors at the end
        for path in SPACE:
            assert math.isclose(t.params[path], final[path], rel_tol=1e-12)
        if history:
            changed += 1
            initial = rec["pbt_initial_params"]
            assert initial != t.params
            assert {k: t.params[k] for k in SPACE} == history[-1]["params"]
            for step in history:  # copied from another trial of its population
                assert step["from"] in trials and step["from"] != t.user_attrs["index"]
            for path in SPACE:  # the stored value is inside the space's bounds
                dist = t.distributions[path]
                assert dist.low <= t.params[path] <= dist.high
        else:
            assert "pbt_initial_params" not in rec
    assert changed >= 2  # two exploits at epoch 2 alone

    # the search result, summary and the final model (all 4 members) use the final values
    best = result.trials[0]
    assert result.summary()["best_params"] == decode_params(
        make_plan(cfg).space, trials[best["index"]].params
    )
    assert result.model.n_members == 4
    for t, member_cfg in zip(result.trials, result.model.configs, strict=True):
        assert member_cfg["optimizer"]["lr"] == t["params"]["optimizer.lr"]
        assert member_cfg["optimizer"]["beta1"] == t["params"]["optimizer.beta1"]

    # the train+val refit of an exploited member is a fresh run with its final values
    j = next(j for j, t in enumerate(result.trials) if t["pbt_history"])
    t = result.trials[j]
    base = pbt_config()
    base.pop("search")
    base["optimizer"].update(lr=t["params"]["optimizer.lr"], beta1=t["params"]["optimizer.beta1"])
    base["train"].update(epochs=t["best_epoch"] + 1, patience=None, seed=t["seed"])
    refit_cfg = validate_config(base)
    data = load_data_for([refit_cfg])
    trainer = PopulationTrainer([refit_cfg], train_val_data(data))
    for epoch in range(trainer.epochs):
        trainer.epoch = epoch
        trainer.train_epoch()
        trainer.validate()
    expected = trainer.model.member_tensors(0)
    for k, v in result.model.member_tensors[j].items():
        torch.testing.assert_close(v, expected[k], rtol=1e-12, atol=1e-12)
