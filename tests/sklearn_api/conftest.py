"""One torch thread for these tests (restored after each test).

They train hundreds of tiny networks; with 2 intra-op threads on a busy 2-core
machine, OpenMP oversubscription made a check 15x slower (10 s vs 0.65 s wall).
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
