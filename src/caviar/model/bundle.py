"""A trained model that can be saved, loaded and used for prediction.

A model directory holds two files:

* ``model.safetensors``: the weights, one tensor per layer
  (``layers.{i}.weight`` of shape ``(fan_in, fan_out)``, ``layers.{i}.bias``);
  safetensors, never pickle, so loading a model cannot run code;
* ``model.json``: everything else needed to rebuild and use it: layer sizes,
  activation, loss, task, the fitted preprocessing (means, standard deviations,
  categories, label mapping), the full configuration and the metrics.

A directory may hold several members (an ensemble); predictions then average
the members' probabilities or values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from caviar import __version__
from caviar.atomic import atomic_directory
from caviar.data import Preprocessor
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.nn import PopulationMLP
from caviar.serialize import dumps

FORMAT_VERSION = 1


class TrainedModel:
    """One or more members of one structure with the preprocessing they were trained with."""

    def __init__(
        self,
        *,
        sizes: list[int],
        activation: str,
        loss_name: str,
        task: str,
        member_tensors: list[dict[str, torch.Tensor]],
        leaky_slopes: list[float],
        preprocessor: Preprocessor,
        configs: list[dict[str, Any]],
        metrics: dict[str, Any] | None = None,
    ) -> None:
        self.sizes = sizes
        self.activation = activation
        self.loss_name = loss_name
        self.task = task
        self.member_tensors = member_tensors
        self.leaky_slopes = leaky_slopes
        self.preprocessor = preprocessor
        self.configs = configs
        self.metrics = metrics or {}
        self._net = PopulationMLP(
            sizes, len(member_tensors), activation=activation, dtype=torch.float64
        )
        for i, tensors in enumerate(member_tensors):
            self._net.load_member_tensors(tensors, member=i)

    @property
    def n_members(self) -> int:
        return len(self.member_tensors)

    @classmethod
    def from_population(cls, result, members: list[int], data, metrics=None) -> TrainedModel:
        """Extract ``members`` of a trained :class:`PopulationResult`."""
        model = result.model
        return cls(
            sizes=model.sizes,
            activation=model.activation,
            loss_name=result.loss_name,
            task=data.task,
            member_tensors=[model.member_tensors(m) for m in members],
            leaky_slopes=[result.members[m].config.model.leaky_slope for m in members],
            preprocessor=data.preprocessor,
            configs=[result.members[m].config.model_dump(mode="json") for m in members],
            metrics=metrics,
        )

    # -- prediction ------------------------------------------------------------------
    def outputs(self, x: np.ndarray) -> np.ndarray:
        """Raw outputs ``(members, n, K)`` for preprocessed inputs ``(n, F)``."""
        xt = torch.as_tensor(np.asarray(x, dtype=np.float64))
        slope = torch.tensor(self.leaky_slopes, dtype=torch.float64)
        with torch.no_grad():
            return self._net(xt, slope=slope).numpy()

    def _features(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            return self.preprocessor.transform(X)
        return np.asarray(X, dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``, averaged over members."""
        if self.task != "classification":
            raise CaviarError("predict_proba is only defined for classification models")
        out = torch.as_tensor(self.outputs(self._features(X)))
        return get_loss(self.loss_name).predict_proba(out).mean(dim=0).numpy()

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Predictions in the original label values (classification) or target units."""
        if self.task == "classification":
            codes = self.predict_proba(X).argmax(axis=1)
            return self.preprocessor.decode_labels(codes)
        out = self.outputs(self._features(X)).mean(axis=0)
        return out[:, 0] if out.shape[1] == 1 else out

    @property
    def classes(self) -> list | None:
        return getattr(self.preprocessor, "classes_", None)

    # -- persistence -----------------------------------------------------------------
    def description(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "caviar_version": __version__,
            "sizes": self.sizes,
            "activation": self.activation,
            "loss": self.loss_name,
            "task": self.task,
            "n_members": self.n_members,
            "leaky_slopes": self.leaky_slopes,
            "preprocessing": self.preprocessor.to_json(),
            "configs": self.configs,
            "metrics": self.metrics,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the model directory atomically (a temporary directory, then a rename)."""
        target = Path(directory)
        with atomic_directory(target) as tmp:
            tensors = {
                f"members.{i}.{k}": v
                for i, t in enumerate(self.member_tensors)
                for k, v in t.items()
            }
            save_file(tensors, str(tmp / "model.safetensors"))
            (tmp / "model.json").write_text(dumps(self.description()))
        return target

    @classmethod
    def load(cls, directory: str | Path) -> TrainedModel:
        """Read a model directory written by :meth:`save`."""
        d = Path(directory)
        desc_path, weights_path = d / "model.json", d / "model.safetensors"
        if not d.is_dir():
            raise CaviarError(f"model directory not found: {d}")
        if not desc_path.is_file() or not weights_path.is_file():
            raise CaviarError(
                f"{d} is not a caviar model directory (model.json or model.safetensors missing)"
            )
        try:
            desc = json.loads(desc_path.read_text())
            flat = load_file(str(weights_path))
        except Exception as e:  # corrupt files: name them, no traceback
            raise CaviarError(
                f"{d}: cannot read model files: {type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}"
            ) from None
        try:
            n = int(desc["n_members"])
            members = [
                {k.split(".", 2)[2]: v for k, v in flat.items() if k.startswith(f"members.{i}.")}
                for i in range(n)
            ]
            return cls(
                sizes=desc["sizes"],
                activation=desc["activation"],
                loss_name=desc["loss"],
                task=desc["task"],
                member_tensors=members,
                leaky_slopes=desc["leaky_slopes"],
                preprocessor=Preprocessor.from_json(desc["preprocessing"]),
                configs=desc["configs"],
                metrics=desc.get("metrics", {}),
            )
        except (KeyError, ValueError, TypeError) as e:
            raise CaviarError(f"{d}: model files are inconsistent: {e}") from None
