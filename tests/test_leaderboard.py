import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from zshbench.cli import main
from zshbench.leaderboard import aggregate, conflicts, cost_summary, cost_tables, report_files
from zshbench.records import SCHEMA_VERSION, Record, load_records, record_path, write_record
from zshbench.reported import PAPER_SCHEMA_VERSION
from zshbench.runner import run

FIXTURES = Path(__file__).parent / "fixtures" / "records"


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
    # the figures' names, formats, sizes and contents: tests/test_figures.py
    assert (out / "index.html").is_file()  # --html is on by default; --no-html leaves the page out (and removes
    mine = tmp_path / "mine" / "index.html"  # one an earlier report wrote, never a page it did not write)
    mine.parent.mkdir()
    mine.write_text("<html>my own page</html>")
    for folder in (out, mine.parent):
        assert main(["report", "--results", str(results), "--out", str(folder), "--no-figures", "--no-html"]) == 0
    assert not (out / "index.html").exists() and mine.read_text() == "<html>my own page</html>"
    assert main(["report", "--results", str(results), "--out", str(out), "--no-figures", "--html"]) == 0
    assert (out / "index.html").read_bytes() == first[out / "index.html"]
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
    recs, _ = load_records(res)
    assert not conflicts(recs)
    rec = recs[0]
    # stale: the same cell made by an older method version (a valid record of another identity)
    ident = dict(rec.identity, method_version="0")
    old = Record.create(
        identity=ident,
        params=rec.params,
        config_hash=rec.config_hash,
        split_fingerprint=rec.split_fingerprint,
        metrics=rec.metrics,
        metric_conventions=rec.metric_conventions,
        timings=rec.timings,
        complexity=rec.complexity,
        environment=rec.environment,
        zshbench_version=rec.zshbench_version,
        features=rec.features,
    )
    old_path = record_path(
        res,
        dataset=old.dataset,
        protocol=old.protocol["name"],
        method=old.method,
        n_bits=old.n_bits,
        seed=old.seed,
        id_hash=old.identity_hash,
    )
    write_record(old, old_path)
    assert main(["leaderboard", "--results", str(res), "--check", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "stale:" in printed and "conflict:" in printed and "two runs of one cell" in printed
    # the plain table still shows the cell, but says that it mixes two experiments
    assert main(["leaderboard", "--results", str(res), "--format", "csv"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "warning: conflict:" in err and "may average different experiments" in err
    # corrupt record
    old_path.write_text("{")
    assert main(["leaderboard", "--results", str(res), "--check", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "invalid record:" in printed and old_path.name in printed


def test_formats(results, capsys):
    tidy = "dataset,protocol,protocol_version,setting,metric,method"
    for fmt, probe in (("md", "| lsh ["), ("csv", tidy), ("json", '"dataset": "digits"')):
        assert main(["leaderboard", "--results", str(results), "--format", fmt, "--metric", "map@all"]) == 0
        assert probe in capsys.readouterr().out
    assert main(["leaderboard", "--results", str(results), "--metric", "mAP@all"]) == 2
    assert "Did you mean: map@all" in capsys.readouterr().err


# ---- schema 2 fields: complexity and class distances -----------------------------------------------------


def test_records_carry_complexity_and_class_distances(results):
    recs, _ = load_records(results)
    for r in recs:
        c = r["complexity"]
        # lsh on 64-d pixel features of digits: one (64 x n_bits) projection, multiply-add = 2 FLOPs
        assert (c["counter"], c["flops_per_image"]) == ("analytic", 2 * 64 * r["n_bits"])
        assert c["params"] == 64 * r["n_bits"] + 64  # projection + mean
        cd = r["class_distances"]
        assert len(cd["mean_hamming"]) == len(cd["unseen"]) == r["split_counts"]["query"] // 50  # 50 per class
        assert all(0 <= v <= r["n_bits"] for row in cd["mean_hamming"] for v in row)
        assert cd["n_seen_sample"] <= 400 and r["timings"]["class_distances_s"] >= 0
    (t,) = [t for t in cost_tables(recs) if t.metric == "FLOPs per image"]
    assert all(c[0] == 2 * 64 * b for _, cells in t.rows for b, c in cells.items())
    (summary,) = cost_summary(recs)
    assert summary["bits"] == 32 and summary["columns"][2:] == [
        "parameters",
        "parameters on the encode path",
        "FLOPs per image",
    ]


def test_v1_record_joins_the_leaderboard_through_the_converter(tmp_path, capsys):
    res = tmp_path / "results" / "digits" / "digits-zsh" / "lsh"
    res.mkdir(parents=True)
    shutil.copy(FIXTURES / "v1_record.json", res / "old.json")
    recs, errs = load_records(tmp_path / "results")
    assert not errs and recs[0]["schema_version"] == SCHEMA_VERSION
    files = report_files(recs)
    assert "| lsh | **0.4416 (n=1)** |" in files["README.md"]
    # complexity was not measured at schema 1: "-" in the summary, no per-bits parameter table
    assert "| lsh | 0.0010 (n=1) | 0.0159 (n=1) | - | - | - |" in files["README.md"]
    assert not any("parameters" in k for k in files)


# ---- published numbers -----------------------------------------------------------------------------------
# TEST DATA ONLY: the values below are invented to exercise the code; they are not from any paper.


def paper_record(method="LSH", values=None, **kw):
    rec = {
        "schema_version": PAPER_SCHEMA_VERSION,
        "source": "paper",
        "paper": "testpaper",
        "citation": "A. Test, 2099.",
        "url": "https://example.org/test",
        "table": "Table 9",
        "method": method,
        "dataset": "Digits",
        "metric": "map@all",
        "printed_unit": "percent",
        "unit": "fraction",
        "values": values or {"16": {"printed": "12.50", "value": 0.125}, "32": {"printed": "25.00", "value": 0.25}},
        "protocol_description": "unseeded random 8/2 class split.",
        "zshbench_method": "lsh",
        "zshbench_dataset": "digits",
    }
    rec.update(kw)
    return rec


# The tests of the published-numbers section (reported records, side by side, --check) are in tests/test_reported.py.


def test_leaderboard_without_check_warns_with_the_count(results, tmp_path, capsys):
    res = tmp_path / "results"
    shutil.copytree(results, res)
    (res / "digits" / "broken.json").write_text('{"schema_version": 2')
    (res / "digits" / "empty.json").write_text("{}")
    assert main(["leaderboard", "--results", str(res), "--metric", "map@all", "--format", "md"]) == 0
    captured = capsys.readouterr()
    assert "| lsh [" in captured.out  # the valid records are still shown
    err = " ".join(captured.err.split())
    assert "broken.json" in err and "corrupt or truncated" in err and "empty.json" in err
    assert "2 record(s) excluded as invalid" in err


# ---- golden file -----------------------------------------------------------------------------------------


def _golden_records():
    """Hand-made measured records (no run, no environment): two methods, two seeds, two code lengths."""
    from factories import make_record

    recs = []
    for method, base, params in (("itq", 0.30, 1000), ("lsh", 0.20, 900)):
        for bits in (32, 64):
            for seed in (0, 1):
                recs.append(
                    make_record(
                        method,
                        "toy",
                        "toy-zsh",
                        bits,
                        seed,
                        {"map@5000": base + bits / 1000 + seed / 100, "tie_aware_map@5000": base, "map@all": base / 2},
                        timings={"fit_s": 0.5 + seed, "encode_per_1000_s": 0.25},
                        complexity={"params": params + bits, "flops_per_image": 2 * 64 * bits, "counter": "analytic"},
                    )
                )
    return recs


def test_report_matches_golden_file():
    files = report_files(_golden_records(), reported=[paper_record(zshbench_dataset="toy")])
    text = files["README.md"]
    golden = FIXTURES / "golden_README.md"
    if os.environ.get("ZSHBENCH_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), "report changed; if intended, rerun with ZSHBENCH_UPDATE_GOLDEN=1 and review"
    assert report_files(_golden_records(), reported=[paper_record(zshbench_dataset="toy")]) == files  # deterministic


# ---- configuration notes and the project README's headline block ------------------------------------------


def test_config_notes_name_the_non_default_settings(results):
    from zshbench.leaderboard import config_notes

    recs, _ = load_records(results)
    notes = dict(config_notes(recs))
    assert sorted(notes.values()) == ["center=False", "defaults"]
    assert all(label.startswith("lsh [") for label in notes)
    assert "## Configurations" in report_files(recs)["README.md"]


def test_readme_headline_block_is_written_and_checked(results, tmp_path, capsys):
    from zshbench.leaderboard import HEADLINE_END, HEADLINE_START

    out, readme = tmp_path / "lb", tmp_path / "README.md"
    readme.write_text(f"# project\n\nintro\n\n{HEADLINE_START}\nold table\n{HEADLINE_END}\n\nmore text\n")
    assert main(["report", "--results", str(results), "--out", str(out), "--no-figures", "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "old table" not in text and "| lsh |" in text and text.endswith(f"{HEADLINE_END}\n\nmore text\n")
    assert "| lsh [" not in text  # the center=false run is an ablation: in the report's own section, not here
    assert "center=False" in (out / "README.md").read_text().split("## Ablations and variants", 1)[1]
    capsys.readouterr()
    argv = ["leaderboard", "--results", str(results), "--check", "--out", str(out), "--readme", str(readme)]
    assert main(argv) == 0
    readme.write_text(text.replace("| lsh |", "| lsh* |", 1))  # a hand edit of the headline
    assert main(argv) == 1
    assert "headline table" in capsys.readouterr().out
    readme.write_text(f"{HEADLINE_END}\nswapped\n{HEADLINE_START}\n")
    assert main(argv) == 1
    assert "has no block between" in capsys.readouterr().out
    readme.write_text("# no markers\n")
    assert main(argv) == 1
    assert "has no block between" in capsys.readouterr().out
    assert main(["report", "--results", str(results), "--out", str(out), "--no-figures", "--readme", str(readme)]) == 2


def test_runs_at_two_image_sizes_are_two_tables_not_one_cell():
    """F-17: the same folder decoded at --image-size 16 and 24 is two experiments; they never share a cell."""
    from factories import make_record

    from zshbench.leaderboard.check import conflicts
    from zshbench.leaderboard.tables import aggregate, table_keys

    recs = []
    for size, value in ((16, 0.4), (24, 0.5)):
        r = make_record("lsh", "folder-pets", "pets-user", 16, 0, {"map@5000": value, "map@all": value})
        ident = dict(r.identity, dataset={**r.identity["dataset"], "image_size": size})
        recs.append(dataclasses.replace(r, identity=ident))
    assert sorted({k[0] for k in table_keys(recs)}) == ["folder-pets@16px", "folder-pets@24px"]
    assert not conflicts(recs)
    assert sorted(t.rows[0][1][16][0] for t in aggregate(recs)) == [0.4, 0.5]  # n=1 each, not a mean of both
