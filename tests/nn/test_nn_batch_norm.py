"""Per-member batch norm (:ref:`bg-batch-norm`) against torch.nn.BatchNorm1d run member by
member."""

import pytest
import torch

from caviar.nn import PopulationMLP
from caviar.nn.batch_norm import batch_norm_eval, batch_norm_train

P, B, F = 5, 12, 7


def _reference(momenta):
    mods = []
    gen = torch.Generator().manual_seed(3)
    for m in momenta:
        bn = torch.nn.BatchNorm1d(F, momentum=m, eps=1e-5).double()
        with torch.no_grad():
            bn.weight.copy_(torch.rand(F, generator=gen, dtype=torch.float64) + 0.5)
            bn.bias.copy_(torch.randn(F, generator=gen, dtype=torch.float64))
        mods.append(bn)
    return mods


def test_training_eval_and_running_statistics_match_batchnorm1d():
    momenta = [0.1, 0.5, 0.01, 1.0, 0.3]
    mods = _reference(momenta)
    gamma = torch.stack([m.weight.detach() for m in mods])[:, None, :].requires_grad_(True)
    beta = torch.stack([m.bias.detach() for m in mods])[:, None, :].requires_grad_(True)
    mean = torch.zeros(P, F, dtype=torch.float64)
    var = torch.ones(P, F, dtype=torch.float64)
    mom = torch.tensor(momenta, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    for step in range(4):
        z = torch.randn(P, B, F, generator=gen, dtype=torch.float64) * (step + 1) + step
        z.requires_grad_(True)
        ours = batch_norm_train(z, gamma, beta, mean, var, mom)
        (ours * torch.arange(F, dtype=torch.float64)).sum().backward()
        for p, bn in enumerate(mods):
            bn.train()
            zp = z.detach()[p].clone().requires_grad_(True)
            ref = bn(zp)
            (ref * torch.arange(F, dtype=torch.float64)).sum().backward()
            torch.testing.assert_close(ours[p], ref, rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(z.grad[p], zp.grad, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(mean[p], bn.running_mean, rtol=1e-12, atol=1e-14)
            torch.testing.assert_close(var[p], bn.running_var, rtol=1e-12, atol=1e-14)
        for p, bn in enumerate(mods):
            torch.testing.assert_close(gamma.grad[p, 0], bn.weight.grad, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(beta.grad[p, 0], bn.bias.grad, rtol=1e-10, atol=1e-12)
        z.grad = None
    x = torch.randn(P, B, F, generator=gen, dtype=torch.float64)
    ev = batch_norm_eval(x, gamma.detach(), beta.detach(), mean, var)
    for p, bn in enumerate(mods):
        bn.eval()
        torch.testing.assert_close(ev[p], bn(x[p]), rtol=1e-12, atol=1e-12)


def test_frozen_members_keep_their_running_statistics():
    z = torch.randn(P, B, F, dtype=torch.float64)
    mean, var = torch.zeros(P, F, dtype=torch.float64), torch.ones(P, F, dtype=torch.float64)
    alive = torch.tensor([True, False, True, False, True])
    one = torch.ones(P, 1, F, dtype=torch.float64)
    batch_norm_train(z, one, 0 * one, mean, var, torch.full((P,), 0.5, dtype=torch.float64), alive)
    assert torch.equal(mean[~alive], torch.zeros(2, F, dtype=torch.float64))
    assert torch.equal(var[~alive], torch.ones(2, F, dtype=torch.float64))
    assert (mean[alive] != 0).all()


def test_mlp_layout_drops_hidden_bias_and_starts_at_gamma_one_beta_zero():
    plain = PopulationMLP([4, 6, 5, 3], 2, dtype=torch.float64)
    bn = PopulationMLP([4, 6, 5, 3], 2, batch_norm=True, dtype=torch.float64)
    # hidden biases (6 + 5) removed, gamma and beta (2 * (6 + 5)) added
    assert bn.n_params == plain.n_params - 11 + 22
    assert len(bn.biases()) == 1 and len(bn.bn_params()) == 2
    bn.initialize([0, 1], init="he_normal")
    for gamma, beta in bn.bn_params():
        assert torch.equal(gamma, torch.ones_like(gamma))
        assert torch.equal(beta, torch.zeros_like(beta))
    assert bn.stats.shape == (2, 2 * (6 + 5))
    for mean, var in bn.running_stats():
        assert (mean == 0).all() and (var == 1).all()


def test_mlp_forward_matches_torch_sequential_with_batchnorm():
    net = PopulationMLP([4, 6, 3], 2, activation="tanh", batch_norm=True, dtype=torch.float64)
    net.initialize([0, 1], init="he_normal")
    with torch.no_grad():
        for gamma, beta in net.bn_params(net.flat):
            gamma.uniform_(0.5, 1.5)
            beta.normal_()
    x = torch.randn(10, 4, dtype=torch.float64)
    mom = torch.tensor([0.1, 0.2], dtype=torch.float64)
    out_train = net(x, bn_update=(mom, None))
    out_eval = net(x)
    for p in range(2):
        w1, w2 = net.weights(net.flat)
        ((gamma, beta),) = net.bn_params(net.flat)
        lin1 = torch.nn.Linear(4, 6, bias=False).double()
        lin2 = torch.nn.Linear(6, 3).double()
        bnm = torch.nn.BatchNorm1d(6, momentum=float(mom[p])).double()
        with torch.no_grad():
            lin1.weight.copy_(w1[p].T)
            lin2.weight.copy_(w2[p].T)
            lin2.bias.copy_(net.biases(net.flat)[0][p, 0])
            bnm.weight.copy_(gamma[p, 0])
            bnm.bias.copy_(beta[p, 0])
        seq = torch.nn.Sequential(lin1, bnm, torch.nn.Tanh(), lin2)
        seq.train()
        torch.testing.assert_close(out_train[p], seq(x), rtol=1e-12, atol=1e-12)
        seq.eval()
        torch.testing.assert_close(out_eval[p], seq(x), rtol=1e-12, atol=1e-12)


def test_member_tensors_round_trip_with_batch_norm():
    net = PopulationMLP([3, 4, 2], 2, batch_norm=True, dtype=torch.float64)
    net.initialize([0, 1])
    net(torch.randn(8, 3, dtype=torch.float64), bn_update=(torch.full((2,), 0.5), None))
    tensors = net.member_tensors(1)
    assert "layers.0.bias" not in tensors and "layers.0.bn.running_var" in tensors
    other = PopulationMLP([3, 4, 2], 1, batch_norm=True, dtype=torch.float64)
    other.load_member_tensors(tensors, 0)
    assert torch.equal(other.flat[0], net.flat[1])
    assert torch.equal(other.stats[0], net.stats[1])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_gradients_land_in_flat_grad(batch_norm):
    net = PopulationMLP([3, 4, 2], 2, batch_norm=batch_norm, dtype=torch.float64)
    net.initialize([0, 1])
    x = torch.randn(6, 3, dtype=torch.float64)
    net.zero_grad()
    net(x, bn_update=(torch.full((2,), 0.1), None) if batch_norm else None).pow(2).sum().backward()
    flat = net.flat.detach().clone().requires_grad_(True)
    ref = PopulationMLP([3, 4, 2], 2, batch_norm=batch_norm, dtype=torch.float64)
    out = ref(x, flat=flat, bn_update=(torch.full((2,), 0.1), None) if batch_norm else None)
    out.pow(2).sum().backward()
    torch.testing.assert_close(net.flat.grad, flat.grad, rtol=1e-12, atol=1e-12)
