"""Shrinking a running population to its live members: :func:`compact`, which lives in
:mod:`caviar.training.compact` (training a population's halves side by side uses it too)."""

from __future__ import annotations

from caviar.training.compact import compact

__all__ = ["compact"]
