"""`zshbench sweep`: grid files, expansion, skipping existing records, the local launcher, bad input."""

import dataclasses
import json
from pathlib import Path

import pytest

from zshbench.cli import main
from zshbench.errors import UserError
from zshbench.records import load_records
from zshbench.sweep import Grid, Job, LaunchOptions, LocalLauncher, expand, load_grid, method_overrides, pending

REPO = Path(__file__).resolve().parents[1]


def test_committed_grid_covers_the_main_methods_on_every_builtin_dataset_without_step_caps():
    from zshbench.registry import METHODS

    text = (REPO / "leaderboard" / "grid.toml").read_text()
    g = load_grid(REPO / "leaderboard" / "grid.toml")
    jobs = expand(g, "unused")
    main = {"razh", "comae", "lsh", "itq", "sh", "pcah", "sdh"}
    assert {j.method for j in jobs} == main
    assert {j.dataset for j in jobs} == {"fashion", "shapes", "digits"}
    assert len(jobs) == len(main) * 3 * 4 * 3 - 2 * 3  # itq, pcah: no 128 bits from 64-d digits
    assert not [j for j in jobs if j.method in ("itq", "pcah") and j.dataset == "digits" and j.bits == (128,)]
    assert jobs[0].method == "razh"  # the longest first
    # every deep method trains to its default budget: no step cap, no epoch override
    assert not g.overrides and not any(j.overrides for j in jobs)
    # every other registered method is in the zoo grid or the ablation grid (razh-f: pretrained weights only)
    zoo = {j.method for j in expand(load_grid(REPO / "leaderboard" / "zoo.toml"), "unused")}
    ablation_grid = load_grid(REPO / "leaderboard" / "ablations.toml")
    variants = set(ablation_grid.methods)
    assert set(METHODS.names()) - main - {"razh-f"} == zoo | variants
    assert not (zoo | variants) & main and not zoo & variants
    assert "razh-f" in text  # ... and grid.toml says so
    for g in (load_grid(REPO / "leaderboard" / "zoo.toml"), ablation_grid):
        assert not g.overrides and not any(
            "max_steps" in o or "epochs" in o for j in expand(g, "u") for o in j.overrides
        )


def test_committed_ablation_grid_runs_the_papers_ablations_at_24_and_64_bits():
    g = load_grid(REPO / "leaderboard" / "ablations.toml")
    jobs = expand(g, "unused")
    assert {j.bits[0] for j in jobs} == {24, 64}
    settings = {o for j in jobs for o in j.overrides}
    # RAZH Table VI (RAZH-C, -A, -D), Table IV (loss terms), Table V (selection ratios 0.25, 0.75)
    assert settings == {
        "variant=no-cluster",
        "variant=no-attr",
        "variant=random-branches",
        "loss_terms=cls",
        "loss_terms=hash",
        "loss_terms=cls+hash",
        "mask_ratio=0.25",
        "mask_ratio=0.75",
    }
    assert {j.method for j in jobs} == {"razh", "razh-t", "comae-v1", "comae-v2", "comae-v3"}
    assert {j.dataset for j in jobs} == {"shapes", "fashion"}
    assert len(jobs) == (4 + 8) * 2 * 2  # 4 variants + 8 RAZH settings, 2 datasets, 2 code lengths, seed 0


