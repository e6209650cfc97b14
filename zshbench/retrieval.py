"""Retrieval examples for a paper figure: `pick_queries`, `top_k` (Hamming ranking) and `montage_png`.

A montage has one row per query: the query image, then its ``top`` nearest database items by Hamming distance
(ties in database order), each framed green when it has the query's class and red when not, with the class
name and distance under it. The PNG carries no date or version in its metadata, so the same codes give the
same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pick_queries", "hamming_to", "top_k", "montage_png", "RELEVANT", "IRRELEVANT"]

RELEVANT, IRRELEVANT, QUERY = "#1a9850", "#d73027", "#222222"


def pick_queries(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` query positions drawn with ``seed``, covering as many classes as possible (one per class first)."""
    order = np.random.default_rng(seed).permutation(len(labels))
    first, rest, seen = [], [], set()
    for i in order:
        (rest if int(labels[i]) in seen else first).append(int(i))
        seen.add(int(labels[i]))
    return np.asarray((first + rest)[:n], dtype=np.int64)


def hamming_to(query: np.ndarray, database: np.ndarray) -> np.ndarray:
    """Hamming distances (int64, (n,)) from one packed code to every packed code of ``database``."""
    x = np.bitwise_xor(np.asarray(database, dtype=np.uint8), np.asarray(query, dtype=np.uint8)[None, :])
    return np.unpackbits(x, axis=1).sum(axis=1, dtype=np.int64)


def top_k(query: np.ndarray, database: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, distances) of the ``k`` database codes nearest to ``query``; ties keep database order."""
    d = hamming_to(query, database)
    pos = np.argsort(d, kind="stable")[:k]
    return pos, d[pos]


def _name(text: str, width: int = 16) -> str:
    """A class name wrapped to fit under a cell (underscores read as spaces, at most two lines)."""
    import textwrap

    lines = textwrap.wrap(str(text).replace("_", " "), width) or [""]
    return "\n".join(lines[:2]) + ("..." if len(lines) > 2 else "")


def _show(ax, image: np.ndarray, color: str, label: str, width: float) -> None:
    img = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(color)
        spine.set_linewidth(width)
    ax.set_xlabel(label, fontsize=5.5, linespacing=1.0, color=color, labelpad=2)


def montage_png(
    query_images: np.ndarray,
    query_labels: Sequence[int],
    results: Sequence[tuple[np.ndarray, Sequence[int], Sequence[int]]],
    class_names: Sequence[str],
    *,
    title: str = "",
    row_notes: Sequence[str] | None = None,
    cell: float = 1.0,
    dpi: int = 100,
) -> bytes:
    """The PNG bytes of a retrieval montage.

    Args:
        query_images: uint8 (n, H, W, C) images of the queries.
        query_labels: their class indices.
        results: per query, (uint8 images (k, H, W, C), class indices, Hamming distances) of its top-k items.
        class_names: class index -> name.
        title: figure title.
        row_notes: per query, a short note under its image (e.g. its dataset index and average precision).
        cell: inches per image; ``dpi``: pixels per inch (a cell is ``cell * dpi`` pixels).
    """
    import matplotlib.style
    from matplotlib.figure import Figure

    n = len(query_images)
    k = max((len(r[1]) for r in results), default=0)
    head = 0.35 if title else 0.0
    fig = Figure(figsize=(cell * (k + 1), cell * 1.5 * n + head + 0.3), dpi=dpi)
    with matplotlib.style.context("default"):
        h = fig.get_figheight()
        grid = fig.add_gridspec(n, k + 1, left=0.01, right=0.99, bottom=0.45 / h, top=1 - head / h, hspace=0.5)
        for row in range(n):
            q = int(query_labels[row])
            ax = fig.add_subplot(grid[row, 0])
            note = f"\n{row_notes[row]}" if row_notes else ""
            _show(ax, query_images[row], QUERY, f"query{note}\n{_name(class_names[q])}", 2.5)
            images, labels, dists = results[row]
            for col in range(len(labels)):
                rel = int(labels[col]) == q
                ax = fig.add_subplot(grid[row, col + 1])
                _show(
                    ax,
                    images[col],
                    RELEVANT if rel else IRRELEVANT,
                    f"{_name(class_names[int(labels[col])])}\nd = {int(dists[col])}",
                    3.0,
                )
        if title:
            fig.suptitle(title, fontsize=8)
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
