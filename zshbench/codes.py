"""Binary code conventions shared by every method and the evaluator.

A code of ``n_bits`` bits is stored packed, ``uint8`` of shape ``(n, ceil(n_bits / 8))``, most significant bit
first (``np.packbits(..., bitorder="big")``); padding bits of the last byte are 0. Bit j is 1 where the real
value h_j >= 0 (``sign`` with sign(0) = +1, so a code is a deterministic function of h).

Large databases: `encode_to_memmap` streams the encoding in chunks to a codes file (a 64-byte header with
n_items, n_bits and CRC-32s, then the packed rows) and returns it as a read-only ``np.memmap``; `open_codes`
reopens such a file and refuses a truncated or damaged one (`CodesFileError`). The runner switches to it for
databases of at least `memmap_threshold` items (`encode_database`).
"""

from __future__ import annotations

import os
import struct
import tempfile
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from zshbench.errors import DataError, UserError

__all__ = [
    "n_bytes",
    "pack_signs",
    "unpack_codes",
    "to_pm1",
    "CodesFileError",
    "encode_to_memmap",
    "open_codes",
    "write_codes",
    "read_codes_header",
    "encode_database",
    "memmap_threshold",
    "codes_dir",
    "DEFAULT_MEMMAP_THRESHOLD",
]


class CodesFileError(DataError):
    """A codes file on disk is missing, truncated, damaged or of another code length."""


def n_bytes(n_bits: int) -> int:
    return (int(n_bits) + 7) // 8


def pack_signs(h) -> np.ndarray:
    """Pack real values (numpy array or torch tensor, shape (n, n_bits)) into codes: bit = (h >= 0)."""
    if hasattr(h, "detach"):  # torch tensor, on any device
        h = h.detach().float().cpu().numpy()
    h = np.asarray(h)
    if h.ndim != 2:
        raise ValueError(f"Expected a 2-D array of shape (n, n_bits), got shape {h.shape}.")
    if np.isnan(h).any():
        bad = np.flatnonzero(np.isnan(h).any(axis=1))
        raise ValueError(f"{bad.size} code rows contain NaN (first at row {bad[0]}); the hasher diverged.")
    return np.packbits(h >= 0, axis=1, bitorder="big")


def unpack_codes(codes: np.ndarray, n_bits: int) -> np.ndarray:
    """Packed uint8 codes -> bool array of shape (n, n_bits)."""
    return np.unpackbits(np.asarray(codes, dtype=np.uint8), axis=1, count=n_bits, bitorder="big").astype(bool)


def to_pm1(codes: np.ndarray, n_bits: int) -> np.ndarray:
    """Packed uint8 codes -> {-1, +1} int8 array of shape (n, n_bits)."""
    return unpack_codes(codes, n_bits).astype(np.int8) * 2 - 1


# ---------------------------------------------------------------------------------------------------------
# Codes on disk: one file, a 64-byte header then n_items rows of n_bytes(n_bits) packed uint8.
#
# Header (little-endian): magic b"ZSHCODE1" | n_items u64 | n_bits u32 | n_bytes u32 | data_crc32 u32 |
# complete u32 (1 once finalised) | reserved (zero) | header_crc32 u32 (of the 60 bytes before it).
# The file is written to a temp name next to ``path``, finalised (header with checksums, fsync) and renamed,
# so ``path`` is either absent or complete; truncation, extra bytes, a bad header or (with ``verify``) changed
# code bytes raise `CodesFileError`.

CODES_MAGIC = b"ZSHCODE1"
HEADER_SIZE = 64
_HEADER = struct.Struct("<8sQIIII")  # magic, n_items, n_bits, n_bytes, data_crc32, complete  (32 bytes)
DEFAULT_CHUNK = 65_536
# database size (items) from which the runner encodes the database to a memory-mapped file instead of RAM
DEFAULT_MEMMAP_THRESHOLD = 2_000_000
MEMMAP_THRESHOLD_ENV = "ZSHBENCH_MEMMAP_THRESHOLD"


def _header_bytes(n_items: int, n_bits: int, crc: int, complete: bool) -> bytes:
    head = _HEADER.pack(CODES_MAGIC, n_items, n_bits, n_bytes(n_bits), crc & 0xFFFFFFFF, int(complete))
    head = head.ljust(HEADER_SIZE - 4, b"\0")
    return head + struct.pack("<I", zlib.crc32(head) & 0xFFFFFFFF)


def _bad_file(path, what: str) -> CodesFileError:
    return CodesFileError(
        f"The codes file '{path}' is unusable: {what}. Codes files are written by zshbench.codes.encode_to_memmap "
        "and finalised atomically, so this one was cut short or changed after it was written (a full disk, a "
        "partial copy, another program). Delete it and encode again (the runner does this by itself for "
        "its temporary database codes)."
    )


