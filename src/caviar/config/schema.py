"""The typed configuration schema: one source of truth for config files, the CLI
and the Python API. A ``RunConfig`` describes one member completely; it is
recorded with every trained model so any result can be rebuilt.

Fields marked *per member* are continuous hyperparameters: members of one
population may differ in them (they become ``(P,)`` tensors). All other fields
are structural: members that differ in them train in different populations.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from caviar.config.device import check_device
from caviar.config.strict import refuse_bool_numbers, seed_field

Task = Literal["auto", "classification", "regression"]
#: The weight initializers (``model.init``; ``caviar.nn.init.INITIALIZERS`` lists them).
Initializer = Literal[
    "zeros",
    "normal",
    "uniform",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, v: object, info: ValidationInfo) -> object:
        """``lr = true`` is no learning rate of 1 (:mod:`caviar.config.strict`)."""
        if info.field_name is not None:
            refuse_bool_numbers(cls, info.field_name, v)
        return v


class DataConfig(_Section):
    """Where the data comes from and how it is split (:ref:`bg-validation`)."""

    source: str = Field(description="bundled dataset name or a .csv/.parquet/.npz path")
    target: str | None = Field(default=None, description="target column (CSV/Parquet)")
    task: Task = Field(default="auto", description="'auto': decided from the target")
    val_fraction: float = Field(default=0.2, gt=0, lt=1, description="share of rows for validation")
    test_fraction: float = Field(default=0.2, ge=0, lt=1, description="share of rows for testing")
    seed: int = seed_field(description="the train/validation/test split")
    weight: str | None = Field(default=None, description="column of sample weights")
    test: str | None = Field(default=None, description="a test file: replaces the test split")
    shape: list[int] | None = Field(
        default=None, description="one example's shape, e.g. [1, 8, 8]: flat features as images"
    )
    impute: Literal["median", "mean", "most_frequent", "constant", "none"] = Field(
        default="median",
        description="fill of missing numeric values, fitted on the training rows; none: refuse",
    )
    fill_value: float = Field(default=0.0, description="the fill value of impute = 'constant'")
    missing_indicator: bool = Field(
        default=True, description="a 0/1 column after each numeric column with training gaps"
    )
    categorical: list[str] = Field(
        default_factory=list, description="columns encoded as categories whatever their dtype"
    )
    max_onehot: int = Field(
        default=32, ge=1, description="most levels one-hot per column; rarer ones share 'other'"
    )
    min_frequency: int = Field(
        default=1, ge=1, description="levels seen in fewer training rows share 'other'"
    )
    unknown: Literal["warn", "error", "ignore"] = Field(
        default="warn", description="a category unseen in training at prediction"
    )
    standardize_target: bool = Field(
        default=True, description="regression: train on the training-standardized target"
    )

    @field_validator("shape")
    @classmethod
    def _positive_shape(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(s < 1 for s in v)):
            raise ValueError(f"data.shape must be a non-empty list of sizes >= 1, got {v}")
        return v


class ModelConfig(_Section):
    """Network structure and initialization (:ref:`bg-network-design`, :ref:`bg-initialization`).

    ``kind``: ``"mlp"`` (the hand-written fast path), ``"cnn"`` (:mod:`caviar.nn.cnn`:
    ``channels``/``kernel_size``/``stride``/``pool``, then the ``hidden`` dense head),
    ``"rnn"`` (:mod:`caviar.nn.sequence`: ``cell``/``hidden_size``/``num_layers``/
    ``bidirectional``/``readout`` over ``(C, L)`` sequences, then the ``hidden`` head) or
    ``"module"``: any ``torch.nn.Module`` from ``factory`` (``"package.module:function"``,
    :mod:`caviar.nn.factory`); a ``"module"`` section may carry extra keys of its own,
    which the factory receives (structural: they split populations).
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    kind: Literal["mlp", "cnn", "rnn", "module"] = Field(
        default="mlp", description="mlp, cnn, rnn, or module (your own nn.Module)"
    )
    factory: str | None = Field(default=None, description="kind 'module': 'package.module:fn'")
    channels: list[int] = Field(default_factory=lambda: [32, 32], description="cnn: per conv layer")
    kernel_size: int = Field(default=3, ge=1, description="cnn")
    stride: int = Field(default=1, ge=1, description="cnn")
    pool: Literal["max", "avg", "none"] = Field(default="max", description="cnn: 2x per conv")
    cell: Literal["gru", "lstm", "rnn"] = Field(
        default="gru", description="rnn: the recurrent cell (GRU, LSTM or an Elman tanh RNN)"
    )
    hidden_size: int = Field(default=64, ge=1, description="rnn: units of each recurrent layer")
    num_layers: int = Field(default=1, ge=1, description="rnn: stacked recurrent layers")
    bidirectional: bool = Field(
        default=False, description="rnn: also read each sequence backwards (outputs side by side)"
    )
    readout: Literal["last", "mean"] = Field(
        default="last",
        description="rnn: the head reads the final state ('last') or the outputs' time mean",
    )
    hidden: list[int] = Field(default_factory=lambda: [64], description="hidden layer widths")
    activation: Literal[
        "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus"
    ] = Field(default="relu", description="hidden activation")
    leaky_slope: float = Field(default=0.01, ge=0, description="per member")
    elu_alpha: float = Field(default=1.0, gt=0, description="per member: ELU alpha")
    softplus_beta: float = Field(default=1.0, gt=0, description="per member: softplus beta")
    init: Initializer = Field(default="he_uniform", description="hidden weights' initialization")
    init_scale: float = Field(default=0.05, gt=0, description="per member: sigma or bound")
    output_init: Literal["default", "prior"] = Field(
        default="prior", description="'prior': output weights 0, bias = baseline prediction"
    )
    dropout: float = Field(default=0.0, ge=0, lt=1, description="per member: hidden units")
    input_dropout: float = Field(default=0.0, ge=0, lt=1, description="per member: inputs")
    batch_norm: bool = Field(default=False, description="batch norm before each hidden activation")
    bn_momentum: float = Field(default=0.1, gt=0, le=1, description="per member")

    @field_validator("hidden", "channels")
    @classmethod
    def _positive_widths(cls, v: list[int]) -> list[int]:
        if any(w < 1 for w in v):
            raise ValueError(f"layer widths must be >= 1, got {v}")
        return v

    @model_validator(mode="after")
    def _extras_only_for_modules(self) -> ModelConfig:
        extra = sorted(self.model_extra or {})
        if extra and self.kind != "module":
            raise ValueError(
                f"unknown model field '{extra[0]}' (extra fields need model.kind = 'module')"
            )
        return self


