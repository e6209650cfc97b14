"""``folder:PATH``: class sub-folders, optional attributes.csv and protocol.toml, ad-hoc protocols."""

from __future__ import annotations

import numpy as np
import pytest
from _trees import image_bytes, write_files

from zshbench.datasets.folder import protocol_from_args
from zshbench.errors import DataError, UserError
from zshbench.protocols import load_protocol, resolve
from zshbench.runner import load_dataset

CLASSES = {"cat": 6, "dog": 5, "fox": 4}


def _tree(root, counts=CLASSES, attributes: str | None = None, protocol: str | None = None):
    for i, (c, n) in enumerate(counts.items()):
        for j in range(n):
            ext = ("jpg", "png", "JPEG")[j % 3]
            write_files(
                [root / c / f"img{j:02d}.{ext}"], image_bytes(10 * i + j, fmt="PNG" if ext == "png" else "JPEG")
            )
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    if attributes is not None:
        (root / "attributes.csv").write_text(attributes)
    if protocol is not None:
        (root / "protocol.toml").write_text(protocol)
    return root


PROTO = """name = "pets"
version = "1"
dataset = "folder"
seed = 0
seen = ["cat", "dog"]
unseen = ["fox"]
[counts]
train_per_class = 3
query_per_class = 2
database = "rest"
"""


def test_classes_items_and_labels_mode(tmp_path):
    ds = load_dataset(f"folder:{_tree(tmp_path / 'pets')}", image_size=8)
    assert ds.name == "folder-pets" and ds.class_names == ("cat", "dog", "fox") and len(ds) == 15
    assert ds.attribute_mode == "labels"
    np.testing.assert_array_equal(np.bincount(ds.labels), [6, 5, 4])
    assert ds.get_images([0, 14]).shape == (2, 8, 8, 3)
    assert ds.default_protocol.endswith("pets/protocol.toml")


def test_relative_path_under_the_data_root(tmp_path):
    _tree(tmp_path / "pets")
    assert len(load_dataset("folder:pets", data_root=str(tmp_path))) == 15
    with pytest.raises(DataError, match="no such directory"):
        load_dataset("folder:nothere", data_root=str(tmp_path))


def test_attributes_csv(tmp_path):
    path = _tree(tmp_path / "p", attributes="class,furry,wild\nfox,1,1\ncat,1,0\ndog,1,0.5\n")
    ds = load_dataset(f"folder:{path}")
    assert ds.attribute_mode == "annotations" and ds.attribute_names == ("furry", "wild")
    np.testing.assert_array_equal(ds.class_attributes, [[1, 0], [1, 0.5], [1, 1]])


@pytest.mark.parametrize(
    "csv, match",
    [
        ("class,a,b\ncat,1,2\ndog,1\nfox,0,0\n", "2 fields, the header has 3"),
        ("class,a\ncat,1\ndog,nan\nfox,0\n", "NaN"),
        ("class,a\ncat,1\ndog,x\nfox,0\n", "must be numbers"),
        (
            "class,a\ncat,1\nfox,0\nwolf,1\n",
            r"1 class\(es\) without a row \(dog\), 1 row\(s\) naming no class folder \(wolf\)",
        ),
        ("class,a\ncat,1\ncat,2\ndog,1\nfox,0\n", "listed twice"),
        ("name,a\ncat,1\n", "header must be"),
    ],
)
def test_bad_attributes_csv_is_a_data_error(tmp_path, csv, match):
    with pytest.raises(DataError, match=match):
        load_dataset(f"folder:{_tree(tmp_path / 'p', attributes=csv)}")


def test_protocol_toml_is_the_default(tmp_path):
    ds = load_dataset(f"folder:{_tree(tmp_path / 'p', protocol=PROTO)}")
    split = resolve(load_protocol(ds.default_protocol), ds)
    assert split.counts() == {"train": 6, "query": 2, "database": 7}


