"""``shapes``: a procedurally generated compositional-attribute dataset (built in, no download).

32 x 32 RGB images of one object on a noisy background. The attributes are four groups of values:

* shape (5): circle, square, triangle, diamond, cross
* colour (6): red, green, blue, yellow, magenta, cyan
* fill (4): solid, horizontal stripes, vertical stripes, dots
* size (2): small, large

A class is one combination of the four values; 50 of the 240 combinations are drawn once with a fixed seed
(``CLASS_SEED``) and 200 images are rendered per class, each with jitter of position, rotation (+-20 degrees),
scale (+-12%) and colour (+-25 per channel) on a random dark noisy background. The class-level attribute
vector is the multi-hot indicator of its four values (17 binary attributes); the continuous variant
(``attributes="continuous"``) is the class mean of per-image attribute strengths (colour similarity of the
jittered colour to each palette colour, relative size), in [0, 1].

The attributes live on the object (spatially local), so part-level methods have something to align to. The
protocol ``shapes-zsh`` holds out 10 classes whose combinations never occur in training while each of their
attribute values occurs in some seen class (checked in `unseen_split`).

Generation is deterministic (numpy ``default_rng``), takes a few seconds, and is cached in the zshbench cache
directory (``$ZSHBENCH_CACHE`` or ``~/.cache/zshbench``).
"""

from __future__ import annotations

import itertools

import numpy as np

from zshbench.cache import cache_dir
from zshbench.datasets.base import ArrayDataset
from zshbench.fileio import load_npz, save_npz_atomic
from zshbench.registry import register_dataset

SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 80, 230),
    "yellow": (230, 220, 40),
    "magenta": (220, 50, 220),
    "cyan": (40, 220, 220),
}
FILLS = ("solid", "hstripes", "vstripes", "dots")
SIZES = ("small", "large")
GROUPS = {"shape": SHAPES, "colour": tuple(COLOURS), "fill": FILLS, "size": SIZES}
ATTRIBUTE_NAMES = tuple(f"{g}:{v}" for g, vals in GROUPS.items() for v in vals)

VERSION = "1"
CLASS_SEED = 0
N_CLASSES, N_UNSEEN, PER_CLASS, SIZE = 50, 10, 200, 32
_RADIUS = {"small": 6.0, "large": 10.0}


def class_name(combo: tuple[str, str, str, str]) -> str:
    shape, colour, fill, size = combo
    return f"{size}_{colour}_{fill}_{shape}"


def choose_classes(seed: int = CLASS_SEED) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Draw the 50 class combinations and the 10 unseen ones, deterministically.

    Returns:
        (seen combos, unseen combos); every attribute value of an unseen combo occurs in some seen combo.
    """
    rng = np.random.default_rng(seed)
    combos = list(itertools.product(SHAPES, tuple(COLOURS), FILLS, SIZES))
    while True:
        pick = [combos[i] for i in sorted(rng.choice(len(combos), N_CLASSES, replace=False))]
        for _ in range(100):
            unseen_idx = set(rng.choice(N_CLASSES, N_UNSEEN, replace=False).tolist())
            seen = [c for i, c in enumerate(pick) if i not in unseen_idx]
            unseen = [c for i, c in enumerate(pick) if i in unseen_idx]
            covered = all({c[g] for c in seen} == set(vals) for g, vals in enumerate(GROUPS.values()))
            if covered:
                return seen, unseen


def _render(
    combos: list[tuple[str, ...]], labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Render one image per label; returns uint8 images (n, 32, 32, 3) and per-image attribute strengths."""
    n = len(labels)
    shape_i = np.array([SHAPES.index(combos[c][0]) for c in labels])
    colour_rgb = np.array([COLOURS[combos[c][1]] for c in labels], dtype=np.float64)
    fill_i = np.array([FILLS.index(combos[c][2]) for c in labels])
    radius = np.array([_RADIUS[combos[c][3]] for c in labels])

    scale = radius * rng.uniform(0.88, 1.12, n)
    theta = np.deg2rad(rng.uniform(-20, 20, n))
    margin = scale + 1.0
    cx = rng.uniform(margin, SIZE - 1 - margin)
    cy = rng.uniform(margin, SIZE - 1 - margin)
    rgb = np.clip(colour_rgb + rng.uniform(-25, 25, (n, 3)), 0, 255)
    phase = rng.uniform(0, 4, (n, 2))
    bg_level = rng.uniform(20, 90, (n, 1, 1, 1))
    bg_tint = rng.uniform(-10, 10, (n, 1, 1, 3))
    noise = rng.normal(0, 14, (n, SIZE, SIZE, 3))

    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    dx = xx[None] - cx[:, None, None]
    dy = yy[None] - cy[:, None, None]
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    pu = dx * c + dy * s  # object coordinates in pixels
    pv = -dx * s + dy * c
    u = pu / scale[:, None, None]
    v = pv / scale[:, None, None]

    masks = np.stack(
        [
            u**2 + v**2 <= 1.0,
            np.maximum(np.abs(u), np.abs(v)) <= 0.82,
            (v <= 0.7) & (np.abs(u) <= (v + 0.95) * 0.58),
            np.abs(u) + np.abs(v) <= 1.05,
            ((np.abs(u) <= 0.34) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.34) & (np.abs(u) <= 1.0)),
        ]
    )
    mask = masks[shape_i, np.arange(n)]
    pa = pu + phase[:, 0, None, None]
    pb = pv + phase[:, 1, None, None]
    patterns = np.stack(
        [
            np.ones_like(u, dtype=bool),
            np.floor(pb / 2.0) % 2 == 0,
            np.floor(pa / 2.0) % 2 == 0,
            ((pa % 4.0) - 2.0) ** 2 + ((pb % 4.0) - 2.0) ** 2 <= 1.8**2,
        ]
    )
    on = patterns[fill_i, np.arange(n)]

    img = bg_level + bg_tint + noise
    obj = np.where(on[..., None], rgb[:, None, None, :], 0.22 * rgb[:, None, None, :])
    img = np.where(mask[..., None], obj + 0.5 * noise, img)
    images = np.clip(np.rint(img), 0, 255).astype(np.uint8)

    # per-image attribute strengths for the continuous variant
    palette = np.array(list(COLOURS.values()), dtype=np.float64)
    d2 = ((rgb[:, None, :] - palette[None]) ** 2).sum(-1)
    colour_strength = np.exp(-d2 / (2 * 60.0**2))
    large = np.clip((scale - _RADIUS["small"]) / (_RADIUS["large"] - _RADIUS["small"]), 0, 1)
    strengths = np.concatenate(
        [
            np.eye(len(SHAPES))[shape_i],
            colour_strength,
            np.eye(len(FILLS))[fill_i],
            np.stack([1 - large, large], 1),
        ],
        axis=1,
    )
    return images, strengths