def read_codes_header(path: str | os.PathLike) -> dict[str, int]:
    """The header of a codes file: ``n_items``, ``n_bits``, ``n_bytes``, ``data_crc32``.

    Raises:
        CodesFileError: the file is missing, not a codes file, or its header is damaged or inconsistent.
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            raw = f.read(HEADER_SIZE)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise CodesFileError(
            f"The codes file '{p}' does not exist; encode the database first (zshbench.codes.encode_to_memmap)."
        ) from None
    if len(raw) < HEADER_SIZE or raw[:8] != CODES_MAGIC:
        raise _bad_file(
            p,
            f"it does not start with a zshbench codes header ({size} bytes, expected the magic "
            f"{CODES_MAGIC!r} and a {HEADER_SIZE}-byte header)",
        )
    (crc_head,) = struct.unpack("<I", raw[HEADER_SIZE - 4 :])
    if zlib.crc32(raw[: HEADER_SIZE - 4]) & 0xFFFFFFFF != crc_head:
        raise _bad_file(p, "its header checksum does not match (the header bytes were changed)")
    _, n_items, n_bits, nb, crc, complete = _HEADER.unpack(raw[: _HEADER.size])
    if not complete:
        raise _bad_file(p, "it was never finalised (the encoding process stopped before the end)")
    if nb != n_bytes(n_bits) or n_bits <= 0:
        raise _bad_file(p, f"its header says n_bits={n_bits} with {nb} bytes per code")
    expected = HEADER_SIZE + n_items * nb
    if size != expected:
        kind = "truncated" if size < expected else "longer than its header says"
        raise _bad_file(
            p,
            f"it is {kind}: {size} bytes on disk, but the header says {n_items} codes of {n_bits} "
            f"bits, i.e. {expected} bytes",
        )
    return {"n_items": int(n_items), "n_bits": int(n_bits), "n_bytes": int(nb), "data_crc32": int(crc)}


def open_codes(path: str | os.PathLike, *, n_bits: int | None = None, verify: bool = False) -> np.ndarray:
    """Open a codes file read-only as a memory map of packed uint8 codes, shape (n_items, n_bytes).

    Args:
        path: a file written by `encode_to_memmap` or `write_codes`.
        n_bits: when given, the code length the caller expects (checked against the header).
        verify: also check the CRC-32 of all code bytes (reads the whole file once, in chunks).

    Returns:
        a read-only ``np.memmap`` (a plain empty array when the file holds no codes).

    Raises:
        CodesFileError: missing, truncated, over-long or damaged file, checksum mismatch, or another n_bits.
    """
    head = read_codes_header(path)
    if n_bits is not None and int(n_bits) != head["n_bits"]:
        raise CodesFileError(
            f"The codes file '{path}' holds {head['n_bits']}-bit codes, but {n_bits}-bit codes "
            "were expected. Open the file written for this code length, or encode again."
        )
    shape = (head["n_items"], head["n_bytes"])
    if head["n_items"] == 0:
        return np.zeros(shape, dtype=np.uint8)
    mm = np.memmap(path, dtype=np.uint8, mode="r", offset=HEADER_SIZE, shape=shape)
    if verify:
        crc, step = 0, max(1, (1 << 24) // shape[1])
        for s in range(0, shape[0], step):
            crc = zlib.crc32(mm[s : s + step], crc)
        if crc & 0xFFFFFFFF != head["data_crc32"]:
            raise _bad_file(path, "the checksum of its code bytes does not match the header (bytes were changed)")
    return mm


class _CodesWriter:
    """Append packed codes to a temp file next to ``path``; `finish` writes the header and renames."""

    def __init__(self, path: Path, n_bits: int):
        self.path, self.n_bits, self.n, self.crc = path, int(n_bits), 0, 0
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.tmp, self.f = Path(tmp), os.fdopen(fd, "wb")
        self.f.write(_header_bytes(0, self.n_bits, 0, complete=False))

    def write(self, codes: np.ndarray) -> None:
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        if codes.ndim != 2 or codes.shape[1] != n_bytes(self.n_bits):
            raise ValueError(f"expected packed codes of shape (n, {n_bytes(self.n_bits)}), got {codes.shape}")
        self.f.write(codes.data)
        self.crc = zlib.crc32(codes.data, self.crc)
        self.n += codes.shape[0]

    def finish(self) -> None:
        self.f.seek(0)
        self.f.write(_header_bytes(self.n, self.n_bits, self.crc, complete=True))
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.f.close()
        try:
            self.tmp.unlink()
        except OSError:
            pass


def write_codes(path: str | os.PathLike, codes: np.ndarray, n_bits: int) -> Path:
    """Write in-memory packed codes to a codes file (atomically); read back with `open_codes`."""
    w = _CodesWriter(Path(path), n_bits)
    try:
        w.write(codes)
        w.finish()
    except BaseException:
        w.abort()
        raise
    return Path(path)


def _chunk(inputs, start: int, stop: int):
    """Items start..stop of ``inputs``; an `ImageView` stays lazy (its slices would load every image)."""
    if hasattr(inputs, "subset") and hasattr(inputs, "take"):  # zshbench.trainset.ImageView
        return inputs.subset(np.arange(start, stop))
    return inputs[start:stop]


def encode_to_memmap(
    hasher,
    inputs,
    path: str | os.PathLike,
    *,
    chunk: int = DEFAULT_CHUNK,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Encode ``inputs`` in chunks straight to a codes file and return it memory-mapped, read-only.

    Memory stays bounded by one chunk: each chunk of ``inputs`` (``inputs[s:e]`` of a numpy array or memmap of
    features or a torch tensor; a lazy ``subset`` of an `ImageView`, which loads one encoder batch of images at a
    time) is validated and encoded by
    ``hasher.encode``, and its packed codes are appended to a temp file, which is finalised (header with
    n_items, n_bits and CRC-32s; fsync) and renamed to ``path`` at the end. The codes equal
    ``hasher.encode(inputs)`` byte for byte (encoding does not depend on the batch size).

    Args:
        hasher: a fitted `zshbench.hasher.Hasher`.
        inputs: anything ``hasher.encode`` accepts that supports ``len`` and slicing.
        path: the codes file to write (its directory is created).
        chunk: items per chunk (each is encoded with ``hasher.encode``, which batches further).
        batch_size: passed to ``hasher.encode``.
        progress: optional callable ``progress(n_done)`` called after each encoder batch.

    Returns:
        read-only ``np.memmap`` of uint8, shape (len(inputs), ceil(n_bits / 8)); see `open_codes`.

    Raises:
        UserError: ``chunk`` not a positive integer, or invalid inputs (from ``hasher.encode``).

    Example:
        >>> codes = encode_to_memmap(hasher, db_features, "cache/db-codes.zsc", chunk=100_000)
        >>> evaluate(query_codes, codes, q_labels, db_labels, n_bits=hasher.n_bits)
    """
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk <= 0:
        raise UserError(f"chunk must be a positive number of items, got {chunk!r}.")
    hasher._check_fitted()
    n = len(inputs)
    w = _CodesWriter(Path(path), hasher.n_bits)
    try:
        for s in range(0, n, int(chunk)):
            w.write(hasher.encode(_chunk(inputs, s, min(n, s + int(chunk))), batch_size=batch_size, progress=progress))
        if w.n != n:  # pragma: no cover - a slicing bug in an input type
            raise RuntimeError(f"encoded {w.n} codes for {n} inputs")
        w.finish()
    except BaseException:
        w.abort()
        raise
    return open_codes(path, n_bits=hasher.n_bits)


