"""zshbench from Python, as in a notebook: a method by name, a pinned protocol, a run with records, the evaluator on
your own codes, the records as a DataFrame, a saved and reloaded hasher.

Run it with ``python examples/python_api.py [RESULTS_DIR]`` (about 10 seconds on a laptop CPU; pandas optional).
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

import zshbench

results = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="zshbench-api-"))

# 1. What is there
print("methods:", ", ".join(zshbench.list_methods()))

# 2. A dataset and a pinned protocol: train (seen classes only), query (unseen), database
ds = zshbench.get_dataset("digits")()
split = zshbench.resolve(zshbench.load_protocol("digits-zsh"), ds)
print("split:", split.counts(), "fingerprint", split.fingerprint[:12])

# 3. A full run: fit on the seen classes, encode, evaluate, one typed record per (bits, seed)
records = zshbench.run("itq", "digits", bits=[32], seeds=[0, 1], results_dir=results, progress=False)
for rec in records:
    print(f"{rec.method} {rec.n_bits} bits seed {rec.seed}: map@5000 {rec.metrics['map@5000']:.4f}")

# 4. The evaluator on codes you made yourself (packed uint8 or {0,1}/{-1,+1} arrays)
from zshbench.features import extract_features  # noqa: E402
from zshbench.runner import build_trainset  # noqa: E402  (the TrainSet holds seen-class items only)

feats = {part: extract_features(ds, getattr(split, part), "pixels") for part in ("train", "query", "database")}
hasher = zshbench.create_hasher("itq", n_bits=32, seed=0).fit(build_trainset(ds, split, feats["train"]))
cq, cdb = hasher.encode(feats["query"]), hasher.encode(feats["database"])
res = zshbench.evaluate(cq, cdb, ds.labels[split.query], ds.labels[split.database], n_bits=32)
print("evaluate:", {k: round(v, 4) for k, v in res.metrics.items() if k in ("map@5000", "map@all")})

# 5. Save the fitted hasher and load it back, whatever its method
hasher.save(results / "itq.safetensors")  # weights only; .npz and .pt work too
again = zshbench.load_hasher(results / "itq.safetensors")
assert np.array_equal(again.encode(feats["query"]), cq)

# 6. Records as data: a long table, one row per (run, setting, metric)
loaded, problems = zshbench.load_records(results)
assert not problems, problems
try:
    df = zshbench.to_dataframe(loaded)
    ua = df[(df.setting == "U->A") & (df.metric == "map@5000")]
    print(ua.pivot_table(index="method", columns="bits", values="value", aggfunc="mean"))
except zshbench.UserError as exc:  # pandas not installed
    print(exc)