def generate(seed: int = CLASS_SEED) -> dict[str, np.ndarray]:
    """Generate the whole dataset (no cache): images, labels, binary and continuous attribute matrices."""
    seen, unseen = choose_classes(seed)
    combos = sorted(seen + unseen, key=class_name)
    labels = np.repeat(np.arange(len(combos)), PER_CLASS)
    rng = np.random.default_rng(seed + 1)
    chunks, strengths = [], []
    for start in range(0, len(labels), 2000):
        im, st = _render(combos, labels[start : start + 2000], rng)
        chunks.append(im)
        strengths.append(st)
    strength = np.concatenate(strengths)
    binary = np.array([[1.0 if v in combo else 0.0 for v in _attr_values()] for combo in combos], np.float32)
    continuous = np.stack([strength[labels == k].mean(0) for k in range(len(combos))]).astype(np.float32)
    return {
        "images": np.concatenate(chunks),
        "labels": labels,
        "class_names": np.array([class_name(c) for c in combos]),
        "binary": binary,
        "continuous": continuous,
    }


def _attr_values() -> list[str]:
    return [v for vals in GROUPS.values() for v in vals]


def load_arrays() -> dict[str, np.ndarray]:
    """The generated arrays, from the cache when a valid entry exists (regenerated otherwise)."""
    path = cache_dir() / f"shapes-v{VERSION}-seed{CLASS_SEED}.npz"
    arrays = load_npz(path)
    expected_n = N_CLASSES * PER_CLASS
    if (
        arrays is None
        or set(arrays) != {"images", "labels", "class_names", "binary", "continuous"}
        or arrays["images"].shape != (expected_n, SIZE, SIZE, 3)
        or arrays["labels"].shape != (expected_n,)
    ):
        arrays = generate()
        save_npz_atomic(path, **arrays)
    return arrays


@register_dataset("shapes")
def shapes(data_root=None, attributes: str = "binary") -> ArrayDataset:
    """Procedural shapes, 10,000 32x32 images of 50 classes, 17 compositional attributes (built in, generated).

    Args:
        data_root: ignored (the dataset is generated).
        attributes: "binary" (multi-hot, the default) or "continuous".
    """
    if attributes not in ("binary", "continuous"):
        from zshbench.errors import UserError

        raise UserError(f"shapes: attributes must be 'binary' or 'continuous', got {attributes!r}.")
    a = load_arrays()
    return ArrayDataset(
        "shapes",
        a["labels"],
        [str(c) for c in a["class_names"]],
        a[attributes],
        ATTRIBUTE_NAMES,
        images=a["images"],
        default_protocol="shapes-zsh",
        version=VERSION,
        attribute_source=f"generated multi-hot attributes ({attributes})",
    )
