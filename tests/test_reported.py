"""Published numbers: the paper-record schema (`zshbench.reported`), the records entered under
``leaderboard/reported/`` (counted against the printed tables, and checked cell by cell against the papers' text
when ``../shared/papers`` is present), and the report's "Reported in the papers" section
(`zshbench.leaderboard.reported`)."""

import copy
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from zshbench.cli import main
from zshbench.errors import RecordError
from zshbench.leaderboard import check, comparisons, report_files
from zshbench.leaderboard.reported import measured_value, reported_csvs, reported_markdown, row_label
from zshbench.records import load_records
from zshbench.reported import (
    PAPER_CONVERTERS,
    PAPER_SCHEMA_VERSION,
    convert_paper_v2_to_v3,
    printed_to_value,
    upgrade_paper_record,
    validate_paper_record,
)
from zshbench.runner import run

ROOT = Path(__file__).resolve().parents[1]
REPORTED = ROOT / "leaderboard" / "reported"
FIXTURES = Path(__file__).parent / "fixtures" / "records"
PAPERS = Path(os.environ.get("ZSHBENCH_PAPERS", ROOT.parent / "shared" / "papers"))


# ---- schema ----------------------------------------------------------------------------------------------
# TEST DATA ONLY: the values below are invented to exercise the code; they are not from any paper.


def _load_paper(path):
    return validate_paper_record(json.loads(Path(path).read_text()), str(path))


def make_paper_record(**kw):
    rec = {
        "schema_version": 2,
        "source": "paper",
        "paper": "razh2025",
        "citation": "Jiang et al. 2025",
        "url": "https://arxiv.org/html/2503.07037v1",
        "table": "Table II",
        "method": "ITQ",
        "dataset": "CUB",
        "metric": "map@5000",
        "printed_unit": "percent",
        "unit": "fraction",
        "values": {"24": {"printed": "12.34", "value": 0.1234}, "48": {"printed": "5.1", "value": 0.051}},
        "protocol_description": "random split",
        "zshbench_method": "itq",
    }
    rec.update(kw)
    return rec


def cost_record(**kw):
    rec = make_paper_record(
        schema_version=3,
        table="Table 99",
        method="NetX",
        metric="params",
        printed_unit="si",
        unit="parameters",
        values={"64": {"printed": "60.70M", "value": 60_700_000}},
        variant="tiny",
        row=2,
        protocol_caveats=["FLOPs: counted as multiply-adds."],
    )
    rec.update(kw)
    return rec


# a version-2 paper record as the code before paper schema 3 wrote it (write_record: sorted keys, indent 2)
V2_RECORD = """{
  "citation": "A. Test, 2099.",
  "dataset": "Digits",
  "method": "LSH",
  "metric": "map@all",
  "paper": "testpaper",
  "printed_unit": "percent",
  "protocol_description": "unseeded random 8/2 class split.",
  "schema_version": 2,
  "source": "paper",
  "table": "Table 9",
  "unit": "fraction",
  "url": "https://example.org/test",
  "values": {
    "16": {
      "printed": "12.50",
      "value": 0.125
    }
  },
  "zshbench_dataset": "digits",
  "zshbench_method": "lsh"
}
"""


def test_printed_to_value_is_exact():
    assert printed_to_value("12.34", "percent") == 0.1234
    assert printed_to_value("3.06", "percent") == 0.0306  # not 3.06 / 100 = 0.030600000000000002
    assert printed_to_value("0.081", "fraction") == 0.081
    assert printed_to_value("85.70M", "si") == 85_700_000
    assert printed_to_value("181.73G", "si") == 181_730_000_000
    assert printed_to_value("2k", "si") == 2000 and printed_to_value("512", "si") == 512
    assert printed_to_value("483s", "seconds") == 483 and printed_to_value("0.154", "seconds") == 0.154
    for text, unit in (
        ("nan", "percent"),
        ("inf", "fraction"),
        ("n/a", "percent"),
        ("1e3", "si"),
        ("85.7 M", "si"),
        ("-1M", "si"),
        ("12m", "seconds"),
        ("", "seconds"),
    ):
        assert printed_to_value(text, unit) is None, (text, unit)


