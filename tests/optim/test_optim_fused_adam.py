"""Adam's fused per-member path (:mod:`caviar.optim.fused_adam`) passes Adam's own checks.

The reference and population tests use a 21-parameter problem, below the row length
where :class:`caviar.optim.Adam` switches to PyTorch's fused kernel; here the threshold
is lowered to 1 so the same checks (trajectories against ``torch.optim.Adam``/``AdamW``
in float64, frozen members, PBT copies, state dicts) run through the fused path. A last
test compares both paths on long rows at the real threshold.
"""

from __future__ import annotations

import pytest
import torch
from optim_problem import DTYPE
from test_optim_population import (
    test_copy_members_continues_exactly_as_the_source as _copy_members,
)
from test_optim_population import (
    test_frozen_members_are_untouched_and_resume_as_if_paused as _frozen,
)
from test_optim_population import test_state_dict_round_trip_continues_identically as _state
from test_optim_reference import CASES
from test_optim_reference import test_matches_torch_per_member as _reference

from caviar.optim import fused_adam, make_optimizer

ADAM_CASES = [c for c in CASES if c.values[0].name in ("adam", "adamw")]


@pytest.fixture
def fused(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Force the fused path and count its calls."""
    calls: list[int] = []
    real = fused_adam.fused_adam_members

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fused_adam, "MIN_ROW", 1)
    monkeypatch.setattr("caviar.optim.adam.fused_adam_members", counting)
    return calls


@pytest.mark.parametrize(("row", "schedule"), ADAM_CASES)
def test_fused_path_matches_torch_per_member(fused, row, schedule) -> None:
    _reference(row, schedule)
    assert len(fused) > 0


@pytest.mark.parametrize("frozen", [[2], [0, 1, 3, 4]], ids=["one_frozen", "most_frozen"])
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_path_freezes_members(fused, name, frozen) -> None:
    _frozen(name, frozen)
    assert len(fused) > 0


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_path_copies_members_and_round_trips_state(fused, name) -> None:
    _copy_members(name)
    _state(name)
    assert len(fused) > 0


def test_long_rows_take_the_fused_path_and_agree_with_the_vectorized_one() -> None:
    P, N, steps = 6, fused_adam.MIN_ROW + 77, 12
    g = torch.Generator().manual_seed(3)
    theta0 = torch.randn(P, N, generator=g, dtype=DTYPE)
    grads = torch.randn(steps, P, N, generator=g, dtype=DTYPE)
    hypers = {
        "lr": [1e-3, 3e-3, 1e-2, 3e-2, 1e-4, 5e-3],
        "beta1": [0.9, 0.5, 0.0, 0.95, 0.8, 0.9],
        "beta2": [0.999, 0.9, 0.99, 0.5, 0.3, 0.999],
        "weight_decay": [0.0, 0.1, 0.0, 0.01, 0.5, 0.0],
    }
    alive = torch.tensor([True, True, False, True, True, True])
    runs = []
    for fuse in (True, False):
        theta = theta0.clone().requires_grad_()
        opt = make_optimizer("adam", [theta], **hypers)
        assert fused_adam.worth_fusing(theta)
        for s in range(steps):
            theta.grad = grads[s].clone()
            if not fuse:  # the base class's vectorized update
                super(type(opt), opt).step(alive=alive if s % 3 else None)
            else:
                opt.step(alive=alive if s % 3 else None)
        runs.append((theta.detach(), opt.state[0]))
    (a, sa), (b, sb) = runs
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=1e-12, atol=1e-14)


def test_members_with_equal_hypers_share_one_call_exactly_as_calls_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Members sharing all hypers go through one kernel call with the list of their rows
    (three groups here, some members frozen on some steps so their step counters
    differ); parameters and state are bitwise those of one call per member."""
    P, N, steps = 6, fused_adam.MIN_ROW + 5, 5
    g = torch.Generator().manual_seed(5)
    theta0 = torch.randn(P, N, generator=g)
    grads = torch.randn(steps, P, N, generator=g)
    hypers = {"lr": [1e-3, 1e-3, 3e-3, 1e-3, 3e-3, 1e-3], "weight_decay": [0, 0, 0, 0.1, 0, 0.1]}
    alive = torch.tensor([True, False, True, True, True, False])
    calls: list[int] = []
    for name in ("_fused_adam_", "_fused_adamw_"):
        real = getattr(torch, name)

        def counting(params, *args, _real=real, **kwargs):
            calls.append(len(params))
            return _real(params, *args, **kwargs)

        monkeypatch.setattr(torch, name, counting)

    def run() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        theta = theta0.clone().requires_grad_()
        opt = make_optimizer("adam", [theta], **hypers)
        for s in range(steps):
            theta.grad = grads[s].clone()
            opt.step(alive=alive if s == 2 else None)
        return theta.detach(), opt.state[0]

    grouped, grouped_state = run()
    assert calls[:3] == [2, 2, 2] and len(calls) == 3 * steps
    calls.clear()
    monkeypatch.setattr(
        fused_adam, "same_hypers", lambda h, members, keys=None: [(h[i], [i]) for i in members]
    )
    single, single_state = run()
    assert calls[:6] == [1] * 6
    assert torch.equal(grouped, single)
    for k in grouped_state:
        assert torch.equal(grouped_state[k], single_state[k])


def test_bit_keys_group_equal_bits_only_as_hex_does():
    lr = torch.tensor([1e-3, 1e-3, 0.0, -0.0, 2e-3], dtype=torch.float64)
    other = torch.tensor([0.9, 0.9, 0.9, 0.9, 0.9], dtype=torch.float64)
    hypers = list(zip(lr.tolist(), other.tolist(), strict=True))
    keys = fused_adam.bit_keys((lr, other))
    by_bits = fused_adam.same_hypers(hypers, range(5), keys)
    by_hex = fused_adam.same_hypers(hypers, range(5))
    assert [g for _, g in by_bits] == [g for _, g in by_hex] == [[0, 1], [2], [3], [4]]
    assert fused_adam.bit_keys((lr, other.float())) is None  # mixed dtypes: hex instead
