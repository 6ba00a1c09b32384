"""The CUDA path: the same checks as on the CPU, run on ``cuda`` (marked ``cuda``: skipped
without a CUDA device; ``benchmarks/gpu_check.sh`` runs them). Plus the CPU-side checks of
the device options (``caviar predict --device``, ``TrainedModel(device=)``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from caviar.cli import main
from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.losses import get_loss
from caviar.model import TrainedModel
from caviar.nn.backprop import backward, forward_train
from caviar.nn.mlp import PopulationMLP
from caviar.penalties import penalties
from caviar.training.gradient_step import PENALTY_NAMES
from caviar.training.trainer import PopulationTrainer, train_population

HAS_CUDA = torch.cuda.is_available()

CONFIG = """
[data]
source = "iris"
[model]
hidden = [8]
[optimizer]
name = "adam"
lr = [0.01, 0.03]
[train]
epochs = 20
batch_size = 16
"""


def _raw(device: str, **train) -> dict:
    return {
        "data": {"source": "iris"},
        "model": {"hidden": [8]},
        "optimizer": {"name": "adam", "lr": [1e-2, 3e-2, 1e-1]},
        "train": {"epochs": 6, "batch_size": 16, "patience": None, "device": device, **train},
    }


def test_predict_on_a_missing_device_is_a_one_line_error(tmp_path, capsys):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(CONFIG)
    assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    bad = ["cuda:99", "tpu", "not a device"] if HAS_CUDA else ["cuda", "tpu"]
    for device in bad:
        assert main(["predict", str(tmp_path / "run" / "model"), "iris", "--device", device]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and len(err.splitlines()) == 1


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
@pytest.mark.parametrize("n_out", [3, 20])
def test_float64_backprop_equals_autograd_on_cuda(activation, n_out):
    dev, dt, p, b = "cuda", torch.float64, 4, 9
    torch.manual_seed(0)
    model = PopulationMLP([6, 20, 11, n_out], p, activation=activation, dtype=dt, device=dev)
    model.initialize(list(range(p)))
    x = torch.randn(b, 6, dtype=dt, device=dev)
    y = torch.randint(0, n_out, (b,), device=dev)
    slope = torch.tensor([0.0, 0.01, 0.2, 0.5], dtype=dt, device=dev)
    g = torch.Generator(device=dev).manual_seed(5)
    lam = {k: 0.1 * torch.rand(p, generator=g, dtype=dt, device=dev) for k in PENALTY_NAMES}
    model.zero_grad()
    out, acts = model(x, slope=slope, return_activities=True)
    (
        get_loss("cross_entropy").fn(out, y)
        + penalties(model.weights(), model.biases(), acts, **lam)
    ).sum().backward()
    ref = model.flat.grad.clone()
    out2, cache = forward_train(model, x, slope=slope)
    out2.requires_grad_(True)
    get_loss("cross_entropy").fn(out2, y).sum().backward()
    model.flat.grad.fill_(float("nan"))
    backward(model, cache, out2.grad, slope=slope, lambdas=lam)
    torch.testing.assert_close(model.flat.grad, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "tf32"])
def test_population_member_follows_its_trajectory_alone_on_cuda(precision):
    data = prepare_data("iris", seed=1)
    together = PopulationTrainer(expand_configs(_raw("cuda", precision=precision)), data)
    together.run()
    raw = _raw("cuda", precision=precision)
    raw["optimizer"]["lr"] = [3e-2]
    alone = PopulationTrainer(expand_configs(raw), data)
    alone.run()
    tol = {"rtol": 0, "atol": 0} if precision == "fp32" else {"rtol": 1e-5, "atol": 1e-6}
    torch.testing.assert_close(together.model.flat[1], alone.model.flat[0], **tol)


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_cuda_training_matches_cpu_in_float64():
    data = prepare_data("iris", seed=1)
    cpu = train_population(expand_configs(_raw("cpu", dtype="float64")), data)
    gpu = train_population(expand_configs(_raw("cuda", dtype="float64")), data)
    for a, b in zip(cpu.members, gpu.members, strict=True):
        np.testing.assert_allclose(a.history["train_loss"], b.history["train_loss"], rtol=1e-9)
        assert a.status == b.status and a.best_epoch == b.best_epoch


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("strategy", ["halving", "pbt"])
def test_tune_halving_and_pbt_on_cuda(tmp_path, strategy):
    from caviar.tuning.runner import tune

    cfg = {
        "data": {"source": "iris", "seed": 0},
        "model": {"hidden": [8]},
        "optimizer": {"name": "adam"},
        "train": {"epochs": 6, "batch_size": 16, "patience": None, "device": "cuda"},
        "search": {
            "strategy": "random",
            "trials": 6,
            "seed": 0,
            "space": {"optimizer.lr": {"log_uniform": [1e-3, 1e-1]}},
        },
    }
    if strategy == "halving":
        cfg["search"]["halving"] = {"min_epochs": 2, "eta": 3}
    else:
        cfg["search"]["pbt"] = {"interval": 2, "fraction": 0.25}
    result = tune(cfg, out=str(tmp_path / "run"))
    assert len(result.trials) == 6
    result.model.save(tmp_path / "model")
    model = TrainedModel.load(tmp_path / "model", device="cuda")
    data = prepare_data("iris", seed=0)
    np.testing.assert_array_equal(
        model.predict(data.X_test, preprocessed=True),
        result.model.predict(data.X_test, preprocessed=True),
    )


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_predict_on_cuda_equals_cpu(tmp_path, capsys):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(CONFIG)
    assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--quiet"]) == 0
    outs = {}
    for device in ("cpu", "cuda"):
        path = tmp_path / f"{device}.csv"
        args = ["predict", str(tmp_path / "run" / "model"), "iris", "-o", str(path)]
        assert main([*args, "--device", device]) == 0
        outs[device] = path.read_text()
    assert outs["cpu"] == outs["cuda"]
