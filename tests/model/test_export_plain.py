"""The plain module against Caviar's own prediction in float64 for every activation, loss
rule and combination (models built from random weights: no training needed), and
encode_rows' refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from export_models import table

from caviar.data import Preprocessor
from caviar.errors import CaviarError
from caviar.export import encode_rows
from caviar.model import TrainedModel
from caviar.nn.activations import ACTIVATIONS

FRAME = table(60).drop(columns="label")
LABELS = table(60).label


def random_model(
    *,
    activation: str = "relu",
    task: str = "classification",
    loss: str = "cross_entropy",
    outputs: int = 3,
    batch_norm: bool = False,
    combine: str = "mean",
    members: int = 2,
    labels: pd.Series = LABELS,
) -> TrainedModel:
    """An MLP of random weights over :data:`FRAME`'s preprocessing."""
    pre = Preprocessor(task).fit(FRAME, labels if task == "classification" else None)
    sizes = [pre.n_features, 7, 5, outputs]
    gen = torch.Generator().manual_seed(0)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    def member() -> dict[str, torch.Tensor]:
        tensors = {}
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            tensors[f"layers.{i}.weight"] = draw(a, b)
            if batch_norm and i < len(sizes) - 2:
                for name in ("weight", "bias", "running_mean"):
                    tensors[f"layers.{i}.bn.{name}"] = draw(b)
                tensors[f"layers.{i}.bn.running_var"] = draw(b).abs() + 0.5
            else:
                tensors[f"layers.{i}.bias"] = draw(b)
        return tensors

    return TrainedModel(
        sizes=sizes,
        activation=activation,
        loss_name=loss,
        task=task,
        member_tensors=[member() for _ in range(members)],
        leaky_slopes=[0.3 + 0.4 * m for m in range(members)],
        preprocessor=pre,
        configs=[{} for _ in range(members)],
        batch_norm=batch_norm,
        combine=combine,
    )


def plain(model: TrainedModel, X) -> np.ndarray:
    with torch.no_grad():
        return model.to_torch(torch.float64)(
            torch.as_tensor(encode_rows(model, X, dtype=np.float64))
        ).numpy()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_with_each_members_parameter(activation):
    model = random_model(activation=activation, batch_norm=True)
    np.testing.assert_allclose(plain(model, FRAME), model.predict_proba(FRAME), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("loss", "outputs"),
    [("binary_cross_entropy", 3), ("hinge", 3), ("squared_hinge", 3)],
)
def test_probability_rules_of_the_losses(loss, outputs):
    model = random_model(loss=loss, outputs=outputs)
    np.testing.assert_allclose(plain(model, FRAME), model.predict_proba(FRAME), rtol=0, atol=1e-12)


def test_one_sigmoid_output_of_a_binary_task():
    model = random_model(loss="binary_cross_entropy", outputs=1, labels=LABELS == "high")
    proba = plain(model, FRAME)
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba, model.predict_proba(FRAME), rtol=0, atol=1e-12)


def test_vote_shares_and_multi_output_regression():
    vote = random_model(combine="vote", members=5)
    shares = plain(vote, FRAME)
    np.testing.assert_array_equal(shares, vote.predict_proba(FRAME))
    assert set(np.unique(shares * 5)) <= {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}
    reg = random_model(task="regression", loss="l2", outputs=2)
    np.testing.assert_allclose(plain(reg, FRAME), reg.predict(FRAME), rtol=0, atol=1e-12)


