"""The metric registry: adding a metric is one registered function (and this kind of test)."""

import subprocess
import sys

import numpy as np
import pytest

from zshbench.errors import UnknownNameError, UserError
from zshbench.evaluate import (
    HEADLINE_K,
    HEADLINE_METRIC,
    QueryStats,
    evaluate,
    get_metric,
    list_metrics,
    register_metric,
    unregister_metric,
)
from zshbench.evaluate import reference as ref
from zshbench.evaluate.kernels import jit_enabled
from zshbench.evaluate.metrics import parse_metrics

BACKENDS = ["numpy", "torch"] + (["numba", "numba-scalar"] if jit_enabled() else [])
try:
    import faiss  # noqa: F401

    HAVE_FAISS = True
except ImportError:  # pragma: no cover
    HAVE_FAISS = False


def _run(*args, backend, **kwargs):
    name, _, kern = backend.partition("-")
    return evaluate(*args, backend=name, kernels=kern or None, **kwargs)


def _case(rng):
    """A tiny random case with heavy ties (see test_metrics_reference)."""
    nq, nd, nb = int(rng.integers(1, 5)), int(rng.integers(1, 10)), int(rng.integers(2, 6))
    return (
        rng.integers(0, 2, (nq, nb)),
        rng.integers(0, 2, (nd, nb)),
        rng.integers(0, 3, nq),
        rng.integers(0, 3, nd),
        int(rng.integers(1, nd + 2)),
    )