def test_paper_record_validation():
    assert validate_paper_record(make_paper_record())["values"]["24"]["value"] == 0.1234
    bad = [
        (make_paper_record(values={"24": {"printed": "12.34", "value": 0.1235}}), "does not match the printed 12.34"),
        (make_paper_record(unit="percent"), "unit must be 'fraction'"),
        (make_paper_record(printed_unit="permille"), "printed_unit must be"),
        (make_paper_record(values={"x24": {"printed": "1", "value": 0.01}}), "must be a code length"),
        (make_paper_record(values={}), "values is empty"),
        (make_paper_record(values={"24": {"printed": "n/a", "value": 0.1}}), "is not a number"),
        (make_paper_record(values={"24": {"printed": "nan", "value": 0.1}}), "is not a number"),
        (make_paper_record(values={"\u00b2": {"printed": "1", "value": 0.01}}), "must be a code length"),
        (
            make_paper_record(printed_unit="fraction", values={"24": {"printed": "12.34", "value": 12.34}}),
            "not a fraction",
        ),
        ({k: v for k, v in make_paper_record().items() if k != "citation"}, "missing required field 'citation'"),
    ]
    for rec, fragment in bad:
        with pytest.raises(RecordError) as e:
            validate_paper_record(rec, "reported/x.json")
        assert fragment in str(e.value) and "reported/x.json" in str(e.value)


def test_schema_3_cost_values_variants_and_caveats():
    rec = validate_paper_record(cost_record(), "r.json")
    assert rec["values"]["64"]["value"] == 60_700_000 and rec["variant"] == "tiny"
    assert validate_paper_record(
        cost_record(values={"64": {"printed": "60.70M", "value": 60_700_000.00001}})
    )  # relative 1e-9
    secs = cost_record(
        metric="train_time_per_epoch",
        printed_unit="seconds",
        unit="seconds",
        values={"64": {"printed": "483s", "value": 483}},
    )
    assert validate_paper_record(secs)["values"]["64"]["value"] == 483
    bad = [
        (cost_record(values={"64": {"printed": "60.70M", "value": 60_700}}), "does not match the printed 60.70M si"),
        (
            cost_record(values={"64": {"printed": "60.70 M", "value": 60_700_000}}),
            "is not a number in printed_unit 'si'",
        ),
        (cost_record(unit="fraction"), "unit must be one of 'parameters', 'flops' for printed_unit 'si'"),
        (cost_record(unit="seconds"), "unit must be one of 'parameters', 'flops'"),
        (cost_record(printed_unit="seconds"), "unit must be one of 'seconds'"),
        (cost_record(values={"64": {"printed": "0", "value": -0.0000000001}}), "is negative"),
        (cost_record(values={"64": {"printed": "1", "value": float("inf")}}), "is not finite"),
        (cost_record(row=0), "row must be a positive integer"),
        (cost_record(row=True), "field 'row' must be int"),
        (cost_record(variant=""), "variant is empty"),
        (cost_record(notes=" "), "notes is empty"),
        (cost_record(protocol_caveats=[]), "protocol_caveats must be a non-empty list"),
        (cost_record(protocol_caveats=["ok", 3]), "protocol_caveats must be a non-empty list"),
        (cost_record(protocol_caveats="Split: x"), "field 'protocol_caveats' must be list"),
        (cost_record(schema_version=4), "schema_version 4 is newer than this zshbench understands"),
        (cost_record(schema_version=1), "no converter from paper schema_version 1"),
        (cost_record(schema_version="3"), "field 'schema_version' must be int"),
    ]
    for rec, fragment in bad:
        with pytest.raises(RecordError) as e:
            validate_paper_record(rec, "reported/y.json")
        assert fragment in str(e.value) and "reported/y.json" in str(e.value), (fragment, str(e.value))


