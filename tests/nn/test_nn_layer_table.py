"""Every ``torch.nn`` layer of the table (tests/nn/layer_table.py) runs as a population of
two members (training pass with dropout on, backward; every member's evaluation output
equal to its own torch module's in float64; no warning) or is refused with one line
naming the layer and saying what to do; layers without a batching rule or drawing from
torch's global generator are refused the same way, by name."""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from layer_table import ROWS
from torch import nn

import caviar.nn as cnn
from caviar.errors import CaviarError
from caviar.nn.dropout import DropoutPass
from caviar.nn.module import PopulationModule


class Wrap(nn.Module):
    """``layer`` called as the row says, flattened, then a linear output of 2."""

    def __init__(self, layer: nn.Module, shape, call: str) -> None:  # noqa: ANN001
        super().__init__()
        self.layer, self.call = layer, call
        with torch.no_grad():  # the width, from a copy (a lazy layer stays lazy)
            width = copy.deepcopy(self).body(torch.zeros(2, *shape)).shape[1]
        self.head = nn.Linear(width, 2)

    def body(self, x):  # noqa: ANN001, ANN201
        if self.call == "long":
            x = (x.abs() * 3).long().clamp(0, 9)
        args = {"x": (x,), "xx": (x, x), "xxx": (x, x, x), "long": (x,)}[self.call]
        out = self.layer(*args)
        return (out[0] if isinstance(out, tuple) else out).flatten(1)

    def forward(self, x):  # noqa: ANN001, ANN201
        return self.head(self.body(x))


def no_warnings():
    warnings.simplefilter("error")
    warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout")


def population(members, shape):
    return PopulationModule(members, shape, dtype=torch.float64)


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_torch_layer_runs_as_a_population_or_is_refused_by_name(row):
    name, make, shape, call, expect = row
    torch.manual_seed(0)
    members = [Wrap(make(), shape, call).double() for _ in range(2)]
    plain = [copy.deepcopy(m).eval() for m in members]
    torch_type = type(members[0].layer).__name__
    with warnings.catch_warnings():
        no_warnings()
        try:
            pop = population(members, shape)
        except CaviarError as e:
            assert expect in ("refused", "either"), f"{name} refused: {e}"
            text = str(e)
            assert "\n" not in text and f"({torch_type})" in text and ": use" in text
            return
        assert expect != "refused", f"{name} was expected to be refused"
        layer = pop.skeleton.layer
        if expect == "converted":  # a caviar layer, not torch's own forward
            assert any(type(m).__module__.startswith("caviar.nn") for m in layer.modules())
        x = torch.randn(3, math.prod(shape), dtype=torch.float64)
        out = pop(x, dropout=DropoutPass(torch.tensor([1, 2]), 0))
        out.sum().backward()
        assert torch.isfinite(pop.flat.grad).all() and pop.flat.grad.abs().sum() > 0
        evaluated = pop(x)
    for p, m in enumerate(plain):
        with torch.no_grad():
            want = m(x.view(3, *shape))
        torch.testing.assert_close(evaluated[p], want, rtol=1e-10, atol=1e-12)


class NoBatchingRule(nn.Module):
    """A bilinear product through ``aten::_trilinear`` (no vmap batching rule)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(2, 4, 4))

    def forward(self, x):  # noqa: ANN001, ANN201
        return nn.functional.bilinear(x, x, self.w)


class GlobalRandom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x):  # noqa: ANN001, ANN201
        return self.lin(x + torch.randn_like(x) * self.training)


@pytest.mark.parametrize(
    "layer,reason",
    [
        (NoBatchingRule, "torch.func.vmap cannot batch aten::"),
        (GlobalRandom, "it draws random numbers from torch's global generator"),
    ],
)
def test_a_layer_vmap_cannot_run_is_refused_by_name(layer, reason):
    net = nn.Sequential(nn.Linear(4, 4), layer())
    with warnings.catch_warnings():
        no_warnings()
        with pytest.raises(CaviarError) as e:
            population([net, copy.deepcopy(net)], (4,))
    text = str(e.value)
    assert text.startswith(f"layer '1' ({layer.__name__}) cannot run in a population: {reason}")
    assert "\n" not in text and "; use" in text


def test_bilinear_and_prelu_equal_torch_with_gradients():
    torch.manual_seed(2)
    for ref, args in (
        (nn.Bilinear(4, 3, 2).double(), (torch.randn(5, 4).double(), torch.randn(5, 3).double())),
        (nn.PReLU(3).double(), (torch.randn(5, 3, 4).double(),)),
        (nn.PReLU().double(), (torch.randn(5, 3).double(),)),
    ):
        mine = cnn.batchable.convert_torch_layers(copy.deepcopy(ref))
        assert type(mine) is not type(ref)
        for m in (ref, mine):
            m(*args).pow(2).sum().backward()
        for (n, a), (_, b) in zip(ref.named_parameters(), mine.named_parameters(), strict=True):
            torch.testing.assert_close(b.grad, a.grad, rtol=1e-10, atol=1e-12, msg=n)
        torch.testing.assert_close(mine(*args), ref(*args), rtol=1e-10, atol=1e-12)
