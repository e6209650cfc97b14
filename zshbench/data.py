"""The objects that cross the boundary between the runner and a method: image views and the TrainSet.

`TrainSet` is the only door into training. The runner builds it from the train indices of a resolved split, so
it holds items of SEEN classes only, their labels re-indexed over the seen classes, the seen-class names and the
seen-class attribute rows. Nothing of an unseen class is reachable from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from zshbench.errors import UserError

__all__ = ["ImageView", "TrainSet", "as_feature_array", "as_image_array"]


class ImageView:
    """A read-only, lazily loaded sequence of images (uint8, H x W x C).

    Args:
        load: callable mapping an int array of positions (0..len-1) to uint8 images of shape (b, H, W, C).
        n: number of images.
        image_shape: (H, W, C) of every image, or None when sizes vary (real photographs).
    """

    def __init__(self, load: Callable[[np.ndarray], np.ndarray], n: int, image_shape: tuple[int, ...] | None):
        self._load = load
        self._n = int(n)
        self.image_shape = tuple(image_shape) if image_shape is not None else None

    @classmethod
    def from_array(cls, images: np.ndarray) -> "ImageView":
        images = as_image_array(images)
        return cls(lambda idx: images[idx], len(images), images.shape[1:])

    def __len__(self) -> int:
        return self._n

    def take(self, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        """Images at ``positions`` (relative to this view) as uint8 (b, H, W, C)."""
        pos = np.asarray(positions, dtype=np.int64)
        if pos.size and (pos.min() < 0 or pos.max() >= self._n):
            raise IndexError(f"positions out of range for an ImageView of {self._n} images")
        return self._load(pos)

    def subset(self, positions: Sequence[int] | np.ndarray) -> "ImageView":
        pos = np.asarray(positions, dtype=np.int64)
        return ImageView(lambda idx, _p=pos, _l=self._load: _l(_p[idx]), len(pos), self.image_shape)

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice):
            raise TypeError("ImageView supports slices; use .take(positions) for index arrays")
        return self.take(np.arange(self._n)[key])


def as_feature_array(x: Any, *, what: str = "features") -> np.ndarray:
    """Return ``x`` (numpy array or torch tensor, 2-D) as a finite float32/float64 numpy array.

    Raises:
        UserError: wrong rank, non-numeric dtype, or NaN/inf values (with their count and first bad row).
    """
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise UserError(f"{what} must be a 2-D array (n_samples, n_features); got shape {arr.shape}.")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise UserError(f"{what} must be numeric; got dtype {arr.dtype}.")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise UserError(
            f"{what} contain NaN or inf in {rows.size} row(s) (first bad row: {rows[0]}). Clean or drop these "
            "rows (or fix the feature extractor) before hashing."
        )
    return arr


def as_image_array(x: Any) -> np.ndarray:
    """Validate uint8 images of shape (n, H, W, C)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim != 4 or arr.dtype != np.uint8:
        raise UserError(
            f"images must be uint8 of shape (n, H, W, C); got dtype {arr.dtype} and shape {arr.shape}."
        )
    return arr


@dataclass(frozen=True)
class TrainSet:
    """What `Hasher.fit` receives: seen-class items only.

    Attributes:
        labels: int64 (n,), class index into ``class_names`` (0..n_seen-1).
        class_names: names of the seen classes.
        class_attributes: float32 (n_seen, A) attribute rows of the seen classes. In labels-as-attributes mode
            (datasets without attribute annotations) it is the identity matrix and ``attribute_names`` equals
            ``class_names``.
        attribute_names: names of the A attributes.
        attribute_mode: "annotations" (real class-level attributes) or "labels" (labels as attributes).
        features: float (n, D) feature vectors, when the method needs features.
        images: lazily loaded images, when the dataset has them.
        dataset: name of the dataset (for messages and word-vector lookups; never a handle to the data).
    """

    labels: np.ndarray
    class_names: tuple[str, ...]
    class_attributes: np.ndarray
    attribute_names: tuple[str, ...]
    attribute_mode: str = "annotations"
    features: np.ndarray | None = None
    images: ImageView | None = None
    dataset: str = ""
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        n = len(labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise UserError(f"TrainSet.labels must be a 1-D integer array; got {labels.dtype} {labels.shape}.")
        s = len(self.class_names)
        if n and (labels.min() < 0 or labels.max() >= s):
            raise UserError(f"TrainSet.labels must lie in 0..{s - 1} (the seen classes); got {labels.min()}..{labels.max()}.")
        att = np.asarray(self.class_attributes)
        if att.ndim != 2 or att.shape[0] != s or att.shape[1] != len(self.attribute_names):
            raise UserError(
                f"TrainSet.class_attributes must be ({s}, {len(self.attribute_names)}) (seen classes x attributes); "
                f"got {att.shape}."
            )
        if self.features is not None and len(self.features) != n:
            raise UserError(f"TrainSet has {n} labels but {len(self.features)} feature rows.")
        if self.images is not None and len(self.images) != n:
            raise UserError(f"TrainSet has {n} labels but {len(self.images)} images.")
        if self.features is None and self.images is None:
            raise UserError("TrainSet needs features or images (got neither).")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def item_attributes(self) -> np.ndarray:
        """(n, A) attribute vector of each item's class."""
        return np.asarray(self.class_attributes)[self.labels]

    @classmethod
    def from_arrays(
        cls,
        labels: np.ndarray,
        *,
        features: np.ndarray | None = None,
        images: np.ndarray | ImageView | None = None,
        class_attributes: np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        attribute_names: Sequence[str] | None = None,
    ) -> "TrainSet":
        """Convenience constructor for notebooks and tests; labels are re-indexed to 0..S-1."""
        labels = np.asarray(labels)
        uniq, inv = np.unique(labels, return_inverse=True)
        s = len(uniq)
        names = tuple(class_names) if class_names is not None else tuple(f"class_{u}" for u in uniq)
        if class_attributes is None:
            att, anames, mode = np.eye(s, dtype=np.float32), names, "labels"
        else:
            att = np.asarray(class_attributes, dtype=np.float32)
            anames = tuple(attribute_names) if attribute_names is not None else tuple(f"a{i}" for i in range(att.shape[1]))
            mode = "annotations"
        if images is not None and not isinstance(images, ImageView):
            images = ImageView.from_array(images)
        return cls(
            labels=inv.astype(np.int64), class_names=names, class_attributes=att, attribute_names=anames,
            attribute_mode=mode, features=None if features is None else as_feature_array(features), images=images,
        )
