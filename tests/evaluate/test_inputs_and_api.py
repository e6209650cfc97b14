"""Input formats, bad-input errors, backends agreeing, threads, progress, memory budget, ranking maths."""

from fractions import Fraction

import numpy as np
import pytest
import torch

from zshbench.codes import pack_signs
from zshbench.errors import UnknownNameError, UserError
from zshbench.evaluate import DEFAULT_METRICS, METRIC_VERSION, EvalResult, evaluate, ranking
from zshbench.evaluate.kernels import jit_enabled


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    h_q, h_d = rng.standard_normal((30, 20)), rng.standard_normal((400, 20))
    ql, dl = rng.integers(0, 4, 30), rng.integers(0, 4, 400)
    return h_q, h_d, ql, dl


def test_all_code_formats_agree(data):
    h_q, h_d, ql, dl = data
    base = evaluate(pack_signs(h_q), pack_signs(h_d), ql, dl, n_bits=20, k=50).metrics
    formats = [
        (np.where(h_q >= 0, 1, -1), np.where(h_d >= 0, 1, -1)),
        ((h_q >= 0).astype(np.int64), (h_d >= 0).astype(np.int64)),
        (h_q >= 0, h_d >= 0),
        ((h_q >= 0).astype(np.uint8), (h_d >= 0).astype(np.uint8)),  # unpacked uint8 with n_bits
        (torch.from_numpy(np.where(h_q >= 0, 1.0, -1.0)), torch.from_numpy(np.where(h_d >= 0, 1.0, -1.0))),
    ]
    for q, d in formats:
        assert evaluate(q, d, ql, dl, n_bits=20, k=50).metrics == pytest.approx(base, abs=1e-12)
    # packed without n_bits: 24 bits, padding bits are equal zeros so distances are unchanged
    assert evaluate(pack_signs(h_q), pack_signs(h_d), ql, dl, k=50).metrics["map@50"] == pytest.approx(
        base["map@50"], abs=1e-12
    )


def test_result_structure(data):
    h_q, h_d, ql, dl = data
    res = evaluate(h_q >= 0, h_d >= 0, ql, dl, k=1000)
    assert isinstance(res, EvalResult)
    assert list(res.metrics) == [
        "map@1000",
        "map@all",
        "tie_aware_map@1000",
        "tie_aware_map@all",
        "map@1000:relevant_first",
        "map@1000:relevant_last",
        "precision@hamming2",
        "pr_auc",
    ]
    assert all(type(v) is float for v in res.metrics.values())
    assert set(res.conventions) == set(res.metrics)
    assert set(res.curves) == {"pr_by_radius", "precision_at_n", "recall_at_n"}
    assert res.curves["precision_at_n"]["n"][-1] == 400 and res.curves["pr_by_radius"]["radius"][-1] == 20
    assert res.info["metric_version"] == METRIC_VERSION and len(DEFAULT_METRICS) == 8
    # k > database size means the whole database
    assert res.metrics["map@1000"] == pytest.approx(res.metrics["map@all"], abs=1e-12)
    assert 0 < res.metrics["pr_auc"] <= 1


def test_ties_argument_renames_and_matches_bounds(data):
    h_q, h_d, ql, dl = data
    q, d = h_q[:, :3] >= 0, h_d[:, :3] >= 0  # 3 bits: heavy ties
    base = evaluate(q, d, ql, dl, k=40).metrics
    first = evaluate(q, d, ql, dl, k=40, ties="relevant_first", metrics=["map@k", "map@all"]).metrics
    assert first["map@40:relevant_first"] == base["map@40:relevant_first"]
    assert "map@all:relevant_first" in first