def test_class_with_too_few_images_is_named(tmp_path):
    ds = load_dataset(f"folder:{_tree(tmp_path / 'p', counts={'cat': 6, 'dog': 2, 'fox': 4}, protocol=PROTO)}")
    with pytest.raises(DataError, match=r"'dog' has 2 items, needs 3"):
        resolve(load_protocol(ds.default_protocol), ds)


def test_protocol_class_names_missing_from_the_data(tmp_path):
    ds = load_dataset(f"folder:{_tree(tmp_path / 'p', protocol=PROTO.replace('fox', 'foxes'))}")
    with pytest.raises(DataError, match=r"'foxes' \(did you mean 'fox'\?\)"):
        resolve(load_protocol(ds.default_protocol), ds)


def test_ad_hoc_protocol_from_arguments(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    path = _tree(tmp_path / "p", protocol=PROTO)
    ds = load_dataset(f"folder:{path}", unseen="dog", train_per_class=2, query_per_class=1)
    p = load_protocol(ds.default_protocol)
    assert p.version == "user" and p.seen == ("cat", "fox") and p.unseen == ("dog",) and p.seed == 0
    assert p.name.startswith("folder-p-user-") and ds.default_protocol.startswith(str(tmp_path / "cache"))
    assert resolve(p, ds).counts() == {"train": 4, "query": 1, "database": 10}
    same = protocol_from_args(ds, ["dog"], 2, 1)
    assert same.name == p.name and same.sha256 == p.sha256  # the written file reproduces it exactly
    assert protocol_from_args(ds, "dog,fox", 2, 1).unseen == ("dog", "fox")
    with pytest.raises(UserError, match="Did you mean"):
        protocol_from_args(ds, "dgo", 2, 1)
    with pytest.raises(UserError, match="at least one class must stay seen"):
        protocol_from_args(ds, "cat,dog,fox", 2, 1)
    with pytest.raises(UserError, match="missing: query_per_class"):
        load_dataset(f"folder:{path}", unseen="dog", train_per_class=2)


def test_run_end_to_end_on_a_folder(tmp_path, monkeypatch):
    from zshbench.runner import run

    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    path = _tree(tmp_path / "pets", protocol=PROTO)
    (rec,) = run("lsh", f"folder:{path}", bits=[8], results_dir=tmp_path / "res", progress=False, device="cpu")
    assert rec["dataset"] == "folder-pets" and rec["split_counts"] == {
        "train": 6,
        "query": 2,
        "database": 7,
        "content_duplicates": 0,
    }


def test_files_that_are_not_images_are_all_named_at_load(tmp_path):
    path = _tree(tmp_path / "p")
    (path / "dog" / "img01.png").write_bytes(b"broken")
    (path / "fox" / "img00.jpg").write_bytes(b"")
    with pytest.raises(
        DataError,
        match=r"2 of 15 image file\(s\) are not readable images: dog/img01\.png \(not an "
        r"image PIL can identify\); fox/img00\.jpg \(empty file\)",
    ):
        load_dataset(f"folder:{path}", image_size=8)


def test_truncated_image_names_the_file_and_verify_lists_all(tmp_path):
    path = _tree(tmp_path / "p")
    for rel in ("dog/img01.png", "cat/img01.png"):  # headers intact, data cut short
        f = path / rel
        f.write_bytes(f.read_bytes()[:60])
    ds = load_dataset(f"folder:{path}", image_size=8)
    i = ds.paths.index(str(path / "dog" / "img01.png"))
    with pytest.raises(DataError, match=r"dog/img01\.png is corrupt.*verify_images\(\)` lists every such file"):
        ds.get_images([i])
    assert sorted(ds.verify_images()) == sorted(str(path / r) for r in ("dog/img01.png", "cat/img01.png"))


def test_empty_folder_is_a_data_error(tmp_path):
    (tmp_path / "e" / "cls").mkdir(parents=True)
    with pytest.raises(DataError, match="no .jpg/.jpeg/.png"):
        load_dataset(f"folder:{tmp_path / 'e'}")
