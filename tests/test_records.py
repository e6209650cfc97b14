import json
import multiprocessing as mp
import os
from pathlib import Path

import pytest

from zshbench.errors import RecordError, UserError
from zshbench.records import (
    CONVERTERS,
    SCHEMA_VERSION,
    Record,
    content_checksum,
    identity_difference,
    identity_hash,
    load_record,
    load_records,
    record_path,
    run_identity,
    upgrade_record,
    validate,
    write_record,
)

FIXTURES = Path(__file__).parent / "fixtures" / "records"


def make_identity(**kw):
    base = dict(
        method="lsh",
        method_version="1",
        config={"center": True, "n_bits": 32, "seed": 0},
        features={"spec": "pixels", "weights": None},
        dataset={"name": "digits", "version": "1", "fingerprint": "ab" * 32},
        protocol={"name": "digits-zsh", "version": "1", "sha256": "c" * 64, "pinned": True},
        evaluation={"k": 5000, "metric_version": "1", "metric_set": "default", "variant": "standard"},
        n_bits=32,
        seed=0,
    )
    base.update(kw)
    return run_identity(**base)


def make_rec(identity=None, **kw) -> Record:
    ident = identity or make_identity()
    args = dict(
        identity=ident,
        params=dict(ident["config"]),
        config_hash=_cfg_hash(ident["config"]),
        split_fingerprint="f" * 64,
        metrics={"map@5000": 0.5, "map@all": 0.4},
        metric_conventions={"map@5000": "..."},
        timings={"fit_s": 0.1},
        complexity={"params": 2112, "flops_per_image": 4096, "counter": "analytic"},
        environment={"python": "3.11"},
        zshbench_version="0.1.0",
        features={"spec": "pixels"},
        created_utc="2026-01-01T00:00:00Z",
    )
    args.update(kw)
    return Record.create(**args)


def _cfg_hash(params):
    from zshbench.config import config_hash

    return config_hash(params, exclude=("n_bits", "seed"))


def _path(tmp_path, rec):
    return record_path(
        tmp_path,
        dataset=rec.dataset,
        protocol=rec.protocol["name"],
        method=rec.method,
        n_bits=rec.n_bits,
        seed=rec.seed,
        id_hash=rec.identity_hash,
    )


def _tamper(rec: Record, **changes) -> dict:
    d = rec.to_dict()
    for dotted, value in changes.items():
        obj = d
        *head, last = dotted.split("__")
        for h in head:
            obj = obj[h]
        obj[last] = value
    return d


def test_roundtrip_and_file_name_carries_the_identity(tmp_path):
    rec = make_rec()
    p = _path(tmp_path, rec)
    assert p.name == f"b32-s0-{rec.identity_hash[:16]}.json" and p.parent.name == "lsh"
    write_record(rec, p)
    back = load_record(p)
    assert back == rec and back.path == str(p) and back.metrics["map@5000"] == 0.5
    assert [f.name for f in p.parent.iterdir()] == [p.name]  # no temp file left behind
    assert back.to_dict() == json.loads(p.read_text())


def test_every_input_changes_the_identity():
    base = make_identity()
    variants = [
        make_identity(features={"spec": "timm:resnet18", "weights": "sha256:" + "1" * 64}),
        make_identity(dataset={"name": "digits", "version": "1", "fingerprint": "cd" * 32}),
        make_identity(evaluation={"k": 100, "metric_version": "1", "metric_set": "default", "variant": "standard"}),
        make_identity(protocol={"name": "digits-zsh", "version": "1", "sha256": "d" * 64, "pinned": False}),
        make_identity(config={"center": False, "n_bits": 32, "seed": 0}),
        make_identity(method_version="2"),
        make_identity(world_size=2),
    ]
    hashes = {identity_hash(base)} | {identity_hash(v) for v in variants}
    assert len(hashes) == len(variants) + 1
    assert identity_difference(base, variants[2]) == ["evaluation.k (5000 vs 100)"]


