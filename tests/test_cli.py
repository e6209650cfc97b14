"""CLI: every bad input gives a one-paragraph error, exit code 2, no traceback."""

import json
import subprocess
import sys

import pytest

from zshbench.cli import main


def cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list(capsys):
    code, out, _ = cli(capsys, "list", "methods", "--names")
    assert code == 0 and "lsh" in out.split()
    code, out, _ = cli(capsys, "list", "protocols")
    assert code == 0 and "shapes-zsh" in out and "digits-zsh" in out
    code, out, _ = cli(capsys, "list", "datasets")
    assert code == 0 and "shapes" in out and "digits" in out


def test_list_method_filters(capsys):
    from zshbench.registry import METHODS, get_method

    deep = sorted(
        n for n in METHODS.names() if get_method(n).requires.inputs == "images" and not get_method(n).variant_of
    )
    code, out, _ = cli(capsys, "list", "methods", "--names", "--no-variants", "--inputs", "images")
    assert code == 0 and out.split() == deep and {"comae", "razh", "dch"} <= set(deep)
    assert not {"comae-v1", "razh-t", "lsh"} & set(deep)
    code, out, _ = cli(capsys, "list", "methods", "--names", "--inputs", "features")
    assert code == 0 and {"lsh", "pcah", "itq", "sh"} <= set(out.split()) and "razh" not in out.split()
    code, out, _ = cli(capsys, "list", "methods", "razh*", "--names")
    assert out.split() == ["razh", "razh-f", "razh-t"]


def test_protocol_show(capsys):
    code, out, _ = cli(capsys, "protocol", "show", "digits-zsh")
    assert (
        code == 0
        and "unseen (2): three, eight" in out
        and "train 800, query 100, seen queries 304, database 593" in out
    )
    assert "split fingerprint: 15ff9703f994e179" in out
    code, out, _ = cli(capsys, "protocol", "show", "digits-zsh@1")  # version 1 by name@version
    assert code == 0 and "train 800, query 100, database 897" in out and "split fingerprint: 6390daf8e660b425" in out


def test_run_and_rerun_and_leaderboard(capsys, tmp_path):
    args = [
        "run",
        "--method",
        "lsh",
        "--dataset",
        "digits",
        "--bits",
        "16,32",
        "--seeds",
        "0",
        "--results",
        str(tmp_path),
        "--no-progress",
    ]
    code, out, _ = cli(capsys, *args)
    assert code == 0 and "2 new record(s), 0 skipped" in out and "map@5000" in out
    code, out, _ = cli(capsys, *args)
    assert code == 0 and "0 new record(s), 2 skipped" in out
    code, out, _ = cli(capsys, *args, "--force")
    assert "2 new record(s)" in out
    code, out, _ = cli(capsys, "leaderboard", "--results", str(tmp_path), "--format", "md")
    assert code == 0 and "| lsh |" in out and "16 bits" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "--method", "lhs", "--dataset", "digits"], "Did you mean: lsh"),
        (["run", "--method", "lsh", "--dataset", "digitz"], "Did you mean: digits?"),
        (["run", "--method", "lsh", "--dataset", "digits", "--protocol", "nope"], "Unknown protocol 'nope'"),
        (["run", "--method", "lsh", "--dataset", "digits", "--set", "centre=1"], "Valid keys: n_bits, seed, center"),
        (["run", "--method", "lsh", "--dataset", "digits", "--set", "center=perhaps"], "expected true or false"),
        (["run", "--method", "lsh", "--dataset", "digits", "--bits", "512"], "out of range"),
        (["run", "--method", "lsh", "--dataset", "digits", "--features", "native"], "ships none"),
        (["run", "--method", "lsh", "--dataset", "digits", "--device", "cuda:7"], "no CUDA device"),
        (["leaderboard", "--results", "/nonexistent/dir"], "does not exist"),
    ],
)
def test_bad_input_exit_2(capsys, tmp_path, args, fragment):
    code, out, err = cli(capsys, *args, *(["--results", str(tmp_path)] if args[0] == "run" else []))
    assert code == 2, err
    assert fragment in " ".join(err.split())
    assert err.startswith("error: ") and "Traceback" not in err
    assert not list(tmp_path.rglob("*.json"))


