"""``awa2-res101``, ``cub-res101``, ``sun-res101``: the xlsa17 ResNet-101 features (Xian et al., TPAMI 2018).

Expected tree (``xlsa17.zip`` from the "Zero-Shot Learning - the Good, the Bad and the Ugly" page,
https://www.mpi-inf.mpg.de/departments/computer-vision-and-multimodal-computing/research/zero-shot-learning/zero-shot-learning-the-good-the-bad-and-the-ugly,
extracted into the data root)::

    DATA_ROOT/xlsa17/data/<AWA2|CUB|SUN>/
        res101.mat       features (2048 x N), labels (N x 1, 1-based row of allclasses_names), image_files (N x 1)
        att_splits.mat   allclasses_names, att (A x C, l2-normalised), original_att (A x C), *_loc

Both releases of att_splits.mat load (the 2018 one with train_loc/val_loc, the 2019 one without). zshbench's
protocols define the splits; of xlsa17's split locations only ``test_seen_loc`` (the seen-class test images of
generalized zero-shot learning) is used, by protocols with ``seen_query_source = "xlsa17-test-seen"``: these
datasets and the image datasets ``awa2``, ``cub``, ``sun`` offer it as ``item_set("xlsa17-test-seen")`` (the
items whose image is a test_seen_loc row of res101.mat, matched by image path; the image datasets read
``image_files`` of res101.mat and att_splits.mat under the data root for it, only when such a protocol asks).

Classes are aligned with the image datasets BY NAME: the class list and order are those of ``awa2`` / ``cub`` /
``sun`` (xlsa17 orders CUB differently from CUB's classes.txt), so the same protocol files apply, e.g.
``--dataset awa2-res101 --protocol awa2-zsh``. Items are each class's images sorted by their path relative to
the image folder (the ``image_files`` entries), as in the image datasets. The attribute matrix is
``original_att`` by default (the same values as the image datasets: AwA2's continuous matrix with the antelope
-1 entries imputed as in ``awa2``, CUB's continuous matrix, SUN's class means); ``attributes="normalized"``
takes xlsa17's ``att``. Attribute names come from the image dataset's metadata when it is present in the data
root (predicates.txt, attributes.txt, SUNAttributeDB/attributes.mat), else they are ``a1 .. aA``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from zshbench.datasets._images import check_unique_paths
from zshbench.datasets.base import Dataset, require_files, resolve_data_root
from zshbench.errors import DataError, UserError
from zshbench.registry import register_dataset

__all__ = [
    "XLSA17Features",
    "load_att_splits",
    "mat_strings",
    "image_key",
    "XLSA17_DIRS",
    "TEST_SEEN",
    "read_test_seen_loc",
    "test_seen_keys",
    "XLSA17ItemSets",
]

HOW_TO_GET = (
    "Download xlsa17.zip (the proposed splits and ResNet-101 features of 'Zero-Shot Learning - the Good, "
    "the Bad and the Ugly', Xian et al.) from https://www.mpi-inf.mpg.de/departments/"
    "computer-vision-and-multimodal-computing/research/zero-shot-learning/"
    "zero-shot-learning-the-good-the-bad-and-the-ugly and extract it into the data root."
)
XLSA17_DIRS = {"awa2": "AWA2", "cub": "CUB", "sun": "SUN"}
IMAGE_DIR_MARKERS = ("/JPEGImages/", "/images/")
#: the item set of xlsa17's test_seen_loc images (`XLSA17Features.item_set`, `XLSA17ItemSets.item_set`)
TEST_SEEN = "xlsa17-test-seen"


def mat_strings(cell) -> list[str]:
    """A MATLAB cell array of strings (as loaded by scipy.io.loadmat) as a list of Python strings."""
    out = []
    for x in np.asarray(cell, dtype=object).ravel():
        while isinstance(x, np.ndarray):
            x = x.ravel()[0] if x.size else ""
        out.append(str(x).strip())
    return out


def _loadmat(path: Path, keys: list[str]) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(str(path), variable_names=keys)
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise DataError(f"{path} is not a readable MATLAB file ({type(exc).__name__}: {exc}); re-extract it.") from None


def load_att_splits(path: Path, attributes: str = "original") -> tuple[list[str], np.ndarray, str]:
    """Class names, the class x attribute matrix (float64, xlsa17 class order) and the release of an
    att_splits.mat.

    Raises:
        DataError: missing keys, a matrix whose shape does not match the class list, NaN values.
    """
    key = {"original": "original_att", "normalized": "att"}.get(attributes)
    if key is None:
        raise UserError(f"attributes must be 'original' or 'normalized' for xlsa17 data, got {attributes!r}.")
    m = _loadmat(path, ["allclasses_names", key, "train_loc", "trainval_loc"])
    missing = [k for k in ("allclasses_names", key) if k not in m]
    if missing:
        raise DataError(f"{path} lacks the variable(s) {', '.join(missing)}; is it xlsa17's att_splits.mat?")
    names = mat_strings(m["allclasses_names"])
    att = np.asarray(m[key], dtype=np.float64)
    if att.ndim != 2 or att.shape[1] != len(names):
        raise DataError(
            f"{path}: '{key}' has shape {att.shape}, expected (attributes, {len(names)}) for the "
            f"{len(names)} classes of allclasses_names."
        )
    if not np.isfinite(att).all():
        raise DataError(f"{path}: '{key}' holds {int((~np.isfinite(att)).sum())} NaN/inf value(s).")
    release = "2018 (with train_loc/val_loc)" if "train_loc" in m else "2019 (without train_loc/val_loc)"
    return names, att.T, release


def image_key(path: str) -> str:
    """The path of an image relative to its dataset's image folder (the part after JPEGImages/ or images/)."""
    p = "/" + path.replace("\\", "/").strip()
    for marker in IMAGE_DIR_MARKERS:
        if marker in p:
            return p.rsplit(marker, 1)[1].lstrip("/")
    return re.sub(r"/+", "/", p).lstrip("/")


