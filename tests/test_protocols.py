import json

import numpy as np
import pytest

from zshbench import get_dataset
from zshbench.datasets.base import ArrayDataset
from zshbench.errors import DataError, UnknownNameError, UserError
from zshbench.protocols import list_protocols, load_protocol, resolve
import sys

from zshbench.protocols.resolve import Protocol, check_split

resolve_mod = sys.modules["zshbench.protocols.resolve"]


def _toy(n_per=(10, 10, 10, 10)):
    labels = np.repeat(np.arange(len(n_per)), n_per)
    names = [f"c{i}" for i in range(len(n_per))]
    return ArrayDataset("toy", labels, names, features=np.random.default_rng(0).random((len(labels), 3)))


def _proto(**kw):
    d = dict(name="p", version="1", dataset="toy", seen=["c0", "c1"], unseen=["c2", "c3"],
             counts={"train_per_class": 4, "query_per_class": 3, "database": "rest"})
    d.update(kw)
    return Protocol.from_dict(d)


def test_builtin_protocols_listed_and_pinned():
    assert {"shapes-zsh", "digits-zsh"} <= set(list_protocols())
    for name in list_protocols():
        p = load_protocol(name)
        assert p.name == name and p.sha256


def test_shapes_protocol_counts_and_transfer_property():
    ds = get_dataset("shapes")()
    split = resolve(load_protocol("shapes-zsh"), ds)
    assert split.counts() == {"train": 4000, "query": 200, "database": 5800}
    seen_vals = {v for c in split.seen_classes for v in ds.class_names[c].split("_")}
    for c in split.unseen_classes:
        name = ds.class_names[c]
        assert all(v in seen_vals for v in name.split("_")), name  # every attribute value was seen
        assert name not in {ds.class_names[s] for s in split.seen_classes}


def test_digits_protocol_counts():
    split = resolve(load_protocol("digits-zsh"), get_dataset("digits")())
    assert split.counts() == {"train": 800, "query": 100, "database": 897}
    assert sorted(split.protocol.unseen) == ["eight", "three"]


def test_resolution_deterministic_disjoint_and_class_order_independent():
    ds = _toy()
    a, b = resolve(_proto(), ds), resolve(_proto(), ds)
    assert a.fingerprint == b.fingerprint and np.array_equal(a.query, b.query)
    assert not set(a.train) & set(a.query) and not set(a.train) & set(a.database) and not set(a.query) & set(a.database)
    assert len(a.train) + len(a.query) + len(a.database) == len(ds)
    # listing the classes in another order gives the same split
    c = resolve(_proto(seen=["c1", "c0"], unseen=["c3", "c2"]), ds)
    assert np.array_equal(np.sort(c.train), np.sort(a.train)) and np.array_equal(np.sort(c.query), np.sort(a.query))
    # another seed gives another split
    d = resolve(_proto(seed=1), ds)
    assert d.fingerprint != a.fingerprint


def test_fixed_database_count():
    split = resolve(_proto(counts={"train_per_class": 4, "query_per_class": 3, "database": 2}), _toy())
    assert split.counts() == {"train": 8, "query": 6, "database": 8}


@pytest.mark.parametrize(
    "kw, fragment",
    [
        (dict(seen=["c0", "c1"], unseen=["c1", "c2"]), "both seen and unseen: c1"),
        (dict(seen=["c0", "c0"]), "twice"),
        (dict(unseen=[]), "empty unseen"),
        (dict(counts={"train_per_class": -1, "query_per_class": 3}), "train_per_class"),
        (dict(counts={"train_per_class": 1, "query_per_class": 3, "database": "all"}), "database"),
    ],
)
def test_invalid_protocols(kw, fragment):
    with pytest.raises(UserError) as e:
        _proto(**kw)
    assert fragment in str(e.value)


def test_unknown_class_names_and_infeasible_counts():
    with pytest.raises(DataError, match="does not have.*'c9'"):
        resolve(_proto(unseen=["c2", "c9"]), _toy())
    with pytest.raises(DataError, match="'c1' has 3 items, needs 4"):
        resolve(_proto(), _toy((10, 3, 10, 10)))


