"""Alternative splits for the split-variance analysis (zshbench.protocols.resample, `zshbench protocol resample`)."""

import pytest

from zshbench import get_dataset
from zshbench.errors import UserError
from zshbench.protocols import load_protocol, parse_protocol_file, resolve
from zshbench.protocols.resample import resample, write_resampled


def test_resampled_splits_are_deterministic_distinct_unpinned_and_keep_the_counts():
    base = load_protocol("shapes-zsh")
    a, b = resample(base, 4, draw_seed=0), resample(base, 4, draw_seed=0)
    assert [p.unseen for p in a] == [p.unseen for p in b]
    assert [p.name for p in a] == [f"shapes-zsh-rs{i:02d}" for i in range(1, 5)]
    sets = [frozenset(p.unseen) for p in a]
    assert len(set(sets)) == 4 and frozenset(base.unseen) not in sets
    for p in a:
        assert sorted(p.seen + p.unseen) == sorted(base.seen + base.unseen)
        assert len(p.unseen) == len(base.unseen)
        assert (p.train_per_class, p.query_per_class, p.seen_query_per_class) == (
            base.train_per_class,
            base.query_per_class,
            base.seen_query_per_class,
        )
        assert not p.pinned
    other = resample(base, 4, draw_seed=1)
    assert [p.unseen for p in other] != [p.unseen for p in a]


def test_resampled_split_resolves_and_round_trips_through_its_file(tmp_path):
    base = load_protocol("shapes-zsh")
    (p,) = resample(base, 1)
    (path,) = write_resampled([p], tmp_path)
    back = parse_protocol_file(path)
    assert back.name == p.name and back.unseen == p.unseen and back.seen == p.seen and len(back.sha256) == 64
    split = resolve(back, get_dataset("shapes")())
    assert len(split.query) == len(p.unseen) * base.query_per_class


@pytest.mark.parametrize("n", [0, 100, -1, True, 2.5])
def test_bad_number_of_splits_is_refused(n):
    with pytest.raises(UserError, match="--n"):
        resample(load_protocol("shapes-zsh"), n)


def test_writing_over_an_existing_split_needs_force(tmp_path):
    splits = resample(load_protocol("shapes-zsh"), 2)
    write_resampled(splits, tmp_path)
    before = (tmp_path / "shapes-zsh-rs01.toml").read_bytes()
    with pytest.raises(UserError, match="--force"):
        write_resampled(resample(load_protocol("shapes-zsh"), 2, draw_seed=5), tmp_path)
    assert (tmp_path / "shapes-zsh-rs01.toml").read_bytes() == before
    write_resampled(resample(load_protocol("shapes-zsh"), 2, draw_seed=5), tmp_path, force=True)
    assert (tmp_path / "shapes-zsh-rs01.toml").read_bytes() != before


def test_cli_resample_writes_files_and_refuses_bad_input(tmp_path, capsys):
    from zshbench.cli import main

    assert main(["protocol", "resample", "shapes-zsh", "--n", "2", "--out", str(tmp_path / "p")]) == 0
    assert sorted(f.name for f in (tmp_path / "p").iterdir()) == ["shapes-zsh-rs01.toml", "shapes-zsh-rs02.toml"]
    assert main(["protocol", "resample", "shapes-zsh", "--n", "0", "--out", str(tmp_path / "q")]) == 2
    assert not (tmp_path / "q").exists()
    assert main(["protocol", "resample", "shapes-zsh", "--n", "2", "--out", str(tmp_path / "p")]) == 0  # same files
    argv = ["protocol", "resample", "shapes-zsh", "--n", "2", "--draw-seed", "3", "--out", str(tmp_path / "p")]
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err


def test_a_resampled_record_is_reproduced_from_its_protocol_file(tmp_path):
    from zshbench.cli import main
    from zshbench.records import load_records
    from zshbench.reproduce import reproduce

    pdir = tmp_path / "protocols"
    (path,) = write_resampled(resample(load_protocol("shapes-zsh"), 1), pdir)
    res = tmp_path / "res"
    argv = ["run", "--method", "lsh", "--dataset", "shapes", "--protocol", str(path), "--bits", "16"]
    assert main([*argv, "--seeds", "0", "--results", str(res), "--no-progress"]) == 0
    recs, errors = load_records(res)
    assert not errors and len(recs) == 1
    assert [o.status for o in reproduce(recs)] == ["skipped"]  # the file is not at hand
    assert [o.status for o in reproduce(recs, protocol_dirs=[pdir])] == ["exact"]
