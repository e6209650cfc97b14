"""ddsh learns on the built-in `shapes` dataset at its DEFAULT tiny budget: map@5000 at 64 bits, seed 0, above
LSH's (0.1338 on shapes-zsh at 64 bits, seed 0, the committed leaderboard's), measured as `zshbench run` measures
it (methods/ddsh/README.md, "Measured")."""

from __future__ import annotations

import pytest

LSH_MAP5000_SHAPES_64B_SEED0 = 0.1338


@pytest.mark.slow
def test_ddsh_beats_lsh_at_its_default_budget(tmp_path):
    from zshbench.runner import run

    (rec,) = run("ddsh", "shapes", bits=[64], seeds=[0], results_dir=tmp_path, progress=False, device="cpu")
    assert rec.metrics["map@5000"] > LSH_MAP5000_SHAPES_64B_SEED0, rec.metrics