def test_version_2_paper_records_load_through_the_converter(tmp_path, monkeypatch):
    assert PAPER_SCHEMA_VERSION == 3 and PAPER_CONVERTERS[2] is convert_paper_v2_to_v3
    v2 = json.loads(V2_RECORD)
    v3 = convert_paper_v2_to_v3(v2)
    assert v3 == dict(v2, schema_version=3) and v2["schema_version"] == 2  # input not mutated
    (tmp_path / "old.json").write_text(V2_RECORD)
    rec = _load_paper(tmp_path / "old.json")
    assert rec["schema_version"] == 3 and rec["values"]["16"]["value"] == 0.125
    assert upgrade_paper_record(v3) is v3  # current version: unchanged
    # a version-2 dict is valid input everywhere a record is (validate returns it converted)
    assert validate_paper_record(v2)["schema_version"] == 3
    monkeypatch.delitem(PAPER_CONVERTERS, 2)
    with pytest.raises(RecordError, match="old.json: no converter from paper schema_version 2"):
        _load_paper(tmp_path / "old.json")


# ---- the entered tables ----------------------------------------------------------------------------------

# From my reading of the printed tables: (records, cells) per table. RAZH Table II: 24 printed rows, of which the
# RAZH-T and RAZH rows are printed twice (entered once): 22 rows x 3 datasets x 4 code lengths. COMAE Table 1:
# 22 rows x AWA2/CUB x 4, plus SUN x 4 for the 17 rows that print SUN values (TSK blank; ASZH, SitNet, OPZH and
# AH '-'). Tables IV-VI: rows x 3 datasets x 24/64 bits. Table III and COMAE Table 2: one record per row,
# dataset and metric (mAP, Params, FLOPs; mAP, T-Time, I-Time), one cell each. COMAE Table 3: 4 rows x 3
# datasets x (mAP@5000, AUC) at 64 bits.
EXPECTED = {
    ("razh2025", "Table II"): (66, 264),
    ("razh2025", "Table III"): (6, 6),
    ("razh2025", "Table IV"): (12, 24),
    ("razh2025", "Table V"): (9, 18),
    ("razh2025", "Table VI"): (12, 24),
    ("razh2025", "Table VII"): (4, 16),
    ("comae2024", "Table 1"): (61, 244),
    ("comae2024", "Table 2"): (18, 18),
    ("comae2024", "Table 3"): (24, 24),
}
REGISTERED_OR_COMING = {
    "lsh",
    "pcah",
    "itq",
    "sh",
    "razh",
    "razh-t",
    "comae",
    "comae-v1",
    "comae-v2",
    "comae-v3",
    "razh-f",
    "dpsh",
    "dsh",
    "hashnet",
    "dch",
    "greedyhash",
    "csq",
    "dpn",
    "orthohash",
    "bihalf",
    "sitnet",
    "pixel",
    "sdh",
    "dsdh",
    "ddsh",
    "adsh",
    "jmlh",
    "cibhash",
    "tbh",
    "fssh",
    "scdh",
    "imh",
    "tsk",
}


@pytest.fixture(scope="module")
def entered():
    recs, errs = load_records(REPORTED, source="paper")
    assert not errs, errs
    return recs


def test_every_entered_record_is_valid_and_counted(entered):
    records, cells = Counter(), Counter()
    for r in entered:
        records[(r["paper"], r["table"])] += 1
        cells[(r["paper"], r["table"])] += len(r["values"])
    assert {k: (records[k], cells[k]) for k in records} == EXPECTED
    assert sum(c for _, c in EXPECTED.values()) == 638
    assert all(r["schema_version"] == PAPER_SCHEMA_VERSION for r in entered)  # entered at the current version
    # one record per (paper, table, dataset, row, metric): no row entered twice (RAZH's duplicated rows included)
    keys = Counter((r["paper"], r["table"], r["dataset"], row_label(r), r["metric"]) for r in entered)
    assert max(keys.values()) == 1
    sun = [r for r in entered if r["table"] == "Table 1" and r["dataset"] == "SUN"]
    assert len(sun) == 17 and not {"TSK", "ASZH", "SitNet", "OPZH", "AH"} & {r["method"] for r in sun}