class LossConfig(_Section):
    """Data loss (:ref:`bg-regression-losses`, :ref:`bg-label-smoothing`)."""

    name: str = Field(default="auto", description="'auto': cross_entropy or mse by task")
    delta: float = Field(default=1.0, gt=0, description="per member: Huber delta")
    label_smoothing: float = Field(default=0.0, ge=0, lt=1, description="per member")


class PenaltyConfig(_Section):
    """Weights of L1/L2 penalties on kernels, biases and activity (:ref:`bg-penalties`)."""

    l1_kernel: float = Field(default=0.0, ge=0, description="per member: L1 on weights")
    l2_kernel: float = Field(default=0.0, ge=0, description="per member: L2 on weights")
    l1_bias: float = Field(default=0.0, ge=0, description="per member: L1 on biases")
    l2_bias: float = Field(default=0.0, ge=0, description="per member: L2 on biases")
    l1_activity: float = Field(default=0.0, ge=0, description="per member: L1 on layer outputs")
    l2_activity: float = Field(default=0.0, ge=0, description="per member: L2 on layer outputs")
    max_norm: float | None = Field(
        default=None, gt=0, description="per member: max norm of a unit's incoming weights"
    )


class NoiseConfig(_Section):
    """Gaussian noise during training (:ref:`bg-noise`)."""

    weight: float = Field(default=0.0, ge=0, description="per member: sigma of kernel noise")
    input: float = Field(default=0.0, ge=0, description="per member: sigma of input noise")


class AugmentConfig(_Section):
    """Per-member data augmentation of training batches (:ref:`bg-augmentation`).

    Augmentation by added noise is ``noise.input``.
    """

    interpolate: float = Field(
        default=0.0, ge=0, le=1, description="per member: max weight toward a same-class example"
    )
    shift: float = Field(default=0.0, ge=0, description="per member: max image shift, pixels")
    rotate: float = Field(default=0.0, ge=0, le=180, description="per member: max degrees")
    scale: float = Field(default=0.0, ge=0, lt=1, description="per member: zoom in [1-s, 1+s]")


