"""The xlsa17 feature datasets on fixture res101.mat files next to copies of the real att_splits.mat (both
releases), class alignment by name, and the end-to-end CLI paths on a real-format AwA2 tree."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io
from _trees import awa2_tree, cub_tree, res101_tree, xlsa17_names

from zshbench.cli import main
from zshbench.errors import DataError
from zshbench.runner import load_dataset


@pytest.mark.parametrize("release", ["", "release_2018"])
def test_awa2_res101_both_releases(tmp_path, shared_data, release):
    written = res101_tree(tmp_path, shared_data, "AWA2", per_class=3, dim=8, release=release)
    ds = load_dataset("awa2-res101", str(tmp_path))
    assert ds.name == "awa2-res101" and ds.default_protocol == "awa2-zsh"
    assert ds.class_names == tuple(xlsa17_names(shared_data, "AWA2")) and ds.class_names[1] == "grizzly+bear"
    assert len(ds) == 150 and ds.feature_dim == 8 and ds.has_features and not ds.has_images
    f = ds.get_features(np.arange(len(ds)))
    assert f.dtype == np.float32 and f.shape == (150, 8)
    np.testing.assert_array_equal(f[:, 0], ds.labels)  # rows stay with their labels through the re-ordering
    np.testing.assert_array_equal(ds.labels, np.repeat(np.arange(50), 3))
    assert sorted(map(tuple, f.round(5))) == sorted(map(tuple, written["features"].T.round(5)))
    assert ds.describe()["att_splits_release"].startswith("2018" if release else "2019")
    assert (ds.class_attributes >= 0).all() and len(ds.describe()["imputed_attributes"]) == 4
    assert ds.attribute_names[0] == "a1"  # no AwA2 release next to it


def test_awa2_res101_matches_awa2_attributes_and_names(tmp_path, shared_data):
    awa2_tree(tmp_path, shared_data, per_class=1)
    res101_tree(tmp_path, shared_data, "AWA2", per_class=1, dim=4)
    a, b = load_dataset("awa2", str(tmp_path)), load_dataset("awa2-res101", str(tmp_path))
    assert a.class_names == b.class_names and a.attribute_names == b.attribute_names
    np.testing.assert_array_equal(a.class_attributes, b.class_attributes)
    n = load_dataset("awa2-res101", str(tmp_path), attributes="normalized")
    np.testing.assert_allclose(np.linalg.norm(n.class_attributes, axis=1), 1.0, rtol=1e-4)


def test_cub_res101_aligns_classes_by_name_not_position(tmp_path, shared_data):
    cub_tree(tmp_path, shared_data, per_class=1)
    res101_tree(tmp_path, shared_data, "CUB", per_class=2, dim=4)
    img, feat = load_dataset("cub", str(tmp_path)), load_dataset("cub-res101", str(tmp_path))
    xl = xlsa17_names(shared_data, "CUB")
    assert xl[:2] == ["002.Laysan_Albatross", "003.Sooty_Albatross"]  # xlsa17's own order differs
    assert feat.class_names == img.class_names  # ... but the dataset uses CUB's classes.txt order
    np.testing.assert_allclose(feat.class_attributes, img.class_attributes, rtol=1e-5, atol=1e-5)
    assert feat.attribute_names == img.attribute_names
    f = feat.get_features(np.arange(len(feat)))
    # feature column 0 holds the xlsa17 class index: it must name the same class as the dataset label
    assert [xl[int(v)] for v in f[:, 0]] == [feat.class_names[c] for c in feat.labels]


def test_sun_res101_subset_of_classes(tmp_path, shared_data):
    names = xlsa17_names(shared_data, "SUN")
    res101_tree(tmp_path, shared_data, "SUN", per_class=2, dim=4, classes=names[10:13], release="release_2018")
    ds = load_dataset("sun-res101", str(tmp_path))
    assert ds.n_classes == 717 and len(ds) == 6 and ds.class_attributes.shape == (717, 102)
    assert ds.default_protocol == "sun-zsh"


def _rewrite(tmp_path, family, **changes):
    f = tmp_path / f"xlsa17/data/{family}/res101.mat"
    m = scipy.io.loadmat(str(f))
    m = {k: v for k, v in m.items() if not k.startswith("__")}
    m.update(changes(m) if callable(changes) else changes)
    scipy.io.savemat(str(f), m)


def test_duplicate_image_files_and_bad_labels_are_data_errors(tmp_path, shared_data):
    w = res101_tree(tmp_path, shared_data, "AWA2", per_class=2, dim=4)
    files = list(w["image_files"])
    files[1] = files[0]
    _rewrite(tmp_path, "AWA2", image_files=np.array(files, dtype=object).reshape(-1, 1))
    with pytest.raises(DataError, match="more than once"):
        load_dataset("awa2-res101", str(tmp_path))
    labels = w["labels"].copy()
    labels[0] = 51
    _rewrite(tmp_path, "AWA2", labels=labels, image_files=np.array(w["image_files"], dtype=object).reshape(-1, 1))
    with pytest.raises(DataError, match=r"1-based rows of allclasses_names \(1..50\)"):
        load_dataset("awa2-res101", str(tmp_path))
    _rewrite(tmp_path, "AWA2", labels=w["labels"], features=np.zeros((4, 7), np.float32))
    with pytest.raises(DataError, match="expected \\(D, 100\\)"):
        load_dataset("awa2-res101", str(tmp_path))


def test_attribute_matrix_with_wrong_shape_or_nan(tmp_path, shared_data):
    res101_tree(tmp_path, shared_data, "AWA2", per_class=1, dim=4)
    f = tmp_path / "xlsa17/data/AWA2/att_splits.mat"
    m = {k: v for k, v in scipy.io.loadmat(str(f)).items() if not k.startswith("__")}
    bad = m["original_att"].copy()
    bad[3, 7] = np.nan
    scipy.io.savemat(str(f), {**m, "original_att": bad})
    with pytest.raises(DataError, match="NaN"):
        load_dataset("awa2-res101", str(tmp_path))
    scipy.io.savemat(str(f), {**m, "original_att": m["original_att"][:, :49]})
    with pytest.raises(DataError, match=r"shape \(85, 49\)"):
        load_dataset("awa2-res101", str(tmp_path))


def test_missing_files_name_xlsa17(tmp_path):
    with pytest.raises(DataError, match=r"xlsa17/data/CUB/res101\.mat.*mpi-inf\.mpg\.de"):
        load_dataset("cub-res101", str(tmp_path))


# --- end to end on one real-format AwA2 tree that meets awa2-zsh (101 images / feature rows per class) --------
@pytest.fixture(scope="module")
def awa2_full(tmp_path_factory):
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real dataset metadata not found at {SHARED_DATA}")
    root = tmp_path_factory.mktemp("awa2_full")
    awa2_tree(root, SHARED_DATA, per_class=101)
    res101_tree(root, SHARED_DATA, "AWA2", per_class=101, dim=2048, seed=1)
    return root


def test_image_and_feature_datasets_meet_on_identical_splits(awa2_full):
    from zshbench.protocols import load_protocol, resolve

    p = load_protocol("awa2-zsh@1")  # the fixture's res101.mat is synthetic: no real test_seen_loc images
    a = resolve(p, load_dataset("awa2", str(awa2_full)))
    b = resolve(p, load_dataset("awa2-res101", str(awa2_full)))
    assert a.counts() == b.counts() == {"train": 4000, "query": 1000, "database": 50}
    assert a.fingerprint == b.fingerprint


def test_cli_run_lsh_on_awa2_res101(awa2_full, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    code = main(
        [
            "run",
            "--method",
            "lsh",
            "--dataset",
            "awa2-res101",
            "--protocol",
            "awa2-zsh@1",
            "--data-root",
            str(awa2_full),
            "--bits",
            "32",
            "--no-progress",
            "--results",
            str(tmp_path / "res"),
            "--device",
            "cpu",
        ]
    )
    assert code == 0, capsys.readouterr().err
    (rec_path,) = (tmp_path / "res").rglob("*.json")
    rec = json.loads(rec_path.read_text())
    assert rec["dataset"] == "awa2-res101" and (rec["protocol"]["name"], rec["protocol"]["version"]) == (
        "awa2-zsh",
        "1",
    )
    assert rec["split_counts"] == {"train": 4000, "query": 1000, "database": 50, "content_duplicates": 0}
    assert rec["dataset_info"]["feature_dim"] == 2048 and 0.0 <= rec["metrics"]["map@5000"] <= 1.0


def test_cli_protocol_show_prints_classes_and_fingerprint(awa2_full, capsys):
    assert main(["protocol", "show", "awa2-zsh@1", "--data-root", str(awa2_full)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "unseen (10):" in out and "sheep" in out and "seen (40):" in out
    assert "counts: train 4000, query 1000, database 50" in out and "split fingerprint:" in out


def test_feature_datasets_have_a_root_and_feature_content_hashes(tmp_path, shared_data):
    import hashlib

    res101_tree(tmp_path, shared_data, "AWA2", per_class=2, dim=8)
    ds = load_dataset("awa2-res101", str(tmp_path))
    assert ds.root == str((tmp_path / "xlsa17/data/AWA2").resolve())
    assert ds.content_hashes([3]) == [hashlib.sha256(ds.get_features([3])[0].tobytes()).hexdigest()]
