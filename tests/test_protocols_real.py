"""The fixed real-dataset protocols: pinned, written from the real metadata, and feasible with real counts.

Labels-only stand-in datasets carry the real per-class counts (CUB image_class_labels.txt, SUN's 20 per class,
CIFAR-10's 6,000, Fashion-MNIST's 7,000, AwA2's published counts checked against xlsa17's split file) and, for
the protocols that draw seen queries from xlsa17's test_seen_loc, the real test_seen_loc items.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from test_protocols import assert_disjoint_parts

from zshbench.cli import main
from zshbench.datasets.base import ArrayDataset
from zshbench.errors import DataError
from zshbench.protocols import Protocol, list_protocols, load_protocol, protocol_versions, resolve

REAL = [
    "cifar10-zsh",
    "cub-zsh",
    "awa2-zsh",
    "awa2-zsh-ss",
    "sun-zsh",
    "awa2-unseen20",
    "awa2-unseen40",
    "awa2-unseen60",
    "cub-unseen20",
    "cub-unseen40",
    "cub-unseen60",
    "fashion-zsh",
]
XS = "xlsa17-test-seen"
# (n seen, n unseen, train, query, seen queries per class, seen-query source, current version)
COUNTS = {
    "cifar10-zsh": (8, 2, 500, 100, 100, "rest", "2"),
    "cub-zsh": (150, 50, 30, 30, 5, XS, "2"),
    "awa2-zsh": (40, 10, 75, 100, 12, XS, "2"),
    "awa2-zsh-ss": (40, 10, 75, 100, 12, "rest", "2"),
    "sun-zsh": (645, 72, 10, 10, 4, XS, "2"),
    "awa2-unseen20": (40, 10, 100, 100, 0, "rest", "1"),
    "awa2-unseen40": (30, 20, 100, 100, 0, "rest", "1"),
    "awa2-unseen60": (20, 30, 100, 100, 0, "rest", "1"),
    "cub-unseen20": (160, 40, 30, 30, 5, "rest", "2"),
    "cub-unseen40": (120, 80, 30, 30, 5, "rest", "2"),
    "cub-unseen60": (80, 120, 30, 30, 5, "rest", "2"),
    "fashion-zsh": (8, 2, 500, 100, 100, "rest", "1"),
}
# split fingerprints of the version-1 files on the real per-class counts, computed before seen queries existed
# (records of version 1 carry these; they must never change)
V1_FINGERPRINTS = {
    "cifar10-zsh": "300fd7b00b0b43a5b58e2cf8f052bb8191f4fc1e2587e3d9208c259b2ba9d245",
    "cub-zsh": "6240d376ce594cd59c9d13e83b72f7e624563fe3bd3991e56718637124240595",
    "awa2-zsh": "285eed8a20863bec333d7d621a7cc5590977cfab49858fac6266d2c100005a13",
    "awa2-zsh-ss": "35eb0d3f740debafccbd0cf9786b469dd78b1356e8436766a234695bc4f099af",
    "sun-zsh": "a00dedf8550891960c9ed6ed842d13a018f8e9c24a01f7669aec335a2d6ee68c",
    "awa2-unseen20": "2ce8789a298247c7be02942c31dc6f965c4f5102834d11161902ae2e0ba3dba8",
    "awa2-unseen40": "8508fad6917b58409d83cc6a5714db59bfba512c4b77073c09a14b189ef94806",
    "awa2-unseen60": "1afb7879941d74e5bdd5eff11b8c830c2987f7e7f883fc56459ea2a758a8e3c5",
    "cub-unseen20": "2a2a1969e68d1703fd7db6c5f3c3e573e965aaff7c79332826fbe78367b34797",
    "cub-unseen40": "b6f44812632a7a8099098a2ecac6997aa0bab3aa314aeb3aeb5818fa1fcdfd67",
    "cub-unseen60": "f3d89b236c3829bf9148efef007ed532ac67c0fbf3dae46f72c598b464accbfa",
}
# version 2 (and fashion-zsh 1) where the split depends on the labels only (seen queries from the rest)
V2_FINGERPRINTS = {
    "cifar10-zsh@2": "09352ecb5c91493d5e1be507b4d57a33c11bfd14ad4b6d7b12cc286d467449a5",
    "awa2-zsh-ss@2": "97f007fdef4c3c4e7c6c0d471fe2653977a28c2aa1d68f02cdb5423e5585239c",
    "cub-unseen20@2": "b60fcfe766a6c3bdc9a93b18addf3f4a5acfdddada8554572bb5b668eca761f3",
    "cub-unseen40@2": "791fcd023f9eca3c473858fe8fcdbbc0438f5160b3d8e24da4503229e5de4cb4",
    "cub-unseen60@2": "07bb46f08e6dbf29fed6eae118410bebb33c65f0971652ec88d383127110e35b",
    "fashion-zsh@1": "8afa6899001f7688e6f489a89f72b10cb3485b094d8b0c15d088150544f3adcf",
}
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# images per AwA2 class as published with the release (37,322 in all); checked against xlsa17's att_splits.mat
# by test_awa2_class_sizes_match_the_xlsa17_split_file (the metadata in ../shared/data has no per-class counts)
AWA2_IMAGES = {
    "antelope": 1046,
    "bat": 383,
    "beaver": 193,
    "blue+whale": 174,
    "bobcat": 630,
    "buffalo": 895,
    "chihuahua": 567,
    "chimpanzee": 728,
    "collie": 1028,
    "cow": 1338,
    "dalmatian": 549,
    "deer": 1344,
    "dolphin": 946,
    "elephant": 1038,
    "fox": 664,
    "german+shepherd": 1033,
    "giant+panda": 874,
    "giraffe": 1202,
    "gorilla": 872,
    "grizzly+bear": 852,
    "hamster": 779,
    "hippopotamus": 684,
    "horse": 1645,
    "humpback+whale": 709,
    "killer+whale": 291,
    "leopard": 720,
    "lion": 1019,
    "mole": 100,
    "moose": 704,
    "mouse": 185,
    "otter": 758,
    "ox": 728,
    "persian+cat": 747,
    "pig": 713,
    "polar+bear": 868,
    "rabbit": 1088,
    "raccoon": 512,
    "rat": 310,
    "rhinoceros": 696,
    "seal": 988,
    "sheep": 1420,
    "siamese+cat": 500,
    "skunk": 188,
    "spider+monkey": 291,
    "squirrel": 1200,
    "tiger": 877,
    "walrus": 215,
    "weasel": 272,
    "wolf": 589,
    "zebra": 1170,
}


def _lines(p):
    return [s.strip() for s in p.read_text().splitlines() if s.strip()]


def _id_names(p):
    return [s.split(maxsplit=1)[1] for s in _lines(p)]


def _class_list(shared, dataset):
    if dataset == "cifar10":
        return _lines(shared / "cifar10/classes.txt")
    if dataset == "fashion":
        return FASHION
    if dataset in ("awa2", "cub"):
        return _id_names(shared / f"{dataset}/classes.txt")
    m = scipy.io.loadmat(str(shared / "xlsa17/SUN/att_splits.mat"), variable_names=["allclasses_names"])
    return [str(x[0][0]) for x in m["allclasses_names"]]


class LabelsOnly(ArrayDataset):
    """A stand-in with real per-class counts; ``pool`` plays the dataset's item_set("xlsa17-test-seen")."""

    def __init__(self, name, counts, classes, pool=None):
        labels = np.repeat(np.arange(len(classes)), counts)
        super().__init__(name, labels, classes, features=np.zeros((len(labels), 1), np.float32))
        self.item_sets = (XS,) if pool is not None else ()
        self._pool = pool

    def item_set(self, name):
        assert name == XS
        return self._pool


