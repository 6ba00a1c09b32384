"""The documented Python API: configs in, ranked members with histories and a model out."""

import numpy as np
import pytest

import caviar
from caviar.errors import CaviarError


def test_python_api_round_trip(tmp_path):
    run = caviar.train(
        {
            "data": {"source": "iris", "seed": 3},
            "model": {"hidden": [[8], [16, 8]]},
            "optimizer": {"name": "adam", "lr": [1e-2, 3e-2]},
            "train": {"epochs": 25, "batch_size": 16},
        }
    )
    assert len(run.members) == 4 and len(run.populations) == 2
    scores = [m.val_score for m in run.members]
    assert scores == sorted(scores, reverse=True)
    assert run.best.val_score >= 0.9
    assert {m.index for m in run.members} == {0, 1, 2, 3}
    assert all(len(m.history["val_loss"]) == m.epochs_run for m in run.members)
    assert 0.0 <= run.test_score <= 1.0
    run.best_model.save(tmp_path / "model")
    model = caviar.TrainedModel.load(tmp_path / "model")
    X = run.data.X_test
    np.testing.assert_array_equal(
        model.predict(X, preprocessed=True), run.best_model.predict(X, preprocessed=True)
    )
    proba = model.predict_proba(X, preprocessed=True)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    # test accuracy recomputed from the saved model equals the reported one
    labels = run.data.preprocessor.decode_labels(run.data.y_test)
    assert np.mean(model.predict(X, preprocessed=True) == labels) == pytest.approx(run.test_score)


def test_cuda_request_without_cuda_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(CaviarError, match="CUDA is not available"):
        caviar.train({"data": {"source": "iris"}, "train": {"epochs": 1, "device": "cuda"}})
