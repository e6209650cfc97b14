"""``folder:PATH``: your own images, one sub-folder per class, optionally with class attributes.

Expected tree::

    PATH/
        <class name>/*.jpg|*.jpeg|*.png     (sub-folders of a class folder are included)
        attributes.csv                      optional: header "class,<attr1>,<attr2>,...", one row per class
        protocol.toml                       optional: the default protocol (format: docs/datasets.md)

PATH is taken as given (relative to the working directory); when it does not exist there, relative to the data
root. Classes are the sub-folders (sorted by name, hidden ones skipped); items are each class's image files
sorted by relative path. Without attributes.csv the dataset runs in labels-as-attributes mode.

Protocol: ``PATH/protocol.toml`` if present. Passing ``unseen``, ``train_per_class`` and ``query_per_class``
(CLI: ``--unseen a,b --train-per-class N --query-per-class M``) builds an ad-hoc protocol instead
(`protocol_from_args`: every other class is seen, version "user", seed 0). It is written, content-addressed,
to ``<zshbench cache>/protocols/`` so the run's record can name a file that reproduces it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from zshbench.datasets._images import DEFAULT_IMAGE_SIZE, IMAGE_SUFFIXES, ImageFileDataset
from zshbench.datasets.base import resolve_data_root
from zshbench.errors import DataError, UserError
from zshbench.registry import register_dataset

__all__ = ["FolderDataset", "folder", "protocol_from_args", "read_attributes_csv"]


class FolderDataset(ImageFileDataset):
    """Image files of PATH/<class>/; ``name`` is ``folder-<directory name>``."""

    version = "1"

    def __init__(self, name: str, default_protocol: str, *args, **kwargs):
        self.name, self.default_protocol = name, default_protocol
        super().__init__(*args, **kwargs)


def _find(spec: str | None, data_root) -> Path:
    if not spec:
        raise UserError("The folder dataset needs a path: --dataset folder:PATH (PATH/<class>/*.jpg).")
    p = Path(spec).expanduser()
    if not p.is_dir() and not p.is_absolute():
        alt = resolve_data_root(data_root) / p
        p = alt if alt.is_dir() else p
    if not p.is_dir():
        raise DataError(f"Folder dataset {spec}: no such directory (nor under the data root). Expected "
                        "PATH/<class name>/*.jpg, one sub-folder per class.")
    return p


def read_attributes_csv(path: Path, class_names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """The class x attribute matrix of ``attributes.csv`` (rows re-ordered to ``class_names``).

    Raises:
        DataError: a bad header, a row of the wrong length, non-numeric or NaN values, a class listed twice,
            classes missing from the file or rows naming no class folder.
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    if not rows or len(rows[0]) < 2 or rows[0][0].strip().lower() != "class":
        raise DataError(f"{path}: the header must be 'class,<attribute 1>,<attribute 2>,...'.")
    names = [c.strip() for c in rows[0][1:]]
    table: dict[str, list[float]] = {}
    for i, r in enumerate(rows[1:], 2):
        if len(r) != len(rows[0]):
            raise DataError(f"{path}, line {i}: {len(r)} fields, the header has {len(rows[0])} (class + "
                            f"{len(names)} attributes).")
        cname = r[0].strip()
        if cname in table:
            raise DataError(f"{path}, line {i}: class '{cname}' is listed twice.")
        try:
            vals = [float(v) for v in r[1:]]
        except ValueError:
            raise DataError(f"{path}, line {i}: attribute values must be numbers, got {r[1:]!r}.") from None
        if not np.isfinite(vals).all():
            raise DataError(f"{path}, line {i}: class '{cname}' has NaN/inf attribute values; fill them in.")
        table[cname] = vals
    missing = [c for c in class_names if c not in table]
    extra = sorted(set(table) - set(class_names))
    if missing or extra:
        raise DataError(
            f"{path} must have one row per class folder: {len(missing)} class(es) without a row "
            f"({', '.join(missing[:5])}), {len(extra)} row(s) naming no class folder ({', '.join(extra[:5])})."
        )
    return np.asarray([table[c] for c in class_names], dtype=np.float64).reshape(len(class_names), len(names)), names