def _test_seen_rows(shared, family):
    m = scipy.io.loadmat(str(shared / f"xlsa17/{family}/att_splits.mat"), variable_names=["test_seen_loc"])
    return m["test_seen_loc"].ravel().astype(np.int64) - 1


def _cub(shared):
    """CUB with its real labels; items sorted by (class, path) like the loader; xlsa17's res101.mat rows are in
    images.txt order (every test_unseen_loc row is an image of an unseen class: checked below)."""
    paths = [s.split()[1] for s in _lines(shared / "cub/images.txt")]
    y = np.array([int(s.split()[1]) - 1 for s in _lines(shared / "cub/image_class_labels.txt")])
    order = np.array(sorted(range(len(y)), key=lambda i: (y[i], paths[i])))
    pool = np.flatnonzero(np.isin(order, _test_seen_rows(shared, "CUB")))
    return LabelsOnly("cub", np.bincount(y, minlength=200), _class_list(shared, "cub"), pool), y


def _awa2(shared):
    """AwA2 with the published class sizes; xlsa17's res101.mat rows run over the classes in alphabetical order."""
    classes = _class_list(shared, "awa2")
    alpha = sorted(classes)
    start = dict(zip(alpha, np.cumsum([0] + [AWA2_IMAGES[c] for c in alpha])[:-1]))
    rows = np.concatenate([start[c] + np.arange(AWA2_IMAGES[c]) for c in classes])
    pool = np.flatnonzero(np.isin(rows, _test_seen_rows(shared, "AWA2")))
    return LabelsOnly("awa2", [AWA2_IMAGES[c] for c in classes], classes, pool)


