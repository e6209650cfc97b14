"""The ``evaluate`` subcommand hook."""

import argparse
import json
import os

import numpy as np
import pytest

from zshbench.codes import pack_signs
from zshbench.errors import UserError
from zshbench.evaluate import cli, evaluate


def _parser():
    parser = argparse.ArgumentParser(prog="zshbench")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser


def test_cli_prints_and_writes_json(tmp_path, capsys):
    rng = np.random.default_rng(0)
    q, d = pack_signs(rng.standard_normal((20, 12))), pack_signs(rng.standard_normal((200, 12)))
    lq, ld = rng.integers(0, 3, 20), rng.integers(0, 3, 200)
    for name, arr in dict(q=q, d=d, lq=lq, ld=ld).items():
        np.save(tmp_path / f"{name}.npy", arr)
    out = tmp_path / "m.json"
    args = _parser().parse_args(
        [
            "evaluate",
            "--codes-query",
            str(tmp_path / "q.npy"),
            "--codes-db",
            str(tmp_path / "d.npy"),
            "--labels-query",
            str(tmp_path / "lq.npy"),
            "--labels-db",
            str(tmp_path / "ld.npy"),
            "--n-bits",
            "12",
            "--k",
            "50",
            "--json",
            str(out),
        ]
    )
    assert cli.run(args) == 0
    assert "map@50" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["metrics"] == pytest.approx(evaluate(q, d, lq, ld, n_bits=12, k=50).metrics)


def test_cli_missing_file_is_user_error(tmp_path):
    args = _parser().parse_args(
        [
            "evaluate",
            "--codes-query",
            str(tmp_path / "nope.npy"),
            "--codes-db",
            "x",
            "--labels-query",
            "y",
            "--labels-db",
            "z",
        ]
    )
    with pytest.raises(UserError, match="does not exist"):
        cli.run(args)


# ---- input files: the .npy header is read before anything is loaded --------------------------------------------


def _header_only(path, shape, descr="<i8", pad=1024):
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": descr, "fortran_order": False, "shape": shape})
        fh.write(b"\0" * pad)


def test_load_npy_reads_valid_files(tmp_path):
    arr = np.arange(12, dtype=np.int16).reshape(3, 4)
    np.save(tmp_path / "a.npy", arr)
    np.save(tmp_path / "f.npy", np.asfortranarray(arr))
    assert np.array_equal(cli.load_npy(str(tmp_path / "a.npy"), "--x"), arr)
    assert np.array_equal(cli.load_npy(str(tmp_path / "f.npy"), "--x"), arr)


@pytest.mark.parametrize(
    "kind, match",
    [
        ("npz", r"is an \.npz archive \(arrays: codes, labels\).*np\.load\('.*'\)\['codes'\]"),
        ("text", r"is not a \.npy file.*np\.loadtxt"),
        ("pickle", r"is a Python pickle.*never unpickles"),
        ("object", r"holds Python objects \(dtype object\).*arbitrary code"),
        ("empty", r"is not a \.npy file"),
        ("lying_header", r"shorter than its header says: shape \(1000000000, 64\) of int64 needs 476\.8 GiB.*1\.0 KiB"),
        ("truncated", r"shorter than its header says"),
        ("damaged_header", r"damaged \.npy header"),
        ("folder", r"is a folder"),
        ("missing", r"does not exist"),
    ],
)
def test_load_npy_refuses_before_loading(tmp_path, kind, match):
    import pickle

    f = tmp_path / "x.npy"
    if kind == "npz":
        np.savez(f.with_suffix(".npz"), codes=np.zeros((2, 2)), labels=np.zeros(2))
        f.with_suffix(".npz").rename(f)
    elif kind == "text":
        f.write_text("0 1 1 0\n1 0 0 1\n")
    elif kind == "pickle":
        f.write_bytes(pickle.dumps({"codes": [1, 2]}))
    elif kind == "object":
        np.save(f, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif kind == "empty":
        f.write_bytes(b"")
    elif kind == "lying_header":
        _header_only(f, (10**9, 64))
    elif kind == "truncated":
        np.save(f, np.zeros((100, 64)))
        f.write_bytes(f.read_bytes()[:-8])
    elif kind == "damaged_header":
        f.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': <i8}   \n")
    elif kind == "folder":
        f.mkdir()
    with pytest.raises(UserError, match=match) as err:
        cli.load_npy(str(f), "--codes-query")
    assert "allow_pickle" not in str(err.value) and "pickle.load" not in str(err.value)
    assert "--codes-query" in str(err.value)


def test_load_npy_estimates_memory_first(tmp_path, monkeypatch):
    np.save(tmp_path / "big.npy", np.zeros((500, 64), dtype=np.int64))  # 256 KB
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", "100000")
    with pytest.raises(
        UserError,
        match=r"Not enough memory: loading --codes-db .*\(500, 64\), int64\) needs about "
        r"250\.0 KiB",
    ):
        cli.load_npy(str(tmp_path / "big.npy"), "--codes-db")


# ---- --json target: checked (and its folders created) before any work ----------------------------------------


def test_json_target_checks(tmp_path):
    assert cli.check_json_target(None) is None
    target = tmp_path / "new" / "deeper" / "m.json"
    assert cli.check_json_target(str(target)) == target and target.parent.is_dir()  # folders created
    for bad, match in (
        (str(tmp_path), "is a folder; name a file inside it"),
        ("", "--json is empty"),
        (str(tmp_path / "sub") + "/", "is a folder"),
    ):
        with pytest.raises(UserError, match=match):
            cli.check_json_target(bad)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match="cannot be used as a folder"):
        cli.check_json_target(str(tmp_path / "afile" / "m.json"))
    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(UserError, match="not a regular file"):
        cli.check_json_target(str(tmp_path / "fifo.json"))


def test_json_written_atomically_without_leftovers(tmp_path, capsys):
    rng = np.random.default_rng(1)
    for name, arr in dict(
        q=rng.integers(0, 2, (5, 16)),
        d=rng.integers(0, 2, (40, 16)),
        lq=rng.integers(0, 2, 5),
        ld=rng.integers(0, 2, 40),
    ).items():
        np.save(tmp_path / f"{name}.npy", arr)
    out = tmp_path / "m.json"
    out.write_text("old")
    args = _parser().parse_args(
        [
            "evaluate",
            "--codes-query",
            str(tmp_path / "q.npy"),
            "--codes-db",
            str(tmp_path / "d.npy"),
            "--labels-query",
            str(tmp_path / "lq.npy"),
            "--labels-db",
            str(tmp_path / "ld.npy"),
            "--k",
            "10",
            "--kernels",
            "scalar",
            "--json",
            str(out),
        ]
    )
    assert cli.run(args) == 0
    assert json.loads(out.read_text())["info"]["n_bits"] == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npy", "ld.npy", "lq.npy", "m.json", "q.npy"]
