"""Reliability of protocols: strict protocol.toml validation (F-P05..F-P20, L-17) and pins enforced wherever a
protocol enters (P-02, P-03, P-04), as small reproducers of the 2026-11 reliability review."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zshbench.cli import main
from zshbench.errors import UserError
from zshbench.protocols import check_pin, is_pinned_name, list_protocols, load_protocol, pinned_versions, resolve
from zshbench.protocols.resolve import PROTOCOL_DIR

BASE = {
    "name": 'name = "pets"',
    "version": 'version = "1"',
    "dataset": 'dataset = "folder"',
    "seed": "seed = 0",
    "seen": 'seen = ["a", "b", "c"]',
    "unseen": 'unseen = ["d"]',
    "counts": "[counts]\ntrain_per_class = 2\nquery_per_class = 2",
}


def write(tmp_path: Path, **lines: str) -> Path:
    body = {**BASE, **lines}
    counts = body.pop("counts")
    f = tmp_path / "protocol.toml"
    f.write_text("\n".join(v for v in body.values() if v) + "\n" + counts + "\n")
    return f


def cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


@pytest.mark.parametrize(
    "case, lines, match",
    [
        ("F-P05", {"counts": "counts = 5"}, r"'counts' must be a table .* got 5 \(an integer\)"),
        ("F-P06", {"seed": 'seed = "abc"'}, r"'seed' must be a non-negative integer .* got 'abc' \(a string\)"),
        ("F-P19", {"seed": "seed = 1.7"}, r"'seed' must be a non-negative integer .* got 1\.7"),
        ("F-P16", {"seen": "seen = [1, 2]"}, r"'seen' must be an array of class names .* got \[1, 2\]"),
        ("F-P13", {"seen": 'seen = "abc"'}, r"'seen' must be an array of class names .* got 'abc' \(a string\)"),
        (
            "F-P17",
            {"counts": "[counts]\ntrain_per_class = true\nquery_per_class = 2"},
            r"'counts\.train_per_class' must be an integer >= 1 .* got True \(a boolean\)",
        ),
        (
            "F-P11",
            {"counts": "[counts]\ntrain_per_class = 0\nquery_per_class = 2"},
            r"counts\.train_per_class' must be an integer >= 1 \(every seen class needs at least one training item\)",
        ),
        (
            "F-P12",
            {"counts": "[counts]\ntrain_per_class = 2\nquery_per_class = 0"},
            r"counts\.query_per_class' must be an integer >= 1 \(every unseen class needs at least one query\)",
        ),
        ("F-P18", {"name": 'name = ""'}, r"Invalid protocol name in the protocol file .*: ''"),
        ("F-P07", {"name": 'name = "../../../../escaped"'}, r"Invalid protocol name .*'\.\./\.\./\.\./\.\./escaped'"),
        ("F-P08", {"name": 'name = "a/b"'}, r"Invalid protocol name .*'a/b'"),
        ("F-P20", {"name": 'name = ".."'}, r"Invalid protocol name .*'\.\.'"),
        ("dataset", {"dataset": 'dataset = "../x"'}, r"Invalid dataset name in the protocol file"),
        (
            "counts-typo",
            {"counts": "[counts]\ntrain_per_class = 2\nquery_per_class = 2\ndatabse = 3"},
            r"unknown key\(s\) databse",
        ),
        ("version", {"version": "version = [1]"}, r"'version' must be a non-empty string"),
        (
            "seen-query-0",
            {"counts": "[counts]\ntrain_per_class = 2\nquery_per_class = 2\nseen_query_per_class = 0"},
            r"'counts\.seen_query_per_class' must be an integer >= 1 \(held-out queries per seen "
            r"class; leave the key out",
        ),
        (
            "seen-query-bool",
            {"counts": "[counts]\ntrain_per_class = 2\nquery_per_class = 2\nseen_query_per_class = true"},
            r"'counts\.seen_query_per_class' must be an integer >= 1 .* got True \(a boolean\)",
        ),
        (
            "seen-query-str",
            {"counts": '[counts]\ntrain_per_class = 2\nquery_per_class = 2\nseen_query_per_class = "5"'},
            r"'counts\.seen_query_per_class' must be an integer >= 1 .* got '5' \(a string\)",
        ),
        (
            "seen-query-typo",
            {"counts": "[counts]\ntrain_per_class = 2\nquery_per_class = 2\nseen_queries_per_class = 5"},
            r"unknown key\(s\) seen_queries_per_class; allowed: .*seen_query_per_class",
        ),
        (
            "source-value",
            {
                "seed": 'seed = 0\nseen_query_source = "test_seen"',
                "counts": "[counts]\ntrain_per_class = 2\nquery_per_class = 2\nseen_query_per_class = 1",
            },
            r"'seen_query_source' must be \"rest\" or \"xlsa17-test-seen\", got 'test_seen'",
        ),
        (
            "source-alone",
            {"seed": 'seed = 0\nseen_query_source = "rest"'},
            r"sets seen_query_source = 'rest' but \[counts\] has no seen_query_per_class",
        ),
    ],
)
def test_wrong_types_give_one_paragraph_errors(tmp_path, capsys, case, lines, match):
    f = write(tmp_path, **lines)
    with pytest.raises(UserError, match=match) as e:
        load_protocol(str(f))
    assert str(f) in str(e.value) and "\n" not in str(e.value)
    code, _, err = cli(capsys, "protocol", "show", str(f))  # L-17: the same through the CLI
    assert code == 2 and "error:" in err


def test_valid_user_protocol_is_not_pinned(tmp_path):
    p = load_protocol(str(write(tmp_path, version="version = 1")))
    assert p.version == "1" and p.seed == 0 and not p.pinned and p.seen_query_per_class == 0
    p = load_protocol(
        str(write(tmp_path, counts="[counts]\ntrain_per_class = 2\nquery_per_class = 2\nseen_query_per_class = 3"))
    )
    assert (p.seen_query_per_class, p.seen_query_source) == (3, "rest")
    assert p.summary()["seen_query_per_class"] == 3
    assert "seen_query_per_class" not in load_protocol("digits-zsh@1").summary()


# -- pins ----------------------------------------------------------------------------------------------------
def test_builtin_protocols_load_pinned_with_unchanged_hashes():
    pins = json.loads((PROTOCOL_DIR / "pins.json").read_text())
    for name in list_protocols():
        p = load_protocol(name)
        assert p.pinned and pins[f"{p.name}@{p.version}"] == p.sha256
        by_path = load_protocol(str(PROTOCOL_DIR / f"{name}.toml"))  # a built-in file by path: the same
        assert by_path.pinned and by_path.sha256 == p.sha256
    assert load_protocol("shapes-zsh@1").sha256 == "d38ca684f454e4d5d5b10bfb8d7467daa7a895893981a781b13748a1aa5131b7"


def test_every_pin_loads_by_name_at_version_and_by_path():
    """Every pinned (name, version) stays loadable: the current file or its byte-for-byte archive."""
    pins = json.loads((PROTOCOL_DIR / "pins.json").read_text())
    for key, sha in pins.items():
        name, version = key.rsplit("@", 1)
        p = load_protocol(key)
        assert (p.name, p.version, p.sha256, p.pinned) == (name, version, sha, True)
        assert load_protocol(p.path).sha256 == sha
    archives = sorted(f.stem for f in PROTOCOL_DIR.glob("*@*.toml"))
    assert archives and all(a in pins for a in archives)
    assert not [n for n in list_protocols() if "@" in n]


def test_edited_archive_is_refused(tmp_path, monkeypatch):
    import sys

    for f in PROTOCOL_DIR.glob("*"):
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(sys.modules["zshbench.protocols.model"], "PROTOCOL_DIR", tmp_path)
    load_protocol("digits-zsh@1")
    f = tmp_path / "digits-zsh@1.toml"
    f.write_text(f.read_text().replace("query_per_class = 50", "query_per_class = 40"))
    with pytest.raises(UserError, match=r"digits-zsh@1\.toml does not match its pin for version 1 .* edited"):
        load_protocol("digits-zsh@1")
    f.write_text((PROTOCOL_DIR / "digits-zsh.toml").read_text())  # the pinned version 2 under version 1's name
    with pytest.raises(UserError, match=r"declares digits-zsh@2, but its file name says digits-zsh@1"):
        load_protocol("digits-zsh@1")


def test_edited_copy_of_an_old_version_names_the_fields(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        (PROTOCOL_DIR / "shapes-zsh@1.toml").read_text().replace("train_per_class = 100", "train_per_class = 90")
    )
    with pytest.raises(
        UserError,
        match=r"version 1, like the built-in .* counts\.train_per_class \(90 here, 100 in "
        r"the built-in\)\.",
    ):
        load_protocol(str(f))


def test_pin_and_archive_guard_the_old_versions(tmp_path, monkeypatch):
    import sys

    from zshbench.protocols.resolve import archive_protocol, pin_protocol

    for f in PROTOCOL_DIR.glob("*"):
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(sys.modules["zshbench.protocols.model"], "PROTOCOL_DIR", tmp_path)
    assert archive_protocol("digits-zsh") == tmp_path / "digits-zsh@2.toml"  # the maintainers' step before editing
    (tmp_path / "digits-zsh@2.toml").write_text("changed")
    with pytest.raises(UserError, match="exists with other content"):
        archive_protocol("digits-zsh")
    (tmp_path / "digits-zsh@2.toml").unlink()
    text = (tmp_path / "digits-zsh.toml").read_text()
    (tmp_path / "digits-zsh.toml").write_text(text.replace('version = "2"', 'version = "3"'))
    with pytest.raises(UserError, match=r"Pinned version 2 of protocol 'digits-zsh' has no archive matching its pin"):
        pin_protocol("digits-zsh")
    (tmp_path / "digits-zsh@2.toml").write_text(text)
    pin_protocol("digits-zsh")
    assert pinned_versions("digits-zsh") == ["1", "2", "3"]
    assert [load_protocol(f"digits-zsh@{v}").version for v in "123"] == ["1", "2", "3"]


def test_p03_edited_copy_by_path_is_refused_naming_the_fields(tmp_path, capsys):
    text = (PROTOCOL_DIR / "shapes-zsh.toml").read_text()
    f = tmp_path / "shapes-zsh.toml"
    f.write_text(text.replace("seed = 0", "seed = 1").replace("train_per_class = 100", "train_per_class = 90"))
    with pytest.raises(
        UserError,
        match=r"named 'shapes-zsh', version 2, like the built-in pinned protocol, but these "
        r"fields differ from the built-in file: counts\.train_per_class \(90 here, 100 "
        r"in the built-in\); seed \(1 here, 0 in the built-in\)\. Use the built-in",
    ):
        load_protocol(str(f))
    code, _, err = cli(
        capsys,
        "run",
        "--method",
        "lsh",
        "--dataset",
        "shapes",
        "--bits",
        "16",
        "--protocol",
        str(f),
        "--results",
        str(tmp_path / "res"),
        "--no-progress",
    )
    assert code == 2 and "shapes-zsh-custom" in err and not list((tmp_path / "res").rglob("*.json"))
    # an identical copy by path is the pinned protocol; comments do not matter
    f.write_text(text + "\n# a comment\n")
    assert load_protocol(str(f)).pinned


def test_p02_unpinned_version_of_a_pinned_name_lists_the_pinned_versions(tmp_path):
    f = tmp_path / "x.toml"
    f.write_text((PROTOCOL_DIR / "digits-zsh.toml").read_text().replace('version = "2"', 'version = "3"'))
    with pytest.raises(UserError, match=r"version '3' is not pinned \(pinned version\(s\): 1, 2\).*own name"):
        load_protocol(str(f))


def test_p02_folder_protocol_toml_with_a_pinned_name_is_checked(tmp_path):
    f = write(tmp_path, name='name = "digits-zsh"')
    with pytest.raises(UserError, match=r"named 'digits-zsh'.*fields differ"):
        load_protocol(str(f))


def test_check_pin_and_is_pinned_name():
    sha = load_protocol("shapes-zsh").sha256
    assert check_pin("shapes-zsh", "2", sha) is None
    assert check_pin("my-own", "7", "whatever") is None  # not a pinned name: nothing to check
    assert re.search(
        r"version 1 has content sha256 fab450ce.*its pin is d38ca684f454", check_pin("shapes-zsh", "1", "fab450ce" * 8)
    )
    assert "'3' is not pinned (pinned version(s) of 'shapes-zsh': 1, 2)" in check_pin("shapes-zsh", "3", sha)
    assert "\n" not in check_pin("shapes-zsh", "3", sha)
    assert is_pinned_name("cub-zsh") and not is_pinned_name("pets") and pinned_versions("digits-zsh") == ["1", "2"]
    v1 = load_protocol("shapes-zsh@1")  # a record of version 1 stays verifiable
    assert check_pin("shapes-zsh", "1", v1.sha256) is None and check_pin("shapes-zsh", "2", v1.sha256)


def test_adhoc_protocols_are_never_pinned(tmp_path, monkeypatch):
    import numpy as np

    from zshbench.datasets.base import ArrayDataset
    from zshbench.datasets.folder import protocol_from_args

    monkeypatch.setenv("ZSHBENCH_CACHE", str(tmp_path))
    ds = ArrayDataset(
        "toy", np.repeat(np.arange(3), 5), ["a", "b", "c"], features=np.random.default_rng(0).random((15, 2))
    )
    p = protocol_from_args(ds, "c", 2, 1)
    assert not p.pinned and resolve(p, ds).counts() == {"train": 4, "query": 1, "database": 10}
    with pytest.raises(UserError, match=r"--train-per-class must be an integer >= 1"):
        protocol_from_args(ds, "c", 0, 1)


def test_unpinned_builtin_says_how_pins_are_made(tmp_path, monkeypatch):
    import sys

    mod = sys.modules["zshbench.protocols.model"]
    for f in PROTOCOL_DIR.glob("*"):
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    pins = json.loads((tmp_path / "pins.json").read_text())
    (tmp_path / "pins.json").write_text(json.dumps({k: v for k, v in pins.items() if k != "digits-zsh@2"}))
    monkeypatch.setattr(mod, "PROTOCOL_DIR", tmp_path)
    with pytest.raises(UserError) as e:
        load_protocol("digits-zsh")
    assert "pin_protocol(name)" in str(e.value) and "zshbench protocol pin" not in str(e.value)
    (tmp_path / "digits-zsh.toml").write_text(
        (PROTOCOL_DIR / "digits-zsh.toml").read_text().replace('version = "2"', 'version = "3"')
    )
    (tmp_path / "pins.json").write_text(json.dumps(pins))
    with pytest.raises(UserError, match=r"version 3 is not pinned .*\(pinned versions: 1, 2\).*pin_protocol\(name\)"):
        load_protocol("digits-zsh")
