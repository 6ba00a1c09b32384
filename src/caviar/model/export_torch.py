"""A trained model as one plain ``torch.nn.Module`` (:class:`ExportedModel`).

:func:`to_torch` builds ``Preprocess -> network per member -> member output -> mean ->
output transform`` (:mod:`caviar.model.export_layers`) from a
:class:`~caviar.model.TrainedModel`, each part by its own function:

* :func:`preprocess_steps`: one tensor step per run of fitted columns, by column kind
  (numeric: :class:`Standardize`, with imputation and :class:`MissingIndicator` where
  fitted; categorical: :class:`OneHot`);
* :func:`member_networks`: one plain network per member, by network kind:

  - ``mlp``: ``nn.Sequential`` of ``nn.Linear`` (Caviar stores a weight as
    ``(fan_in, fan_out)``, ``z = a W + b``; ``nn.Linear`` holds ``W^T``, ``z = a W^T +
    b``), ``nn.BatchNorm1d`` (running statistics, ``eps = 1e-5``) and the activation's
    ``torch.nn`` module with the member's own parameter (leaky slope, ELU alpha,
    softplus beta);
  - ``module`` (the built-in CNN and a user's module): the population's module
    structure with Caviar's population-aware layers put back as ``torch.nn`` ones
    (:func:`plain_layers`), holding the member's weights, after an ``nn.Unflatten`` to
    one example's shape;

* :func:`member_output`: probabilities by the loss's rule (softmax, or sigmoid), then
  a vote for ``combine = "vote"``; the identity for regression;
* :func:`output_transform`: a standardized regression target back in its units
  (:class:`Affine`), else the identity.

A new network kind or a new preprocessing column kind (imputation, integer codes) is one
more branch of :func:`member_networks` / :func:`preprocess_steps`; a new Caviar layer one
more entry of :data:`PLAIN_LAYERS`: Caviar's recurrent layers and cells (the built-in
sequence model, ``model.kind = "rnn"``) become ``torch.nn``'s of the same name
(:func:`_plain_recurrent`), the CNN's ``MaxPool2`` ``nn.MaxPool1d/2d(2)``. Caviar's
batchable rewrites of torch layers (attention, Transformer layers, ``Bilinear``,
``PReLU``: subclasses of torch's classes with the same parameters, forward passes in
torch operations) are kept, their children made plain.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from caviar.data.columns import CategoricalColumn, NumericColumn
from caviar.errors import CaviarError
from caviar.losses import get_loss, sigmoid_proba, softmax_proba
from caviar.model.export_layers import (
    Affine,
    ExportedModel,
    MissingIndicator,
    OneHot,
    Preprocess,
    SigmoidProba,
    SoftmaxProba,
    Standardize,
    VoteShare,
)
from caviar.nn import layers as caviar_layers
from caviar.nn.activations import SOFTPLUS_THRESHOLD
from caviar.nn.batch_norm import EPS
from caviar.nn.cnn import MaxPool2
from caviar.nn.recurrent import GRU, LSTM, RNN
from caviar.nn.recurrent_cells import GRUCell, LSTMCell, RNNCell


def to_torch(model: Any, dtype: torch.dtype = torch.float32) -> ExportedModel:
    """``model`` (a :class:`~caviar.model.TrainedModel`) as a plain module in eval mode.

    Parameters
    ----------
    model
        The trained model (one member or an ensemble).
    dtype
        Floating dtype of the module's parameters, buffers and expected input.

    Returns
    -------
    ExportedModel
        Maps raw feature rows ``(B, C)`` (categorical columns as category codes, see
        :func:`caviar.model.export_inputs.encode_rows`) to probabilities ``(B,
        n_classes)`` or predictions ``(B, K)``.
    """
    if not dtype.is_floating_point:
        raise CaviarError(f"to_torch needs a floating dtype, got {dtype}")
    module = ExportedModel(
        Preprocess(preprocess_steps(model.preprocessor, dtype)),
        member_networks(model),
        member_output(model, dtype),
        output_transform(model),
    )
    return module.to(dtype).eval().requires_grad_(False)


# -- preprocessing ----------------------------------------------------------------------
def preprocess_steps(preprocessor: Any, dtype: torch.dtype) -> list[nn.Module]:
    """The fitted preprocessing as tensor steps, in feature order: a run of numeric
    columns -> :class:`Standardize` (imputing with each column's fill value: its mean
    unless imputation fitted another), a column fitted with a missing indicator ->
    :class:`MissingIndicator` right after it, a categorical column -> :class:`OneHot`
    over its indicator width."""
    steps: list[nn.Module] = []
    numeric: list[tuple[int, NumericColumn]] = []

    def close_numeric() -> None:
        if numeric:
            specs = [c for _, c in numeric]
            steps.append(
                Standardize(
                    [j for j, _ in numeric],
                    _column_tensor(specs, lambda c: getattr(c, "fill_value", c.mean)),
                    _column_tensor(specs, lambda c: c.mean),
                    _column_tensor(specs, lambda c: c.std),
                )
            )
            numeric.clear()

    for j, column in enumerate(preprocessor.columns):
        if isinstance(column, NumericColumn):
            numeric.append((j, column))
            if getattr(column, "indicator", False):
                close_numeric()
                steps.append(MissingIndicator(j))
            continue
        close_numeric()
        if isinstance(column, CategoricalColumn):
            steps.append(OneHot(j, getattr(column, "width", len(column.categories)), dtype))
        else:
            raise CaviarError(
                f"cannot export the preprocessing of column '{column.name}' "
                f"({type(column).__name__})"
            )
    close_numeric()
    return steps


def _column_tensor(specs: list, value: Callable[[Any], float]) -> torch.Tensor:
    return torch.tensor([float(value(c)) for c in specs], dtype=torch.float64)


# -- networks ---------------------------------------------------------------------------
def member_networks(model: Any) -> list[nn.Module]:
    """One plain network per member, by the kind of ``model.network``."""
    kind = model.network.get("kind", "mlp")
    if kind == "mlp":
        return [
            mlp_network(
                model.network["sizes"],
                model.network["activation"],
                bool(model.network.get("batch_norm", False)),
                tensors,
                slope,
            )
            for tensors, slope in zip(model.member_tensors, model.leaky_slopes, strict=True)
        ]
    if kind == "module":
        return [
            module_network(model._net, tensors, slope)
            for tensors, slope in zip(model.member_tensors, model.leaky_slopes, strict=True)
        ]
    raise CaviarError(f"cannot export a network of kind '{kind}'")


def activation_module(name: str, parameter: float) -> nn.Module:
    """The ``torch.nn`` module of Caviar's activation ``name`` (:mod:`caviar.nn.activations`)
    with the member's parameter (leaky slope, ELU alpha or softplus beta)."""
    plain = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}
    if name in plain:
        return plain[name]()
    if name == "silu":
        return nn.SiLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(parameter)
    if name == "elu":
        return nn.ELU(parameter)
    if name == "softplus":
        return nn.Softplus(beta=parameter, threshold=SOFTPLUS_THRESHOLD)
    raise CaviarError(f"cannot export activation '{name}'")


