"""Reliability of the datasets: the failure classes of the 2026-11 reliability review, as small reproducers.

S-01/S-02 (code from a CIFAR-10 pickle), F-11 (byte-identical images across split parts), F-13 (several
unreadable files), F-15 (decompression bomb), F-16 (dataset identity), F-A13/F-A15/F-A16 (attributes.csv),
F-09 (class names with commas), H-01 (memory estimates) and the default image size of folder datasets.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from zshbench.cli import main
from zshbench.datasets.base import ArrayDataset
from zshbench.errors import DataError, UserError
from zshbench.protocols import DuplicateContentWarning, load_protocol, resolve
from zshbench.runner import load_dataset

PROTO = """name = "pets"
version = "1"
dataset = "folder"
seen = ["a", "b", "c"]
unseen = ["d"]
[counts]
train_per_class = 2
query_per_class = 2
"""


_USER_CACHE = os.environ.get("ZSHBENCH_CACHE")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path / "cache"))


def png(seed: int, size=(28, 28), mode: str = "L") -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (1-bit), with no pixel data: PIL reads the size at open."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def folder(
    root: Path, per_class: int = 5, classes: str = "abcd", size=(28, 28), protocol: str | None = PROTO, seed: int = 0
) -> Path:
    for ci, c in enumerate(classes):
        (root / c).mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            (root / c / f"{j:02d}.png").write_bytes(png(seed + 100 * ci + j, size))
    if protocol is not None:
        (root / "protocol.toml").write_text(protocol)
    return root


def cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


# -- S-01 / S-02: no code from a data root ------------------------------------------------------------------
class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _cifar_root(tmp_path: Path, meta: bytes, batch: bytes | None = None) -> Path:
    d = tmp_path / "root" / "cifar-10-batches-py"
    d.mkdir(parents=True)
    (d / "batches.meta").write_bytes(meta)
    for b in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        (d / b).write_bytes(batch if batch is not None else b"")
    return tmp_path / "root"


def test_s01_cifar_pickle_that_would_run_code_is_refused(tmp_path, capsys):
    marker = tmp_path / "PWNED"
    meta = pickle.dumps({b"label_names": [b"x"] * 10, b"e": _Payload(marker)}, protocol=2)
    root = _cifar_root(tmp_path, meta)
    with pytest.raises(
        DataError,
        match=r"batches\.meta is not a plain CIFAR-10 batch: its pickle asks for "
        r"'io\.open'.*refuses",
    ):
        load_dataset("cifar10", str(root))
    assert not marker.exists()
    # S-02: the same through `zshbench protocol show`, exit 2, no traceback
    code, _, err = cli(capsys, "protocol", "show", "cifar10-zsh", "--data-root", str(root))
    assert code == 2 and "not a plain CIFAR-10 batch" in err and not marker.exists()


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (SHORT_BINSTRING / BINSTRING), as cPickle did for the official files."""

    def save_bytes(self, obj):
        n = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)) + obj)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_bytes


def _py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    # numpy 1.x (and the 2009 files) name the reconstructor numpy.core.multiarray
    return buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


@pytest.mark.parametrize("style", ["py2-cpickle", "py3-protocol2", "py3-protocol5"])
def test_s01_files_built_like_the_official_ones_load(tmp_path, style):
    names = [
        n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    ]
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
    batch = {
        b"batch_label": b"training batch 1 of 5",
        b"labels": [3, 9, 0, 1],
        b"data": data,
        b"filenames": [f"f{i}.png".encode() for i in range(4)],
    }
    meta = {b"label_names": names, b"num_cases_per_batch": 10000, b"num_vis": 3072}
    dump = {
        "py2-cpickle": _py2_pickle,
        "py3-protocol2": lambda o: pickle.dumps(o, protocol=2),
        "py3-protocol5": lambda o: pickle.dumps(o, protocol=5),
    }[style]
    root = _cifar_root(tmp_path, dump(meta), dump(batch))
    ds = load_dataset("cifar10", str(root))
    assert len(ds) == 24 and ds.class_names[3] == "cat" and list(ds.labels[:4]) == [3, 9, 0, 1]
    np.testing.assert_array_equal(ds.get_images([0])[0, :, :, 0], data[0, :1024].reshape(32, 32))
    assert ds.root == str((root / "cifar-10-batches-py").resolve())


def test_s01_restricted_codecs_encode(tmp_path):
    import codecs

    class Rot:
        def __reduce__(self):
            return (codecs.encode, ("abc", "rot13"))

    root = _cifar_root(tmp_path, pickle.dumps({b"label_names": Rot()}, protocol=2))
    with pytest.raises(DataError, match="corrupt"):
        load_dataset("cifar10", str(root))