def test_entered_records_link_only_known_names_and_datasets(entered):
    for r in entered:
        assert r.get("zshbench_method") in REGISTERED_OR_COMING | {None}, r["_path"]
        assert r["zshbench_dataset"] == r["dataset"].lower(), r["_path"]
        assert r["metric"] != "pr_auc"  # COMAE's AUC is not zshbench's pr_auc
    linked = {(r["paper"], r["table"], r["method"]): r["zshbench_method"] for r in entered if r.get("zshbench_method")}
    assert linked[("comae2024", "Table 1", "PCA")] == "pcah" and linked[("razh2025", "Table VII", "RAZH-F")] == "razh-f"
    assert (
        linked[("comae2024", "Table 3", "COMAE-V2")] == "comae-v2"
        and linked[("razh2025", "Table II", "RAZH-T")] == "razh-t"
    )
    # rows that repeat a number of another table are not linked a second time
    for r in entered:
        repeated = (
            r["table"] in ("Table IV", "Table V", "Table VI")
            or (r["table"], r["metric"]) == ("Table III", "map@5000")
            or (r["table"], r["metric"], r["method"]) == ("Table 3", "map@5000", "COMAE")
        )
        if repeated:
            assert r.get("zshbench_method") is None, r["_path"]


def test_entered_units_metrics_and_notes(entered):
    units = {(r["paper"], r["table"], r["metric"]): (r["printed_unit"], r["unit"]) for r in entered}
    assert units[("razh2025", "Table III", "params")] == ("si", "parameters")
    assert units[("razh2025", "Table III", "flops")] == ("si", "flops")
    assert units[("comae2024", "Table 2", "train_time_per_epoch")] == ("seconds", "seconds")
    assert units[("comae2024", "Table 3", "auc_paper")] == ("fraction", "fraction")
    assert {m for (p, _, m) in units if p == "razh2025"} == {"map@5000", "params", "flops"}
    assert {p for (p, _, _), (pu, _) in units.items() if pu == "percent"} == {"razh2025"}

    def rec(table, dataset, label, metric="map@5000"):
        (r,) = [
            r
            for r in entered
            if (r["table"], r["dataset"], row_label(r), r["metric"]) == (table, dataset, label, metric)
        ]
        return r

    # suspected typos are entered as printed, with a note
    assert rec("Table 1", "AWA2", "LSH")["values"]["24"]["printed"] == "0.1016"
    assert "typo" in rec("Table 1", "AWA2", "LSH")["notes"] and "typo" in rec("Table 1", "SUN", "BiHalf")["notes"]
    assert rec("Table 1", "CUB", "SH")["values"]["48"]["printed"] == "0.081"
    assert rec("Table II", "CUB", "OPZH")["values"]["24"] == {"printed": "6.3", "value": 0.063}
    for m in ("ASZH", "SitNet", "OPZH", "AH"):
        assert "copied" in rec("Table 1", "CUB", m)["notes"].lower()
    assert "Printed twice" in rec("Table II", "AWA2", "RAZH")["notes"]
    assert "identical to DDSH" in rec("Table II", "AWA2", "DSDH")["notes"]
    assert "128-bit cell" in rec("Table 2", "AWA2", "COMAE", "map_paper")["notes"]
    assert rec("Table III", "AWA2", "RAZH", "params")["values"]["64"] == {"printed": "85.70M", "value": 85_700_000.0}
    assert rec("Table V", "CUB", "RAZH (mask ratio 0.25)")["values"]["64"]["printed"] == "18.29"
    pixel = rec("Table 1", "CUB", "PIXEL")["protocol_caveats"]
    assert any("mAP@all" in c for c in pixel) and any("735 of the 1,500" in c for c in pixel)
    assert any("736 of the 1,500" in c for c in rec("Table 3", "CUB", "COMAE-V1")["protocol_caveats"])
    assert all(
        "publishes neither the classes nor a seed" in r["protocol_caveats"][0]
        for r in entered
        if r["paper"] == "razh2025"
    )


