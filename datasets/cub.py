"""``cub``: Caltech-UCSD Birds-200-2011 (Wah et al., 2011), 11,788 images of 200 bird species, 312 attributes.

Expected tree (``CUB_200_2011.tgz`` from https://www.vision.caltech.edu/datasets/cub_200_2011/, extracted into
the data root; the archive puts ``attributes.txt`` NEXT TO ``CUB_200_2011/``, and a copy inside
``CUB_200_2011/`` or ``CUB_200_2011/attributes/`` is accepted too)::

    DATA_ROOT/
        attributes.txt                       "<id> <name>", 312 attribute names
        CUB_200_2011/
            images.txt                       "<image id> <class folder>/<file>.jpg"
            image_class_labels.txt           "<image id> <class id>"
            classes.txt                      "<class id> <class name>", e.g. "1 001.Black_footed_Albatross"
            attributes/class_attribute_labels_continuous.txt   200 x 312 (percent of annotators, 0..100)
            images/<class folder>/<file>.jpg

Class names are the full classes.txt names ("001.Black_footed_Albatross"), the spelling of xlsa17's
allclasses.txt, so protocols written from xlsa17 files apply by name (xlsa17 orders the classes differently:
never align by position). Items are each class's images sorted by relative path (shared with ``cub-res101``).

Default protocol: ``cub-zsh`` (xlsa17 proposed split, 150 seen / 50 unseen). Its version 2 draws the seen
queries from xlsa17's test_seen_loc images (``item_set("xlsa17-test-seen")``), which needs
``xlsa17/data/CUB/{res101.mat, att_splits.mat}`` under the data root too (read only for such a protocol).
"""

from __future__ import annotations

import numpy as np

from zshbench.datasets._images import DEFAULT_IMAGE_SIZE, ImageFileDataset, check_unique_paths, read_lines
from zshbench.datasets.awa2 import load_matrix, read_id_names
from zshbench.datasets.base import require_files, resolve_data_root
from zshbench.datasets.xlsa17 import XLSA17ItemSets
from zshbench.errors import DataError
from zshbench.registry import register_dataset

__all__ = ["CUB", "cub", "find_attribute_names"]

FOLDER = "CUB_200_2011"
HOW_TO_GET = (
    "Download CUB_200_2011.tgz from https://www.vision.caltech.edu/datasets/cub_200_2011/ (or "
    "https://data.caltech.edu/records/65de6-vzc17) and extract it into the data root."
)
TREE = (
    f"DATA_ROOT/{{attributes.txt, {FOLDER}/{{images.txt, image_class_labels.txt, classes.txt, "
    "attributes/class_attribute_labels_continuous.txt, images/<class>/<file>.jpg}}}"
)
ATTRIBUTE_NAME_PLACES = ("attributes.txt", f"{FOLDER}/attributes.txt", f"{FOLDER}/attributes/attributes.txt")


def find_attribute_names(root):
    """The path of CUB's attributes.txt under ``root`` (any accepted place), or None."""
    for rel in ATTRIBUTE_NAME_PLACES:
        if (root / rel).is_file():
            return root / rel
    return None


def _id_pairs(path, what: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for i, line in enumerate(read_lines(path), 1):
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataError(f"CUB {what} {path}, line {i}: expected '<id> <value>', got {line!r}.")
        k = int(parts[0])
        if k in out:
            raise DataError(f"CUB {what} {path} lists id {k} twice (line {i}); restore the file from the archive.")
        out[k] = parts[1].strip()
    return out


class CUB(XLSA17ItemSets, ImageFileDataset):
    name = "cub"
    version = "1"
    default_protocol = "cub-zsh"


@register_dataset("cub")
def cub(data_root=None, image_size: int = DEFAULT_IMAGE_SIZE) -> CUB:
    """CUB-200-2011, 11,788 images of 200 birds, 312 continuous attributes (needs CUB_200_2011/)."""
    root = resolve_data_root(data_root)
    meta = ["images.txt", "image_class_labels.txt", "classes.txt", "attributes/class_attribute_labels_continuous.txt"]
    files = [f"{FOLDER}/{f}" for f in meta]
    att_names_path = find_attribute_names(root)
    require_files(
        root, files + ([] if att_names_path else ["attributes.txt"]), dataset="cub", how_to_get=HOW_TO_GET, tree=TREE
    )
    folder = root / FOLDER
    class_names = read_id_names(folder / "classes.txt")
    attribute_names = read_id_names(att_names_path)
    images = _id_pairs(folder / "images.txt", "images.txt")
    check_unique_paths(list(images.values()), "cub", f"{folder / 'images.txt'}")
    class_of = _id_pairs(folder / "image_class_labels.txt", "image_class_labels.txt")
    if set(images) != set(class_of):
        diff = sorted(set(images) ^ set(class_of))
        raise DataError(
            f"CUB images.txt and image_class_labels.txt list different image ids ({len(diff)} differ, "
            f"first: {diff[0]}); restore both from the archive."
        )
    labels = []
    for k in images:
        c = int(class_of[k]) - 1 if class_of[k].isdigit() else -1
        if not 0 <= c < len(class_names):
            raise DataError(
                f"CUB image_class_labels.txt: image {k} has class id {class_of[k]!r}, expected 1..{len(class_names)}."
            )
        labels.append(c)
    rel = list(images.values())
    order = sorted(range(len(rel)), key=lambda i: (labels[i], rel[i]))
    rel = [rel[i] for i in order]
    labels = np.asarray(labels, dtype=np.int64)[order]
    require_files(root, [f"{FOLDER}/images/{r}" for r in rel], dataset="cub", how_to_get=HOW_TO_GET, tree=TREE)
    att = load_matrix(
        folder / "attributes" / "class_attribute_labels_continuous.txt",
        (len(class_names), len(attribute_names)),
        "CUB attribute matrix",
    )
    ds = CUB(
        [str(folder / "images" / r) for r in rel],
        labels,
        class_names,
        att,
        attribute_names,
        image_size=image_size,
        root=folder,
        attribute_source="CUB class_attribute_labels_continuous.txt (0..100)",
    )
    ds._xlsa17 = (root, "cub", folder / "images")
    return ds