def test_ablation_entries_expand_after_the_grid_with_their_settings_and_own_lists(tmp_path):
    p = tmp_path / "grid.toml"
    p.write_text(
        'methods = ["lsh"]\ndatasets = ["digits", "shapes"]\nbits = [16, 24]\nseeds = [0]\n'
        '[overrides]\n"i*" = ["n_iter=3"]\n'
        '[[ablation]]\nmethod = "itq"\nset = ["n_iter=7"]\nlabel = "more iterations"\ndatasets = ["digits"]\n'
        "bits = [16]\nseeds = [0, 1]\n"
        '[[ablation]]\nmethod = "lsh"\nset = ["n_bits=16"]\nlabel = "x"\n'
    )
    g = load_grid(p)
    assert g.ablations[0] == {
        "method": "itq",
        "set": ["n_iter=7"],
        "label": "more iterations",
        "datasets": ["digits"],
        "bits": [16],
        "seeds": [0, 1],
    }
    jobs = expand(g, "r")
    runs = [(j.method, j.dataset, j.bits[0], j.seeds[0], j.overrides) for j in jobs]
    assert runs[:4] == [("lsh", d, b, 0, ()) for d in ("digits", "shapes") for b in (16, 24)]
    # the grid's overrides for the method first, then the ablation's set (later keys win)
    assert runs[4:6] == [("itq", "digits", 16, s, ("n_iter=3", "n_iter=7")) for s in (0, 1)]
    assert runs[6:] == [("lsh", d, b, 0, ("n_bits=16",)) for d in ("digits", "shapes") for b in (16, 24)]
    # [[exclude]] applies to ablation runs too
    g.exclude = [{"methods": ["itq"], "seeds": [1], "reason": "t"}]
    assert [(j.method, j.seeds) for j in expand(g, "r") if j.method == "itq"] == [("itq", (0,))]


