"""Full-batch gradient descent (:ref:`bg-gradient-descent`).

    theta(i+1) = theta(i) - eta grad L(theta(i))

with a fixed rate ``eta`` (``line_search = "none"``) or ``eta`` found by a line
search along ``-grad`` (:ref:`bg-line-search`: Armijo backtracking or golden-section
bracketing, starting from ``eta``). Stopping rule (:ref:`bg-gradient-descent`): stop when the
loss decrease ``L(i) - L(i+1)`` is below the tolerance ``tau`` (see
:func:`caviar.optim.second_order.base.minimize` and the full-batch trainer).
"""

from __future__ import annotations

import torch

from caviar.optim.second_order.base import FullBatchMethod
from caviar.optim.second_order.objective import Objective


class GradientDescent(FullBatchMethod):
    """Steepest descent ``d = -g``; the step is ``lr`` or a line search from ``lr``."""

    name = "gd"
    default_line_search = "none"

    def direction(self, f: Objective, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return -g
