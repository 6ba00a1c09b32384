"""Inverted dropout with per-member rates, and the per-member random streams behind it."""

import pytest
import torch

from caviar.errors import CaviarError
from caviar.nn import PopulationMLP
from caviar.nn import random as rnd
from caviar.nn.dropout import DropoutPass, check_rate


def test_streams_depend_only_on_the_members_own_seed():
    a = rnd.uniform(torch.tensor([7, 3, 9]), 5, 11, (4, 6))
    b = rnd.uniform(torch.tensor([3]), 5, 11, (4, 6))
    assert torch.equal(a[1], b[0])
    assert not torch.equal(a[0], a[1])
    assert not torch.equal(a[1], rnd.uniform(torch.tensor([3]), 5, 12, (4, 6))[0])
    assert not torch.equal(a[1], rnd.uniform(torch.tensor([3]), 6, 11, (4, 6))[0])


def test_uniform_and_normal_moments():
    u = rnd.uniform(torch.arange(4), 1, 0, (50_000,), dtype=torch.float64)
    assert ((u >= 0) & (u < 1)).all()
    assert abs(u.mean().item() - 0.5) < 0.005 and abs(u.var().item() - 1 / 12) < 0.002
    u16 = rnd.uniform(torch.arange(4), 1, 0, (50_001,), dtype=torch.float64, bits=16)
    assert u16.shape == (4, 50_001) and ((u16 >= 0) & (u16 < 1)).all()
    assert abs(u16.mean().item() - 0.5) < 0.005 and abs(u16.var().item() - 1 / 12) < 0.002
    assert torch.equal(u16 * 2**16, (u16 * 2**16).round())  # multiples of 2^-16
    z = rnd.normal(torch.arange(4), 2, 0, (50_000,), dtype=torch.float64)
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1) < 0.02
    # the two rows of different seeds are uncorrelated
    assert abs(torch.corrcoef(z[:2])[0, 1].item()) < 0.02


def test_keep_mask_is_the_16_bit_uniform_compared_with_the_rate():
    seeds, rate = torch.tensor([3, 8]), torch.tensor([0.3, 0.7], dtype=torch.float64)
    u = rnd.uniform(seeds, 9, 4, (33, 7), dtype=torch.float64, bits=16)
    keep = rnd.bernoulli_keep(seeds, 9, 4, (33, 7), rate)
    assert torch.equal(keep, u >= rate[:, None, None])


def test_dropout_keeps_the_expected_activation_and_zeroes_the_rate():
    rates = torch.tensor([0.0, 0.2, 0.5, 0.8], dtype=torch.float64)
    h = torch.full((4, 400, 250), 3.0, dtype=torch.float64)
    out = DropoutPass(torch.tensor([1, 2, 3, 4]), counter=0, rate=rates).apply(h, 0)
    assert torch.equal(out[0], h[0])  # rate 0: exactly unchanged
    n = 400 * 250
    for p in range(1, 4):
        r = rates[p].item()
        zeroed = (out[p] == 0).double().mean().item()
        # binomial standard error sqrt(r(1-r)/n) < 0.0016; 4 sigma
        assert abs(zeroed - r) < 4 * (r * (1 - r) / n) ** 0.5
        kept = out[p][out[p] != 0]
        torch.testing.assert_close(kept, torch.full_like(kept, 3.0 / (1 - r)))
        assert abs(out[p].mean().item() - 3.0) < 4 * 3.0 * (r / ((1 - r) * n)) ** 0.5


def test_dropout_is_off_at_evaluation_and_fresh_each_pass():
    net = PopulationMLP([5, 8, 3], 2, dtype=torch.float64)
    net.initialize([0, 1])
    x = torch.randn(20, 5, dtype=torch.float64)
    rate = torch.tensor([0.5, 0.5], dtype=torch.float64)
    seeds = torch.tensor([0, 1])
    a = net(x, dropout=DropoutPass(seeds, 0, rate=rate))
    b = net(x, dropout=DropoutPass(seeds, 1, rate=rate))
    assert not torch.equal(a, b)
    assert torch.equal(a, net(x, dropout=DropoutPass(seeds, 0, rate=rate)))
    # evaluation (no DropoutPass) is the deterministic network; a zero rate equals it
    zero = torch.zeros(2, dtype=torch.float64)
    assert torch.equal(net(x), net(x, dropout=DropoutPass(seeds, 0, rate=zero, input_rate=zero)))


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5])
def test_rate_outside_unit_interval_is_a_one_line_error(bad):
    with pytest.raises(CaviarError, match=r"dropout rate must be in \[0, 1\)") as e:
        check_rate(torch.tensor([0.1, bad]))
    assert "\n" not in str(e.value)
