"""Trained models: extraction from a population, safetensors persistence, prediction."""

from caviar.model.bundle import TrainedModel

__all__ = ["TrainedModel"]
