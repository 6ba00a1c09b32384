"""The graph-free penalty values (one reduction each, used by the hand-written backprop to
detect divergence) match the recorded ones in float64 and overflow alike."""

import torch

from caviar.penalties import l1_norm, squared_l2_norm

DT = torch.float64


def _tensors(requires_grad: bool):
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(5, 13, 7, generator=g, dtype=DT).requires_grad_(requires_grad),
        torch.randn(5, 1, 7, generator=g, dtype=DT).requires_grad_(requires_grad),
    ]


def test_value_only_matches_graph_path_float64():
    with_graph = _tensors(True)
    l2, l1 = squared_l2_norm(with_graph), l1_norm(with_graph)
    assert l2.requires_grad and l1.requires_grad  # the graph path, differentiable
    with torch.no_grad():
        l2v, l1v = squared_l2_norm(with_graph), l1_norm(with_graph)
    assert not l2v.requires_grad
    torch.testing.assert_close(l2v, l2.detach(), rtol=1e-14, atol=0.0)
    torch.testing.assert_close(l1v, l1.detach(), rtol=1e-14, atol=0.0)
    plain = _tensors(False)  # no grad wanted on the tensors: also value only
    torch.testing.assert_close(squared_l2_norm(plain), l2.detach(), rtol=1e-14, atol=0.0)
    exact = sum((t.detach() ** 2).sum((1, 2)) for t in with_graph)
    torch.testing.assert_close(l2v, exact, rtol=1e-14, atol=0.0)


def test_value_only_overflows_to_inf_like_the_sum_of_squares():
    big = [torch.full((2, 4, 4), 1e19), torch.ones(2, 1, 4)]  # finite θ, θ² past float32
    assert torch.isinf(sum((t**2).sum((1, 2)) for t in big)).all()
    with torch.no_grad():
        assert torch.isinf(squared_l2_norm(big)).all()
    ok = [torch.full((2, 4, 4), 1e18)]  # Σθ² = 1.6e37: finite in float32
    assert torch.isfinite(squared_l2_norm(ok)).all()
