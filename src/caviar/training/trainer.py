"""The population trainer: one vectorized training loop for ``P`` members.

Every epoch (stochastic gradient descent, :ref:`bg-gradient-descent`):

1. shuffle the training examples (one order shared by the population, from
   ``train.shuffle_seed``) and cut them into mini-batches of ``batch_size``
   (1 is online SGD, ``"full"`` is full-batch gradient descent);
2. for each mini-batch: outputs ``(P, B, K)``, per-member loss
   ``L_p = data_loss_p + penalty_p`` (shape ``(P,)``) and every member's own gradient
   ``∂L_p/∂θ_p`` (:mod:`caviar.training.gradient_step`: backpropagation written out,
   or autograd with batch norm), then one optimizer step with the per-member
   learning-rate multiplier of the schedule at ``t = step / steps_per_epoch`` epochs;
3. a per-member validation loss and score in one batched pass, then per-member
   early stopping (``caviar.training.early_stopping``).

Folds of unequal sizes train each member on its own batches (:mod:`.fold_sizes`).

Data with an empty validation split (0 rows) trains without validation: every member runs all
its epochs, validation histories are NaN, nothing stops early and each member keeps its final
weights (its ``best_epoch`` is its last epoch).

With any regularizer on (dropout, batch norm, weight/input noise, augmentation, per-member
sampling; :mod:`caviar.training.regularization`) step 2 runs the training-mode forward pass with
per-member random streams; otherwise it is the plain path, unchanged. The batch size may grow
with the epochs (:mod:`caviar.training.batches`); the schedule's ``t = epoch + step / steps``
uses the current epoch's number of steps (a warm-up counts epoch 0's steps).

A member whose training loss becomes NaN/inf is marked diverged and frozen (its parameters and
optimizer state stop changing) while the others go on. At the end each member is restored to its
best-validation weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from caviar.config import RunConfig
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.memory import tune_malloc
from caviar.nn.precision import Precision
from caviar.openmp import adjust_threads, load_aware
from caviar.optim import make_optimizer
from caviar.penalties.max_norm import active_max_norm, kernel_views, project_max_norm_
from caviar.schedules import make_schedule
from caviar.schedules.plateau import copy_state as copy_schedule_state
from caviar.tensors import shared_or_member
from caviar.training import side_by_side
from caviar.training.batches import batch_bounds, batch_size_at
from caviar.training.build import DTYPES, build_model, check_population, n_outputs, resolve_device
from caviar.training.collect import collect_results
from caviar.training.controls import PopulationControls
from caviar.training.early_stopping import EarlyStopping
from caviar.training.epoch_end import EndOfEpochRules
from caviar.training.epoch_report import EpochReport
from caviar.training.evaluate import evaluate_scores
from caviar.training.fold_sizes import FoldSizes
from caviar.training.folds import fold_population
from caviar.training.gradient_monitor import GradientMonitor
from caviar.training.gradient_step import active_lambdas, loss_and_gradient
from caviar.training.hooks import Hook, as_hooks
from caviar.training.init_check import initial_check
from caviar.training.population import stack_knobs
from caviar.training.regularization import Regularization
from caviar.training.result import HISTORY_KEYS, PopulationResult
from caviar.training.scoring import target_scale
from caviar.training.scoring.epoch import EpochScore
from caviar.training.snapshots import Snapshots
from caviar.training.splits import Tensors, split_tensors, to_tensors
from caviar.training.validation_cadence import ValidationCadence, subsample_validation
from caviar.training.weights import split_weights

__all__ = [  # the trainer and the names other modules import from here
    "DTYPES",
    "EpochCallback",
    "PopulationTrainer",
    "Tensors",
    "build_model",
    "collect_results",
    "n_outputs",
    "split_tensors",
    "to_tensors",
    "train_population",
]

EpochCallback = Callable[[int, int, int, float], None]


class PopulationTrainer(PopulationControls):
    """Trains ``configs`` (one shared structure) as one population on ``data``.

    Its hooks (:mod:`caviar.training.hooks`) are, in order: the gradient monitor
    (``on_batches_end``), the end-of-epoch rules (``on_validation_end``), snapshots,
    ``callbacks`` and the progress report ``on_epoch`` (``on_epoch_end``). ``callbacks``
    are hooks or functions ``callback(trainer)``, run after every epoch's validation and
    early stopping; they may stop members (:meth:`prune`), copy members onto others
    (:meth:`copy_members`, for population-based training) or change per-member
    hyperparameters (:meth:`set_hyper`). Successive halving and PBT are built on
    these three operations, without checkpoint files.
    """

    def __init__(
        self,
        configs: list[RunConfig],
        data,
        *,
        callbacks: Sequence[Hook | Callable[[PopulationTrainer], None]] = (),
        on_epoch: EpochCallback | None = None,
        restore_best: bool = True,
    ) -> None:
        check_population(configs)
        tune_malloc()
        self.configs = list(configs)
        self.data = data
        self.callbacks = list(callbacks)
        self.on_epoch = on_epoch
        self.restore_best = restore_best
        first = configs[0]
        self.dtype = DTYPES[first.train.dtype]
        self.device = resolve_device(first.train.device)
        self.precision = Precision.of(first.train.precision, self.device)
        self.knobs = stack_knobs(configs, data.task, dtype=self.dtype, device=self.device)
        self.model = build_model(configs, data, self.knobs)
        t = first.train
        self.w_train, w_val = (
            split_weights(t.class_weight, data, s, self.dtype, self.device)
            for s in ("train", "val")
        )
        self.tensors, self.w_val = subsample_validation(
            to_tensors(data, self.dtype, self.device), t.val_subsample, t.shuffle_seed, w_val
        )
        self.fold_sizes: FoldSizes | None = None  # folds of unequal sizes (training/fold_sizes)
        fold_population(self, data)  # cross-validation folds: per-member rows (training/folds)
        self.spec = get_loss(self.knobs.loss_name)
        self.metric = first.train.metric
        self.n_train = self.tensors.n_rows
        self.has_val = self.tensors.x_val.shape[0] > 0
        self.epochs = first.train.epochs
        self.cadence = ValidationCadence(first.train.validate_every, self.epochs)
        sizes = self.fold_sizes  # per-member steps with folds of unequal sizes
        self.steps_per_epoch = len(self.epoch_bounds(0)) if sizes is None else sizes.steps(self, 0)
        self.size = len(configs)
        self.regularization = Regularization(self, first)
        self.optimizer = make_optimizer(
            first.optimizer.name,
            [self.model.flat],
            **self.knobs.optimizer,
            **_optimizer_flags(first),
        )
        self.schedule = self._make_schedule(first)
        self.stopper = EarlyStopping(self.knobs.patience, self.knobs.min_delta, self.model.flat)
        self.best_stats = self.model.stats.clone()
        self.snapshot_every = first.ensemble.snapshot_every
        self.snapshots: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        self.global_step: int | torch.Tensor = 0  # (P,) with fold_sizes: each member's own
        mask = torch.zeros(self.size, dtype=torch.bool, device=self.device)
        self.finished = mask.clone()
        self.alive = ~mask
        self.diverged, self.stopped, self.pruned = mask.clone(), mask.clone(), mask.clone()
        self.epochs_run = torch.zeros(self.size, dtype=torch.long, device=self.device)
        self.epoch = 0
        self.history: dict[str, list[torch.Tensor]] = {k: [] for k in HISTORY_KEYS}
        self._generator = torch.Generator().manual_seed(int(first.train.shuffle_seed))
        self.loss_with_gradient = self._closed_form_loss()
        self._refresh_knobs()
        self.init_check = initial_check(self)  # bg-initialization; training/init_check.py
        self.grad_monitor = GradientMonitor(self.model)  # bg-vanishing-gradients
        self.hooks: list[Hook] = [  # skorch-style default hooks around the callbacks
            self.grad_monitor,
            EndOfEpochRules(),
            Snapshots(),
            *as_hooks(self.callbacks),
            EpochReport(),
        ]

    def _closed_form_loss(self):
        """The loss's closed-form gradient (``LossSpec.with_gradient``) when the training
        targets are class codes inside ``[0, K)``, checked here once instead of every
        step; otherwise None (autograd differentiates the loss, and reports bad codes)."""
        y, fn = self.tensors.y_train, self.spec.with_gradient
        if fn is None or y.is_floating_point() or y.numel() == 0 or self.w_train is not None:
            return None
        k = self.model.n_outputs
        return fn if 0 <= int(y.min()) and int(y.max()) < k else None

    def _refresh_knobs(self) -> None:
        """Per-epoch views of the knobs: the active penalty λ and the loss hypers (a
        python float when shared by every member; see ``caviar.tensors.shared_or_member``)."""
        self.lambdas = active_lambdas(self.knobs.penalty)
        self.loss_hypers = {k: shared_or_member(v) for k, v in self.knobs.loss.items()}
        self.max_norm = active_max_norm(self.knobs.penalty["max_norm"])

    def _make_schedule(self, first: RunConfig):
        params = dict(self.knobs.schedule)
        if first.schedule.name == "cosine":
            params.setdefault("T", torch.full((self.size,), float(self.epochs), dtype=self.dtype))
        return make_schedule(
            first.schedule.name,
            self.size,
            dtype=self.dtype,
            device=self.device,
            steps_per_epoch=self.steps_per_epoch,
            **params,
        )

    # -- the loop -----------------------------------------------------------------
    @load_aware
    def run(self) -> PopulationResult:
        """Train until every member stopped or the epochs ran out; restore best weights
        (on a busy machine, as two halves side by side: :mod:`.side_by_side`)."""
        if side_by_side.wanted(self):
            side_by_side.train_halves(self)
            return self._collect()
        for epoch in range(self.epochs):
            self.run_epoch(epoch)
            if not bool(self.alive.any()):
                break
        if self.has_val and self.restore_best:
            self.restore_best_epochs()
        return self._collect()

    def run_epoch(self, epoch: int) -> None:
        """Epoch ``epoch``: train, validate, then every hook's ``on_epoch_end``."""
        self.epoch = epoch
        self.train_epoch()
        self.validate()
        self.notify("on_epoch_end")

    @torch.no_grad()
    def restore_best_epochs(self) -> None:
        """Every member's best-validation weights and, with batch norm, the running
        statistics of that epoch (members without a best epoch keep theirs)."""
        self.stopper.restore_best(self.model.flat)
        has_best = (self.stopper.best_epoch >= 0)[:, None]
        self.model.stats.copy_(torch.where(has_best, self.best_stats, self.model.stats))

    def epoch_bounds(self, epoch: int, n: int | None = None) -> list[tuple[int, int]]:
        """Mini-batch boundaries of ``epoch`` (batch-size schedule, see ``train.batches``)
        over the ``n_train`` training rows, or ``n`` (a size group of folds)."""
        t = self.configs[0].train
        n = self.n_train if n is None else n
        base = n if t.batch_size == "full" else min(int(t.batch_size), n)
        growth, every = t.batch_size_growth, t.batch_size_every
        size = batch_size_at(epoch, base, n, growth=growth, every=every, cap=t.batch_size_max)
        return batch_bounds(n, size, no_single=self.model.batch_norm)

    def train_epoch(self) -> None:
        """One pass over the shuffled training set in mini-batches, then the hooks'
        ``on_batches_end``."""
        adjust_threads(self.device)  # no more threads than free cores (caviar.openmp)
        epoch = self.epoch
        self.history["lr"].append(self.knobs.optimizer["lr"] * self.schedule(float(epoch)))
        self.epochs_run += self.alive.long()
        self._refresh_knobs()
        sizes = self.fold_sizes  # folds of unequal sizes: each on its own batches
        loss, score = self._train_batches() if sizes is None else sizes.train_epoch(self)
        self.history["train_loss"].append(loss)
        self.history["train_score"].append(score)
        self.notify("on_batches_end")  # the gradient monitor reads the last batch's gradient

    def _train_batches(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The epoch's mini-batches in the shared order: its training loss and score ``(P,)``."""
        t, epoch = self.tensors, self.epoch
        bounds = self.epoch_bounds(epoch)
        steps = len(bounds)
        perm = torch.randperm(self.n_train, generator=self._generator).to(self.device)
        rows = t.member_rows(self.regularization.epoch_rows(perm, epoch))
        loss_sum = torch.zeros(self.size, dtype=self.dtype, device=self.device)
        score = self.epoch_score()
        for step, (start, end) in enumerate(bounds):
            scale = None if self.schedule.constant else self.schedule(epoch + step / steps)
            data_loss, out, yb, wb = self.train_step(rows[..., start:end], scale)
            self.global_step += 1
            with torch.no_grad():
                loss_sum += data_loss * (end - start if wb is None else wb.sum(dim=-1))
                score.add(out, yb, wb)
        total = self.n_train if self.w_train is None else t.row_weights(self.w_train).sum(-1)
        return loss_sum / total, score.result(t.fit_targets())

    def epoch_score(self) -> EpochScore:
        """An empty training score of one epoch (its ``add`` takes the batches)."""
        scale = target_scale(self.data)
        return EpochScore(self.metric, self.spec, self.size, self.dtype, self.device, scale)

    def train_step(self, idx: torch.Tensor, scale: torch.Tensor | None) -> tuple:
        """One mini-batch of training rows ``idx`` (``(B,)`` or ``(P, B)``): gradients, the
        optimizer step (learning-rate multiplier ``scale``) and the max-norm projection for
        the alive members; returns the data loss ``(P,)``, outputs, targets and weights."""
        t, reg = self.tensors, self.regularization
        xb, yb = t.batch_inputs(idx), t.y_train[idx]
        wb = None if self.w_train is None else self.w_train[idx]
        data_loss, out = loss_and_gradient(self, xb, yb, wb)
        if reg.active:
            reg.after_backward()
        self.optimizer.step(lr_scale=scale, alive=self.alive)
        if self.max_norm is not None:
            project_max_norm_(kernel_views(self.model), self.max_norm, self.alive)
        return data_loss, out, yb, wb

    def validate(self) -> None:
        """Per-member validation loss and score in one pass, then early stopping (on the
        epochs ``train.validate_every`` selects), then the hooks' ``on_validation_end``
        (the end-of-epoch rules, :mod:`caviar.training.epoch_end`)."""
        due = self.cadence.due(self.epoch)
        if not self.has_val or not due:
            nan = torch.full((self.size,), float("nan"), dtype=self.dtype, device=self.device)
            self.history["val_loss"].append(nan)
            self.history["val_score"].append(nan.clone())
            self.history["val_default_score"].append(nan.clone())
            self.notify("on_validation_end")
            return
        t, sizes = self.tensors, self.fold_sizes  # held-out folds of unequal sizes: per size
        if sizes is None:
            self._record_validation(*self.evaluate(t.x_val, t.y_val, self.w_val))
        else:
            self._record_validation(*sizes.evaluate(self))
        if self.model.batch_norm:
            improved = (self.stopper.best_epoch == self.epoch)[:, None]
            self.best_stats.copy_(torch.where(improved, self.model.stats, self.best_stats))
        self.notify("on_validation_end")

    def evaluate(
        self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None, outputs=None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Validation loss, score and default score ``(P,)`` of the members on ``x, y``
        (``outputs``: their outputs for ``x`` when already computed)."""
        return evaluate_scores(
            self.model,
            x,
            y,
            loss_name=self.knobs.loss_name,
            loss_hypers=self.loss_hypers,
            slope=self.knobs.leaky_slope,
            stats=self.model.stats,
            metric=self.metric,
            weight=weight,
            target_scale=target_scale(self.data),
            outputs=outputs,
        )

    # -- operations for callbacks (successive halving, PBT) ---------------------------
    def finish(self, mask: torch.Tensor) -> None:
        """Stop the members in ``mask`` as done (status ``complete``), e.g. at an epoch budget."""
        mask = mask.to(self.alive.device) & self.alive
        self.finished |= mask
        self.alive &= ~mask

    def _copy_state(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        """Optimizer state and batch-norm statistics rows (for :meth:`copy_members`)."""
        for buf in (self.model.stats, self.best_stats):
            buf.index_copy_(0, dst, buf.index_select(0, src))
        self.optimizer.copy_members(dst, src)
        copy_schedule_state(self.schedule, dst, src)

    def _status_masks(self) -> tuple[torch.Tensor, ...]:
        return (self.alive, self.diverged, self.stopped, self.pruned, self.finished)

    def set_hyper(self, group: str, name: str, values: torch.Tensor | Sequence[float]) -> None:
        """Set a per-member hyperparameter: ``group`` is optimizer, loss, penalty, schedule
        or regularize (dropout, input_dropout, bn_momentum, weight_noise, input_noise,
        interpolate, shift, rotate, scale)."""
        table = getattr(self.knobs, group, None)
        if not isinstance(table, dict) or name not in table:
            raise CaviarError(f"no per-member hyperparameter '{group}.{name}' in this population")
        v = torch.as_tensor(values, dtype=self.dtype, device=self.device).reshape(self.size)
        if group == "optimizer":
            self.optimizer.set_hyper(name, v)
        elif group == "schedule":
            self.schedule.params[name].copy_(v)
        old = table[name].clone()
        table[name].copy_(v)
        if group == "regularize":
            try:
                self.regularization.refresh()
            except CaviarError:
                table[name].copy_(old)  # a bad value changes nothing
                self.regularization.refresh()
                raise

    # -- results ---------------------------------------------------------------------
    def _collect(self) -> PopulationResult:
        return collect_results(self)


def train_population(
    configs: list[RunConfig],
    data,
    *,
    on_epoch: EpochCallback | None = None,
    callbacks: Sequence[Hook | Callable[[PopulationTrainer], None]] = (),
) -> PopulationResult:
    """Train ``configs`` (one shared structure) as one population on ``data``."""
    return PopulationTrainer(configs, data, on_epoch=on_epoch, callbacks=callbacks).run()


def _optimizer_flags(cfg: RunConfig) -> dict[str, bool]:
    flag = cfg.optimizer.eps_inside_sqrt
    return {} if flag is None else {"eps_inside_sqrt": flag}