def _sun(shared):
    """SUN: 20 images per class, xlsa17's rows run over the classes in their (alphabetical) order."""
    return LabelsOnly("sun", [20] * 717, _class_list(shared, "sun"), _test_seen_rows(shared, "SUN"))


def _stand_in(shared, dataset):
    if dataset == "cub":
        return _cub(shared)[0]
    if dataset == "awa2":
        return _awa2(shared)
    if dataset == "sun":
        return _sun(shared)
    n = {"cifar10": 6000, "fashion": 7000}[dataset]
    return LabelsOnly(dataset, [n] * 10, _class_list(shared, dataset))


@pytest.mark.parametrize("name", REAL)
def test_pinned_counts_and_provenance(name):
    p = load_protocol(name)  # checks the pin
    assert (
        len(p.seen),
        len(p.unseen),
        p.train_per_class,
        p.query_per_class,
        p.seen_query_per_class,
        p.seen_query_source,
        p.version,
    ) == COUNTS[name]
    assert p.pinned and p.database == "rest" and p.seed == 0 and len(p.provenance) > 300
    assert protocol_versions(name) == [str(v) for v in range(1, int(p.version) + 1)]
    if p.seen_query_per_class:
        assert "seen queries" in p.provenance.lower() and str(p.seen_query_per_class) in p.provenance
    if p.seen_query_source == XS:
        assert "test_seen_loc" in p.provenance and "trainval_loc" in p.provenance


@pytest.mark.parametrize("name", REAL)
def test_class_names_are_exactly_the_datasets(name, shared_data):
    for ref in (f"{name}@{v}" for v in protocol_versions(name)):
        p = load_protocol(ref)
        classes = _class_list(shared_data, p.dataset)
        assert sorted(p.seen + p.unseen) == sorted(classes)  # every class, each once, spelled as in the data


@pytest.mark.parametrize("name, family", [("awa2-zsh", "AWA2"), ("cub-zsh", "CUB"), ("sun-zsh", "SUN")])
def test_proposed_splits_are_xlsa17s(name, family, shared_data):
    for p in (load_protocol(name), load_protocol(f"{name}@1")):
        assert set(p.seen) == set(_lines(shared_data / f"xlsa17/{family}/trainvalclasses.txt"))
        assert set(p.unseen) == set(_lines(shared_data / f"xlsa17/{family}/testclasses.txt"))


