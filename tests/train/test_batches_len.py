"""ShuffledBatches.__len__ (the progress bar's total) equals the batches an epoch yields."""

import pytest
import torch

from zshbench.train.batches import ShuffledBatches


@pytest.mark.parametrize("n,bs,min_size", [(800, 64, 2), (801, 64, 2), (65, 64, 2), (64, 64, 2), (10, 3, 1), (1, 4, 2)])
def test_len_matches_the_epoch(n, bs, min_size):
    b = ShuffledBatches(n, bs, lambda i: i, torch.Generator().manual_seed(0), min_size=min_size)
    assert len(b) == len(b.indices())