def test_bad_record_is_reported_not_lost(capsys, tmp_path):
    cli(
        capsys,
        "run",
        "--method",
        "lsh",
        "--dataset",
        "digits",
        "--bits",
        "16",
        "--results",
        str(tmp_path),
        "--no-progress",
    )
    bad = tmp_path / "digits" / "digits-zsh" / "lsh" / "broken.json"
    bad.write_text("{not json")
    code, out, err = cli(capsys, "leaderboard", "--results", str(tmp_path))
    assert code == 0 and "broken.json" in err and "1 record(s) excluded" in err and "lsh" in out


@pytest.mark.parametrize("flag, value", [("--bits", "a,b"), ("--bits", "24,,48"), ("--seeds", "0,"), ("--bits", ",")])
def test_argparse_errors_exit_2(capsys, tmp_path, flag, value):
    """Non-integers and empty items (``24,,48``: a typo, not 'the two others') stop before any run."""
    with pytest.raises(SystemExit) as e:
        main(["run", "--method", "lsh", "--dataset", "digits", flag, value, "--results", str(tmp_path)])
    assert e.value.code == 2
    assert "comma-separated integers" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.json"))


def test_config_errors_name_types_in_words():
    from zshbench.config import parse_value
    from zshbench.errors import UserError

    with pytest.raises(UserError) as e:
        parse_value("five", int | None, "max_steps")
    assert "expected an integer or none" in str(e.value) and "NoneType" not in str(e.value)


def test_debug_shows_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "zshbench", "--debug", "run", "--method", "lhs", "--dataset", "digits"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "zshbench", "run", "--method", "lhs", "--dataset", "digits"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def _image_folder(root, classes=("ant", "bee", "cat", "dog"), per_class=6):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(root / c / f"{i}.png")
    return root


def test_folder_dataset_with_adhoc_protocol_flags(capsys, tmp_path):
    root = _image_folder(tmp_path / "imgs")
    base = [
        "run",
        "--method",
        "lsh",
        "--dataset",
        f"folder:{root}",
        "--bits",
        "16",
        "--results",
        str(tmp_path / "r"),
        "--no-progress",
        "--image-size",
        "8",
    ]
    code, out, err = cli(capsys, *base)
    assert code == 2 and "--unseen a,b --train-per-class N --query-per-class M" in " ".join(err.split())
    code, out, err = cli(capsys, *base, "--unseen", "dog", "--train-per-class", "3")
    assert code == 2 and "missing: --query-per-class" in " ".join(err.split())
    code, out, err = cli(capsys, *base, "--unseen", "dog", "--train-per-class", "3", "--query-per-class", "2")
    assert code == 0, err
    (rec,) = [json.loads(p.read_text()) for p in (tmp_path / "r").rglob("*.json")]
    assert rec["split_counts"] == {"train": 9, "query": 2, "database": 13, "content_duplicates": 0}
    code, out, err = cli(
        capsys, "run", "--method", "lsh", "--dataset", "digits", "--unseen", "three", "--results", str(tmp_path / "r2")
    )
    assert code == 2 and "folder:PATH datasets only" in err


def test_leaderboard_default_metric_follows_the_records_k(capsys, tmp_path):
    """Records evaluated with --k 100 have map@100, not map@5000: the default metric follows them."""
    res = str(tmp_path / "r")
    code, _, err = cli(capsys, "run", "--method", "lsh", "--dataset", "digits", "--bits", "16", "--k", "100",
                       "--results", res, "--no-progress")  # fmt: skip
    assert code == 0, err
    code, out, err = cli(capsys, "leaderboard", "--results", res, "--format", "md")
    assert code == 0, err
    assert "map@100" in out and "lsh" in out
    code, out, err = cli(capsys, "leaderboard", "--results", res, "--metric", "map@5000")
    assert code == 2 and "map@100" in " ".join(err.split())  # an explicit wrong metric still lists the real ones


