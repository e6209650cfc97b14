import json
import multiprocessing as mp
import os

import pytest

from zshbench.errors import RecordError
from pathlib import Path

from zshbench.records import (
    CONVERTERS,
    SCHEMA_VERSION,
    load_record,
    load_records,
    record_path,
    upgrade_record,
    validate_record,
    write_record,
)

FIXTURES = Path(__file__).parent / "fixtures" / "records"


def make_record(**kw):
    rec = {
        "schema_version": SCHEMA_VERSION, "source": "measured", "method": "lsh", "method_version": "1",
        "params": {"n_bits": 32, "seed": 0, "center": True}, "config_hash": "abc123abc123", "dataset": "shapes",
        "protocol": {"name": "shapes-zsh", "version": "1", "sha256": "0" * 64}, "split_fingerprint": "f" * 64,
        "n_bits": 32, "seed": 0, "metrics": {"map@5000": 0.5, "map@all": 0.4}, "metric_version": "1",
        "timings": {"fit_s": 0.1}, "environment": {"python": "3.11"}, "created_utc": "2026-01-01T00:00:00Z",
        "zshbench_version": "0.1.0",
        "complexity": {"params": 2112, "flops_per_image": 4096, "counter": "analytic"},
    }
    rec.update(kw)
    return rec


def test_roundtrip(tmp_path):
    p = record_path(tmp_path, dataset="shapes", protocol="shapes-zsh", method="lsh", config_hash="abc", n_bits=32, seed=1)
    assert p.name == "abc-b32-s1.json" and p.parent.name == "lsh"
    write_record(make_record(), p)
    assert load_record(p)["metrics"]["map@5000"] == 0.5
    assert [f.name for f in p.parent.iterdir()] == [p.name]  # no temp file left behind


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"metrics": {"map@5000": "0.5"}}, "metric 'map@5000' must be a finite number"),
        ({"metrics": {"map@5000": True}}, "finite number"),
        ({"n_bits": "32"}, "field 'n_bits' must be int"),
        ({"source": "guess"}, "source must be"),
        ({"protocol": {"name": "x"}}, "protocol.version"),
        ({"schema_version": 99}, "schema_version 99"),
        ({"complexity": {"params": 1}}, "missing required field 'complexity.flops_per_image'"),
        ({"complexity": {"params": "1", "flops_per_image": None, "counter": "x"}}, "complexity.params' must be int or null"),
        ({"complexity": {"params": -1, "flops_per_image": None, "counter": "x"}}, "complexity.params must be non-negative"),
        ({"class_distances": {"unseen": ["a"], "seen": ["b", "c"], "mean_hamming": [[1.0]]}}, "1 x 2 list of lists"),
    ],
)
def test_validation_names_the_problem(change, fragment):
    with pytest.raises(RecordError) as e:
        validate_record(make_record(**change), "r.json")
    assert fragment in str(e.value) and "r.json" in str(e.value)


def test_missing_field_and_nan_refused_before_writing(tmp_path):
    rec = make_record()
    del rec["metrics"]
    with pytest.raises(RecordError, match="missing required field 'metrics'"):
        write_record(rec, tmp_path / "x.json")
    with pytest.raises(RecordError, match="finite"):
        write_record(make_record(metrics={"map@all": float("nan")}), tmp_path / "x.json")
    assert not any(tmp_path.iterdir())


def test_corrupt_and_truncated_files_are_named(tmp_path):
    good = tmp_path / "a" / "good.json"
    write_record(make_record(), good)
    (tmp_path / "a" / "trunc.json").write_text(good.read_text()[:50])
    (tmp_path / "a" / "list.json").write_text("[1, 2]")
    (tmp_path / "a" / "future.json").write_text(json.dumps(make_record(schema_version=SCHEMA_VERSION + 1)))
    recs, errs = load_records(tmp_path)
    assert len(recs) == 1
    msgs = sorted(str(e) for e in errs)
    assert any("future.json" in m and "newer than this zshbench" in m for m in msgs)
    assert any("list.json" in m and "JSON object" in m for m in msgs)
    assert any("trunc.json" in m and "corrupt or truncated" in m for m in msgs)


def _writer(args):
    path, i = args
    for _ in range(20):
        write_record(make_record(seed=i, metrics={"map@all": i / 10}), path)
    return True


def test_concurrent_writers_never_corrupt(tmp_path):
    path = tmp_path / "same.json"
    ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
    with ctx.Pool(2) as pool:
        assert all(pool.map(_writer, [(path, i) for i in range(4)]))
    rec = load_record(path)  # always one complete record
    assert rec["metrics"]["map@all"] == rec["seed"] / 10
    assert [p.name for p in tmp_path.iterdir()] == ["same.json"]


# ---- schema versions and converters ------------------------------------------------------------------------


def test_v1_fixture_loads_through_the_converter():
    """tests/fixtures/records/v1_record.json was written by zshbench at schema 1 (lsh on digits, 32 bits)."""
    path = FIXTURES / "v1_record.json"
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1 and "complexity" not in raw
    rec = load_record(path)
    assert rec["schema_version"] == SCHEMA_VERSION == 2
    assert rec["complexity"] == {"params": None, "flops_per_image": None, "counter": "none",
                                 "note": "not measured: converted from a schema-1 record"}
    assert {k: v for k, v in rec.items() if k not in ("schema_version", "complexity")} == \
        {k: v for k, v in raw.items() if k != "schema_version"}  # nothing else changes
    assert rec["metrics"]["map@5000"] == pytest.approx(0.4416, abs=1e-4)


def test_converter_chain_and_missing_converter(tmp_path, monkeypatch):
    v1 = make_record(schema_version=1)
    del v1["complexity"]
    assert CONVERTERS[1](v1)["schema_version"] == 2 and "complexity" not in v1  # input not mutated
    assert upgrade_record(v1)["complexity"]["counter"] == "none"
    monkeypatch.delitem(CONVERTERS, 1)
    (tmp_path / "old.json").write_text(json.dumps(v1))
    with pytest.raises(RecordError, match="old.json: no converter from schema_version 1"):
        load_record(tmp_path / "old.json")


# paper records (source: "paper"): tests/test_reported.py


def test_atomic_writes_are_not_private_and_keep_the_mode(tmp_path):
    import os

    from zshbench.cache import atomic_write_bytes

    old = os.umask(0o022)
    try:
        p = tmp_path / "r.json"
        atomic_write_bytes(p, b"{}")
        assert p.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
        p.chmod(0o664)
        atomic_write_bytes(p, b"{ }")
        assert p.stat().st_mode & 0o777 == 0o664 and p.read_bytes() == b"{ }"
    finally:
        os.umask(old)
