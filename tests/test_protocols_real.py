"""The fixed real-dataset protocols: pinned, written from the real metadata, and feasible with real counts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from zshbench.cli import main
from zshbench.datasets.base import ArrayDataset
from zshbench.errors import DataError
from zshbench.protocols import list_protocols, load_protocol, resolve

REAL = ["cifar10-zsh", "cub-zsh", "awa2-zsh", "awa2-zsh-ss", "sun-zsh", "awa2-unseen20", "awa2-unseen40",
        "awa2-unseen60", "cub-unseen20", "cub-unseen40", "cub-unseen60"]
COUNTS = {"cifar10-zsh": (8, 2, 500, 100), "cub-zsh": (150, 50, 30, 30), "awa2-zsh": (40, 10, 100, 100),
          "awa2-zsh-ss": (40, 10, 100, 100), "sun-zsh": (645, 72, 10, 10),
          "awa2-unseen20": (40, 10, 100, 100), "awa2-unseen40": (30, 20, 100, 100), "awa2-unseen60": (20, 30, 100, 100),
          "cub-unseen20": (160, 40, 30, 30), "cub-unseen40": (120, 80, 30, 30), "cub-unseen60": (80, 120, 30, 30)}


def _lines(p):
    return [s.strip() for s in p.read_text().splitlines() if s.strip()]


def _id_names(p):
    return [s.split(maxsplit=1)[1] for s in _lines(p)]


def _class_list(shared, dataset):
    if dataset == "cifar10":
        return _lines(shared / "cifar10/classes.txt")
    if dataset in ("awa2", "cub"):
        return _id_names(shared / f"{dataset}/classes.txt")
    m = scipy.io.loadmat(str(shared / "xlsa17/SUN/att_splits.mat"), variable_names=["allclasses_names"])
    return [str(x[0][0]) for x in m["allclasses_names"]]


@pytest.mark.parametrize("name", REAL)
def test_pinned_counts_and_provenance(name):
    p = load_protocol(name)  # checks the pin
    assert (len(p.seen), len(p.unseen), p.train_per_class, p.query_per_class) == COUNTS[name]
    assert p.database == "rest" and p.version == "1" and p.seed == 0 and len(p.provenance) > 300


@pytest.mark.parametrize("name", REAL)
def test_class_names_are_exactly_the_datasets(name, shared_data):
    p = load_protocol(name)
    classes = _class_list(shared_data, p.dataset)
    assert sorted(p.seen + p.unseen) == sorted(classes)  # every class, each once, spelled as in the data


@pytest.mark.parametrize("name, family", [("awa2-zsh", "AWA2"), ("cub-zsh", "CUB"), ("sun-zsh", "SUN")])
def test_proposed_splits_are_xlsa17s(name, family, shared_data):
    p = load_protocol(name)
    assert set(p.seen) == set(_lines(shared_data / f"xlsa17/{family}/trainvalclasses.txt"))
    assert set(p.unseen) == set(_lines(shared_data / f"xlsa17/{family}/testclasses.txt"))


def test_standard_split_and_cifar_holdout(shared_data):
    assert set(load_protocol("awa2-zsh-ss").unseen) == set(_lines(shared_data / "awa2/testclasses.txt"))
    assert load_protocol("cifar10-zsh").unseen == ("cat", "truck")


@pytest.mark.parametrize("family", ["awa2", "cub"])
def test_unseen_ratio_family_is_nested(family):
    u20, u40, u60 = (set(load_protocol(f"{family}-unseen{k}").unseen) for k in (20, 40, 60))
    assert u20 < u40 < u60


def _labels_only(name, counts, classes):
    labels = np.repeat(np.arange(len(classes)), counts)
    return ArrayDataset(name, labels, classes, features=np.zeros((len(labels), 1), np.float32))


def test_cub_protocols_feasible_with_the_real_per_class_counts(shared_data):
    classes = _id_names(shared_data / "cub/classes.txt")
    y = np.array([int(s.split()[1]) - 1 for s in _lines(shared_data / "cub/image_class_labels.txt")])
    ds = _labels_only("cub", np.bincount(y, minlength=200), classes)
    assert len(ds) == 11788
    assert resolve(load_protocol("cub-zsh"), ds, check_content=False).counts() == {"train": 4500, "query": 1500, "database": 5788}
    for k, (tr, qu) in {20: (4800, 1200), 40: (3600, 2400), 60: (2400, 3600)}.items():
        assert resolve(load_protocol(f"cub-unseen{k}"), ds, check_content=False).counts() == {"train": tr, "query": qu,
                                                                          "database": 11788 - tr - qu}


def test_cifar10_and_sun_counts(shared_data):
    cifar = _labels_only("cifar10", [6000] * 10, _lines(shared_data / "cifar10/classes.txt"))
    assert resolve(load_protocol("cifar10-zsh"), cifar, check_content=False).counts() == {"train": 4000, "query": 200, "database": 55800}
    sun = _labels_only("sun", [20] * 717, _class_list(shared_data, "sun"))
    assert resolve(load_protocol("sun-zsh"), sun, check_content=False).counts() == {"train": 6450, "query": 720, "database": 7170}


def test_awa2_protocols_with_100_images_per_class_and_one_short(shared_data):
    classes = _id_names(shared_data / "awa2/classes.txt")
    ds = _labels_only("awa2", [100] * 50, classes)
    for name in ("awa2-zsh", "awa2-zsh-ss", "awa2-unseen60"):
        c = resolve(load_protocol(name), ds, check_content=False).counts()
        assert c["train"] + c["query"] == 5000 and c["database"] == 0
    short = _labels_only("awa2", [100] * 49 + [99], classes)
    with pytest.raises(DataError, match=f"'{classes[-1]}' has 99 items, needs 100"):
        resolve(load_protocol("awa2-zsh"), short, check_content=False)


def test_feature_dataset_name_resolves_the_image_protocol(shared_data):
    """Resolution is by class names: awa2-zsh applies to a dataset named awa2-res101."""
    ds = _labels_only("awa2-res101", [120] * 50, _id_names(shared_data / "awa2/classes.txt"))
    a = resolve(load_protocol("awa2-zsh"), ds, check_content=False)
    b = resolve(load_protocol("awa2-zsh"), _labels_only("awa2", [120] * 50, list(ds.class_names)), check_content=False)
    assert a.fingerprint == b.fingerprint


def test_cli_lists_every_protocol(capsys):
    assert main(["list", "protocols", "--names"]) == 0
    out = capsys.readouterr().out.split()
    assert set(REAL) <= set(out) and set(out) == set(list_protocols())
