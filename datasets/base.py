"""The `Dataset` every loader returns.

A dataset is a labelled collection of items with class-level side information:

* ``labels`` (int64, one class index per item), ``class_names``;
* ``class_attributes`` (C x A float32) with ``attribute_names``, or, for datasets without attribute
  annotations, ``attribute_mode == "labels"``: the identity matrix over the classes ("labels as attributes");
* images (uint8 H x W x C, loaded lazily by index) and/or precomputed features (float32 vectors).

Datasets know nothing of seen and unseen classes: protocols split them (``zshbench.protocols``).

Identity and content: `Dataset.fingerprint` hashes labels, class names and attributes; `Dataset.identity`
adds what else decides the numbers (the image size in use; for folder datasets a fingerprint of the files),
so two different datasets never share an identity. `Dataset.content_hashes` gives one sha256 per item (file
bytes for file datasets, image or feature bytes for in-memory ones), which `zshbench.protocols.resolve` uses
to find byte-identical items across train, query and database.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zshbench.errors import DataError
from zshbench.trainset import ImageView

__all__ = ["Dataset", "ArrayDataset", "resolve_data_root", "require_files"]


def resolve_data_root(data_root: str | os.PathLike | None) -> Path:
    """``--data-root`` if given, else ``$ZSHBENCH_DATA``, else ``./data``."""
    return Path(data_root or os.environ.get("ZSHBENCH_DATA") or "data").expanduser()


def require_files(root: Path, files: Sequence[str], *, dataset: str, how_to_get: str, tree: str) -> None:
    """Raise one `DataError` listing every missing file of a dataset's expected tree.

    Args:
        root: the directory the files are relative to.
        files: relative paths that must exist.
        dataset: the dataset name, for the message.
        how_to_get: where to download the data (one sentence).
        tree: the expected directory tree, as shown to the user.
    """
    missing = [f for f in files if not (root / f).exists()]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise DataError(
            f"Dataset '{dataset}' not found: {len(missing)} expected file(s) are missing under {root} ({shown}). "
            f"{how_to_get} Expected tree: {tree}. Point --data-root (or $ZSHBENCH_DATA) at the directory that "
            "contains it; zshbench never downloads data itself."
        )


class Dataset:
    """Base class. Subclasses set the attributes in ``__init__`` and implement `_load_images` and/or
    `_load_features`."""

    name: str = ""
    version: str = "1"
    default_protocol: str = ""
    image_shape: tuple[int, ...] | None = None
    feature_dim: int | None = None
    #: absolute path of the folder the dataset is read from ("" for generated / in-memory datasets)
    root: str = ""
    #: the user's own data (folder datasets): byte-identical items across split parts are refused
    user_data: bool = False

    def __init__(
        self,
        labels: np.ndarray,
        class_names: Sequence[str],
        class_attributes: np.ndarray | None,
        attribute_names: Sequence[str] | None,
        *,
        attribute_source: str = "",
    ):
        self.labels = np.asarray(labels, dtype=np.int64)
        self.class_names = tuple(str(c) for c in class_names)
        c = len(self.class_names)
        if len(set(self.class_names)) != c:
            dup = sorted({n for n in self.class_names if self.class_names.count(n) > 1})
            raise DataError(f"Dataset '{self.name}' has duplicate class names: {', '.join(dup)}.")
        if self.labels.ndim != 1 or (len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= c)):
            raise DataError(f"Dataset '{self.name}': labels must be 1-D class indices in 0..{c - 1}.")
        if class_attributes is None:
            self.attribute_mode = "labels"
            self.class_attributes = np.eye(c, dtype=np.float32)
            self.attribute_names = self.class_names
            self.attribute_source = attribute_source or "one-hot class labels (labels-as-attributes mode)"
        else:
            att = np.asarray(class_attributes, dtype=np.float32)
            names = (
                tuple(attribute_names) if attribute_names is not None else tuple(f"a{i}" for i in range(att.shape[1]))
            )
            if att.ndim != 2 or att.shape != (c, len(names)):
                raise DataError(
                    f"Dataset '{self.name}': the class-attribute matrix has shape {att.shape}, expected "
                    f"({c}, {len(names)}) (classes x attributes)."
                )
            if not np.isfinite(att).all():
                bad = np.argwhere(~np.isfinite(att))
                raise DataError(
                    f"Dataset '{self.name}': the class-attribute matrix has {len(bad)} NaN/inf value(s), first at "
                    f"class '{self.class_names[bad[0][0]]}', attribute '{names[bad[0][1]]}'."
                )
            self.attribute_mode = "annotations"
            self.class_attributes = att
            self.attribute_names = names
            self.attribute_source = attribute_source or "annotations"

    # -- sizes ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_images(self) -> bool:
        return type(self)._load_images is not Dataset._load_images

    @property
    def has_features(self) -> bool:
        return type(self)._load_features is not Dataset._load_features

    def class_index(self, name: str) -> int:
        try:
            return self.class_names.index(name)
        except ValueError:
            raise DataError(f"Dataset '{self.name}' has no class '{name}'.") from None

    # -- data ----------------------------------------------------------------------------------------
    def _load_images(self, idx: np.ndarray) -> np.ndarray:
        raise DataError(f"Dataset '{self.name}' has no images (only precomputed features).")

    def _load_features(self, idx: np.ndarray) -> np.ndarray:
        raise DataError(f"Dataset '{self.name}' ships no precomputed features; use --features pixels or timm:<model>.")

    def get_images(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        """uint8 images (b, H, W, C) of the items ``idx``."""
        return self._load_images(np.asarray(idx, dtype=np.int64))

    def get_features(self, idx: Sequence[int] | np.ndarray) -> np.ndarray:
        """float32 features (b, D) of the items ``idx``."""
        return self._load_features(np.asarray(idx, dtype=np.int64))

    def image_view(self, idx: Sequence[int] | np.ndarray) -> ImageView:
        """A lazy view of the images of items ``idx`` (does not expose the rest of the dataset)."""
        pos = np.asarray(idx, dtype=np.int64).copy()
        load = self._load_images
        return ImageView(lambda p: load(pos[p]), len(pos), self.image_shape)

    def fingerprint(self) -> str:
        """sha256 over labels, class names and attributes: identifies the content for caches and records."""
        h = hashlib.sha256()
        h.update(f"{self.name}|{self.version}|".encode())
        h.update(self.labels.tobytes())
        h.update("\n".join(self.class_names).encode())
        h.update(np.ascontiguousarray(self.class_attributes).tobytes())
        return h.hexdigest()

    def item_name(self, i: int) -> str:
        """How messages name item ``i`` (file datasets: its path)."""
        return f"item {int(i)}"

    def content_hashes(self, idx: Sequence[int] | np.ndarray) -> list[str]:
        """sha256 (hex) of the content of each item of ``idx``: its image bytes (uint8, as stored) when the
        dataset has images, else its feature bytes. Subclasses reading files hash the file bytes instead."""
        idx = np.asarray(idx, dtype=np.int64)
        load = self._load_images if self.has_images else self._load_features
        out: list[str] = []
        for start in range(0, len(idx), 1024):
            batch = np.ascontiguousarray(load(idx[start : start + 1024]))
            out += [hashlib.sha256(x).hexdigest() for x in batch]
        return out

    def identity(self) -> dict:
        """What identifies this dataset's content, independent of where it lives (JSON-able).

        Returns:
            {"name", "version", "fingerprint"} (`fingerprint`: labels, class names, attributes), plus
            "image_size" (the size images are delivered at) for datasets whose images are resized, and
            for folder datasets "content" (a sha256 over their files).
        """
        return {"name": self.name, "version": self.version, "fingerprint": self.fingerprint()}

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "n_items": len(self),
            "n_classes": self.n_classes,
            "n_attributes": len(self.attribute_names),
            "attribute_mode": self.attribute_mode,
            "attribute_source": self.attribute_source,
            "has_images": self.has_images,
            "has_features": self.has_features,
        }


class ArrayDataset(Dataset):
    """A dataset held in memory: uint8 images (n, H, W, C) and/or float features (n, D)."""

    def __init__(
        self,
        name: str,
        labels: np.ndarray,
        class_names: Sequence[str],
        class_attributes: np.ndarray | None = None,
        attribute_names: Sequence[str] | None = None,
        *,
        images: np.ndarray | None = None,
        features: np.ndarray | None = None,
        default_protocol: str = "",
        version: str = "1",
        attribute_source: str = "",
    ):
        self.name = name
        self.version = version
        self.default_protocol = default_protocol
        super().__init__(labels, class_names, class_attributes, attribute_names, attribute_source=attribute_source)
        if images is None and features is None:
            raise DataError(f"Dataset '{name}' needs images or features.")
        if images is not None:
            images = np.asarray(images)
            if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(self.labels):
                raise DataError(
                    f"Dataset '{name}': images must be uint8 (n, H, W, C) with n = {len(self.labels)}; "
                    f"got {images.dtype} {images.shape}."
                )
            self.image_shape = tuple(images.shape[1:])
        if features is not None:
            features = np.asarray(features, dtype=np.float32)
            if features.ndim != 2 or len(features) != len(self.labels):
                raise DataError(
                    f"Dataset '{name}': features must be (n, D) with n = {len(self.labels)}; got {features.shape}."
                )
            self.feature_dim = features.shape[1]
        self._images = images
        self._features = features

    @property
    def has_images(self) -> bool:
        return self._images is not None

    @property
    def has_features(self) -> bool:
        return self._features is not None

    def _load_images(self, idx: np.ndarray) -> np.ndarray:
        if self._images is None:
            return super()._load_images(idx)
        return self._images[idx]

    def _load_features(self, idx: np.ndarray) -> np.ndarray:
        if self._features is None:
            return super()._load_features(idx)
        return self._features[idx]