class EnsembleConfig(_Section):
    """The saved model as an ensemble (:ref:`bg-ensembles`)."""

    size: int = Field(default=1, ge=1, description="top-k members (or last k snapshots)")
    method: Literal["mean", "vote"] = Field(default="mean", description="mean or majority vote")
    snapshot_every: int | None = Field(
        default=None, ge=1, description="snapshot ensemble of the best member, every N epochs"
    )


class RefitConfig(_Section):
    """Refit after early stopping on train+validation (:ref:`bg-early-stopping`)."""

    strategy: Literal["none", "fresh", "continue"] = Field(
        default="none", description="refit on train+val: from the initial seed, or continue"
    )
    max_epochs: int | None = Field(default=None, ge=1, description="cap for 'continue'")


class OptimizerConfig(_Section):
    """The optimizer; unset hyperparameters take the optimizer's defaults.

    First-order names (sgd, momentum, adam, ...) train in mini-batches. The
    full-batch names ``gd``, ``gd_linesearch``, ``newton``, ``bfgs`` and ``lbfgs``
    (``caviar.optim.second_order``) take one step per pass over the whole training
    set and use the fields below the blank line.
    """

    name: str = Field(default="adam", description="optimizer (first-order or full-batch)")
    lr: float | None = Field(default=None, ge=0, description="per member: learning rate")
    momentum: float | None = Field(default=None, ge=0, lt=1, description="per member: momentum")
    dampening: float | None = Field(default=None, ge=0, le=1, description="per member: dampening")
    beta1: float | None = Field(default=None, ge=0, lt=1, description="per member: Adam beta1")
    beta2: float | None = Field(default=None, ge=0, lt=1, description="per member: Adam beta2")
    rho: float | None = Field(default=None, ge=0, lt=1, description="per member: RMSProp decay")
    eps: float | None = Field(default=None, gt=0, description="per member: denominator epsilon")
    weight_decay: float | None = Field(default=None, ge=0, description="per member: decay")
    eps_inside_sqrt: bool | None = Field(default=None, description="RMSProp: eps in the root")

    tolerance: float | None = Field(
        default=None, ge=0, description="per member: stop when the loss decrease < tau"
    )
    gtol: float | None = Field(
        default=None, gt=0, description="per member: stop when max|grad| <= gtol"
    )
    damping: float | None = Field(
        default=None, ge=0, description="per member: Newton eigenvalue floor"
    )
    line_search: Literal["armijo", "golden", "none"] | None = Field(
        default=None, description="full-batch: backtracking, golden section or none"
    )
    max_line_search: int | None = Field(default=None, ge=1, description="evaluations per search")
    history_size: int | None = Field(default=None, ge=1, description="L-BFGS memory m")

    def hypers(self) -> dict[str, float]:
        """The continuous hyperparameters that were set (name -> value)."""
        skip = {"name", "eps_inside_sqrt"}
        return {k: v for k, v in self.model_dump().items() if k not in skip and v is not None}


class ScheduleConfig(_Section):
    """Learning-rate schedule in epochs (:ref:`bg-lr-schedules`)."""

    name: str = Field(default="constant", description="learning-rate schedule")
    k: float | None = Field(default=None, ge=0, description="per member: decay rate or period")
    factor: float | None = Field(default=None, gt=0, le=1, description="per member: cut factor")
    min_factor: float | None = Field(default=None, ge=0, le=1, description="per member: floor")
    warmup: float = Field(default=0.0, ge=0, description="per member: warm-up epochs")
    # "plateau" (per member): cut by factor after patience validations
    patience: int | None = Field(default=None, ge=0, description="per member: plateau patience")
    min_lr: float | None = Field(default=None, ge=0, description="per member: plateau floor")
    threshold: float | None = Field(default=None, ge=0, description="relative improvement")
    cooldown: int | None = Field(default=None, ge=0, description="per member: plateau rest")

    def params(self) -> dict[str, float]:
        return {k: v for k, v in self.model_dump().items() if k != "name" and v is not None}


