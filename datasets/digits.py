"""``digits``: scikit-learn's bundled handwritten digits (1,797 real 8 x 8 grey images, 10 classes).

No attribute annotations exist, so it runs in labels-as-attributes mode (one-hot class vectors), as RAZH-T
does on CIFAR-10. Images are scaled from 0..16 to 0..255 (uint8, one channel).
"""

from __future__ import annotations

import numpy as np

from zshbench.datasets.base import ArrayDataset
from zshbench.registry import register_dataset

CLASS_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@register_dataset("digits")
def digits(data_root=None) -> ArrayDataset:
    """scikit-learn's digits, 1,797 8x8 grey images of 10 classes; labels as attributes (built in, no download)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return ArrayDataset(
        "digits",
        d.target.astype(np.int64),
        CLASS_NAMES,
        None,
        None,
        images=images,
        default_protocol="digits-zsh",
        version="1",
    )
