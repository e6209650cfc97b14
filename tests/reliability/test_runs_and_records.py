"""The reliability review's failures of runs, records, sweeps and reports (../shared/reviews/reliability-2026-11.md),
each reproduced small. Case IDs are the review's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zshbench.cli import main
from zshbench.records import Record, load_records, record_path, write_record


def _records(root: Path) -> list:
    recs, errs = load_records(root)
    assert not errs, errs
    return recs


def _run(*argv: str) -> int:
    return main(["run", "--no-progress", *argv])


# ---- H3: the run identity covers every input --------------------------------------------------------------


def test_k_is_part_of_the_identity_C1_88(tmp_path, capsys):
    base = ["--method", "lsh", "--dataset", "digits", "--bits", "16", "--results", str(tmp_path)]
    assert _run(*base) == 0
    assert _run(*base, "--k", "100") == 0
    out = capsys.readouterr().out
    assert "map@100" in out and "1 new record(s), 0 skipped" in out.split("zshbench run")[-1]
    recs = _records(tmp_path)
    assert sorted(r.k for r in recs) == [100, 5000] and len({r.path for r in recs}) == 2


def test_features_and_weights_are_part_of_the_identity_F_18(tmp_path, capsys):
    """pixels, then a timm backbone with a weights file: two records, never a "skipped" substitution; --force
    replaces only the run asked for."""
    import timm
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    w = tmp_path / "r.safetensors"
    save_file(timm.create_model("resnet10t", pretrained=False, num_classes=0).state_dict(), str(w))
    res = tmp_path / "res"
    base = ["--method", "lsh", "--dataset", "digits", "--bits", "16", "--results", str(res)]
    assert _run(*base, "--features", "pixels") == 0
    pixels = _records(res)[0]
    assert _run(*base, "--features", "timm:resnet10t", "--weights", str(w)) == 0
    assert "1 new record(s), 0 skipped" in capsys.readouterr().out
    recs = _records(res)
    assert len(recs) == 2
    timm_rec = next(r for r in recs if r.features["spec"] == "timm:resnet10t")
    assert timm_rec.identity["features"]["weights"].startswith("sha256:")
    assert _run(*base, "--features", "timm:resnet10t", "--weights", str(w), "--force") == 0
    after = {r.identity_hash: r for r in _records(res)}
    assert len(after) == 2 and after[pixels.identity_hash] == pixels  # the pixels record is untouched


def test_a_copied_weights_file_keeps_the_identity_and_a_changed_one_does_not(tmp_path):
    from zshbench.runner.prepare import _features_identity

    a = tmp_path / "a.safetensors"
    a.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    b = tmp_path / "elsewhere" / "b.safetensors"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    assert _features_identity("timm:resnet10t", str(a)) == _features_identity("timm:resnet10t", str(b))
    b.write_bytes(a.read_bytes() + b" ")
    assert _features_identity("timm:resnet10t", str(a)) != _features_identity("timm:resnet10t", str(b))


def _pets(root: Path, classes: str, per_class: int) -> Path:
    from PIL import Image

    for ci, c in enumerate(classes):
        (root / "pets" / c).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (8, 8), (ci * 50 + 10, i * 20 + 5, 7)).save(root / "pets" / c / f"{i}.png")
    return root / "pets"


def test_two_folders_of_one_name_and_two_image_sizes_are_two_experiments_F_16_F_17(tmp_path, capsys):
    res = tmp_path / "res"
    a, b = _pets(tmp_path / "x1", "abc", 6), _pets(tmp_path / "x2", "abcd", 7)
    flags = [
        "--method",
        "lsh",
        "--unseen",
        "c",
        "--train-per-class",
        "3",
        "--query-per-class",
        "2",
        "--bits",
        "8",
        "--results",
        str(res),
    ]
    assert _run("--dataset", f"folder:{a}", *flags) == 0
    assert _run("--dataset", f"folder:{b}", *flags) == 0
    assert _run("--dataset", f"folder:{b}", *flags, "--image-size", "16") == 0
    out = capsys.readouterr().out
    assert out.count("1 new record(s), 0 skipped") == 3
    recs = _records(res)
    assert len(recs) == 3 and {r.dataset for r in recs} == {"folder-pets"}
    assert len({r.identity["dataset"]["content"] for r in recs}) == 2
    assert sorted(r.identity["dataset"]["image_size"] for r in recs) == [8, 8, 16]


def test_duplicate_bits_and_seeds_run_once_C1_19_C1_20(tmp_path, capsys):
    assert (
        _run("--method", "lsh", "--dataset", "digits", "--bits", "16,16", "--seeds", "0,0", "--results", str(tmp_path))
        == 0
    )
    assert len(_records(tmp_path)) == 1
    assert "1 new record(s), 0 skipped" in capsys.readouterr().out


# ---- bad input before any work ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["file", "under-file", "empty"])
def test_unusable_results_folder_is_refused_up_front_C1_42_C1_43_C1_57(tmp_path, capsys, case):
    f = tmp_path / "afile"
    f.write_text("x")
    target = {"file": str(f), "under-file": str(f / "sub"), "empty": ""}[case]
    t0 = time.perf_counter()
    assert _run("--method", "itq", "--dataset", "shapes", "--bits", "16", "--results", target) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--results" in err and ("is a file" in err or "is empty" in err)
    assert time.perf_counter() - t0 < 10  # refused before loading data and training


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders (the review used chattr +i)")
def test_unwritable_results_folder_is_refused_up_front_C1_56(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert _run("--method", "lsh", "--dataset", "digits", "--bits", "16", "--results", str(ro / "r")) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_unwritable_results_folder_is_refused_even_for_root(tmp_path, capsys, monkeypatch):
    """What chattr +i does to root (C1-56), simulated: creating the probe file fails."""
    import tempfile as _tf

    def denied(*a, **k):
        raise PermissionError(13, "Operation not permitted")

    monkeypatch.setattr(_tf, "mkstemp", denied)
    assert _run("--method", "lsh", "--dataset", "digits", "--bits", "16", "--results", str(tmp_path / "r")) == 2
    assert "is not writable (Operation not permitted" in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize("dataset", ["shapes", "digits"])
def test_image_size_on_builtin_datasets_is_a_clear_error_C1_52_C1_55(tmp_path, capsys, dataset):
    assert _run("--method", "lsh", "--dataset", dataset, "--image-size", "32", "--results", str(tmp_path)) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"Dataset '{dataset}' does not take --image-size" in err and "Traceback" not in err


def test_protocol_and_adhoc_flags_conflict_C1_90(tmp_path, capsys):
    assert (
        _run(
            "--method",
            "lsh",
            "--dataset",
            "folder:x",
            "--protocol",
            "p.toml",
            "--unseen",
            "a",
            "--train-per-class",
            "2",
            "--query-per-class",
            "1",
            "--results",
            str(tmp_path),
        )
        == 2
    )
    assert "both define the protocol" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--resume"], ["--checkpoint-every", "5"]])
def test_checkpoint_flags_on_a_shallow_method_are_refused_C1_89(tmp_path, capsys, flag):
    assert _run("--method", "lsh", "--dataset", "digits", "--bits", "16", *flag, "--results", str(tmp_path)) == 2
    assert f"{flag[0]} applies to deep methods" in " ".join(capsys.readouterr().err.split())
    assert not list(tmp_path.rglob("*.json"))


def test_empty_protocol_name_C1_06(tmp_path, capsys):
    assert _run("--method", "lsh", "--dataset", "digits", "--protocol", "", "--results", str(tmp_path)) == 2
    assert "--protocol is empty" in capsys.readouterr().err


def test_results_inside_a_folder_dataset_are_refused_F_20(tmp_path, capsys, monkeypatch):
    from PIL import Image

    root = tmp_path / "pets"
    for c in ("a", "b", "c"):
        (root / c).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (8, 8), (i * 40, 10 * ord(c) % 255, 0)).save(root / c / f"{i}.png")
    monkeypatch.chdir(root)
    assert (
        _run(
            "--method",
            "lsh",
            "--dataset",
            "folder:.",
            "--unseen",
            "c",
            "--train-per-class",
            "3",
            "--query-per-class",
            "2",
            "--bits",
            "8",
            "--image-size",
            "8",
        )
        == 2
    )  # default ./results
    assert "lies inside the dataset folder" in " ".join(capsys.readouterr().err.split())
    assert not (root / "results").exists()


# ---- records in the way -----------------------------------------------------------------------------------


def test_corrupt_record_stops_run_with_the_fix_then_force_replaces_it_K_11(tmp_path, capsys):
    base = ["--method", "lsh", "--dataset", "digits", "--bits", "16", "--seeds", "0,1", "--results", str(tmp_path)]
    assert _run(*base) == 0
    victim = sorted(tmp_path.rglob("*.json"))[0]
    victim.write_text(victim.read_text()[:40])
    capsys.readouterr()
    assert _run(*base) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert victim.name in err and "Delete the file(s), or rerun with --force" in err
    assert _run(*base, "--force") == 0
    assert len(_records(tmp_path)) == 2


def test_sweep_reruns_a_corrupt_record_instead_of_counting_it_done_K_12(tmp_path, capsys):
    argv = [
        "sweep",
        "--methods",
        "lsh",
        "--datasets",
        "digits",
        "--bits",
        "16",
        "--seeds",
        "0,1",
        "--results",
        str(tmp_path),
        "--workers",
        "1",
    ]
    assert main(argv) == 0
    victim = sorted(tmp_path.rglob("b16-s1-*.json"))[0]
    victim.write_text("{")
    capsys.readouterr()
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 run(s) to do" in out and "1 skipped" in out and "not done (the record cannot be used" in out
    recs = _records(tmp_path)
    assert sorted(r.seed for r in recs) == [0, 1]


def test_edited_record_is_not_taken_as_done(tmp_path, capsys):
    base = ["--method", "lsh", "--dataset", "digits", "--bits", "16", "--results", str(tmp_path)]
    assert _run(*base) == 0
    p = next(tmp_path.rglob("*.json"))
    d = json.loads(p.read_text())
    d["metrics"]["map@5000"] = 0.99  # R04: a metric edited by hand
    p.write_text(json.dumps(d))
    capsys.readouterr()
    assert _run(*base) == 2
    assert "edited after it was written" in " ".join(capsys.readouterr().err.split())


# ---- leaderboard and report on hostile records ------------------------------------------------------------


def _valid_record(tmp_path) -> Record:
    res = tmp_path / "src"
    assert _run("--method", "lsh", "--dataset", "digits", "--bits", "16", "--results", str(res)) == 0
    return _records(res)[0]


def test_report_never_writes_outside_out_M1_R20(tmp_path, capsys):
    rec = _valid_record(tmp_path)
    res = tmp_path / "res"
    d = rec.to_dict()
    d["dataset"] = "../../../../PWNED_REPORT"
    (res / "x").mkdir(parents=True)
    (res / "x" / "evil.json").write_text(json.dumps(d))
    write_record(rec, res / "digits" / "digits-zsh" / "lsh" / Path(rec.path).name)
    out = tmp_path / "deep" / "a" / "b" / "out"
    assert main(["report", "--results", str(res), "--out", str(out)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "evil.json" in err and "must be a dataset name" in err
    written = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()}
    assert all(
        out.resolve() in p.parents or res.resolve() in p.parents or (tmp_path / "src").resolve() in p.parents
        for p in written
    )
    assert not list(tmp_path.rglob("*PWNED*"))


def test_leaderboard_check_compares_protocol_hash_with_the_pin_P_04_R34(tmp_path, capsys):
    rec = _valid_record(tmp_path)
    proto = dict(rec.protocol, sha256="e" * 64)
    ident = dict(rec.identity, protocol=proto)
    forged = Record.create(
        identity=ident,
        params=rec.params,
        config_hash=rec.config_hash,
        split_fingerprint=rec.split_fingerprint,
        metrics=rec.metrics,
        metric_conventions=rec.metric_conventions,
        timings=rec.timings,
        complexity=rec.complexity,
        environment=rec.environment,
        zshbench_version=rec.zshbench_version,
        features=rec.features,
    )
    res = tmp_path / "res"
    for r in (rec, forged):
        write_record(
            r,
            record_path(
                res,
                dataset=r.dataset,
                protocol=r.protocol["name"],
                method=r.method,
                n_bits=r.n_bits,
                seed=r.seed,
                id_hash=r.identity_hash,
            ),
        )
    out = tmp_path / "out"
    assert main(["report", "--results", str(res), "--out", str(out), "--no-figures"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--check", "--results", str(res), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "unpinned:" in printed and "has content sha256 eeeeeeeeeeee, but its pin is" in printed


def test_leaderboard_check_requires_one_split_per_protocol_version_R33(tmp_path, capsys):
    rec = _valid_record(tmp_path)
    from zshbench.leaderboard import protocol_problems

    ident = dict(rec.identity, seed=1, config=dict(rec.identity["config"], seed=1))
    other = Record.create(
        identity=ident,
        params=dict(rec.params, seed=1),
        config_hash=rec.config_hash,
        split_fingerprint="1" * 64,
        metrics=rec.metrics,
        metric_conventions=rec.metric_conventions,
        timings=rec.timings,
        complexity=rec.complexity,
        environment=rec.environment,
        zshbench_version=rec.zshbench_version,
        features=rec.features,
    )
    probs = protocol_problems([rec, other])
    assert len(probs) == 1 and "2 different split fingerprints" in probs[0]


def test_empty_and_file_results_folders_L_02_L_03(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["leaderboard", "--results", str(tmp_path / "empty")]) == 2
    assert "holds no records" in " ".join(capsys.readouterr().err.split())
    (tmp_path / "f").write_text("x")
    assert main(["leaderboard", "--results", str(tmp_path / "f")]) == 2
    assert "is a file, not a results folder" in " ".join(capsys.readouterr().err.split())


def test_report_out_is_a_file_L_07(tmp_path, capsys):
    rec = _valid_record(tmp_path)
    (tmp_path / "f").write_text("x")
    assert main(["report", "--results", str(Path(rec.path).parents[3]), "--out", str(tmp_path / "f")]) == 2
    assert "--out" in capsys.readouterr().err


def test_protocol_without_action_exits_2_L_13(capsys):
    assert main(["protocol"]) == 2
    assert "needs an action" in capsys.readouterr().err


# ---- K-08: sweep workers die with the sweep ----------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_worker_dies_when_its_sweep_is_killed_K_08(tmp_path):
    """A process standing in for the sweep starts a worker the way LocalLauncher does; kill -9 of the sweep must
    end the worker (it used to run on orphaned beside a rerun of the same sweep)."""
    pidfile = tmp_path / "worker.pid"
    code = (
        "import subprocess, sys, time\n"
        "from zshbench.sweep.local import _die_with_parent\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], preexec_fn=_die_with_parent)\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "p.wait()\n"
    )
    sweep = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 30
    while not (pidfile.exists() and pidfile.read_text()) and time.time() < deadline:
        time.sleep(0.1)
    worker = int(pidfile.read_text())
    os.kill(sweep.pid, signal.SIGKILL)
    sweep.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        try:  # reap it if it became our grandchild's zombie (init reaps it otherwise)
            os.waitpid(worker, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived the killed sweep")