@pytest.fixture
def recall_at_hamming():
    """The worked example of docs/metrics.md, "Adding a metric", registered for one test only."""

    @register_metric(
        "recall@hamming{r}",
        convention="Mean over all queries of the fraction of the query's relevant "
        "items within Hamming distance <= {r}; 0 for a query with no relevant item.",
    )
    def recall_at_hamming(stats: QueryStats, r: int) -> np.ndarray:
        return stats.radius_recall[:, r]

    yield recall_at_hamming
    unregister_metric("recall@hamming{r}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_recall_at_hamming_matches_brute_force(recall_at_hamming, backend):
    rng = np.random.default_rng(9)
    for _ in range(40):
        q, d, ql, dl, k = _case(rng)
        expected = ref.brute_force(q, d, ql, dl, k, enumerate_ties=False)
        names = [f"recall@hamming{r}" for r in range(q.shape[1] + 1)]
        res = _run(q, d, ql, dl, k=k, metrics=names, backend=backend)
        assert list(res.metrics) == names
        for r, name in enumerate(names):
            assert res.metrics[name] == pytest.approx(expected["rec_r"][r], abs=1e-12), name
    assert res.conventions["recall@hamming1"].endswith(
        "within Hamming distance <= 1; 0 for a query with no relevant item."
    )


def test_unregistered_metric_is_unknown_again(recall_at_hamming, data):
    assert "recall@hamming{r}" in list_metrics()
    unregister_metric("recall@hamming{r}")
    with pytest.raises(UnknownNameError, match="Unknown metric 'recall@hamming2'"):
        evaluate(*data, metrics=["recall@hamming2"])
    register_metric("recall@hamming{r}", convention="again")(recall_at_hamming)  # for the fixture's teardown


@pytest.fixture
def data():
    rng = np.random.default_rng(4)
    return rng.integers(0, 2, (6, 12)), rng.integers(0, 2, (80, 12)), rng.integers(0, 3, 6), rng.integers(0, 3, 80)


def test_stable_ap_need_reaches_the_kernels(data):
    # only the toy metric asks for stable AP: the kernels must compute it because of its `needs`
    @register_metric(
        "toy_map@{k}",
        needs=("histograms", "stable_ap"),
        higher_is_better=True,
        convention=lambda k: f"map at {'all' if k is None else k}",
    )
    def toy_map(stats, k):
        return stats.stable_ap(k)

    try:
        for backend in BACKENDS + ["faiss"] * HAVE_FAISS:
            got = _run(*data, k=7, metrics=["toy_map@k", "toy_map@all"], backend=backend)
            want = _run(*data, k=7, metrics=["map@k", "map@all"], backend=backend)
            assert list(got.metrics.values()) == list(want.metrics.values()), backend
            assert got.conventions == {"toy_map@7": "map at 7", "toy_map@all": "map at all"}
    finally:
        unregister_metric("toy_map@{k}")


def test_undeclared_stable_ap_and_wrong_shape_are_explained(data):
    @register_metric("sneaky@{k}", convention="x")
    def sneaky(stats, k):
        return stats.stable_ap(k)

    @register_metric("scalar_out", convention="x")
    def scalar_out(stats):
        return 1.0

    try:
        with pytest.raises(ValueError, match=r"needs=\('histograms', 'stable_ap'\)"):
            evaluate(*data, metrics=["sneaky@k"], backend="numpy")
        with pytest.raises(ValueError, match=r"'scalar_out'.*one value per query, shape \(6,\)"):
            evaluate(*data, metrics=["scalar_out"], backend="numpy")
    finally:
        unregister_metric("sneaky@{k}")
        unregister_metric("scalar_out")


def test_curve_metric_and_higher_is_better(data):
    @register_metric("toy_p@1", needs=("curves",), higher_is_better=False, convention="P@1 of the mean curve.")
    def toy_p1(curves):
        return curves["precision_at_n"]["precision"][0]

    try:
        res = evaluate(*data, k=5, metrics=["toy_p@1", "map@k"])
        assert res.metrics["toy_p@1"] == res.curves["precision_at_n"]["precision"][0]
        assert list(res.metrics) == ["toy_p@1", "map@5"] and res.conventions["toy_p@1"] == "P@1 of the mean curve."
        assert get_metric("toy_p@1").higher_is_better is False
    finally:
        unregister_metric("toy_p@1")
    assert get_metric(HEADLINE_METRIC).higher_is_better is True
    assert get_metric("map@k:relevant_last").pattern == "map@{k}:relevant_last"


def test_builtin_patterns_and_listing():
    assert list_metrics() == [
        "map@{k}",
        "tie_aware_map@{k}",
        "map@{k}:relevant_first",
        "map@{k}:relevant_last",
        "precision@hamming{r}",
        "pr_auc",
    ]
    assert list_metrics("map@*") == ["map@{k}", "map@{k}:relevant_first", "map@{k}:relevant_last"]
    assert all(get_metric(p.format(k="all", r=1)).higher_is_better for p in list_metrics())


def test_unknown_name_message_is_unchanged():
    # the message of the evaluator before the registry, word for word
    with pytest.raises(UnknownNameError) as err:
        parse_metrics(["mAP@k"], 10, "stable", 16)
    assert str(err.value) == (
        "Unknown metric 'mAP@k'. Known metrics: map@k, map@all, tie_aware_map@k, tie_aware_map@all, "
        "map@k:relevant_first, map@k:relevant_last, precision@hamming2, pr_auc, map@k:stable, map@all:relevant_first, "
        "map@all:relevant_last, precision@hamming<r> (k is the k= argument, <r> a Hamming radius). Did you mean "
        "'map@k'?"
    )


def test_did_you_mean_knows_registered_metrics(recall_at_hamming):
    with pytest.raises(UnknownNameError, match=r"recall@hamming<r>.*Did you mean 'recall@hamming<r>'\?"):
        parse_metrics(["recall@haming2"], 10, "stable", 16)


def test_placeholder_checks_and_ties():
    with pytest.raises(UserError, match="asks for cut-off 100 but k=10; pass k=100 .* generic name 'tie_aware_map@k'"):
        parse_metrics(["tie_aware_map@100"], 10, "stable", 16)
    with pytest.raises(UserError, match="radius 17 exceeds the code length 16 bits"):
        parse_metrics(["precision@hamming17"], 10, "stable", 16)
    names = lambda ms, ties: [s.name for s in parse_metrics(ms, 10, ties, 16)]  # noqa: E731
    assert names(["map@k", " map@10 ", "map@all:stable", "tie_aware_map@k"], "relevant_last") == [
        "map@10:relevant_last",
        "map@all",
        "tie_aware_map@10",
    ]
    assert names(["map@k:stable", "precision@hamming02"], "relevant_first") == ["map@10", "precision@hamming02"]
    for bad in ("tie_aware_map@k:stable", "map@k:random", "map@", "pr_auc2"):
        with pytest.raises(UnknownNameError):
            parse_metrics([bad], 10, "stable", 16)


def test_registration_errors():
    def f(stats, k):
        return stats.hist_all[:, 0]

    cases = [
        (dict(pattern="x@{n}"), ValueError, r"unknown placeholder \{n\}"),
        (dict(pattern="x@{k}-{k}"), ValueError, r"placeholder \{k\} appears twice"),
        (dict(pattern="x@{k}", needs=("ranks",)), ValueError, "each need must be one of histograms, stable_ap"),
        (dict(pattern="x", needs=("stable_ap",)), ValueError, r"put \{k\} in the pattern"),
        (dict(pattern="x@{k}", needs=("curves", "histograms")), ValueError, r"needs=\('curves',\) alone"),
        (dict(pattern="x@{k}", aliases=("x@{r}",)), ValueError, "must have the placeholders"),
        (dict(pattern="x@{r}"), TypeError, r"must accept \(stats, r\)"),
    ]
    for kwargs, exc, match in cases:
        with pytest.raises(exc, match=match):
            register_metric(convention="c", **kwargs)(f)
    assert "x@{k}" not in list_metrics() and "x@{r}" not in list_metrics()
    with pytest.raises(UnknownNameError, match="No metric is registered under 'x@{k}'"):
        unregister_metric("x@{k}")


def test_registering_twice_warns_and_the_later_wins(data):
    register_metric("dup", convention="first")(lambda stats: stats.hist_all[:, 0] * 0.0)
    try:
        with pytest.warns(UserWarning, match="registered twice.*the later registration wins"):
            register_metric("dup", convention="second")(lambda stats: stats.hist_all[:, 0] * 0.0 + 1.0)
        res = evaluate(*data, metrics=["dup"])
        assert res.metrics == {"dup": 1.0} and res.conventions == {"dup": "second"}
        assert list_metrics("dup") == ["dup"]
    finally:
        unregister_metric("dup")


def test_headline_constants():
    assert HEADLINE_K == 5000 and HEADLINE_METRIC == f"map@{HEADLINE_K}" == "map@5000"
    rng = np.random.default_rng(0)
    res = evaluate(rng.integers(0, 2, (3, 8)), rng.integers(0, 2, (20, 8)), np.arange(3) % 2, np.arange(20) % 2)
    assert res.info["k"] == HEADLINE_K and HEADLINE_METRIC in res.metrics
    code = (
        "import sys; from zshbench.evaluate import HEADLINE_K, HEADLINE_METRIC; "
        "print(sorted(m for m in ('numpy', 'numba', 'scipy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"  # the CLI reads them for its defaults without importing numpy


def test_headline_cutoff_is_written_once():
    # HEADLINE_K is the only 5000 in the evaluator's code (docstrings and comments may show examples)
    import ast
    from pathlib import Path

    import zshbench.evaluate

    found = []
    for path in Path(zshbench.evaluate.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docs = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        found += [
            f"{path.name}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and id(node) not in docs
            and (node.value == 5000 or "5000" in str(node.value))
        ]
    assert len(found) == 1 and found[0].startswith("__init__.py:"), found  # HEADLINE_K = 5000


def test_builtins_come_first_whoever_registers_first():
    code = (
        "from zshbench.evaluate import register_metric, list_metrics\n"
        "register_metric('mine@{k}', convention='c')(lambda stats, k: stats.hist_all[:, 0])\n"
        "print(list_metrics())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(
        [
            "map@{k}",
            "tie_aware_map@{k}",
            "map@{k}:relevant_first",
            "map@{k}:relevant_last",
            "precision@hamming{r}",
            "pr_auc",
            "mine@{k}",
        ]
    )
