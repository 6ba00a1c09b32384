"""Fitted estimators export like any trained model: ``to_torch``, ``export`` (ONNX,
TorchScript) and ``save`` give what ``predict_proba`` / ``predict`` give on held-out
rows, with the estimator's fitted preprocessing inside (arrays: none; a DataFrame: its
table preparation, categorical columns and gaps included).

Tolerances: the float64 plain module equals the estimator to 1e-12; float32 files and
modules to 1e-6 (probabilities: absolute; regression values, some over 100: relative).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_sklearn_module import tiny_cnn
from test_sklearn_tables import churn

from caviar.errors import CaviarError
from caviar.export import encode_rows, read_export_metadata
from caviar.model import TrainedModel
from caviar.sklearn import CaviarClassifier, CaviarRegressor, PopulationSearchCV

FAST = {"hidden_layer_sizes": (8,), "epochs": 20, "random_state": 0, "learning_rate": 0.02}


@pytest.fixture(scope="module")
def iris():
    """Even rows train, odd rows are held out."""
    X, y = load_iris(return_X_y=True)
    est = CaviarClassifier(**FAST, activation="leaky_relu", leaky_slope=0.2).fit(X[::2], y[::2])
    return est, X[1::2]


@pytest.fixture(scope="module")
def diabetes():
    """Raw units (ages, blood pressures) standardized by the estimator: preprocess=True."""
    X, y = load_diabetes(return_X_y=True, scaled=False)
    est = CaviarRegressor(**FAST, preprocess=True).fit(X[::2], y[::2])
    return est, X[1::2]


@pytest.fixture(scope="module")
def churn_table():
    """A DataFrame with text, bool, gaps: held-out rows with an unseen city and gaps."""
    df, y = churn()
    est = CaviarClassifier(**FAST, dtype="float64").fit(df.iloc[:200], y.iloc[:200])
    held = df.iloc[200:].copy()
    held.iloc[-1, held.columns.get_loc("city")] = "nowhere"
    return est, held


def onnx_run(path, x: np.ndarray) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"features": x})[0]


def torchscript_run(path, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path))
    with torch.no_grad():
        return module(torch.as_tensor(x)).numpy()


def plain_run(est, x: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    with torch.no_grad():
        return est.to_torch(dtype)(torch.as_tensor(x, dtype=dtype)).numpy()


def test_classifier_exports_equal_predict_proba(iris, tmp_path):
    est, X = iris
    expected = est.predict_proba(X)
    x32 = X.astype(np.float32)  # arrays go in as given: the estimator scales nothing
    np.testing.assert_allclose(plain_run(est, X, torch.float64), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(plain_run(est, X, torch.float32), expected, rtol=0, atol=1e-6)
    assert est.export(tmp_path / "iris.onnx") == tmp_path / "iris.onnx"
    np.testing.assert_allclose(onnx_run(tmp_path / "iris.onnx", x32), expected, atol=1e-6)
    est.export(tmp_path / "iris.pt")
    np.testing.assert_allclose(torchscript_run(tmp_path / "iris.pt", x32), expected, atol=1e-6)
    meta = read_export_metadata(tmp_path / "iris.onnx")
    assert meta["classes"] == [0, 1, 2] and meta["output_name"] == "probabilities"
    assert meta["input_columns"] == ["x0", "x1", "x2", "x3"]
    assert all(c["mean"] == 0.0 and c["std"] == 1.0 for c in meta["columns"])
    assert (expected.argmax(axis=1) != 0).any()  # not a constant model


def test_regressor_exports_equal_predict_in_the_target_units(diabetes, tmp_path):
    est, X = diabetes
    expected = est.predict(X)[:, None]
    assert est.target_std_ is not None and np.abs(expected).max() > 100
    np.testing.assert_allclose(plain_run(est, X, torch.float64), expected, rtol=1e-12)
    np.testing.assert_allclose(plain_run(est, X, torch.float32), expected, rtol=1e-6)
    est.export(tmp_path / "diabetes.onnx", dtype=torch.float64)
    np.testing.assert_allclose(onnx_run(tmp_path / "diabetes.onnx", X), expected, rtol=1e-12)
    est.export(tmp_path / "diabetes32.onnx")
    got = onnx_run(tmp_path / "diabetes32.onnx", X.astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got.std() > 10  # the predictions vary with the rows
    meta = read_export_metadata(tmp_path / "diabetes32.onnx")  # the fitted (x - mean) / std
    columns = est.preprocessor_.columns
    assert [c["mean"] for c in meta["columns"]] == [c.mean for c in columns]
    assert [c["std"] for c in meta["columns"]] == [c.std for c in columns]
    assert meta["columns"][0]["mean"] > 40  # the mean age of the training rows


def test_dataframe_with_categories_and_gaps_exports_its_table_preparation(churn_table, tmp_path):
    """The fitted imputation, indicators, standardization and one-hot are in the graph;
    encode_rows takes the estimator and maps the text to category codes."""
    est, held = churn_table
    assert held.isna().any().any() and "nowhere" in set(held.city)
    with warnings.catch_warnings():  # the unseen city is counted in a warning
        warnings.simplefilter("ignore")
        expected = est.predict_proba(held)
        x = encode_rows(est, held, dtype=np.float64)
    np.testing.assert_allclose(plain_run(est, x, torch.float64), expected, rtol=0, atol=1e-12)
    est.export(tmp_path / "churn.onnx")
    got = onnx_run(tmp_path / "churn.onnx", x.astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    meta = read_export_metadata(tmp_path / "churn.onnx")
    assert meta["input_columns"] == list(held.columns) and meta["classes"] == ["no", "yes"]
    assert [c["kind"] for c in meta["columns"]].count("categorical") == 3


def test_saved_estimator_reloads_as_a_trained_model(iris, diabetes, tmp_path):
    for name, (est, X) in {"iris": iris, "diabetes": diabetes}.items():
        est.save(tmp_path / name)
        model = TrainedModel.load(tmp_path / name)
        np.testing.assert_array_equal(model.predict(X), est.predict(X))
        if name == "iris":
            np.testing.assert_array_equal(model.predict_proba(X), est.predict_proba(X))
        model.export(tmp_path / f"{name}.onnx")  # the reloaded model exports as well


def test_export_before_fit_raises_not_fitted(tmp_path):
    for est in (CaviarClassifier(), CaviarRegressor()):
        for call in (
            est.to_torch,
            est.to_trained_model,
            lambda e=est: e.export(tmp_path / "m.onnx"),
            lambda e=est: e.save(tmp_path / "m"),
        ):
            with pytest.raises(NotFittedError):
                call()
    assert not list(tmp_path.iterdir())


def test_export_refusals_are_the_trained_models_one_line_errors(iris, tmp_path):
    est, _ = iris
    (tmp_path / "taken.onnx").write_text("keep me")
    with pytest.raises(CaviarError, match="already exists") as taken:
        est.export(tmp_path / "taken.onnx")
    with pytest.raises(CaviarError, match="cannot tell the export format") as suffix:
        est.export(tmp_path / "model.bin")
    assert "\n" not in str(taken.value) + str(suffix.value)
    assert (tmp_path / "taken.onnx").read_text() == "keep me"


def test_multi_output_standardized_regressor_is_refused_in_one_line(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    Y = np.stack([y, -y], axis=1)
    est = CaviarRegressor(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="2 outputs trained with standardize_target") as e:
        est.export(tmp_path / "m.onnx")
    assert "\n" not in str(e.value) and not list(tmp_path.iterdir())
    plain = CaviarRegressor(hidden_layer_sizes=(4,), epochs=2, random_state=0)
    plain.set_params(standardize_target=False).fit(X, Y)
    np.testing.assert_allclose(plain_run(plain, X, torch.float64), plain.predict(X), atol=1e-12)


def test_a_module_estimator_exports(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 2, 6)).reshape(90, -1)
    y = np.where(X[:, :6].sum(axis=1) > 0, "up", "down")
    est = CaviarClassifier(module=tiny_cnn, input_shape=(2, 6), epochs=5, random_state=0)
    est.fit(X[:60], y[:60])
    expected = est.predict_proba(X[60:])
    np.testing.assert_allclose(plain_run(est, X[60:], torch.float64), expected, atol=1e-12)
    est.export(tmp_path / "cnn.onnx")
    got = onnx_run(tmp_path / "cnn.onnx", X[60:].astype(np.float32))
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_pipeline_last_step_and_search_best_estimator_export(tmp_path):
    """A Pipeline's last step exports its own network: the pipeline's earlier steps (the
    scaler) are not in the file and are applied before it. The best estimator of a
    PopulationSearchCV exports like an estimator fitted alone."""
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), CaviarClassifier(**FAST))
    search = PopulationSearchCV(pipe, {"caviarclassifier__learning_rate": [0.01, 0.03]}, cv=2)
    search.fit(X[::2], y[::2])
    best = search.best_estimator_
    last = best.steps[-1][1]
    last.export(tmp_path / "best.onnx")
    scaled = best[:-1].transform(X[1::2])
    got = onnx_run(tmp_path / "best.onnx", scaled.astype(np.float32))
    np.testing.assert_allclose(got, best.predict_proba(X[1::2]), rtol=0, atol=1e-6)
    alone = CaviarClassifier(**FAST).fit(X[::2], y[::2])
    search = PopulationSearchCV(alone, {"learning_rate": [0.01, 0.03]}, cv=2)
    search.fit(X[::2], y[::2])
    search.best_estimator_.export(tmp_path / "alone.pt")
    got = torchscript_run(tmp_path / "alone.pt", X[1::2].astype(np.float32))
    np.testing.assert_allclose(got, search.predict_proba(X[1::2]), rtol=0, atol=1e-6)


def test_a_numeric_dataframe_keeps_its_column_names(tmp_path):
    X, y = load_iris(return_X_y=True, as_frame=True)
    est = CaviarClassifier(**FAST).fit(X.iloc[::2], y.iloc[::2])
    x = encode_rows(est, X.iloc[1::2])
    assert x.dtype == np.float32 and est.preprocessor_ is None  # used as an array
    est.export(tmp_path / "frame.onnx")
    assert read_export_metadata(tmp_path / "frame.onnx")["input_columns"] == list(X.columns)
    got = onnx_run(tmp_path / "frame.onnx", x)
    np.testing.assert_allclose(got, est.predict_proba(X.iloc[1::2]), rtol=0, atol=1e-6)


def test_a_binary_cross_entropy_classifier_exports_its_sigmoid(tmp_path):
    """One output and the sigmoid rule; string labels; the standardization that
    preprocess=True fitted on the array is inside the file."""
    X, y = load_breast_cancer(return_X_y=True)
    labels = np.where(y == 1, "benign", "malignant")
    est = CaviarClassifier(**FAST, loss="binary_cross_entropy", preprocess=True)
    est.fit(X[::2], labels[::2])
    assert est.coefs_[-1].shape[1] == 1
    expected = est.predict_proba(X[1::2])
    np.testing.assert_allclose(plain_run(est, X[1::2], torch.float64), expected, atol=1e-12)
    est.export(tmp_path / "cancer.onnx")
    got = onnx_run(tmp_path / "cancer.onnx", X[1::2].astype(np.float32))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert read_export_metadata(tmp_path / "cancer.onnx")["classes"] == ["benign", "malignant"]
    assert 0.1 < (expected[:, 0] > 0.5).mean() < 0.9  # both classes predicted
