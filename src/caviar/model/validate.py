"""Checking a model directory before anything is built from it.

A model directory someone edited, truncated or damaged must give one
:class:`~caviar.errors.CaviarError` line, never a traceback, a hang or silently
wrong predictions. Before :meth:`caviar.model.TrainedModel.load` builds a network:

* ``model.json`` is checked against a schema (:class:`ModelDescription`): known
  format, activation, loss, task and combine rule; ``1 <= n_members <= MAX_MEMBERS``
  and every per-member list that long; dropout rates in ``[0, 1)``; finite leaky
  slopes; the preprocessing with finite means, finite positive standard deviations
  (a zero std would divide by zero), distinct classes and a ``label_dtype`` that is
  ``object`` or a bool/int/float dtype able to hold every class exactly (``int8``
  cannot hold 1000, ``datetime64`` or ``V8`` are no label types);
* the weights' SHA-256 (``weights_sha256``, written by :meth:`TrainedModel.save`)
  matches ``model.safetensors`` when present;
* the safetensors header, read without loading the tensors: exactly the members
  ``0 .. n_members-1``, each with the tensors the layer sizes imply, every one of a
  floating dtype and the shape ``sizes`` give (an ``F32`` tensor relabelled ``I32``
  with the same byte size is refused, not read as integers);
* the layer sizes agree with the preprocessing (inputs = its feature count) and the
  loss (outputs = what the loss needs for the number of classes).
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from caviar.errors import CaviarError

MAX_MEMBERS = 100_000
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
_KEY = re.compile(r"^members\.(\d+)\.(.+)$")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FeatureSpec(_Open):
    name: str
    kind: Literal["numeric", "categorical"]
    mean: float | None = None
    std: float | None = None
    categories: list[Any] | None = None
    fill: float | None = None
    indicator: bool = False
    other: bool = False

    @property
    def width(self) -> int:
        """Model inputs of this column (caviar.data.encoding: value + indicator, or
        kept levels + other)."""
        if self.kind == "numeric":
            return 1 + int(self.indicator)
        return len(self.categories or []) + int(self.other)

    def check(self) -> None:
        if self.fill is not None and not math.isfinite(self.fill):
            raise ValueError(f"feature '{self.name}': fill must be a finite number")
        if self.kind == "numeric":
            if self.mean is None or not math.isfinite(self.mean):
                raise ValueError(f"feature '{self.name}': mean must be a finite number")
            if self.std is None or not math.isfinite(self.std) or self.std <= 0:
                raise ValueError(
                    f"feature '{self.name}': std must be a finite number > 0, got {self.std}"
                )
        elif self.categories is None or len(set(map(repr, self.categories))) != len(
            self.categories
        ):
            raise ValueError(f"feature '{self.name}': categories must be a list of distinct values")


class PreprocessingSpec(_Open):
    task: Literal["classification", "regression"]
    features: list[FeatureSpec] = Field(min_length=1)
    classes: list[bool | int | float | str] | None = None
    label_dtype: str


class NetworkSpec(_Open):
    kind: Literal["mlp", "module"] = "mlp"


class ModelDescription(_Open):
    """The schema of ``model.json`` (unknown extra keys are kept, for newer writers)."""

    format_version: Literal[1]
    network: NetworkSpec | None = None
    sizes: list[int] = Field(min_length=2)
    activation: str
    loss: str
    task: Literal["classification", "regression"]
    n_members: int = Field(ge=1, le=MAX_MEMBERS)
    leaky_slopes: list[float]
    batch_norm: bool = False
    dropout: list[float] | None = None
    input_dropout: list[float] | None = None
    seeds: list[int] | None = None
    combine: Literal["mean", "vote"] = "mean"
    preprocessing: PreprocessingSpec
    configs: list[dict[str, Any]]
    metrics: dict[str, Any] = Field(default_factory=dict)
    weights_sha256: str | None = None

    @field_validator("sizes")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(s < 1 for s in v):
            raise ValueError(f"layer sizes must be >= 1, got {v}")
        return v

    @property
    def kind(self) -> str:
        """``mlp`` (sizes are the layer widths) or ``module`` (a generic module population:
        sizes are ``[parameters per member, outputs]``)."""
        return self.network.kind if self.network is not None else "mlp"


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def validate_description(desc: Any, where: str) -> ModelDescription:
    """``model.json`` checked against :class:`ModelDescription` and its own consistency."""
    from caviar.losses import LOSSES
    from caviar.nn import ACTIVATIONS

    if not isinstance(desc, dict):
        raise CaviarError(f"{where}: model.json must hold a JSON object")
    try:
        d = ModelDescription.model_validate(desc)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "model.json"
        raise CaviarError(f"{where}: model.json field {loc}: {err['msg']}") from None
    problems = []
    if d.kind == "mlp" and d.activation not in ACTIVATIONS:
        problems.append(f"unknown activation {d.activation!r}")
    if d.loss.strip().lower() not in LOSSES:
        problems.append(f"unknown loss {d.loss!r}")
    elif LOSSES[d.loss.strip().lower()].task != d.task:
        problems.append(f"loss {d.loss!r} does not fit task {d.task!r}")
    n = d.n_members
    for name in ("leaky_slopes", "dropout", "input_dropout", "seeds", "configs"):
        values = getattr(d, name)
        if values is not None and len(values) != n:
            problems.append(f"{name} has {len(values)} entries for n_members = {n}")
    for name in ("dropout", "input_dropout"):
        if any(not (0.0 <= r < 1.0) for r in getattr(d, name) or []):
            problems.append(f"{name} rates must lie in [0, 1)")
    if any(not math.isfinite(s) for s in d.leaky_slopes):
        problems.append("leaky_slopes must be finite")
    if d.combine == "vote" and d.task != "classification":
        problems.append("combine 'vote' needs a classification task")
    try:
        for f in d.preprocessing.features:
            f.check()
        _check_labels(d)
    except ValueError as e:
        problems.append(str(e))
    if problems:
        raise CaviarError(f"{where}: invalid model.json: {problems[0]}")
    return d


def _check_labels(d: ModelDescription) -> None:
    """Classes and ``label_dtype`` fit the task, the loss's outputs and each other."""
    from caviar.losses import get_loss

    pre = d.preprocessing
    if pre.task != d.task:
        raise ValueError(f"preprocessing task {pre.task!r} differs from task {d.task!r}")
    n_inputs = sum(f.width for f in pre.features)
    if d.kind == "mlp" and d.sizes[0] != n_inputs:
        raise ValueError(f"sizes[0] = {d.sizes[0]} but the preprocessing gives {n_inputs} inputs")
    if d.task == "regression":
        if pre.label_dtype != "float64":
            raise ValueError(
                f"a regression model's label_dtype must be float64, got {pre.label_dtype!r}"
            )
        return
    classes = pre.classes
    if not classes or len(classes) < 2:
        raise ValueError("a classification model needs at least 2 classes")
    if len(set(map(repr, classes))) != len(classes):
        raise ValueError("classes must be distinct")
    expected = get_loss(d.loss).n_outputs(len(classes))
    if d.sizes[-1] != expected:
        raise ValueError(
            f"sizes[-1] = {d.sizes[-1]} but {len(classes)} classes need {expected} outputs"
        )
    if pre.label_dtype == "object":
        return
    try:
        dtype = np.dtype(pre.label_dtype)
    except TypeError:
        raise ValueError(f"label_dtype {pre.label_dtype!r} is not a dtype") from None
    if dtype.kind not in "biuf":
        raise ValueError(
            f"label_dtype {pre.label_dtype!r} is not a label type (object, bool, int or float)"
        )
    for c in classes:
        if isinstance(c, str) or (dtype.kind != "b" and isinstance(c, bool)):
            raise ValueError(f"class {c!r} cannot be held by label_dtype {pre.label_dtype!r}")
        try:
            with np.errstate(all="raise"):
                back = np.array([c], dtype=object).astype(dtype)[0].item()
        except (OverflowError, ValueError, FloatingPointError):
            back = None
        if back is None or back != c:
            raise ValueError(f"class {c!r} does not fit label_dtype {pre.label_dtype!r}")


