"""Torch path (any device; used for CUDA, and tested on CPU through the same code).

Distances come from a +-1 matrix product, ``d = (K - q . x) / 2``; in float16 on CUDA (every partial sum is an
integer of magnitude <= K, so exact up to K = 2048 bits) and float32 otherwise. Ranking uses the unique integer
key ``d * N + index``, so sorting (or ``topk``) reproduces the stable order exactly; histograms use
``bincount``. Results are returned as numpy `BlockStats`, like the CPU kernels.
"""

from __future__ import annotations

import numpy as np
import torch

from .kernels import BlockStats

__all__ = ["TorchRunner", "TORCH_BYTES_PER_PAIR"]

TORCH_BYTES_PER_PAIR = 80


def _unpack_pm1(packed: torch.Tensor, n_bits: int, dtype: torch.dtype) -> torch.Tensor:
    shifts = torch.arange(7, -1, -1, device=packed.device, dtype=torch.int16)
    bits = (packed.to(torch.int16)[:, :, None] >> shifts) & 1
    bits = bits.reshape(packed.shape[0], -1)[:, :n_bits]
    return (bits * 2 - 1).to(dtype)


class TorchRunner:
    """Holds the database on the device and computes `BlockStats` for blocks of queries.

    Args:
        q_packed: ``uint8`` (n_query, n_bytes) packed query codes.
        db_packed: ``uint8`` (n_db, n_bytes) packed database codes.
        db_group: ``int32`` (n_db,) group ids.
        n_bits: code length.
        device: torch device.
        memory_budget: bytes; the database +-1 matrix is kept on the device only if it takes under a quarter.
    """

    def __init__(self, q_packed, db_packed, db_group, n_bits: int, device: torch.device, memory_budget: int):
        self.device = device
        self.n_bits = n_bits
        self.dtype = torch.float16 if (device.type == "cuda" and n_bits <= 2048) else torch.float32
        self.q_packed = torch.from_numpy(np.ascontiguousarray(q_packed))
        self.db_packed = torch.from_numpy(np.ascontiguousarray(db_packed)).to(device)
        self.db_group = torch.from_numpy(db_group.astype(np.int64)).to(device)
        self.n_db = db_packed.shape[0]
        elt = torch.finfo(self.dtype).bits // 8
        self.db_chunk = max(1, min(self.n_db, (memory_budget // 4) // max(1, n_bits * elt)))
        self.db_pm1 = _unpack_pm1(self.db_packed, n_bits, self.dtype) if self.db_chunk >= self.n_db else None
        self.index = torch.arange(self.n_db, device=device, dtype=torch.int64)

    def distances(self, start: int, stop: int) -> torch.Tensor:
        """int64 Hamming distances (B, N) of queries ``start:stop``."""
        q = _unpack_pm1(self.q_packed[start:stop].to(self.device), self.n_bits, self.dtype)
        if self.db_pm1 is not None:
            dots = q @ self.db_pm1.T
        else:
            dots = torch.cat(
                [
                    q @ _unpack_pm1(self.db_packed[c : c + self.db_chunk], self.n_bits, self.dtype).T
                    for c in range(0, self.n_db, self.db_chunk)
                ],
                dim=1,
            )
        return ((self.n_bits - dots.float().round()) / 2).round().to(torch.int64)

    def block(self, start: int, stop: int, qrel: np.ndarray, k: int, need_ap: bool, need_all: bool) -> BlockStats:
        """Statistics of queries ``start:stop``; ``qrel`` is their (B, n_groups) uint8 relevance to the groups."""
        nd = self.n_bits + 1
        nq = stop - start
        dist = self.distances(start, stop)
        rel = torch.from_numpy(qrel).to(self.device).gather(1, self.db_group[None, :].expand(nq, -1))
        rows = torch.arange(nq, device=self.device)[:, None]
        key = (rows * nd + dist) * 2 + rel
        h = torch.bincount(key.reshape(-1), minlength=nq * nd * 2).reshape(nq, nd, 2)
        del key
        hist_all, hist_rel = h.sum(dim=2), h[:, :, 1]
        if not need_ap:
            return BlockStats(hist_all.cpu().numpy(), hist_rel.cpu().numpy())
        key = dist * self.n_db + self.index[None, :]  # unique: stable order by (distance, index)
        del dist
        kk = min(k, self.n_db)
        if need_all:
            order = torch.sort(key, dim=1).indices
        else:
            order = torch.topk(key, kk, dim=1, largest=False, sorted=True).indices
        del key
        rs = rel.gather(1, order).to(torch.float64)
        del order
        cum = torch.cumsum(rs, dim=1)
        pos = torch.arange(1, rs.shape[1] + 1, device=self.device, dtype=torch.float64)
        prec = cum / pos * rs
        sum_k, nrel_k = prec[:, :kk].sum(dim=1), cum[:, kk - 1]
        total = hist_rel.sum(dim=1).to(torch.float64)
        ap_k = torch.where(nrel_k > 0, sum_k / nrel_k.clamp(min=1), torch.zeros_like(sum_k))
        ap_all = None
        if need_all:
            sum_all = prec.sum(dim=1)
            ap_all = torch.where(total > 0, sum_all / total.clamp(min=1), torch.zeros_like(sum_all)).cpu().numpy()
        return BlockStats(hist_all.cpu().numpy(), hist_rel.cpu().numpy(), ap_k.cpu().numpy(), ap_all)
