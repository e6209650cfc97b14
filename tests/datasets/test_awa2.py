"""``awa2`` on a tiny tree with the real AwA2 metadata (classes, predicates, both matrices)."""

from __future__ import annotations

import numpy as np
import pytest
from _trees import awa2_tree, id_names

from zshbench.cli import main
from zshbench.errors import DataError
from zshbench.runner import load_dataset


def test_loads_real_metadata_with_lazy_square_images(tmp_path, shared_data):
    ds = load_dataset("awa2", str(awa2_tree(tmp_path, shared_data, per_class=2)), image_size=16)
    assert ds.class_names == tuple(id_names(shared_data / "awa2/classes.txt"))
    assert ds.class_names[:2] == ("antelope", "grizzly+bear") and len(ds) == 100
    assert ds.attribute_names[0] == "black" and ds.class_attributes.shape == (50, 85)
    assert ds.default_protocol == "awa2-zsh"
    np.testing.assert_array_equal(ds.labels, np.repeat(np.arange(50), 2))
    assert ds.paths[0].endswith("JPEGImages/antelope/antelope_10001.jpg")
    assert ds.get_images([5, 99]).shape == (2, 16, 16, 3)


def test_antelope_missing_values_are_imputed_by_the_attribute_mean(tmp_path, shared_data):
    raw = np.loadtxt(shared_data / "awa2/predicate-matrix-continuous.txt")
    assert (raw == -1).sum() == 4 and (raw[0, :4] == -1).all()  # the release's four missing values
    ds = load_dataset("awa2", str(awa2_tree(tmp_path, shared_data, per_class=1)))
    att = ds.class_attributes.astype(np.float64)
    np.testing.assert_allclose(att[0, :4], raw[1:, :4].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(att[1:], raw[1:], rtol=1e-6)
    np.testing.assert_allclose(att[0, 4:], raw[0, 4:], rtol=1e-6)
    assert (att >= 0).all()
    assert ds.describe()["imputed_attributes"] == [
        "antelope:black",
        "antelope:white",
        "antelope:blue",
        "antelope:brown",
    ]


def test_binary_attributes_as_released(tmp_path, shared_data):
    ds = load_dataset("awa2", str(awa2_tree(tmp_path, shared_data, per_class=1)), attributes="binary")
    np.testing.assert_array_equal(ds.class_attributes, np.loadtxt(shared_data / "awa2/predicate-matrix-binary.txt"))
    with pytest.raises(ValueError, match="continuous' or 'binary"):
        load_dataset("awa2", str(tmp_path), attributes="fuzzy")


def test_empty_root_lists_missing_files_and_where_to_get_them(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset("awa2", str(tmp_path))
    msg = str(e.value)
    assert "4 expected file(s) are missing" in msg and "predicates.txt" in msg
    assert "cvml.ist.ac.at/AwA2" in msg and "Animals_with_Attributes2/" in msg and "JPEGImages" in msg


def test_cli_run_on_empty_root_exits_2_with_download_hint(tmp_path, capsys):
    code = main(
        [
            "run",
            "--method",
            "lsh",
            "--dataset",
            "awa2",
            "--data-root",
            str(tmp_path),
            "--no-progress",
            "--results",
            str(tmp_path / "res"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "cvml.ist.ac.at/AwA2" in " ".join(err.split()) and "Animals_with_Attributes2" in err


def test_missing_class_folders_are_listed(tmp_path, shared_data):
    import shutil

    root = awa2_tree(tmp_path, shared_data, per_class=1)
    for c in ("zebra", "dolphin"):
        shutil.rmtree(root / "Animals_with_Attributes2/JPEGImages" / c)
    with pytest.raises(DataError, match=r"2 expected file\(s\).*JPEGImages/zebra"):
        load_dataset("awa2", str(root))


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda rows: rows[:-1], r"shape 49 x 85, expected 50 x 85"),
        (lambda rows: [rows[0].replace("12.34", "nan", 1)] + rows[1:], "NaN"),
        (lambda rows: [rows[0].replace("12.34", "x", 1)] + rows[1:], "not a numeric matrix"),
    ],
)
def test_malformed_attribute_matrix_is_a_data_error(tmp_path, shared_data, edit, match):
    root = awa2_tree(tmp_path, shared_data, per_class=1)
    f = root / "Animals_with_Attributes2/predicate-matrix-continuous.txt"
    f.write_text("\n".join(edit(f.read_text().splitlines())) + "\n")
    with pytest.raises(DataError, match=match):
        load_dataset("awa2", str(root))


def test_protocol_needing_more_images_than_the_tree_names_the_class(tmp_path, shared_data):
    from zshbench.protocols import load_protocol, resolve

    ds = load_dataset("awa2", str(awa2_tree(tmp_path, shared_data, per_class=3)))
    with pytest.raises(DataError, match=r"'antelope' has 3 items, needs 87"):
        resolve(load_protocol("awa2-zsh"), ds)
    with pytest.raises(DataError, match=r"'antelope' has 3 items, needs 100"):
        resolve(load_protocol("awa2-zsh@1"), ds)
