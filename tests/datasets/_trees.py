"""Builders of tiny dataset trees in the official on-disk formats, from the REAL metadata in ../shared/data.

Only the images (tiny generated JPEG/PNG files) and, for the xlsa17 features, res101.mat are synthetic; every
metadata file is the published one (copied into the test's tmp_path, never into the repository).
"""

from __future__ import annotations

import io
import pickle
import shutil
from pathlib import Path

import numpy as np


def image_bytes(seed: int = 0, size=(12, 8), fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(arr).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def write_files(paths, data: bytes) -> None:
    """Write ``data`` to every path, each copy made unique by a trailer after the image's end (decoders ignore
    it), so the trees hold no byte-identical images (which `resolve` reports as a leak)."""
    for p in paths:
        p = Path(p)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data + b"\0zshbench-test:" + p.as_posix().encode())


def id_names(path: Path) -> list[str]:
    return [line.split(maxsplit=1)[1].strip() for line in path.read_text().splitlines() if line.strip()]


def xlsa17_names(shared: Path, family: str) -> list[str]:
    import scipy.io

    m = scipy.io.loadmat(str(shared / f"xlsa17/{family}/att_splits.mat"), variable_names=["allclasses_names"])
    return [str(x[0][0]) for x in m["allclasses_names"]]


# --- CIFAR-10 ---------------------------------------------------------------------------------------------
def cifar10_tree(root: Path, shared: Path, per_batch: int = 20, seed: int = 0) -> Path:
    """cifar-10-batches-py/ with ``per_batch`` random images per batch file (labels cycle over the classes)."""
    rng = np.random.default_rng(seed)
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    names = [n.strip() for n in (shared / "cifar10/classes.txt").read_text().splitlines() if n.strip()]
    (d / "batches.meta").write_bytes(
        pickle.dumps({b"label_names": [n.encode() for n in names], b"num_cases_per_batch": per_batch, b"num_vis": 3072})
    )
    for i, b in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [(i * per_batch + j) % 10 for j in range(per_batch)]
        (d / b).write_bytes(
            pickle.dumps(
                {
                    b"batch_label": b.encode(),
                    b"labels": labels,
                    b"data": data,
                    b"filenames": [f"{b}_{j}.png".encode() for j in range(per_batch)],
                }
            )
        )
    return root


# --- AwA2 ---------------------------------------------------------------------------------------------------
AWA2_META = ("classes.txt", "predicates.txt", "predicate-matrix-continuous.txt", "predicate-matrix-binary.txt")


def awa2_tree(root: Path, shared: Path, per_class: int = 2, images: bool = True) -> Path:
    d = root / "Animals_with_Attributes2"
    d.mkdir(parents=True)
    for f in AWA2_META:
        shutil.copy(shared / "awa2" / f, d / f)
    if images:
        data = image_bytes(1)
        for c in id_names(shared / "awa2/classes.txt"):
            write_files([d / "JPEGImages" / c / f"{c}_{10001 + i}.jpg" for i in range(per_class)], data)
    return root


# --- CUB ----------------------------------------------------------------------------------------------------
def cub_tree(root: Path, shared: Path, per_class: int = 2, attributes_txt: str = "attributes.txt") -> Path:
    """CUB_200_2011/ with the first ``per_class`` images of each class of the real images.txt (real ids and
    paths); attributes.txt at ``attributes_txt`` (relative to root; the archive's place by default)."""
    d = root / "CUB_200_2011"
    (d / "attributes").mkdir(parents=True)
    shutil.copy(shared / "cub/classes.txt", d / "classes.txt")
    shutil.copy(
        shared / "cub/attributes/class_attribute_labels_continuous.txt",
        d / "attributes/class_attribute_labels_continuous.txt",
    )
    (root / attributes_txt).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared / "cub/attributes.txt", root / attributes_txt)
    labels = dict(line.split() for line in (shared / "cub/image_class_labels.txt").read_text().splitlines() if line)
    taken: dict[str, int] = {}
    keep_images, keep_labels = [], []
    for line in (shared / "cub/images.txt").read_text().splitlines():
        if not line.strip():
            continue
        k, path = line.split()
        c = labels[k]
        if taken.get(c, 0) < per_class:
            taken[c] = taken.get(c, 0) + 1
            keep_images.append(f"{k} {path}")
            keep_labels.append(f"{k} {c}")
    (d / "images.txt").write_text("\n".join(keep_images) + "\n")
    (d / "image_class_labels.txt").write_text("\n".join(keep_labels) + "\n")
    write_files([d / "images" / line.split()[1] for line in keep_images], image_bytes(2))
    return root