def test_diverged_training_is_a_one_paragraph_error_exit_2(capsys, tmp_path):
    """A learning rate that makes the loss NaN: the loop's FloatingPointError becomes an error message, no record."""
    res = str(tmp_path / "r")
    code, _, err = cli(capsys, "run", "--method", "razh", "--dataset", "digits", "--bits", "16", "--set", "lr=1e30",
                       "--set", "max_steps=2", "--results", res, "--no-progress")  # fmt: skip
    assert code == 2 and "Traceback" not in err
    text = " ".join(err.split())
    assert text.startswith("error: Training diverged:") and "loss became nan" in text and "No record" in text
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.parametrize(
    "exc, code, fragment",
    [
        (MemoryError("Unable to allocate 240. MiB"), 2, "Out of memory (Unable to allocate 240. MiB)"),
        (MemoryError(), 2, "Out of memory (MemoryError)"),
        (BrokenPipeError(), 1, ""),
    ],
)
def test_memory_error_and_closed_pipe_have_no_traceback(capsys, monkeypatch, exc, code, fragment):
    import zshbench.cli.info as info

    def boom(args):
        raise exc

    calls = []

    def stdout_gone():  # '| head' has exited: the CLI's flush of stdout fails (once; pytest flushes later)
        calls.append(1)
        if len(calls) == 1:
            raise BrokenPipeError

    monkeypatch.setattr(info, "cmd_list", boom)
    monkeypatch.setattr("os.dup2", lambda *a: None)  # keep pytest's stdout
    if isinstance(exc, BrokenPipeError):
        monkeypatch.setattr(sys.stdout, "flush", stdout_gone)
    rc, _, err = cli(capsys, "list", "methods")
    assert rc == code and "Traceback" not in err and fragment in " ".join(err.split())


def test_available_memory_respects_ulimit_v(monkeypatch):
    import resource

    from zshbench import memory

    monkeypatch.delenv("ZSHBENCH_MEMORY_LIMIT", raising=False)
    free = memory.available_bytes()
    with open("/proc/self/status") as f:
        vm = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmSize:"))
    monkeypatch.setattr(resource, "getrlimit", lambda what: (vm + 2**30, resource.RLIM_INFINITY))
    limited = memory.available_bytes()
    assert limited <= 2**30 + 2**26 and (free is None or limited <= free)


def test_run_without_a_bar_logs_one_line_per_finished_run(capsys, tmp_path):
    """In a log (a sweep's job log, CI) each run says when it is done, not only the table at the end."""
    res = str(tmp_path / "r")
    code, out, err = cli(capsys, "run", "--method", "lsh", "--dataset", "digits", "--bits", "16,24", "--results", res,
                         "--no-progress")  # fmt: skip
    assert code == 0
    lines = [ln for ln in err.splitlines() if ln.startswith("done: ")]
    assert [ln.split(":")[1].strip() for ln in lines] == [
        "lsh on digits, 16 bits, seed 0",
        "lsh on digits, 24 bits, seed 0",
    ]
    assert all("map@5000 0." in ln and ln.endswith(".json") for ln in lines)


def test_a_broken_pipe_other_than_stdout_is_not_swallowed(capsys, monkeypatch):
    import zshbench.cli.info as info

    def boom(args):
        raise BrokenPipeError("a child's pipe")

    monkeypatch.setattr(info, "cmd_list", boom)
    with pytest.raises(BrokenPipeError):  # stdout still works: a real error, not '| head'
        main(["list", "methods"])


def test_report_of_records_with_another_k(capsys, tmp_path):
    res, out = str(tmp_path / "r"), str(tmp_path / "rep")
    code, _, err = cli(capsys, "run", "--method", "lsh", "--dataset", "digits", "--bits", "16", "--k", "100",
                       "--results", res, "--no-progress")  # fmt: skip
    assert code == 0, err
    code, _, err = cli(capsys, "report", "--results", res, "--out", out, "--no-figures")
    assert code == 0 and "Traceback" not in err, err