def test_leak_checks_catch_overlap():
    labels = np.array([0, 0, 1, 1])
    with pytest.raises(DataError, match="both query and database"):
        check_split(np.array([0]), np.array([2]), np.array([2, 3]), labels, np.array([0]), np.array([1]))
    with pytest.raises(DataError, match="train set holds items of classes that are not seen"):
        check_split(np.array([2]), np.array([3]), np.array([0]), labels, np.array([0]), np.array([1]))


def test_unknown_protocol_name():
    with pytest.raises(UnknownNameError, match="Did you mean: shapes-zsh"):
        load_protocol("shape-zsh")


def test_edited_protocol_without_new_version_is_refused(tmp_path, monkeypatch):
    src = resolve_mod.PROTOCOL_DIR
    for f in src.glob("*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(sys.modules["zshbench.protocols.model"], "PROTOCOL_DIR", tmp_path)
    load_protocol("digits-zsh")
    text = (tmp_path / "digits-zsh.toml").read_text().replace("query_per_class = 50", "query_per_class = 40")
    (tmp_path / "digits-zsh.toml").write_text(text)
    with pytest.raises(UserError, match="edited without a new version"):
        load_protocol("digits-zsh")
    # comments do not change the content hash
    (tmp_path / "digits-zsh.toml").write_text((src / "digits-zsh.toml").read_text() + "\n# a comment\n")
    load_protocol("digits-zsh")
    pins = json.loads((tmp_path / "pins.json").read_text())
    assert "digits-zsh@1" in pins


def test_user_protocol_file(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('name = "mine"\nversion = "1"\ndataset = "toy"\nseen = ["c0", "c1"]\nunseen = ["c2"]\n'
                 '[counts]\ntrain_per_class = 2\nquery_per_class = 2\n')
    p = load_protocol(str(f))
    assert resolve(p, _toy()).counts()["query"] == 2
    f.write_text("name = [broken")
    with pytest.raises(UserError, match="not valid TOML"):
        load_protocol(str(f))


def test_find_content_duplicates_counts_items_across_parts():
    from zshbench.protocols import find_content_duplicates

    feats = np.random.default_rng(0).random((8, 3))
    feats[5] = feats[1]  # 1 and 5: two parts
    feats[3] = feats[2]  # 2 and 3: the same part (not a leak)
    ds = ArrayDataset("toy", np.repeat(np.arange(2), 4), ["c0", "c1"], features=feats)
    n, ex = find_content_duplicates(ds, {"train": np.array([0, 1]), "query": np.array([5, 6]),
                                         "database": np.array([2, 3, 4, 7])})
    assert n == 2 and ex == [("item 1", "train", "item 5", "query")]


def test_unpinned_protocol_with_duplicates_is_refused_and_index_split_unchanged():
    ds = _toy()
    ds._features[ds.labels == 2] = ds._features[ds.labels == 0]  # unseen c2 copies seen c0
    with pytest.raises(DataError, match=r"item\(s\) of the split of protocol 'p' on dataset 'toy' are byte-identical"):
        resolve(_proto(), ds)
    split = resolve(_proto(), ds, check_content=False)
    assert split.content_duplicates == 0 and split.fingerprint == resolve(_proto(), _toy()).fingerprint


def test_protocol_names_are_checked_even_when_built_directly():
    with pytest.raises(UserError, match=r"Invalid protocol name: '\.\./x'"):
        Protocol(name="../x", version="1", dataset="toy", seen=("c0",), unseen=("c1",), train_per_class=1,
                 query_per_class=1)
    p = _proto()
    assert not p.pinned and p.sha256 == resolve_mod.content_sha256(
        dict(name="p", version="1", dataset="toy", seen=["c0", "c1"], unseen=["c2", "c3"],
             counts={"train_per_class": 4, "query_per_class": 3, "database": "rest"}))