def test_encode_rows_takes_arrays_and_frames_alike():
    model = random_model()
    from_frame = encode_rows(model, FRAME)
    from_array = encode_rows(model, FRAME.to_numpy(dtype=object))
    np.testing.assert_array_equal(from_frame, from_array)
    assert from_frame.dtype == np.float32 and from_frame.shape == (60, 5)
    member = model.preprocessor.input_columns.index("member")
    assert set(from_frame[:, member]) == {0.0, 1.0}  # bools are categories: False, True


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda f: f.drop(columns="city"), "missing feature columns: city"),
        (lambda f: f.to_numpy()[:, :3], r"expected raw features of shape \(rows, 5\)"),
        (lambda f: f.assign(income="a lot"), "income"),
    ],
    ids=["missing-column", "narrow-array", "text-in-numeric"],
)
def test_encode_rows_refuses_what_predict_refuses(change, needle):
    model = random_model()
    bad = change(FRAME.copy())
    with pytest.raises(CaviarError, match=needle) as by_predict:
        model.predict_proba(bad)
    with pytest.raises(CaviarError) as by_encode:
        encode_rows(model, bad)
    assert str(by_encode.value) == str(by_predict.value)


def test_encode_rows_accepts_what_predict_accepts_nan_included():
    """Missing numbers: refused by both where the preprocessing refuses them, else NaN in
    the encoded rows (the graph imputes them)."""
    model = random_model()
    gaps = FRAME.assign(age=np.where(np.arange(60) % 3 == 0, np.nan, FRAME.age))
    try:
        expected = model.predict_proba(gaps)
    except CaviarError as e:
        with pytest.raises(CaviarError, match="missing value"):
            encode_rows(model, gaps)
        assert "missing value" in str(e)
        return
    encoded = encode_rows(model, gaps, dtype=np.float64)
    age = model.preprocessor.input_columns.index("age")
    assert np.isnan(encoded[::3, age]).all()
    np.testing.assert_allclose(plain(model, gaps), expected, rtol=0, atol=1e-12)


def test_to_torch_takes_float_dtypes_and_refuses_integers():
    model = random_model()
    with pytest.raises(CaviarError, match="floating dtype"):
        model.to_torch(torch.int32)
    assert model.to_torch(torch.float16).preprocess.steps[0].mean.dtype == torch.float16


def test_categorical_numbers_are_codes_not_values():
    """A ``category`` column of numbers: the graph takes the code, not the number."""
    frame = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5], "grade": pd.Categorical([10, 20, 10, 30])})
    pre = Preprocessor("regression").fit(frame, [1.0, 2.0, 3.0, 4.0])
    codes = encode_rows(pre, frame.assign(grade=pd.Categorical([30, 10, 20, 40])))
    np.testing.assert_array_equal(codes[:3, 1], [2, 0, 1])
    assert codes[3, 1] not in (0, 1, 2)  # 40 was never seen: a code with no indicator


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_predicting_on_cuda_exports_a_module_that_runs_on_either(tmp_path):
    random_model(batch_norm=True).save(tmp_path / "m")
    model = TrainedModel.load(tmp_path / "m", device="cuda")
    net = model.to_torch(torch.float64)
    assert {t.device.type for t in net.state_dict().values()} == {"cpu"}
    x = torch.as_tensor(encode_rows(model, FRAME, dtype=np.float64))
    expected = model.predict_proba(FRAME)
    with torch.no_grad():
        np.testing.assert_allclose(net(x).numpy(), expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(net.cuda()(x.cuda()).cpu().numpy(), expected, atol=1e-10)


def test_a_standardized_regression_target_is_put_back_in_its_units():
    model = random_model(task="regression", loss="l2", outputs=1)
    raw = plain(model, FRAME)
    model.preprocessor.target_mean, model.preprocessor.target_std = 150.0, 40.0
    np.testing.assert_allclose(plain(model, FRAME), raw * 40.0 + 150.0, rtol=1e-15)


def test_missing_numbers_in_the_graph_take_the_fill_value():
    """NaN reaching the graph is imputed (here with the mean: standardized to 0)."""
    model = random_model()
    x = torch.as_tensor(encode_rows(model, FRAME, dtype=np.float64))
    age = model.preprocessor.input_columns.index("age")
    with_gap, at_mean = x.clone(), x.clone()
    with_gap[:, age] = float("nan")
    at_mean[:, age] = model.preprocessor.columns[age].mean
    net = model.to_torch(torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(net(with_gap), net(at_mean), rtol=0, atol=0)
