"""The objects that cross the boundary between the runner and a method: image views and the TrainSet.

`TrainSet` is the only door into training. The runner builds it from the train indices of a resolved split, so
it holds items of SEEN classes only, their labels re-indexed over the seen classes, the seen-class names and the
seen-class attribute rows. Nothing of an unseen class is reachable from it.

A method sees only what its `zshbench.hasher.Requirements` declare (`TrainSet.visible_to`, applied by
`Hasher.fit`): an unsupervised method (``supervised=False``) gets no labels and no class information, a method
that does not use attributes (``attributes=False``) gets no attribute matrix. Reading what was not declared
raises a `UserError` that says which declaration is missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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
    def from_array(cls, images: np.ndarray) -> ImageView:
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

    def subset(self, positions: Sequence[int] | np.ndarray) -> ImageView:
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
        raise UserError(f"images must be uint8 of shape (n, H, W, C); got dtype {arr.dtype} and shape {arr.shape}.")
    return arr


@dataclass(frozen=True)
class TrainSet:
    """What `Hasher.fit` receives: seen-class items only.

    Attributes:
        labels: int64 (n,), class index into ``class_names`` (0..n_seen-1); None when hidden from an
            unsupervised method.
        class_names: names of the seen classes (empty when hidden).
        class_attributes: float32 (n_seen, A) attribute rows of the seen classes. In labels-as-attributes mode
            (datasets without attribute annotations) it is the identity matrix and ``attribute_names`` equals
            ``class_names``. None when hidden from a method that does not use attributes.
        attribute_names: names of the A attributes (empty when hidden).
        attribute_mode: "annotations" (real class-level attributes) or "labels" (labels as attributes).
        features: float (n, D) feature vectors, when the method needs features.
        images: lazily loaded images, when the dataset has them.
        dataset: name of the dataset (for messages and word-vector lookups; never a handle to the data).
        hidden: what `visible_to` took away ("labels", "attributes"), for the messages.
    """

    labels: np.ndarray | None
    class_names: tuple[str, ...]
    class_attributes: np.ndarray | None
    attribute_names: tuple[str, ...]
    attribute_mode: str = "annotations"
    features: np.ndarray | None = None
    images: ImageView | None = None
    dataset: str = ""
    hidden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.features is None and self.images is None:
            raise UserError("TrainSet needs features or images (got neither).")
        n = len(self)
        s = len(self.class_names)
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
                raise UserError(f"TrainSet.labels must be a 1-D integer array; got {labels.dtype} {labels.shape}.")
            if len(labels) and (labels.min() < 0 or labels.max() >= s):
                raise UserError(
                    f"TrainSet.labels must lie in 0..{s - 1} (the seen classes); got {labels.min()}..{labels.max()}."
                )
        if self.class_attributes is not None:
            att = np.asarray(self.class_attributes)
            if att.ndim != 2 or att.shape[0] != s or att.shape[1] != len(self.attribute_names):
                raise UserError(
                    f"TrainSet.class_attributes must be ({s}, {len(self.attribute_names)}) (seen classes x "
                    f"attributes); got {att.shape}."
                )
        if self.features is not None and len(self.features) != n:
            raise UserError(f"TrainSet has {n} items but {len(self.features)} feature rows.")
        if self.images is not None and len(self.images) != n:
            raise UserError(f"TrainSet has {n} items but {len(self.images)} images.")

    def __len__(self) -> int:
        labels = object.__getattribute__(self, "labels")
        if labels is not None:
            return len(labels)
        return len(self.features) if self.features is not None else len(self.images)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def item_attributes(self) -> np.ndarray:
        """(n, A) attribute vector of each item's class."""
        return np.asarray(self.class_attributes)[self.labels]

    def visible_to(self, requires) -> TrainSet:
        """The view a method with these `zshbench.hasher.Requirements` may see: without labels and class
        information unless ``supervised``, without the attribute matrix unless ``attributes``."""
        hide = []
        if not requires.supervised and self.labels is not None:
            hide.append("labels")
        if not requires.attributes and self.class_attributes is not None:
            hide.append("attributes")
        if not hide:
            return self
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        kw["hidden"] = tuple(hide)
        if "labels" in hide:
            kw.update(labels=None, class_names=(), class_attributes=None, attribute_names=())
        else:
            kw.update(class_attributes=None, attribute_names=())
        return _RestrictedTrainSet(**kw)

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
    ) -> TrainSet:
        """Convenience constructor for notebooks and tests; labels are re-indexed to 0..S-1."""
        labels = np.asarray(labels)
        uniq, inv = np.unique(labels, return_inverse=True)
        s = len(uniq)
        names = tuple(class_names) if class_names is not None else tuple(f"class_{u}" for u in uniq)
        if class_attributes is None:
            att, anames, mode = np.eye(s, dtype=np.float32), names, "labels"
        else:
            att = np.asarray(class_attributes, dtype=np.float32)
            anames = (
                tuple(attribute_names) if attribute_names is not None else tuple(f"a{i}" for i in range(att.shape[1]))
            )
            mode = "annotations"
        if images is not None and not isinstance(images, ImageView):
            images = ImageView.from_array(images)
        return cls(
            labels=inv.astype(np.int64),
            class_names=names,
            class_attributes=att,
            attribute_names=anames,
            attribute_mode=mode,
            features=None if features is None else as_feature_array(features),
            images=images,
        )


_LABEL_FIELDS = frozenset(
    {"labels", "class_names", "n_classes", "item_attributes", "class_attributes", "attribute_names", "attribute_mode"}
)
_ATTRIBUTE_FIELDS = frozenset({"class_attributes", "attribute_names", "item_attributes"})


class _RestrictedTrainSet(TrainSet):
    """A `TrainSet` with labels and/or attributes hidden (`TrainSet.visible_to`): reading them raises a
    `UserError` naming the missing declaration."""

    def __getattribute__(self, name: str):
        if name in _LABEL_FIELDS or name in _ATTRIBUTE_FIELDS:
            hidden = object.__getattribute__(self, "hidden")
            if ("labels" in hidden and name in _LABEL_FIELDS) or ("attributes" in hidden and name in _ATTRIBUTE_FIELDS):
                what = "labels" if "labels" in hidden and name in _LABEL_FIELDS else "attributes"
                need = "supervised=True" if what == "labels" else "attributes=True"
                raise UserError(
                    f"TrainSet.{name} is not available to this method: its requires declares "
                    f"{need.replace('True', 'False')}, so the runner hides the {what} of the seen classes from it. "
                    f"Declare Requirements({need}) if the method uses them."
                )
        return object.__getattribute__(self, name)

    def __post_init__(self) -> None:  # validated as the TrainSet it was made from
        pass
