import numpy as np
import pytest

from zshbench import get_dataset
from zshbench.cache import save_npz_atomic
from zshbench.datasets import shapes
from zshbench.datasets.base import ArrayDataset
from zshbench.errors import DataError


def test_shapes_structure():
    ds = get_dataset("shapes")()
    assert len(ds) == 10_000 and ds.n_classes == 50 and ds.image_shape == (32, 32, 3)
    assert ds.class_attributes.shape == (50, 17) and set(np.unique(ds.class_attributes)) == {0.0, 1.0}
    assert (ds.class_attributes.sum(1) == 4).all()  # one value per group
    assert np.bincount(ds.labels).tolist() == [200] * 50
    assert len({tuple(r) for r in ds.class_attributes}) == 50  # classes = distinct combinations
    imgs = ds.get_images([0, 1, 5000])
    assert imgs.dtype == np.uint8 and imgs.shape == (3, 32, 32, 3)


def test_shapes_continuous_variant():
    ds = get_dataset("shapes")(attributes="continuous")
    a = ds.class_attributes
    assert a.shape == (50, 17) and a.min() >= 0 and a.max() <= 1
    binary = get_dataset("shapes")().class_attributes
    # each class's strongest colour attribute is its own colour
    col = slice(5, 11)
    assert np.array_equal(a[:, col].argmax(1), binary[:, col].argmax(1))


def test_shapes_generation_deterministic_and_cache_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(shapes, "N_CLASSES", 12)
    monkeypatch.setattr(shapes, "N_UNSEEN", 3)
    monkeypatch.setattr(shapes, "PER_CLASS", 5)
    a, b = shapes.generate(), shapes.generate()
    assert np.array_equal(a["images"], b["images"])
    first = shapes.load_arrays()
    path = tmp_path / f"shapes-v{shapes.VERSION}-seed{shapes.CLASS_SEED}.npz"
    path.write_bytes(b"corrupt")
    again = shapes.load_arrays()  # a corrupt cache entry is rebuilt, never used
    assert np.array_equal(first["images"], again["images"])
    save_npz_atomic(path, images=np.zeros((1, 2, 2, 3), np.uint8))  # wrong shape: rebuilt too
    assert shapes.load_arrays()["images"].shape == (60, 32, 32, 3)


def test_digits():
    ds = get_dataset("digits")()
    assert len(ds) == 1797 and ds.n_classes == 10 and ds.attribute_mode == "labels"
    assert np.array_equal(ds.class_attributes, np.eye(10))
    assert ds.get_images([0]).shape == (1, 8, 8, 1) and ds.get_images(np.arange(1797)).max() == 255


def test_dataset_validation():
    with pytest.raises(DataError, match="duplicate class names: a"):
        ArrayDataset("x", np.array([0, 1]), ["a", "a"], features=np.zeros((2, 2)))
    with pytest.raises(DataError, match="shape \\(2, 3\\), expected \\(2, 2\\)"):
        ArrayDataset("x", np.array([0, 1]), ["a", "b"], np.zeros((2, 3)), ["p", "q"], features=np.zeros((2, 2)))
    with pytest.raises(DataError, match="NaN/inf"):
        ArrayDataset(
            "x", np.array([0, 1]), ["a", "b"], np.array([[0, np.nan], [1, 1]]), ["p", "q"], features=np.zeros((2, 2))
        )
    with pytest.raises(DataError, match="needs images or features"):
        ArrayDataset("x", np.array([0, 1]), ["a", "b"])
