"""``cifar10``: CIFAR-10 (Krizhevsky, 2009), the "CIFAR-10 python version" archive, all 60,000 images.

Expected tree (``cifar-10-python.tar.gz`` from https://www.cs.toronto.edu/~kriz/cifar.html, extracted)::

    DATA_ROOT/cifar-10-batches-py/
        data_batch_1 ... data_batch_5   pickled dicts: b"data" (10000 x 3072 uint8, CHW rows), b"labels"
        test_batch
        batches.meta                    b"label_names": the 10 class names

Item order: data_batch_1..5, then test_batch (the official train/test partition plays no role: protocols
re-split by class). CIFAR-10 has no attribute annotations, so it runs in labels-as-attributes mode. The raw
uint8 arrays (180 MB) are held in memory; images are 32 x 32 unless ``image_size`` asks for a resize.
Default protocol: ``cifar10-zsh`` (unseen: cat, truck).

The files are pickles, so they are read with a restricted unpickler (`_BatchUnpickler`) that allows only
numpy's array reconstruction: a file that names any other global (which could run code) is refused with a
`DataError` before anything in it runs.
"""

from __future__ import annotations

import hashlib
import pickle

import numpy as np

from zshbench.datasets._images import _TorchImages, check_image_size
from zshbench.datasets.base import Dataset, require_files, resolve_data_root
from zshbench.errors import DataError
from zshbench.memory import check_allocation
from zshbench.registry import register_dataset

__all__ = ["CIFAR10", "cifar10"]

FOLDER = "cifar-10-batches-py"
BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
HOW_TO_GET = (
    "Download the 'CIFAR-10 python version' (cifar-10-python.tar.gz) from "
    "https://www.cs.toronto.edu/~kriz/cifar.html and extract it into the data root."
)
TREE = f"DATA_ROOT/{FOLDER}/{{data_batch_1..5, test_batch, batches.meta}}"


