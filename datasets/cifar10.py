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
"""

from __future__ import annotations

import pickle

import numpy as np

from zshbench.datasets._images import _TorchImages, check_image_size
from zshbench.datasets.base import Dataset, require_files, resolve_data_root
from zshbench.errors import DataError
from zshbench.registry import register_dataset

__all__ = ["CIFAR10", "cifar10"]

FOLDER = "cifar-10-batches-py"
BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
HOW_TO_GET = ("Download the 'CIFAR-10 python version' (cifar-10-python.tar.gz) from "
              "https://www.cs.toronto.edu/~kriz/cifar.html and extract it into the data root.")
TREE = f"DATA_ROOT/{FOLDER}/{{data_batch_1..5, test_batch, batches.meta}}"


def _unpickle(path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DataError(f"CIFAR-10 file {path} is corrupt ({exc}); re-extract cifar-10-python.tar.gz.") from None


class CIFAR10(Dataset):
    """CIFAR-10 held in memory as uint8 (60000, 32, 32, 3)."""

    name = "cifar10"
    version = "1"
    default_protocol = "cifar10-zsh"

    def __init__(self, root, image_size: int | None = None):
        require_files(root, [f"{FOLDER}/{b}" for b in (*BATCHES, "batches.meta")], dataset=self.name,
                      how_to_get=HOW_TO_GET, tree=TREE)
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
        self._images = np.concatenate(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # view, no copy of NHWC
        self.image_size = None if image_size is None else check_image_size(image_size)
        s = self.image_size or 32
        self.image_shape = (s, s, 3)
        self.root = str(root)

    def _pil_image(self, item: int):
        from PIL import Image

        img = Image.fromarray(np.ascontiguousarray(self._images[item]))
        return img if self.image_size is None else img.resize((self.image_size,) * 2, Image.BILINEAR)

    def _load_images(self, idx: np.ndarray) -> np.ndarray:
        if self.image_size is None:
            return np.ascontiguousarray(self._images[idx])
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
