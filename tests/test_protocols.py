import json
import sys

import numpy as np
import pytest

from zshbench import get_dataset
from zshbench.datasets.base import ArrayDataset
from zshbench.errors import DataError, UnknownNameError, UserError
from zshbench.protocols import list_protocols, load_protocol, resolve
from zshbench.protocols.resolve import Protocol, check_split

resolve_mod = sys.modules["zshbench.protocols.resolve"]


def _toy(n_per=(10, 10, 10, 10)):
    labels = np.repeat(np.arange(len(n_per)), n_per)
    names = [f"c{i}" for i in range(len(n_per))]
    return ArrayDataset("toy", labels, names, features=np.random.default_rng(0).random((len(labels), 3)))


def _proto(**kw):
    d = dict(
        name="p",
        version="1",
        dataset="toy",
        seen=["c0", "c1"],
        unseen=["c2", "c3"],
        counts={"train_per_class": 4, "query_per_class": 3, "database": "rest"},
    )
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
    assert split.protocol.version == "2"
    assert split.counts() == {"train": 4000, "query": 200, "seen_query": 800, "database": 5000}
    assert resolve(load_protocol("shapes-zsh@1"), ds).counts() == {"train": 4000, "query": 200, "database": 5800}
    seen_vals = {v for c in split.seen_classes for v in ds.class_names[c].split("_")}
    for c in split.unseen_classes:
        name = ds.class_names[c]
        assert all(v in seen_vals for v in name.split("_")), name  # every attribute value was seen
        assert name not in {ds.class_names[s] for s in split.seen_classes}