def read_test_seen_loc(path: Path) -> np.ndarray:
    """The 0-based res101.mat rows listed in ``test_seen_loc`` of an att_splits.mat (either release)."""
    m = _loadmat(path, ["test_seen_loc"])
    if "test_seen_loc" not in m:
        raise DataError(f"{path} lacks the variable 'test_seen_loc'; is it xlsa17's att_splits.mat?")
    return np.asarray(m["test_seen_loc"]).ravel().astype(np.int64) - 1


def _check_rows(rows: np.ndarray, n: int, splits: Path, res101: str) -> None:
    if rows.size and (rows.min() < 0 or rows.max() >= n or len(np.unique(rows)) != len(rows)):
        raise DataError(
            f"{splits}: test_seen_loc lists rows {rows.min() + 1}..{rows.max() + 1} (1-based, "
            f"{len(rows) - len(np.unique(rows))} repeated), but {res101} has {n} rows; the two files must "
            "come from the same xlsa17 release (re-extract xlsa17.zip)."
        )


def test_seen_keys(root: Path, family: str, dataset: str) -> set[str]:
    """The image keys (`image_key`) of xlsa17's test_seen_loc images of ``family``: the rows of att_splits.mat's
    test_seen_loc looked up in res101.mat's image_files (what the image datasets match their files against).

    Raises:
        DataError: missing files, a res101.mat without image_files, rows out of range.
    """
    d = XLSA17_DIRS[family]
    files = [f"xlsa17/data/{d}/res101.mat", f"xlsa17/data/{d}/att_splits.mat"]
    require_files(
        root,
        files,
        dataset=dataset,
        tree=f"DATA_ROOT/xlsa17/data/{d}/{{res101.mat, att_splits.mat}}",
        how_to_get=HOW_TO_GET + " Protocols that draw their seen queries from xlsa17's test_seen_loc "
        "need its image list (res101.mat) and split file (att_splits.mat) next to the images.",
    )
    m = _loadmat(root / files[0], ["image_files"])
    if "image_files" not in m:
        raise DataError(
            f"{root / files[0]} has no 'image_files', so its test_seen_loc rows cannot be matched to "
            f"the images of '{dataset}'; use the original res101.mat of xlsa17.zip."
        )
    names = mat_strings(m["image_files"])
    rows = read_test_seen_loc(root / files[1])
    _check_rows(rows, len(names), root / files[1], str(root / files[0]))
    return {image_key(names[r]) for r in rows}


class XLSA17ItemSets:
    """For the image datasets awa2, cub, sun: ``item_set("xlsa17-test-seen")``, the items whose image is one of
    xlsa17's test_seen_loc images (`test_seen_keys`), read on first use from ``xlsa17/data/<family>/`` under
    the data root. The factory sets ``_xlsa17 = (data root, family, image folder)``."""

    item_sets = (TEST_SEEN,)
    _xlsa17: tuple[Path, str, Path] | None = None

    def item_set(self, name: str) -> np.ndarray:
        """Sorted item indices of item set ``name`` (only "xlsa17-test-seen").

        Raises:
            UserError: an unknown set name.
            DataError: the xlsa17 files are missing or do not match the images (some test_seen_loc image is not
                an item of the dataset).
        """
        if name != TEST_SEEN or self._xlsa17 is None:
            raise UserError(f"Dataset '{self.name}' has no item set {name!r} (it has: {', '.join(self.item_sets)}).")
        cache = self.__dict__.setdefault("_item_set_cache", {})
        if name not in cache:
            root, family, image_dir = self._xlsa17
            wanted = test_seen_keys(root, family, self.name)
            prefix = str(image_dir).replace("\\", "/").rstrip("/") + "/"
            keys = [p.replace("\\", "/") for p in self.paths]  # type: ignore[attr-defined]
            keys = [k[len(prefix) :] if k.startswith(prefix) else image_key(k) for k in keys]
            idx = np.array([i for i, k in enumerate(keys) if k in wanted], dtype=np.int64)
            if len(idx) != len(wanted):
                missing = sorted(wanted - set(keys))
                raise DataError(
                    f"{len(missing)} of xlsa17's {len(wanted)} test_seen_loc images of {family} are not images of "
                    f"dataset '{self.name}' (first: {missing[0]}); the image folder and xlsa17/data/"
                    f"{XLSA17_DIRS[family]}/ must both be complete releases of the same dataset."
                )
            cache[name] = idx
        return cache[name]