def test_standard_split_and_cifar_holdout(shared_data):
    assert set(load_protocol("awa2-zsh-ss").unseen) == set(_lines(shared_data / "awa2/testclasses.txt"))
    assert load_protocol("cifar10-zsh").unseen == ("cat", "truck")


def test_fashion_holdout_is_one_garment_and_one_shoe():
    p = load_protocol("fashion-zsh")
    assert p.unseen == ("Pullover", "Sneaker") and set(p.seen) | set(p.unseen) == set(FASHION)
    assert "Pullover" in p.provenance and "Sneaker" in p.provenance


@pytest.mark.parametrize("family", ["awa2", "cub"])
def test_unseen_ratio_family_is_nested(family):
    u20, u40, u60 = (set(load_protocol(f"{family}-unseen{k}").unseen) for k in (20, 40, 60))
    assert u20 < u40 < u60


def test_xlsa17_row_orders_used_by_the_stand_ins(shared_data):
    """The stand-ins place xlsa17's rows by class: CUB in images.txt order, AwA2 in alphabetical class blocks
    of the published sizes, SUN in blocks of 20. Then every test_unseen_loc row is an image of an unseen class
    and every trainval_loc / test_seen_loc row one of a seen class, which a wrong order would break."""

    def check(family, row_labels, classes):
        m = scipy.io.loadmat(str(shared_data / f"xlsa17/{family}/att_splits.mat"))
        unseen = {classes.index(c) for c in _lines(shared_data / f"xlsa17/{family}/testclasses.txt")}
        is_unseen = np.isin(row_labels, sorted(unseen))
        assert is_unseen[m["test_unseen_loc"].ravel() - 1].all()
        assert not is_unseen[np.r_[m["trainval_loc"].ravel(), m["test_seen_loc"].ravel()] - 1].any()
        assert len(m["test_unseen_loc"]) == is_unseen.sum()

    _, y = _cub(shared_data)
    check("CUB", y, _class_list(shared_data, "cub"))
    alpha = sorted(AWA2_IMAGES)
    check("AWA2", np.repeat(np.arange(50), [AWA2_IMAGES[c] for c in alpha]), alpha)
    check("SUN", np.repeat(np.arange(717), 20), _class_list(shared_data, "sun"))


def test_awa2_class_sizes_match_the_xlsa17_split_file(shared_data):
    assert sorted(AWA2_IMAGES) == sorted(_class_list(shared_data, "awa2")) and sum(AWA2_IMAGES.values()) == 37322
    m = scipy.io.loadmat(str(shared_data / "xlsa17/AWA2/att_splits.mat"))
    assert sum(len(m[k]) for k in ("trainval_loc", "test_seen_loc", "test_unseen_loc")) == 37322
    ds = _awa2(shared_data)
    mole = ds.class_index("mole")
    assert (ds.labels == mole).sum() == 100 and np.isin(ds.item_set(XS), np.flatnonzero(ds.labels == mole)).sum() == 25


@pytest.mark.parametrize("name", sorted(V1_FINGERPRINTS))
def test_version_1_fingerprints_unchanged(name, shared_data):
    p = load_protocol(f"{name}@1")
    split = resolve(p, _stand_in(shared_data, p.dataset), check_content=False)
    assert split.fingerprint == V1_FINGERPRINTS[name] and "seen_query" not in split.counts()


@pytest.mark.parametrize("ref", sorted(V2_FINGERPRINTS))
def test_labels_only_version_2_fingerprints(ref, shared_data):
    p = load_protocol(ref)
    assert resolve(p, _stand_in(shared_data, p.dataset), check_content=False).fingerprint == V2_FINGERPRINTS[ref]