# --- SUN ----------------------------------------------------------------------------------------------------
def sun_image_names(shared: Path, classes: list[str], per_class: int) -> list[str]:
    """SUN-style image names; 'temple_south_asia'-like classes get the nested folder form of the SUN DB."""
    out = []
    for c in classes:
        folder = c.replace("_", "/", 1) if c in ("temple_south_asia", "monastery_outdoor") else c
        out += [f"{c[0]}/{folder}/sun_{c[:4]}{i:04d}.jpg" for i in range(per_class)]
    return out


def sun_tree(root: Path, shared: Path, classes: list[str], per_class: int = 2, release: str = "") -> Path:
    import scipy.io

    d = root / "SUN"
    (d / "SUNAttributeDB").mkdir(parents=True)
    shutil.copy(shared / "sun/attributes.mat", d / "SUNAttributeDB/attributes.mat")
    names = sun_image_names(shared, classes, per_class)
    rng = np.random.default_rng(3)
    shuffled = [names[i] for i in rng.permutation(len(names))]
    scipy.io.savemat(str(d / "SUNAttributeDB/images.mat"), {"images": np.array(shuffled, dtype=object).reshape(-1, 1)})
    write_files([d / "images" / n for n in names], image_bytes(3))
    x = root / "xlsa17/data/SUN"
    x.mkdir(parents=True)
    shutil.copy(
        shared / "xlsa17" / release / "SUN/att_splits.mat" if release else shared / "xlsa17/SUN/att_splits.mat",
        x / "att_splits.mat",
    )
    return root


# --- xlsa17 res101 ------------------------------------------------------------------------------------------
IMAGE_PREFIX = {
    "AWA2": "/BS/xian/work/data/Animals_with_Attributes2//JPEGImages/",
    "CUB": "/BS/Deep_Fragments/work/MSc/CUB_200_2011/CUB_200_2011/images/",
    "SUN": "/BS/Deep_Fragments/work/MSc/data/SUN/images/",
}


def res101_image_names(family: str, cname: str, i: int) -> str:
    if family == "AWA2":
        return f"{cname}/{cname}_{10001 + i}.jpg"
    if family == "CUB":
        return f"{cname}/{cname.split('.', 1)[1]}_{i:04d}.jpg"
    return sun_image_names(Path(), [cname], i + 1)[-1]


def res101_tree(
    root: Path,
    shared: Path,
    family: str,
    per_class: int = 2,
    dim: int = 2048,
    release: str = "",
    classes: list[str] | None = None,
    seed: int = 0,
    image_keys=None,
) -> dict:
    """xlsa17/data/<family>/{res101.mat (synthetic, shuffled item order), att_splits.mat (real)}.

    Feature column j of an item of xlsa17 class index c (0-based) starts with c (so tests can check the
    alignment), the rest is noise. Returns the written arrays.
    """
    import scipy.io

    x = root / "xlsa17/data" / family
    x.mkdir(parents=True, exist_ok=True)
    src = (
        shared / "xlsa17" / release / family / "att_splits.mat"
        if release
        else shared / "xlsa17" / family / "att_splits.mat"
    )
    shutil.copy(src, x / "att_splits.mat")
    names = xlsa17_names(shared, family)
    use = classes if classes is not None else names
    labels, files = [], []
    for cname in use:
        c = names.index(cname)
        for i in range(per_class):
            labels.append(c + 1)
            files.append(IMAGE_PREFIX[family] + res101_image_names(family, cname, i))
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(labels))
    labels = np.asarray(labels, dtype=np.float64)[perm].reshape(-1, 1)
    files = [files[i] for i in perm]
    feats = rng.random((dim, len(labels)), dtype=np.float32)
    feats[0] = labels[:, 0] - 1
    scipy.io.savemat(
        str(x / "res101.mat"),
        {"features": feats, "labels": labels, "image_files": np.array(files, dtype=object).reshape(-1, 1)},
    )
    return {"features": feats, "labels": labels, "image_files": files}