class XLSA17Features(Dataset):
    """Precomputed xlsa17 ResNet-101 features (float32, 2048-d) with class-level attributes."""

    item_sets = (TEST_SEEN,)

    def __init__(
        self,
        name: str,
        default_protocol: str,
        features: np.ndarray,
        labels,
        class_names,
        att,
        attribute_names,
        *,
        attribute_source: str,
        notes: dict,
        root: str | Path = "",
        rows: np.ndarray | None = None,
        splits_path: str | Path = "",
    ):
        self.name, self.default_protocol = name, default_protocol
        self.root = str(Path(root).resolve()) if str(root) else ""
        super().__init__(labels, class_names, att, attribute_names, attribute_source=attribute_source)
        self._features = features
        self.feature_dim = features.shape[1]
        self.notes = notes
        self._rows = np.arange(len(self.labels)) if rows is None else np.asarray(rows, dtype=np.int64)
        self._splits_path = Path(splits_path) if str(splits_path) else None

    def item_set(self, name: str) -> np.ndarray:
        """Sorted indices of the items in item set ``name``: "xlsa17-test-seen", the items whose res101.mat row
        is listed in att_splits.mat's test_seen_loc.

        Raises:
            UserError: an unknown set name.
            DataError: att_splits.mat is unreadable or lists rows res101.mat does not have.
        """
        if name != TEST_SEEN or self._splits_path is None:
            raise UserError(f"Dataset '{self.name}' has no item set {name!r} (it has: {', '.join(self.item_sets)}).")
        rows = read_test_seen_loc(self._splits_path)
        _check_rows(rows, len(self._rows), self._splits_path, "res101.mat")
        return np.flatnonzero(np.isin(self._rows, rows)).astype(np.int64)

    def _load_features(self, idx: np.ndarray) -> np.ndarray:
        return self._features[idx]

    def describe(self) -> dict:
        return {**super().describe(), "feature_dim": self.feature_dim, **self.notes}