# -- F-11: a class folder symlinked to another ----------------------------------------------------------------
def test_f11_symlinked_class_folder_is_refused_by_path(tmp_path, capsys):
    root = folder(tmp_path / "pets", classes="abc")
    try:
        os.symlink(root / "a", root / "d", target_is_directory=True)
    except OSError:
        pytest.skip("symlinks are not available here")
    ds = load_dataset(f"folder:{root}")
    with pytest.raises(
        DataError,
        match=r"item\(s\) of the split .* byte-identical .*a/0\d\.png \((train|database)\) = "
        r"d/0\d\.png \((query|database)\).*symlink",
    ):
        resolve(load_protocol(ds.default_protocol), ds)
    code, _, err = cli(
        capsys,
        "run",
        "--method",
        "lsh",
        "--dataset",
        f"folder:{root}",
        "--bits",
        "8",
        "--results",
        str(tmp_path / "res"),
        "--no-progress",
    )
    assert code == 2 and "byte-identical" in err
    assert not list((tmp_path / "res").rglob("*.json"))


def test_f11_same_photo_in_two_classes_is_refused(tmp_path):
    root = folder(tmp_path / "pets")
    for j in range(5):  # the photos of 'a' copied into 'd': a training image of 'a' is now a query or db item
        (root / "d" / f"{j:02d}.png").write_bytes((root / "a" / f"{j:02d}.png").read_bytes())
    ds = load_dataset(f"folder:{root}")
    with pytest.raises(DataError, match=r"\d item\(s\) of the split of protocol 'pets' on dataset 'folder-pets'"):
        resolve(load_protocol(ds.default_protocol), ds)
    # the index-level split is unchanged by the check
    assert resolve(load_protocol(ds.default_protocol), ds, check_content=False).counts()["query"] == 2


def test_f11_pinned_protocol_on_a_registered_dataset_counts_and_warns():
    from zshbench.datasets.digits import CLASS_NAMES

    labels = np.repeat(np.arange(10), 100)
    images = np.random.default_rng(0).integers(0, 256, (1000, 8, 8, 1), dtype=np.uint8)
    images[labels == 3] = images[labels == 0]  # class 'three' (unseen) copies class 'zero' (seen)
    ds = ArrayDataset("digits", labels, CLASS_NAMES, images=images)
    proto = load_protocol("digits-zsh@1")  # 100 items per class: version 2 needs 138 per seen class
    assert proto.pinned
    with pytest.warns(DuplicateContentWarning, match="item 0|item"):
        split = resolve(proto, ds)
    assert split.content_duplicates == 200 and len(split.duplicate_examples) == 5
    assert split.fingerprint == resolve(proto, ds, check_content=False).fingerprint


def test_f11_builtin_datasets_have_no_cross_part_duplicates_and_hash_fast(monkeypatch):
    import time

    from zshbench import get_dataset

    if _USER_CACHE:  # the generated shapes dataset lives in the usual cache
        monkeypatch.setenv("ZSHBENCH_CACHE", _USER_CACHE)
    else:
        monkeypatch.delenv("ZSHBENCH_CACHE")
    for name in ("digits", "shapes"):
        ds = get_dataset(name)()
        split = resolve(load_protocol(f"{name}-zsh"), ds)
        assert split.content_duplicates == 0 and split.duplicate_examples == ()
    t = time.process_time()
    hashes = ds.content_hashes(np.arange(len(ds)))
    assert len(set(hashes)) == len(ds) == 10000 and time.process_time() - t < 1.0


# -- F-13 / F-15: unreadable files --------------------------------------------------------------------------
def test_f13_every_unreadable_file_is_named_in_one_scan(tmp_path):
    root = folder(tmp_path / "p")
    (root / "a" / "00.png").write_bytes(b"")
    (root / "b" / "01.png").write_bytes(b"not a png")
    (root / "c" / "02.png").write_bytes((root / "c" / "02.png").read_bytes()[:20])  # header cut short
    with pytest.raises(DataError) as e:
        load_dataset(f"folder:{root}")
    msg = str(e.value)
    assert "3 of 20 image file(s)" in msg and all(f in msg for f in ("a/00.png", "b/01.png", "c/02.png"))


@pytest.mark.parametrize("size", [(20000, 10000), (10000, 9000)])  # above the error / the warning limit
def test_f15_decompression_bomb_is_a_data_error_naming_the_file(tmp_path, size, capsys):
    from zshbench.datasets._images import decode_image

    root = folder(tmp_path / "p")
    (root / "a" / "bomb.png").write_bytes(png_header(*size))
    with pytest.raises(DataError, match=r"a/bomb\.png \(too large to decode safely"):
        load_dataset(f"folder:{root}")
    with pytest.raises(DataError, match=r"bomb\.png is too large to decode safely.*Downscale"):
        decode_image(root / "a" / "bomb.png", 32)
    code, _, err = cli(capsys, "protocol", "show", str(root / "protocol.toml"), "--dataset", f"folder:{root}")
    assert code == 2 and "bomb.png" in err