# Where each record's cells sit in the papers' text (tables are tab-separated there): the table's header line,
# how many header lines precede the rows, and the column of each (dataset, metric, bits). The row is found by
# its printed label (Table IV prints LaTeX labels, Table V the mask ratio).
def _cols(datasets, metrics_bits, first=1):
    out, i = {}, first
    for ds in datasets:
        for mb in metrics_bits:
            out[(ds, *mb)] = i
            i += 1
    return out


_B4 = [("map@5000", b) for b in ("24", "48", "64", "128")]
_B2 = [("map@5000", b) for b in ("24", "64")]
LAYOUT = {
    ("razh2025", "Table II"): ("razh", "Method\tCIFAR10\t\t\tCUB", 2, _cols(["CIFAR10", "CUB", "AWA2"], _B4)),
    ("razh2025", "Table III"): (
        "razh",
        "Method\tmAP\tParams\tFLOPs",
        1,
        _cols(["AWA2"], [("map@5000", "64"), ("params", "64"), ("flops", "64")]),
    ),
    ("razh2025", "Table IV"): ("razh", "Method\tAW\tVA2\tC\tU B", 2, _cols(["AWA2", "CUB", "CIFAR10"], _B2)),
    ("razh2025", "Table V"): ("razh", "Mask Ratio\tAW", 2, _cols(["AWA2", "CUB", "CIFAR10"], _B2)),
    ("razh2025", "Table VI"): ("razh", "Method\tBackhone", 2, _cols(["AWA2", "CUB", "CIFAR10"], _B2, first=2)),
    ("razh2025", "Table VII"): ("razh", "Methods\t\tAV\tVA2", 2, _cols(["AWA2", "CUB"], _B4)),
    ("comae2024", "Table 1"): ("comae", "Methods\tReference\tAWA2", 2, _cols(["AWA2", "CUB", "SUN"], _B4, first=2)),
    ("comae2024", "Table 2"): (
        "comae",
        "Method\tAWA2\t\t\tCUB",
        2,
        _cols(
            ["AWA2", "CUB", "SUN"],
            [("map_paper", "64"), ("train_time_per_epoch", "64"), ("inference_time_per_epoch", "64")],
        ),
    ),
    ("comae2024", "Table 3"): (
        "comae",
        "\tAWA2\t\tCUB\t\tSUN",
        2,
        _cols(["AWA2", "CUB", "SUN"], [("map@5000", "64"), ("auc_paper", "64")]),
    ),
}
PRINTED_LABEL = {
    "loss L_cls": r"\mathcal{L}_{cls}",
    "loss L_h": r"\mathcal{L}_h",
    "loss L_cls + α L_h": r"$\mathcal{L}_{cls} + \alpha \mathcal{L}_h$",
    "loss L_cls + α L_h + β L_rec": r"$\mathcal{L}_{cls} + \alpha \mathcal{L}_h + \beta \mathcal{L}_{rec}$",
    "mask ratio 0.25": "0.25",
    "mask ratio 0.50": "0.50",
    "mask ratio 0.75": "0.75",
}


def _paper_rows(text: str, header: str, skip: int) -> list[list[str]]:
    lines = text.split("\n")
    (start,) = [i for i, line in enumerate(lines) if line.startswith(header)]
    rows = []
    for line in lines[start + skip :]:
        if not line.strip():
            break
        rows.append(line.rstrip("\t").split("\t"))
    return rows


