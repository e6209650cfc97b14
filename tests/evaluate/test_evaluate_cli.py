"""The ``evaluate`` subcommand hook."""

import argparse
import json

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
    args = _parser().parse_args(["evaluate", "--codes-query", str(tmp_path / "q.npy"), "--codes-db",
                                 str(tmp_path / "d.npy"), "--labels-query", str(tmp_path / "lq.npy"),
                                 "--labels-db", str(tmp_path / "ld.npy"), "--n-bits", "12", "--k", "50",
                                 "--json", str(out)])
    assert cli.run(args) == 0
    assert "map@50" in capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved["metrics"] == pytest.approx(evaluate(q, d, lq, ld, n_bits=12, k=50).metrics)


def test_cli_missing_file_is_user_error(tmp_path):
    args = _parser().parse_args(["evaluate", "--codes-query", str(tmp_path / "nope.npy"), "--codes-db", "x",
                                 "--labels-query", "y", "--labels-db", "z"])
    with pytest.raises(UserError, match="does not exist"):
        cli.run(args)
