"""Building a population's model: the MLP fast path or a generic module population.

``model.kind = "mlp"`` builds :class:`~caviar.nn.mlp.PopulationMLP` (hand-written
backpropagation); ``"cnn"``, ``"rnn"`` and ``"module"`` build
:class:`~caviar.nn.module.PopulationModule` from a factory
(:mod:`caviar.nn.factory`; the built-in CNN is :func:`caviar.nn.cnn.build_cnn`, the
recurrent model :func:`caviar.nn.sequence.build_rnn`), each
member's module built under its own ``train.seed``. Both start the output layer at the
baseline when ``model.output_init = "prior"`` (:ref:`bg-output-init`) — for a user's module only if
it asks for it (``output_bias`` is in the dict its factory receives).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from caviar.config import RunConfig
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.losses.registry import sigmoid_proba
from caviar.nn import PopulationMLP, output_bias
from caviar.nn import factory as factories
from caviar.nn.module import PopulationModule
from caviar.optim.second_order import FULL_BATCH_METHODS
from caviar.training.memory_check import check_fits, mlp_parameters
from caviar.training.population import PopulationKnobs, stack_knobs, structure_key
from caviar.training.weights import split_weights

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def n_outputs(data, loss_name: str) -> int:
    """Width of the output layer for this task and loss."""
    if data.task == "regression":
        y = np.asarray(data.y_train)
        return 1 if y.ndim == 1 else y.shape[1]
    return get_loss(loss_name).n_outputs(data.n_classes)


def input_shape(data) -> tuple[int, ...]:
    """One example's shape: ``data.input_shape`` (N-d inputs) or ``(n_features,)``."""
    shape = getattr(data, "input_shape", None)
    return tuple(shape) if shape else (int(data.X_train.shape[1]),)


def factory_config(cfg: RunConfig, data, k: int, bias: np.ndarray | None) -> dict[str, Any]:
    """What a factory receives: the member's ``[model]`` section, ``input_shape``,
    ``n_outputs`` and (with ``output_init = "prior"``) ``output_bias``."""
    out = cfg.model.model_dump(mode="json")
    out["input_shape"] = list(input_shape(data))
    out["n_outputs"] = int(k)
    out["output_bias"] = None if bias is None else [float(b) for b in bias]
    return out


def factory_of(cfg: RunConfig):
    """The factory and its path for a ``cnn``, ``rnn`` or ``module`` configuration."""
    path = factories.BUILT_IN.get(cfg.model.kind, cfg.model.factory)
    return factories.resolve(path), path


def build_model(
    configs: list[RunConfig], data, knobs: PopulationKnobs
) -> PopulationMLP | PopulationModule:
    """The population model with each member initialized from its own seed."""
    first = configs[0]
    dtype = DTYPES[first.train.dtype]
    k = n_outputs(data, knobs.loss_name)
    bias = None
    if first.model.output_init == "prior":
        weights = split_weights(first.train.class_weight, data, "train", torch.float64, "cpu")
        # the weighted prior: the weighted loss's baseline
        w = None if weights is None else weights.numpy()
        sigmoid = get_loss(knobs.loss_name).proba is sigmoid_proba  # K sigmoids: logit p
        bias = output_bias(
            np.asarray(data.y_train), task=data.task, n_outputs=k, weight=w, sigmoid=sigmoid
        )
    if first.model.kind != "mlp":
        return _build_module(configs, data, knobs, k, bias)
    # an MLP reads every example flat, whatever its shape
    sizes = [data.X_train.shape[1], *first.model.hidden, k]
    batch = first.train.batch_size
    batch = len(data.X_train) if batch == "full" else min(int(batch), len(data.X_train))
    check_fits(
        mlp_parameters(sizes), len(configs), dtype, first.train.device,
        f"model.hidden {list(first.model.hidden)}", activations=batch * sum(sizes[1:]),
    )  # fmt: skip
    model = PopulationMLP(
        sizes,
        len(configs),
        activation=first.model.activation,
        batch_norm=first.model.batch_norm,
        dtype=dtype,
        device=first.train.device,
    )
    model.initialize(knobs.seeds, init=first.model.init, scale=knobs.init_scale, output_bias=bias)
    return model


def _build_module(configs, data, knobs, k: int, bias) -> PopulationModule:  # noqa: ANN001
    first = configs[0]
    factory, path = factory_of(first)
    member_configs = [factory_config(c, data, k, bias) for c in configs]
    members = [
        factories.build_member(factory, cfg, seed, path=path)
        for cfg, seed in zip(member_configs, knobs.seeds, strict=True)
    ]
    model = PopulationModule(
        members, input_shape(data), dtype=DTYPES[first.train.dtype], device=first.train.device
    )
    model.factory_path, model.factory_dir = path, factories.module_root(factory)
    model.member_configs = member_configs
    if model.n_outputs != k:
        raise CaviarError(
            f"the module returns {model.n_outputs} outputs per example; this task and loss need {k}"
        )
    reg = knobs.regularize
    if not model.per_member_dropout and bool((reg.get("dropout", torch.zeros(1)) > 0).any()):
        raise CaviarError(
            "model.dropout is set but the module has no caviar.nn.Dropout() layer to apply "
            "it (a torch.nn.Dropout(p) keeps its own fixed rate)"
        )
    if not model.batch_norm and first.model.batch_norm and first.model.kind == "module":
        raise CaviarError("model.batch_norm is set but the module has no batch-norm layer")
    return model


def module_size(cfg: RunConfig, data, k: int) -> tuple[int, int]:
    """Parameters and activations per example of one member of a generic module."""
    factory, path = factory_of(cfg)
    module = factories.build_member(factory, factory_config(cfg, data, k, None), 0, path=path)
    one = PopulationModule([module], input_shape(data), dtype=DTYPES[cfg.train.dtype])
    return one.n_params, one.activations


def check_module(cfg: RunConfig, data) -> None:
    """Build a population of one member of ``cfg``'s module (the factory's output, its
    shape against the data and the task, the knobs it needs): one-line errors up front."""
    if cfg.optimizer.name in FULL_BATCH_METHODS:
        raise CaviarError(
            f"optimizer '{cfg.optimizer.name}' (full-batch, second order) trains MLPs only"
        )
    knobs = stack_knobs([cfg], data.task, dtype=DTYPES[cfg.train.dtype], device="cpu")
    build_model([cfg], data, knobs)


def check_population(configs: list[RunConfig]) -> None:
    """One-line errors for an empty population or members of different structure."""
    if not configs:
        raise CaviarError("no configurations to train")
    key = structure_key(configs[0])
    if any(structure_key(c) != key for c in configs[1:]):
        raise ValueError("configurations of one population must share their structure")


def resolve_device(name: str) -> str:
    """``name`` if that device can be used, else a one-line error."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CaviarError(f"device '{name}' requested but CUDA is not available")
    return name
