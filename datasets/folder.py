"""``folder:PATH``: your own images, one sub-folder per class, optionally with class attributes.

Expected tree::

    PATH/
        <class name>/*.jpg|*.jpeg|*.png     (sub-folders of a class folder are included)
        attributes.csv                      optional: header "class,<attr1>,<attr2>,...", one row per class
        protocol.toml                       optional: the default protocol (format: docs/datasets.md)

PATH is taken as given (relative to the working directory); when it does not exist there, relative to the data
root. Classes are the sub-folders (sorted by name, hidden ones skipped); items are each class's image files
sorted by relative path. Without attributes.csv (UTF-8, one numeric row per class, distinct attribute names)
the dataset runs in labels-as-attributes mode.

Loading reads every image's header (cheap: PIL opens lazily): all files that are not readable images are
named in one `DataError`, and the image size is chosen: ``image_size`` if given, else the images' own size when
they all share it (the shorter side, at least 8), else 224. Small images are thus never silently upsampled
(28x28 photos do not become 150,528-d pixel vectors); the choice and its reason are in ``describe()``.

Identity: ``name`` is ``folder-<directory name>`` (made a safe path component), so two folders of the same
name share it; `FolderDataset.identity` adds a content fingerprint (sha256 over the sorted (relative path,
size) list of the images and the bytes of attributes.csv and protocol.toml), which differs between different
folders and is the same for a copy of one folder elsewhere. Folder datasets are user data: byte-identical
images in two parts of a split (e.g. a class folder that is a symlink to another) are refused by
`zshbench.protocols.resolve`.

Protocol: ``PATH/protocol.toml`` if present. Passing ``unseen``, ``train_per_class`` and ``query_per_class``
(CLI: ``--unseen a,b --train-per-class N --query-per-class M``) builds an ad-hoc protocol instead
(`protocol_from_args`: every other class is seen, version "user", seed 0). It is written, content-addressed,
to ``<zshbench cache>/protocols/`` so the run's record can name a file that reproduces it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zshbench.datasets._images import (
    DEFAULT_IMAGE_SIZE,
    IMAGE_SUFFIXES,
    ImageFileDataset,
    check_image_size,
    scan_image_headers,
)
from zshbench.datasets.base import resolve_data_root
from zshbench.errors import DataError, UserError
from zshbench.paths import check_name, slug
from zshbench.registry import register_dataset

__all__ = ["FolderDataset", "folder", "protocol_from_args", "read_attributes_csv"]


class FolderDataset(ImageFileDataset):
    """Image files of PATH/<class>/; ``name`` is ``folder-<directory name>`` (a safe path component)."""

    version = "1"
    user_data = True

    def __init__(self, name: str, default_protocol: str, *args, content_fingerprint: str = "", **kwargs):
        self.name, self.default_protocol = name, default_protocol
        self.content_fingerprint = content_fingerprint
        super().__init__(*args, **kwargs)

    def identity(self) -> dict:
        """`Dataset.identity` plus "content": sha256 over the sorted (relative path, size) of the images and the
        bytes of attributes.csv and protocol.toml (independent of where the folder lives)."""
        return {**super().identity(), "content": self.content_fingerprint}


def dataset_name(path: Path) -> str:
    """``folder-<directory name>``, made a safe path component (`zshbench.paths.slug`)."""
    name = "folder-" + slug(path.resolve().name)[:80]  # room for ad-hoc protocol names (<name>-user-<hash>)
    name = re.sub(r"\.{2,}", ".", name).rstrip("-._")
    return check_name(name, "folder dataset name")


def content_fingerprint(root: Path, files: Sequence[tuple[str, int]]) -> str:
    """sha256 over the sorted (relative path, size) list and the bytes of attributes.csv and protocol.toml."""
    h = hashlib.sha256(b"zshbench-folder-v1\n")
    for rel, size in sorted(files):
        h.update(f"{rel}\t{size}\n".encode("utf-8", "surrogateescape"))
    for extra in ("attributes.csv", "protocol.toml"):
        f = root / extra
        h.update(f"--{extra}--\n".encode())
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def choose_image_size(sizes: Sequence[tuple[int, int]]) -> tuple[int, str]:
    """The default image size of a folder dataset and the reason for it.

    The images' own size when they all share it (the shorter side of a non-square size; at least 8, the
    smallest size zshbench decodes to), else 224, the usual input size of pretrained backbones.
    """
    distinct = sorted(set(sizes))
    if len(distinct) == 1:
        w, h = distinct[0]
        s = max(8, min(w, h))
        why = f"the images' own size (all {len(sizes)} images are {w}x{h})"
        if w != h:
            why += "; the shorter side is used and the longer one centre-cropped"
        if s != min(w, h):
            why += f"; raised to {s}, the smallest size zshbench decodes to"
        return s, why
    shown = ", ".join(f"{w}x{h}" for w, h in distinct[:3]) + (" ..." if len(distinct) > 3 else "")
    return DEFAULT_IMAGE_SIZE, (
        f"the default {DEFAULT_IMAGE_SIZE}: the images differ in size ({len(distinct)} "
        f"sizes: {shown}); pass --image-size to choose another"
    )


def _find(spec: str | None, data_root) -> Path:
    if not spec:
        raise UserError("The folder dataset needs a path: --dataset folder:PATH (PATH/<class>/*.jpg).")
    p = Path(spec).expanduser()
    if not p.is_dir() and not p.is_absolute():
        alt = resolve_data_root(data_root) / p
        p = alt if alt.is_dir() else p
    if not p.is_dir():
        raise DataError(
            f"Folder dataset {spec}: no such directory (nor under the data root). Expected "
            "PATH/<class name>/*.jpg, one sub-folder per class."
        )
    return p


def read_attributes_csv(path: Path, class_names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """The class x attribute matrix of ``attributes.csv`` (rows re-ordered to ``class_names``).

    Raises:
        DataError: a file that is not UTF-8 text, a bad header, attribute names that are empty or repeated, a
            row of the wrong length, non-numeric or NaN values, a class listed twice, classes missing from the
            file or rows naming no class folder.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} (line {line}) cannot be "
            f"decoded ({exc.reason}). Save the file as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet program); if it is "
            "not a CSV file at all, replace it."
        ) from None
    if "\x00" in text:
        raise DataError(
            f"{path} holds NUL bytes: it is a binary file, not CSV text. Replace it with a UTF-8 CSV file "
            "('class,<attribute 1>,...' then one row per class)."
        )
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise DataError(
            f"{path} is not a readable CSV file ({exc}); expected 'class,<attribute 1>,...' then one row per class."
        ) from None
    if not rows or len(rows[0]) < 2 or rows[0][0].strip().lower() != "class":
        raise DataError(f"{path}: the header must be 'class,<attribute 1>,<attribute 2>,...'.")
    names = [c.strip() for c in rows[0][1:]]
    empty = [i + 2 for i, n in enumerate(names) if not n]
    if empty:
        raise DataError(
            f"{path}: header column(s) {', '.join(map(str, empty))} have no attribute name; name every "
            "attribute column."
        )
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise DataError(
            f"{path}: the header names attribute(s) more than once: {', '.join(dups)}. Every attribute "
            "column needs its own name; rename or merge the repeated columns."
        )
    table: dict[str, list[float]] = {}
    for i, r in enumerate(rows[1:], 2):
        if len(r) != len(rows[0]):
            raise DataError(
                f"{path}, line {i}: {len(r)} fields, the header has {len(rows[0])} (class + {len(names)} attributes)."
            )
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


