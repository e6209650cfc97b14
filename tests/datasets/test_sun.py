"""``sun`` on a tiny tree: synthetic images.mat in the SUN Attribute DB format, the real attributes.mat and the
real xlsa17 att_splits.mat (both releases)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from _trees import sun_tree, xlsa17_names

from zshbench.datasets.sun import sun_class_of
from zshbench.errors import DataError
from zshbench.runner import load_dataset


def _classes(shared):
    names = xlsa17_names(shared, "SUN")
    return names[:3] + ["temple_south_asia", "monastery_outdoor"]


@pytest.mark.parametrize("release", ["", "release_2018"])
def test_loads_with_xlsa17_classes_and_attributes(tmp_path, shared_data, release):
    classes = _classes(shared_data)
    ds = load_dataset("sun", str(sun_tree(tmp_path, shared_data, classes, per_class=2, release=release)), image_size=8)
    names = xlsa17_names(shared_data, "SUN")
    assert ds.class_names == tuple(names) and len(names) == 717
    att = scipy.io.loadmat(str(shared_data / "xlsa17/SUN/att_splits.mat"))["original_att"].T
    np.testing.assert_allclose(ds.class_attributes, att, rtol=1e-6)
    assert ds.attribute_names[:2] == ("sailing/ boating", "driving") and len(ds.attribute_names) == 102
    counts = np.bincount(ds.labels, minlength=717)
    assert all(counts[names.index(c)] == 2 for c in classes) and counts.sum() == 10
    assert ds.get_images([0]).shape == (1, 8, 8, 3)
    assert ds.describe()["att_splits_release"].startswith("2018" if release else "2019")
    i = ds.class_index("temple_south_asia")
    assert all("t/temple/south_asia/" in p for p in np.asarray(ds.paths)[ds.labels == i])


def test_class_names_from_image_paths():
    assert sun_class_of("a/abbey/sun_aaa.jpg") == "abbey"
    assert sun_class_of("m/monastery/outdoor/sun_b.jpg") == "monastery_outdoor"
    with pytest.raises(DataError, match="not of the form"):
        sun_class_of("sun_b.jpg")


def test_unknown_scene_class_is_a_data_error(tmp_path, shared_data):
    root = sun_tree(tmp_path, shared_data, _classes(shared_data), per_class=1)
    f = root / "SUN/SUNAttributeDB/images.mat"
    names = [str(x[0][0]) for x in scipy.io.loadmat(str(f))["images"]] + ["z/zzz_nowhere/sun_x.jpg"]
    scipy.io.savemat(str(f), {"images": np.array(names, dtype=object).reshape(-1, 1)})
    with pytest.raises(DataError, match="zzz_nowhere"):
        load_dataset("sun", str(root))


def test_duplicate_image_names_are_a_data_error(tmp_path, shared_data):
    root = sun_tree(tmp_path, shared_data, _classes(shared_data), per_class=1)
    f = root / "SUN/SUNAttributeDB/images.mat"
    names = [str(x[0][0]) for x in scipy.io.loadmat(str(f))["images"]]
    scipy.io.savemat(str(f), {"images": np.array(names + names[:1], dtype=object).reshape(-1, 1)})
    with pytest.raises(DataError, match="more than once"):
        load_dataset("sun", str(root))


def test_missing_tree_names_all_three_downloads(tmp_path):
    with pytest.raises(DataError) as e:
        load_dataset("sun", str(tmp_path))
    msg = str(e.value)
    assert "SUN/SUNAttributeDB/images.mat" in msg and "xlsa17/data/SUN/att_splits.mat" in msg
    assert "sunattributes" in msg and "SUNAttributeDB_Images.tar.gz" in msg


def test_protocol_on_partial_tree_names_the_empty_class(tmp_path, shared_data):
    from zshbench.protocols import load_protocol, resolve

    ds = load_dataset("sun", str(sun_tree(tmp_path, shared_data, _classes(shared_data), per_class=2)))
    with pytest.raises(DataError, match=r"has \d+ items, needs 14"):
        resolve(load_protocol("sun-zsh"), ds)
    with pytest.raises(DataError, match=r"has \d+ items, needs 10"):
        resolve(load_protocol("sun-zsh@1"), ds)
