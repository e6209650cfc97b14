"""Binary code conventions shared by every method and the evaluator.

A code of ``n_bits`` bits is stored packed, ``uint8`` of shape ``(n, ceil(n_bits / 8))``, most significant bit
first (``np.packbits(..., bitorder="big")``); padding bits of the last byte are 0. Bit j is 1 where the real
value h_j >= 0 (``sign`` with sign(0) = +1, so a code is a deterministic function of h).
"""

from __future__ import annotations

import numpy as np

__all__ = ["n_bytes", "pack_signs", "unpack_codes", "to_pm1"]


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
