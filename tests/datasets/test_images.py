"""The shared image-file machinery: lazy decoding to fixed squares, corrupt files, the torch adapter."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from _trees import image_bytes, write_files

from zshbench.datasets._images import ImageFileDataset, decode_image, file_sha256s
from zshbench.errors import DataError


class _Tiny(ImageFileDataset):
    name = "tiny"


def _dataset(tmp_path, n=4, size=16, **kw):
    paths = [tmp_path / f"c{i % 2}" / f"{i}.png" for i in range(n)]
    for i, p in enumerate(paths):
        write_files([p], image_bytes(i, size=(20 + 3 * i, 10 + i), fmt="PNG"))
    return _Tiny([str(p) for p in paths], [i % 2 for i in range(n)], ["a", "b"], None, None, image_size=size, **kw)


def test_decode_resizes_shorter_side_and_centre_crops(tmp_path):
    p = tmp_path / "wide.png"
    write_files([p], image_bytes(0, size=(40, 10), fmt="PNG", mode="L"))  # grey, 4:1
    img = decode_image(p, 8)
    assert img.mode == "RGB" and img.size == (8, 8)
    p2 = tmp_path / "rgba.png"
    write_files([p2], image_bytes(1, size=(9, 30), fmt="PNG", mode="RGBA"))
    assert decode_image(p2, 12).size == (12, 12)


def test_load_images_stack_uint8_squares_deterministically(tmp_path):
    ds = _dataset(tmp_path)
    x = ds.get_images([3, 0, 3])
    assert x.dtype == np.uint8 and x.shape == (3, 16, 16, 3)
    np.testing.assert_array_equal(x[0], x[2])
    np.testing.assert_array_equal(ds.get_images([0])[0], x[1])
    assert ds.image_view([1, 2]).take([1]).shape == (1, 16, 16, 3)
    assert ds.describe()["image_size"] == 16


def test_corrupt_image_fails_naming_the_file_and_verify_lists_it(tmp_path):
    ds = _dataset(tmp_path)
    bad = tmp_path / "c1" / "1.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DataError, match=r"1\.png is corrupt"):
        ds.get_images([0, 1])
    assert ds.verify_images() == [str(bad)]
    ds.get_images([0, 2])  # the others still load


def test_duplicate_image_paths_are_refused(tmp_path):
    write_files([tmp_path / "x.png"], image_bytes(0, fmt="PNG"))
    with pytest.raises(DataError, match="more than once"):
        _Tiny([str(tmp_path / "x.png")] * 2, [0, 1], ["a", "b"], None, None)


def test_bad_image_size_is_a_user_error(tmp_path):
    with pytest.raises(ValueError, match="image_size"):
        _dataset(tmp_path, size=0)


def test_torch_dataset_pickles_and_batches(tmp_path):
    import torch

    ds = _dataset(tmp_path, size=8)
    tds = pickle.loads(pickle.dumps(ds.torch_dataset([1, 2])))  # DataLoader workers pickle it
    x, y = tds[0]
    assert x.shape == (8, 8, 3) and y == 1
    batch = next(iter(torch.utils.data.DataLoader(tds, batch_size=2)))
    assert tuple(batch[0].shape) == (2, 8, 8, 3) and batch[1].tolist() == [1, 0]
    flat = ds.torch_dataset(None, transform=lambda im: np.asarray(im, dtype=np.float32).mean())
    assert len(flat) == 4 and isinstance(flat[3][0], np.floating)


def test_content_hashes_are_file_sha256s_cached_on_disk(tmp_path, monkeypatch):
    import hashlib
    import os

    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    ds = _dataset(tmp_path / "d", root=tmp_path / "d")
    expected = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in ds.paths]
    assert ds.content_hashes([0, 1, 2, 3]) == expected and ds.content_hashes([2]) == [expected[2]]
    (cache_file,) = (tmp_path / "cache" / "content-hashes").glob("*.json")
    stored = json.loads(cache_file.read_text())["files"]
    assert sorted(v[2] for v in stored.values()) == sorted(expected)
    # the cache is used (a planted digest for the same (path, size, mtime) is returned) ...
    real = os.path.realpath(ds.paths[0])
    stored[real][2] = "planted"
    cache_file.write_text(json.dumps({"format": 1, "group": "", "files": stored}))
    monkeypatch.setattr("zshbench.datasets._images._SHA_MEMO", {})
    assert file_sha256s([ds.paths[0]], ds.root) == ["planted"]
    # ... and a changed file (new size / mtime) is hashed again
    with open(ds.paths[0], "ab") as f:
        f.write(b"x")
    assert file_sha256s([ds.paths[0]], ds.root)[0] == hashlib.sha256(open(ds.paths[0], "rb").read()).hexdigest()
    assert ds.item_name(1) == "c1/1.png" and ds.root == str((tmp_path / "d").resolve())
