"""``cifar10`` on a tiny tree in the "python version" format (pickled batches), real class names."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from _trees import cifar10_tree

from zshbench.errors import DataError
from zshbench.runner import load_dataset


def test_loads_all_six_batches_in_order_as_hwc(tmp_path, shared_data):
    root = cifar10_tree(tmp_path, shared_data, per_batch=20)
    ds = load_dataset("cifar10", str(root))
    assert len(ds) == 120 and ds.class_names[3] == "cat" and ds.class_names[9] == "truck"
    assert ds.attribute_mode == "labels" and ds.class_attributes.shape == (10, 10)
    assert ds.default_protocol == "cifar10-zsh"
    d = pickle.loads((root / "cifar-10-batches-py/test_batch").read_bytes())
    x = ds.get_images([100, 119])
    assert x.shape == (2, 32, 32, 3) and x.dtype == np.uint8
    row = d[b"data"][0]
    # CHW rows: red plane, green plane, blue plane
    np.testing.assert_array_equal(x[0, 0, 1], [row[1], row[1024 + 1], row[2048 + 1]])
    np.testing.assert_array_equal(x[0, :, :, 2], row[2048:].reshape(32, 32))
    assert ds.labels[100] == d[b"labels"][0]
    assert ds.get_images([0]).shape == (1, 32, 32, 3)


def test_image_size_resizes_and_torch_adapter(tmp_path, shared_data):
    ds = load_dataset("cifar10", str(cifar10_tree(tmp_path, shared_data, per_batch=10)), image_size=16)
    assert ds.get_images([0, 1]).shape == (2, 16, 16, 3)
    x, y = ds.torch_dataset([5])[0]
    assert x.shape == (16, 16, 3) and y == int(ds.labels[5])


def test_missing_batches_are_listed(tmp_path, shared_data):
    root = cifar10_tree(tmp_path, shared_data, per_batch=5)
    (root / "cifar-10-batches-py/data_batch_3").unlink()
    (root / "cifar-10-batches-py/test_batch").unlink()
    with pytest.raises(DataError, match=r"2 expected file\(s\).*data_batch_3.*test_batch.*cs\.toronto\.edu"):
        load_dataset("cifar10", str(root))


def test_wrong_batch_format_is_a_data_error(tmp_path, shared_data):
    root = cifar10_tree(tmp_path, shared_data, per_batch=5)
    f = root / "cifar-10-batches-py/data_batch_2"
    f.write_bytes(pickle.dumps({b"data": np.zeros((5, 100), np.uint8), b"labels": [0] * 5}))
    with pytest.raises(DataError, match="N x 3072"):
        load_dataset("cifar10", str(root))
    f.write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="corrupt"):
        load_dataset("cifar10", str(root))


def test_content_hashes_identity_and_root(tmp_path, shared_data):
    import hashlib

    root = cifar10_tree(tmp_path, shared_data, per_batch=5)
    ds = load_dataset("cifar10", str(root))
    d = pickle.loads((root / "cifar-10-batches-py/data_batch_2").read_bytes())
    assert ds.content_hashes([5, 6]) == [hashlib.sha256(d[b"data"][i].tobytes()).hexdigest() for i in (0, 1)]
    assert ds.identity() == {"name": "cifar10", "version": "1", "fingerprint": ds.fingerprint(), "image_size": 32}
    assert load_dataset("cifar10", str(root), image_size=16).identity()["image_size"] == 16
    assert ds.root == str((root / "cifar-10-batches-py").resolve())
