"""Reliability review (2026-11) and evaluator review: the ``zshbench evaluate`` failure classes, made small.

Each test names the review case it reproduces (reliability-2026-11.md C1-xx, evaluator-2026-11.md Fx). Bad input
must end in exit code 2 with a one-paragraph message, no traceback, before any work and without writing.
"""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zshbench.evaluate
from zshbench.cli import main
from zshbench.evaluate import evaluate, kernels
from zshbench.evaluate._accel import simd

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ev(tmp_path):
    """Valid inputs (C1-60) and a function running ``zshbench evaluate`` on them with some files replaced."""
    rng = np.random.default_rng(0)
    files = {}
    for name, arr in dict(
        q=np.packbits(rng.integers(0, 2, (8, 64)), axis=1),
        d=np.packbits(rng.integers(0, 2, (60, 64)), axis=1),
        lq=rng.integers(0, 3, 8),
        ld=rng.integers(0, 3, 60),
    ).items():
        files[name] = tmp_path / f"{name}.npy"
        np.save(files[name], arr)

    def run(*extra, q=None, d=None):
        argv = [
            "evaluate",
            "--codes-query",
            str(q or files["q"]),
            "--codes-db",
            str(d or files["d"]),
            "--labels-query",
            str(files["lq"]),
            "--labels-db",
            str(files["ld"]),
            "--k",
            "20",
            *extra,
        ]
        return main(argv)

    run.dir = tmp_path
    return run


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the evaluation starts (errors must come before any work)."""

    def must_not_run(*args, **kwargs):
        raise AssertionError("the evaluation ran before the bad input was refused")

    monkeypatch.setattr(zshbench.evaluate, "evaluate", must_not_run)


def _one_paragraph_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return " ".join(err.split())


def test_c1_60_valid_inputs(ev, capsys):
    assert ev() == 0
    assert "8 queries x 60 items, 64 bits" in capsys.readouterr().out


def test_c1_76_unpacked_uint8_without_n_bits(ev, capsys):
    rng = np.random.default_rng(1)
    q, d = ev.dir / "q_u8.npy", ev.dir / "d_u8.npy"
    np.save(q, rng.integers(0, 2, (8, 64)).astype(np.uint8))
    np.save(d, rng.integers(0, 2, (60, 64)).astype(np.uint8))
    assert ev(q=q, d=d) == 2  # was: read as packed, "512 bits"
    msg = _one_paragraph_error(capsys)
    assert "64 bits or packed codes of 512 bits" in msg and "--n-bits" in msg
    assert ev("--n-bits", "64", q=q, d=d) == 0
    assert "64 bits" in capsys.readouterr().out


def test_c1_84_json_into_a_folder(ev, capsys, no_work):
    assert ev("--json", str(ev.dir)) == 2  # was: IsADirectoryError traceback after the evaluation
    assert "is a folder; name a file inside it" in _one_paragraph_error(capsys)


def test_c1_85_json_in_a_missing_folder_is_created(ev, capsys):
    out = ev.dir / "nodir" / "deeper" / "out.json"
    assert ev("--json", str(out)) == 0  # was: FileNotFoundError traceback after the evaluation
    assert json.loads(out.read_text())["info"]["n_db"] == 60


def test_c1_85_json_under_a_file_is_refused_first(ev, capsys, no_work):
    (ev.dir / "file").write_text("x")
    assert ev("--json", str(ev.dir / "file" / "out.json")) == 2
    assert "is a file" in _one_paragraph_error(capsys)


def test_c1_91_npy_header_claiming_more_than_the_file_holds(ev, capsys, no_work):
    bomb = ev.dir / "bomb_header.npy"
    with open(bomb, "wb") as fh:  # 1 KB file whose header claims (10**9, 64) int64 = 477 GiB
        np.lib.format.write_array_header_1_0(fh, {"descr": "<i8", "fortran_order": False, "shape": (10**9, 64)})
        fh.write(b"\0" * 1024)
    assert ev(q=bomb) == 2  # was: MemoryError traceback (np.load allocating 59.6 GiB)
    msg = _one_paragraph_error(capsys)
    assert "shorter than its header says" in msg and "476.8 GiB" in msg


def test_c1_91_memory_estimated_before_loading(ev, capsys, monkeypatch, no_work):
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "100")  # the 64-byte query codes fit, the 480-byte db codes not
    assert ev() == 2
    assert "Not enough memory: loading --codes-db" in _one_paragraph_error(capsys)


def test_c1_72_npz_given(ev, capsys, no_work):
    z = ev.dir / "z.npz"
    np.savez(z, codes=np.zeros((8, 8), np.uint8))
    assert ev(q=z) == 2  # was: "must be 2-D ... got shape (1,)"
    msg = _one_paragraph_error(capsys)
    assert "is an .npz archive (arrays: codes)" in msg and "['codes']" in msg


def test_c1_73_text_file_named_npy(ev, capsys, no_work):
    t = ev.dir / "text.npy"
    t.write_text("0 1 0 1\n1 1 0 0\n")
    assert ev(q=t) == 2
    msg = _one_paragraph_error(capsys)
    assert "is not a .npy file" in msg
    assert "pickle" not in msg  # was: "... load it unsafely using allow_pickle= or pickle.load()"


@pytest.mark.parametrize("kind", ["raw_pickle", "object_npy"])
def test_c1_70_71_pickles_never_loaded(ev, capsys, no_work, kind):
    marker = ev.dir / "PWNED"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    f = ev.dir / "evil.npy"
    if kind == "raw_pickle":
        f.write_bytes(pickle.dumps(Evil()))
    else:
        np.save(f, np.array([Evil()], dtype=object), allow_pickle=True)
    assert ev(q=f) == 2
    msg = _one_paragraph_error(capsys)
    assert not marker.exists()
    assert "allow_pickle" not in msg and "pickle.load" not in msg


@pytest.mark.parametrize(
    "flags, match",
    [
        (["--k", "0"], "k must be a positive integer"),  # C1-81
        (["--n-bits", "0"], "--n-bits must be a positive"),
    ],
)  # C1-87
def test_c1_81_87_bad_numbers_refused_before_loading(ev, capsys, no_work, flags, match):
    assert ev(*flags, q=ev.dir / "missing.npy") == 2  # the options are checked before the files
    assert match in _one_paragraph_error(capsys)


def test_bad_kernel_variable_refused_first(ev, capsys, monkeypatch, no_work):
    monkeypatch.setenv("ZSHBENCH_EVAL_KERNELS", "simd")
    assert ev() == 2
    assert "ZSHBENCH_EVAL_KERNELS='simd'" in _one_paragraph_error(capsys)


@pytest.mark.skipif(not (kernels.jit_enabled() and simd.HAVE_SIMD), reason="needs numba (JIT on)")
def test_vector_kernel_compile_failure_falls_back(ev, capsys, monkeypatch):
    # evaluator review, task 4: an LLVM failure used to abort the evaluation; now one warning, then scalar kernels
    from numba.core.errors import LoweringError

    def broken(*args, **kwargs):
        raise LoweringError("simulated failure to lower the vector IR")

    monkeypatch.setattr(kernels, "_CHECKED", {})
    monkeypatch.setattr(simd, "filter_ap_k", broken)
    monkeypatch.setattr(simd, "sweep_ap", broken)
    with pytest.warns(kernels.KernelFallbackWarning):
        assert ev() == 0
    assert "map@20" in capsys.readouterr().out


def _cli_child(tmp: Path, env_extra: dict) -> subprocess.CompletedProcess:
    rng = np.random.default_rng(2)
    for name, arr in dict(
        q=rng.integers(0, 2, (6, 32)),
        d=rng.integers(0, 2, (50, 32)),
        lq=rng.integers(0, 2, 6),
        ld=rng.integers(0, 2, 50),
    ).items():
        np.save(tmp / f"{name}.npy", arr)
    code = (
        "import sys; from zshbench.cli import main; d = sys.argv[1]; rc = main(['evaluate', '--codes-query', "
        "d + '/q.npy', '--codes-db', d + '/d.npy', '--labels-query', d + '/lq.npy', '--labels-db', "
        "d + '/ld.npy', '--k', '10']); print('TORCH_IMPORTED' if 'torch' in sys.modules else 'NO_TORCH'); "
        "sys.exit(rc)"
    )
    env = dict(os.environ, **env_extra)
    return subprocess.run(
        [sys.executable, "-c", code, str(tmp)], env=env, capture_output=True, text=True, timeout=300, cwd=REPO
    )


def test_cpu_evaluate_does_not_import_torch(tmp_path):
    out = _cli_child(tmp_path, {})
    assert out.returncode == 0, out.stderr
    assert "NO_TORCH" in out.stdout and "(numba," in out.stdout


def test_numba_disable_jit_cli(tmp_path):
    # evaluator review, task 4: NUMBA_DISABLE_JIT=1 broke the default backend ("<intrinsic acc16g> is not usable
    # in pure-python"); it now runs the numpy path
    out = _cli_child(tmp_path, {"NUMBA_DISABLE_JIT": "1"})
    assert out.returncode == 0, out.stderr
    assert "(numpy," in out.stdout and "Traceback" not in out.stderr


def test_f1_bounds_hold_when_k_splits_a_tie_group():
    # evaluator review F1: distances [3, 4, 4, 2], relevant [0, 1, 0, 1], k = 3
    q, db = np.array([[0, 0, 0, 0]]), np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]])
    m = evaluate(q, db, np.array([0]), np.array([1, 0, 1, 0]), k=3).metrics
    assert m["map@3:relevant_last"] - 1e-12 <= m["map@3"] <= m["map@3:relevant_first"] + 1e-12
    assert m["map@3:relevant_last"] - 1e-12 <= m["tie_aware_map@3"] <= m["map@3:relevant_first"] + 1e-12
