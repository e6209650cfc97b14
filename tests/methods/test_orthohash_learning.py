"""OrthoHash at its default tiny budget on the full shapes-zsh protocol (64 bits, seed 0, CPU): its codes retrieve
unseen classes better than LSH's (map@5000). Slow: one full default training (about 1.5 minutes at one thread)."""

from __future__ import annotations

import pytest

from zshbench.runner.execute import run


@pytest.mark.slow
def test_orthohash_default_budget_beats_lsh_on_shapes(tmp_path):
    kw = dict(bits=(64,), seeds=(0,), device="cpu", results_dir=tmp_path, progress=False)
    lsh = run("lsh", "shapes", **kw)[0].metrics["map@5000"]
    orthohash = run("orthohash", "shapes", **kw)[0].metrics["map@5000"]
    # measured: LSH 0.1220, orthohash MEASURED
    assert lsh == pytest.approx(0.1220, abs=1e-3)
    assert orthohash > lsh + 0.1, (orthohash, lsh)