@pytest.mark.skipif(not PAPERS.is_dir(), reason=f"the papers' text is not here ({PAPERS}; set ZSHBENCH_PAPERS)")
def test_every_entered_cell_is_printed_in_the_paper_and_every_printed_cell_is_entered(entered):
    texts = {
        "razh": (PAPERS / "razh-arxiv-2503.07037.txt").read_text(),
        "comae": (PAPERS / "comae-arxiv-2402.16424.txt").read_text(),
    }
    for (paper, table), (which, header, skip, cols) in LAYOUT.items():
        rows = _paper_rows(texts[which], header, skip)
        printed: dict[str, list[str]] = {}
        for row in rows:
            if row[0] in printed:  # RAZH Table II prints RAZH-T and RAZH twice, with identical cells
                assert printed[row[0]] == row, (table, row[0])
            printed[row[0]] = row
        entered_cells = set()
        for r in (r for r in entered if (r["paper"], r["table"]) == (paper, table)):
            label = PRINTED_LABEL.get(r.get("variant"), r["method"])
            for bits, cell in r["values"].items():
                col = cols[(r["dataset"], r["metric"], bits)]
                assert printed[label][col] == cell["printed"], (r["_path"], bits)
                entered_cells.add((label, col))
        # the other way round: every number printed in the table is entered
        numbers = {
            (label, c)
            for label, row in printed.items()
            for c in cols.values()
            if c < len(row) and row[c] not in ("", "-")
        }
        assert numbers == entered_cells, (table, numbers ^ entered_cells)
        assert len(numbers) == EXPECTED[(paper, table)][1]


# ---- the report ------------------------------------------------------------------------------------------