def test_sweep_methods_flag_narrows_the_ablation_entries(tmp_path, capsys):
    p = tmp_path / "grid.toml"
    p.write_text(
        'methods = ["lsh"]\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n'
        '[[ablation]]\nmethod = "itq"\nset = ["n_iter=7"]\nlabel = "x"\n'
    )
    r = str(tmp_path / "r")
    assert main(["sweep", "--grid", str(p), "--results", r, "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "2 run(s) to do" in out and "--method itq" in out and "--set n_iter=7" in out
    assert main(["sweep", "--grid", str(p), "--methods", "lsh", "--results", r, "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 run(s) to do" in out and "--method itq" not in out
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("*.json"))


def test_method_overrides_patterns_and_scoped_set():
    g = Grid(["all"], ["digits"], [16], [0], overrides={"razh*": ["max_steps=2"], "razh-t": ["lr=0.1"]})
    assert method_overrides(g, "razh-t", ["epochs=1", "razh*:batch_size=8", "itq:n_iter=3"]) == (
        "max_steps=2",
        "lr=0.1",
        "epochs=1",
        "batch_size=8",
    )
    assert method_overrides(g, "itq", ["itq:n_iter=3", "word_vectors=glove:/x"]) == (
        "n_iter=3",
        "word_vectors=glove:/x",
    )


def test_job_argv_round_trips_through_the_cli_parser():
    from zshbench.cli import build_parser

    j = Job("itq", "digits", (16, 32), (0, 1), "res", protocol="digits-zsh", overrides=("n_iter=3",))
    args = build_parser().parse_args(j.argv())
    assert (args.method, args.dataset, args.bits, args.seeds, args.results, args.protocol, args.overrides) == (
        "itq",
        "digits",
        [16, 32],
        [0, 1],
        "res",
        "digits-zsh",
        ["n_iter=3"],
    )
    same = Job("itq", "digits", (16, 32), (0, 1), "elsewhere", protocol="digits-zsh", overrides=("n_iter=3",))
    assert j.name == same.name  # the results folder is not part of a job's name
    # the protocol and the evaluation variant are: their logs must not overwrite each other's
    names = {
        j.name,
        dataclasses.replace(j, protocol="digits-zsh@1").name,
        dataclasses.replace(j, eval_variant="leaky").name,
    }
    assert len(names) == 3


def test_grid_runs_every_listed_protocol_and_the_eval_variant(tmp_path):
    from zshbench.protocols import load_protocol
    from zshbench.protocols.resample import resample, write_resampled

    write_resampled(resample(load_protocol("digits-zsh"), 2), tmp_path / "splits")
    p = tmp_path / "grid.toml"
    p.write_text(
        'methods = ["lsh"]\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\neval_variant = "leaky"\n'
        '[protocols]\ndigits = ["digits-zsh", "splits/digits-zsh-rs01.toml", "splits/digits-zsh-rs02.toml"]\n'
    )
    jobs = expand(load_grid(p), "r")
    assert [j.protocol for j in jobs] == [
        "digits-zsh",
        *(str(tmp_path / f"splits/digits-zsh-rs0{i}.toml") for i in (1, 2)),
    ]
    assert all(j.eval_variant == "leaky" and j.argv()[-2:] == ["--eval-variant", "leaky"] for j in jobs)
    todo, skipped = pending(jobs)
    assert len(todo) == 3 and skipped == 0
    p.write_text('methods = ["lsh"]\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\neval_variant = "leakyy"\n')
    with pytest.raises(UserError, match="eval_variant"):
        load_grid(p)


def test_exclude_rules_match_on_every_given_key(tmp_path):
    p = tmp_path / "grid.toml"
    p.write_text(
        'methods = ["lsh", "itq"]\ndatasets = ["digits", "shapes"]\nbits = [16, 128]\nseeds = [0, 1]\n'
        '[[exclude]]\nmethods = ["i*"]\ndatasets = ["digits"]\nbits = [128]\nreason = "64-d"\n'
        '[[exclude]]\nseeds = [1]\nreason = "one seed only"\n'
    )
    runs = {(j.method, j.dataset, j.bits[0], j.seeds[0]) for j in expand(load_grid(p), "r")}
    assert runs == {(m, d, b, 0) for m in ("lsh", "itq") for d in ("digits", "shapes") for b in (16, 128)} - {
        ("itq", "digits", 128, 0)
    }


def test_grouping_never_brings_back_excluded_or_recorded_runs(tmp_path):
    from zshbench.runner import run

    g = Grid(["lsh"], ["digits"], [16, 24], [0, 1], exclude=[{"bits": [24], "seeds": [1], "reason": "test"}])
    jobs, skipped = pending(expand(g, tmp_path))
    assert skipped == 0 and sorted((j.bits, j.seeds) for j in jobs) == [((16,), (0, 1)), ((24,), (0,))]
    run("lsh", "digits", bits=[16], seeds=[1], results_dir=tmp_path, progress=False)
    jobs, skipped = pending(expand(g, tmp_path))
    assert skipped == 1 and sorted((j.bits, j.seeds) for j in jobs) == [((16, 24), (0,))]
    assert sum(j.n_runs for j in jobs) == 2


def test_repeated_names_and_numbers_count_once():
    jobs = expand(Grid(["lsh", "lsh"], ["digits", "digits"], [16, 16], [0, 0]), "r")
    assert len(jobs) == 1


def test_checkpoint_every_reaches_deep_jobs_only():
    jobs = expand(Grid(["razh", "lsh"], ["digits"], [16], [0]), "r", checkpoint_every=5, resume=True)
    argv = {j.method: j.argv() for j in jobs}
    assert argv["razh"][-3:] == ["--checkpoint-every", "5", "--resume"]
    assert "--checkpoint-every" not in argv["lsh"] and "--resume" not in argv["lsh"]


def test_local_sweep_runs_skips_and_groups(tmp_path, capsys):
    res = tmp_path / "res"
    argv = [
        "sweep",
        "--methods",
        "lsh,itq",
        "--datasets",
        "digits",
        "--bits",
        "16,32",
        "--seeds",
        "0",
        "--results",
        str(res),
        "--workers",
        "2",
        "--set",
        "itq:n_iter=5",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "4 run(s) to do in 2 job(s), 0 skipped" in out and "[2/2] done" in out
    recs, errs = load_records(res)
    assert not errs and sorted((r["method"], r["n_bits"]) for r in recs) == [
        ("itq", 16),
        ("itq", 32),
        ("lsh", 16),
        ("lsh", 32),
    ]
    assert all(r["params"]["n_iter"] == 5 for r in recs if r["method"] == "itq")
    assert len(list((res / "sweep-logs").glob("*.log"))) == 2
    # a second sweep finds everything done; one more seed runs only the missing runs
    assert main(argv) == 0
    assert "0 run(s) to do in 0 job(s), 4 skipped" in capsys.readouterr().out
    argv2 = [a if a != "0" else "0,1" for a in argv] + ["--dry-run"]
    assert main(argv2) == 0
    out = capsys.readouterr().out
    assert "4 run(s) to do in 2 job(s), 4 skipped" in out and "--seeds 1 " in out


def test_pending_per_run_and_skip(tmp_path):
    from zshbench.runner import run

    run("lsh", "digits", bits=[16], seeds=[0], results_dir=tmp_path, progress=False)
    jobs = expand(Grid(["lsh"], ["digits"], [16, 32], [0]), tmp_path)
    todo, skipped = pending(jobs, group=False)
    assert skipped == 1 and [(j.bits, j.seeds) for j in todo] == [((32,), (0,))]


def test_failed_job_is_reported_with_its_log_and_others_complete(tmp_path, capsys, monkeypatch):
    res = tmp_path / "res"
    real = Job.command

    def command(self):  # make the itq job fail inside the subprocess, after validation
        cmd = real(self)
        return cmd + ["--k", "0"] if self.method == "itq" else cmd

    monkeypatch.setattr(Job, "command", command)
    rc = main(
        [
            "sweep",
            "--methods",
            "itq,lsh",
            "--datasets",
            "digits",
            "--bits",
            "16",
            "--seeds",
            "0",
            "--results",
            str(res),
            "--workers",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1
    assert "1 of 2 job(s) failed" in out and "exit code 2" in out and "k must be a positive integer" in out
    recs, _ = load_records(res)
    assert [r["method"] for r in recs] == ["lsh"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--methods", "lsx", "--datasets", "digits", "--bits", "16", "--seeds", "0"], "Did you mean: lsh"),
        (["--methods", "zz*", "--datasets", "digits", "--bits", "16", "--seeds", "0"], "matches the pattern 'zz*'"),
        (["--methods", "lsh", "--datasets", "digitz", "--bits", "16", "--seeds", "0"], "digitz"),
        (["--methods", "lsh", "--datasets", "digits", "--bits", "16", "--seeds", "0", "--set", "nope=1"], "nope"),
        (["--methods", "lsh", "--datasets", "digits", "--bits", "4", "--seeds", "0"], "4"),
        (["--methods", "lsh", "--datasets", "digits", "--bits", "16,4", "--seeds", "0"], "4"),
        (["--methods", "lsh", "--datasets", "digits"], "no --bits, --seeds"),
        (["--methods", "lsh", "--datasets", "digits", "--bits", "16", "--seeds", "0", "--workers", "0"], "--workers"),
        (
            ["--methods", "lsh", "--datasets", "digits", "--bits", "16", "--seeds", "0", "--launcher", "pbs"],
            "Unknown launcher 'pbs'",
        ),
        (
            ["--methods", "lsh", "--datasets", "digits", "--bits", "16", "--seeds", "0", "--checkpoint-every", "-1"],
            "--checkpoint-every must be 0",
        ),
        (
            ["--methods", "lsh", "--datasets", "digits", "--bits", "16", "--seeds", "0", "--set", "lhs*:center=false"],
            "no registered method matches it",
        ),
    ],
)
def test_bad_sweep_input_exit_2_before_running_anything(argv, message, tmp_path, capsys):
    res = tmp_path / "res"
    assert main(["sweep", *argv, "--results", str(res)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in " ".join(err.split())
    assert not list(res.rglob("*.json"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("methods = [", "not valid TOML"),
        ('methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\ncolour = 1\n', "unknown key(s) colour"),
        ('methods = "all"\ndatasets = ["digits"]\nseeds = [0]\n', "lacks bits"),
        ('methods = "all"\ndatasets = ["digits"]\nbits = ["16"]\nseeds = [0]\n', "'bits' must be a non-empty list"),
        ('methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\noverrides = 3\n', "[overrides]"),
        (
            'methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n[[exclude]]\nbits = [16]\n',
            "has no reason",
        ),
        (
            'methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n'
            '[[exclude]]\nbitz = [16]\nreason = "x"\n',
            "unknown key(s) bitz",
        ),
        (
            'methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n'
            '[[ablation]]\nmethod = "itq"\nset = ["n_iter=3"]\n',
            "needs method (one registered name) and label",
        ),
        (
            'methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n'
            '[[ablation]]\nmethod = "i*"\nset = ["n_iter=3"]\nlabel = "x"\n',
            "needs method (one registered name) and label",
        ),
        (
            'methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n'
            '[[ablation]]\nmethod = "itq"\nset = ["n_iter"]\nlabel = "x"\n',
            'not "key=value"',
        ),
        (
            'methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n'
            '[[ablation]]\nmethod = "itq"\nlabel = "x"\n',
            "'ablation[1].set' must be a non-empty list",
        ),
        (
            'methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n'
            '[[ablation]]\nmethod = "itq"\nset = ["n_iter=3"]\nlabel = "x"\nbitz = [1]\n',
            "unknown key(s) bitz",
        ),
        ('methods = "all"\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\nablation = 3\n', "[[ablation]]"),
    ],
)
def test_bad_grid_file(text, message, tmp_path, capsys):
    p = tmp_path / "grid.toml"
    p.write_text(text)
    with pytest.raises(UserError, match=None) as exc:
        load_grid(p)
    assert message in str(exc.value)
    assert main(["sweep", "--grid", str(p), "--results", str(tmp_path / "r")]) == 2
    assert main(["sweep", "--grid", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())


def test_local_launcher_orders_deep_and_large_jobs_first(tmp_path, monkeypatch):
    started = []
    launcher = LocalLauncher(LaunchOptions(results=str(tmp_path), workers=1))
    monkeypatch.setattr(
        launcher,
        "_run",
        lambda job: (
            started.append(job.method) or __import__("zshbench.sweep", fromlist=["JobResult"]).JobResult(job, True)
        ),
    )
    jobs = [
        Job("itq", "digits", (16,), (0,), "r"),
        Job("lsh", "digits", (16, 32), (0,), "r"),
        Job("comae", "digits", (16,), (0,), "r", inputs="images"),
        Job("razh", "digits", (16,), (0,), "r", inputs="images"),
    ]
    results = launcher.launch(jobs)
    assert started == ["comae", "razh", "lsh", "itq"] and all(r.ok for r in results)


def test_local_sweep_on_shapes_feeds_the_leaderboard(tmp_path, capsys):
    res = tmp_path / "res"
    assert (
        main(
            [
                "sweep",
                "--methods",
                "lsh",
                "--datasets",
                "shapes",
                "--bits",
                "16",
                "--seeds",
                "0,1",
                "--results",
                str(res),
                "--per-run",
                "--workers",
                "2",
            ]
        )
        == 0
    )
    assert "2 run(s) to do in 2 job(s)" in capsys.readouterr().out
    assert main(["leaderboard", "--results", str(res), "--format", "json", "--metric", "map@all"]) == 0
    (table,) = json.loads(capsys.readouterr().out)
    assert (table["dataset"], table["protocol"]) == ("shapes", "shapes-zsh")
    assert table["rows"][0]["cells"]["16"]["n"] == 2


def test_several_grid_files_form_one_queue_and_a_shared_run_runs_once(tmp_path, capsys):
    """`--grid A --grid B` (what `make leaderboard` does): one plan over both files, costliest jobs first across
    them, a run listed by both planned once, and each grid's own settings kept."""
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('methods = ["lsh"]\ndatasets = ["digits"]\nbits = [16, 24]\nseeds = [0]\n')
    # b repeats lsh/digits/16/0 (the shared run) and brings a deep job and an itq setting of its own
    b.write_text(
        'methods = ["lsh", "razh"]\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n'
        '[overrides]\n"razh" = ["max_steps=1"]\n'
        '[[ablation]]\nmethod = "itq"\nset = ["n_iter=3"]\nlabel = "x"\n'
    )
    res = tmp_path / "res"
    assert main(["sweep", "--grid", str(a), "--grid", str(b), "--results", str(res), "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    # lsh 16 + lsh 24 (a), razh 16 and itq 16 (b); lsh 16 of b is a's run: 4 runs, not 5
    assert "4 run(s) to do in 3 job(s), 0 skipped" in out
    lines = [ln for ln in out.split("zshbench run ")[1:]]
    assert lines[0].startswith("--method razh")  # the deep job of the SECOND file first
    assert "--method lsh --dataset digits --bits 16,24 " in out  # a's lsh runs in one job, the shared one once
    assert "--set n_iter=3" in out and "--set max_steps=1" in out
    assert not res.exists() or not list(res.rglob("*.json"))

    # the same plan through the library, then really run (shallow runs only; the deep one is cheap but not needed)
    from zshbench.sweep import sweep

    grids = [load_grid(a), load_grid(b)]
    for g in grids:
        g.methods = [m for m in g.methods if m != "razh"]
    done = sweep(grids, options=LaunchOptions(results=str(res), workers=2))
    assert all(r.ok for r in done) and sorted(r.job.n_runs for r in done) == [1, 2]
    recs, errs = load_records(res)
    assert not errs and sorted((r["method"], r["n_bits"]) for r in recs) == [("itq", 16), ("lsh", 16), ("lsh", 24)]
    assert sweep(grids, options=LaunchOptions(results=str(res), workers=2)) == []  # all done: nothing relaunched


def test_pending_plans_a_run_listed_twice_once():
    jobs = expand(Grid(["lsh"], ["digits"], [16], [0]), "r") + expand(Grid(["lsh"], ["digits"], [16, 24], [0]), "r")
    todo, skipped = pending(jobs, group=False)
    assert skipped == 0 and sorted((j.bits, j.seeds) for j in todo) == [((16,), (0,)), ((24,), (0,))]
    todo, _ = pending(jobs)
    assert [(j.bits, j.seeds) for j in todo] == [((16, 24), (0,))]


def test_a_bad_second_grid_file_stops_the_sweep_before_any_run(tmp_path, capsys):
    a = tmp_path / "a.toml"
    a.write_text('methods = ["lsh"]\ndatasets = ["digits"]\nbits = [16]\nseeds = [0]\n')
    res = tmp_path / "res"
    assert main(["sweep", "--grid", str(a), "--grid", str(tmp_path / "missing.toml"), "--results", str(res)]) == 2
    assert "missing.toml does not exist" in " ".join(capsys.readouterr().err.split())
    assert not res.exists()


def test_two_grids_listing_done_runs_count_each_once(tmp_path, capsys):
    from zshbench.runner import run

    run("lsh", "digits", bits=[16, 24], seeds=[0], results_dir=tmp_path / "r", progress=False)
    a = tmp_path / "a.toml"
    a.write_text('methods = ["lsh"]\ndatasets = ["digits"]\nbits = [16, 24]\nseeds = [0]\n')
    argv = ["sweep", "--grid", str(a), "--grid", str(a), "--results", str(tmp_path / "r"), "--dry-run"]
    assert main(argv) == 0
    assert "0 run(s) to do in 0 job(s), 2 skipped" in " ".join(capsys.readouterr().out.split())


def test_log_names_of_protocol_files_with_one_stem_differ(tmp_path):
    one = Job("lsh", "digits", (16,), (0,), "r", protocol=str(tmp_path / "a" / "p.toml"))
    two = dataclasses.replace(one, protocol=str(tmp_path / "b" / "p.toml"))
    assert one.name != two.name and one.name.startswith("lsh__digits__b16__s0__p-")
