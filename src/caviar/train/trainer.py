"""The population trainer: one vectorized training loop for ``P`` members.

Every epoch (seed 000 Optimization §2-3, seed 003 "Stochastic Gradient Descent"):

1. shuffle the training examples (one order shared by the population, from
   ``train.shuffle_seed``) and cut them into mini-batches of ``batch_size``
   (1 is online SGD, ``"full"`` is full-batch gradient descent);
2. for each mini-batch: outputs ``(P, B, K)``, per-member loss
   ``L_p = data_loss_p + penalty_p`` (shape ``(P,)``), ``backward()`` on
   ``sum_p L_p`` (which gives every member exactly its own gradient), then one
   optimizer step with the per-member learning-rate multiplier of the schedule at
   ``t = step / steps_per_epoch`` epochs;
3. a per-member validation loss and score in one batched pass, then per-member
   early stopping (``caviar.train.early_stopping``).

A member whose training loss becomes NaN/inf is marked diverged and frozen (its
parameters and optimizer state stop changing) while the others go on. At the
end each member is restored to its best-validation weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from caviar.config import RunConfig
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.nn import PopulationMLP, output_bias
from caviar.optim import make_optimizer
from caviar.penalties import penalties
from caviar.schedules import make_schedule
from caviar.train.early_stopping import EarlyStopping
from caviar.train.evaluate import evaluate
from caviar.train.metrics import accuracy
from caviar.train.population import PopulationKnobs, stack_knobs, structure_key
from caviar.train.result import HISTORY_KEYS, MemberResult, PopulationResult

EpochCallback = Callable[[int, int, int, float], None]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class Tensors:
    """The splits as tensors on the training device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def split_tensors(
    task: str, x: np.ndarray, y: np.ndarray, dtype: torch.dtype, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """One split as tensors: inputs ``(n, F)``; class codes ``(n,)`` or targets ``(n, K)``."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)
    if task == "classification":
        return xt, torch.as_tensor(np.asarray(y), dtype=torch.long, device=device)
    y = np.array(y, dtype=np.float64)  # a writable copy
    return xt, torch.as_tensor(y.reshape(len(y), -1), dtype=dtype, device=device)


def to_tensors(data, dtype: torch.dtype, device: torch.device | str) -> Tensors:
    """The training and validation splits of a :class:`~caviar.data.PreparedData`."""
    x_train, y_train = split_tensors(data.task, data.X_train, data.y_train, dtype, device)
    x_val, y_val = split_tensors(data.task, data.X_val, data.y_val, dtype, device)
    return Tensors(x_train, y_train, x_val, y_val)


def n_outputs(data, loss_name: str) -> int:
    """Width of the output layer for this task and loss."""
    if data.task == "regression":
        y = np.asarray(data.y_train)
        return 1 if y.ndim == 1 else y.shape[1]
    return get_loss(loss_name).n_outputs(data.n_classes)


def build_model(configs: list[RunConfig], data, knobs: PopulationKnobs) -> PopulationMLP:
    """A population MLP with each member initialized from its own seed."""
    first = configs[0]
    dtype = DTYPES[first.train.dtype]
    k = n_outputs(data, knobs.loss_name)
    sizes = [data.X_train.shape[1], *first.model.hidden, k]
    model = PopulationMLP(
        sizes,
        len(configs),
        activation=first.model.activation,
        dtype=dtype,
        device=first.train.device,
    )
    bias = None
    if first.model.output_init == "prior":
        bias = output_bias(np.asarray(data.y_train), task=data.task, n_outputs=k)
    model.initialize(knobs.seeds, init=first.model.init, scale=knobs.init_scale, output_bias=bias)
    return model


def _check_population(configs: list[RunConfig]) -> None:
    if not configs:
        raise CaviarError("no configurations to train")
    key = structure_key(configs[0])
    if any(structure_key(c) != key for c in configs[1:]):
        raise ValueError("configurations of one population must share their structure")


def _resolve_device(name: str) -> str:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CaviarError(f"device '{name}' requested but CUDA is not available")
    return name


def train_population(
    configs: list[RunConfig],
    data,
    *,
    on_epoch: EpochCallback | None = None,
) -> PopulationResult:
    """Train ``configs`` (one shared structure) as one population on ``data``."""
    _check_population(configs)
    first = configs[0]
    dtype, device = DTYPES[first.train.dtype], _resolve_device(first.train.device)
    knobs = stack_knobs(configs, data.task, dtype=dtype, device=device)
    model = build_model(configs, data, knobs)
    t = to_tensors(data, dtype, device)
    spec = get_loss(knobs.loss_name)
    n_train, epochs = t.x_train.shape[0], first.train.epochs
    bs = n_train if first.train.batch_size == "full" else min(int(first.train.batch_size), n_train)
    steps_per_epoch = -(-n_train // bs)
    pop = len(configs)

    optimizer = make_optimizer(
        first.optimizer.name, [model.flat], **knobs.optimizer, **_optimizer_flags(first)
    )
    sched_params = dict(knobs.schedule)
    if first.schedule.name == "cosine":
        sched_params.setdefault("T", torch.full((pop,), float(epochs), dtype=dtype))
    schedule = make_schedule(
        first.schedule.name,
        pop,
        dtype=dtype,
        device=device,
        steps_per_epoch=steps_per_epoch,
        **sched_params,
    )
    stopper = EarlyStopping(knobs.patience, knobs.min_delta, model.flat)
    alive = torch.ones(pop, dtype=torch.bool, device=device)
    diverged = torch.zeros_like(alive)
    stopped = torch.zeros_like(alive)
    epochs_run = torch.zeros(pop, dtype=torch.long, device=device)
    need_acts = bool(
        (knobs.penalty["l1_activity"] > 0).any() or (knobs.penalty["l2_activity"] > 0).any()
    )
    gen = torch.Generator().manual_seed(int(first.train.shuffle_seed))
    history: dict[str, list[torch.Tensor]] = {k: [] for k in HISTORY_KEYS}
    slope = knobs.leaky_slope

    for epoch in range(epochs):
        perm = torch.randperm(n_train, generator=gen).to(device)
        loss_sum = torch.zeros(pop, dtype=dtype, device=device)
        correct = torch.zeros(pop, dtype=dtype, device=device)
        history["lr"].append(knobs.optimizer["lr"] * schedule(float(epoch)))
        was_alive = alive.clone()
        for step in range(steps_per_epoch):
            idx = perm[step * bs : (step + 1) * bs]
            xb, yb = t.x_train[idx], t.y_train[idx]
            out, acts = model(xb, slope=slope, return_activities=True)
            data_loss = spec.fn(out, yb, **knobs.loss)
            total = data_loss + penalties(
                model.weights(), model.biases(), acts if need_acts else [], **knobs.penalty
            )
            finite = torch.isfinite(total.detach())
            diverged |= alive & ~finite
            alive &= finite
            model.flat.grad = None
            torch.where(alive, total, torch.zeros_like(total)).sum().backward()
            optimizer.step(lr_scale=schedule(epoch + step / steps_per_epoch), alive=alive)
            with torch.no_grad():
                loss_sum += data_loss.detach() * idx.shape[0]
                correct += _batch_score_sum(spec, out.detach(), yb)
        epochs_run += was_alive.long()
        val_loss, val_score = evaluate(
            model, t.x_val, t.y_val, loss_name=knobs.loss_name, loss_hypers=knobs.loss, slope=slope
        )
        bad_val = alive & ~torch.isfinite(val_loss)
        diverged |= bad_val
        alive &= ~bad_val
        history["train_loss"].append(loss_sum / n_train)
        history["train_score"].append(_finish_train_score(spec, correct, t.y_train))
        history["val_loss"].append(val_loss)
        history["val_score"].append(val_score)
        stop_now = stopper.update(epoch, val_loss, model.flat, alive)
        stopped |= stop_now
        alive &= ~stop_now
        if on_epoch is not None:
            finite_scores = val_score[torch.isfinite(val_score)]
            best = float(finite_scores.max()) if finite_scores.numel() else float("nan")
            on_epoch(epoch + 1, epochs, int(alive.sum()), best)
        if not bool(alive.any()):
            break

    stopper.restore_best(model.flat)
    return _collect(configs, model, knobs, history, stopper, diverged, stopped, epochs_run)


def _optimizer_flags(cfg: RunConfig) -> dict[str, bool]:
    flag = cfg.optimizer.eps_inside_sqrt
    return {} if flag is None else {"eps_inside_sqrt": flag}


def _batch_score_sum(spec, out: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    """Correct predictions (classification) or squared error sum (regression) per member."""
    if spec.task == "classification":
        return accuracy(spec.predict_proba(out), yb) * yb.shape[0]
    return (out - yb).pow(2).sum(dim=(-2, -1))


def _finish_train_score(spec, acc: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if spec.task == "classification":
        return acc / y.shape[0]
    sst = (y - y.mean(dim=0, keepdim=True)).pow(2).sum().clamp_min(torch.finfo(acc.dtype).tiny)
    return 1.0 - acc / sst


def _collect(configs, model, knobs, history, stopper, diverged, stopped, epochs_run):
    hist = {k: torch.stack(v).cpu().double().numpy() for k, v in history.items()}
    best_epoch = stopper.best_epoch.cpu().numpy()
    members = []
    for p, cfg in enumerate(configs):
        be = int(best_epoch[p])
        status = (
            "diverged"
            if bool(diverged[p])
            else ("early_stopped" if bool(stopped[p]) else "complete")
        )

        def at(key: str, p: int = p, be: int = be) -> float:
            return float(hist[key][be, p]) if be >= 0 else float("nan")

        n_run = int(epochs_run[p])
        members.append(
            MemberResult(
                index=p,
                position=p,
                config=cfg,
                status=status,
                best_epoch=be,
                epochs_run=n_run,
                history={k: hist[k][:n_run, p].tolist() for k in HISTORY_KEYS},
                val_loss=at("val_loss"),
                val_score=at("val_score"),
                train_loss=at("train_loss"),
                train_score=at("train_score"),
            )
        )
    return PopulationResult(
        model=model, loss_name=knobs.loss_name, members=members, knobs=knobs, history=hist
    )