@pytest.mark.parametrize("name", REAL)
def test_every_version_feasible_with_disjoint_parts(name, shared_data):
    for ref in (f"{name}@{v}" for v in protocol_versions(name)):
        p = load_protocol(ref)
        ds = _stand_in(shared_data, p.dataset)
        split = resolve(p, ds, check_content=False)
        assert_disjoint_parts(split, ds.labels)
        per_class = np.bincount(ds.labels[split.seen_query], minlength=len(ds.class_names))[split.seen_classes]
        assert (per_class == p.seen_query_per_class).all()
        if p.seen_query_per_class:  # every seen class keeps at least as many database items as seen queries
            db = np.bincount(ds.labels[split.database], minlength=len(ds.class_names))[split.seen_classes]
            assert (db >= p.seen_query_per_class).all(), ref
        if p.seen_query_source == XS:
            pool = ds.item_set(XS)
            assert np.isin(split.seen_query, pool).all() and not np.isin(split.train, pool).any()


COUNTS_V2 = {  # train, query, seen_query, database on the real per-class counts
    "cifar10-zsh": (4000, 200, 800, 55000),
    "cub-zsh": (4500, 1500, 750, 5038),
    "awa2-zsh": (3000, 1000, 480, 32842),
    "awa2-zsh-ss": (3000, 1000, 480, 32842),
    "sun-zsh": (6450, 720, 2580, 4590),
    "cub-unseen20": (4800, 1200, 800, 4988),
    "cub-unseen40": (3600, 2400, 600, 5188),
    "cub-unseen60": (2400, 3600, 400, 5388),
    "fashion-zsh": (4000, 200, 800, 65000),
}


@pytest.mark.parametrize("name", sorted(COUNTS_V2))
def test_current_counts(name, shared_data):
    p = load_protocol(name)
    c = resolve(p, _stand_in(shared_data, p.dataset), check_content=False).counts()
    assert (c["train"], c["query"], c["seen_query"], c["database"]) == COUNTS_V2[name]


def test_version_2_train_relative_to_version_1(shared_data):
    """Seen queries from the rest keep version 1's train (awa2-zsh-ss: its first 75 of 100); seen queries from
    test_seen_loc need train outside it, so cub-zsh, awa2-zsh and sun-zsh draw it anew."""
    for name in (
        "cifar10-zsh",
        "cub-unseen20",
        "cub-unseen40",
        "cub-unseen60",
        "awa2-zsh-ss",
        "cub-zsh",
        "awa2-zsh",
        "sun-zsh",
    ):
        p1, p2 = load_protocol(f"{name}@1"), load_protocol(name)
        ds = _stand_in(shared_data, p2.dataset)
        a, b = resolve(p1, ds, check_content=False), resolve(p2, ds, check_content=False)
        assert np.array_equal(a.query, b.query)  # the unseen queries never change
        if p2.seen_query_source == "rest" and p1.train_per_class == p2.train_per_class:
            assert np.array_equal(a.train, b.train) and np.isin(b.seen_query, a.database).all()
        elif p2.seen_query_source == "rest":  # awa2-zsh-ss: the first 75 of version 1's 100 per class
            assert np.isin(b.train, a.train).all() and len(b.train) == len(a.train) * 75 // 100
        else:
            assert not np.array_equal(a.train, b.train)
    sun = resolve(load_protocol("sun-zsh"), _sun(shared_data), check_content=False)
    assert np.array_equal(sun.seen_query, np.sort(_test_seen_rows(shared_data, "SUN")))  # all 4 per class


def test_why_not_version_1_train_with_test_seen_queries(shared_data):
    """The reason written in the xlsa17 files: after version 1's train some classes have no test_seen_loc image
    left (2 CUB classes; mole in AwA2, whose 100 images are all version-1 training images)."""
    for ds, name, short in ((_cub(shared_data)[0], "cub-zsh@1", 2), (_awa2(shared_data), "awa2-zsh@1", 1)):
        split = resolve(load_protocol(name), ds, check_content=False)
        left = np.bincount(ds.labels[np.setdiff1d(ds.item_set(XS), split.train)], minlength=len(ds.class_names))
        assert (left[split.seen_classes] == 0).sum() == short