def split_class_list(text: str, class_names: Sequence[str]) -> list[str]:
    """Split a comma-separated ``--unseen`` value into class names.

    Class names may themselves contain commas: consecutive pieces are joined back whenever the joined text is
    a class name (the longest match wins), so ``--unseen "a,b,c"`` with classes "a,b" and "c" gives
    ["a,b", "c"].
    """
    pieces = text.split(",")
    known = set(class_names)
    out, i = [], 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):
            joined = ",".join(pieces[i:j])
            if j - i > 1 and joined.strip() in known:
                out.append(joined.strip())
                i = j
                break
        else:
            out.append(pieces[i].strip())
            i += 1
    return [u for u in out if u]


def protocol_from_args(dataset, unseen: Sequence[str] | str, train_per_class: int, query_per_class: int):
    """An ad-hoc protocol on ``dataset``: ``unseen`` classes, every other class seen, version "user", seed 0.

    Args:
        dataset: the dataset (its class names decide the seen classes).
        unseen: unseen class names (a list, or one comma-separated string; see `split_class_list` for class
            names that contain commas).
        train_per_class: training images per seen class (>= 1).
        query_per_class: query images per unseen class (>= 1); the database is the rest.

    Returns:
        a `zshbench.protocols.Protocol` named ``<dataset name>-user-<hash>`` (the hash covers the content);
        never pinned.

    Raises:
        UserError: unknown class names, no seen class left, counts that are not integers >= 1.
    """
    from zshbench.protocols import Protocol
    from zshbench.protocols.resolve import content_sha256
    from zshbench.registry import did_you_mean

    if isinstance(unseen, str):
        unseen = split_class_list(unseen, dataset.class_names)
    unseen = [u.strip() for u in unseen if u.strip()]
    if not unseen:
        raise UserError("--unseen needs at least one class name (comma-separated).")
    unknown = [u for u in unseen if u not in dataset.class_names]
    if unknown:
        msg = did_you_mean(unknown[0], list(dataset.class_names), "class")
        commas = [c for c in dataset.class_names if "," in c]
        if commas:
            msg += (
                f" Note: --unseen splits its value at commas, and {len(commas)} class name(s) contain one (e.g. "
                f"{commas[0]!r}); such a name is recognised when written out in full, but a class name that "
                "also splits into other class names cannot be told apart: rename those class folders."
            )
        raise UserError(f"--unseen: {msg}")
    for flag, v in (("--train-per-class", train_per_class), ("--query-per-class", query_per_class)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise UserError(
                f"{flag} must be an integer >= 1 (every seen class needs a training item, every unseen "
                f"class a query), got {v!r}."
            )
    seen = [c for c in dataset.class_names if c not in set(unseen)]
    if not seen:
        raise UserError("--unseen lists every class; at least one class must stay seen for training.")
    body = {
        "version": "user",
        "dataset": dataset.name,
        "seed": 0,
        "seen": seen,
        "unseen": list(unseen),
        "counts": {
            "train_per_class": int(train_per_class),
            "query_per_class": int(query_per_class),
            "database": "rest",
        },
    }
    tag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    where = getattr(dataset, "root", "") or dataset.name
    d = {
        "name": f"{dataset.name}-user-{tag}",
        **body,
        "provenance": f"Ad-hoc protocol from command-line arguments on {where}.",
    }
    return Protocol.from_dict(d, sha256=content_sha256(d))


def _protocol_toml(p) -> str:
    q = lambda s: json.dumps(s)  # noqa: E731  (TOML basic strings accept JSON string escapes)
    lines = [
        f"name = {q(p.name)}",
        f"version = {q(p.version)}",
        f"dataset = {q(p.dataset)}",
        f"seed = {p.seed}",
        f"provenance = {q(p.provenance)}",
        "seen = [" + ", ".join(map(q, p.seen)) + "]",
        "unseen = [" + ", ".join(map(q, p.unseen)) + "]",
        "",
        "[counts]",
        f"train_per_class = {p.train_per_class}",
        f"query_per_class = {p.query_per_class}",
        f"database = {q(p.database)}",
        "",
    ]
    return "\n".join(lines)


def write_protocol(p) -> Path:
    """Write ``p`` as a toml file in the zshbench cache (content-addressed) and return its path."""
    from zshbench.cache import cache_dir
    from zshbench.fileio import atomic_write_bytes

    path = cache_dir() / "protocols" / f"{p.name}.toml"
    if not path.is_file():
        atomic_write_bytes(path, _protocol_toml(p).encode())
    return path


@register_dataset("folder")
def folder(
    data_root=None,
    spec: str | None = None,
    unseen=None,
    train_per_class: int | None = None,
    query_per_class: int | None = None,
    image_size: int | None = None,
) -> FolderDataset:
    """Your images: folder:PATH with PATH/<class>/*.jpg, optional attributes.csv and protocol.toml.

    Args:
        data_root: where a relative PATH is looked up when it does not exist as given.
        spec: PATH.
        unseen, train_per_class, query_per_class: an ad-hoc protocol (all three together), instead of
            PATH/protocol.toml.
        image_size: the square size images are decoded to; None: the images' own size when they all share
            it, else 224 (`choose_image_size`).

    Raises:
        DataError: no class folders, no images, files that are not readable images (all named), a bad
            attributes.csv.
        UserError: an incomplete or invalid ad-hoc protocol, an invalid image_size.
    """
    if image_size is not None:
        check_image_size(image_size)
    path = _find(spec, data_root)
    root = path.resolve()
    class_dirs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
    if not class_dirs:
        raise DataError(f"Folder dataset {path} has no class sub-folders; expected PATH/<class name>/*.jpg.")
    class_names = [d.name for d in class_dirs]
    paths, labels, listing = [], [], []
    for c, d in enumerate(class_dirs):
        files = sorted(
            p.relative_to(d).as_posix()
            for p in d.rglob("*")
            if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")
        )
        for f in files:
            full = d / f
            paths.append(str(full))
            listing.append((f"{d.name}/{f}", os.stat(full).st_size))
        labels += [c] * len(files)
    if not paths:
        raise DataError(f"Folder dataset {path} holds no .jpg/.jpeg/.png files in its class sub-folders.")
    sizes, problems = scan_image_headers(paths)
    if problems:
        shown = "; ".join(f"{os.path.relpath(p, path)} ({why})" for p, why in problems[:10])
        raise DataError(
            f"Folder dataset {path}: {len(problems)} of {len(paths)} image file(s) are not readable images: {shown}"
            f"{' ...' if len(problems) > 10 else ''}. Every .jpg/.jpeg/.png file under a class folder is an item: "
            "remove or replace these files (files whose header is intact but whose data is cut short are found "
            "only when decoded; dataset.verify_images() lists those in one scan)."
        )
    if image_size is None:
        image_size, why = choose_image_size(sizes)  # type: ignore[arg-type]
    else:
        why = f"given by the caller (--image-size {image_size})"
    att, att_names, source = None, None, ""
    if (path / "attributes.csv").is_file():
        att, att_names = read_attributes_csv(path / "attributes.csv", class_names)
        source = str(path / "attributes.csv")
    ds = FolderDataset(
        dataset_name(path),
        str(path / "protocol.toml"),
        paths,
        np.asarray(labels, dtype=np.int64),
        class_names,
        att,
        att_names,
        image_size=image_size,
        root=root,
        attribute_source=source,
        notes={"image_size_source": why},
        content_fingerprint=content_fingerprint(path, listing),
    )
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
