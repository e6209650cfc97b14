"""Codes files and memory-mapped database encoding (zshbench.codes; the runner's large-database path)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from zshbench import codes as zc
from zshbench import create_hasher
from zshbench.codes import CodesFileError, encode_to_memmap, open_codes, write_codes
from zshbench.errors import UserError
from zshbench.trainset import TrainSet


@pytest.fixture(scope="module")
def fitted():
    x = np.random.default_rng(0).standard_normal((3_001, 40)).astype(np.float32)
    h = create_hasher("itq", n_bits=20, seed=1, n_iter=5).fit(
        TrainSet.from_arrays(np.zeros(500, np.int64), features=x[:500])
    )
    return h, x


def test_roundtrip_equals_in_ram_encode(fitted, tmp_path):
    h, x = fitted
    mm = encode_to_memmap(h, x, tmp_path / "db.zsc", chunk=700)  # 700 does not divide 3,001
    assert isinstance(mm, np.memmap) and mm.dtype == np.uint8 and mm.shape == (3_001, 3)
    assert not mm.flags.writeable
    np.testing.assert_array_equal(np.asarray(mm), h.encode(x))
    assert os.listdir(tmp_path) == ["db.zsc"]  # the temp file was renamed, nothing else left
    again = open_codes(tmp_path / "db.zsc", n_bits=20, verify=True)
    np.testing.assert_array_equal(np.asarray(again), np.asarray(mm))
    assert zc.read_codes_header(tmp_path / "db.zsc")["n_items"] == 3_001


def test_memmap_codes_evaluate_like_in_ram(fitted, tmp_path):
    from zshbench.evaluate import evaluate

    h, x = fitted
    labels = np.arange(len(x)) % 7
    mm = encode_to_memmap(h, x, tmp_path / "db.zsc", chunk=1_000)
    q = h.encode(x[:50])
    a = evaluate(q, mm, labels[:50], labels, n_bits=20, k=100)
    b = evaluate(q, h.encode(x), labels[:50], labels, n_bits=20, k=100)
    assert a.metrics == b.metrics


def test_progress_counts_every_item(fitted, tmp_path):
    h, x = fitted
    seen = []
    encode_to_memmap(h, x, tmp_path / "db.zsc", chunk=1_000, batch_size=300, progress=seen.append)
    assert sum(seen) == len(x)


def test_image_view_stays_lazy(tmp_path):
    from zshbench.hasher import Hasher, Requirements
    from zshbench.trainset import ImageView

    class Pixels(Hasher):  # a stand-in image method: code bits = pixel > 127
        name, requires, encode_batch_size = "pixels-test", Requirements(inputs="images"), 32

        def _encode_batch(self, x):
            return x.reshape(len(x), -1)[:, : self.n_bits].astype(np.float32) - 127.5

    images = np.random.default_rng(2).integers(0, 256, size=(1_000, 4, 4, 3), dtype=np.uint8)
    loads = []
    view = ImageView(lambda idx: loads.append(len(idx)) or images[idx], len(images), (4, 4, 3))
    h = Pixels(n_bits=24)
    h.fitted_ = True
    mm = encode_to_memmap(h, view, tmp_path / "img.zsc", chunk=300)
    assert max(loads) <= 32 and sum(loads) == 1_000  # one encoder batch at a time, each image once
    np.testing.assert_array_equal(np.asarray(mm), h.encode(images))


def _written(tmp_path, n=10, n_bits=12):
    codes = np.packbits(np.random.default_rng(1).random((n, n_bits)) > 0.5, axis=1)
    return write_codes(tmp_path / "c.zsc", codes, n_bits), codes


def test_truncated_file_is_refused(tmp_path):
    path, _ = _written(tmp_path)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 3)
    with pytest.raises(CodesFileError, match="truncated.*10 codes of 12 bits"):
        open_codes(path)


def test_extra_bytes_are_refused(tmp_path):
    path, _ = _written(tmp_path)
    with open(path, "ab") as f:
        f.write(b"\0\0")
    with pytest.raises(CodesFileError, match="longer than its header says"):
        open_codes(path)


def test_damaged_header_not_a_codes_file_and_missing_file(tmp_path):
    path, _ = _written(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[9] ^= 0xFF  # inside n_items
    path.write_bytes(bytes(raw))
    with pytest.raises(CodesFileError, match="header checksum"):
        open_codes(path)
    other = tmp_path / "x.npy"
    np.save(other, np.zeros((4, 2), np.uint8))
    with pytest.raises(CodesFileError, match="does not start with a zshbench codes header"):
        open_codes(other)
    with pytest.raises(CodesFileError, match="does not exist"):
        open_codes(tmp_path / "nope.zsc")


def test_changed_code_bytes_caught_with_verify(tmp_path):
    path, codes = _written(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x10
    path.write_bytes(bytes(raw))
    open_codes(path)  # size and header are fine: only the checksum can tell
    with pytest.raises(CodesFileError, match="checksum of its code bytes"):
        open_codes(path, verify=True)


def test_unfinished_file_and_wrong_n_bits(tmp_path):
    path, codes = _written(tmp_path)
    with pytest.raises(CodesFileError, match="holds 12-bit codes, but 16-bit"):
        open_codes(path, n_bits=16)
    w = zc._CodesWriter(tmp_path / "u.zsc", 12)  # a writer killed before finish: its temp file
    w.write(codes)
    w.f.close()
    with pytest.raises(CodesFileError, match="never finalised"):
        open_codes(w.tmp)
    assert not (tmp_path / "u.zsc").exists()


def test_failed_encoding_leaves_no_file(fitted, tmp_path):
    h, x = fitted
    bad = x.copy()
    bad[2_500, 3] = np.nan  # in the third chunk
    with pytest.raises(UserError, match="NaN"):
        encode_to_memmap(h, bad, tmp_path / "db.zsc", chunk=1_000)
    assert os.listdir(tmp_path) == []
    with pytest.raises(UserError, match="chunk must be a positive"):
        encode_to_memmap(h, x, tmp_path / "db.zsc", chunk=0)


def test_threshold_sources_and_validation(monkeypatch):
    monkeypatch.delenv(zc.MEMMAP_THRESHOLD_ENV, raising=False)
    assert zc.memmap_threshold() == zc.DEFAULT_MEMMAP_THRESHOLD
    monkeypatch.setenv(zc.MEMMAP_THRESHOLD_ENV, "1000")
    assert zc.memmap_threshold() == 1000 and zc.memmap_threshold(5) == 5
    monkeypatch.setenv(zc.MEMMAP_THRESHOLD_ENV, "lots")
    with pytest.raises(UserError, match=r"\$ZSHBENCH_MEMMAP_THRESHOLD must be a non-negative"):
        zc.memmap_threshold()
    with pytest.raises(UserError, match="non-negative number of database items"):
        zc.memmap_threshold(-1)


def test_runner_memmap_path_gives_the_same_record(tmp_path, monkeypatch):
    from zshbench.runner import build_trainset, prepare, run_one
    from zshbench.runner.execute import _features

    monkeypatch.setenv("ZSHBENCH_CODES_DIR", str(tmp_path / "codes"))
    calls = []
    real = zc.encode_to_memmap
    monkeypatch.setattr(zc, "encode_to_memmap", lambda *a, **kw: calls.append(len(a[1])) or real(*a, **kw))
    prep = prepare("itq", "digits", bits=[16], device="cpu")
    feats = _features(prep, None, None)
    train = build_trainset(prep.dataset, prep.split, feats["train"])

    def one(threshold):
        h = prep.method_cls(n_bits=16, seed=0, device="cpu")
        return run_one(h, prep, train, feats["query"], feats["database"], memmap_threshold=threshold)

    ram = one(None)
    assert calls == []  # 593 items: below the default threshold
    mm = one(0)
    assert calls == [593]
    assert mm["metrics"] == ram["metrics"] and mm["curves"] == ram["curves"]
    assert os.listdir(tmp_path / "codes") == []  # the codes file is unlinked once mapped


def test_cli_rejects_negative_threshold(capsys, tmp_path):
    from zshbench.cli import main

    rc = main(
        [
            "run",
            "--method",
            "lsh",
            "--dataset",
            "digits",
            "--results",
            str(tmp_path),
            "--no-progress",
            "--memmap-threshold",
            "-5",
        ]
    )
    assert rc == 2
    assert "non-negative number of database items" in capsys.readouterr().err
