"""`zshbench leaderboard --format latex|csv --setting ...` and the report's tidy CSV and LaTeX files."""

import csv
import io

import pytest

from zshbench.cli import main
from zshbench.leaderboard.render import latex_escape, render_latex
from zshbench.leaderboard.tables import Table


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("res")
    for m in ("lsh", "itq"):
        argv = ["run", "--method", m, "--dataset", "shapes", "--bits", "16,32", "--seeds", "0,1"]
        assert main([*argv, "--results", str(out), "--no-progress"]) == 0
    argv = ["run", "--method", "lsh", "--dataset", "shapes", "--bits", "16", "--seeds", "0"]
    assert main([*argv, "--eval-variant", "leaky", "--results", str(out), "--no-progress"]) == 0
    return out


def test_latex_marks_best_bold_tied_underlined_and_escapes_labels():
    t = Table(
        "shapes",
        "shapes-zsh",
        "map@5000",
        [24, 64],
        rows=[("razh", {24: (0.5, 0.01, 3), 64: (0.6, 0.02, 3)}), ("my_method & co", {24: (0.49, 0.01, 3)})],
        tied={24: frozenset({"razh", "my_method & co"}), 64: frozenset({"razh"})},
    )
    tex = render_latex([t], {"shapes-zsh": "shapes-zsh v2"})
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "protocol shapes-zsh v2" in tex and "n = 3 seeds" in tex
    assert "\\textbf{0.500 $\\pm$ 0.010}" in tex and "\\textbf{0.600 $\\pm$ 0.020}" in tex
    assert "my\\_method \\& co & \\underline{0.490 $\\pm$ 0.010} & --" in tex
    expected = "a\\_b\\%c\\#d\\$e\\{f\\}\\textasciitilde{}\\textasciicircum{}\\textbackslash{}"
    assert latex_escape("a_b%c#d$e{f}~^\\") == expected
    assert latex_escape("S->A") == "S-\\textgreater{}A"  # not "S-¿A" in the default font encoding


def test_latex_without_ties_has_no_underline_claim_and_shows_n_per_cell_when_it_differs():
    t = Table("d", "p", "map@all", [16], rows=[("a", {16: (0.5, 0.0, 1)}), ("b", {16: (0.4, 0.1, 2)})])
    tex = render_latex([t])
    assert "underlined" not in tex and "(1)" in tex and "(2)" in tex


def test_cli_latex_csv_and_settings(results, capsys):
    assert main(["leaderboard", "--results", str(results), "--format", "latex"]) == 0
    out, err = capsys.readouterr()
    assert out.count("\\begin{table}") == 1 and "shapes-zsh v2" in out
    assert "leaky evaluation variant" in err  # the leaky record is left out, with a note
    assert main(["leaderboard", "--results", str(results), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4  # 2 methods x 2 code lengths, the leaky record left out
    assert {r["method"] for r in rows} == {"lsh", "itq"} and {r["setting"] for r in rows} == {"U->A"}
    assert all(r["n"] == "2" and r["seeds"] == "0 1" and len(r["config_hash"]) == 12 for r in rows)
    assert main(["leaderboard", "--results", str(results), "--format", "csv", "--setting", "sa"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["setting"] for r in rows} == {"S->A"} and len(rows) == 4
    assert main(["leaderboard", "--results", str(results), "--format", "md", "--setting", "U->U"]) == 0
    assert "map@5000 (U->U)" in capsys.readouterr().out


def test_cli_unknown_setting_is_exit_2(results, capsys):
    assert main(["leaderboard", "--results", str(results), "--setting", "U->B"]) == 2
    err = capsys.readouterr().err
    assert "Unknown retrieval setting" in err and "Traceback" not in err


def test_report_writes_tidy_csv_and_latex(results, tmp_path):
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "rep"), "--no-figures"]) == 0
    text = (tmp_path / "rep" / "csv" / "tidy.csv").read_text()
    assert text.count("dataset,protocol") == 1  # one header
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["setting"] for r in rows} == {"U->A", "S->A", "U->U", "S->S", "H"}
    assert {"map@5000", "map@all"} <= {r["metric"] for r in rows}
    assert "\\begin{tabular}" in (tmp_path / "rep" / "latex" / "retrieval.tex").read_text()


