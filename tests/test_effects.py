"""The report's protocol-effects analyses (`zshbench.leaderboard.effects`) on hand-made records whose answers
are known: generalized settings, leak inflation paired by seed, split variance over resampled splits, and the
per-class distance correlation."""

from __future__ import annotations

import pytest
from factories import make_record

from zshbench.leaderboard.effects import (
    distance_correlation,
    leak_inflation,
    render_effects,
    settings_table,
    split_variance,
)
from zshbench.leaderboard.report import report_files
from zshbench.leaderboard.tables import split_records


def _settings(u, s):
    h = 2 * u * s / (u + s)
    return {"S->A": {"map@5000": s}, "U->U": {"map@5000": u + 0.1}, "S->S": {"map@5000": s + 0.1}, "H": {"map@5000": h}}


def test_split_records_sorts_leaky_and_resampled_out():
    main = make_record("lsh", seed=0)
    leaky = make_record("lsh", seed=0, variant="leaky")
    rs = make_record("lsh", protocol="toy-zsh-rs03", seed=0, pinned=False)
    pinned_named_like_rs = make_record("lsh", protocol="toy-zsh-rs03", seed=1, pinned=True)
    m, lk, r = split_records([main, leaky, rs, pinned_named_like_rs])
    assert m == [main, pinned_named_like_rs] and lk == [leaky] and r == [rs]


def test_settings_table_means_over_seeds_at_the_nearest_code_length():
    recs = [
        make_record(
            "lsh",
            n_bits=b,
            seed=s,
            metrics={"map@5000": 0.2 + s / 10, "map@all": 0.1},
            settings=_settings(0.2 + s / 10, 0.6),
        )
        for b in (32, 48)
        for s in (0, 1)
    ]
    (t,) = settings_table(recs, bits=64)
    assert t["bits"] == 48
    ((label, cells),) = t["rows"]
    assert label == "lsh"
    assert cells["U->A"][0] == pytest.approx(0.25) and cells["U->A"][2] == 2
    assert cells["S->A"][0] == pytest.approx(0.6)
    assert cells["H"][0] == pytest.approx((2 * 0.2 * 0.6 / 0.8 + 2 * 0.3 * 0.6 / 0.9) / 2)
    assert settings_table([make_record("lsh")]) == []  # no held-out seen queries -> no table


def test_leak_inflation_pairs_by_seed_and_ignores_unpaired():
    main = [make_record("itq", seed=s, metrics={"map@5000": 0.3 + s / 100, "map@all": 0.1}) for s in (0, 1, 2)]
    leaky = [
        make_record("itq", seed=s, variant="leaky", metrics={"map@5000": 0.5 + s / 50, "map@all": 0.1}) for s in (0, 1)
    ]
    leaky.append(make_record("itq", seed=7, variant="leaky", metrics={"map@5000": 0.9, "map@all": 0.1}))  # no pair
    (row,) = leak_inflation(main, leaky)
    assert row["n"] == 2
    assert row["standard"] == pytest.approx(0.305) and row["leaky"] == pytest.approx(0.51)
    assert row["inflation"] == pytest.approx(((0.5 - 0.3) + (0.52 - 0.31)) / 2)


def test_split_variance_averages_seeds_per_split_then_splits():
    main = [make_record(m, seed=0, metrics={"map@5000": v, "map@all": 0.1}) for m, v in (("a", 0.5), ("b", 0.45))]
    rs = []
    for i, v in enumerate((0.3, 0.5, 0.7)):
        for s, d in ((0, -0.01), (1, 0.01)):
            rs.append(
                make_record(
                    "a",
                    protocol=f"toy-zsh-rs{i:02d}",
                    seed=s,
                    pinned=False,
                    metrics={"map@5000": v + d, "map@all": 0.1},
                )
            )
    (t,) = split_variance(main, rs)
    assert t["protocol"] == "toy-zsh" and t["top_gap"] == pytest.approx(0.05)
    (row,) = t["rows"]
    assert row["method"] == "a" and row["pinned"] == pytest.approx(0.5) and row["n_splits"] == 3
    assert row["mean"] == pytest.approx(0.5) and row["min"] == pytest.approx(0.3) and row["max"] == pytest.approx(0.7)
    assert row["std"] == pytest.approx(0.2)  # sample std of 0.3, 0.5, 0.7


def test_distance_correlation_is_spearman_over_classes_and_undefined_for_equal_distances():
    pc = {
        "unseen": ["x", "y", "z"],
        "map@5000": [0.9, 0.5, 0.1],
        "attribute_distance": [0.1, 0.2, 0.3],
        "distance": "d",
    }
    (d,) = distance_correlation([make_record("lsh", per_class=pc)])
    assert d["classes"] == ["x", "y", "z"] and d["spearman"] == pytest.approx(-1.0)
    flat = dict(pc, attribute_distance=[1.0, 1.0, 1.0])
    (d,) = distance_correlation([make_record("lsh", per_class=flat)])
    assert d["spearman"] is None


def test_render_effects_empty_without_analyses_and_report_names_the_sections():
    main = [make_record("itq", seed=0)]
    assert render_effects(main, [], []) == ""
    leaky = [make_record("itq", seed=0, variant="leaky", metrics={"map@5000": 0.9, "map@all": 0.1})]
    text = report_files(main + leaky)["README.md"]
    assert "## Protocol effects" in text and "+0.4000 (1)" in text
    assert "1 of them for the protocol-effects analyses only" in text
    # the leaky record is not in the retrieval tables
    assert "0.9000" not in text.split("## Protocol effects")[0]


def test_per_class_is_validated():
    from zshbench.errors import RecordError

    bad = {"unseen": ["x", "y"], "map@5000": [0.1], "attribute_distance": [0.1, 0.2], "distance": "d"}
    with pytest.raises(RecordError, match="per_class.map@5000"):
        make_record("lsh", per_class=bad)


def test_distance_correlation_is_undefined_with_two_unseen_classes():
    pc = {"unseen": ["x", "y"], "map@5000": [0.9, 0.1], "attribute_distance": [0.1, 0.3], "distance": "d"}
    (d,) = distance_correlation([make_record("lsh", per_class=pc)])
    assert d["spearman"] is None  # two classes would always give -1 or +1
