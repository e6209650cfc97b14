"""Shared machinery of the image-file datasets: lazy PIL decoding to fixed-size squares and a torch adapter.

Every photograph is decoded only when asked for (`ImageFileDataset._load_images`), converted to RGB, resized
so its shorter side is ``image_size`` (bilinear, PIL's antialiasing) and centre-cropped to ``image_size`` x
``image_size``: batches stack into uint8 (b, S, S, 3) whatever the original sizes. Nothing decoded is kept.

A file PIL cannot decode (truncated, not an image) fails the run with a `DataError` naming the file: a silently
skipped item would change the split and make the record incomparable. ``verify_images()`` scans every file
once and lists all unreadable ones, so they can be re-extracted in one go; `scan_image_headers` does the cheap
part of that (headers only) for folder datasets at load time. An image above PIL's decompression-bomb limit
(``PIL.Image.MAX_IMAGE_PIXELS``, about 89 megapixels) is a `DataError` naming the file, not a traceback.

Content: `ImageFileDataset.content_hashes` is the sha256 of each file's bytes, computed once and cached in
``<zshbench cache>/content-hashes/`` keyed by (resolved path, size, mtime_ns) (`file_sha256s`). A batch of
decoded images is checked against the available memory before it is allocated (`zshbench.memory`).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zshbench.datasets.base import Dataset
from zshbench.errors import DataError, UserError
from zshbench.memory import check_allocation

__all__ = [
    "ImageFileDataset",
    "decode_image",
    "check_unique_paths",
    "read_lines",
    "IMAGE_SUFFIXES",
    "file_sha256s",
    "scan_image_headers",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DEFAULT_IMAGE_SIZE = 224


def check_image_size(image_size: Any) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
        raise UserError(f"image_size must be an integer >= 8 (pixels of the square images), got {image_size!r}.")
    return image_size


def _bomb_message(path, exc) -> str:
    from PIL import Image

    return (
        f"Image file {path} is too large to decode safely ({exc}); PIL refuses images above "
        f"{Image.MAX_IMAGE_PIXELS:,} pixels as possible decompression bombs. Downscale the file (a few "
        "thousand pixels per side are plenty for hashing) or remove it from the dataset."
    )


def decode_image(path: str | os.PathLike, size: int | None):
    """Open ``path`` as an RGB PIL image, resized (shorter side = ``size``) and centre-cropped to a square.

    Raises:
        DataError: the file is missing, cannot be decoded, or exceeds PIL's decompression-bomb limit (the
            message names the file).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if size:
                    im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when that still covers size
                img = im.convert("RGB")
    except FileNotFoundError:
        raise DataError(
            f"Image file {path} does not exist: the dataset tree is incomplete; re-extract the archive."
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(_bomb_message(path, exc)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(
            f"Image file {path} is corrupt or not an image ({type(exc).__name__}: {exc}). Re-extract it from the "
            "dataset archive (or, for a folder dataset, remove it); `dataset.verify_images()` lists every such "
            "file in one scan."
        ) from None
    if size is None:
        return img
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - size) // 2, (nh - size) // 2
    return img.crop((left, top, left + size, top + size))


def scan_image_headers(paths: Sequence[str]) -> tuple[list[tuple[int, int] | None], list[tuple[str, str]]]:
    """Read only the header of every image (PIL opens lazily): its (width, height), and every file that is not
    a readable image (not an image, zero bytes, a header cut short, a decompression bomb).

    Returns:
        (sizes, one per path, None for an unreadable file; [(path, reason), ...] of the unreadable files).
    """
    from PIL import Image, UnidentifiedImageError

    sizes: list[tuple[int, int] | None] = []
    problems: list[tuple[str, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        for p in paths:
            try:
                with Image.open(p) as im:
                    sizes.append(tuple(im.size))  # type: ignore[arg-type]
                    continue
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                reason = f"too large to decode safely: {exc}"
            except UnidentifiedImageError:
                empty = os.path.isfile(p) and os.path.getsize(p) == 0
                reason = "empty file" if empty else "not an image PIL can identify"
            except (OSError, SyntaxError, ValueError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            sizes.append(None)
            problems.append((str(p), reason))
    return sizes, problems


# -- content hashes of files, cached on disk ----------------------------------------------------------------
_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256s(paths: Sequence[str], group: str = "") -> list[str]:
    """sha256 (hex) of the bytes of each file, computed once per (resolved path, size, mtime_ns).

    The digests are kept in ``<zshbench cache>/content-hashes/<sha256(group)>.json`` (one file per dataset
    root, ``group``), so a large dataset is read in full once; an unreadable or unwritable cache only costs
    the recomputation.

    Raises:
        DataError: a file is missing or unreadable (the message names it).
    """
    from zshbench.cache import cache_dir
    from zshbench.fileio import atomic_write_bytes

    cache_file = None
    stored: dict[str, list] = {}
    try:
        cache_file = cache_dir() / "content-hashes" / f"{hashlib.sha256(group.encode()).hexdigest()[:32]}.json"
        if cache_file.is_file():
            blob = json.loads(cache_file.read_text(encoding="utf-8"))
            if isinstance(blob, dict) and blob.get("format") == 1 and isinstance(blob.get("files"), dict):
                stored = blob["files"]
    except (OSError, ValueError, UserError):
        stored = {}
    out, new = [], 0
    for p in paths:
        try:
            real = os.path.realpath(p)
            st = os.stat(real)
            key = (real, st.st_size, st.st_mtime_ns)
            digest = _SHA_MEMO.get(key)
            if digest is None:
                e = stored.get(real)
                if isinstance(e, list) and len(e) == 3 and e[0] == st.st_size and e[1] == st.st_mtime_ns:
                    digest = str(e[2])
                else:
                    digest = _sha256_file(real)
                    stored[real] = [st.st_size, st.st_mtime_ns, digest]
                    new += 1
                _SHA_MEMO[key] = digest
        except OSError as exc:
            raise DataError(
                f"Image file {p} cannot be read ({exc.strerror or exc}); re-extract it or remove it."
            ) from None
        out.append(digest)
    if new and cache_file is not None:
        try:
            atomic_write_bytes(cache_file, json.dumps({"format": 1, "group": group, "files": stored}).encode())
        except OSError:
            pass  # a read-only cache: the digests are recomputed next time
    return out


def check_unique_paths(paths: Sequence[str], dataset: str, source: str) -> None:
    """Raise `DataError` when a listing names the same image twice (it would sit in two splits at once)."""
    seen: set[str] = set()
    dups: list[str] = []
    for p in paths:
        if p in seen:
            dups.append(p)
        seen.add(p)
    if dups:
        raise DataError(
            f"Dataset '{dataset}': {source} lists {len(dups)} image path(s) more than once (first: {dups[0]}). "
            "Every image must appear once, or it could land in train and query at the same time; restore the "
            "original file from the dataset archive."
        )


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a text file, stripped (tolerates CRLF and a missing final newline)."""
    return [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]


class _TorchImages:
    """A `torch.utils.data.Dataset` over some items of an `ImageFileDataset` (picklable, for DataLoader workers)."""

    def __init__(self, owner: ImageFileDataset, indices: np.ndarray, transform: Callable | None):
        self.owner, self.indices, self.transform = owner, indices, transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        item = int(self.indices[i])
        img = self.owner._pil_image(item)
        x = self.transform(img) if self.transform is not None else np.array(img, dtype=np.uint8)
        return x, int(self.owner.labels[item])


class ImageFileDataset(Dataset):
    """A dataset of image files decoded lazily with PIL.

    Subclasses call ``super().__init__`` with the absolute image paths (one per item, in item order) and set
    ``name``, ``version``, ``default_protocol``.
    """

    def __init__(
        self,
        paths: Sequence[str],
        labels,
        class_names,
        class_attributes,
        attribute_names,
        *,
        image_size: int = DEFAULT_IMAGE_SIZE,
        root: str | os.PathLike = "",
        attribute_source: str = "",
        notes: dict | None = None,
    ):
        super().__init__(labels, class_names, class_attributes, attribute_names, attribute_source=attribute_source)
        self.image_size = check_image_size(image_size)
        self.paths = list(map(str, paths))
        if len(self.paths) != len(self.labels):
            raise DataError(f"Dataset '{self.name}': {len(self.paths)} image paths for {len(self.labels)} labels.")
        check_unique_paths(self.paths, self.name, "the image listing")
        self.root = str(Path(root).resolve()) if str(root) else ""
        self._prefixes = tuple({str(Path(root)) + os.sep, self.root + os.sep}) if self.root else ()
        self.notes = dict(notes or {})
        self.image_shape = (self.image_size, self.image_size, 3)

    def _pil_image(self, item: int):
        return decode_image(self.paths[item], self.image_size)

    def item_name(self, i: int) -> str:
        """The image file of item ``i``, relative to the dataset root when it lies under it."""
        p = self.paths[int(i)]
        for prefix in self._prefixes:
            if p.startswith(prefix):
                return p[len(prefix) :]
        return p

    def content_hashes(self, idx: Sequence[int] | np.ndarray) -> list[str]:
        """sha256 of each item's file bytes (cached on disk, see `file_sha256s`)."""
        return file_sha256s([self.paths[int(i)] for i in np.asarray(idx, dtype=np.int64)], self.root or self.name)

    def identity(self) -> dict:
        return {**super().identity(), "image_size": self.image_size}

    def _load_images(self, idx: np.ndarray) -> np.ndarray:
        s = self.image_size
        check_allocation(
            len(idx) * s * s * 3,
            f"a batch of {len(idx)} decoded {s}x{s} RGB images",
            "Use a smaller --image-size, or fewer images per batch.",
        )
        out = np.empty((len(idx), self.image_size, self.image_size, 3), dtype=np.uint8)
        for j, i in enumerate(np.asarray(idx, dtype=np.int64)):
            out[j] = np.asarray(self._pil_image(int(i)), dtype=np.uint8)
        return out

    def torch_dataset(self, indices: Sequence[int] | np.ndarray | None = None, transform: Callable | None = None):
        """A map-style torch Dataset of ``(image, label)`` for ``indices`` (default: all items).

        Args:
            indices: dataset item indices, e.g. ``split.train``.
            transform: called on the RGB PIL image (already ``image_size`` x ``image_size``), e.g. a torchvision
                transform; without it an item is the uint8 (S, S, 3) array.

        Returns:
            a picklable dataset usable with ``torch.utils.data.DataLoader(num_workers=N)``.
        """
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64)
        return _TorchImages(self, idx, transform)

    def verify_images(self, indices: Sequence[int] | np.ndarray | None = None) -> list[str]:
        """Decode every image (or those of ``indices``) and return the paths PIL cannot read."""
        from PIL import Image

        bad = []
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            for i in range(len(self)) if indices is None else np.asarray(indices, dtype=np.int64):
                try:
                    with Image.open(self.paths[int(i)]) as im:
                        im.load()
                except Exception:  # noqa: BLE001 - any failure (a decompression bomb included) means unreadable
                    bad.append(self.paths[int(i)])
        return bad

    def describe(self) -> dict:
        d = super().describe()
        d.update({"image_size": self.image_size, "root": self.root, **self.notes})
        return d
