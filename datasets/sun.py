"""``sun``: the SUN Attribute Database (Patterson & Hays, CVPR 2012 / IJCV 2014), 14,340 scene images of 717
classes, with the class-level attributes of xlsa17 (102 attributes), the form zero-shot hashing papers use.

Expected tree (three downloads)::

    DATA_ROOT/
        SUN/
            SUNAttributeDB/images.mat        from SUNAttributeDB.tar.gz: cell array of the 14,340 image names,
            SUNAttributeDB/attributes.mat    e.g. "a/abbey/sun_aaaarrrhzolzmufh.jpg"; the 102 attribute names
            images/<letter>/<scene>[/<sub-scene>]/sun_*.jpg   from SUNAttributeDB_Images.tar.gz
        xlsa17/data/SUN/att_splits.mat       from xlsa17.zip (allclasses_names, original_att 102 x 717)

SUN Attribute DB: https://cs.brown.edu/~gmpatter/sunattributes.html. xlsa17: see ``zshbench.datasets.xlsa17``.

An image's class is its path between the letter folder and the file name, joined with "_"
("m/monastery/outdoor/sun_x.jpg" -> "monastery_outdoor"), the spelling of xlsa17's allclasses_names. The
classes and their order are those of att_splits.mat (alphabetical); the attribute matrix is its
``original_att`` (per-class means of the per-image votes, 0..1; ``attributes="normalized"`` takes the
l2-normalised ``att``). Items are each class's images sorted by relative path (shared with ``sun-res101``).

Default protocol: ``sun-zsh`` (xlsa17 proposed split, 645 seen / 72 unseen). Its version 2 draws the seen
queries from xlsa17's test_seen_loc images (``item_set("xlsa17-test-seen")``), which needs
``xlsa17/data/SUN/res101.mat`` next to att_splits.mat (read only for such a protocol).
"""

from __future__ import annotations

import numpy as np

from zshbench.datasets._images import DEFAULT_IMAGE_SIZE, ImageFileDataset, check_unique_paths
from zshbench.datasets.base import require_files, resolve_data_root
from zshbench.datasets.xlsa17 import HOW_TO_GET as XLSA17_HOW_TO_GET
from zshbench.datasets.xlsa17 import XLSA17ItemSets, _loadmat, load_att_splits, mat_strings
from zshbench.errors import DataError
from zshbench.registry import register_dataset

__all__ = ["SUN", "sun", "sun_class_of", "read_sun_attribute_names"]

SUN_FOLDER = "SUN"
HOW_TO_GET = (
    "Download SUNAttributeDB.tar.gz and SUNAttributeDB_Images.tar.gz from "
    "https://cs.brown.edu/~gmpatter/sunattributes.html and extract both into DATA_ROOT/SUN/; " + XLSA17_HOW_TO_GET
)
TREE = (
    "DATA_ROOT/{SUN/{SUNAttributeDB/{images.mat, attributes.mat}, images/<letter>/<scene>/sun_*.jpg}, "
    "xlsa17/data/SUN/att_splits.mat}"
)


def sun_class_of(rel_path: str) -> str:
    """The xlsa17 class name of a SUN image path: the folders after the letter folder, joined with '_'."""
    parts = [p for p in rel_path.replace("\\", "/").split("/") if p]
    if len(parts) < 3:
        raise DataError(f"SUN image name {rel_path!r} is not of the form '<letter>/<scene>[/<sub>]/<file>.jpg'.")
    return "_".join(parts[1:-1])


def read_sun_attribute_names(path) -> list[str]:
    m = _loadmat(path, ["attributes"])
    if "attributes" not in m:
        raise DataError(f"{path} lacks the variable 'attributes'; is it the SUN Attribute DB's attributes.mat?")
    return mat_strings(m["attributes"])


class SUN(XLSA17ItemSets, ImageFileDataset):
    name = "sun"
    version = "1"
    default_protocol = "sun-zsh"


@register_dataset("sun")
def sun(data_root=None, image_size: int = DEFAULT_IMAGE_SIZE, attributes: str = "original") -> SUN:
    """SUN Attribute DB, 14,340 scene images of 717 classes, 102 attributes (needs SUN/ and xlsa17/data/SUN/)."""
    root = resolve_data_root(data_root)
    meta = [
        f"{SUN_FOLDER}/SUNAttributeDB/images.mat",
        f"{SUN_FOLDER}/SUNAttributeDB/attributes.mat",
        f"{SUN_FOLDER}/images",
        "xlsa17/data/SUN/att_splits.mat",
    ]
    require_files(root, meta, dataset="sun", how_to_get=HOW_TO_GET, tree=TREE)
    folder = root / SUN_FOLDER
    class_names, att, release = load_att_splits(root / "xlsa17/data/SUN/att_splits.mat", attributes)
    attribute_names = read_sun_attribute_names(folder / "SUNAttributeDB/attributes.mat")
    m = _loadmat(folder / "SUNAttributeDB/images.mat", ["images"])
    if "images" not in m:
        raise DataError(
            f"{folder / 'SUNAttributeDB/images.mat'} lacks the variable 'images'; is it the SUN "
            "Attribute DB's images.mat?"
        )
    rel = [r.replace("\\", "/").lstrip("/") for r in mat_strings(m["images"])]
    check_unique_paths(rel, "sun", str(folder / "SUNAttributeDB/images.mat"))
    pos = {n: i for i, n in enumerate(class_names)}
    unknown = sorted({sun_class_of(r) for r in rel} - set(pos))
    if unknown:
        raise DataError(
            f"{len(unknown)} scene class(es) of SUNAttributeDB/images.mat are not in xlsa17's SUN class list "
            f"({', '.join(unknown[:3])}{' ...' if len(unknown) > 3 else ''}); the two files must come from the SUN "
            "Attribute DB and xlsa17 releases."
        )
    labels = [pos[sun_class_of(r)] for r in rel]
    order = sorted(range(len(rel)), key=lambda i: (labels[i], rel[i]))
    rel = [rel[i] for i in order]
    require_files(root, [f"{SUN_FOLDER}/images/{r}" for r in rel], dataset="sun", how_to_get=HOW_TO_GET, tree=TREE)
    ds = SUN(
        [str(folder / "images" / r) for r in rel],
        np.asarray(labels, dtype=np.int64)[order],
        class_names,
        att,
        attribute_names,
        image_size=image_size,
        root=folder,
        attribute_source=f"xlsa17 att_splits.mat '{'original_att' if attributes == 'original' else 'att'}'",
        notes={"attributes": attributes, "att_splits_release": release},
    )
    ds._xlsa17 = (root, "sun", folder / "images")
    return ds
