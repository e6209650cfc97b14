"""cibhash learns on the built-in `shapes` dataset at its DEFAULT tiny budget: map@5000 at 64 bits, seed 0, above
LSH's (0.1338 on shapes-zsh at 64 bits, seed 0, the committed leaderboard), measured as `zshbench run` measures
it. Slow: one full default training (minutes at one thread)."""

from __future__ import annotations

import pytest

from zshbench.runner.execute import run


@pytest.mark.slow
def test_cibhash_default_budget_beats_lsh_on_shapes(tmp_path):
    kw = dict(bits=(64,), seeds=(0,), device="cpu", results_dir=tmp_path, progress=False)
    lsh = run("lsh", "shapes", **kw)[0].metrics["map@5000"]
    cib = run("cibhash", "shapes", **kw)[0].metrics["map@5000"]
    # measured: LSH 0.1338, cibhash 0.2036
    assert lsh == pytest.approx(0.1338, abs=1e-3)
    assert cib > lsh + 0.02, (cib, lsh)
