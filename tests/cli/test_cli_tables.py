"""A raw table through the CLI with no preparation by hand: string columns, gaps in
features, missing targets; ``caviar train --json``, ``caviar tune``, ``caviar predict``
on raw rows with gaps and unseen categories; the trees baseline in the summary."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from caviar.cli.main import main
from caviar.errors import CaviarWarning


@pytest.fixture
def churn_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n).round(1),
            "tenure": rng.exponential(20, n).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "city": rng.choice([f"c{i}" for i in range(40)], n),
        }
    )
    logit = 0.08 * (df["age"] - 40) - 0.05 * df["tenure"] + (df["plan"] == "pro") * 1.5
    df["churn"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df.loc[rng.random(n) < 0.15, "age"] = np.nan
    df.loc[rng.random(n) < 0.1, "plan"] = np.nan
    df.loc[[5, 17, 33], "churn"] = np.nan
    path = tmp_path / "churn.csv"
    df.to_csv(path, index=False)
    new = df.drop(columns="churn").head(6).copy()
    new.loc[0, "city"] = "Atlantis"
    new.loc[1, "plan"] = "enterprise"
    new.loc[2, ["age", "tenure"]] = np.nan  # a gap where training had none: tenure
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    return path, new_path


CONFIG = """
[data]
source = "{source}"
target = "churn"
max_onehot = 8
[train]
epochs = 4
metric = "{metric}"
"""

TUNE = """
[search]
strategy = "random"
trials = 2
seed = 0
[search.space]
"optimizer.lr" = { log_uniform = [1e-3, 1e-1] }
"""


def test_train_predict_and_tune_a_raw_table(tmp_path, capsys, churn_csv) -> None:
    source, new = churn_csv
    cfg = tmp_path / "train.toml"
    cfg.write_text(CONFIG.format(source=source, metric="f1_macro"))
    with pytest.warns(CaviarWarning) as notes:
        assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    said = " | ".join(str(w.message) for w in notes)
    assert "dropped 3 rows whose target 'churn' is missing" in said
    assert "imputed" in said and "'age'" in said
    facts = summary["data"]
    assert facts["dropped_rows"] == 3 and facts["imputed"]["age"] > 0
    trees = summary["trees"]
    assert trees["metric"] == "f1_macro" and 0 <= trees["val_score"] <= 1
    assert trees["network_val_score"] == pytest.approx(summary["best"]["val_score"])
    report = (tmp_path / "run" / "report.html").read_text()
    assert "boosted trees (same split)" in report and "trees validation f1_macro" in report
    model = json.loads((tmp_path / "run" / "model" / "model.json").read_text())
    city = next(f for f in model["preprocessing"]["features"] if f["name"] == "city")
    assert len(city["categories"]) == 8 and city["other"]  # 40 levels: 8 kept, rest pooled
    out = tmp_path / "preds.csv"
    with pytest.warns(CaviarWarning) as unseen:
        assert main(["predict", str(tmp_path / "run" / "model"), str(new), "-o", str(out)]) == 0
    err = " | ".join(str(w.message) for w in unseen)
    assert "2 values of categories never seen in training" in err and "'city' (1" in err
    preds = pd.read_csv(out)
    assert len(preds) == 6 and set(preds["prediction"]) <= {"yes", "no"}
    assert np.isfinite(preds[["proba_no", "proba_yes"]].to_numpy()).all()
    tune = tmp_path / "tune.toml"
    tune.write_text(CONFIG.format(source=source, metric="auto") + TUNE)
    assert main(["tune", str(tune), "-o", str(tmp_path / "tuned"), "--json"]) == 0
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "tuned" / "model"), str(new)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 7  # header + 6 rows


def test_regression_target_is_standardized_and_predicted_in_its_units(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 3))
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(price=1e4 * (X[:, 0] - X[:, 1]) + 5e4)
    path = tmp_path / "prices.csv"
    df.to_csv(path, index=False)
    cfg = tmp_path / "r.toml"
    cfg.write_text(f'[data]\nsource = "{path}"\ntarget = "price"\n[train]\nepochs = 30\n')
    assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["data"]["target_std"] > 1e3 and summary["trees"]["metric"] == "r2"
    assert summary["best"]["val_score"] > 0.8
    assert (
        main(["predict", str(tmp_path / "run" / "model"), str(path), "-o", str(tmp_path / "p.csv")])
        == 0
    )
    pred = pd.read_csv(tmp_path / "p.csv")["prediction"].to_numpy()
    assert abs(pred.mean() - df["price"].mean()) < 0.2 * df["price"].std()  # target units


@pytest.mark.parametrize("metric", ["rmse", "mae"])
def test_errors_of_a_standardized_target_are_in_its_units(tmp_path, metric) -> None:
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error

    import caviar

    rng = np.random.default_rng(2)
    X = rng.normal(size=(160, 3))
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(price=3e3 * (X[:, 0] - X[:, 1]) + 5e4)
    path = tmp_path / "prices.csv"
    df.to_csv(path, index=False)
    run = caviar.train(
        {
            "data": {"source": str(path), "target": "price"},
            "train": {"epochs": 15, "metric": metric, "dtype": "float64", "patience": None},
        }
    )
    assert run.data.preprocessor.target_std > 1e3
    error = {"rmse": root_mean_squared_error, "mae": mean_absolute_error}[metric]
    raw = df.drop(columns="price")
    truth = df["price"].to_numpy()
    test_idx = run.data.test_idx
    expected = -error(truth[test_idx], run.best_model.predict(raw.iloc[test_idx]))
    assert run.test_score == pytest.approx(expected, rel=1e-9)
    val_idx = run.data.val_idx
    last = float(run.best.history["val_score"][-1])  # no early stop: the final weights
    assert last == pytest.approx(
        -error(truth[val_idx], run.best_model.predict(raw.iloc[val_idx])), rel=1e-9
    )