def test_validation_lists_every_problem_at_once():
    d = make_rec().to_dict()
    d["metrics"] = {"map@5000": 1.7, "map@all": -3.0}
    d["split_fingerprint"] = "0" * 64
    d["timings"] = {"fit_s": -100}
    d["complexity"]["params_encode"] = "lots"
    d["curves"] = {"pr": {"precision": [0.1, "x"], "recall": [0.1]}}
    d["class_distances"] = {"unseen": ["a"], "seen": [1, 2], "mean_hamming": [[1.0, 2.0]]}
    probs = validate(d)
    text = " | ".join(probs)
    for fragment in (
        "'map@5000' = 1.7 is outside [0, 1]",
        "'map@all' = -3.0 is outside",
        "not all zeros",
        "timing 'fit_s' must be a finite number >= 0",
        "complexity.params_encode must be a non-negative",
        "curves.pr.precision must be a list of finite numbers",
        "class_distances.seen must be",
        "content_sha256 does not match",
    ):
        assert fragment in text, fragment


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("n_bits", 0, "field 'n_bits' must be an integer in 8..256"),
        ("seed", -5, "field 'seed' must be an integer in 0.."),
        ("schema_version", True, "field 'schema_version' must be an integer"),
        ("dataset", "../../x", "field 'dataset' must be a dataset name"),
        ("config_hash", "zz", "field 'config_hash' must be 12 hex digits"),
        ("created_utc", "yesterday", "field 'created_utc' must be a UTC time"),
    ],
)
def test_field_ranges(field, value, fragment):
    d = make_rec().to_dict()
    d[field] = value
    assert any(fragment in p for p in validate(d)), validate(d)


def test_identity_must_match_the_fields_it_covers():
    rec = make_rec()
    d = rec.to_dict()
    d["n_bits"] = 24  # edited by hand: identity, hash, params and checksum no longer agree
    text = " | ".join(validate(d))
    assert "identity.n_bits (32) differs from the record's n_bits (24)" in text
    d = rec.to_dict()
    d["params"] = {"center": False, "n_bits": 32, "seed": 0}
    d["content_sha256"] = content_checksum(d)  # even with a recomputed checksum
    text = " | ".join(validate(d))
    assert "identity.config.center" in text and "config_hash does not match params" in text
    d = rec.to_dict()
    d["protocol"]["sha256"] = "e" * 64
    d["content_sha256"] = content_checksum(d)
    assert "identity.protocol differs" in " | ".join(validate(d))


def test_hand_edited_metric_is_reported(tmp_path):
    rec = make_rec()
    p = _path(tmp_path, rec)
    write_record(rec, p)
    d = json.loads(p.read_text())
    d["metrics"]["map@5000"] = 0.9
    p.write_text(json.dumps(d))
    with pytest.raises(RecordError, match="content_sha256 does not match the content"):
        load_record(p)


def test_renamed_file_is_reported(tmp_path):
    rec = make_rec()
    p = _path(tmp_path, rec)
    write_record(rec, p)
    other = p.with_name("b24-s0-" + "0" * 16 + ".json")
    p.rename(other)
    with pytest.raises(RecordError, match="the file name should be b32-s0-"):
        load_record(other)


def test_new_records_are_validated_before_writing(tmp_path):
    with pytest.raises(RecordError, match="outside \\[0, 1\\]"):
        make_rec(metrics={"map@5000": 1.5})
    with pytest.raises((RecordError, ValueError)):
        make_rec(metrics={"map@5000": float("nan")})
    with pytest.raises(TypeError, match="Record.create"):
        write_record(make_rec().to_dict(), tmp_path / "x.json")
    assert not any(tmp_path.iterdir())


def test_record_path_refuses_unsafe_names(tmp_path):
    h = "a" * 64
    for bad in ("../../escaped", "a/b", "..", ""):
        with pytest.raises(UserError, match="Invalid protocol name"):
            record_path(tmp_path, dataset="d", protocol=bad, method="lsh", n_bits=8, seed=0, id_hash=h)


