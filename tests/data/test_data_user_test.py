"""data.test and an .npz's X_test/y_test: a test set of the user's own replaces the
random test split, mapped by the preprocessor fitted on the training rows."""

import numpy as np
import pandas as pd
import pytest

import caviar
from caviar.config import validate_config
from caviar.data import prepare_data
from caviar.errors import CaviarError


def _frames(tmp_path):
    rng = np.random.default_rng(0)

    def frame(n):
        f = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
        f["color"] = rng.choice(["red", "blue"], size=n)
        f["label"] = np.where(f["a"] + (f["color"] == "red") > 0.5, "yes", "no")
        return f

    train, test = frame(200), frame(50)
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    return train, test


def test_a_test_file_replaces_the_random_test_split(tmp_path):
    train, test = _frames(tmp_path)
    data = prepare_data(
        str(tmp_path / "train.csv"), target="label", test=str(tmp_path / "test.csv")
    )
    assert len(data.y_train) + len(data.y_val) == 200  # every source row trains or validates
    assert len(data.y_test) == 50
    np.testing.assert_array_equal(data.X_test, data.preprocessor.transform(test))
    np.testing.assert_array_equal(data.y_test, data.preprocessor.encode_labels(test["label"]))
    cfg = validate_config(
        {
            "data": {"source": str(tmp_path / "train.csv"), "target": "label",
                     "test": str(tmp_path / "test.csv")},
            "model": {"hidden": [4]},
            "train": {"epochs": 5},
        }
    )  # fmt: skip
    run = caviar.train([cfg])
    pred = run.best_model.predict(test.drop(columns=["label"]))
    assert run.test_score == pytest.approx(np.mean(pred == test["label"].to_numpy()))


def test_npz_test_arrays_are_used(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(100, 3)), rng.integers(0, 2, size=100)
    Xt, yt = rng.normal(size=(30, 3)), rng.integers(0, 2, size=30)
    np.savez(tmp_path / "with.npz", X=X, y=y, X_test=Xt, y_test=yt)
    np.savez(tmp_path / "without.npz", X=X, y=y)
    data = prepare_data(str(tmp_path / "with.npz"))
    assert len(data.y_test) == 30 and len(data.y_train) + len(data.y_val) == 100
    np.testing.assert_array_equal(data.y_test, yt)
    np.testing.assert_allclose(data.X_test, data.preprocessor.transform(Xt))
    plain = prepare_data(str(tmp_path / "without.npz"))
    assert len(plain.y_test) == 20  # the random 20% split, as before
    np.savez(tmp_path / "half.npz", X=X, y=y, X_test=Xt)
    with pytest.raises(CaviarError, match="X_test/y_test but not both"):
        prepare_data(str(tmp_path / "half.npz"))


def test_a_test_file_that_does_not_fit_is_a_one_line_error(tmp_path):
    train, test = _frames(tmp_path)
    test.drop(columns=["b"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(CaviarError, match="test set bad.csv"):
        prepare_data(str(tmp_path / "train.csv"), target="label", test=str(tmp_path / "bad.csv"))
    test.assign(label="maybe").to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(CaviarError, match="test set labels.csv"):
        prepare_data(str(tmp_path / "train.csv"), target="label", test=str(tmp_path / "labels.csv"))
    with pytest.raises(CaviarError, match="data file not found"):
        prepare_data(str(tmp_path / "train.csv"), target="label", test=str(tmp_path / "no.csv"))
