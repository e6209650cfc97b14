import json
import shutil
from pathlib import Path

import pytest

from zshbench.cli import main
from zshbench.leaderboard import aggregate, conflicts, report_files
from zshbench.records import load_records
from zshbench.runner import run


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("lb")
    run("lsh", "digits", bits=[16, 32], seeds=[0, 1], results_dir=d / "results", progress=False)
    run("lsh", "digits", bits=[16], seeds=[0], results_dir=d / "results", progress=False, overrides=["center=false"])
    return d / "results"


def test_aggregate_mean_std_and_config_rows(results):
    recs, errs = load_records(results)
    assert not errs and len(recs) == 5
    (t,) = aggregate(recs, "map@all")
    labels = [label for label, _ in t.rows]
    assert len(labels) == 2 and all(label.startswith("lsh [") for label in labels)  # two configs of one method
    cells = dict(t.rows)
    full = [c for c in cells.values() if 32 in c][0]
    vals = sorted(r["metrics"]["map@all"] for r in recs if r["n_bits"] == 32)
    assert full[32][2] == 2 and full[32][0] == pytest.approx(sum(vals) / 2)


def test_report_deterministic_and_check(results, tmp_path, capsys):
    out = tmp_path / "lb"
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.suffix != ".png"}
    assert main(["report", "--results", str(results), "--out", str(out), "--no-figures"]) == 0
    assert first == {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.suffix != ".png"}
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["map_vs_bits_digits_digits-zsh.png", "pn_digits_digits-zsh.png", "pr_digits_digits-zsh.png",
                    "rn_digits_digits-zsh.png"]
    from PIL import Image

    assert Image.open(out / "figures" / "pr_digits_digits-zsh.png").size == (500, 400)
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(results), "--check", "--out", str(out)]) == 0

    # a hand edit is caught
    readme = out / "README.md"
    readme.write_text(readme.read_text().replace("0.", "0.9", 1))
    assert main(["leaderboard", "--results", str(results), "--check", "--out", str(out)]) == 1
    assert "README.md line" in capsys.readouterr().out


def test_check_flags_corrupt_stale_and_conflicting_records(results, tmp_path, capsys):
    res = tmp_path / "results"
    shutil.copytree(results, res)
    out = tmp_path / "lb"
    main(["report", "--results", str(res), "--out", str(out), "--no-figures"])
    capsys.readouterr()
    a_path = sorted(res.rglob("*.json"))[0]
    rec = json.loads(a_path.read_text())
    # stale: made by an older method version
    stale = dict(rec, method_version="0")
    a_path.write_text(json.dumps(stale))
    assert main(["leaderboard", "--results", str(res), "--check", "--out", str(out)]) == 1
    assert "stale:" in capsys.readouterr().out
    # conflict: the same key twice
    a_path.write_text(json.dumps(rec))
    (a_path.parent / "copy.json").write_text(json.dumps(rec))
    recs, _ = load_records(res)
    assert conflicts(recs)
    assert main(["leaderboard", "--results", str(res), "--check", "--out", str(out)]) == 1
    assert "conflict:" in capsys.readouterr().out
    # corrupt record
    (a_path.parent / "copy.json").write_text("{")
    assert main(["leaderboard", "--results", str(res), "--check", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "invalid record:" in printed and "copy.json" in printed


def test_formats(results, capsys):
    for fmt, probe in (("md", "| lsh ["), ("csv", "dataset,protocol,metric,method"), ("json", '"dataset": "digits"')):
        assert main(["leaderboard", "--results", str(results), "--format", fmt, "--metric", "map@all"]) == 0
        assert probe in capsys.readouterr().out
    assert main(["leaderboard", "--results", str(results), "--metric", "mAP@all"]) == 2
    assert "Did you mean: map@all" in capsys.readouterr().err