def test_awa2_protocols_with_100_images_per_class_and_one_short(shared_data):
    classes = _id_names(shared_data / "awa2/classes.txt")
    ds = LabelsOnly("awa2", [100] * 50, classes)
    for name in ("awa2-zsh@1", "awa2-zsh-ss@1", "awa2-unseen60"):
        c = resolve(load_protocol(name), ds, check_content=False).counts()
        assert c["train"] + c["query"] == 5000 and c["database"] == 0
    short = LabelsOnly("awa2", [100] * 49 + [99], classes)
    with pytest.raises(DataError, match=f"'{classes[-1]}' has 99 items, needs 100"):
        resolve(load_protocol("awa2-zsh@1"), short, check_content=False)
    with pytest.raises(DataError, match="cannot tell"):  # version 2 needs the test_seen_loc items
        resolve(load_protocol("awa2-zsh"), ds, check_content=False)


def test_feature_dataset_name_resolves_the_image_protocol(shared_data):
    """Resolution is by class names: awa2-zsh applies to a dataset named awa2-res101."""
    classes = _id_names(shared_data / "awa2/classes.txt")
    for ref in ("awa2-zsh@1", "awa2-zsh-ss"):
        a = resolve(load_protocol(ref), LabelsOnly("awa2-res101", [120] * 50, classes), check_content=False)
        b = resolve(load_protocol(ref), LabelsOnly("awa2", [120] * 50, classes), check_content=False)
        assert a.fingerprint == b.fingerprint


def test_cli_lists_every_protocol(capsys):
    assert main(["list", "protocols", "--names"]) == 0
    out = capsys.readouterr().out.split()
    assert set(REAL) <= set(out) and set(out) == set(list_protocols())


# -- the xlsa17-test-seen source on real-format files (synthetic content, no shared data needed) -------------
CLASSES = ["ant", "bee", "cat", "dog"]  # seen: ant, bee; unseen: cat, dog
PER_CLASS = 12


def _xlsa17_tree(root, with_image_files=True):
    """xlsa17/data/AWA2/{att_splits.mat, res101.mat} for 4 classes of 12 images in shuffled row order, and the
    matching AwA2 image tree; test_seen_loc = rows of the images numbered 0..3 of the seen classes."""
    names = [f"{c}/{c}_{10001 + i}.jpg" for c in CLASSES for i in range(PER_CLASS)]
    labels = np.repeat(np.arange(1, 5), PER_CLASS)
    perm = np.random.default_rng(5).permutation(len(names))
    names, labels = [names[i] for i in perm], labels[perm]
    rows = np.arange(1, len(names) + 1)
    in_ts = np.array([n.split("/")[0] in ("ant", "bee") and int(n[-9:-4]) - 10001 < 4 for n in names])
    x = root / "xlsa17/data/AWA2"
    x.mkdir(parents=True)
    att = np.random.default_rng(0).random((3, 4))
    scipy.io.savemat(
        str(x / "att_splits.mat"),
        {
            "allclasses_names": np.array(CLASSES, dtype=object).reshape(-1, 1),
            "att": att,
            "original_att": att * 100,
            "trainval_loc": rows[~in_ts & (labels <= 2)].reshape(-1, 1),
            "test_seen_loc": rows[in_ts].reshape(-1, 1),
            "test_unseen_loc": rows[labels > 2].reshape(-1, 1),
        },
    )
    mat = {
        "features": np.random.default_rng(1).random((6, len(names))).astype(np.float32),
        "labels": labels.reshape(-1, 1).astype(np.float64),
    }
    if with_image_files:
        mat["image_files"] = np.array(
            [f"/BS/xian/data/Animals_with_Attributes2//JPEGImages/{n}" for n in names], dtype=object
        ).reshape(-1, 1)
    scipy.io.savemat(str(x / "res101.mat"), mat)
    a = root / "Animals_with_Attributes2"
    (a / "JPEGImages").mkdir(parents=True)
    (a / "classes.txt").write_text("".join(f"{i + 1}\t{c}\n" for i, c in enumerate(CLASSES)))
    (a / "predicates.txt").write_text("1\tp1\n2\tp2\n3\tp3\n")
    for f in ("predicate-matrix-continuous.txt", "predicate-matrix-binary.txt"):
        (a / f).write_text("\n".join(" ".join(str(v) for v in row) for row in (att.T * 100).round(2)) + "\n")
    for n in names:
        (a / "JPEGImages" / n).parent.mkdir(exist_ok=True)
        (a / "JPEGImages" / n).write_bytes(b"not decoded here " + n.encode())
    return root


