"""``cub`` on a tiny tree with the real CUB-200-2011 metadata (real image ids and paths, tiny JPEGs)."""

from __future__ import annotations

import numpy as np
import pytest
from _trees import cub_tree, id_names

from zshbench.errors import DataError
from zshbench.runner import load_dataset


def test_loads_real_metadata(tmp_path, shared_data):
    ds = load_dataset("cub", str(cub_tree(tmp_path, shared_data, per_class=2)), image_size=16)
    assert ds.class_names == tuple(id_names(shared_data / "cub/classes.txt"))
    assert ds.class_names[0] == "001.Black_footed_Albatross" and len(ds) == 400
    assert ds.attribute_names[0] == "has_bill_shape::curved_(up_or_down)" and len(ds.attribute_names) == 312
    np.testing.assert_allclose(
        ds.class_attributes, np.loadtxt(shared_data / "cub/attributes/class_attribute_labels_continuous.txt"), rtol=1e-6
    )
    np.testing.assert_array_equal(ds.labels, np.repeat(np.arange(200), 2))
    # items of a class are sorted by relative path (images.txt lists 0046_18 before 0009_34)
    rel = [p.split("/images/")[1] for p in ds.paths[:2]]
    assert rel == sorted(rel) and all(r.startswith("001.Black_footed_Albatross/") for r in rel)
    assert ds.get_images([0, 399]).shape == (2, 16, 16, 3)
    assert ds.default_protocol == "cub-zsh"


@pytest.mark.parametrize("place", ["CUB_200_2011/attributes.txt", "CUB_200_2011/attributes/attributes.txt"])
def test_attribute_names_accepted_inside_the_folder_too(tmp_path, shared_data, place):
    ds = load_dataset("cub", str(cub_tree(tmp_path, shared_data, per_class=1, attributes_txt=place)))
    assert len(ds.attribute_names) == 312


def test_missing_attribute_names_and_images_are_listed(tmp_path, shared_data):
    root = cub_tree(tmp_path, shared_data, per_class=1)
    (root / "attributes.txt").unlink()
    with pytest.raises(DataError, match=r"attributes\.txt.*caltech"):
        load_dataset("cub", str(root))
    root = cub_tree(tmp_path / "b", shared_data, per_class=1)
    victim = next((root / "CUB_200_2011/images/002.Laysan_Albatross").iterdir())
    victim.unlink()
    with pytest.raises(DataError, match=f"1 expected file.*{victim.name}"):
        load_dataset("cub", str(root))


def test_duplicate_image_path_is_a_data_error(tmp_path, shared_data):
    root = cub_tree(tmp_path, shared_data, per_class=1)
    f = root / "CUB_200_2011/images.txt"
    lines = f.read_text().splitlines()
    lines[1] = lines[1].split()[0] + " " + lines[0].split()[1]
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="more than once"):
        load_dataset("cub", str(root))


def test_inconsistent_label_file_is_a_data_error(tmp_path, shared_data):
    root = cub_tree(tmp_path, shared_data, per_class=1)
    f = root / "CUB_200_2011/image_class_labels.txt"
    f.write_text("\n".join(f.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(DataError, match="different image ids"):
        load_dataset("cub", str(root))


def test_wrong_attribute_shape_is_a_data_error(tmp_path, shared_data):
    root = cub_tree(tmp_path, shared_data, per_class=1)
    f = root / "CUB_200_2011/attributes/class_attribute_labels_continuous.txt"
    f.write_text("\n".join(" ".join(r.split()[:-1]) for r in f.read_text().splitlines()) + "\n")
    with pytest.raises(DataError, match="200 x 311, expected 200 x 312"):
        load_dataset("cub", str(root))


def test_corrupt_jpeg_fails_with_its_name(tmp_path, shared_data):
    ds = load_dataset("cub", str(cub_tree(tmp_path, shared_data, per_class=1)), image_size=8)
    open(ds.paths[3], "wb").write(b"\xff\xd8\xff garbage")
    with pytest.raises(DataError, match=ds.paths[3].split("/")[-1]):
        ds.get_images([2, 3])
