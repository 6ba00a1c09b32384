"""caviar.schedules: formulas against hand values, per-member parameters, validation."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from caviar.errors import CaviarError
from caviar.schedules import SCHEDULES, Schedule, make_schedule

F64 = torch.float64


def values(schedule: Schedule, times: list[float]) -> torch.Tensor:
    """``(len(times), P)`` multipliers."""
    return torch.stack([schedule(t) for t in times])


def close(actual: torch.Tensor, expected: Any) -> None:
    torch.testing.assert_close(
        actual, torch.as_tensor(expected, dtype=actual.dtype), rtol=1e-12, atol=1e-15
    )


def test_registry_names() -> None:
    assert list(SCHEDULES) == [
        "constant",
        "step",
        "exponential",
        "inverse_time",
        "cosine",
        "cyclic_cosine",
        "plateau",
    ]


def test_constant_is_one() -> None:
    s = make_schedule("constant", 3, dtype=F64)
    close(values(s, [0.0, 1.5, 100.0]), torch.ones(3, 3))


def test_step_decay_halves_every_k_epochs() -> None:
    s = make_schedule("step", 1, dtype=F64, k=2)
    close(values(s, [0, 1, 2, 3, 4]).squeeze(1), [1, 1, 0.5, 0.5, 0.25])
    close(values(s, [1.999, 2.0, 5.9, 6.0]).squeeze(1), [1, 0.5, 0.25, 0.125])


def test_step_decay_per_member_k_and_factor() -> None:
    s = make_schedule("step", 3, dtype=F64, k=[1.0, 2.0, 0.5], factor=[0.5, 0.1, 1.0])
    close(values(s, [0, 1, 2, 3]), [[1, 1, 1], [0.5, 1, 1], [0.25, 0.1, 1], [0.125, 0.1, 1]])


def test_exponential_decay_is_exp_minus_k_t() -> None:
    s = make_schedule("exponential", 3, dtype=F64, k=[0.0, 0.5, 2.0])
    close(s(0.0), [1, 1, 1])
    close(s(2.0), [1, math.exp(-1.0), math.exp(-4.0)])
    close(s(2.0)[1], 0.36787944117144233)
    # A decay, not the sometimes misprinted e^(-k/t) (which grows with t).
    assert bool((s(3.0)[1:] < s(2.0)[1:]).all())


def test_inverse_time_decay() -> None:
    s = make_schedule("inverse_time", 3, dtype=F64, k=[0.0, 1.0, 0.5])
    close(s(0.0), [1, 1, 1])
    close(s(3.0), [1, 0.25, 0.4])
    close(s(10.0), [1, 1 / 11, 1 / 6])


def test_cosine_endpoints_midpoint_and_floor() -> None:
    s = make_schedule("cosine", 3, dtype=F64, T=[10.0, 4.0, 10.0], min_factor=[0.0, 0.0, 0.1])
    close(s(0.0), [1, 1, 1])
    close(s(10.0), [0, 0, 0.1])
    close(s(25.0), [0, 0, 0.1])  # stays at the floor after T
    close(s(5.0), [0.5, 0, 0.55])
    close(
        s(2.0),
        [0.5 * (1 + math.cos(math.pi * 0.2)), 0.5, 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.2))],
    )


def test_warmup_ramps_linearly_and_never_starts_at_zero() -> None:
    spe = 4
    s = make_schedule("constant", 3, dtype=F64, warmup=[1.0, 0.5, 0.0], steps_per_epoch=spe)
    got = values(s, [step / spe for step in range(6)])
    close(got[:, 0], [0.25, 0.5, 0.75, 1, 1, 1])
    close(got[:, 1], [0.5, 1, 1, 1, 1, 1])
    close(got[:, 2], [1, 1, 1, 1, 1, 1])  # warmup 0: no ramp
    assert bool((got > 0).all())


def test_warmup_composes_with_decay() -> None:
    spe = 2
    s = make_schedule("step", 2, dtype=F64, k=1.0, warmup=[2.0, 0.0], steps_per_epoch=spe)
    got = values(s, [step / spe for step in range(6)])
    ramp = torch.tensor([0.25, 0.5, 0.75, 1.0, 1.0, 1.0], dtype=F64)
    decay = torch.tensor([1, 1, 0.5, 0.5, 0.25, 0.25], dtype=F64)
    close(got[:, 0], ramp * decay)
    close(got[:, 1], decay)
    assert s.params.keys() == {"k", "factor", "warmup"}


def test_per_member_times_dtype_and_device() -> None:
    s = make_schedule("exponential", 2, dtype=torch.float32, device="cpu", k=[1.0, 1.0])
    out = s(torch.tensor([0.0, 1.0]))
    assert out.dtype == torch.float32 and out.shape == (2,) and out.device.type == "cpu"
    close(out, [1.0, math.exp(-1.0)])


def test_schedule_drives_an_optimizer() -> None:
    from caviar.optim import make_optimizer

    theta = torch.zeros(2, 3, dtype=F64, requires_grad=True)
    opt = make_optimizer("sgd", [theta], lr=[1.0, 1.0])
    s = make_schedule("step", 2, dtype=F64, k=[1.0, 2.0])
    for step in range(3):
        theta.grad = torch.ones_like(theta)
        opt.step(lr_scale=s(float(step)))
    # member 0: 1 + 0.5 + 0.25, member 1: 1 + 1 + 0.5
    close(theta.detach(), [[-1.75] * 3, [-2.5] * 3])


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("step", {"k": 0.0}, "k must be > 0, got 0"),
        ("step", {"k": [1.0, -1.0, 1.0]}, "k must be > 0, got -1 \\(member 1\\)"),
        ("step", {"k": 1.0, "factor": 0.0}, "factor must be in \\(0, 1\\], got 0"),
        ("step", {"k": 1.0, "factor": 1.5}, "factor must be in \\(0, 1\\]"),
        ("exponential", {"k": -0.1}, "k must be >= 0, got -0.1"),
        ("inverse_time", {"k": [0.1, 0.2, -2.0]}, "k must be >= 0, got -2 \\(member 2\\)"),
        ("cosine", {"T": 0.0}, "T must be > 0, got 0"),
        ("cosine", {"T": 5.0, "min_factor": 1.5}, "min_factor must be in \\[0, 1\\]"),
        ("exponential", {"k": float("nan")}, "k must be finite"),
        ("step", {}, "missing parameter 'k'"),
        ("cosine", {}, "missing parameter 'T'"),
        ("exponential", {"k": 0.1, "T": 3.0}, "unknown parameter 'T' \\(expected: k\\)"),
        ("exponential", {"k": [0.1, 0.2]}, "k has 2 values for a population of 3"),
        ("constant", {"k": 1.0}, "unknown parameter 'k'"),
        ("constant", {"warmup": -1.0, "steps_per_epoch": 4}, "warmup must be >= 0, got -1"),
        ("constant", {"warmup": 1.0}, "warmup needs steps_per_epoch"),
        ("constant", {"warmup": 1.0, "steps_per_epoch": 0}, "warmup needs steps_per_epoch"),
    ],
)
def test_invalid_parameters_raise_one_line_caviar_errors(
    name: str, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(CaviarError, match=match) as info:
        make_schedule(name, 3, dtype=F64, **params)
    assert "\n" not in str(info.value)


def test_unknown_schedule_name() -> None:
    with pytest.raises(CaviarError) as info:
        make_schedule("linear", 3, dtype=F64)
    assert str(info.value) == (
        "unknown schedule 'linear' (choose from: constant, step, exponential, inverse_time, "
        "cosine, cyclic_cosine, plateau)"
    )


def test_negative_time_is_refused() -> None:
    s = make_schedule("constant", 2, dtype=F64)
    with pytest.raises(CaviarError, match="t must be >= 0"):
        s(-1.0)
    with pytest.raises(CaviarError, match="t must be a float or have shape \\(2,\\)"):
        s(torch.zeros(3))


def test_constant_flag_marks_schedules_whose_multiplier_is_always_one() -> None:
    _make = make_schedule
    kw = {"dtype": torch.float64, "device": "cpu", "steps_per_epoch": 4}
    assert _make("constant", 3, **kw).constant
    flat = _make("constant", 3, warmup=[0.0, 0.0, 0.0], **kw)
    assert flat.constant
    flat.params["warmup"][1] = 2.0  # e.g. PBT sets a warm-up later
    assert not flat.constant
    assert not _make("constant", 3, warmup=[0.0, 1.0, 0.0], **kw).constant
    assert not _make("exponential", 3, k=0.1, **kw).constant
