"""zshbench.stats (paired comparison of two leaderboard rows from per-query AP) and the leaderboard's ≈ marks.

Synthetic per-query values check the statistics against hand counts, scipy and the module docstring; records
written by `zshbench run` (lsh and itq on shapes, 16 bits, seeds 0 and 1) check the path from the sidecars;
hand-made records with sidecars check `mark_ties` and `render_markdown`.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil

import numpy as np
import pytest

from tests.factories import make_record
from zshbench.errors import RecordError, UserError
from zshbench.leaderboard.render import render_markdown
from zshbench.leaderboard.tables import Table, aggregate, long_table, mark_ties
from zshbench.records import load_records, record_path, write_record
from zshbench.records.sidecar import encode_sidecar, sidecar_path, write_sidecar
from zshbench.stats import (
    PerQuery,
    bootstrap_interval,
    compare,
    compare_records,
    holm,
    setting_tag,
    sign_flip_pvalue,
    tied_with_best,
)


def _pq(values, seeds=None, query_index=None, label=""):
    values = np.asarray(values, dtype=np.float64)
    seeds = tuple(range(values.shape[0])) if seeds is None else tuple(seeds)
    qi = np.arange(values.shape[1]) if query_index is None else query_index
    return PerQuery(seeds, qi, values, label=label)


# -- sign_flip_pvalue ------------------------------------------------------------------------------------------------
def test_sign_flip_exact_enumeration_matches_a_hand_count():
    d = np.array([1.0, 2.0, 3.0])
    # the 8 sign vectors give sums 6, 4, 2, 0, 0, -2, -4, -6: only the identity reaches 6
    assert sign_flip_pvalue(d, alternative="greater") == 1 / 8
    assert sign_flip_pvalue(d, alternative="less") == 1.0
    assert sign_flip_pvalue(d) == 2 / 8  # two-sided: twice the smaller one-sided p
    assert sign_flip_pvalue(-d, alternative="less") == 1 / 8
    # [1, -2, 3]: observed 2; the sums >= 2 are 1+2+3, -1+2+3 and 1-2+3 (the observed): 3 of 8
    assert sign_flip_pvalue(np.array([1.0, -2.0, 3.0]), alternative="greater") == 3 / 8


def test_sign_flip_exact_matches_brute_force_and_scipy():
    from scipy.stats import permutation_test

    rng = np.random.default_rng(3)
    for n in (1, 4, 9):
        d = rng.normal(0.2, 1.0, n)
        sums = np.array([np.dot(s, d) for s in itertools.product((-1.0, 1.0), repeat=n)])
        ge = np.mean(sums >= d.sum() - 1e-12)
        le = np.mean(sums <= d.sum() + 1e-12)
        assert sign_flip_pvalue(d, alternative="greater") == pytest.approx(ge, abs=1e-15)
        assert sign_flip_pvalue(d, alternative="less") == pytest.approx(le, abs=1e-15)
        for alt in ("two-sided", "greater", "less"):
            if n == 1:  # scipy needs two observations
                continue
            ref = permutation_test(
                (d,),
                lambda x, axis: np.mean(x, axis=axis),
                permutation_type="samples",
                alternative=alt,
                n_resamples=9_999,
                vectorized=True,
            )
            assert sign_flip_pvalue(d, alternative=alt) == pytest.approx(ref.pvalue, abs=1e-12), (n, alt)


def test_sign_flip_random_draws_use_the_count_plus_one_convention():
    rng = np.random.default_rng(5)
    d = rng.normal(0.05, 1.0, 30)  # 2^30 sign vectors > draws: random ones
    draws = 499  # one chunk: the same RNG stream as below
    signs = np.random.default_rng(11).integers(0, 2, size=(draws, 30)) * 2.0 - 1.0
    count_ge = int(np.sum(signs @ d >= d.sum() - 1e-9 * np.abs(d).sum()))
    count_le = int(np.sum(signs @ d <= d.sum() + 1e-9 * np.abs(d).sum()))
    p_ge = sign_flip_pvalue(d, alternative="greater", permutations=draws, seed=11)
    p_le = sign_flip_pvalue(d, alternative="less", permutations=draws, seed=11)
    assert p_ge == (count_ge + 1) / (draws + 1) and p_le == (count_le + 1) / (draws + 1)
    assert sign_flip_pvalue(d, permutations=draws, seed=11) == min(1.0, 2 * min(p_ge, p_le))
    # deterministic for a fixed seed
    assert sign_flip_pvalue(d, permutations=draws, seed=11) == sign_flip_pvalue(d, permutations=draws, seed=11)


def test_sign_flip_symmetric_data_and_large_shift():
    x = np.random.default_rng(7).uniform(0.0, 1.0, 200)
    sym = np.concatenate([x, -x])  # symmetric about 0, mean 0 (up to rounding)
    assert sign_flip_pvalue(sym) > 0.9  # random draws: each one-sided p is about 1/2
    assert 0.45 <= sign_flip_pvalue(sym, alternative="greater") <= 0.6
    assert 0.45 <= sign_flip_pvalue(sym, alternative="less") <= 0.6
    shift = x + 1.0  # every query favours A: no random sign vector reaches the observed sum
    assert sign_flip_pvalue(shift, alternative="greater") == 1 / 10_000
    assert sign_flip_pvalue(shift) == 2 / 10_000
    assert sign_flip_pvalue(shift, alternative="greater", permutations=99) == 1 / 100
    assert sign_flip_pvalue(-shift, alternative="less", permutations=99) == 1 / 100


def test_sign_flip_batch_rows_equal_one_call_per_row():
    rng = np.random.default_rng(2)
    d = rng.normal(0.02, 0.3, (3, 40))
    batch = sign_flip_pvalue(d, alternative="greater", permutations=999)
    assert batch.shape == (3,)
    for row, p in zip(d, batch):
        assert sign_flip_pvalue(row, alternative="greater", permutations=999) == p


def test_sign_flip_refuses_bad_arguments():
    with pytest.raises(UserError, match="alternative"):
        sign_flip_pvalue(np.ones(3), alternative="bigger")
    with pytest.raises(UserError):
        sign_flip_pvalue(np.ones(0))


# -- holm ------------------------------------------------------------------------------------------------------------
def test_holm_hand_computed():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.02, 0.03, 0.06, 0.06
    adj = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02], rtol=1e-12)
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    np.testing.assert_allclose(holm([0.2]), [0.2])  # one test: unchanged
    np.testing.assert_allclose(holm([0.01, 0.01, 0.01]), [0.03, 0.03, 0.03])  # equal p-values


def test_holm_is_monotone_and_at_least_the_raw_p():
    p = np.random.default_rng(4).uniform(0, 0.3, 12)
    adj = holm(p)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= 0) and np.all(adj >= p) and np.all(adj <= 1)
    assert np.all(adj <= np.minimum(1, len(p) * p) + 1e-15)  # never above Bonferroni


# -- bootstrap_interval ----------------------------------------------------------------------------------------------
def test_bootstrap_interval_contains_the_mean_and_is_deterministic():
    d = np.random.default_rng(8).normal(0.03, 0.2, 300)
    low, high = bootstrap_interval(d)
    assert isinstance(low, float) and low < d.mean() < high
    assert (low, high) == bootstrap_interval(d)  # the fixed seed
    assert (low, high) != bootstrap_interval(d, seed=1)
    # close to the normal approximation mean ± 1.96 sd / sqrt(Q)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)
    low90, high90 = bootstrap_interval(d, level=0.9)
    assert low < low90 < high90 < high


def test_bootstrap_interval_width_shrinks_with_more_queries():
    rng = np.random.default_rng(9)
    small, large = rng.normal(0.0, 0.2, 50), rng.normal(0.0, 0.2, 2_000)
    w_small = np.subtract(*bootstrap_interval(small)[::-1])
    w_large = np.subtract(*bootstrap_interval(large)[::-1])
    assert w_large < w_small / 4  # sqrt(40) ~ 6.3


def test_bootstrap_interval_batch_and_constant_data():
    d = np.random.default_rng(1).normal(0.0, 0.1, (2, 60))
    low, high = bootstrap_interval(d, draws=2_500)
    for i in range(2):
        assert (low[i], high[i]) == pytest.approx(bootstrap_interval(d[i], draws=2_500), abs=1e-15)
    assert bootstrap_interval(np.full(10, 0.25)) == pytest.approx((0.25, 0.25))
    with pytest.raises(UserError):
        bootstrap_interval(d[0], level=1.0)


def test_compare_interval_resamples_queries_once_for_every_seed():
    """The seeds are strata: one draw of query indices is applied to every seed, then the seeds are averaged."""
    rng = np.random.default_rng(10)
    hard = rng.normal(0.0, 0.3, 80)  # a query's difficulty is shared by the seeds
    a = 0.5 + hard + rng.normal(0.0, 0.05, (3, 80))
    b = 0.48 + rng.normal(0.0, 0.05, (3, 80))
    c = compare(_pq(a), _pq(b), draws=1_000)
    idx = np.random.default_rng(0).integers(0, 80, size=(1_000, 80))  # the RNG stream of one chunk of draws
    per_seed = a - b
    means = per_seed[:, idx].mean(axis=(0, 2))
    np.testing.assert_allclose([c.ci_low, c.ci_high], np.quantile(means, [0.025, 0.975]), rtol=0, atol=1e-12)
    # drawing the queries independently per seed would be narrower (it treats S x Q correlated values as independent)
    indep = np.stack([per_seed[s, np.random.default_rng(s).integers(0, 80, (1_000, 80))].mean(-1) for s in range(3)])
    q_indep = np.quantile(indep.mean(0), [0.025, 0.975])
    assert q_indep[1] - q_indep[0] < 0.8 * (c.ci_high - c.ci_low)


# -- PerQuery and compare --------------------------------------------------------------------------------------------
def test_perquery_validation():
    with pytest.raises(UserError, match="shape"):
        PerQuery((0, 1), np.arange(3), np.zeros((1, 3)))
    with pytest.raises(UserError, match="shape"):
        PerQuery((0,), np.arange(4), np.zeros((1, 3)))
    with pytest.raises(UserError, match="at least one query"):
        PerQuery((0,), np.arange(0), np.zeros((1, 0)))
    with pytest.raises(UserError, match="sorted and unique"):
        PerQuery((0,), [2, 1, 3], np.zeros((1, 3)))
    with pytest.raises(UserError, match="sorted and unique"):
        PerQuery((0,), [1, 1, 3], np.zeros((1, 3)))
    with pytest.raises(UserError, match="finite"):
        PerQuery((0,), np.arange(3), [[0.1, np.nan, 0.2]])
    with pytest.raises(UserError, match="finite"):
        PerQuery((0,), np.arange(3), [[0.1, np.inf, 0.2]])
    pq = PerQuery((0, 1), [3, 5, 9], [[0.1, 0.2, 0.3], [0.3, 0.4, 0.5]])
    assert pq.values.dtype == np.float64 and pq.query_index.dtype == np.int64
    assert pq.mean == pytest.approx(0.3) and np.allclose(pq.query_means, [0.2, 0.3, 0.4])


def test_compare_clear_winner_identical_rows_and_mean_difference():
    rng = np.random.default_rng(12)
    base = rng.uniform(0.2, 0.8, (2, 150))
    better = base + 0.1 + rng.normal(0.0, 0.02, base.shape)
    c = compare(_pq(better, label="A"), _pq(base, label="B"))
    assert c.significant and c.p_value == 2 / 10_000 and c.p_text() == "p <= 0.0002"
    assert c.diff == pytest.approx(c.mean_a - c.mean_b, abs=1e-12)
    assert c.ci_low < c.diff < c.ci_high and c.ci_low > 0.09
    assert c.seeds == (0, 1) and c.n_queries == 150 and len(c.seed_diffs) == 2
    assert c.verdict().startswith("A is better than B")
    assert compare(_pq(base, label="A"), _pq(better, label="B")).verdict().startswith("B is better than A")
    assert compare(_pq(better), _pq(base), alternative="less").p_value == 1.0

    same = compare(_pq(base), _pq(base))
    assert same.p_value == 1.0 and same.diff == 0.0 and (same.ci_low, same.ci_high) == (0.0, 0.0)
    assert not same.significant and "no significant difference" in same.verdict()

    other = rng.uniform(0.0, 1.0, (2, 150))
    c = compare(_pq(other), _pq(base))
    assert c.diff == pytest.approx(other.mean() - base.mean(), abs=1e-12)
    np.testing.assert_allclose(c.seed_diffs, other.mean(1) - base.mean(1), atol=1e-12)
    assert compare(_pq(other), _pq(base)) == c  # deterministic


def test_compare_exact_p_floor_with_few_queries():
    c = compare(_pq([[0.9, 0.8, 0.7]]), _pq([[0.1, 0.2, 0.3]]))
    assert c.p_value == c.p_floor == 2 / 8 and not c.significant and c.p_text() == "p <= 0.25"


def test_compare_refuses_different_seeds_or_queries():
    v = np.random.default_rng(0).uniform(size=(2, 5))
    with pytest.raises(UserError, match="same seeds"):
        compare(_pq(v, seeds=(0, 1)), _pq(v, seeds=(0, 2)))
    with pytest.raises(UserError, match="same queries"):
        compare(_pq(v), _pq(v, query_index=np.arange(1, 6)))


# -- tied_with_best --------------------------------------------------------------------------------------------------
def test_tied_with_best_worse_and_tied_rows():
    rng = np.random.default_rng(13)
    best = rng.uniform(0.4, 0.8, (2, 200))
    e = rng.normal(0.0, 0.05, (2, 200))
    e += 0.001 - e.mean()  # a row equal to the best up to noise, its mean 0.001 lower
    column = {"best": _pq(best), "noisy": _pq(best - e), "worse": _pq(best - 0.1 + rng.normal(0, 0.02, best.shape))}
    ties = tied_with_best(column)
    assert ties.best == "best" and ties.tied == ("best", "noisy")
    assert ties.is_tied("noisy") and not ties.is_tied("worse")
    assert ties.p_values["worse"] == 1 / 10_000 and ties.adjusted["noisy"] > 0.05
    np.testing.assert_allclose(
        [ties.adjusted[k] for k in ("noisy", "worse")], holm([ties.p_values[k] for k in ("noisy", "worse")])
    )
    assert ties.means["noisy"] == pytest.approx(ties.means["best"] - 0.001)
    # rows may have different seeds: each row is averaged over its own
    assert tied_with_best({"best": _pq(best), "one seed": _pq(best[:1] - 0.1)}).tied == ("best",)
    assert tied_with_best({"alone": _pq(best)}).tied == ("alone",)


def test_tied_with_best_uses_holm():
    """Five queries: the exact one-sided p of a row worse on every query is 1/32 = 0.031 (< 0.05); with two such
    rows, Holm multiplies the smaller by 2 (0.0625 > 0.05), so both are tied."""
    best = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])
    one = {"best": _pq(best), "b": _pq(best - 0.1)}
    assert tied_with_best(one).tied == ("best",)
    two = {"best": _pq(best), "b": _pq(best - 0.1), "c": _pq(best - 0.2)}
    ties = tied_with_best(two)
    assert ties.p_values == {"b": 1 / 32, "c": 1 / 32} and ties.adjusted == {"b": 1 / 16, "c": 1 / 16}
    assert ties.tied == ("best", "b", "c")


def test_tied_with_best_lower_is_better():
    rng = np.random.default_rng(14)
    low = rng.uniform(1.0, 2.0, (1, 100))
    column = {"fast": _pq(low), "slow": _pq(low + 0.5), "same": _pq(low + rng.normal(0, 0.01, low.shape))}
    ties = tied_with_best(column, higher_is_better=False)
    assert ties.best in ("fast", "same") and "slow" not in ties.tied and set(ties.tied) == {"fast", "same"}
    assert tied_with_best(column).best == "slow"


def test_tied_with_best_breaks_exact_ties_like_table_best():
    v = np.array([[0.2, 0.4, 0.6]])
    column = {"a": _pq(v), "b": _pq(v)}  # equal means
    for higher in (True, False):
        rows = [(k, {8: (pq.mean, 0.0, 1)}) for k, pq in column.items()]
        t = Table("d", "p", "m", [8], rows, higher_is_better=higher)
        ties = tied_with_best(column, higher_is_better=higher)
        assert ties.best == t.best(8) and ties.tied == ("a", "b")


def test_tied_with_best_refuses_an_empty_column_and_other_queries():
    with pytest.raises(UserError):
        tied_with_best({})
    with pytest.raises(UserError, match="same queries"):
        tied_with_best({"a": _pq([[0.1, 0.2]]), "b": _pq([[0.1, 0.2]], query_index=[0, 7])})


def test_setting_tag():
    assert [setting_tag(s) for s in ("U->A", "u->a", "UA", "ss")] == ["ua", "ua", "ua", "ss"]
    with pytest.raises(UserError, match="Unknown retrieval setting"):
        setting_tag("X->Y")


# -- end to end with records written by zshbench run ---------------------------------------------------------------
@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from zshbench.cli import main

    folder = tmp_path_factory.mktemp("stats") / "results"
    for method in ("lsh", "itq"):
        argv = ["run", "--method", method, "--dataset", "shapes", "--bits", "16", "--seeds", "0,1"]
        assert main([*argv, "--results", str(folder), "--no-progress"]) == 0
    return folder


def _rows(folder):
    records, errors = load_records(folder)
    assert not errors
    return [r for r in records if r.method == "lsh"], [r for r in records if r.method == "itq"]


def test_perquery_from_records(results):
    lsh, itq = _rows(results)
    pq = PerQuery.from_records(lsh)
    assert pq.seeds == (0, 1) and pq.label == "lsh" and pq.values.shape == (2, len(pq.query_index))
    assert np.all(np.diff(pq.query_index) > 0)
    # the mean of the per-query values is the leaderboard cell (mean over seeds of the records' map@5000)
    assert pq.mean == pytest.approx(np.mean([r.metrics["map@5000"] for r in lsh]), abs=1e-12)
    assert PerQuery.from_records(lsh[::-1]).values.tolist() == pq.values.tolist()  # order of the records
    assert PerQuery.from_records(lsh, metric="map@all").mean == pytest.approx(
        np.mean([r.metrics["map@all"] for r in lsh]), abs=1e-12
    )
    seen = PerQuery.from_records(lsh, setting="S->A")
    assert seen.mean == pytest.approx(np.mean([r.settings["S->A"]["map@5000"] for r in lsh]), abs=1e-12)
    c = compare_records(lsh, itq)
    assert (c.label_a, c.label_b, c.seeds) == ("lsh", "itq", (0, 1))
    assert c.diff == pytest.approx(c.mean_a - c.mean_b, abs=1e-12) and c.diff < 0
    assert c.significant and c.ci_high < 0 and c.verdict().startswith("itq is better than lsh")


def test_from_records_errors(results, tmp_path):
    lsh, itq = _rows(results)
    with pytest.raises(UserError, match=r"not one row of one cell .*method \(\"lsh\" vs \"itq\"\)"):
        PerQuery.from_records(lsh[:1] + itq[:1])
    with pytest.raises(UserError, match="two records of seed 0"):
        PerQuery.from_records([lsh[0], lsh[0]])
    with pytest.raises(UserError, match="at least one record"):
        PerQuery.from_records([])
    with pytest.raises(UserError, match="Unknown retrieval setting"):
        PerQuery.from_records(lsh, setting="X->Y")
    with pytest.raises(UserError, match="not 'tie_aware_map@5000'"):
        PerQuery.from_records(lsh, metric="tie_aware_map@5000")

    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    lsh, itq = _rows(copy)
    sidecar_path(lsh[1].path).unlink()
    with pytest.raises(RecordError, match="cannot be read"):
        PerQuery.from_records(lsh)
    side = sidecar_path(itq[0].path)
    side.write_bytes(side.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(RecordError, match="sha256"):
        compare_records(lsh[:1], itq[:1])
    with pytest.raises(RecordError, match="no per-query results"):
        PerQuery.from_records([dataclasses.replace(itq[1], per_query=None)])


# -- the leaderboard's ≈ marks -------------------------------------------------------------------------------------
def _write_row(root, method, values, *, n_bits=32, sidecar=True):
    """Records of one row (one per seed) with their sidecars, per-query map@5000 = ``values[seed]``."""
    for seed, v in enumerate(np.asarray(values, dtype=np.float64)):
        metrics = dict.fromkeys(("map@5000", "map@all", "tie_aware_map@5000"), float(v.mean()))
        rec = make_record(method, n_bits=n_bits, seed=seed, metrics=metrics)
        path = record_path(
            root,
            dataset=rec.dataset,
            protocol=rec.protocol["name"],
            method=method,
            n_bits=n_bits,
            seed=seed,
            id_hash=rec.identity_hash,
        )
        if sidecar:
            path.parent.mkdir(parents=True, exist_ok=True)
            arrays = {"ua.map@5000": v, "ua.map@all": v, "ua.query_index": np.arange(len(v), dtype=np.int64)}
            ref = write_sidecar(path, encode_sidecar(arrays))
            rec = make_record(
                method, n_bits=n_bits, seed=seed, metrics=metrics, per_query={**ref, "keys": sorted(arrays)}
            )
        write_record(rec, path)


def _cells(markdown: str, label: str) -> list[str]:
    (line,) = [x for x in markdown.splitlines() if x.startswith(f"| {label} |")]
    return [c.strip() for c in line.strip("|").split("|")][1:]


def test_mark_ties_and_render_markdown(tmp_path):
    rng = np.random.default_rng(15)
    best = rng.uniform(0.4, 0.8, (2, 120))
    e = rng.normal(0.0, 0.05, best.shape)
    e += 0.001 - e.mean()
    # 32 bits: itq best, sh tied (noise), lsh clearly worse; 64 bits: sh has records without sidecars
    _write_row(tmp_path, "itq", best)
    _write_row(tmp_path, "sh", best - e)
    _write_row(tmp_path, "lsh", best - 0.1)
    _write_row(tmp_path, "itq", best, n_bits=64)
    _write_row(tmp_path, "sh", best - e, n_bits=64, sidecar=False)
    records, errors = load_records(tmp_path)
    assert not errors and len(records) == 10
    entries = long_table(records)
    (plain,) = aggregate(entries, "map@5000")
    assert "≈" not in render_markdown([plain])  # nothing marked before mark_ties

    (t,) = mark_ties([plain], entries)
    assert t.tied == {32: frozenset({"itq", "sh"})}  # the 64-bit column is left unmarked
    assert t.best(32) == t.best(64) == "itq" and t.is_tied(32, "sh") and not t.is_tied(32, "itq")
    md = render_markdown([t])
    assert md.count("≈") == 1
    itq, sh, lsh = _cells(md, "itq"), _cells(md, "sh"), _cells(md, "lsh")
    assert itq[0].startswith("**") and not itq[0].endswith("≈")
    assert sh == [sh[0], sh[1]] and sh[0].endswith(" ≈") and not sh[1].endswith("≈")
    assert not lsh[0].endswith("≈") and lsh[1] == "-"

    # tie_aware_map is not kept per query: its tables are left unmarked, without an error
    (ta,) = mark_ties(aggregate(entries, "tie_aware_map@5000"), entries)
    assert ta.tied == {} and "≈" not in render_markdown([ta])
    (ma,) = mark_ties(aggregate(entries, "map@all"), entries)  # map@all is kept per query
    assert ma.tied == {32: frozenset({"itq", "sh"})}


def test_mark_ties_with_real_records(results):
    records, errors = load_records(results)
    assert not errors
    entries = long_table(records)
    (t,) = mark_ties(aggregate(entries), entries)
    assert t.tied == {16: frozenset({"itq"})}  # lsh is clearly worse than itq
    assert "≈" not in render_markdown([t])
