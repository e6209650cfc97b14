"""The report's "Ablations and variants" section (zshbench.leaderboard.ablations): which records go there, the
base cells over the same seeds, the differences, and that the ranking tables, headline and HTML tables leave them
out."""

from __future__ import annotations

import pytest

from tests.factories import make_record
from zshbench.leaderboard import report_files
from zshbench.leaderboard.ablations import ablation_tables, ablations_csv, render_ablations, split_ablations
from zshbench.leaderboard.check import method_variants
from zshbench.leaderboard.report import headline_markdown

VARIANTS = {"razh": None, "razh-t": "razh", "lsh": None}


def _rec(method, seed, value, bits=64, nd=None, seen=None, dataset="shapes"):
    params = dict(nd or {})
    extra = {"settings": {"S->A": {"map@5000": seen}}} if seen is not None else {}
    return make_record(
        method,
        dataset,
        f"{dataset}-zsh",
        n_bits=bits,
        seed=seed,
        metrics={"map@5000": value, "map@all": value},
        params=params,
        non_default_params=nd,
        **extra,
    )


@pytest.fixture
def records():
    base = [_rec("razh", s, v, seen=0.8) for s, v in ((0, 0.50), (1, 0.60), (2, 0.70))]
    base += [_rec("razh", 0, 0.40, bits=24, seen=0.7), _rec("lsh", 0, 0.30)]
    abl = [
        _rec("razh", 0, 0.45, nd={"variant": "no-cluster"}, seen=0.75),
        _rec("razh", 0, 0.35, bits=24, nd={"variant": "no-cluster"}, seen=0.6),
        _rec("razh-t", 0, 0.55),
        _rec("razh-t", 1, 0.65),
        _rec("razh", 5, 0.99, nd={"loss_terms": "cls"}),  # no default run of seed 5: no difference
    ]
    return base, abl


def test_split_ablations_takes_variants_and_non_default_runs_and_keeps_converted_records(records):
    base, abl = records
    converted = _rec("razh", 3, 0.1)
    object.__setattr__(converted, "non_default_params", None)  # schema-1 conversion: not recorded
    main, out = split_ablations(base + abl + [converted], VARIANTS)
    assert main == base + [converted] and out == abl
    # an unregistered method (a plugin not installed here) is ranked as its own method
    assert split_ablations([_rec("mine-v2", 0, 0.5)], {})[0]


def test_ablation_cells_are_paired_with_the_base_runs_of_the_same_seeds(records):
    base, abl = records
    (t,) = ablation_tables(base, abl, VARIANTS)
    assert (t["dataset"], t["base"], t["bits"], t["settings"]) == ("shapes", "razh", [24, 64], ["U->A", "S->A"])
    rows = dict(t["rows"])
    assert list(rows) == [
        "razh (defaults)",
        "razh-t",
        "razh: loss_terms=cls",
        "razh: variant=no-cluster",
    ]
    c = rows["razh: variant=no-cluster"][("U->A", 64)]
    assert c["seeds"] == [0] and c["base"] == pytest.approx(0.50) and c["delta"] == pytest.approx(-0.05)
    assert rows["razh: variant=no-cluster"][("S->A", 24)]["delta"] == pytest.approx(-0.1)
    c = rows["razh-t"][("U->A", 64)]  # seeds 0 and 1: against the base mean of seeds 0 and 1 (0.55), not of 0-2
    assert c["n"] == 2 and c["mean"] == pytest.approx(0.60) and c["delta"] == pytest.approx(0.05)
    assert rows["razh: loss_terms=cls"][("U->A", 64)]["delta"] is None  # the base has no seed 5
    # the base row: the union of the ablations' seeds that it has (0 and 1 at 64 bits; 0 at 24)
    assert rows["razh (defaults)"][("U->A", 64)]["seeds"] == [0, 1]
    assert rows["razh (defaults)"][("U->A", 24)]["mean"] == pytest.approx(0.40)
    md = render_ablations([t])
    assert "| razh: variant=no-cluster | 0.350 (-0.050) | 0.450 (-0.050) | 0.600 (-0.100) | 0.750 (-0.050) |" in md
    assert "| razh: loss_terms=cls | - | 0.990 (base -) | - | - |" in md
    assert "0.600 ± 0.071 (+0.050)" in md
    csv = ablations_csv([t]).splitlines()
    assert csv[0].startswith("dataset,protocol,base,configuration,metric,setting,bits,seeds")
    assert (
        "shapes,shapes-zsh,razh,razh: variant=no-cluster,map@5000,U->A,64,0,1,0.450000,0.000000,0.500000,-0.050000"
        in csv
    )


def test_the_report_keeps_ablations_out_of_the_ranking_and_the_headline(records):
    base, abl = records
    files = report_files(base + abl, variant_of=VARIANTS)
    readme = files["README.md"]
    retrieval = readme.split("## Retrieval", 1)[1].split("## Ablations and variants", 1)[0]
    assert "razh-t" not in retrieval and "no-cluster" not in retrieval and "0.990" not in retrieval
    assert "## Ablations and variants" in readme and "5 of ablations and variants" in readme
    assert "csv/ablations.csv" in files
    head = headline_markdown(base + abl, variant_of=VARIANTS)
    assert "razh-t" not in head and "0.990" not in head
    html = files["index.html"]
    assert 'id="ablations"' in html and "razh: variant=no-cluster" in html
    assert html.count("razh-t") == 1  # in the ablation section only
    # without ablation records nothing changes: no section, no CSV
    files = report_files(base, variant_of=VARIANTS)
    assert "Ablations" not in files["README.md"] and "csv/ablations.csv" not in files
    assert 'id="ablations"' not in files["index.html"]


def test_method_variants_reads_the_registry():
    recs = [_rec(m, 0, 0.5) for m in ("razh-t", "comae-v2", "itq", "not-registered")]
    with pytest.warns(UserWarning, match="not-registered of these records are not installed here"):
        got = method_variants(recs)
    assert got == {"comae-v2": "comae", "itq": None, "not-registered": None, "razh-t": "razh"}
