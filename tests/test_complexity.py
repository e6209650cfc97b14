import numpy as np
import pytest
import torch

from zshbench.complexity import measure_complexity
from zshbench.evaluate.class_distances import class_distance_matrix, sample_seen
from zshbench.hasher import Hasher, Requirements
from zshbench.registry import get_method
from zshbench.trainset import TrainSet


def _train(d=16, n=60, seed=0):
    rng = np.random.default_rng(seed)
    return TrainSet.from_arrays(
        np.repeat(np.arange(3), n // 3), features=rng.standard_normal((n, d)).astype(np.float32)
    )


@pytest.mark.parametrize("name", ["lsh", "pcah", "itq", "sh"])
def test_shallow_methods_analytic_count(name):
    h = get_method(name)(n_bits=8, seed=0).fit(_train())
    c = measure_complexity(h, np.zeros((1, 16), np.float32))
    assert c["counter"] == "analytic" and c["input"] == "feature vector (16-d)"
    assert c["flops_per_image"] == 2 * 16 * 8  # one (16 x 8) projection, multiply-add = 2 FLOPs
    assert c["params"] >= 16 * 8 + 16  # projection + mean (+ whatever else the fitted state holds)


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)  # 4 x 3 x 3 x 3 MACs per pixel
        self.fc = torch.nn.Linear(4, 8)
        self.unused = torch.nn.Linear(100, 100)  # a training-only head

    def encode(self, x):
        x = x.permute(0, 3, 1, 2).float()
        return self.fc(self.conv(x).mean((2, 3)))


class _Deep(Hasher):
    name = "fake-deep"
    requires = Requirements(inputs="images")

    def _fit(self, train):
        torch.manual_seed(0)
        self.model_ = _Net()

    def _encode_batch(self, x):
        with torch.no_grad():
            return self.model_.encode(torch.from_numpy(np.asarray(x))).numpy()


def test_deep_method_flop_counter_and_encode_params():
    h = _Deep(n_bits=8)
    h._fit(None)
    h.fitted_ = True
    c = measure_complexity(h, np.zeros((1, 5, 5, 3), np.uint8))
    assert c["counter"] == "torch.utils.flop_counter.FlopCounterMode"
    assert c["flops_per_image"] == 2 * (25 * 4 * 27) + 2 * 4 * 8  # conv + linear, multiply-add = 2 FLOPs
    assert c["params"] == (4 * 27 + 4) + (4 * 8 + 8) + (100 * 100 + 100)
    assert c["params_encode"] == (4 * 27 + 4) + (4 * 8 + 8)  # the unused head is not on the encode path
    assert c["input"] == "image 5x5x3 uint8"


def test_hook_takes_precedence():
    class Hooked(_Deep):
        def complexity(self, sample):
            return {"params": 7, "flops_per_image": 11}

    h = Hooked(n_bits=8)
    h._fit(None)
    h.fitted_ = True
    c = measure_complexity(h, np.zeros((1, 5, 5, 3), np.uint8))
    assert (c["params"], c["flops_per_image"], c["counter"]) == (7, 11, "hook")


def test_class_distance_matrix_matches_brute_force():
    rng = np.random.default_rng(1)
    n_bits = 24
    q = rng.integers(0, 256, (30, 3), dtype=np.uint8)
    s = rng.integers(0, 256, (20, 3), dtype=np.uint8)
    ql, sl = rng.integers(5, 8, 30), rng.integers(0, 4, 20)
    out = class_distance_matrix(
        q, ql, s, sl, n_bits, unseen_names=[f"c{i}" for i in range(8)], seen_names=list("abcd"), decimals=9
    )
    qb, sb = np.unpackbits(q, axis=1), np.unpackbits(s, axis=1)
    d = (qb[:, None, :] != sb[None, :, :]).sum(-1)
    want = [[d[np.ix_(ql == u, sl == c)].mean() for c in range(4)] for u in (5, 6, 7)]
    assert out["unseen"] == ["c5", "c6", "c7"] and out["seen"] == list("abcd")
    np.testing.assert_allclose(out["mean_hamming"], want, atol=1e-8)


def test_sample_seen_bounded_and_seeded():
    labels = np.repeat(np.arange(50), 30)
    a = sample_seen(labels, 0, per_class=10, max_total=200)
    assert len(a) == 200 and np.bincount(labels[a]).tolist() == [4] * 50  # 200 // 50 per class
    assert np.array_equal(a, sample_seen(labels, 0, per_class=10, max_total=200))
    assert not np.array_equal(a, sample_seen(labels, 1, per_class=10, max_total=200))
