"""``tune(config, data=...)``: searching on splits prepared in memory."""

import numpy as np
import pytest
from tune_helpers import iris_config

from caviar.data import prepare_arrays, prepare_data
from caviar.errors import CaviarError
from caviar.tuning.runner import tune


def _scores(result):
    return [(t["index"], t["val_score"]) for t in result.trials]


def test_prepared_data_gives_the_same_search_as_the_config(tmp_path):
    loaded = tune(iris_config(), out=tmp_path / "a", outputs=False)
    given = tune(
        iris_config(), out=tmp_path / "b", data=prepare_data("iris", seed=0), outputs=False
    )
    assert _scores(given) == _scores(loaded)
    assert given.test_score == loaded.test_score


def test_arrays_in_memory(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 5))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    data = prepare_arrays(X, y, seed=1)
    cfg = iris_config()
    cfg["data"] = {"source": "in-memory"}  # a label only: the splits come from `data`
    result = tune(cfg, out=tmp_path / "run", data=data)
    assert result.val_score > 0.8
    assert set(result.model.predict(X[:10])) <= {"yes", "no"}


def test_anything_else_is_a_one_line_error(tmp_path):
    with pytest.raises(CaviarError, match="data must be prepared splits.*got ndarray"):
        tune(iris_config(), out=tmp_path / "run", data=np.zeros((4, 2)))
    assert not (tmp_path / "run").exists()


def test_resume_with_other_data_is_refused(tmp_path):
    cfg = iris_config()
    tune(cfg, out=tmp_path / "run", data=prepare_data("iris", seed=0))
    with pytest.raises(CaviarError, match="another configuration \\(data: "):
        tune(cfg, out=tmp_path / "run", resume=True, data=prepare_data("iris", seed=1))
    # the same splits resume (nothing left to run: the study is complete)
    again = tune(cfg, out=tmp_path / "run", resume=True, data=prepare_data("iris", seed=0))
    assert len(again.trials) == 8
