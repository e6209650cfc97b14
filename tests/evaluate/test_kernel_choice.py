"""Choosing the compiled kernels (argument, ZSHBENCH_EVAL_KERNELS), the first-use check and its fallbacks."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from zshbench.errors import UserError
from zshbench.evaluate import evaluate, kernels
from zshbench.evaluate._accel import simd

needs_jit = pytest.mark.skipif(not (kernels.jit_enabled() and simd.HAVE_SIMD), reason="needs numba (JIT on)")


@pytest.fixture
def case():
    rng = np.random.default_rng(8)
    q, d = rng.integers(0, 2, (40, 24)), rng.integers(0, 2, (900, 24))
    return q, d, rng.integers(0, 4, 40), rng.integers(0, 4, 900)


@pytest.fixture
def fresh(monkeypatch):
    """Forget which kernel sets passed their first-use check (it runs once per process)."""
    monkeypatch.setattr(kernels, "_CHECKED", {})


@needs_jit
def test_argument_and_environment_variable(case, monkeypatch):
    monkeypatch.delenv(kernels.KERNELS_ENV, raising=False)
    assert evaluate(*case, k=50).info["kernels"] == "vector"
    assert evaluate(*case, k=50, kernels="scalar").info["kernels"] == "scalar"
    monkeypatch.setenv(kernels.KERNELS_ENV, "scalar")
    res = evaluate(*case, k=50)
    assert res.info["kernels"] == "scalar" and res.info["backend"] == "numba"
    assert evaluate(*case, k=50, kernels="vector").info["kernels"] == "vector"  # the argument wins
    # codes longer than 64 bits have no vector kernels; numpy and torch have no compiled kernels
    rng = np.random.default_rng(1)
    long_q, long_d = rng.integers(0, 2, (3, 70)), rng.integers(0, 2, (50, 70))
    assert evaluate(long_q, long_d, case[2][:3], case[3][:50], k=5, kernels="vector").info["kernels"] == "scalar"
    assert evaluate(*case, k=50, backend="numpy", kernels="vector").info["kernels"] == "numpy"


@pytest.mark.parametrize("where", ["argument", "environment"])
def test_bad_kernel_set_is_one_paragraph_user_error(case, monkeypatch, where):
    if where == "argument":
        with pytest.raises(UserError, match=r"kernels='fast'.*expected 'vector'.*or 'scalar'") as err:
            evaluate(*case, kernels="fast")
    else:
        monkeypatch.setenv(kernels.KERNELS_ENV, "avx512")
        with pytest.raises(UserError, match=r"ZSHBENCH_EVAL_KERNELS='avx512'.*unset ZSHBENCH_EVAL_KERNELS") as err:
            evaluate(*case)
    assert "\n" not in str(err.value)


@needs_jit
@pytest.mark.parametrize("broken", ["raises", "wrong_counts"])
def test_vector_failure_falls_back_to_scalar_with_one_warning(case, fresh, monkeypatch, broken):
    expected = evaluate(*case, k=50, kernels="scalar")
    if broken == "raises":  # e.g. numba/llvmlite cannot type or lower the vector IR on this platform
        from numba.core.errors import LoweringError

        def sweep_ap(*args, **kwargs):
            raise LoweringError("simulated failure to lower <64 x i64> ctpop")

        monkeypatch.setattr(simd, "sweep_ap", sweep_ap)
    else:  # a miscompilation: the kernel runs but counts wrong
        real = simd.bitsliced_hist

        def bitsliced_hist(*args, **kwargs):
            h_all, h_rel = real(*args, **kwargs)
            return h_all, h_rel + (h_rel > 0)

        monkeypatch.setattr(simd, "bitsliced_hist", bitsliced_hist)
    with pytest.warns(kernels.KernelFallbackWarning, match="vector kernels failed.*using the scalar") as rec:
        first = evaluate(*case, k=50)
    assert len(rec) == 1
    assert first.info["kernels"] == "scalar"
    assert first.metrics == expected.metrics and first.curves == expected.curves
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process
        assert evaluate(*case, k=50).info["kernels"] == "scalar"


@needs_jit
def test_scalar_failure_falls_back_to_numpy(case, fresh, monkeypatch):
    def broken(*args):
        raise RuntimeError("simulated compile failure")

    monkeypatch.setattr(kernels, "_ap_kernel", broken)
    with pytest.warns(kernels.KernelFallbackWarning, match="scalar kernels failed.*numpy path"):
        res = evaluate(*case, k=50, kernels="scalar")
    assert res.info["kernels"] == "numpy" and res.info["backend"] == "numba"
    ref = evaluate(*case, k=50, backend="numpy")
    assert res.metrics == pytest.approx(ref.metrics, abs=1e-12)


@needs_jit
def test_first_use_check_passes_and_covers_every_vector_kernel(fresh, monkeypatch):
    called = set()
    for name in ("bitsliced_hist", "bitsliced_hist_grouped", "filter_ap_k", "sweep_ap"):
        real = getattr(simd, name)
        monkeypatch.setattr(simd, name, lambda *a, _r=real, _n=name, **kw: called.add(_n) or _r(*a, **kw))
    assert kernels.select_kernels("vector", 64) == "vector"
    assert called == {"bitsliced_hist", "bitsliced_hist_grouped", "filter_ap_k", "sweep_ap"}
    assert kernels.select_kernels("scalar", 64) == "scalar"
    assert kernels._CHECKED == {"vector": None, "scalar": None}


_CHILD = """
import json, sys
import numpy as np
from zshbench.errors import UserError
from zshbench.evaluate import evaluate
rng = np.random.default_rng(8)
q, d = rng.integers(0, 2, (40, 24)), rng.integers(0, 2, (900, 24))
ql, dl = rng.integers(0, 4, 40), rng.integers(0, 4, 900)
res = evaluate(q, d, ql, dl, k=50)
try:
    evaluate(q, d, ql, dl, k=50, backend="numba")
    err = None
except UserError as exc:
    err = str(exc)
print(json.dumps({"metrics": res.metrics, "info": res.info, "numba_error": err,
                  "torch": "torch" in sys.modules}))
"""


def test_numba_disable_jit_uses_the_numpy_path(case):
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["info"]["backend"] == "numpy" and got["info"]["kernels"] == "numpy"
    assert "NUMBA_DISABLE_JIT=1" in got["numba_error"]
    assert got["metrics"] == pytest.approx(evaluate(*case, k=50).metrics, abs=1e-12)
    assert not got["torch"]  # the CPU path never imports torch