@pytest.mark.parametrize(
    "backend, kernels",
    [("numpy", None), ("torch", None), ("faiss", "vector"), ("faiss", "scalar")]
    + ([("numba", "vector"), ("numba", "scalar")] if jit_enabled() else []),
)
def test_backends_identical_multilabel(backend, kernels):
    pytest.importorskip("faiss") if backend == "faiss" else None
    rng = np.random.default_rng(2)
    q, d = rng.integers(0, 2, (50, 40)), rng.integers(0, 2, (900, 40))
    ql, dl = (rng.random((50, 6)) < 0.2).astype(int), (rng.random((900, 6)) < 0.2).astype(int)
    ref = evaluate(q, d, ql, dl, k=100, backend="numpy")
    res = evaluate(q, d, ql, dl, k=100, backend=backend, memory_budget=1 << 20, kernels=kernels)
    assert res.metrics == pytest.approx(ref.metrics, abs=1e-12)
    for name, curve in ref.curves.items():
        for key, vals in curve.items():
            assert res.curves[name][key] == pytest.approx(vals, abs=1e-12)


def test_threads_progress_and_small_budget(data):
    h_q, h_d, ql, dl = data
    before = torch.get_num_threads()
    seen = []
    one = evaluate(h_q >= 0, h_d >= 0, ql, dl, k=50)
    two = evaluate(h_q >= 0, h_d >= 0, ql, dl, k=50, n_threads=2, progress=seen.append, memory_budget=50_000)
    assert two.metrics == pytest.approx(one.metrics, abs=1e-12)
    assert seen[-1] == 30 and seen == sorted(seen)
    tiny = evaluate(h_q >= 0, h_d >= 0, ql, dl, k=50, backend="numpy", memory_budget=1)  # one query per block
    assert tiny.metrics == pytest.approx(one.metrics, abs=1e-12)
    torch_small = evaluate(h_q >= 0, h_d >= 0, ql, dl, k=50, backend="torch", n_threads=2, memory_budget=10_000)
    assert torch_small.metrics == pytest.approx(one.metrics, abs=1e-12)
    assert torch.get_num_threads() == before


def test_single_query_single_item_and_k1():
    res = evaluate(np.array([[1, 0]]), np.array([[1, 1]]), np.array([3]), np.array([3]), k=1)
    assert res.metrics["map@1"] == 1.0 and res.metrics["precision@hamming2"] == 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=0), "k must be a positive integer"),
        (dict(k=-3), "k must be a positive integer"),
        (dict(ties="random"), "Unknown ties value"),
        (dict(metrics=["mAP@k"]), "Did you mean 'map@k'"),
        (dict(metrics=["tie_aware_map@kk"]), "Unknown metric"),
        (dict(metrics=["map@1000"]), "pass k=1000"),
        (dict(metrics=["precision@hamming99"]), "exceeds the code length"),
        (dict(backend="gpu"), "Unknown backend"),
        (dict(n_threads=0), "n_threads"),
    ],
)
def test_bad_options(data, kwargs, match):
    h_q, h_d, ql, dl = data
    with pytest.raises(UserError, match=match):
        evaluate(h_q >= 0, h_d >= 0, ql, dl, **kwargs)


def test_unknown_metric_is_unknown_name_error(data):
    h_q, h_d, ql, dl = data
    with pytest.raises(UnknownNameError):
        evaluate(h_q >= 0, h_d >= 0, ql, dl, metrics=["pr-auc"])


def test_bad_inputs(data):
    h_q, h_d, ql, dl = data
    q, d = h_q >= 0, h_d >= 0
    cases = [
        ((q[:, :10], d, ql, dl), {}, r"different code lengths"),
        ((h_q, d, ql, dl), {}, r"not binary"),
        ((q, d, ql[:5], dl), {}, r"query_labels has 5 rows .* 30 codes"),
        ((q, d, ql, dl[:7]), {}, r"db_labels has 7 rows"),
        ((q[:0], d, ql[:0], dl), {}, r"query_codes is empty"),
        ((q, d[:0], ql, dl[:0]), {}, r"db_codes is empty"),
        ((q.ravel(), d, ql, dl), {}, r"must be 2-D"),
        ((q, d, ql, np.eye(4)[dl]), {}, r"both must be"),
        ((q, d, np.eye(4)[ql] * 3, np.eye(4)[dl]), {}, r"0/1 matrix"),
        ((pack_signs(h_q), pack_signs(h_d), ql, dl), dict(n_bits=30), r"cannot hold n_bits=30"),
        ((pack_signs(h_q), pack_signs(h_d), ql, dl), dict(n_bits=18), r"padding bits"),
        ((q, d, ql, dl), dict(n_bits=7), r"n_bits=7"),
    ]
    for args, kwargs, match in cases:
        with pytest.raises(UserError, match=match):
            evaluate(*args, **kwargs)


