"""train.precision (caviar.nn.precision): bf16 products and activations, float32 master
weights, checked against float64 autograd (the reference) at bfloat16's tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.nn.backprop import backward, forward_train
from caviar.nn.mlp import PopulationMLP
from caviar.nn.precision import Precision
from caviar.penalties import penalties
from caviar.training.gradient_step import PENALTY_NAMES
from caviar.training.trainer import PopulationTrainer

P, B = 4, 32
#: bfloat16 rounds to 2^-8 relative; the backward products sum terms that largely cancel
#: (the softmax gradient sums to zero over classes), so the hidden layers' gradients carry
#: a few percent of relative error (measured 0.3-8% here); a wrong term is O(1)
TOL = 0.1


def _models(activation: str, n_out: int):
    master = PopulationMLP([6, 40, 24, n_out], P, activation=activation, dtype=torch.float32)
    master.initialize(list(range(P)))
    ref = PopulationMLP([6, 40, 24, n_out], P, activation=activation, dtype=torch.float64)
    with torch.no_grad():
        ref.flat.copy_(master.flat.double())
    return master, ref


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b).norm() / b.norm())


@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
@pytest.mark.parametrize("n_out", [3, 20], ids=["narrow_out", "wide_out"])
def test_bf16_backprop_matches_float64_autograd(activation, n_out):
    torch.manual_seed(0)
    master, ref = _models(activation, n_out)
    x = torch.randn(B, 6)
    y = torch.randint(0, n_out, (B,))
    slope = torch.tensor([0.0, 0.01, 0.2, 0.5])
    g = torch.Generator().manual_seed(5)
    lam = {k: 0.01 * torch.rand(P, generator=g) for k in PENALTY_NAMES}
    # the reference: float64 autograd with the same penalties
    out64, acts = ref(x.double(), slope=slope.double(), return_activities=True)
    lam64 = {k: v.double() for k, v in lam.items()}
    total = get_loss("cross_entropy").fn(out64, y) + penalties(
        ref.weights(), ref.biases(), acts, **lam64
    )
    total.sum().backward()
    # bf16 by hand
    out, cache = forward_train(master, x, slope=slope, precision=Precision("bf16"))
    assert out.dtype == torch.float32 and cache.inputs[1].dtype == torch.bfloat16
    out.requires_grad_(True)
    get_loss("cross_entropy").fn(out, y).sum().backward()
    master.flat.grad.fill_(float("nan"))
    backward(master, cache, out.grad, slope=slope, lambdas=lam)
    grad = master.flat.grad
    assert grad.dtype == torch.float32 and bool(torch.isfinite(grad).all())
    assert _rel(out.detach(), out64.detach()) < TOL
    for mine, theirs in zip(master.weights(grad), ref.weights(ref.flat.grad), strict=True):
        assert _rel(mine, theirs) < TOL
    for mine, theirs in zip(master.biases(grad), ref.biases(ref.flat.grad), strict=True):
        assert _rel(mine, theirs) < TOL


def test_bf16_autograd_path_matches_float64(monkeypatch):
    """Batch norm trains through autograd under ``torch.autocast``: same gradient."""
    torch.manual_seed(1)
    data = prepare_data("iris", seed=1)
    raw = {
        "data": {"source": "iris"},
        "model": {"hidden": [16], "batch_norm": True},
        "optimizer": {"name": "sgd", "lr": [0.1, 0.2]},
        "train": {"epochs": 1, "batch_size": 32, "patience": None},
    }
    grads = {}
    for prec, dtype in (("bf16", "float32"), ("fp32", "float64")):
        trainer = PopulationTrainer(
            expand_configs({**raw, "train": {**raw["train"], "precision": prec, "dtype": dtype}}),
            data,
        )
        from caviar.training.gradient_step import loss_and_gradient

        t = trainer.tensors
        loss, _ = loss_and_gradient(trainer, t.x_train[:32], t.y_train[:32])
        assert loss.dtype == trainer.dtype
        grads[prec] = trainer.model.flat.grad.clone()
    assert grads["bf16"].dtype == torch.float32
    assert _rel(grads["bf16"], grads["fp32"]) < TOL


def _digits_run(precision: str):
    data = prepare_data("digits", seed=0)
    raw = {
        "data": {"source": "digits"},
        "model": {"hidden": [64]},
        "optimizer": {"name": "adam", "lr": [1e-3, 3e-3]},
        "penalty": {"l2_kernel": 1e-4},
        "train": {"epochs": 8, "batch_size": 64, "patience": None, "precision": precision},
    }
    trainer = PopulationTrainer(expand_configs(raw), data)
    return trainer, trainer.run()


def test_bf16_training_keeps_float32_state_and_accuracy():
    trainer, result = _digits_run("bf16")
    assert trainer.model.flat.dtype == torch.float32
    for state in trainer.optimizer.state_dict()["state"]:
        assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    _, reference = _digits_run("fp32")
    bf16 = np.array([m.val_score for m in result.members])
    fp32 = np.array([m.val_score for m in reference.members])
    assert np.all(bf16 > 0.9) and np.all(np.abs(bf16 - fp32) <= 0.02)


def test_bf16_member_in_a_population_follows_its_trajectory_alone():
    data = prepare_data("iris", seed=1)

    def cfg(lrs):
        raw = {
            "data": {"source": "iris"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "adam", "lr": lrs},
            "train": {"epochs": 5, "batch_size": 16, "patience": None, "precision": "bf16"},
        }
        return expand_configs(raw)

    together = PopulationTrainer(cfg([1e-2, 3e-2, 1e-1]), data)
    together.run()
    alone = PopulationTrainer(cfg([3e-2]), data)
    alone.run()
    torch.testing.assert_close(together.model.flat[1], alone.model.flat[0], rtol=0, atol=0)


@pytest.mark.parametrize(
    "train",
    [{"precision": "tf32"}, {"precision": "bf16", "dtype": "float64"}, {"precision": "fp16"}],
)
def test_bad_precision_is_a_config_error(train):
    with pytest.raises(CaviarError, match="train.precision"):
        expand_configs({"data": {"source": "iris"}, "train": train})


def test_full_batch_methods_refuse_reduced_precision():
    from caviar.training.full_batch import FullBatchTrainer

    cfgs = expand_configs(
        {"data": {"source": "iris"}, "optimizer": {"name": "lbfgs"}, "train": {"precision": "bf16"}}
    )
    with pytest.raises(CaviarError, match="fp32"):
        FullBatchTrainer(cfgs, prepare_data("iris", seed=1))


def test_precision_policy():
    assert Precision("fp32").cast(torch.ones(2)).dtype == torch.float32
    assert Precision("bf16").cast(torch.ones(2)).dtype == torch.bfloat16
    assert Precision("bf16").to_master(torch.ones(2, dtype=torch.bfloat16)).dtype == torch.float32
    with pytest.raises(ValueError):
        Precision("tf32", "cpu")
    lin = torch.nn.Linear(4, 3)
    with Precision("bf16").autocast():
        assert lin(torch.ones(2, 4)).dtype == torch.bfloat16
    with Precision("fp32").autocast():
        assert lin(torch.ones(2, 4)).dtype == torch.float32


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_tf32_products_on_cuda_are_scoped():
    before = torch.backends.cuda.matmul.fp32_precision
    with Precision("tf32", "cuda").products():
        assert torch.backends.cuda.matmul.fp32_precision == "tf32"
    assert torch.backends.cuda.matmul.fp32_precision == before