def validate_weights(d: ModelDescription, weights: Path, where: str) -> None:
    """The checksum and every tensor's name, dtype and shape (safetensors header only)."""
    from safetensors import safe_open

    if d.weights_sha256 is not None and sha256_of(weights) != d.weights_sha256:
        raise CaviarError(
            f"{where}: model.safetensors does not match the checksum in model.json "
            "(the weights were changed or damaged)"
        )
    try:
        with safe_open(str(weights), framework="pt") as fh:
            header = {
                k: (fh.get_slice(k).get_dtype(), fh.get_slice(k).get_shape()) for k in fh.keys()
            }
    except Exception as e:  # noqa: BLE001 - a damaged header: one line
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CaviarError(f"{where}: cannot read model.safetensors: {first}") from None
    members: dict[int, dict[str, tuple[str, tuple[int, ...]]]] = {}
    for key, (dtype, shape) in header.items():
        m = _KEY.match(key)
        if m is None:
            raise CaviarError(f"{where}: unexpected tensor {key!r} in model.safetensors")
        members.setdefault(int(m.group(1)), {})[m.group(2)] = (dtype, tuple(shape))
    if sorted(members) != list(range(d.n_members)):
        raise CaviarError(
            f"{where}: model.json says n_members = {d.n_members} but model.safetensors "
            f"holds {len(members)} member(s)"
        )
    # a module population's members share one structure: each must have member 0's tensors
    expected = expected_shapes(d) if d.kind == "mlp" else {k: v[1] for k, v in members[0].items()}
    for i, tensors in members.items():
        if set(tensors) != set(expected):
            missing = sorted(set(expected) - set(tensors)) or sorted(set(tensors) - set(expected))
            raise CaviarError(
                f"{where}: member {i} tensors do not match the layer sizes (e.g. {missing[0]!r})"
            )
        for name, (dtype, shape) in tensors.items():
            if dtype not in FLOAT_DTYPES:
                raise CaviarError(
                    f"{where}: tensor members.{i}.{name} has dtype {dtype}; weights are floats "
                    f"({', '.join(FLOAT_DTYPES)})"
                )
            if shape != expected[name]:
                raise CaviarError(
                    f"{where}: tensor members.{i}.{name} has shape {shape}, the sizes "
                    f"{d.sizes} give {expected[name]}"
                )


