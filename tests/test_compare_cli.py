"""``zshbench compare``: the paired comparison of two methods' records, and its one-paragraph errors (exit 2)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from zshbench.cli import main
from zshbench.records import load_records
from zshbench.records.sidecar import sidecar_path
from zshbench.stats import compare_records


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare") / "results"
    for method in ("lsh", "itq"):
        argv = ["run", "--method", method, "--dataset", "shapes", "--bits", "16", "--seeds", "0,1"]
        assert main([*argv, "--results", str(folder), "--no-progress"]) == 0
    return folder


def _error(capsys, argv) -> str:
    """Run ``argv``, expect exit 2 with one paragraph on stderr and no traceback; return the paragraph."""
    capsys.readouterr()
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err + captured.out
    paragraph = [x for x in err.splitlines() if not x.startswith("warning:")]
    assert paragraph[0].startswith("error: ") and all(x.startswith("  ") for x in paragraph[1:])
    return " ".join(x.strip() for x in paragraph)


def test_compare_prints_difference_interval_and_p(results, capsys):
    capsys.readouterr()
    assert main(["compare", "lsh", "itq", "--results", str(results), "--bits", "16"]) == 0
    out = capsys.readouterr().out
    records, _ = load_records(results)
    c = compare_records([r for r in records if r.method == "lsh"], [r for r in records if r.method == "itq"])
    assert "lsh vs itq: map@5000 in U->A" in out
    assert "shapes / shapes-zsh v2 / 16 bits: 2 seeds (0, 1) x 200 queries" in out
    assert f"difference {c.diff:+.4f}  95% CI [{c.ci_low:+.4f}, {c.ci_high:+.4f}]  p <= 0.0002" in out
    assert re.search(rf"lsh\s+{c.mean_a:.4f}", out) and re.search(rf"itq\s+{c.mean_b:.4f}", out)
    assert "verdict: itq is better than lsh at alpha = 0.05" in out

    # the other order, another metric and setting
    assert main(["compare", "itq", "lsh", "--results", str(results), "--setting", "S->A", "--metric", "map@all"]) == 0
    out = capsys.readouterr().out
    assert "itq vs lsh: map@all in S->A" in out and "x 800 queries" in out and "difference +" in out
    assert main(["compare", "lsh", "itq", "--results", str(results), "--seeds", "1"]) == 0
    assert "1 seed (1) x 200 queries" in capsys.readouterr().out


def test_compare_unknown_method_suggests_a_close_match(results, capsys):
    msg = _error(capsys, ["compare", "lhs", "itq", "--results", str(results)])
    assert "Unknown method 'lhs'. Did you mean: lsh?" in msg and "Available: itq, lsh" in msg


def test_compare_without_common_seeds(results, tmp_path, capsys):
    res = tmp_path / "results"
    shutil.copytree(results, res)
    records, _ = load_records(res)
    drop = [r for r in records if (r.method, r.seed) in (("itq", 1),)]
    for r in drop:
        sidecar_path(r.path).unlink()
        Path(r.path).unlink()
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(res)])
    assert "lsh has seeds 0, 1 and itq has 0" in msg and "pass --seeds 0" in msg
    lsh0 = next(r for r in records if (r.method, r.seed) == ("lsh", 0))
    sidecar_path(lsh0.path).unlink()
    Path(lsh0.path).unlink()
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(res)])
    assert "lsh has seeds 1 and itq has 0" in msg and "no seed in common" in msg
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(results), "--seeds", "7"])
    assert "has none of the seeds 7" in msg


def test_compare_bad_setting_metric_bits_and_folder(results, tmp_path, capsys):
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(results), "--setting", "U->B"])
    assert "Unknown retrieval setting 'U->B'" in msg and "U->A" in msg
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(results), "--metric", "tie_aware_map@5000"])
    assert "not 'tie_aware_map@5000'" in msg
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(results), "--bits", "64"])
    assert "No records of 64 bits" in msg and "16" in msg
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(results), "--dataset", "shape"])
    assert "Unknown dataset 'shape'. Did you mean: shapes?" in msg
    msg = _error(capsys, ["compare", "lsh", "lsh", "--results", str(results)])
    assert "both name lsh" in msg
    missing = tmp_path / "nowhere"
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(missing)])
    assert f"Results directory '{missing}' does not exist" in msg
    empty = tmp_path / "empty"
    empty.mkdir()
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(empty)])
    assert "holds no valid records" in msg


def test_compare_with_a_damaged_sidecar(results, tmp_path, capsys):
    res = tmp_path / "results"
    shutil.copytree(results, res)
    records, _ = load_records(res)
    side = sidecar_path(next(r for r in records if r.method == "itq").path)
    side.write_bytes(b"not an npz")
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(res)])
    assert "sha256 does not match" in msg


def test_compare_two_configs_of_one_method(results, tmp_path, capsys):
    res = tmp_path / "results"
    shutil.copytree(results, res)
    argv = ["run", "--method", "lsh", "--dataset", "shapes", "--bits", "16", "--seeds", "0", "--set", "center=false"]
    assert main([*argv, "--results", str(res), "--no-progress"]) == 0
    records, _ = load_records(res)
    default, other = sorted({r.config_hash[:6] for r in records if r.method == "lsh"}, key=lambda h: h != "cea82c")
    msg = _error(capsys, ["compare", "lsh", "itq", "--results", str(res)])
    assert "lsh has 2 configs" in msg and f"lsh[{default}]" in msg and "center=False" in msg
    assert main(["compare", f"lsh[{default}]", f"lsh[{other}]", "--results", str(res), "--seeds", "0"]) == 0
    assert f"lsh[{default}] vs lsh[{other}]" in capsys.readouterr().out
    # one config named twice (a prefix and the full hash) is refused, not compared with itself
    msg = _error(capsys, ["compare", f"lsh[{default[:3]}]", f"lsh[{default}]", "--results", str(res)])
    assert f"both select the config lsh[{default}]" in msg
    msg = _error(capsys, ["compare", "lsh", f"lsh[{other}]", "--results", str(res)])
    assert "both name lsh" in msg
