"""The table of docs/zoo.md: U->A and S->A map@5000 of every zoo method, the flagships and the shallow methods at
64 bits, seed 0, on the three built-in datasets, from the committed records (leaderboard/results).

Run from the repository root: .venv/bin/python docs/scripts/zoo_table.py
"""

import sys

from zshbench.records import load_records

recs, errs = load_records("leaderboard/results")
KIND = {
    "pcah": "shallow, unsupervised",
    "sh": "shallow, unsupervised",
    "lsh": "shallow, data-independent",
    "itq": "shallow, unsupervised",
    "sdh": "shallow, supervised",
    "imh": "shallow, unsupervised",
    "fssh": "shallow, supervised",
    "scdh": "shallow, supervised",
    "tsk": "shallow, zero-shot",
    "greedyhash": "deep, supervised",
    "dsdh": "deep, supervised",
    "jmlh": "deep, supervised",
    "orthohash": "deep, supervised",
    "dpsh": "deep, supervised",
    "ddsh": "deep, supervised",
    "dch": "deep, supervised",
    "adsh": "deep, supervised",
    "csq": "deep, supervised",
    "hashnet": "deep, supervised",
    "dpn": "deep, supervised",
    "dsh": "deep, supervised",
    "cibhash": "deep, unsupervised",
    "tbh": "deep, unsupervised (adversarial terms off)",
    "bihalf": "deep, unsupervised (frozen random backbone)",
    "pixel": "deep, zero-shot",
    "sitnet": "deep, zero-shot",
    "razh": "zero-shot (flagship)",
    "comae": "zero-shot (flagship)",
}
cells = {}
for r in recs:
    if r.n_bits != 64 or r.seed != 0 or r.non_default_params or r.evaluation.get("variant", "standard") != "standard":
        continue
    if r.protocol["name"] not in ("fashion-zsh", "shapes-zsh", "digits-zsh") or r.method not in KIND:
        continue
    sa = ((r.settings or {}).get("S->A") or {}).get("map@5000")
    cells[(r.method, r.dataset)] = (r.metrics["map@5000"], sa, (r.timings or {}).get("fit_s"))


def f(x):
    return "" if x is None else f"{x:.3f}"


rows = sorted(KIND, key=lambda m: -(cells.get((m, "fashion"), (0,))[0] or 0))
print("| method | kind | fashion U->A | fashion S->A | shapes U->A | shapes S->A | digits U->A | fashion fit s |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for m in rows:
    fa = cells.get((m, "fashion"), (None, None, None))
    sh = cells.get((m, "shapes"), (None, None, None))
    di = cells.get((m, "digits"), (None, None, None))
    fit = "" if fa[2] is None else f"{fa[2]:.0f}"
    print(f"| {m} | {KIND[m]} | {f(fa[0])} | {f(fa[1])} | {f(sh[0])} | {f(sh[1])} | {f(di[0])} | {fit} |")
missing = [(m, d) for m in KIND for d in ("fashion", "shapes", "digits") if (m, d) not in cells]
print("missing:", missing, file=sys.stderr)