def _ts_protocol(tmp_path):
    f = tmp_path / "toy-ps.toml"
    f.write_text(
        'name = "toy-ps"\nversion = "1"\ndataset = "awa2"\nseed = 0\nseen_query_source = "xlsa17-test-seen"\n'
        'seen = ["ant", "bee"]\nunseen = ["cat", "dog"]\n[counts]\ntrain_per_class = 5\n'
        "query_per_class = 4\nseen_query_per_class = 3\n"
    )
    return load_protocol(str(f))


def test_xlsa17_test_seen_items_on_feature_and_image_datasets(tmp_path, monkeypatch):
    from zshbench.runner import load_dataset

    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    root = _xlsa17_tree(tmp_path / "data")
    feats, images = load_dataset("awa2-res101", str(root)), load_dataset("awa2", str(root))
    for ds in (feats, images):
        ts = ds.item_set(XS)
        assert len(ts) == 8 and set(ds.labels[ts]) == {0, 1}
        # the items of images ant_10001..10004 and bee_10001..10004 (items are sorted by path within a class)
        assert list(ts) == [0, 1, 2, 3, 12, 13, 14, 15]
    p = _ts_protocol(tmp_path)
    a, b = resolve(p, feats), resolve(p, images)
    assert a.fingerprint == b.fingerprint and a.counts() == {"train": 10, "query": 8, "seen_query": 6, "database": 24}
    assert np.isin(a.seen_query, feats.item_set(XS)).all() and not np.isin(a.train, feats.item_set(XS)).any()
    assert_disjoint_parts(a, feats.labels)


def test_xlsa17_test_seen_items_need_the_xlsa17_files(tmp_path, monkeypatch):
    import shutil

    from zshbench.runner import load_dataset

    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    root = _xlsa17_tree(tmp_path / "data", with_image_files=False)
    with pytest.raises(DataError, match="has no 'image_files'"):
        resolve(_ts_protocol(tmp_path), load_dataset("awa2", str(root)))
    shutil.rmtree(root / "xlsa17")
    ds = load_dataset("awa2", str(root))  # loading the images never needs xlsa17, nor seen queries from the rest
    rest = Protocol(
        name="toy",
        version="1",
        dataset="awa2",
        seen=("ant", "bee"),
        unseen=("cat", "dog"),
        train_per_class=5,
        query_per_class=4,
        seen_query_per_class=3,
    )
    assert len(resolve(rest, ds).seen_query) == 6
    with pytest.raises(DataError, match=r"xlsa17/data/AWA2/res101.mat.*next to the images"):
        resolve(_ts_protocol(tmp_path), ds)


def test_generator_writes_the_committed_files(shared_data):
    """protocols/_generate.py documents how the current files were made: it reproduces them byte for byte."""
    from zshbench.protocols import _generate
    from zshbench.protocols.resolve import PROTOCOL_DIR

    written = _generate.build(shared_data)
    assert set(written) == set(REAL)
    for name, text in written.items():
        assert (PROTOCOL_DIR / f"{name}.toml").read_text() == text, name