def memmap_threshold(value: int | None = None) -> int:
    """The database size (items) from which the runner encodes to a memory-mapped file.

    ``value`` when given, else ``$ZSHBENCH_MEMMAP_THRESHOLD``, else `DEFAULT_MEMMAP_THRESHOLD`; 0 means always.

    Raises:
        UserError: a negative or non-integer value.
    """
    src = "memmap threshold"
    if value is None:
        env = os.environ.get(MEMMAP_THRESHOLD_ENV)
        if env is None or not env.strip():
            return DEFAULT_MEMMAP_THRESHOLD
        src, value = f"${MEMMAP_THRESHOLD_ENV}", env.strip()
    try:
        v = int(value)
    except (TypeError, ValueError):
        v = -1
    if v < 0 or isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise UserError(
            f"The {src} must be a non-negative number of database items (0 = always encode the "
            f"database to a memory-mapped file), got {value!r}. Example: --memmap-threshold 1000000."
        )
    return v


def codes_dir() -> Path:
    """Directory of the runner's temporary codes files: ``$ZSHBENCH_CODES_DIR``, else ``<cache_dir>/codes``.

    It should be on a real disk (not a tmpfs such as /tmp on some systems, which lives in RAM).

    Raises:
        UserError: the folder is a file, lies under a file, or is not writable (naming the variable).
    """
    from zshbench.cache import cache_dir, env_dir

    return env_dir(
        "ZSHBENCH_CODES_DIR",
        lambda: cache_dir() / "codes",
        "the codes/ folder of the cache folder",
        "the folder of temporary memory-mapped codes files",
    )


def encode_database(
    hasher,
    inputs,
    *,
    threshold: int | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """The runner's database encoding: in RAM below the threshold, else through a memory-mapped codes file.

    The codes file lives in `codes_dir` only while it is mapped: on POSIX systems it is unlinked right after
    it is opened (the mapping keeps the data readable and the disk space is freed when the array is released;
    a run killed while it encodes leaves two files in `codes_dir`: the empty placeholder ``db-*.zsc`` and the
    partly written ``.db-*.zsc.*.tmp``; no record refers to them and they are safe to delete when no run is
    encoding). Elsewhere it is removed when the array is garbage-collected.
    """
    if len(inputs) < memmap_threshold(threshold):
        return hasher.encode(inputs, progress=progress)
    fd, name = tempfile.mkstemp(prefix="db-", suffix=".zsc", dir=codes_dir())
    os.close(fd)
    try:
        codes = encode_to_memmap(hasher, inputs, name, chunk=chunk, progress=progress)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    try:
        os.unlink(name)
    except OSError:  # pragma: no cover - Windows: a mapped file cannot be deleted
        weakref.finalize(codes, lambda p=name: Path(p).unlink(missing_ok=True))
    return codes