def test_report_removes_its_own_stale_files_and_nothing_else(results, tmp_path):
    out = tmp_path / "rep"
    (out / "csv").mkdir(parents=True)
    (out / "latex").mkdir()
    stale_csv, stale_tex = out / "csv" / "old_method_table.csv", out / "latex" / "old.tex"
    stale_csv.write_text("x\n")
    stale_tex.write_text("x\n")
    keep = [out / "notes.txt", out / "csv" / "my-notes.md"]
    for f in keep:
        f.write_text("mine\n")
    assert main(["report", "--results", str(results), "--out", str(out), "--no-figures"]) == 0
    assert not stale_csv.exists() and not stale_tex.exists()
    assert all(f.read_text() == "mine\n" for f in keep)
    assert (out / "csv" / "tidy.csv").exists()


def test_check_flags_files_no_report_of_the_records_writes(results, tmp_path, capsys):
    """A CSV added by hand, or the figures of a dataset no longer in the records, make --check fail (they would
    show results the records do not hold); `report` removes them, also with --no-figures."""
    out = tmp_path / "rep"
    assert main(["report", "--results", str(results), "--out", str(out), "--no-figures"]) == 0
    check = ["leaderboard", "--check", "--results", str(results), "--out", str(out)]
    assert main(check) == 0
    capsys.readouterr()
    (out / "figures").mkdir(exist_ok=True)
    ours = out / "figures" / "pr_shapes_shapes-zsh.png"  # a figure this report draws: kept, not redrawn
    ours.write_bytes(b"png")
    extra = [out / "csv" / "fashion__fashion-zsh__mapat5000.csv", out / "figures" / "pr_fashion_fashion-zsh.svg"]
    for f in extra:
        f.write_text("old\n")
    assert main(check) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert all(f"stale: {f}" in text for f in extra) and str(ours) not in text and "2 problem(s)" in text
    assert main(["report", "--results", str(results), "--out", str(out), "--no-figures"]) == 0
    assert not any(f.exists() for f in extra) and ours.read_bytes() == b"png"
    assert main(check) == 0


def test_headline_leads_with_fashion_and_shapes_and_leaves_out_leaky_records():
    from factories import make_record

    from zshbench.leaderboard.report import headline_markdown
    from zshbench.leaderboard.tables import aggregate

    recs = [
        make_record("lsh", ds, f"{ds}-zsh", 32, s, {"map@5000": 0.5 + s / 100, "map@all": 0.4})
        for ds in ("digits", "fashion", "shapes")
        for s in (0, 1)
    ]
    leaky = make_record("lsh", "fashion", "fashion-zsh", 32, 0, {"map@5000": 0.99, "map@all": 0.9}, variant="leaky")
    text = headline_markdown([*recs, leaky])
    assert text.index("fashion /") < text.index("shapes /") and "digits" not in text
    assert "0.99" not in text and "0.5050 ± 0.0071 (n=2)" in text
    assert [t.dataset for t in aggregate(recs)] == ["fashion", "shapes", "digits"]
    only_digits = [r for r in recs if r.dataset == "digits"]
    assert "digits /" in headline_markdown(only_digits)  # no lead dataset: every dataset


def test_report_prints_the_command_that_regenerates_it(results, tmp_path, monkeypatch):
    """The header names the folders the report was made from (relative to the folder holding the report, so
    the text does not depend on the current folder), not the committed leaderboard's."""
    import os

    from zshbench.leaderboard.report import regenerate_command

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "my report"
    assert main(["report", "--results", str(results), "--out", "./my report/", "--no-figures"]) == 0
    rel = os.path.relpath(results, tmp_path)
    cmd = f"zshbench report --results {rel} --out 'my report'"
    assert regenerate_command(str(results), str(out)) == cmd == regenerate_command(rel, "my report")
    assert f"Regenerate with: `{cmd}`" in (out / "README.md").read_text()
    assert "leaderboard/results" not in (out / "README.md").read_text()
    assert main(["leaderboard", "--check", "--results", str(results), "--out", str(out)]) == 0
    monkeypatch.chdir(out)  # the same folders spelled from elsewhere: the same expected text
    assert main(["leaderboard", "--check", "--results", str(results), "--out", "."]) == 0