def protocol_from_args(dataset, unseen: Sequence[str] | str, train_per_class: int, query_per_class: int):
    """An ad-hoc protocol on ``dataset``: ``unseen`` classes, every other class seen, version "user", seed 0.

    Args:
        dataset: the dataset (its class names decide the seen classes).
        unseen: unseen class names (a list, or one comma-separated string).
        train_per_class: training images per seen class.
        query_per_class: query images per unseen class; the database is the rest.

    Returns:
        a `zshbench.protocols.Protocol` named ``<dataset name>-user-<hash>`` (the hash covers the content).

    Raises:
        UserError: unknown class names, no seen class left, counts that are not non-negative integers.
    """
    from zshbench.protocols import Protocol
    from zshbench.protocols.resolve import content_sha256
    from zshbench.registry import did_you_mean

    if isinstance(unseen, str):
        unseen = unseen.split(",")
    unseen = [u.strip() for u in unseen if u.strip()]
    if not unseen:
        raise UserError("--unseen needs at least one class name (comma-separated).")
    unknown = [u for u in unseen if u not in dataset.class_names]
    if unknown:
        raise UserError(f"--unseen: {did_you_mean(unknown[0], list(dataset.class_names), 'class')}")
    for flag, v in (("--train-per-class", train_per_class), ("--query-per-class", query_per_class)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise UserError(f"{flag} must be a non-negative integer, got {v!r}.")
    seen = [c for c in dataset.class_names if c not in set(unseen)]
    if not seen:
        raise UserError("--unseen lists every class; at least one class must stay seen for training.")
    body = {"version": "user", "dataset": dataset.name, "seed": 0, "seen": seen, "unseen": list(unseen),
            "counts": {"train_per_class": int(train_per_class), "query_per_class": int(query_per_class),
                       "database": "rest"}}
    tag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    d = {"name": f"{dataset.name}-user-{tag}", **body,
         "provenance": f"Ad-hoc protocol from command-line arguments on {getattr(dataset, 'root', dataset.name)}."}
    return Protocol.from_dict(d, sha256=content_sha256(d))


def _protocol_toml(p) -> str:
    q = lambda s: json.dumps(s)  # noqa: E731  (TOML basic strings accept JSON string escapes)
    lines = [f"name = {q(p.name)}", f"version = {q(p.version)}", f"dataset = {q(p.dataset)}", f"seed = {p.seed}",
             f"provenance = {q(p.provenance)}", "seen = [" + ", ".join(map(q, p.seen)) + "]",
             "unseen = [" + ", ".join(map(q, p.unseen)) + "]", "", "[counts]",
             f"train_per_class = {p.train_per_class}", f"query_per_class = {p.query_per_class}",
             f"database = {q(p.database)}", ""]
    return "\n".join(lines)


def write_protocol(p) -> Path:
    """Write ``p`` as a toml file in the zshbench cache (content-addressed) and return its path."""
    from zshbench.cache import atomic_write_bytes, cache_dir

    path = cache_dir() / "protocols" / f"{p.name}.toml"
    if not path.is_file():
        atomic_write_bytes(path, _protocol_toml(p).encode())
    return path


@register_dataset("folder")
def folder(data_root=None, spec: str | None = None, unseen=None, train_per_class: int | None = None,
           query_per_class: int | None = None, image_size: int = DEFAULT_IMAGE_SIZE) -> FolderDataset:
    """Your images: folder:PATH with PATH/<class>/*.jpg, optional attributes.csv and protocol.toml."""
    path = _find(spec, data_root)
    class_dirs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
    if not class_dirs:
        raise DataError(f"Folder dataset {path} has no class sub-folders; expected PATH/<class name>/*.jpg.")
    class_names = [d.name for d in class_dirs]
    paths, labels = [], []
    for c, d in enumerate(class_dirs):
        files = sorted(p.relative_to(d).as_posix() for p in d.rglob("*")
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith("."))
        paths += [str(d / f) for f in files]
        labels += [c] * len(files)
    if not paths:
        raise DataError(f"Folder dataset {path} holds no .jpg/.jpeg/.png files in its class sub-folders.")
    att, att_names, source = None, None, ""
    if (path / "attributes.csv").is_file():
        att, att_names = read_attributes_csv(path / "attributes.csv", class_names)
        source = str(path / "attributes.csv")
    ds = FolderDataset(f"folder-{path.resolve().name}", str(path / "protocol.toml"), paths,
                       np.asarray(labels, dtype=np.int64), class_names, att, att_names, image_size=image_size,
                       root=path.resolve(), attribute_source=source)
    given = {"unseen": unseen, "train_per_class": train_per_class, "query_per_class": query_per_class}
    if any(v is not None for v in given.values()):
        absent = [k for k, v in given.items() if v is None]
        if absent:
            raise UserError(
                "An ad-hoc protocol needs unseen, train_per_class and query_per_class together; missing: "
                f"{', '.join(absent)} (CLI: --unseen a,b --train-per-class N --query-per-class M)."
            )
        proto = protocol_from_args(ds, unseen, train_per_class, query_per_class)
        ds.default_protocol = str(write_protocol(proto))
    return ds