def mlp_network(
    sizes: list[int],
    activation: str,
    batch_norm: bool,
    tensors: dict[str, torch.Tensor],
    parameter: float,
) -> nn.Sequential:
    """An MLP member as ``nn.Sequential([Linear, (BatchNorm1d), activation] ..., Linear)``,
    loaded through ``load_state_dict`` (strict) so its keys are torch's own."""
    layers: list[nn.Module] = []
    state: dict[str, torch.Tensor] = {}
    last = len(sizes) - 2
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        bn = batch_norm and i < last
        linear = nn.Linear(fan_in, fan_out, bias=not bn, dtype=torch.float64)
        state[f"{len(layers)}.weight"] = tensors[f"layers.{i}.weight"].T
        if not bn:
            state[f"{len(layers)}.bias"] = tensors[f"layers.{i}.bias"]
        layers.append(linear)
        if bn:
            for name in ("weight", "bias", "running_mean", "running_var"):
                state[f"{len(layers)}.{name}"] = tensors[f"layers.{i}.bn.{name}"]
            state[f"{len(layers)}.num_batches_tracked"] = torch.tensor(0)
            layers.append(nn.BatchNorm1d(fan_out, eps=EPS, dtype=torch.float64))
        if i < last:
            layers.append(activation_module(activation, parameter))
    net = nn.Sequential(*layers)
    net.load_state_dict(state, strict=True)
    return net


def module_network(population: Any, tensors: dict[str, torch.Tensor], slope: float) -> nn.Module:
    """A member of a module population: its structure (the population's skeleton, with
    :func:`plain_layers`) holding the member's parameters and buffers."""
    module = plain_layers(copy.deepcopy(population.skeleton).cpu(), slope)
    state = {name.removeprefix("buffer:"): value for name, value in tensors.items()}
    extra = [k for k in module.state_dict() if k.endswith("num_batches_tracked")]
    state.update({k: torch.tensor(0) for k in extra})
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CaviarError(
            f"the member's weights do not fit its module: {str(e).splitlines()[0]}"
        ) from None
    shape = tuple(population.input_shape)
    return nn.Sequential(nn.Unflatten(1, shape), module) if len(shape) > 1 else module


