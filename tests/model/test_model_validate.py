"""Predictions are right or refused: raw arrays go through the fitted preprocessing, and
a tampered or damaged model directory is one error line, never a traceback, a hang or
garbage predictions."""

import io
import json
import shutil
import struct

import numpy as np
import pandas as pd
import pytest

from caviar.cli import main
from caviar.data import load_features
from caviar.errors import CaviarError
from caviar.model import TrainedModel

CONFIG = """
[data]
source = "{source}"
{target}
[model]
hidden = [8]
[optimizer]
name = "adam"
lr = 0.01
[train]
epochs = {epochs}
batch_size = 32
"""


def train_model(root, source, target="", epochs=15):
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "cfg.toml"
    cfg.write_text(CONFIG.format(source=source, target=target, epochs=epochs))
    assert main(["train", str(cfg), "-o", str(root / "run"), "-q"]) == 0
    return root / "run" / "model"


@pytest.fixture(scope="module")
def cancer_model(tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("cancer"), "breast_cancer")


@pytest.fixture(scope="module")
def numbered(tmp_path_factory):
    """A model whose labels are 1000, 2000, 3000 (int64 labels), and its data file."""
    root = tmp_path_factory.mktemp("numbered")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 2))
    label = 1000 * (1 + (x[:, 0] > 0) + (x[:, 1] > 0.5))
    csv = root / "data.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": label}).to_csv(csv, index=False)
    return train_model(root, str(csv), 'target = "label"', epochs=3), csv


def test_array_dataframe_and_csv_give_the_same_predictions(cancer_model, tmp_path, capsys):
    model = TrainedModel.load(cancer_model)
    frame = load_features("breast_cancer")
    from sklearn.datasets import load_breast_cancer

    y = load_breast_cancer().target
    by_frame = model.predict(frame)
    by_array = model.predict(frame.to_numpy())
    np.testing.assert_array_equal(by_array, by_frame)
    np.testing.assert_array_equal(model.predict_proba(frame.to_numpy()), model.predict_proba(frame))
    assert (by_array == y).mean() > 0.9  # raw NumPy was 0.37 before (the majority is 0.63)
    csv = tmp_path / "x.csv"
    frame.to_csv(csv, index=False)
    capsys.readouterr()
    assert main(["predict", str(cancer_model), str(csv)]) == 0
    by_csv = pd.read_csv(io.StringIO(capsys.readouterr().out))
    np.testing.assert_array_equal(by_csv["prediction"].to_numpy(), by_frame)
    # an array of the wrong width is refused; preprocessed inputs say so
    with pytest.raises(CaviarError, match=r"shape \(rows, 30\)"):
        model.predict(frame.to_numpy()[:, :5])
    x_pre = model.preprocessor.transform(frame)
    np.testing.assert_array_equal(model.predict(x_pre, preprocessed=True), by_frame)


