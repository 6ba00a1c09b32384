"""Optuna-style callbacks=[fn(study, trial)] on caviar.tune."""

import optuna
from tune_helpers import iris_config

import caviar


def test_every_finished_trial_reaches_the_callbacks_with_the_study(tmp_path):
    seen = []

    def callback(study, trial):
        assert isinstance(study, optuna.Study)
        assert isinstance(trial, optuna.trial.FrozenTrial)
        # the trial is in the study when the callback runs
        numbers = [t.number for t in study.get_trials(deepcopy=False)]
        assert trial.number in numbers
        seen.append((trial.user_attrs["index"], trial.value))

    result = caviar.tune(iris_config(), out=tmp_path / "run", callbacks=[callback])
    assert sorted(i for i, _ in seen) == list(range(8))
    by_index = {t["index"]: t["val_score"] for t in result.trials}
    for index, value in seen:
        assert value == by_index[index]