class TrainingConfig(_Section):
    """The training loop (:ref:`bg-early-stopping`, :ref:`bg-batch-size`)."""

    epochs: int = Field(default=100, ge=1, description="passes over the training data")
    batch_size: int | Literal["full"] = Field(default=32, description="'full': full batch")
    patience: int | None = Field(default=10, ge=1, description="per member; None: no stop")
    min_delta: float = Field(default=0.0, ge=0, description="per member")
    seed: int = seed_field(description="per member: initial weights")
    shuffle_seed: int = seed_field(description="mini-batch order (shared)")
    dtype: Literal["float32", "float64"] = Field(default="float32", description="parameter dtype")
    device: str = Field(default="cpu", description="cpu, cuda or cuda:N")
    precision: Literal["fp32", "bf16", "tf32"] = Field(
        default="fp32", description="matrix products: fp32; bf16 (fp32 master); tf32 (CUDA)"
    )
    sampling: Literal["shared", "shuffle", "bootstrap"] = Field(
        default="shared", description="one order for all; per-member order; bootstrap samples"
    )
    batch_size_growth: float = Field(default=1.0, ge=1, description="batch size factor per step")
    batch_size_every: int = Field(default=1, ge=1, description="epochs between growth steps")
    batch_size_max: int | None = Field(default=None, ge=1, description="growing batch size cap")
    class_weight: Literal["balanced"] | dict[str, float] | None = Field(
        default=None, description="'balanced' (n / (C n_c)) or {label: weight}"
    )
    metric: Literal[
        "auto", "accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "precision",
        "recall", "roc_auc", "log_loss", "r2", "rmse", "mae",
    ] = Field(default="auto", description="validation metric: ranking, early stopping")  # fmt: skip
    stop_loss: float | None = Field(default=None, description="per member: stop at this train loss")
    validate_every: int = Field(default=1, ge=1, description="epochs per validation")
    val_subsample: int | None = Field(default=None, ge=1, description="validate on this many rows")
    cv: int | None = Field(default=None, ge=2, description="k-fold cross-validation (train+val)")
    fold: int | None = Field(default=None, ge=0, description="set by cv: a member's fold")

    @field_validator("batch_size")
    @classmethod
    def _positive_batch(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 1:
            raise ValueError(f"batch size must be >= 1 or 'full', got {v}")
        return v

    @field_validator("device")
    @classmethod
    def _known_device(cls, v: str) -> str:
        return check_device(v)

    @field_validator("precision")
    @classmethod
    def _precision_fits(cls, v: str, info: ValidationInfo) -> str:
        """bf16 and tf32 keep float32 master weights; tf32 is a CUDA mode (caviar.nn.precision)."""
        if v != "fp32" and info.data.get("dtype") == "float64":
            raise ValueError(f"precision '{v}' needs train.dtype = 'float32' (its master weights)")
        if v == "tf32" and not str(info.data.get("device", "cpu")).startswith("cuda"):
            raise ValueError("precision 'tf32' needs a CUDA train.device (tf32 is a CUDA mode)")
        return v


class RunConfig(_Section):
    """Everything that defines one trained member."""

    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    penalty: PenaltyConfig = Field(default_factory=PenaltyConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: TrainingConfig = Field(default_factory=TrainingConfig)
    noise: NoiseConfig = Field(default_factory=NoiseConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    refit: RefitConfig = Field(default_factory=RefitConfig)


# Optimizer fields that shape a population's tensors or loops (never per member).
OPTIMIZER_STRUCTURAL = ("line_search", "max_line_search", "history_size")

# Continuous fields: members of one population may differ in these.
PER_MEMBER_FIELDS = frozenset(
    {
        "model.leaky_slope",
        "model.elu_alpha",
        "model.softplus_beta",
        "model.init_scale",
        "model.dropout",
        "model.input_dropout",
        "model.bn_momentum",
        "noise.weight",
        "noise.input",
        *(f"augment.{k}" for k in AugmentConfig.model_fields),
        "loss.delta",
        "loss.label_smoothing",
        *(f"penalty.{k}" for k in PenaltyConfig.model_fields),
        *(
            f"optimizer.{k}"
            for k in OptimizerConfig.model_fields
            if k not in ("name", "eps_inside_sqrt", *OPTIMIZER_STRUCTURAL)
        ),
        *(f"schedule.{k}" for k in ScheduleConfig.model_fields if k != "name"),
        "train.patience",
        "train.min_delta",
        "train.seed",
        "train.stop_loss",
        "train.fold",  # the folds of a configuration train in one population
    }
)
