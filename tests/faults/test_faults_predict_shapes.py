"""Prediction inputs are checked against the model's input shape: an ``.npz`` or array
with another channel count, length, image size or feature count is refused with one
line (CLI ``predict``, ``TrainedModel.predict``, estimators), never truncated."""

import numpy as np
import pytest

from caviar.cli.main import main
from caviar.errors import CaviarError
from caviar.model import TrainedModel

TOML = """
[data]
source = "{source}"
{shape}
[model]
{model}
[optimizer]
name = "adam"
lr = 0.01
[train]
epochs = 2
batch_size = 16
"""


def _npz(path, X, y):
    np.savez(path, X=X, y=y)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """An MLP trained on 8-feature rows and a CNN trained on (1, 16) signals."""
    root = tmp_path_factory.mktemp("shapes")
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    rows = _npz(root / "rows.npz", rng.normal(size=(60, 8)), y)
    signals = _npz(root / "signals.npz", rng.normal(size=(60, 1, 16)), y)
    out = {}
    for name, source, model in [
        ("mlp", rows, "hidden = [4]"),
        ("cnn", signals, 'kind = "cnn"\nchannels = [2]\nkernel_size = 3\nhidden = [4]'),
    ]:
        cfg = root / f"{name}.toml"
        cfg.write_text(TOML.format(source=source, shape="", model=model))
        assert main(["train", str(cfg), "-o", str(root / name), "-q", "--json"]) == 0
        out[name] = root / name / "model"
    return out


BAD = [
    ("mlp", (60, 20), "examples of shape [20] (20 values), but the model takes [8]"),
    ("mlp", (60, 4, 4), "examples of shape [4, 4] (16 values), but the model takes [8]"),
    ("cnn", (60, 3, 16), "examples of shape [3, 16] (48 values), but the model takes [1, 16]"),
    ("cnn", (60, 1, 32), "examples of shape [1, 32] (32 values), but the model takes [1, 16]"),
    ("cnn", (60, 2, 8), "examples of shape [2, 8] (16 values), but the model takes [1, 16]"),
]


@pytest.mark.parametrize("kind,shape,message", BAD)
def test_cli_predict_refuses_another_input_shape(models, tmp_path, capsys, kind, shape, message):
    data = _npz(tmp_path / "x.npz", np.zeros(shape), np.zeros(shape[0]))
    out = tmp_path / "p.csv"
    assert main(["predict", str(models[kind]), str(data), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "never cut" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [data]


@pytest.mark.parametrize("kind,shape,message", BAD)
def test_trained_model_predict_refuses_another_input_shape(models, kind, shape, message):
    model = TrainedModel.load(models[kind])
    with pytest.raises(CaviarError, match="shape") as info:
        model.predict(np.zeros(shape))
    assert "\n" not in str(info.value)
    if len(shape) > 2:  # N-d arrays are checked by shape, flat ones by their width
        assert message.split(",")[0] in str(info.value)


def test_the_right_shape_still_predicts_flat_or_shaped(models, tmp_path, capsys):
    cnn = TrainedModel.load(models["cnn"])
    x = np.random.default_rng(1).normal(size=(5, 1, 16))
    np.testing.assert_array_equal(cnn.predict(x), cnn.predict(x.reshape(5, 16)))
    data = _npz(tmp_path / "ok.npz", x, np.zeros(5))
    assert main(["predict", str(models["cnn"]), str(data)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6  # header + 5 rows
    mlp = TrainedModel.load(models["mlp"])
    with pytest.raises(CaviarError, match=r"examples of shape \[20\].*never cut"):
        mlp.predict(np.zeros((5, 20)), preprocessed=True)


def test_estimators_refuse_another_feature_count():
    from caviar.sklearn import CaviarClassifier

    rng = np.random.default_rng(0)
    est = CaviarClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0)
    est.fit(rng.normal(size=(40, 8)), np.arange(40) % 2)
    for bad in (np.zeros((3, 20)), np.zeros((3, 4)), np.zeros((3, 2, 4))):
        with pytest.raises(ValueError):
            est.predict(bad)
    images = CaviarClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0)
    images.fit(rng.normal(size=(40, 2, 4)), np.arange(40) % 2)
    assert images.predict(np.zeros((3, 2, 4))).shape == (3,)
    with pytest.raises(ValueError, match=r"examples of shape \[4, 2\].*never reshaped"):
        images.predict(np.zeros((3, 4, 2)))