def plain_layers(module: nn.Module, slope: float) -> nn.Module:
    """Replace (in place) Caviar's population-aware layers by ``torch.nn`` ones with this
    member's values (:data:`PLAIN_LAYERS`): ``LeakyReLU(None)`` -> ``nn.LeakyReLU(slope)``,
    ``Dropout`` -> ``nn.Dropout`` (the identity in eval mode), ``BatchNorm1d/2d`` ->
    ``nn.BatchNorm1d/2d`` (the same parameter and buffer names, plus torch's
    ``num_batches_tracked``). A Caviar layer without a torch counterpart is refused."""
    for name, child in list(module.named_children()):
        convert = PLAIN_LAYERS.get(type(child))
        if convert is not None:
            setattr(module, name, convert(child, slope))
        elif type(child).__module__.startswith("caviar.") and not _torch_subclass(child):
            raise CaviarError(
                f"cannot export Caviar layer {type(child).__name__} ('{name}'): "
                "no torch.nn counterpart is registered for it"
            )
        else:
            plain_layers(child, slope)
    return module.eval()


def _torch_subclass(child: nn.Module) -> bool:
    """A Caviar rewrite of a ``torch.nn`` layer (attention, Transformer layers, Bilinear,
    PReLU: torch's class with a forward in batchable torch operations, the same
    parameters): kept as it is, its children made plain."""
    return any(
        base.__module__.startswith("torch.nn") and base is not nn.Module
        for base in type(child).__mro__[1:]
    )


def _plain_batch_norm(child: nn.Module, slope: float) -> nn.Module:
    bn: Any = child  # Caviar's BatchNorm1d/2d: torch's attributes
    torch_bn = nn.BatchNorm2d if isinstance(bn, caviar_layers.BatchNorm2d) else nn.BatchNorm1d
    return torch_bn(
        bn.num_features,
        eps=bn.eps,
        affine=bn.weight is not None,
        dtype=bn.running_mean.dtype,
    )


def _plain_recurrent(child: nn.Module, slope: float) -> nn.Module:
    """Caviar's ``RNN``/``GRU``/``LSTM`` (or cell) -> ``torch.nn``'s class of that name with
    the same arguments (the inter-layer dropout is off in eval mode)."""
    kind = type(child).__name__
    args: dict[str, Any] = {"bias": child.bias, "dtype": next(child.parameters()).dtype}
    if kind in ("RNN", "RNNCell"):
        args["nonlinearity"] = child.nonlinearity
    if not kind.endswith("Cell"):
        args.update(
            num_layers=child.num_layers,
            batch_first=child.batch_first,
            bidirectional=child.bidirectional,
        )
        if kind == "LSTM":
            args["proj_size"] = child.proj_size
    return getattr(nn, kind)(child.input_size, child.hidden_size, **args)


#: Caviar layer class -> ``fn(layer, member's slope)`` returning its ``torch.nn`` counterpart
#: (same parameter names; the weights are loaded afterwards)
PLAIN_LAYERS: dict[type, Callable[[Any, float], nn.Module]] = {
    caviar_layers.LeakyReLU: lambda child, slope: nn.LeakyReLU(
        slope if child.negative_slope is None else child.negative_slope
    ),
    caviar_layers.Dropout: lambda child, slope: nn.Dropout(0.0 if child.p is None else child.p),
    caviar_layers.BatchNorm1d: _plain_batch_norm,
    caviar_layers.BatchNorm2d: _plain_batch_norm,
    MaxPool2: lambda child, slope: (nn.MaxPool2d if child.dims == 2 else nn.MaxPool1d)(2),
    **dict.fromkeys((RNN, GRU, LSTM, RNNCell, GRUCell, LSTMCell), _plain_recurrent),
}


# -- outputs ----------------------------------------------------------------------------
def member_output(model: Any, dtype: torch.dtype) -> nn.Module:
    """Member outputs -> probabilities by the loss's rule (then votes), or the identity."""
    if model.task != "classification":
        return nn.Identity()
    spec = get_loss(model.loss_name)
    if spec.proba is softmax_proba:
        proba: nn.Module = SoftmaxProba()
    elif spec.proba is sigmoid_proba:
        proba = SigmoidProba(single_output=model.sizes[-1] == 1)
    else:
        raise CaviarError(f"cannot export the probabilities of loss '{model.loss_name}'")
    if model.combine == "vote":
        return nn.Sequential(proba, VoteShare(len(model.classes)))
    return proba


def output_transform(model: Any) -> nn.Module:
    """The transform of the members' mean: a standardized regression target back in its
    units (``y * target_std + target_mean``), else the identity."""
    pre = model.preprocessor
    mean, std = getattr(pre, "target_mean", None), getattr(pre, "target_std", None)
    if model.task == "classification" or mean is None or std is None:
        return nn.Identity()
    return Affine(std, mean)
