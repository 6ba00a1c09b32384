"""The full-batch training loop for gradient descent, Newton, BFGS and L-BFGS.

Selected by ``optimizer.name`` in ``gd | gd_linesearch | newton | bfgs | lbfgs``.
One "epoch" is one iteration of the method on the whole training set (a line
search evaluates the loss several times within it). The objective of member ``p``
is its full-batch training loss plus penalties,

    f_p(theta_p) = loss(model(X_train, flat=theta)_p, y_train) + R_p(theta_p),

evaluated for all members at once (``caviar.optim.second_order``). After every
iteration the members are validated and early-stopped exactly as in the first-order trainer.
A member also stops, with status ``converged``, by the gradient-descent stopping rule
(:ref:`bg-gradient-descent`) -- its loss decrease fell below ``tolerance`` (tau) -- or when
``max |grad| <= gtol`` or its line search found no Armijo step. Histories:
``lr`` holds the accepted step size of each iteration. ``train.batch_size`` is
not used; the schedule must be ``constant`` (the methods choose their own steps).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from caviar.config import RunConfig
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.memory import tune_malloc
from caviar.openmp import adjust_threads, load_aware
from caviar.optim.second_order import FULL_BATCH_METHODS, make_method, value_and_grad
from caviar.optim.second_order.base import decrease_stalled
from caviar.penalties import penalties
from caviar.training.build import DTYPES, build_model, check_population, resolve_device
from caviar.training.collect import collect_results
from caviar.training.controls import PopulationControls
from caviar.training.early_stopping import EarlyStopping
from caviar.training.epoch_report import EpochReport
from caviar.training.evaluate import evaluate_scores
from caviar.training.hooks import Hook, as_hooks
from caviar.training.population import penalty_lambdas, stack_knobs
from caviar.training.result import HISTORY_KEYS, PopulationResult
from caviar.training.scoring import target_scale
from caviar.training.splits import to_tensors
from caviar.training.trainer import EpochCallback
from caviar.training.validation_cadence import subsample_validation
from caviar.training.weights import split_weights

DEFAULTS = {"lr": 1.0, "tolerance": 1e-10, "gtol": 1e-7, "damping": 1e-6}
GD_DEFAULT_LR = 0.1  # plain gradient descent without a line search
FIRST_ORDER_FIELDS = ("momentum", "dampening", "beta1", "beta2", "rho", "eps", "weight_decay")


def is_full_batch(cfg: RunConfig) -> bool:
    """Whether ``cfg`` names a full-batch method."""
    return cfg.optimizer.name in FULL_BATCH_METHODS


def check_full_batch_config(cfg: RunConfig) -> None:
    """Raise a one-line error if ``cfg`` is not a valid full-batch configuration."""
    name = cfg.optimizer.name
    if name not in FULL_BATCH_METHODS:
        raise CaviarError(f"'{name}' is not a full-batch method")
    bad = [k for k in FIRST_ORDER_FIELDS if getattr(cfg.optimizer, k) is not None]
    if bad or cfg.optimizer.eps_inside_sqrt is not None:
        field = bad[0] if bad else "eps_inside_sqrt"
        raise CaviarError(f"optimizer '{name}' has no hyperparameter '{field}'")
    only = {"damping": "newton", "history_size": "lbfgs"}
    for key, owner in only.items():
        if getattr(cfg.optimizer, key) is not None and name != owner:
            raise CaviarError(f"optimizer '{name}' has no hyperparameter '{key}' (only {owner})")
    for path in FIRST_ORDER_ONLY:
        section = getattr(cfg, path.split(".")[0])
        key = path.split(".")[1]
        if getattr(section, key) != type(section).model_fields[key].default:
            raise CaviarError(f"{path} is for first-order training, not '{name}'")
    if cfg.schedule.name != "constant":
        raise CaviarError(
            f"optimizer '{name}' chooses its own steps: use schedule 'constant', "
            f"not '{cfg.schedule.name}'"
        )


# first-order knobs a full-batch run refuses unless left at their defaults
FIRST_ORDER_ONLY = ("penalty.max_norm", "train.stop_loss", "train.validate_every")


def _hyper(cfg: RunConfig, key: str) -> float:
    value = getattr(cfg.optimizer, key)
    if value is not None:
        return float(value)
    if key == "lr" and cfg.optimizer.name == "gd" and cfg.optimizer.line_search in (None, "none"):
        return GD_DEFAULT_LR
    return DEFAULTS[key]


def _first_order_view(cfg: RunConfig) -> RunConfig:
    """``cfg`` with a plain sgd optimizer, to reuse the first-order knob stacking."""
    return cfg.model_copy(update={"optimizer": cfg.optimizer.__class__(name="sgd")})


class FullBatchTrainer(PopulationControls):
    """Trains ``configs`` (one shared structure, a full-batch method) as one population.

    ``callbacks`` (hooks or functions ``callback(trainer)``, :mod:`caviar.training.hooks`)
    run after every iteration's validation, with the first-order trainer's operations
    (:meth:`prune`, :meth:`copy_members`, :meth:`set_hyper`), then the progress report
    ``on_epoch`` (its ``on_epoch_end`` hooks);
    ``grad_hook(trainer, grad)`` (optional) sees each iteration's ``(P, N)`` gradient.
    """

    # the current point, objective and gradient, ``(P, N)``, ``(P,)``, ``(P, N)`` (_refresh)
    x: torch.Tensor
    fx: torch.Tensor
    g: torch.Tensor

    def __init__(
        self,
        configs: list[RunConfig],
        data,
        *,
        callbacks: Sequence[Hook | Callable[[FullBatchTrainer], None]] = (),
        on_epoch: EpochCallback | None = None,
        grad_hook: Callable[[FullBatchTrainer, torch.Tensor], None] | None = None,
    ) -> None:
        check_population(configs)
        for c in configs:
            check_full_batch_config(c)
        tune_malloc()
        self.configs = list(configs)
        self.data = data
        self.on_epoch = on_epoch
        self.callbacks = list(callbacks)
        self.hooks: list[Hook] = [*as_hooks(self.callbacks), EpochReport()]
        self.grad_hook = grad_hook
        self._dirty = False
        first = configs[0]
        self.dtype = DTYPES[first.train.dtype]
        self.device = resolve_device(first.train.device)
        if first.train.precision != "fp32":  # line searches and curvature need fp32 values
            raise CaviarError(
                f"train.precision '{first.train.precision}' is for first-order "
                "optimizers; full-batch methods run in fp32"
            )
        self.knobs = stack_knobs(
            [_first_order_view(c) for c in configs], data.task, dtype=self.dtype, device=self.device
        )

        def col(key: str) -> torch.Tensor:
            return torch.tensor(
                [_hyper(c, key) for c in configs], dtype=self.dtype, device=self.device
            )

        self.knobs.optimizer = {k: col(k) for k in DEFAULTS}
        self.model = build_model(configs, data, self.knobs)
        t = first.train
        self.tensors, _ = subsample_validation(
            to_tensors(data, self.dtype, self.device), t.val_subsample, t.shuffle_seed
        )
        self.has_val = True  # full-batch methods always validate (early stopping)
        self.snapshots: list = []  # snapshot ensembles are a first-order feature
        self.spec = get_loss(self.knobs.loss_name)
        self.metric = configs[0].train.metric
        if split_weights(first.train.class_weight, data, "train", self.dtype, "cpu") is not None:
            raise CaviarError(
                f"class or sample weights are not supported by the full-batch method "
                f"'{first.optimizer.name}' (use a first-order optimizer)"
            )
        self.size = len(configs)
        self.epochs = first.train.epochs
        opt = first.optimizer
        self.method = make_method(
            opt.name,
            self.model.flat.detach(),
            line_search=opt.line_search,
            lr=self.knobs.optimizer["lr"],
            damping=self.knobs.optimizer["damping"],
            history_size=opt.history_size,
            max_evals=opt.max_line_search,
        )
        self.stopper = EarlyStopping(self.knobs.patience, self.knobs.min_delta, self.model.flat)
        mask = torch.zeros(self.size, dtype=torch.bool, device=self.device)
        self.alive = ~mask
        self.diverged, self.stopped, self.pruned = mask.clone(), mask.clone(), mask.clone()
        self.converged = mask.clone()
        self.epochs_run = torch.zeros(self.size, dtype=torch.long, device=self.device)
        self.epoch = 0
        self.history: dict[str, list[torch.Tensor]] = {k: [] for k in HISTORY_KEYS}
        pen = self.knobs.penalty
        self._need_activities = bool(
            (pen["l1_activity"] > 0).any() or (pen["l2_activity"] > 0).any()
        )

    def objective(self, flat: torch.Tensor) -> torch.Tensor:
        """Full-batch training loss plus penalties of every member, ``(P,)``."""
        t, knobs, model = self.tensors, self.knobs, self.model
        out, acts = model(t.x_train, slope=knobs.leaky_slope, flat=flat, return_activities=True)
        data_loss = self.spec.fn(out, t.y_train, **knobs.loss)
        return data_loss + penalties(
            model.weights(flat),
            model.biases(flat),
            acts if self._need_activities else [],
            **penalty_lambdas(knobs.penalty),
        )

    @load_aware
    def run(self) -> PopulationResult:
        """Iterate until every member stopped or the epochs ran out; restore best weights."""
        opt = self.knobs.optimizer
        self._refresh()
        bad = ~torch.isfinite(self.fx)
        self.diverged |= bad
        self.alive &= ~bad
        for epoch in range(self.epochs):
            self.epoch = epoch
            adjust_threads(self.device)  # no more threads than free cores (caviar.openmp)
            x, fx, g = self.x, self.fx, self.g
            if self.grad_hook is not None:
                self.grad_hook(self, g)
            self.epochs_run += self.alive.long()
            res = self.method.step(self.objective, x, fx, g, self.alive)
            finite = torch.isfinite(res.value) & torch.isfinite(res.grad).all(dim=-1)
            self.diverged |= self.alive & ~finite
            move = self.alive & finite
            decrease = fx - res.value
            self.x = torch.where(move[:, None], res.x, x)
            self.g = torch.where(move[:, None], res.grad, g)
            self.fx = torch.where(move, res.value, fx)
            self.alive &= finite
            with torch.no_grad():
                self.model.flat.copy_(self.x)
            self.history["lr"].append(torch.where(move, res.step, torch.zeros_like(res.step)))
            self._record_train()
            self._validate()
            small_grad = self.g.abs().amax(dim=-1) <= opt["gtol"]
            done = self.alive & (
                small_grad | decrease_stalled(decrease, opt["tolerance"]) | ~res.ok
            )
            self.converged |= done
            self.alive &= ~done
            self.notify("on_epoch_end")  # the callbacks, then the progress report
            if self._dirty:
                self._refresh()
            if not bool(self.alive.any()):
                break
        self.stopper.restore_best(self.model.flat)
        return collect_results(self)  # a converged member's status: ``converged``

    def _refresh(self) -> None:
        """Point, objective and gradient from ``model.flat`` (after a callback changed them)."""
        self.x = self.model.flat.detach().clone()
        self.fx, self.g = value_and_grad(self.objective, self.x)
        self._dirty = False

    # -- operations for callbacks (same contract as PopulationTrainer) ------------
    def finish(self, mask: torch.Tensor) -> None:
        """Stop the members in ``mask`` as done (status ``complete``), e.g. at a time or
        epoch budget (a member already stopped keeps its status)."""
        mask = mask.to(self.alive.device) & self.alive
        self.alive &= ~mask

    def _copy_state(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        """Curvature memory rows (BFGS matrix, L-BFGS pairs) for :meth:`copy_members`."""
        self.method.copy_members(dst, src)
        self._dirty = True

    def _status_masks(self) -> tuple[torch.Tensor, ...]:
        return (self.alive, self.diverged, self.stopped, self.pruned, self.converged)

    def set_hyper(self, group: str, name: str, values: torch.Tensor | Sequence[float]) -> None:
        """Set a per-member hyperparameter: ``group`` is optimizer, loss or penalty."""
        table = getattr(self.knobs, group, None)
        if group == "schedule" or not isinstance(table, dict) or name not in table:
            raise CaviarError(f"no per-member hyperparameter '{group}.{name}' in this population")
        v = torch.as_tensor(values, dtype=self.dtype, device=self.device).reshape(self.size)
        table[name].copy_(v)
        if group == "optimizer" and name == "lr":
            self.method.t0.copy_(v)
        elif group == "optimizer" and name == "damping" and hasattr(self.method, "damping"):
            self.method.damping = v.clone()
        self._dirty = self._dirty or group != "optimizer"

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per-member data loss, score and default score on one split, at the current weights."""
        return evaluate_scores(
            self.model,
            x,
            y,
            loss_name=self.knobs.loss_name,
            loss_hypers=self.knobs.loss,
            slope=self.knobs.leaky_slope,
            metric=self.metric,
            target_scale=target_scale(self.data),
        )

    def _record_train(self) -> None:
        loss, score, _ = self._evaluate(self.tensors.x_train, self.tensors.y_train)
        self.history["train_loss"].append(loss)
        self.history["train_score"].append(score)

    def _validate(self) -> None:
        self._record_validation(*self._evaluate(self.tensors.x_val, self.tensors.y_val))


def train_full_batch(
    configs: list[RunConfig],
    data,
    *,
    on_epoch: EpochCallback | None = None,
    callbacks: Sequence[Hook | Callable[[FullBatchTrainer], None]] = (),
) -> PopulationResult:
    """Train ``configs`` (one structure, a full-batch method) as one population."""
    return FullBatchTrainer(configs, data, on_epoch=on_epoch, callbacks=callbacks).run()
