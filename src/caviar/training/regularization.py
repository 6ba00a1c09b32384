"""The training-mode forward pass of a population with its regularizers switched on.

Gathers, for :class:`~caviar.training.trainer.PopulationTrainer`, everything that
makes a training step differ from an evaluation pass:

* which rows each member sees (``train.sampling``: shared order, per-member
  order, bootstrap; :mod:`caviar.training.batches`);
* augmentation of the batch (:mod:`caviar.training.augment`);
* Gaussian weight noise (:mod:`caviar.nn.noise`): kernels are perturbed before
  the forward pass and restored after the backward pass, before the update;
* dropout on inputs and hidden units (:mod:`caviar.nn.dropout`);
* batch statistics and running-statistics updates of batch norm
  (:mod:`caviar.nn.batch_norm`).

Every random number comes from the member's own counter-based stream
(:mod:`caviar.nn.random`) keyed by ``train.seed`` and the member's own step count
(``trainer.global_step``: an int, or ``(P,)`` when members take different numbers of
steps, :mod:`caviar.training.fold_sizes`), so a
member's masks, noise and augmented data are the same alone or in a population.
A knob that is zero for every member costs nothing: the op is skipped (and a
plain configuration takes the trainer's original path, :attr:`active` False).
"""

from __future__ import annotations

import weakref

import torch

from caviar.errors import CaviarError
from caviar.nn import random as rnd
from caviar.nn.dropout import DropoutPass, check_rate
from caviar.nn.noise import check_sigma, perturb_weights
from caviar.training.augment import Augmenter
from caviar.training.batches import bootstrap_rows, member_orders


class Regularization:
    """Per-population regularization state of one trainer."""

    def __init__(self, trainer, first) -> None:
        # a weak reference: trainer -> regularization -> trainer would be a reference
        # cycle, freed only by Python's cyclic collector, which runs rarely when few Python
        # objects are made; each finished population's tensors then stayed in memory
        # (issue 13: +110 MB per 16-member 512-512 population)
        self.trainer = weakref.proxy(trainer)
        self.knobs = trainer.knobs.regularize
        self.model = trainer.model
        self.seeds = torch.tensor(trainer.knobs.seeds, dtype=torch.int64, device=trainer.device)
        self.sampling = first.train.sampling
        self.augmenter = Augmenter(
            trainer.data,
            self.knobs,
            trainer.tensors.x_train,
            trainer.tensors.y_train,
            self.seeds,
            shaped=trainer.model.kind != "mlp",
        )
        # each member's bootstrap sample of ``n`` rows, drawn once per training size ``n``
        # (folds of unequal sizes, :mod:`caviar.training.fold_sizes`, have two)
        self.boot: dict[int, torch.Tensor] = {}
        self._saved: torch.Tensor | None = None
        self.refresh()

    def refresh(self) -> None:
        """Validate the knobs and decide which ops run (after construction and set_hyper)."""
        k = self.knobs
        check_rate(k["dropout"], "model.dropout")
        check_rate(k["input_dropout"], "model.input_dropout")
        check_sigma(k["weight_noise"], "noise.weight")
        m = k["bn_momentum"]
        if not bool(((m > 0) & (m <= 1)).all()):
            raise CaviarError(
                f"model.bn_momentum must be in (0, 1], got {m[~((m > 0) & (m <= 1))][0].item()}"
            )
        self.augmenter.refresh()
        # a module's fixed-rate dropout layers need the training pass too
        self.use_dropout = bool((k["dropout"] > 0).any()) or self.model.fixed_dropout
        self.use_input_dropout = bool((k["input_dropout"] > 0).any())
        self.use_weight_noise = bool((k["weight_noise"] > 0).any())
        self.active = (
            self.use_dropout
            or self.use_input_dropout
            or self.use_weight_noise
            or self.augmenter.active
            or self.model.batch_norm
        )

    def epoch_rows(self, perm: torch.Tensor, epoch: int) -> torch.Tensor:
        """Training rows in visiting order: ``(n,)`` shared or ``(P, n)`` per member."""
        n = perm.shape[0]
        if self.sampling == "shuffle":
            return member_orders(self.seeds, n, epoch).to(perm.device)
        if self.sampling == "bootstrap":
            if n not in self.boot:
                self.boot[n] = bootstrap_rows(self.seeds, n)
            return self.boot[n][:, perm]
        return perm

    def prepare(
        self, x: torch.Tensor, y: torch.Tensor, counter: rnd.Counter
    ) -> tuple[torch.Tensor, DropoutPass | None]:
        """Augment the batch, perturb the weights (weight noise) and draw this step's
        dropout pass: the inputs and dropout of one training forward pass."""
        k = self.knobs
        if self.augmenter.active:
            x = self.augmenter(x, y, counter)
        if self.use_weight_noise:
            self._saved = self.model.flat.detach().clone()
            perturb_weights(
                self.model.weights(self.model.flat), k["weight_noise"], self.seeds, counter
            )
        drop = None
        if self.use_dropout or self.use_input_dropout:
            drop = DropoutPass(
                self.seeds,
                counter,
                rate=k["dropout"] if self.use_dropout else None,
                input_rate=k["input_dropout"] if self.use_input_dropout else None,
            )
        return x, drop

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, counter: rnd.Counter
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Training-mode outputs ``(P, B, K)`` and hidden activities for one batch
        (autograd path, with batch norm's training mode)."""
        t, k = self.trainer, self.knobs
        x, drop = self.prepare(x, y, counter)
        bn = (k["bn_momentum"], t.alive) if self.model.batch_norm else None
        return self.model(
            x, slope=t.knobs.leaky_slope, return_activities=True, dropout=drop, bn_update=bn
        )

    @torch.no_grad()
    def after_backward(self) -> None:
        """Remove the weight noise (restore the clean weights) before the optimizer step."""
        if self._saved is not None:
            self.model.flat.copy_(self._saved)
            self._saved = None