def _numpy_globals() -> dict[tuple[str, str], object]:
    """The only globals a CIFAR-10 batch pickle may name: numpy's array, dtype and scalar reconstructors (under
    the module names numpy 1.x and 2.x write) and a latin-1-only ``_codecs.encode`` (Python 3 pickles of bytes
    at protocol 2 use it)."""
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy < 2
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]

    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }
    for mod in ("numpy.core", "numpy._core"):
        allowed[(f"{mod}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{mod}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{mod}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


def _latin1_encode(text, encoding="latin1", errors="strict") -> bytes:
    """``_codecs.encode`` restricted to what pickled bytes need (str -> latin-1 bytes)."""
    if not isinstance(text, str) or str(encoding).lower().replace("-", "").replace("_", "") != "latin1":
        raise pickle.UnpicklingError(f"_codecs.encode is allowed only for latin-1 strings, got {encoding!r}")
    return text.encode("latin-1", errors)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 batch without running code: every global outside `_numpy_globals` is refused."""

    def __init__(self, file, path):
        super().__init__(file, encoding="bytes")
        self._path = path
        self._allowed = _numpy_globals()

    def find_class(self, module: str, name: str):
        fn = self._allowed.get((module, name))
        if fn is None:
            raise DataError(
                f"CIFAR-10 file {self._path} is not a plain CIFAR-10 batch: its pickle asks for '{module}.{name}', "
                "which the official files never contain (they hold only dicts, lists, bytes and numpy arrays). "
                "zshbench refuses to load it, since unpickling it could run code from the data root. Replace the "
                "folder with a fresh extraction of cifar-10-python.tar.gz from "
                "https://www.cs.toronto.edu/~kriz/cifar.html."
            )
        return fn

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _unpickle(path) -> dict:
    """The dict of a CIFAR-10 python-version file, read with `_BatchUnpickler` (no code from disk runs).

    Raises:
        DataError: the file names a global outside the allowed numpy reconstructors, is corrupt, or is not a
            dict.
    """
    try:
        with open(path, "rb") as f:
            d = _BatchUnpickler(f, path).load()
    except DataError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
        UnicodeDecodeError,
    ) as exc:
        raise DataError(
            f"CIFAR-10 file {path} is corrupt ({type(exc).__name__}: {exc}); re-extract cifar-10-python.tar.gz."
        ) from None
    if not isinstance(d, dict):
        raise DataError(
            f"CIFAR-10 file {path} holds a {type(d).__name__}, not the dict of a CIFAR-10 batch; "
            "re-extract cifar-10-python.tar.gz."
        )
    return d


class CIFAR10(Dataset):
    """CIFAR-10 held in memory as uint8 (60000, 32, 32, 3)."""

    name = "cifar10"
    version = "1"
    default_protocol = "cifar10-zsh"

    def __init__(self, root, image_size: int | None = None):
        require_files(
            root,
            [f"{FOLDER}/{b}" for b in (*BATCHES, "batches.meta")],
            dataset=self.name,
            how_to_get=HOW_TO_GET,
            tree=TREE,
        )
        meta = _unpickle(root / FOLDER / "batches.meta")
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(b"label_names", [])]
        if len(names) != 10:
            raise DataError(f"CIFAR-10 batches.meta under {root / FOLDER} lists {len(names)} class names, expected 10.")
        data, labels = [], []
        for b in BATCHES:
            d = _unpickle(root / FOLDER / b)
            x = np.asarray(d.get(b"data"))
            y = np.asarray(d.get(b"labels", d.get(b"fine_labels")), dtype=np.int64)
            if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072 or len(y) != len(x):
                raise DataError(
                    f"CIFAR-10 file {root / FOLDER / b} does not hold uint8 N x 3072 data with N labels "
                    f"(got data {x.dtype} {x.shape}, {len(y)} labels); is this the python version of CIFAR-10?"
                )
            data.append(x)
            labels.append(y)
        super().__init__(np.concatenate(labels), names, None, None)
        self._rows = np.concatenate(data)  # (N, 3072) CHW rows, as in the files
        self._images = self._rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # view, no copy of NHWC
        self.image_size = None if image_size is None else check_image_size(image_size)
        s = self.image_size or 32
        self.image_shape = (s, s, 3)
        self.root = str((root / FOLDER).resolve())

    def _pil_image(self, item: int):
        from PIL import Image

        img = Image.fromarray(np.ascontiguousarray(self._images[item]))
        return img if self.image_size is None else img.resize((self.image_size,) * 2, Image.BILINEAR)

    def content_hashes(self, idx) -> list[str]:
        """sha256 of each item's 3,072 raw bytes (its row in the batch file)."""
        rows = self._rows
        return [hashlib.sha256(rows[int(i)]).hexdigest() for i in np.asarray(idx, dtype=np.int64)]

    def identity(self) -> dict:
        return {**super().identity(), "image_size": self.image_shape[0]}

    def _load_images(self, idx: np.ndarray) -> np.ndarray:
        if self.image_size is None:
            return np.ascontiguousarray(self._images[idx])
        check_allocation(
            len(idx) * int(np.prod(self.image_shape)),
            f"a batch of {len(idx)} images resized to {self.image_size}x{self.image_size}",
            "Use a smaller --image-size (CIFAR-10 images are 32x32).",
        )
        out = np.empty((len(idx), *self.image_shape), dtype=np.uint8)
        for j, i in enumerate(idx):
            out[j] = np.asarray(self._pil_image(int(i)))
        return out

    def torch_dataset(self, indices=None, transform=None):
        """A picklable map-style torch Dataset of ``(image, label)``; ``transform`` gets an RGB PIL image."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        return _TorchImages(self, idx, transform)

    def describe(self) -> dict:
        return {**super().describe(), "image_size": self.image_shape[0], "root": self.root}


@register_dataset("cifar10")
def cifar10(data_root=None, image_size: int | None = None) -> CIFAR10:
    """CIFAR-10, 60,000 32x32 images of 10 classes; labels-as-attributes (needs cifar-10-batches-py/)."""
    return CIFAR10(resolve_data_root(data_root), image_size=image_size)
