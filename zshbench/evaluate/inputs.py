"""Validation and normalisation of the evaluator's inputs.

Codes become little arrays of ``uint64`` words (one row per item, padding bits 0), labels become *groups*:
every database item gets the id of its distinct label (single-label) or distinct label set (multi-label),
and a query's relevance to each group is computed on demand, block by block (`Labels.relevance`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from zshbench.errors import UnknownNameError, UserError

__all__ = ["Codes", "Labels", "prepare_codes", "prepare_pair", "prepare_labels", "check_k", "check_choice"]


def _to_numpy(x, what: str) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor on any device
        t = x.detach().cpu()
        try:
            x = t.numpy()
        except (TypeError, RuntimeError):  # dtypes numpy lacks (bfloat16, float8): +-1 and 0/1 are exact in float32
            x = t.float().numpy()
    try:
        return np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise UserError(f"Could not convert {what} to an array ({exc}); pass a numpy array or torch tensor.") from exc


@dataclass
class Codes:
    """Codes of one set as packed words.

    Attributes:
        words: ``uint64`` array (n, n_words), bit order irrelevant (only XOR/popcount is used), padding bits 0.
        packed: ``uint8`` array (n, ceil(n_bits / 8)) in the `zshbench.codes` convention.
        n_bits: number of bits per code.
    """

    words: np.ndarray
    packed: np.ndarray
    n_bits: int


def _pack(bits: np.ndarray) -> np.ndarray:
    return np.packbits(bits, axis=1, bitorder="big")


def _unpacked_to_bits(arr: np.ndarray, what: str) -> np.ndarray:
    """{-1,+1}, {0,1} or bool array -> bool bits, raising UserError when values are not binary."""
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise UserError(
            f"{what} has dtype {arr.dtype}; codes must be bool, integers in {{-1, +1}} or {{0, 1}}, "
            "or packed uint8 from zshbench.codes.pack_signs."
        )
    vals = np.unique(arr)
    if vals.size > 3 or not (set(vals.tolist()) <= {-1, 1} or set(vals.tolist()) <= {0, 1}):
        shown = ", ".join(repr(v) for v in vals[:6].tolist()) + (", ..." if vals.size > 6 else "")
        raise UserError(
            f"{what} (shape {arr.shape}, dtype {arr.dtype}) is not binary: it contains the values "
            f"{{{shown}}}. Pass codes in {{-1, +1}} or {{0, 1}} (e.g. np.sign of real outputs with "
            "sign(0) = +1), bool arrays, or packed uint8 from zshbench.codes.pack_signs."
        )
    return arr > 0


def prepare_codes(x, n_bits: int | None, what: str) -> Codes:
    """Normalise one code array.

    Args:
        x: numpy array or torch tensor; packed ``uint8`` (n, n_bytes), or unpacked (n, n_bits) in {-1,+1},
            {0,1} or bool.
        n_bits: number of bits; ``None`` infers it (packed ``uint8``: 8 * n_bytes).
        what: name used in error messages.

    Returns:
        The `Codes`.

    Raises:
        UserError: on a wrong rank, an empty set, non-binary values, or an ``n_bits`` that does not fit.
    """
    arr = _to_numpy(x, what)
    if arr.ndim != 2:
        raise UserError(
            f"{what} must be 2-D, (n_items, n_bits) unpacked or (n_items, n_bytes) packed uint8; "
            f"got shape {arr.shape}. Reshape it, e.g. codes.reshape(len(codes), -1)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise UserError(
            f"{what} is empty (shape {arr.shape}); the evaluator needs at least one item with "
            "at least one bit. Check the split that produced it."
        )
    if n_bits is not None and (not isinstance(n_bits, (int, np.integer)) or n_bits <= 0):
        raise UserError(f"n_bits must be a positive integer, got {n_bits!r}.")
    packed_input = arr.dtype == np.uint8
    if packed_input and n_bits is not None and arr.shape[1] == n_bits:
        # (n, n_bits) uint8 is unpacked {0,1}, except one bit where {0,128} means packed
        packed_input = n_bits == 1 and bool(arr.max() > 1)
    if packed_input:
        nb = 8 * arr.shape[1] if n_bits is None else int(n_bits)
        if (nb + 7) // 8 != arr.shape[1]:
            raise UserError(
                f"{what} is packed uint8 with {arr.shape[1]} bytes per code (shape {arr.shape}), "
                f"which cannot hold n_bits={n_bits} (needs {(nb + 7) // 8} bytes). Pass the n_bits "
                "the codes were made with, or unpacked codes of shape (n, n_bits)."
            )
        packed = np.ascontiguousarray(arr)
        if nb % 8:
            pad_mask = np.uint8((1 << (8 - nb % 8)) - 1)
            if np.any(packed[:, -1] & pad_mask):
                raise UserError(
                    f"{what} is packed uint8 (shape {arr.shape}) but the {8 - nb % 8} padding bits "
                    f"after n_bits={nb} are not all 0, so the codes hold more than {nb} bits. Pass "
                    "the right n_bits (codes from zshbench.codes.pack_signs have zero padding)."
                )
    else:
        if n_bits is not None and arr.shape[1] != n_bits:
            raise UserError(
                f"{what} has shape {arr.shape} (unpacked, dtype {arr.dtype}) but n_bits={n_bits}. "
                "Pass n_bits equal to the number of columns, or packed uint8 codes."
            )
        nb = arr.shape[1]
        packed = _pack(_unpacked_to_bits(arr, what))
    n_words = (packed.shape[1] + 7) // 8
    buf = np.zeros((packed.shape[0], n_words * 8), dtype=np.uint8)
    buf[:, : packed.shape[1]] = packed
    return Codes(words=buf.view(np.uint64), packed=packed, n_bits=nb)


def _check_unambiguous(query: np.ndarray, db: np.ndarray) -> None:
    """Refuse uint8 codes holding only 0 and 1 when ``n_bits`` is not given: such arrays can be unpacked 0/1
    codes (one bit per column) or packed codes whose every byte happens to be 0 or 1 (e.g. all-zero codes),
    and the two readings give different code lengths."""
    if not all(a.dtype == np.uint8 and a.ndim == 2 and a.size for a in (query, db)):
        return
    if int(query.max()) <= 1 and int(db.max()) <= 1:
        cols = query.shape[1]
        raise UserError(
            f"query_codes and db_codes are uint8 arrays holding only 0 and 1 (shapes {query.shape} and "
            f"{db.shape}), so they can be unpacked 0/1 codes of {cols} bits or packed codes of "
            f"{8 * cols} bits whose bytes happen to be 0 or 1. Pass n_bits (zshbench evaluate: "
            f"--n-bits): {cols} if each column is one bit, or the packed length (up to {8 * cols}) if "
            "they come from np.packbits / zshbench.codes.pack_signs."
        )


def prepare_pair(query, db, n_bits: int | None) -> tuple[Codes, Codes]:
    """Normalise query and database codes and check they have the same length.

    Raises:
        UserError: as `prepare_codes`, on different code lengths, and on uint8 codes holding only 0 and 1
            without ``n_bits`` (unpacked or packed cannot be told apart).
    """
    query, db = _to_numpy(query, "query_codes"), _to_numpy(db, "db_codes")
    if n_bits is None:
        _check_unambiguous(query, db)
    q = prepare_codes(query, n_bits, "query_codes")
    d = prepare_codes(db, n_bits, "db_codes")
    if q.n_bits != d.n_bits:
        raise UserError(
            f"query_codes (shape {tuple(np.shape(query))}, {q.n_bits} bits) and db_codes (shape "
            f"{tuple(np.shape(db))}, {d.n_bits} bits) have different code lengths. Encode both with "
            "the same hasher and number of bits."
        )
    return q, d


@dataclass
class Labels:
    """Database labels as groups, and the query labels to compare with.

    Attributes:
        db_group: ``int32`` (n_db,), group id of each database item.
        group_size: ``int64`` (n_groups,), items per group.
        multi: whether labels are multi-label matrices.
        group_keys: single-label: (n_groups,) label values; multi-label: (n_groups, n_words) uint64 masks.
        query_keys: single-label: (n_query,) labels; multi-label: (n_query, n_words) uint64 masks.
    """

    db_group: np.ndarray
    group_size: np.ndarray
    multi: bool
    group_keys: np.ndarray
    query_keys: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.group_size.size)

    def relevance(self, start: int, stop: int) -> np.ndarray:
        """``uint8`` (stop - start, n_groups): 1 where query i shares at least one label with the group."""
        qk = self.query_keys[start:stop]
        if not self.multi:
            return (qk[:, None] == self.group_keys[None, :]).astype(np.uint8)
        out = np.zeros((qk.shape[0], self.n_groups), dtype=bool)
        for w in range(qk.shape[1]):
            out |= (qk[:, None, w] & self.group_keys[None, :, w]) != 0
        return out.view(np.uint8)


def _label_array(x, n: int, what: str, codes_what: str) -> np.ndarray:
    arr = _to_numpy(x, what)
    if arr.ndim not in (1, 2):
        raise UserError(
            f"{what} must be 1-D (one integer class per item) or 2-D (n_items, n_classes) 0/1 "
            f"multi-label; got shape {arr.shape}."
        )
    if arr.shape[0] != n:
        raise UserError(
            f"{what} has {arr.shape[0]} rows (shape {arr.shape}) but {codes_what} has {n} codes; "
            "labels and codes must describe the same items in the same order."
        )
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise UserError(
                f"{what} (dtype {arr.dtype}) holds non-integer values; labels must be integer "
                "class ids (1-D) or a 0/1 matrix (2-D)."
            )
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise UserError(f"{what} has dtype {arr.dtype}; labels must be integer class ids or a 0/1 matrix.")
    if arr.ndim == 2 and arr.size and (arr.min() < 0 or arr.max() > 1):
        raise UserError(
            f"{what} is 2-D (shape {arr.shape}) so it is read as a multi-label 0/1 matrix, but it "
            f"holds values in [{arr.min()}, {arr.max()}]. Pass 1-D class ids or a 0/1 matrix."
        )
    return arr


def _masks(mat: np.ndarray) -> np.ndarray:
    bits = np.packbits(mat.astype(bool), axis=1)
    n_words = (bits.shape[1] + 7) // 8
    buf = np.zeros((bits.shape[0], n_words * 8), dtype=np.uint8)
    buf[:, : bits.shape[1]] = bits
    return buf.view(np.uint64)


def prepare_labels(query_labels, db_labels, n_query: int, n_db: int) -> Labels:
    """Validate labels and group the database by distinct label (set).

    Raises:
        UserError: wrong length, rank or values, or a mix of single- and multi-label arrays.
    """
    ql = _label_array(query_labels, n_query, "query_labels", "query_codes")
    dl = _label_array(db_labels, n_db, "db_labels", "db_codes")
    if ql.ndim != dl.ndim:
        raise UserError(
            f"query_labels has shape {ql.shape} but db_labels has shape {dl.shape}: both must be "
            "1-D class ids or both 2-D multi-label matrices."
        )
    if ql.ndim == 1:
        keys, inv, counts = np.unique(dl, return_inverse=True, return_counts=True)
        return Labels(inv.astype(np.int32).ravel(), counts.astype(np.int64), False, keys, ql)
    if ql.shape[1] != dl.shape[1]:
        raise UserError(
            f"query_labels has {ql.shape[1]} classes (shape {ql.shape}) but db_labels has "
            f"{dl.shape[1]} (shape {dl.shape}); multi-label matrices must share their columns."
        )
    dm = _masks(dl)
    keys, inv, counts = np.unique(dm, axis=0, return_inverse=True, return_counts=True)
    return Labels(inv.astype(np.int32).ravel(), counts.astype(np.int64), True, keys, _masks(ql))


def check_k(k) -> int:
    """Validate the map@k cut-off."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise UserError(
            f"k must be a positive integer (the map@k cut-off; k larger than the database means the "
            f"whole database), got {k!r}."
        )
    return int(k)


def check_choice(value, choices, what: str) -> str:
    """Validate a string option, with a did-you-mean suggestion."""
    if value in choices:
        return value
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownNameError(f"Unknown {what} {value!r}; choose one of {', '.join(map(repr, choices))}.{hint}")