def test_bad_files_are_listed_never_raised(tmp_path):
    good = make_rec()
    write_record(good, _path(tmp_path / "a", good))
    d = tmp_path / "a" / "x"
    d.mkdir()
    (d / "trunc.json").write_text(_path(tmp_path / "a", good).read_text()[:50])
    (d / "list.json").write_text("[1, 2]")
    (d / "latin1.json").write_bytes(b'{"method": "caf\xe9"}')
    (d / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    future = good.to_dict()
    future["schema_version"] = SCHEMA_VERSION + 1
    (d / "future.json").write_text(json.dumps(future))
    os.mkfifo(d / "fifo.json")  # would block a reader forever
    (d / "paper.json").write_text(json.dumps({"source": "paper"}))
    recs, errs = load_records(tmp_path)
    assert len(recs) == 1 and recs[0] == good
    msgs = " | ".join(str(e) for e in errs)
    for name, fragment in [
        ("future.json", "newer than this zshbench"),
        ("list.json", "JSON object"),
        ("trunc.json", "corrupt or truncated"),
        ("latin1.json", "is not UTF-8"),
        ("deep.json", "nested deeper"),
        ("fifo.json", "not a regular file"),
        ("paper.json", "published-numbers record"),
    ]:
        assert f"{name}: " in msgs and fragment in msgs, (name, msgs)
    assert len(errs) == 7


def _writer(args):
    path, i = args
    for _ in range(20):
        write_record(make_rec(metrics={"map@5000": i / 10, "map@all": i / 10}), path)
    return True


def test_concurrent_writers_never_corrupt(tmp_path):
    path = _path(tmp_path, make_rec())
    ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
    with ctx.Pool(2) as pool:
        assert all(pool.map(_writer, [(path, i) for i in range(4)]))
    rec = load_record(path)  # always one complete record
    assert rec.metrics["map@all"] == rec.metrics["map@5000"]
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# ---- schema versions and converters ------------------------------------------------------------------------


def test_v1_fixture_loads_through_the_converters():
    """tests/fixtures/records/v1_record.json was written by zshbench at schema 1 (lsh on digits, 32 bits)."""
    path = FIXTURES / "v1_record.json"
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1 and "complexity" not in raw
    rec = load_record(path)
    assert rec.schema_version == SCHEMA_VERSION == 3 and rec.converted_from == 2
    assert rec.complexity["counter"] == "none"
    assert rec.metrics == raw["metrics"] and rec.params == raw["params"]
    assert rec.metrics["map@5000"] == pytest.approx(0.4416, abs=1e-4)


def test_v2_fixture_converts_and_never_stands_in_for_a_new_run():
    """tests/fixtures/records/v2_record.json is a committed leaderboard record of schema 2 (lsh, digits, 24 bits)."""
    path = FIXTURES / "v2_record.json"
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 2
    rec = load_record(path)
    assert rec.converted_from == 2 and rec.k == 5000 and rec.metrics == raw["metrics"]
    assert rec.identity["dataset"]["fingerprint"] is None and rec.protocol["pinned"] is None
    assert rec.identity["features"] == {"spec": "pixels", "weights": None}
    assert validate(rec.to_dict()) == []  # a converted record can be rewritten as version 3
    from zshbench.runner import prepare

    prep = prepare("lsh", "digits", bits=[24], seeds=[0])
    slot = prep.slot("/tmp/unused", 24, 0)
    assert slot.id_hash != rec.identity_hash
    assert any(d.startswith("dataset.fingerprint") for d in identity_difference(rec.identity, slot.identity))


def test_converter_chain_does_not_mutate_and_rejects_bad_versions(tmp_path):
    v1 = json.loads((FIXTURES / "v1_record.json").read_text())
    before = json.dumps(v1, sort_keys=True)
    out = upgrade_record(v1)
    assert out["schema_version"] == SCHEMA_VERSION and json.dumps(v1, sort_keys=True) == before
    assert set(CONVERTERS) == {1, 2}
    for bad in (0, -1, "2", True):
        v = dict(v1, schema_version=bad)
        (tmp_path / "old.json").write_text(json.dumps(v))
        with pytest.raises(RecordError):
            load_record(tmp_path / "old.json")


# paper records (source: "paper"): tests/test_reported.py


def test_atomic_writes_are_not_private_and_keep_the_mode(tmp_path):
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
