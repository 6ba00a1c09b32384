"""A trained model that can be saved, loaded and used for prediction.

A model directory holds two files:

* ``model.safetensors``: the weights, one tensor per layer
  (``layers.{i}.weight`` of shape ``(fan_in, fan_out)``, ``layers.{i}.bias``);
  safetensors, never pickle, so loading a model cannot run code;
* ``model.json``: everything else needed to rebuild and use it: layer sizes, activation,
  loss, task, the fitted preprocessing (:mod:`caviar.data.preprocess`: fill values,
  means, stds, kept categories, labels, target scale), the configuration, the metrics.

A directory may hold several members (an ensemble, :ref:`bg-ensembles`):
predictions combine the members by ``combine = "mean"`` (average of the probabilities
or values) or ``"vote"`` (the members' classes; ``predict_proba`` is then the fraction
of votes per class). Batch-normalized
layers store ``layers.{i}.bn.{weight,bias,running_mean,running_var}``; the
dropout rates and member seeds are in ``model.json`` for Monte-Carlo dropout
(:meth:`TrainedModel.predict_mc`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from caviar.atomic import atomic_directory, umask
from caviar.data import Preprocessor
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.model import network as networks
from caviar.model.exportable import Exportable
from caviar.model.validate import (
    check_shapes_bounded,
    flat_inputs,
    prediction_device,
    raw_features,
    sha256_of,
    validate_description,
    validate_weights,
)
from caviar.nn.activations import activation_parameter
from caviar.nn.dropout import DropoutPass
from caviar.serialize import dumps
from caviar.version import __version__

FORMAT_VERSION = 1


class TrainedModel(Exportable):
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
        batch_norm: bool = False,
        dropout: list[float] | None = None,
        input_dropout: list[float] | None = None,
        seeds: list[int] | None = None,
        combine: str = "mean",
        device: str = "cpu",
        network: dict[str, Any] | None = None,
        module: Any = None,
    ) -> None:
        """``network`` (:mod:`caviar.model.network`) describes a generic module population;
        without it the members are MLPs of ``sizes``/``activation``/``batch_norm``.
        ``module``: the factory to rebuild a user's module with (instead of its path)."""
        n = len(member_tensors)
        self.device = prediction_device(device)
        if combine not in ("mean", "vote"):
            raise CaviarError(f"unknown ensemble method '{combine}' (choose from: mean, vote)")
        if combine == "vote" and task != "classification":
            raise CaviarError("ensemble method 'vote' needs a classification task")
        self.batch_norm = bool(batch_norm)
        self.dropout = list(dropout) if dropout is not None else [0.0] * n
        self.input_dropout = list(input_dropout) if input_dropout is not None else [0.0] * n
        self.seeds = list(seeds) if seeds is not None else list(range(n))
        self.combine = combine
        self.sizes = sizes
        self.activation = activation
        self.loss_name = loss_name
        self.task = task
        self.member_tensors = member_tensors
        self.leaky_slopes = leaky_slopes
        self.preprocessor = preprocessor
        self.configs = configs
        self.metrics = metrics or {}
        self.network = network or {
            "kind": "mlp",
            "sizes": sizes,
            "activation": activation,
            "batch_norm": self.batch_norm,
        }
        self._net = networks.build(
            self.network, n, dtype=torch.float64, device=self.device, module=module
        )
        for i, tensors in enumerate(member_tensors):
            self._net.load_member_tensors(tensors, member=i)

    @property
    def n_members(self) -> int:
        return len(self.member_tensors)

    @classmethod
    def from_population(
        cls,
        result,
        members: list[int],
        data,
        metrics=None,
        *,
        combine: str = "mean",
        snapshot: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> TrainedModel:
        """Extract ``members`` of a trained :class:`PopulationResult` (several members make
        an ensemble combined by ``combine``). With ``snapshot = (flat, stats)`` the
        weights are read from that snapshot instead of the final ones."""
        model = result.model
        configs = getattr(model, "member_configs", None)
        network = networks.describe(
            model, None if configs is None else [configs[m] for m in members]
        )
        if snapshot is not None:
            model = networks.with_weights(model, *snapshot)
        reg = getattr(result.knobs, "regularize", {}) or {}

        def rates(name: str) -> list[float]:
            values = reg.get(name)
            return [0.0 if values is None else float(values[m]) for m in members]

        return cls(
            sizes=getattr(model, "sizes", [int(model.n_params), int(model.n_outputs)]),
            activation=getattr(model, "activation", "module"),
            loss_name=result.loss_name,
            task=data.task,
            member_tensors=[model.member_tensors(m) for m in members],
            leaky_slopes=[activation_parameter(result.members[m].config.model) for m in members],
            preprocessor=data.preprocessor,
            configs=[result.members[m].config.model_dump(mode="json") for m in members],
            metrics=metrics,
            batch_norm=model.batch_norm,
            dropout=rates("dropout"),
            input_dropout=rates("input_dropout"),
            seeds=[int(result.knobs.seeds[m]) for m in members],
            combine=combine,
            network=network,
        )

    @classmethod
    def from_snapshots(
        cls, result, member: int, snapshots: list, data, metrics=None, *, combine: str = "mean"
    ) -> TrainedModel:
        """A snapshot ensemble: member ``member`` at each ``(epoch, flat, stats)`` snapshot."""
        parts = [
            cls.from_population(result, [member], data, snapshot=(flat, stats))
            for _, flat, stats in snapshots
        ]
        first = parts[0]
        return cls(
            sizes=first.sizes,
            activation=first.activation,
            loss_name=first.loss_name,
            task=first.task,
            member_tensors=[p.member_tensors[0] for p in parts],
            leaky_slopes=[p.leaky_slopes[0] for p in parts],
            preprocessor=first.preprocessor,
            configs=[p.configs[0] for p in parts],
            metrics=metrics,
            batch_norm=first.batch_norm,
            dropout=[p.dropout[0] for p in parts],
            input_dropout=[p.input_dropout[0] for p in parts],
            seeds=[p.seeds[0] for p in parts],
            combine=combine,
            network=networks.joined([p.network for p in parts]),
        )

    # -- prediction ------------------------------------------------------------------
    def outputs(self, x: np.ndarray, *, mc_counter: int | None = None) -> np.ndarray:
        """Raw outputs ``(members, n, K)`` for preprocessed inputs ``(n, F)``.

        ``mc_counter`` switches dropout on (one Monte-Carlo pass, with masks drawn
        from each member's seed and this counter); batch norm always uses the
        running statistics."""
        on: dict[str, Any] = {"dtype": torch.float64, "device": self.device}
        xt = torch.as_tensor(np.asarray(x, dtype=np.float64), **on)
        slope = torch.tensor(self.leaky_slopes, **on)
        drop = None
        if mc_counter is not None:
            drop = DropoutPass(
                torch.tensor(self.seeds, dtype=torch.int64, device=self.device),
                mc_counter,
                rate=torch.tensor(self.dropout, **on),
                input_rate=torch.tensor(self.input_dropout, **on),
            )
        with torch.no_grad():
            return self._net(xt, slope=slope, dropout=drop).cpu().numpy()

    def _features(self, X: pd.DataFrame | np.ndarray, preprocessed: bool = False) -> np.ndarray:
        """Model inputs: ``X`` through the fitted preprocessing (:func:`raw_features`), or
        as given with ``preprocessed=True`` (a :class:`~caviar.data.PreparedData` split)."""
        if preprocessed or self.preprocessor is None:
            return flat_inputs(X, self.input_shape)
        return raw_features(self.preprocessor, X, self.input_shape)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape as the network reads it (an MLP: ``(F,)``, F its inputs)."""
        shape = self.network.get("input_shape") or self.sizes[:1]
        return tuple(int(v) for v in shape)

    def _combined(self, out: np.ndarray) -> np.ndarray:
        """Combine member outputs ``(M, n, K)``: probabilities/votes ``(n, C)`` or values."""
        if self.task != "classification":
            return out.mean(axis=0)
        proba = get_loss(self.loss_name).predict_proba(torch.as_tensor(out)).numpy()
        if self.combine == "vote":
            return vote_fractions(proba.argmax(axis=-1), proba.shape[-1])
        return proba.mean(axis=0)

    def predict_proba(
        self, X: pd.DataFrame | np.ndarray, *, preprocessed: bool = False
    ) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``: the members' mean, or their vote shares.

        ``X``: raw features, a DataFrame or an array of the training columns in order (both
        go through the fitted preprocessing); ``preprocessed=True``: ``PreparedData.X_test``."""
        if self.task != "classification":
            raise CaviarError("predict_proba is only defined for classification models")
        return self._combined(self.outputs(self._features(X, preprocessed)))

    def predict(self, X: pd.DataFrame | np.ndarray, *, preprocessed: bool = False) -> np.ndarray:
        """Predictions in the original label values (classification) or target units
        (``X`` as in :meth:`predict_proba`)."""
        if self.task == "classification":
            codes = self.predict_proba(X, preprocessed=preprocessed).argmax(axis=1)
            return self.preprocessor.decode_labels(codes)
        out = self.outputs(self._features(X, preprocessed)).mean(axis=0)
        out = out if self.preprocessor is None else self.preprocessor.decode_labels(out)
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_mc(
        self, X: pd.DataFrame | np.ndarray, samples: int, *, preprocessed: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Monte-Carlo dropout (:ref:`bg-mc-dropout`, ``y = integral P(D) f(X, D) dD``):
        ``samples`` stochastic passes with dropout on; returns the mean and standard deviation
        over the passes of the combined probabilities ``(n, C)`` or values ``(n, K)``."""
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise CaviarError(f"--mc-samples must be an integer >= 1, got {samples}")
        if not any(r > 0 for r in self.dropout + self.input_dropout):
            raise CaviarError("MC dropout needs a model trained with dropout (model.dropout > 0)")
        x = self._features(X, preprocessed)
        draws = np.stack([self._combined(self.outputs(x, mc_counter=t)) for t in range(samples)])
        mean, std, pre = draws.mean(axis=0), draws.std(axis=0), self.preprocessor
        if self.task == "classification" or pre is None:  # values: in the target's units
            return mean, std
        return pre.decode_labels(mean), pre.decode_spread(std)

    @property
    def classes(self) -> list | None:
        return getattr(self.preprocessor, "classes_", None)

    # -- persistence -----------------------------------------------------------------
    def description(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "caviar_version": __version__,
            "network": self.network,
            "sizes": self.sizes,
            "activation": self.activation,
            "loss": self.loss_name,
            "task": self.task,
            "n_members": self.n_members,
            "leaky_slopes": self.leaky_slopes,
            "batch_norm": self.batch_norm,
            "dropout": self.dropout,
            "input_dropout": self.input_dropout,
            "seeds": self.seeds,
            "combine": self.combine,
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
            os.chmod(tmp / "model.safetensors", 0o666 & ~umask())  # safetensors writes 0600
            checksum = sha256_of(tmp / "model.safetensors")
            (tmp / "model.json").write_text(
                dumps({**self.description(), "weights_sha256": checksum})
            )
        return target

    @classmethod
    def load(
        cls, directory: str | Path, *, module: Any = None, device: str = "cpu"
    ) -> TrainedModel:
        """Read a model directory written by :meth:`save`; predict on ``device``.

        A model of a user's module imports its factory from the path saved in
        ``model.json`` (this runs that code: load only models you trust), or uses
        ``module`` (the factory itself) when given."""
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
            checked = validate_description(desc, str(d))  # schema, before anything is built
            check_shapes_bounded(checked, weights_path, str(d))
            validate_weights(checked, weights_path, str(d))
            flat = load_file(str(weights_path))
        except CaviarError:
            raise
        except Exception as e:  # corrupt files: name them, no traceback
            raise CaviarError(
                f"{d}: cannot read model files: {type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}"
            ) from None
        bad = [k for k, v in flat.items() if not bool(torch.isfinite(v).all())]
        if bad:
            raise CaviarError(f"{d}: tensor {bad[0]} holds NaN or infinite weights")
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
                batch_norm=bool(desc.get("batch_norm", False)),
                dropout=desc.get("dropout"),
                input_dropout=desc.get("input_dropout"),
                seeds=desc.get("seeds"),
                device=device,
                combine=desc.get("combine", "mean"),
                network=desc.get("network"),
                module=module,
            )
        except (KeyError, ValueError, TypeError) as e:
            raise CaviarError(f"{d}: model files are inconsistent: {e}") from None


def vote_fractions(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Majority vote: ``codes (M, n)`` member classes -> share of votes ``(n, n_classes)``
    (the argmax is the majority class; a tie goes to the lowest class code)."""
    votes = np.zeros((codes.shape[1], n_classes))
    for member_codes in codes:
        votes[np.arange(codes.shape[1]), member_codes] += 1
    return votes / codes.shape[0]