def paper_record(method="LSH", values=None, **kw):
    rec = {
        "schema_version": 2,
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


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("lb")
    run("lsh", "digits", bits=[16, 32], seeds=[0, 1], results_dir=d / "results", progress=False)
    run("lsh", "digits", bits=[16], seeds=[0], results_dir=d / "results", progress=False, overrides=["center=false"])
    return d / "results"


@pytest.fixture()
def reported(tmp_path):
    d = tmp_path / "reported" / "testpaper"
    d.mkdir(parents=True)
    (d / "lsh.json").write_text(json.dumps(paper_record()))
    (d / "superhash.json").write_text(
        json.dumps(paper_record("SuperHash", zshbench_method=None, values={"16": {"printed": "0.5", "value": 0.005}}))
    )
    return tmp_path / "reported"


def test_reported_section_is_separate_and_compared_side_by_side(results, reported, tmp_path, capsys):
    recs, _ = load_records(results, source="measured")
    reps, errs = load_records(reported, source="paper")
    assert not errs and len(reps) == 2
    readme = report_files(recs, reported=reps)["README.md"]
    measured, _, published = readme.partition("## Reported in the papers")
    assert "SuperHash" not in measured and "12.50" not in measured  # never mixed with measured rows
    assert "| LSH | 12.50 | 25.00 |" in published and "| SuperHash | 0.5 | - |" in published
    assert "Split: the paper: unseeded random 8/2 class split. zshbench: protocol digits-zsh v2" in published
    assert "mean ± std over seeds 0, 1" in published
    comps = comparisons(reps, recs)
    assert [c["label"][:5] for c in comps] == ["lsh [", "lsh ["]  # two measured configs of lsh
    assert all(c["reported"]["method"] == "LSH" for c in comps)
    files = report_files(recs, reported=reps)
    csv = files["csv/reported__testpaper__Table_9__Digits__mapatall.csv"]
    assert csv.splitlines()[:2] == [
        "paper,table,dataset,metric,method,variant,bits,printed,printed_unit,value,unit",
        "testpaper,Table 9,Digits,map@all,LSH,,16,12.50,percent,0.125,fraction",
    ]
    out = tmp_path / "lb"
    assert (
        main(["report", "--results", str(results), "--out", str(out), "--no-figures", "--reported", str(reported)]) == 0
    )
    capsys.readouterr()
    assert (
        main(["leaderboard", "--results", str(results), "--check", "--out", str(out), "--reported", str(reported)]) == 0
    )
    # the published numbers are part of what --check compares
    assert main(["leaderboard", "--results", str(results), "--check", "--out", str(out)]) == 1
    assert main(["leaderboard", "--results", str(results), "--format", "md", "--reported", str(reported)]) == 0
    assert "## Reported in the papers" in capsys.readouterr().out


def test_bad_reported_record_is_named_and_fails_check(results, reported, tmp_path, capsys):
    out = tmp_path / "lb"
    main(["report", "--results", str(results), "--out", str(out), "--no-figures", "--reported", str(reported)])
    bad = paper_record(values={"16": {"printed": "12.50", "value": 0.15}})
    (reported / "testpaper" / "typo.json").write_text(json.dumps(bad))
    # a measured record does not belong among published numbers
    shutil.copy(FIXTURES / "v1_record.json", reported / "measured.json")
    capsys.readouterr()
    assert (
        main(["leaderboard", "--results", str(results), "--check", "--out", str(out), "--reported", str(reported)]) == 1
    )
    printed = capsys.readouterr().out
    assert (
        "invalid reported record:" in printed
        and "typo.json" in printed
        and "does not match the printed 12.50" in printed
    )
    assert "measured.json" in printed and "holds only published numbers" in printed
    assert main(["leaderboard", "--results", str(results), "--reported", str(tmp_path / "nope")]) == 2


def test_committed_reported_records_pass_the_leaderboard_check(entered):
    """`zshbench leaderboard --check` over the committed tree names no invalid reported record (the generated
    files may differ until the report is regenerated)."""
    records, errors = load_records(ROOT / "leaderboard" / "results", source="measured")
    problems = check(records, errors, ROOT / "leaderboard", reported=entered, reported_errors=[])
    assert not [p for p in problems if p.startswith("invalid")]


def _measured(method, dataset, bits, seed, map5000, **kw):
    """A hand-made measured record (no run): the fields the report reads."""
    from factories import make_record

    return make_record(
        method,
        dataset,
        f"{dataset.split('-')[0]}-zsh",
        bits,
        seed,
        {"map@5000": map5000, "pr_auc": 0.4},
        params={"profile": "paper"},
        protocol_sha="b" * 64,
        split_counts={"train": 4000, "query": 1000, "database": 32322},
        metric_conventions=None,
        timings={"fit_s": 1.0},
        environment={"device_name": "Test GPU"},
        dataset_info={"version": "1"},
        complexity={
            "params": 112_510_000,
            "params_encode": 85_800_000,
            "flops_per_image": 35_100_000_000,
            "counter": "torch",
            "convention": "one multiply-add = 2 FLOPs",
            "input": "image 224x224x3",
        },
        **kw,
    )


def test_published_tables_side_by_side_with_measured_records(entered):
    measured = [_measured("comae", "awa2", 64, s, 0.50 + s / 100) for s in (0, 1)]
    measured += [_measured("pixel", "cub-res101", 64, 0, 0.21)]
    measured += [_measured("razh", "awa2", 64, s, 0.40) for s in (0, 1)]
    files = report_files(measured, reported=entered)
    assert files == report_files(copy.deepcopy(measured), reported=list(reversed(entered)))  # deterministic
    text = files["README.md"].partition("## Reported in the papers")[2]
    # the tables as printed, in printed row order, several metrics side by side
    assert "### razh2025, Table II: CUB — map@5000 (printed in percent)" in text
    assert text.index("| LSH | 0.55 | 0.69 | 0.76 | 0.95 |") < text.index("| DRMH | 6.79 | 8.97 | 9.51 | 12.49 |")
    assert "| method | map@5000, 64 bits | params, 64 bits | flops, 64 bits |" in text
    assert "| RAZH | 44.96 | 85.70M | 16.86G |" in text
    assert "| RAZH (mask ratio 0.25) | 12.67 | 18.29 |" in text
    assert "| PIXEL | 0.5456 | 483s | 0.154s |" in text
    assert "- BiHalf: The 24-bit cell 0.0077" in text
    assert "- DRMH, flops: DRMH's count includes the Faster R-CNN" in text  # a note of one metric of the row
    assert "### comae2024: protocol caveats" in text and "- PIXEL: Metric: the table prints mAP@5000" in text
    # the side by side: COMAE from both papers, PIXEL on the CUB features, RAZH's parameters and FLOPs
    comps = comparisons(entered, measured)
    got = sorted(
        (
            c["reported"]["paper"],
            c["reported"]["table"],
            row_label(c["reported"]),
            c["reported"]["dataset"],
            c["reported"]["metric"],
            c["dataset"],
        )
        for c in comps
    )
    assert got == [
        ("comae2024", "Table 1", "COMAE", "AWA2", "map@5000", "awa2"),
        ("comae2024", "Table 1", "PIXEL", "CUB", "map@5000", "cub-res101"),
        ("razh2025", "Table II", "RAZH", "AWA2", "map@5000", "awa2"),
        ("razh2025", "Table III", "RAZH", "AWA2", "flops", "awa2"),
        ("razh2025", "Table III", "RAZH", "AWA2", "params", "awa2"),
        ("razh2025", "Table VII", "COMAE", "AWA2", "map@5000", "awa2"),
    ]
    assert "**COMAE on AWA2** — comae2024 Table 1 vs zshbench comae on awa2 / awa2-zsh (map@5000, as fractions)" in text
    assert "| 64 | 0.5149 fraction | 0.5149 | 0.5050 ± 0.0071 (n=2) |" in text
    assert "| 64 | 85.70M | 85.70 M | 85.80 M ± 0 (n=2) |" in text  # encode-path parameters
    assert "| 64 | 16.86G | 16.86 G | 35.10 G ± 0 (n=2) |" in text
    assert "(params, in parameters)" in text and "all learned numbers of the fitted hasher: 112.51 M" in text
    assert "\n  - Query/database: the published COMAE code draws" in text
    pixel = [c for c in comps if c["reported"]["method"] == "PIXEL"][0]
    assert any(d.startswith("Metric: the table prints mAP@5000") for d in pixel["differences"])
    assert any("feature version of 'cub'" in d for d in pixel["differences"])
    assert "Split: the paper draws its unseen classes" in " ".join(
        [c for c in comps if c["reported"]["table"] == "Table II"][0]["differences"]
    )
    # no comparison for quantities zshbench does not measure (time per epoch, the paper's AUC, Table 2's mAP)
    assert not [c for c in comps if c["reported"]["metric"] in ("auc_paper", "map_paper", "train_time_per_epoch")]
    assert measured_value(measured[0], "auc_paper") is None and measured_value(measured[0], "params") == 85_800_000


def test_reported_csvs_carry_variant_and_unit(entered):
    files = reported_csvs(entered)
    assert len(files) == 35  # one per (paper, table, dataset, metric)
    v = files["csv/reported__razh2025__Table_V__CUB__mapat5000.csv"].splitlines()
    assert v[1] == "razh2025,Table V,CUB,map@5000,RAZH,mask ratio 0.25,24,12.67,percent,0.1267,fraction"
    t3 = files["csv/reported__razh2025__Table_III__AWA2__flops.csv"].splitlines()
    assert t3[1:] == [
        "razh2025,Table III,AWA2,flops,DRMH,,64,181.73G,si,181730000000.0,flops",
        "razh2025,Table III,AWA2,flops,RAZH,,64,16.86G,si,16860000000.0,flops",
    ]
    assert sum(len(t.splitlines()) - 1 for t in files.values()) == 638
    assert reported_markdown([], []) == ""
