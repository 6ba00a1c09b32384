"""The network of a saved model: how to rebuild it from ``model.json`` (never pickle).

* ``{"kind": "mlp", "sizes", "activation", "batch_norm"}``: a :class:`PopulationMLP`;
* ``{"kind": "module", "factory": "package.module:function", "input_shape",
  "model_configs": [one per member]}``: a :class:`PopulationModule`, each member's module
  rebuilt by calling the factory with its saved ``[model]`` dict. A built-in CNN's
  factory is Caviar's own (:func:`caviar.nn.cnn.build_cnn`), so it loads from the JSON
  alone; a user's factory is imported from its path (``sys.path``, then the folder
  recorded as ``"factory_dir"``: where its package was imported from in training), which
  **runs that module's code**:
  load only models you trust. ``TrainedModel.load(path, module=factory)`` passes the
  factory instead (a function that cannot be imported by path, e.g. from a notebook).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

import torch

from caviar.errors import CaviarError
from caviar.nn import PopulationMLP
from caviar.nn import factory as factories
from caviar.nn.module import PopulationModule


def describe(model, configs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The description of ``model``'s network (``configs``: the members' factory dicts)."""
    if model.kind == "mlp":
        return {
            "kind": "mlp",
            "sizes": list(model.sizes),
            "activation": model.activation,
            "batch_norm": bool(model.batch_norm),
        }
    out = {
        "kind": "module",
        "factory": getattr(model, "factory_path", None),
        "input_shape": list(model.input_shape),
        "model_configs": list(configs or []),
    }
    if getattr(model, "factory_dir", None):
        out["factory_dir"] = model.factory_dir
    return out


def joined(networks: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One description for members taken one by one (each description of one member):
    the first one, with every member's ``model_configs`` for a module (None stays None)."""
    first = networks[0]
    if first is None or first.get("kind") != "module":
        return None if first is None else dict(first)
    # members taken one by one share one kind: every description is a module's
    configs = [cast(dict[str, Any], n)["model_configs"][0] for n in networks]
    return {**first, "model_configs": configs}


def build(
    network: dict[str, Any],
    n_members: int,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    module: Callable | None = None,
):
    """An untrained population of ``n_members`` with the described structure."""
    kind = network.get("kind", "mlp")
    if kind == "mlp":
        return PopulationMLP(
            network["sizes"],
            n_members,
            activation=network["activation"],
            batch_norm=bool(network.get("batch_norm", False)),
            dtype=dtype,
            device=device,
        )
    if kind != "module":
        raise CaviarError(f"unknown network kind '{kind}' in model.json")
    path = network.get("factory")
    folders = [network.get("factory_dir")]
    factory = factories.resolve(path, folders) if module is None else module
    cfgs = network.get("model_configs") or []
    if len(cfgs) != n_members:
        raise CaviarError(f"model.json has {len(cfgs)} module configs for {n_members} members")
    members = [factories.build_member(factory, c, 0, path=str(path)) for c in cfgs]
    net = PopulationModule(members, network["input_shape"], dtype=dtype, device=device)
    net.factory_path, net.factory_dir = path, network.get("factory_dir")
    return net


def with_weights(model, flat: torch.Tensor, stats: torch.Tensor):  # noqa: ANN001
    """A population of ``model``'s structure holding the given parameters and statistics."""
    if model.kind == "mlp":
        other = build(describe(model), flat.shape[0], dtype=flat.dtype, device=flat.device)
    else:
        other = _module_copy(model, flat.shape[0])
    with torch.no_grad():
        other.flat.copy_(flat)
        other.stats.copy_(stats)
    return other


def _module_copy(model: PopulationModule, n: int) -> PopulationModule:
    """A module population of ``n`` members sharing ``model``'s skeleton structure."""
    members = [copy.deepcopy(model.skeleton) for _ in range(n)]
    net = PopulationModule(
        members, model.input_shape, dtype=model.flat.dtype, device=model.flat.device
    )
    net.factory_path = getattr(model, "factory_path", None)
    net.factory_dir = getattr(model, "factory_dir", None)
    return net