def test_harmonic_diff_is_accurate():
    for s in (0, 1, 5, 63, 64, 65, 100, 1000, 10**6, 10**9):
        for c in (0, 1, 2, 7, 100, 5000):
            exact = sum(Fraction(1, i) for i in range(s + 1, s + c + 1)) if c <= 100 else None
            got = ranking.harmonic_diff(s, c)
            if exact is not None:
                assert float(got) == pytest.approx(float(exact), rel=1e-14, abs=1e-300)
            else:
                assert float(got) == pytest.approx(float(np.sum(1.0 / np.arange(s + 1, s + c + 1))), rel=1e-12)


def test_tie_aware_on_one_big_group_matches_closed_form():
    # one tie group of n items, m relevant, cut at r: E[AP@r] by direct hypergeometric sum in Fractions
    n, m, r = 9, 4, 5
    h_all, h_rel = np.array([[0, n]]), np.array([[0, m]])
    from math import comb

    total = Fraction(0)
    for x in range(0, min(r, m) + 1):
        p = Fraction(comb(m, x) * comb(n - m, r - x), comb(n, r))
        if x:  # expected sum of precisions with x relevant uniformly among r positions
            s = sum(Fraction(x, r) * (1 + Fraction((j - 1) * (x - 1), r - 1)) / j for j in range(1, r + 1))
            total += p * s / x
    assert ranking.tie_aware_ap(h_all, h_rel, r)[0] == pytest.approx(float(total), abs=1e-14)


def test_uint8_zero_one_codes_need_n_bits(data):
    h_q, h_d, ql, dl = data
    q, d = (h_q >= 0).astype(np.uint8), (h_d >= 0).astype(np.uint8)  # unpacked 0/1 columns, 20 bits
    with pytest.raises(
        UserError,
        match=r"only 0 and 1 .* unpacked 0/1 codes of 20 bits or packed codes of 160 "
        r"bits.*Pass n_bits \(zshbench evaluate: --n-bits\): 20",
    ):
        evaluate(q, d, ql, dl, k=50)
    res = evaluate(q, d, ql, dl, k=50, n_bits=20)
    assert res.info["n_bits"] == 20
    # packed codes whose bytes are all 0 or 1 are the same ambiguity (all-zero codes, for instance)
    with pytest.raises(UserError, match="only 0 and 1"):
        evaluate(np.zeros((3, 2), np.uint8), np.zeros((9, 2), np.uint8), ql[:3], dl[:9])
    assert (
        evaluate(np.zeros((3, 2), np.uint8), np.zeros((9, 2), np.uint8), ql[:3], dl[:9], n_bits=16).info["n_bits"] == 16
    )
    # not ambiguous: one side has bytes above 1, so both are packed
    packed = evaluate(pack_signs(h_q), pack_signs(h_d), ql, dl, k=50)
    assert packed.info["n_bits"] == 24


def test_torch_bfloat16_codes(data):
    h_q, h_d, ql, dl = data
    pm1 = (torch.from_numpy(np.where(h_q >= 0, 1.0, -1.0)), torch.from_numpy(np.where(h_d >= 0, 1.0, -1.0)))
    base = evaluate(*pm1, ql, dl, k=50).metrics
    assert evaluate(pm1[0].bfloat16(), pm1[1].bfloat16(), ql, dl, k=50).metrics == base