def expected_shapes(d: ModelDescription) -> dict[str, tuple[int, ...]]:
    """Name -> shape of one member's tensors, as :meth:`PopulationMLP.member_tensors`
    writes them for these sizes (a one-member population of the sizes, which the
    header bounded already)."""
    import torch

    from caviar.nn import PopulationMLP

    net = PopulationMLP(
        d.sizes, 1, activation=d.activation, batch_norm=d.batch_norm, dtype=torch.float32
    )
    return {k: tuple(v.shape) for k, v in net.member_tensors(0).items()}


def check_shapes_bounded(d: ModelDescription, weights: Path, where: str) -> None:
    """Refuse sizes whose parameters could not fit in the weights file (before a
    network of those sizes is built, so absurd sizes cannot exhaust memory)."""
    n_params = sum(a * b + b for a, b in zip(d.sizes, d.sizes[1:], strict=False))
    if d.kind == "module":  # sizes = [parameters per member, outputs]
        n_params = d.sizes[0]
    if n_params * d.n_members * 2 > weights.stat().st_size + 1024:  # >= 2 bytes each
        raise CaviarError(
            f"{where}: the layer sizes {d.sizes} need more weights than model.safetensors holds"
        )


def check_example_shape(
    given: tuple[int, ...], expected: tuple[int, ...], source: str = "X"
) -> None:
    """Refuse inputs whose examples are not the model's: ``given`` (one example's shape in
    the data) must hold as many values as ``expected`` (the model's ``(C, L)``,
    ``(C, H, W)`` or ``(F,)``), and an N-d ``given`` must equal an N-d ``expected`` (flat
    rows of the right width are fine). Another channel count, length, image size or
    feature count would otherwise be cut or padded silently."""
    given, expected = tuple(int(v) for v in given), tuple(int(v) for v in expected)
    n_given, n_expected = math.prod(given), math.prod(expected)
    if n_given == n_expected and (len(given) == 1 or len(expected) == 1 or given == expected):
        return
    raise CaviarError(
        f"{source}: examples of shape {list(given)} ({n_given} values), but the model takes "
        f"{list(expected)} ({n_expected} values): another channel count, length, image size "
        "or feature count is refused, never cut"
    )


def flat_inputs(X, input_shape: tuple[int, ...]) -> np.ndarray:
    """Already preprocessed inputs ``(n, *shape)`` as flat float64 rows ``(n, F)``, their
    example shape checked against the model's ``input_shape``."""
    x = np.asarray(X, dtype=np.float64)
    if x.ndim < 2:
        raise CaviarError(f"expected inputs of shape (rows, ...); got {x.shape}")
    check_example_shape(x.shape[1:], input_shape)
    return x.reshape(len(x), -1)


def raw_features(preprocessor, X, input_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Raw features through the fitted preprocessing: a DataFrame, or an array whose
    columns are the training columns in their order (checked by count). An N-d array
    ``(n, *shape)`` (or a DataFrame read from an ``.npz`` file, whose ``attrs`` keep the
    file's ``example_shape``) is checked against the model's ``input_shape`` first."""
    import pandas as pd

    n = len(preprocessor.columns)
    # an N-d model reads its raw (numeric) columns as they are; an MLP's raw columns
    # may expand (one-hot) before its input layer, so count the raw columns there
    expected = tuple(input_shape) if input_shape and len(input_shape) > 1 else (n,)
    if isinstance(X, pd.DataFrame):
        shape = X.attrs.get("example_shape")
        if shape is not None:  # an .npz's x0..xN: every column is an input, none is extra
            check_example_shape(tuple(shape), expected, X.attrs.get("source", "X"))
        return preprocessor.transform(X)
    X = np.asarray(X)
    if X.ndim > 2:
        check_example_shape(X.shape[1:], expected)
        X = X.reshape(len(X), -1)
    if X.ndim != 2 or X.shape[1] != n:
        names = preprocessor.input_columns
        raise CaviarError(
            f"expected raw features of shape (rows, {n}) (the training columns "
            f"{names[:5]}{', ...' if n > 5 else ''} in order); got {X.shape} "
            "(already preprocessed inputs: pass preprocessed=True)"
        )
    return preprocessor.transform(X)


def prediction_device(name: str) -> str:
    """``name`` when this machine has it (``cpu``, ``cuda``, ``cuda:N``), else a CaviarError."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise CaviarError(f"unknown device '{name}' (use cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise CaviarError(
                f"device '{name}' requested but this machine has {count} CUDA devices"
            )
    elif device.type != "cpu":
        raise CaviarError(f"unknown device '{name}' (use cpu, cuda or cuda:N)")
    return str(device)