def load_res101(
    root: Path,
    family: str,
    class_names: list[str],
    xl_names: list[str],
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Features (N, D) float32, labels into ``class_names``, image keys and the original 0-based rows of
    ``res101.mat``, sorted by (class, image key)."""
    path = root / f"xlsa17/data/{XLSA17_DIRS[family]}/res101.mat"
    m = _loadmat(path, ["features", "labels", "image_files"])
    missing = [k for k in ("features", "labels") if k not in m]
    if missing:
        raise DataError(f"{path} lacks the variable(s) {', '.join(missing)}; is it xlsa17's res101.mat?")
    y = np.asarray(m["labels"]).ravel().astype(np.int64)
    feats = np.asarray(m.pop("features"), dtype=np.float32)
    if feats.ndim != 2 or len(y) not in feats.shape:
        raise DataError(f"{path}: 'features' has shape {feats.shape}, expected (D, {len(y)}) for the {len(y)} labels.")
    if feats.shape[1] != len(y):  # a (N, D) re-save of the (D, N) original
        feats = feats.T
    if len(y) and (y.min() < 1 or y.max() > len(xl_names)):
        raise DataError(
            f"{path}: labels must be 1-based rows of allclasses_names (1..{len(xl_names)}); got {y.min()}..{y.max()}."
        )
    if "image_files" in m:
        keys = [image_key(s) for s in mat_strings(m["image_files"])]
    else:  # without file names the file order is kept within each class
        keys = [f"{i:08d}" for i in range(len(y))]
    if len(keys) != len(y):
        raise DataError(f"{path}: {len(keys)} image_files for {len(y)} labels.")
    check_unique_paths(keys, f"{family}-res101", f"{path} (image_files)")
    pos = {n: i for i, n in enumerate(class_names)}
    remap = np.array([pos[n] for n in xl_names], dtype=np.int64)
    labels = remap[y - 1]
    order = sorted(range(len(y)), key=lambda i: (labels[i], keys[i]))
    feats = np.ascontiguousarray(feats.T[order])
    if not np.isfinite(feats).all():
        raise DataError(f"{path}: 'features' holds NaN/inf values.")
    return feats, labels[order], [keys[i] for i in order], np.asarray(order, dtype=np.int64)


def align_by_name(xl_names: list[str], att: np.ndarray, class_names: list[str], path: str) -> np.ndarray:
    """Rows of ``att`` (xlsa17 class order) re-ordered to ``class_names``; DataError if the name sets differ."""
    if sorted(xl_names) != sorted(class_names):
        only_xl = sorted(set(xl_names) - set(class_names))
        only_ds = sorted(set(class_names) - set(xl_names))
        raise DataError(
            f"The classes of {path} do not match the dataset's: {len(only_xl)} only in xlsa17 "
            f"({', '.join(only_xl[:3])}), {len(only_ds)} only in the dataset ({', '.join(only_ds[:3])}). "
            "Classes are matched by name; check that both files belong to the same dataset."
        )
    pos = {n: i for i, n in enumerate(xl_names)}
    return att[[pos[n] for n in class_names]]


def _features_dataset(family: str, data_root, attributes: str) -> XLSA17Features:
    root = resolve_data_root(data_root)
    d = XLSA17_DIRS[family]
    name = f"{family}-res101"
    require_files(
        root,
        [f"xlsa17/data/{d}/res101.mat", f"xlsa17/data/{d}/att_splits.mat"],
        dataset=name,
        how_to_get=HOW_TO_GET,
        tree=f"DATA_ROOT/xlsa17/data/{d}/{{res101.mat, att_splits.mat}}",
    )
    splits = root / f"xlsa17/data/{d}/att_splits.mat"
    xl_names, att, release = load_att_splits(splits, attributes)
    # the class order of the image dataset: AwA2 and SUN as in xlsa17, CUB by its numeric prefix (classes.txt)
    class_names = sorted(xl_names) if family == "cub" else list(xl_names)
    att = align_by_name(xl_names, att, class_names, str(splits))
    att_names, notes = _attribute_names(root, family, att.shape[1]), {}
    source = f"xlsa17 att_splits.mat '{'original_att' if attributes == 'original' else 'att'}'"
    if family == "awa2" and attributes == "original":
        from zshbench.datasets.awa2 import impute_missing

        att, imputed = impute_missing(att, class_names, att_names)
        notes["imputed_attributes"] = imputed
        source += " (-1 = missing, imputed by the attribute mean)"
    feats, labels, _, rows = load_res101(root, family, class_names, xl_names)
    notes.update({"attributes": attributes, "att_splits_release": release})
    return XLSA17Features(
        name,
        f"{family}-zsh",
        feats,
        labels,
        class_names,
        att,
        att_names,
        attribute_source=source,
        notes=notes,
        root=root / f"xlsa17/data/{d}",
        rows=rows,
        splits_path=splits,
    )


def _attribute_names(root: Path, family: str, n: int) -> list[str]:
    """Attribute names from the image dataset's metadata when present (and of the right length), else a1..an."""
    names: list[str] = []
    try:
        if family == "awa2" and (root / "Animals_with_Attributes2/predicates.txt").is_file():
            from zshbench.datasets.awa2 import read_id_names

            names = read_id_names(root / "Animals_with_Attributes2/predicates.txt")
        elif family == "cub":
            from zshbench.datasets.awa2 import read_id_names
            from zshbench.datasets.cub import find_attribute_names

            p = find_attribute_names(root)
            names = read_id_names(p) if p else []
        elif family == "sun":
            from zshbench.datasets.sun import SUN_FOLDER, read_sun_attribute_names

            p = root / SUN_FOLDER / "SUNAttributeDB/attributes.mat"
            names = read_sun_attribute_names(p) if p.is_file() else []
    except DataError:
        names = []
    return names if len(names) == n else [f"a{i + 1}" for i in range(n)]


@register_dataset("awa2-res101")
def awa2_res101(data_root=None, attributes: str = "original") -> XLSA17Features:
    """AwA2 as xlsa17 ResNet-101 features (2048-d), 50 classes (needs xlsa17/data/AWA2/)."""
    return _features_dataset("awa2", data_root, attributes)


@register_dataset("cub-res101")
def cub_res101(data_root=None, attributes: str = "original") -> XLSA17Features:
    """CUB-200-2011 as xlsa17 ResNet-101 features (2048-d), 200 classes (needs xlsa17/data/CUB/)."""
    return _features_dataset("cub", data_root, attributes)


@register_dataset("sun-res101")
def sun_res101(data_root=None, attributes: str = "original") -> XLSA17Features:
    """SUN Attribute as xlsa17 ResNet-101 features (2048-d), 717 classes (needs xlsa17/data/SUN/)."""
    return _features_dataset("sun", data_root, attributes)