# -- F-A13 / F-A15 / F-A16: attributes.csv ------------------------------------------------------------------
@pytest.mark.parametrize(
    "content, match",
    [
        (
            b"class,caf\xe9\na,1\nb,0\nc,1\nd,0\n",
            r"not UTF-8 text: byte 0xe9 at offset 9 \(line 1\).*Save the file as UTF-8",
        ),
        (bytes(range(256)) * 3, r"not UTF-8 text|NUL bytes"),
        (b"class,x\x00y\na,1\n", r"NUL bytes: it is a binary file"),
        (b"class,x,x\na,1,1\nb,0,1\nc,1,1\nd,0,1\n", r"attribute\(s\) more than once: x"),
        (b"class,x,\na,1,1\nb,0,1\nc,1,1\nd,0,1\n", r"column\(s\) 3 have no attribute name"),
    ],
)
def test_f_a13_a15_a16_bad_attributes_csv(tmp_path, content, match):
    root = folder(tmp_path / "p")
    (root / "attributes.csv").write_bytes(content)
    with pytest.raises(DataError, match=match) as e:
        load_dataset(f"folder:{root}")
    assert "attributes.csv" in str(e.value)


# -- F-16: identity ------------------------------------------------------------------------------------------
def test_f16_identity_tells_two_folders_of_the_same_name_apart(tmp_path):
    import shutil

    one = load_dataset(f"folder:{folder(tmp_path / 'x1' / 'pets')}")
    two = load_dataset(f"folder:{folder(tmp_path / 'x2' / 'pets', per_class=6)}")
    assert one.name == two.name == "folder-pets"
    assert one.identity() != two.identity() and one.identity()["content"] != two.identity()["content"]
    shutil.copytree(tmp_path / "x1" / "pets", tmp_path / "elsewhere" / "pets")
    copy = load_dataset(f"folder:{tmp_path / 'elsewhere' / 'pets'}")
    assert copy.identity() == one.identity()
    assert set(one.identity()) == {"name", "version", "fingerprint", "image_size", "content"}
    assert load_dataset(f"folder:{tmp_path / 'x1' / 'pets'}", image_size=16).identity() != one.identity()
    # attributes.csv and protocol.toml are part of the content
    (tmp_path / "elsewhere" / "pets" / "attributes.csv").write_text("class,w\na,1\nb,0\nc,1\nd,0\n")
    assert load_dataset(f"folder:{tmp_path / 'elsewhere' / 'pets'}").identity()["content"] != one.identity()["content"]


def test_f16_folder_name_is_a_safe_path_component(tmp_path):
    ds = load_dataset(f"folder:{folder(tmp_path / 'My Pets...(2024)', protocol=None)}")
    assert ds.name == "folder-my-pets.-2024" and ds.root == str((tmp_path / "My Pets...(2024)").resolve())


# -- F-09: class names with a comma ----------------------------------------------------------------------------
def test_f09_comma_class_names_in_unseen(tmp_path):
    from zshbench.datasets.folder import protocol_from_args

    root = folder(tmp_path / "p", classes="abc", protocol=None)
    os.rename(root / "a", root / "x,y")
    ds = load_dataset(f"folder:{root}")
    assert protocol_from_args(ds, "x,y,c", 2, 2).unseen == ("x,y", "c")
    with pytest.raises(UserError, match=r"splits its value at commas.*'x,y'"):
        protocol_from_args(ds, "x,z", 2, 2)


# -- default image size (no silent upsampling) and H-01 memory estimates -----------------------------------
def test_folder_default_image_size_is_the_images_own(tmp_path):
    ds = load_dataset(f"folder:{folder(tmp_path / 'small')}")
    assert ds.image_size == 28 and ds.get_images([0]).shape == (1, 28, 28, 3)
    assert "own size (all 20 images are 28x28)" in ds.describe()["image_size_source"]
    mixed = folder(tmp_path / "mixed")
    (mixed / "a" / "00.png").write_bytes(png(7, (32, 30)))
    ds = load_dataset(f"folder:{mixed}")
    assert ds.image_size == 224 and "differ in size (2 sizes: 28x28, 32x30)" in ds.describe()["image_size_source"]
    ds = load_dataset(f"folder:{mixed}", image_size=16)
    assert ds.image_size == 16 and "given" in ds.describe()["image_size_source"]
    tiny = load_dataset(f"folder:{folder(tmp_path / 'tiny', size=(4, 6))}")
    assert tiny.image_size == 8 and "raised to 8" in tiny.describe()["image_size_source"]


def test_h01_large_images_are_estimated_before_allocating(tmp_path, monkeypatch):
    from zshbench.features import extract_features

    ds = load_dataset(f"folder:{folder(tmp_path / 'p')}", image_size=2048)
    monkeypatch.setenv("ZSHBENCH_MEMORY_LIMIT", str(2**30))
    with pytest.raises(
        UserError,
        match=r"pixel feature matrix \(20 items x 12,582,912 values: 2048x2048x3 pixels.*"
        r"smaller --image-size.*--features timm",
    ):
        extract_features(ds, np.arange(20), "pixels")
    with pytest.raises(UserError, match=r"Not enough memory: a batch of 100 decoded 2048x2048 RGB images"):
        ds.get_images(np.zeros(100, dtype=np.int64))
    monkeypatch.delenv("ZSHBENCH_MEMORY_LIMIT")
