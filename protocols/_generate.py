"""Maintainers' tool: (re)write the real-dataset protocol files from the published metadata.

    python protocols/_generate.py [SHARED_DATA]      # default: ../shared/data next to the repository

SHARED_DATA holds the published metadata files listed in its SOURCES.md (xlsa17 split lists, AwA2 classes.txt /
testclasses.txt, CUB classes.txt, CIFAR-10 class names). The written ``protocols/*.toml`` files are the
committed truth; this script only documents how they were made. After a change, bump the protocol's
``version`` and pin it (``zshbench.protocols.pin_protocol(name)``): existing pins never change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
UNSEEN_DRAW_SEED = 20240605  # the one draw of the unseen-ratio family (never re-drawn)


def lines(path: Path) -> list[str]:
    return [s.strip() for s in path.read_text().splitlines() if s.strip()]


def id_names(path: Path) -> list[str]:
    return [s.split(maxsplit=1)[1].strip() for s in lines(path)]


def toml(name: str, dataset: str, provenance: str, seen: list[str], unseen: list[str], train: int, query: int,
         version: str = "1", seed: int = 0) -> str:
    q = json.dumps
    out = [f"name = {q(name)}", f"version = {q(version)}", f"dataset = {q(dataset)}", f"seed = {seed}",
           f'provenance = """\n{_wrap(provenance)}\n"""']
    for key, names in (("seen", seen), ("unseen", unseen)):
        out.append(f"{key} = [")
        out += [f"    {q(n)}," for n in names]
        out.append("]")
    out += ["", "[counts]", f"train_per_class = {train}", f"query_per_class = {query}", 'database = "rest"', ""]
    return "\n".join(out)


def _wrap(text: str, width: int = 110) -> str:
    words, out, cur = " ".join(text.split()).split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    out.append(cur)
    return "\n".join(out)


def in_order(names: list[str], order: list[str]) -> list[str]:
    """``names`` in the order of ``order`` (the dataset's class order), checking they all occur there."""
    missing = sorted(set(names) - set(order))
    if missing:
        raise SystemExit(f"names not in the class list: {missing}")
    s = set(names)
    return [n for n in order if n in s]


XLSA17 = ("the proposed split (PS) of Xian, Lampert, Schiele and Akata, 'Zero-Shot Learning - A Comprehensive "
          "Evaluation of the Good, the Bad and the Ugly' (TPAMI 2018; xlsa17 release, trainvalclasses.txt = seen, "
          "testclasses.txt = unseen), which keeps the unseen classes out of the ImageNet-1k classes that "
          "pretrained backbones were trained on")
RESOLVE = ("Items are assigned by zshbench's resolver (per-class permutation seeded by sha256(seed, class name), "
           "seed 0); the same file applies to the -res101 feature dataset, whose classes and per-class item "
           "order match the image dataset's, so image- and feature-based methods meet on identical splits.")


def build(shared: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    # CIFAR-10 ------------------------------------------------------------------------------------------------
    cifar = lines(shared / "cifar10/classes.txt")
    unseen = ["cat", "truck"]
    out["cifar10-zsh"] = toml(
        "cifar10-zsh", "cifar10",
        "CIFAR-10 (Krizhevsky 2009), all 60,000 images of the python version (the official train/test partition "
        "plays no role). Unseen = {cat, truck}, the classic zero-shot hold-out of Socher, Ganjoo, Manning and Ng, "
        "'Zero-Shot Learning Through Cross-Modal Transfer' (NeurIPS 2013); the other 8 classes are seen. Counts "
        "follow the zero-shot hashing setting reported for RAZH: 500 training images per seen class (4,000), 100 "
        "queries per unseen class (200), database = the remaining 55,800 images of all 10 classes. CIFAR-10 has "
        "no attribute annotations: methods see one-hot class labels (labels-as-attributes mode). " + RESOLVE,
        [c for c in cifar if c not in unseen], in_order(unseen, cifar), 500, 100)
    # CUB ----------------------------------------------------------------------------------------------------
    cub = id_names(shared / "cub/classes.txt")
    cub_seen = in_order(lines(shared / "xlsa17/CUB/trainvalclasses.txt"), cub)
    cub_unseen = in_order(lines(shared / "xlsa17/CUB/testclasses.txt"), cub)
    out["cub-zsh"] = toml(
        "cub-zsh", "cub",
        f"CUB-200-2011 (11,788 images, 200 species), {XLSA17}: 150 seen / 50 unseen classes. Class names are the "
        "full CUB classes.txt names ('001.Black_footed_Albatross'), which xlsa17 spells identically but orders "
        "differently; matching is by name only. Counts: 30 training images per seen class (4,500), 30 queries "
        "per unseen class (1,500), database = the remaining 5,788 images (every CUB class has at least 41 "
        "images). " + RESOLVE,
        cub_seen, cub_unseen, 30, 30)
    # AwA2 ---------------------------------------------------------------------------------------------------
    awa = id_names(shared / "awa2/classes.txt")
    awa_seen = in_order(lines(shared / "xlsa17/AWA2/trainvalclasses.txt"), awa)
    awa_unseen = in_order(lines(shared / "xlsa17/AWA2/testclasses.txt"), awa)
    feas = ("Training or querying 100 images per class needs at least 100 images in every class; the smallest AwA2 "
            "classes are reported to hold about 100 images, which could not be re-checked when this file was "
            "written (the per-class image counts are not in the metadata it was generated from): if a class falls "
            "short, the resolver refuses and names it.")
    count_note = ("RAZH's description gives both '5,000 training images' and '100 per class', which cannot both "
                  "hold with 40 seen classes; 100 per class is the feasible reading (the smallest AwA2 classes "
                  "have about 100 images) and the one the published COMAE/PIXEL code uses.")
    out["awa2-zsh"] = toml(
        "awa2-zsh", "awa2",
        f"Animals with Attributes 2 (37,322 images, 50 classes), {XLSA17}: 40 seen / 10 unseen classes. Counts: "
        "100 training images per seen class (4,000), 100 queries per unseen class (1,000), database = the "
        f"remaining 32,322 images. {count_note} {feas} " + RESOLVE,
        awa_seen, awa_unseen, 100, 100)
    ss_unseen = in_order(lines(shared / "awa2/testclasses.txt"), awa)
    out["awa2-zsh-ss"] = toml(
        "awa2-zsh-ss", "awa2",
        "Animals with Attributes 2 with the standard split (SS) shipped in the AwA2 release (testclasses.txt: 10 "
        "unseen classes, the other 40 seen; the split of Lampert et al.'s AwA). Unlike the proposed split, "
        "several SS unseen classes are ImageNet-1k classes, so ImageNet-pretrained backbones may have seen them: "
        "use it for comparison with older work. Counts as in awa2-zsh: 100 training images per seen class "
        "(4,000), 100 queries per unseen class (1,000), database = the remaining 32,322 images. "
        f"{count_note} {feas} " + RESOLVE,
        [c for c in awa if c not in ss_unseen], ss_unseen, 100, 100)
    # SUN ----------------------------------------------------------------------------------------------------
    import scipy.io

    sun = [str(x[0][0]) for x in scipy.io.loadmat(str(shared / "xlsa17/SUN/att_splits.mat"))["allclasses_names"]]
    out["sun-zsh"] = toml(
        "sun-zsh", "sun",
        f"SUN Attribute DB (14,340 scene images, 717 classes of 20 images), {XLSA17}: 645 seen / 72 unseen "
        "classes, names as in xlsa17's allclasses_names. Counts: 10 training images per seen class (6,450), 10 "
        "queries per unseen class (720), database = the remaining 7,170 images (10 per class). " + RESOLVE,
        in_order(lines(shared / "xlsa17/SUN/trainvalclasses.txt"), sun),
        in_order(lines(shared / "xlsa17/SUN/testclasses.txt"), sun), 10, 10)
    # unseen-ratio family -------------------------------------------------------------------------------------
    for fam, classes, train, query, base in (("awa2", awa, 100, 100, "awa2-zsh"), ("cub", cub, 30, 30, "cub-zsh")):
        perm = [classes[i] for i in np.random.default_rng(UNSEEN_DRAW_SEED).permutation(len(classes))]
        for pct in (20, 40, 60):
            k = len(classes) * pct // 100
            unseen = in_order(perm[:k], classes)
            seen = [c for c in classes if c not in set(unseen)]
            extra = f" {feas}" if fam == "awa2" else " Every CUB class has at least 41 images."
            out[f"{fam}-unseen{pct}"] = toml(
                f"{fam}-unseen{pct}", fam,
                f"Unseen-ratio study (the robustness experiment of COMAE: retrieval as the share of unseen classes "
                f"grows) on {'AwA2' if fam == 'awa2' else 'CUB-200-2011'}: {pct}% of the {len(classes)} classes "
                f"({k}) are unseen, {len(seen)} seen. The unseen sets are nested (the 40% set contains the 20% set, "
                f"the 60% set the 40% set): one permutation of the classes (classes.txt order) was drawn ONCE by "
                f"numpy default_rng({UNSEEN_DRAW_SEED}) in protocols/_generate.py and its first 20/40/60% taken; "
                f"the names are fixed here and never re-drawn. The draw ignores ImageNet-1k overlap, so compare "
                f"trends across ratios rather than with {base}. Counts as in {base}: {train} training images per "
                f"seen class ({train * len(seen):,}), {query} queries per unseen class ({query * k:,}), database = "
                f"the rest.{extra} " + RESOLVE,
                seen, unseen, train, query)
    return out


def main(argv: list[str]) -> int:
    shared = Path(argv[0]) if argv else HERE.parent.parent / "shared" / "data"
    for name, text in build(shared).items():
        (HERE / f"{name}.toml").write_text(text)
        print(f"wrote protocols/{name}.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
