"""Per-layer gradient norms over training (:ref:`bg-vanishing-gradients`).

Back-propagation multiplies the gradient by ``g'(z)`` at every hidden layer; the
sigmoid's derivative is at most 1/4, so in a deep sigmoid network the first layers'
gradients shrink geometrically while relu's (derivative 1 where active) do not.
We train the configuration with its own optimizer and record, after every
backward pass, ``||dL/dW_l||_2`` of each layer's weight, averaged per epoch. The
summary is ``first_to_last_ratio = mean_t ||dL/dW_1|| / mean_t ||dL/dW_L||``. The
squared gradients are also summed for AdaGrad's diagonal ``B`` (:ref:`bg-adagrad`).
"""

from __future__ import annotations

import torch

from caviar.config import RunConfig
from caviar.training.full_batch import FullBatchTrainer, is_full_batch
from caviar.training.trainer import PopulationTrainer


def _layer_norms(model, grad: torch.Tensor) -> torch.Tensor:
    """``(L,)`` weight-gradient norms of member 0 from a ``(P, N)`` gradient."""
    return torch.stack([w[0].norm() for w in model.weights(grad)])


def gradient_norm_run(cfg: RunConfig, data, *, epochs: int) -> dict:
    """Train ``cfg`` for ``epochs`` and record per-layer gradient norms per epoch."""
    cfg = cfg.model_copy(deep=True)
    cfg.train.epochs = epochs
    cfg.train.patience = None
    steps: list[torch.Tensor] = []
    per_epoch: list[torch.Tensor] = []
    state: dict = {"sq": None, "epoch_steps": []}

    def record(model, grad: torch.Tensor) -> None:
        g = grad.detach()
        state["epoch_steps"].append(_layer_norms(model, g))
        sq = g[0].double().pow(2)
        state["sq"] = sq if state["sq"] is None else state["sq"] + sq

    def end_epoch(_trainer) -> None:
        if state["epoch_steps"]:
            per_epoch.append(torch.stack(state["epoch_steps"]).mean(0))
            steps.extend(state["epoch_steps"])
            state["epoch_steps"] = []

    trainer: FullBatchTrainer | PopulationTrainer
    if is_full_batch(cfg):

        def grad_hook(tr: FullBatchTrainer, g: torch.Tensor) -> None:
            record(tr.model, g)
            end_epoch(tr)

        trainer = FullBatchTrainer([cfg], data, grad_hook=grad_hook)
    else:
        first_order = trainer = PopulationTrainer([cfg], data, callbacks=[end_epoch])
        opt_step = first_order.optimizer.step

        def hooked_step(*args, **kwargs):
            record(first_order.model, first_order.model.flat.grad)
            return opt_step(*args, **kwargs)

        first_order.optimizer.step = hooked_step  # type: ignore[method-assign]  # this one
    result = trainer.run()
    end_epoch(trainer)
    norms = torch.stack(per_epoch).cpu().double()  # (epochs, L)
    mean = torch.stack(steps).double().mean(0)
    last = float(mean[-1])
    return {
        "layers": [f"layers.{i}.weight" for i in range(norms.shape[1])],
        "per_epoch": norms.T.tolist(),  # layer -> list over epochs
        "mean": mean.tolist(),
        "first_to_last_ratio": float(mean[0]) / last if last > 0 else float("nan"),
        "grad_sq_sum": state["sq"],
        "result": result,
    }