def copy_model(src, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(src, dst)
    return dst


def edit_json(model_dir, change, *, drop_checksum=False):
    path = model_dir / "model.json"
    desc = json.loads(path.read_text())
    change(desc)
    if drop_checksum:
        desc.pop("weights_sha256", None)
    path.write_text(json.dumps(desc))


def edit_header(model_dir, old: str, new: str):
    """Replace text in the safetensors JSON header (same length: the byte size stays)."""
    path = model_dir / "model.safetensors"
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = raw[8 : 8 + n].decode()
    assert old in header and len(old) == len(new)
    path.write_bytes(raw[:8] + header.replace(old, new).encode() + raw[8 + n :])


def predict_fails(model_dir, data, capsys, needle):
    capsys.readouterr()
    assert main(["predict", str(model_dir), str(data)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert needle in lines[0], lines[0]
    assert captured.out == ""


def pre(key, value):
    return lambda d: d["preprocessing"].__setitem__(key, value)


@pytest.mark.parametrize(
    "label,change,needle",
    [
        ("void label dtype", pre("label_dtype", "V8"), "not a label type"),
        ("too small label dtype", pre("label_dtype", "int8"), "does not fit label_dtype 'int8'"),
        ("datetime labels", pre("label_dtype", "datetime64[ns]"), "not a label type"),
        ("no such dtype", pre("label_dtype", "nonsense"), "not a dtype"),
        ("huge n_members", lambda d: d.__setitem__("n_members", 100_000_000), "n_members"),
        ("zero n_members", lambda d: d.__setitem__("n_members", 0), "n_members"),
        ("zero std", lambda d: d["preprocessing"]["features"][0].__setitem__("std", 0.0), "std"),
        ("format", lambda d: d.__setitem__("format_version", 9), "format_version"),
        ("sizes", lambda d: d.__setitem__("sizes", [2, 8, 7]), "outputs"),
        ("huge sizes", lambda d: d.__setitem__("sizes", [2, 10**9, 3]), "sizes"),
        ("activation", lambda d: d.__setitem__("activation", "swish"), "activation"),
        ("classes", pre("classes", [1000]), "at least 2 classes"),
        ("dropout", lambda d: d.__setitem__("dropout", [1.5]), "dropout"),
    ],
)
def test_tampered_model_json_is_one_line(numbered, tmp_path, capsys, label, change, needle):
    model_dir, csv = numbered
    bad = copy_model(model_dir, tmp_path)
    edit_json(bad, change)
    predict_fails(bad, csv, capsys, needle)


def test_the_labels_themselves_are_intact(numbered, capsys):
    model_dir, csv = numbered
    assert main(["predict", str(model_dir), str(csv)]) == 0
    p = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(p["prediction"]) <= {1000, 2000, 3000}


def float_dtype(model_dir):
    raw = (model_dir / "model.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return "F64" if '"F64"' in raw[8 : 8 + n].decode() else "F32"


def test_retyped_weights_are_refused_by_checksum_and_by_dtype(numbered, tmp_path, capsys):
    model_dir, csv = numbered
    f = float_dtype(model_dir)
    bad = copy_model(model_dir, tmp_path)
    edit_header(bad, f'"{f}"', f'"I{f[1:]}"')  # same byte size: loads, all rows class 0 before
    predict_fails(bad, csv, capsys, "does not match the checksum")
    edit_json(bad, lambda d: None, drop_checksum=True)  # an older model without checksum
    predict_fails(bad, csv, capsys, f"has dtype I{f[1:]}")


def test_changed_weight_bytes_fail_the_checksum(numbered, tmp_path, capsys):
    model_dir, csv = numbered
    bad = copy_model(model_dir, tmp_path)
    path = bad / "model.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    path.write_bytes(bytes(raw))
    predict_fails(bad, csv, capsys, "checksum")


def test_non_finite_weights_without_checksum_are_refused(numbered, tmp_path, capsys):
    import torch
    from safetensors.torch import load_file, save_file

    model_dir, csv = numbered
    bad = copy_model(model_dir, tmp_path)
    tensors = load_file(str(bad / "model.safetensors"))
    key = next(iter(tensors))
    tensors[key] = torch.full_like(tensors[key], float("nan"))
    save_file(tensors, str(bad / "model.safetensors"))
    edit_json(bad, lambda d: None, drop_checksum=True)
    predict_fails(bad, csv, capsys, "NaN or infinite")


def test_a_missing_member_tensor_is_refused(numbered, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    model_dir, csv = numbered
    bad = copy_model(model_dir, tmp_path)
    tensors = load_file(str(bad / "model.safetensors"))
    tensors.pop("members.0.layers.1.bias")
    save_file(tensors, str(bad / "model.safetensors"))
    edit_json(bad, lambda d: None, drop_checksum=True)
    predict_fails(bad, csv, capsys, "do not match the layer sizes")


def test_saved_models_carry_the_checksum_and_load(numbered):
    model_dir, _ = numbered
    from caviar.model.validate import sha256_of

    desc = json.loads((model_dir / "model.json").read_text())
    assert desc["weights_sha256"] == sha256_of(model_dir / "model.safetensors")
    assert TrainedModel.load(model_dir).n_members == 1
