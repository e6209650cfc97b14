import numpy as np
import pytest

from zshbench.errors import UserError
from zshbench.records import load_records
from zshbench.runner import run


def _strip(rec):
    skip = {"timings", "created_utc", "environment", "content_sha256"}
    return {k: v for k, v in rec.to_dict().items() if k not in skip}


def test_run_writes_skips_and_forces(tmp_path):
    recs = run("lsh", "digits", bits=[16, 32], seeds=[0, 1], results_dir=tmp_path, progress=False)
    assert len(recs) == 4 and [(r["n_bits"], r["seed"]) for r in recs] == [(16, 0), (16, 1), (32, 0), (32, 1)]
    on_disk, errors = load_records(tmp_path)
    assert len(on_disk) == 4 and not errors
    r = recs[0]
    assert r["protocol"]["name"] == "digits-zsh" and r["split_counts"] == {
        "train": 800,
        "query": 100,
        "seen_query": 304,
        "database": 593,
        "content_duplicates": 0,
    }
    for m in ("map@5000", "map@all", "tie_aware_map@5000", "tie_aware_map@all"):
        assert 0.0 <= r["metrics"][m] <= 1.0
    assert r["features"]["spec"] == "pixels"
    mtimes = {p: __import__("os").path.getmtime(p) for p in (x["_path"] for x in recs)}
    statuses = []
    again = run(
        "lsh",
        "digits",
        bits=[16, 32],
        seeds=[0, 1],
        results_dir=tmp_path,
        progress=False,
        on_record=lambda rec, s: statuses.append(s),
    )
    assert statuses == ["skipped"] * 4 and [x["_path"] for x in again] == [x["_path"] for x in recs]
    assert all(__import__("os").path.getmtime(p) == t for p, t in mtimes.items())
    statuses.clear()
    run(
        "lsh",
        "digits",
        bits=[16],
        seeds=[0],
        results_dir=tmp_path,
        progress=False,
        force=True,
        on_record=lambda rec, s: statuses.append(s),
    )
    assert statuses == ["new"]


def test_same_seed_gives_identical_record(tmp_path):
    a = run("lsh", "digits", bits=[24], seeds=[3], results_dir=tmp_path / "a", progress=False)[0]
    b = run("lsh", "digits", bits=[24], seeds=[3], results_dir=tmp_path / "b", progress=False)[0]
    assert _strip(a) == _strip(b)
    c = run("lsh", "digits", bits=[24], seeds=[4], results_dir=tmp_path / "c", progress=False)[0]
    assert c["metrics"] != a["metrics"]


def test_config_override_changes_hash_and_path(tmp_path):
    a = run("lsh", "digits", bits=[16], results_dir=tmp_path, progress=False)[0]
    b = run("lsh", "digits", bits=[16], results_dir=tmp_path, progress=False, overrides=["center=false"])[0]
    assert a["config_hash"] != b["config_hash"] and a["_path"] != b["_path"]
    assert b["params"]["center"] is False


def test_shapes_lsh_beats_chance(tmp_path):
    r = run("lsh", "shapes", bits=[64], results_dir=tmp_path, progress=False)[0]
    assert r["split_counts"] == {
        "train": 4000,
        "query": 200,
        "seen_query": 800,
        "database": 5000,
        "content_duplicates": 0,
    }
    # 10 unseen of 50 classes, 180 relevant items of 5,000: chance mAP is about 0.04
    assert r["metrics"]["map@all"] > 0.03


@pytest.mark.parametrize(
    "kw, fragment",
    [
        (dict(bits=[4]), "out of range"),
        (dict(overrides=["n_bits=32"]), "--bits"),
        (dict(overrides=["nope=1"]), "Valid keys"),
        (dict(protocol="shapes-zsh"), "does not have"),
        (dict(k=0), "k must be a positive"),
        (dict(features="native"), "ships none"),
        (dict(device="tpu"), "Unknown device"),
    ],
)
def test_bad_inputs_fail_before_any_record(tmp_path, kw, fragment):
    with pytest.raises(UserError) as e:
        run("lsh", "digits", results_dir=tmp_path, progress=False, **kw)
    assert fragment in str(e.value)
    assert not list(tmp_path.rglob("*.json"))


def test_image_method_on_feature_only_dataset_refused(tmp_path):

    from zshbench.datasets.base import ArrayDataset
    from zshbench.hasher import Hasher, Requirements
    from zshbench.registry import DATASETS, METHODS, register_dataset, register_method

    @register_method("tmp-img")
    class ImgHasher(Hasher):
        requires = Requirements(inputs="images")

    @register_dataset("tmp-feat")
    def feat(data_root=None):
        labels = np.repeat(np.arange(4), 10)
        return ArrayDataset("tmp-feat", labels, list("abcd"), features=np.random.rand(40, 3))

    try:
        with pytest.raises(UserError, match="trains on images.*only precomputed features"):
            run("tmp-img", "tmp-feat", protocol="digits-zsh", results_dir=tmp_path, progress=False)
    finally:
        METHODS.unregister("tmp-img")
        DATASETS.unregister("tmp-feat")