def test_digits_protocol_counts():
    ds = get_dataset("digits")()
    split = resolve(load_protocol("digits-zsh"), ds)
    assert split.counts() == {"train": 800, "query": 100, "seen_query": 304, "database": 593}
    assert sorted(split.protocol.unseen) == ["eight", "three"]
    # 38 = half of what the smallest seen class (two, 177 images) keeps after 100 training images
    sizes = np.bincount(ds.labels)[split.seen_classes]
    assert split.protocol.seen_query_per_class == min(50, (sizes.min() - 100) // 2) == 38
    assert resolve(load_protocol("digits-zsh@1"), ds).counts() == {"train": 800, "query": 100, "database": 897}


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
    f.write_text(
        'name = "mine"\nversion = "1"\ndataset = "toy"\nseen = ["c0", "c1"]\nunseen = ["c2"]\n'
        "[counts]\ntrain_per_class = 2\nquery_per_class = 2\n"
    )
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
    n, ex = find_content_duplicates(
        ds, {"train": np.array([0, 1]), "query": np.array([5, 6]), "database": np.array([2, 3, 4, 7])}
    )
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
        Protocol(
            name="../x", version="1", dataset="toy", seen=("c0",), unseen=("c1",), train_per_class=1, query_per_class=1
        )
    p = _proto()
    assert not p.pinned and p.sha256 == resolve_mod.content_sha256(
        dict(
            name="p",
            version="1",
            dataset="toy",
            seen=["c0", "c1"],
            unseen=["c2", "c3"],
            counts={"train_per_class": 4, "query_per_class": 3, "database": "rest"},
        )
    )


# -- seen queries, versions ------------------------------------------------------------------------------------
V1_FINGERPRINTS = {  # computed before seen queries existed; a v1 record's split_fingerprint must stay valid
    "shapes-zsh@1": "9c4a7bc34b79d00f80fe15cf1072676e1467a0a430b8fc0a6044984b413b63e9",
    "digits-zsh@1": "6390daf8e660b4258e4457adb2fa553c8114b6cb4bbdb174193b6a5a0925da8d",
}
V2_FINGERPRINTS = {
    "shapes-zsh@2": "9ff47617ccef05311c01280284d6d332a8544f34ba41e35b37c1eb5e4b2c1f59",
    "digits-zsh@2": "15ff9703f994e1792114c091ae589ef249138c76db7ae16165d8ef9f4dd79181",
}


def _local_versions():
    """Every version of every built-in protocol whose dataset this machine can build (shapes, digits)."""
    from zshbench.protocols import protocol_versions

    return [
        f"{n}@{v}"
        for n in list_protocols()
        if load_protocol(n).dataset in ("shapes", "digits")
        for v in protocol_versions(n)
    ]


def assert_disjoint_parts(split, labels):
    """train, unseen query, seen query, database seen part, database unseen part: pairwise disjoint, classes
    right, no item twice, and together with the database's other classes exactly the database."""
    parts = split.parts(labels)
    assert list(parts) == ["train", "query", "seen_query", "database_seen", "database_unseen"]
    names = list(parts)
    for i, a in enumerate(names):
        assert len(np.unique(parts[a])) == len(parts[a]), a
        for b in names[i + 1 :]:
            assert not np.intersect1d(parts[a], parts[b]).size, (a, b)
    seen, unseen = split.seen_classes, split.unseen_classes
    assert np.isin(labels[parts["train"]], seen).all() and np.isin(labels[parts["seen_query"]], seen).all()
    assert np.isin(labels[parts["query"]], unseen).all() and np.isin(labels[parts["database_unseen"]], unseen).all()
    assert np.isin(labels[parts["database_seen"]], seen).all()
    unlisted = (~np.isin(labels[split.database], np.r_[seen, unseen])).sum()  # "rest": classes not listed
    assert len(parts["database_seen"]) + len(parts["database_unseen"]) + unlisted == len(split.database)


@pytest.mark.parametrize("ref", _local_versions())
def test_every_local_protocol_version_has_disjoint_parts(ref):
    ds = get_dataset(load_protocol(ref).dataset)()
    split = resolve(load_protocol(ref), ds)
    assert_disjoint_parts(split, ds.labels)
    p = split.protocol
    per_class = np.bincount(ds.labels[split.seen_query], minlength=len(ds.class_names))[split.seen_classes]
    assert (per_class == p.seen_query_per_class).all()
    assert len(split.train) + len(split.query) + len(split.seen_query) + len(split.database) == len(ds)


def test_v1_fingerprints_unchanged_and_v2_pinned():
    for ref, fp in {**V1_FINGERPRINTS, **V2_FINGERPRINTS}.items():
        p = load_protocol(ref)
        assert p.pinned and p.ref == ref
        assert resolve(p, get_dataset(p.dataset)()).fingerprint == fp, ref


def test_v2_keeps_v1_train_and_takes_seen_queries_from_its_database():
    for name in ("shapes-zsh", "digits-zsh"):
        ds = get_dataset(load_protocol(name).dataset)()
        v1, v2 = resolve(load_protocol(f"{name}@1"), ds), resolve(load_protocol(name), ds)
        assert np.array_equal(v1.train, v2.train) and np.array_equal(v1.query, v2.query)
        assert np.isin(v2.seen_query, v1.database).all()
        assert np.array_equal(np.sort(np.r_[v2.database, v2.seen_query]), v1.database)


def test_fingerprint_formula():
    from zshbench.protocols.resolve import fingerprint

    def sha(*parts):
        import hashlib

        h = hashlib.sha256()
        for part in parts:
            h.update(np.sort(np.asarray(part, dtype=np.int64)).tobytes() + b"|")
        return h.hexdigest()

    a, b, c, d = np.array([3, 1]), np.array([2]), np.array([5, 4]), np.array([0])
    assert fingerprint(a, b, c) == fingerprint(a, b, c, np.zeros(0, np.int64)) == sha(a, b, c)
    assert fingerprint(a, b, c, d) == sha(a, b, c, d) != sha(a, b, c)


def test_name_at_version_loading():
    from zshbench.protocols import protocol_versions

    old, new = load_protocol("shapes-zsh@1"), load_protocol("shapes-zsh")
    assert (old.version, new.version) == ("1", "2") and old.pinned and new.pinned
    assert old.seen_query_per_class == 0 and new.seen_query_per_class == 20
    assert load_protocol("shapes-zsh@2") == new
    assert old.path.endswith("shapes-zsh@1.toml") and protocol_versions("shapes-zsh") == ["1", "2"]
    assert "shapes-zsh@1" not in list_protocols()
    with pytest.raises(UserError, match=r"has no version '7'; its versions: 1, 2 \(newest: 2"):
        load_protocol("shapes-zsh@7")
    with pytest.raises(UnknownNameError, match="Did you mean: shapes-zsh"):
        load_protocol("shape-zsh@1")
    with pytest.raises(UserError, match="incomplete"):
        load_protocol("shapes-zsh@")


def test_seen_queries_rest_source_on_a_toy():
    ds = _toy((12, 12, 10, 10))
    p = _proto(counts={"train_per_class": 4, "query_per_class": 3, "seen_query_per_class": 2, "database": "rest"})
    split = resolve(p, ds)
    assert split.counts() == {"train": 8, "query": 6, "seen_query": 4, "database": 26}
    assert_disjoint_parts(split, ds.labels)
    v1 = resolve(_proto(), ds)
    assert np.array_equal(v1.train, split.train) and v1.fingerprint != split.fingerprint
    fixed = resolve(
        _proto(counts={"train_per_class": 4, "query_per_class": 3, "seen_query_per_class": 2, "database": 5}), ds
    )
    assert fixed.counts() == {"train": 8, "query": 6, "seen_query": 4, "database": 20}
    with pytest.raises(DataError, match="'c1' has 7 items, needs 8"):
        resolve(
            _proto(counts={"train_per_class": 4, "query_per_class": 3, "seen_query_per_class": 4}),
            _toy((12, 7, 10, 10)),
        )


class _PoolToy(ArrayDataset):
    item_sets = ("xlsa17-test-seen",)

    def __init__(self, pool, n_per=(10, 10, 10, 10)):
        labels = np.repeat(np.arange(len(n_per)), n_per)
        super().__init__(
            "toy",
            labels,
            [f"c{i}" for i in range(len(n_per))],
            features=np.random.default_rng(0).random((len(labels), 3)),
        )
        self.pool = np.asarray(pool, dtype=np.int64)

    def item_set(self, name):
        assert name == "xlsa17-test-seen"
        return self.pool


def test_seen_queries_from_an_item_set():
    pool = np.r_[0, 2, 4, 6, 11, 13, 15, 17, 19]  # c0: 4 items, c1: 5 items
    p = _proto(
        seen_query_source="xlsa17-test-seen",
        counts={"train_per_class": 4, "query_per_class": 3, "seen_query_per_class": 3},
    )
    split = resolve(p, _PoolToy(pool))
    assert split.counts() == {"train": 8, "query": 6, "seen_query": 6, "database": 20}
    assert np.isin(split.seen_query, pool).all() and not np.isin(split.train, pool).any()
    assert_disjoint_parts(split, _PoolToy(pool).labels)
    # the draw follows the class permutation: the first items inside / outside the pool
    rng = resolve_mod._class_rng(0, "c0")
    perm = np.arange(10)[rng.permutation(10)]
    assert np.array_equal(np.sort(split.seen_query[split.seen_query < 10]), np.sort(perm[np.isin(perm, pool)][:3]))
    assert np.array_equal(np.sort(split.train[split.train < 10]), np.sort(perm[~np.isin(perm, pool)][:4]))
    with pytest.raises(
        DataError,
        match=r"'c0' has 10 items, 2 of them in xlsa17-test-seen, needs 4 outside it for "
        r"train, 3 inside it",
    ):
        resolve(p, _PoolToy(np.r_[0, 2, 11, 13, 15]))
    with pytest.raises(DataError, match=r"draws its seen queries from 'xlsa17-test-seen'.*cannot tell"):
        resolve(p, _toy())


def test_split_counts_and_parts_without_seen_queries():
    ds = _toy()
    split = resolve(_proto(), ds)
    assert "seen_query" not in split.counts() and split.seen_query.dtype == np.int64 and not len(split.seen_query)
    parts = split.parts(ds.labels)
    assert len(parts["database_seen"]) == 12 and len(parts["database_unseen"]) == 14


def test_leak_checks_cover_seen_queries():
    labels = np.array([0, 0, 0, 1, 1])
    with pytest.raises(DataError, match="both seen_query and database"):
        check_split(
            np.array([0]),
            np.array([3]),
            np.array([2, 4]),
            labels,
            np.array([0]),
            np.array([1]),
            seen_query=np.array([2]),
        )
    with pytest.raises(DataError, match="both train and seen_query"):
        check_split(
            np.array([0]), np.array([3]), np.array([4]), labels, np.array([0]), np.array([1]), seen_query=np.array([0])
        )
    with pytest.raises(DataError, match="seen_query set holds items of classes that are not seen"):
        check_split(
            np.array([0]), np.array([3]), np.array([1]), labels, np.array([0]), np.array([1]), seen_query=np.array([4])
        )


def test_seen_query_duplicates_of_database_items_are_found():
    ds = _toy((12, 12, 10, 10))
    p = _proto(counts={"train_per_class": 4, "query_per_class": 3, "seen_query_per_class": 2})
    split = resolve(p, ds)
    ds._features[split.seen_query[0]] = ds._features[split.database[0]]
    with pytest.raises(DataError, match=r"another part \(train/query/database/seen_query\)"):
        resolve(p, ds)
