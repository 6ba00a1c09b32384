"""``predicted_class`` follows ``torch.argmax``: first index among ties, NaN counted as the max."""

import torch

from caviar.training.metrics import predicted_class

NAN, INF = float("nan"), float("inf")


def test_same_as_argmax_with_ties_nan_and_inf() -> None:
    x = torch.tensor(
        [[[1.0, 3.0, 3.0, 0.0], [NAN, 1.0, NAN, 5.0], [2.0, 2.0, 2.0, 2.0], [0.0, INF, INF, NAN]]]
    )
    assert predicted_class(x).tolist() == x.argmax(dim=-1).tolist() == [[1, 0, 0, 3]]
    g = torch.Generator().manual_seed(0)
    ties = torch.randint(0, 3, (6, 200, 10), generator=g).double()  # many ties
    assert torch.equal(predicted_class(ties), ties.argmax(dim=-1))


def test_single_output_is_the_sign_of_the_logit() -> None:
    x = torch.tensor([[[-1.0], [0.0], [2.0]]])
    assert predicted_class(x).tolist() == [[0, 0, 1]]
