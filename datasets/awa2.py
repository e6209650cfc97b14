"""``awa2``: Animals with Attributes 2 (Xian, Lampert, Schiele, Akata, 2017), 37,322 images of 50 animals.

Expected tree (``AwA2-data.zip`` from https://cvml.ist.ac.at/AwA2/, extracted into the data root)::

    DATA_ROOT/Animals_with_Attributes2/
        classes.txt                        "<id>\\t<name>", 50 lines (names use '+' for spaces)
        predicates.txt                     "<id>\\t<name>", 85 lines
        predicate-matrix-continuous.txt    50 x 85, whitespace-separated
        predicate-matrix-binary.txt        50 x 85 (used with attributes="binary")
        JPEGImages/<class name>/*.jpg

Classes follow classes.txt; items are each class's image files sorted by relative path, so ``awa2`` and
``awa2-res101`` order the same images alike and a protocol selects the same images in both.

Missing attribute values: the continuous matrix marks four unknown values of *antelope* with -1.00 (the
release README: "Missing values in the numeric table are marked by -1"). A -1 is not a measurement on the
0..100 scale, so every negative entry is treated as missing and imputed by the mean of that attribute over the
classes where it is known. The imputed cells are listed in ``describe()["imputed_attributes"]``. The binary
matrix is used as released.

Default protocol: ``awa2-zsh`` (xlsa17 proposed split, 40 seen / 10 unseen). Its version 2 draws the seen
queries from xlsa17's test_seen_loc images (``item_set("xlsa17-test-seen")``, `XLSA17ItemSets`), which needs
``xlsa17/data/AWA2/{res101.mat, att_splits.mat}`` under the data root too (read only for such a protocol).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zshbench.datasets._images import DEFAULT_IMAGE_SIZE, IMAGE_SUFFIXES, ImageFileDataset, read_lines
from zshbench.datasets.base import require_files, resolve_data_root
from zshbench.datasets.xlsa17 import XLSA17ItemSets
from zshbench.errors import DataError, UserError
from zshbench.registry import register_dataset

__all__ = ["AwA2", "awa2", "read_id_names", "load_matrix", "impute_missing"]

FOLDER = "Animals_with_Attributes2"
HOW_TO_GET = (
    "Download AwA2-data.zip (13 GB, images and metadata) from https://cvml.ist.ac.at/AwA2/ and extract "
    "it into the data root."
)
TREE = (
    f"DATA_ROOT/{FOLDER}/{{classes.txt, predicates.txt, predicate-matrix-continuous.txt, "
    "predicate-matrix-binary.txt, JPEGImages/<class>/*.jpg}"
)


def read_id_names(path: Path) -> list[str]:
    """Names from a "<id> <name>" listing (AwA2 classes.txt / predicates.txt, CUB classes.txt / attributes.txt)."""
    names = []
    for i, line in enumerate(read_lines(path), 1):
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataError(f"{path}, line {i}: expected '<id> <name>', got {line!r}.")
        names.append(parts[1].strip())
    return names


def load_matrix(path: Path, shape: tuple[int, int], what: str) -> np.ndarray:
    """A whitespace-separated numeric matrix of exactly ``shape``, as float64 (DataError otherwise)."""
    try:
        m = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{what} {path} is not a numeric matrix ({exc}).") from None
    if m.shape != shape:
        raise DataError(
            f"{what} {path} has shape {m.shape[0]} x {m.shape[1]}, expected {shape[0]} x {shape[1]} "
            "(classes x attributes); the file is truncated or belongs to another dataset."
        )
    if not np.isfinite(m).all():
        r, c = np.argwhere(~np.isfinite(m))[0]
        raise DataError(f"{what} {path} holds NaN/inf values (first at row {r + 1}, column {c + 1}).")
    return m


def impute_missing(matrix: np.ndarray, class_names, attribute_names) -> tuple[np.ndarray, list[str]]:
    """Replace the negative entries (AwA's missing-value mark, -1) of a classes x attributes matrix by the mean
    of that attribute over the classes where it is known.

    Returns:
        (the imputed float64 matrix, ["class:attribute", ...] of the imputed cells).
    """
    m = np.array(matrix, dtype=np.float64)
    missing = m < 0
    cells = [f"{class_names[r]}:{attribute_names[c]}" for r, c in np.argwhere(missing)]
    for c in np.flatnonzero(missing.any(axis=0)):
        known = ~missing[:, c]
        if not known.any():
            raise DataError(f"Attribute '{attribute_names[c]}' is missing (-1) for every class; cannot impute it.")
        m[missing[:, c], c] = m[known, c].mean()
    return m, cells


def awa2_attributes(folder: Path, class_names, attribute_names, attributes: str) -> tuple[np.ndarray, list[str], str]:
    """The AwA2 class-attribute matrix ("continuous", missing values imputed, or "binary")."""
    shape = (len(class_names), len(attribute_names))
    if attributes == "continuous":
        m = load_matrix(folder / "predicate-matrix-continuous.txt", shape, "AwA2 attribute matrix")
        m, cells = impute_missing(m, class_names, attribute_names)
        return m, cells, "AwA2 predicate-matrix-continuous.txt (-1 = missing, imputed by the attribute mean)"
    if attributes == "binary":
        return (
            load_matrix(folder / "predicate-matrix-binary.txt", shape, "AwA2 attribute matrix"),
            [],
            "AwA2 predicate-matrix-binary.txt",
        )
    raise UserError(f"attributes must be 'continuous' or 'binary' for AwA2, got {attributes!r}.")


class AwA2(XLSA17ItemSets, ImageFileDataset):
    name = "awa2"
    version = "1"
    default_protocol = "awa2-zsh"


@register_dataset("awa2")
def awa2(data_root=None, image_size: int = DEFAULT_IMAGE_SIZE, attributes: str = "continuous") -> AwA2:
    """AwA2, 37,322 images of 50 animals, 85 attributes (needs Animals_with_Attributes2/)."""
    root = resolve_data_root(data_root)
    meta = ["classes.txt", "predicates.txt", "predicate-matrix-continuous.txt", "predicate-matrix-binary.txt"]
    require_files(root, [f"{FOLDER}/{f}" for f in meta], dataset="awa2", how_to_get=HOW_TO_GET, tree=TREE)
    folder = root / FOLDER
    class_names = read_id_names(folder / "classes.txt")
    attribute_names = read_id_names(folder / "predicates.txt")
    require_files(
        root, [f"{FOLDER}/JPEGImages/{c}" for c in class_names], dataset="awa2", how_to_get=HOW_TO_GET, tree=TREE
    )
    att, imputed, source = awa2_attributes(folder, class_names, attribute_names, attributes)
    paths, labels = [], []
    for c, cname in enumerate(class_names):
        cdir = folder / "JPEGImages" / cname
        files = sorted(
            p.relative_to(cdir).as_posix()
            for p in cdir.rglob("*")
            if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        paths += [str(cdir / f) for f in files]
        labels += [c] * len(files)
    notes = {"attributes": attributes, "imputed_attributes": imputed}
    ds = AwA2(
        paths,
        np.asarray(labels, dtype=np.int64),
        class_names,
        att,
        attribute_names,
        image_size=image_size,
        root=folder,
        attribute_source=source,
        notes=notes,
    )
    ds._xlsa17 = (root, "awa2", folder / "JPEGImages")
    return ds
