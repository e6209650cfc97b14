"""Paper-ready outputs: ``run --save-codes/--save-model``, ``encode``, ``retrieve`` (every bad input: exit 2, one
paragraph, nothing written)."""

import shutil

import numpy as np
import pytest

from zshbench.artifacts import codes_path, model_path, read_codes_file
from zshbench.cli import main
from zshbench.records import load_records

RUN = ["run", "--method", "lsh", "--dataset", "digits", "--bits", "16", "--seeds", "0", "--no-progress"]


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_paragraph_error(code, err):
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One lsh run on digits with codes and model saved, and one without (for the identity)."""
    root = tmp_path_factory.mktemp("outputs")
    assert main([*RUN, "--results", str(root / "with"), "--save-codes", "--save-model"]) == 0
    assert main([*RUN, "--results", str(root / "without")]) == 0
    (rec,), _ = load_records(root / "with")
    (plain,), _ = load_records(root / "without")
    return root, rec, plain


def test_run_saves_codes_and_model_beside_the_record(saved):
    root, rec, plain = saved
    assert rec.identity_hash == plain.identity_hash and rec.identity == plain.identity
    assert set(rec.to_dict()) == set(plain.to_dict())  # the record schema is untouched
    cp, mp = codes_path(rec.path), model_path(rec.path)
    assert cp.name == rec.path.rsplit("/", 1)[1].replace(".json", ".codes.npz") and mp.name.endswith(
        ".model.safetensors"
    )
    data = read_codes_file(cp, need=("query", "database"))
    assert data["n_bits"] == 16 and data["method"] == "lsh" and data["dataset"] == "digits"
    assert data["query_codes"].shape == (rec.split_counts["query"], 2) and data["query_codes"].dtype == np.uint8
    assert data["database_codes"].shape == (rec.split_counts["database"], 2)
    from zshbench.runner import load_dataset

    ds = load_dataset("digits")
    assert np.array_equal(ds.labels[data["database_index"]], data["database_labels"])
    import zshbench

    h = zshbench.load_hasher(mp)
    assert h.name == "lsh" and h.n_bits == 16
    # nothing else beside the record, no temporary files left
    names = sorted(p.name.split(".", 1)[1] for p in cp.parent.iterdir())
    assert names == ["codes.npz", "json", "model.safetensors", "perquery.npz"]
    from safetensors import safe_open

    with safe_open(str(mp), framework="pt") as f:  # a plain safetensors file: any reader lists its tensors
        assert f.metadata()["zshbench"].startswith("{") and len(list(f.keys())) >= 1


def test_rerun_with_save_codes_reruns_a_record_without_them(capsys, saved, tmp_path):
    root, rec, plain = saved
    results = tmp_path / "r"
    shutil.copytree(root / "without", results)
    code, out, _ = cli(capsys, *RUN, "--results", results)
    assert code == 0 and "0 new record(s), 1 skipped" in out
    code, out, _ = cli(capsys, *RUN, "--results", results, "--save-codes")
    assert code == 0 and "1 new record(s)" in out
    (again,), _ = load_records(results)
    assert again.identity_hash == plain.identity_hash and codes_path(again.path).is_file()
    code, out, _ = cli(capsys, *RUN, "--results", results, "--save-codes")
    assert code == 0 and "1 skipped" in out


def test_encode_matches_the_runs_codes(capsys, saved, tmp_path):
    root, rec, _ = saved
    out = tmp_path / "sub" / "enc.npz"
    code, _, err = cli(capsys, "encode", "--model", model_path(rec.path), "--dataset", "digits", "--out", out)
    assert code == 0, err
    enc, ran = read_codes_file(out, need=("query", "database", "train")), read_codes_file(codes_path(rec.path))
    for key in ("query_codes", "database_codes", "query_index", "database_labels"):
        assert np.array_equal(enc[key], ran[key])
    out2 = tmp_path / "q.npz"
    code, _, err = cli(
        capsys, "encode", "--model", model_path(rec.path), "--dataset", "digits", "--part", "query", "--out", out2
    )
    assert code == 0 and read_codes_file(out2)["parts"] == ["query"]


def test_encode_refuses_bad_input_before_work(capsys, saved, tmp_path):
    root, rec, _ = saved
    model = model_path(rec.path)
    base = ["encode", "--dataset", "digits"]
    cases = [
        ([*base, "--model", tmp_path / "missing.model.safetensors", "--out", tmp_path / "a.npz"], "no such file"),
        ([*base, "--model", rec.path, "--out", tmp_path / "a.npz"], "not a hasher saved by zshbench"),
        ([*base, "--model", model, "--out", tmp_path / "a.npz", "--bits", "32"], "not 32"),
        ([*base, "--model", model, "--out", tmp_path / "a.npz", "--method", "itq"], "not 'itq'"),
        ([*base, "--model", model, "--out", tmp_path / "a.txt"], "must end in .npz"),
        ([*base, "--model", model, "--out", tmp_path], "is a folder"),
        ([*base, "--model", model, "--out", rec.path + "/x.npz"], "cannot be used as a folder"),
    ]
    for argv, words in cases:
        code, _, err = cli(capsys, *argv)
        one_paragraph_error(code, err)
        assert words in " ".join(err.split()), (argv, err)
    # a model renamed to another run's bits: the name and the content disagree
    renamed = tmp_path / "lsh" / model.name.replace("b16-", "b32-")
    renamed.parent.mkdir()
    shutil.copy(model, renamed)
    code, _, err = cli(capsys, *base, "--model", renamed, "--out", tmp_path / "a.npz")
    one_paragraph_error(code, err)
    assert "32 bits" in err
    # a state edited to make other codes than its config says, in every format
    from zshbench.statefile import read_state_file, write_state_file

    for suffix in (".safetensors", ".npz", ".pt"):
        sd = read_state_file(model)
        sd["config"]["n_bits"] = 24
        edited = write_state_file(tmp_path / f"edited.model{suffix}", sd)
        code, _, err = cli(capsys, *base, "--model", edited, "--out", tmp_path / "a.npz")
        one_paragraph_error(code, err)
        assert "learned state" in err
    # safetensors and npz files that are not saved hashers (plain weights, a codes file)
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "weights.safetensors"))
    for other in (tmp_path / "weights.safetensors", codes_path(rec.path)):
        code, _, err = cli(capsys, *base, "--model", other, "--out", tmp_path / "a.npz")
        one_paragraph_error(code, err)
        assert "not a hasher saved by zshbench" in " ".join(err.split()), err
    assert not any(p.name == "a.npz" for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_encode_from_every_model_format(capsys, saved, tmp_path, suffix):
    """A model re-saved as .npz or .pt encodes exactly what the run's .safetensors model encoded."""
    import zshbench

    root, rec, _ = saved
    other = tmp_path / f"m{suffix}"
    zshbench.load_hasher(model_path(rec.path)).save(other)
    out = tmp_path / "enc.npz"
    code, _, err = cli(capsys, "encode", "--model", other, "--dataset", "digits", "--part", "query", "--out", out)
    assert code == 0, err
    assert np.array_equal(read_codes_file(out)["query_codes"], read_codes_file(codes_path(rec.path))["query_codes"])


def test_retrieve_writes_a_montage(capsys, saved, tmp_path):
    from PIL import Image

    root, rec, _ = saved
    out = tmp_path / "fig" / "montage.png"
    argv = ["retrieve", "--codes", codes_path(rec.path), "--dataset", "digits", "--queries", "3", "--top", "4"]
    code, _, err = cli(capsys, *argv, "--out", out)
    assert code == 0, err
    with Image.open(out) as im:
        # 1 + 4 cells of 1 inch at 100 dpi; 1.5 inch per row, title and labels below
        assert im.format == "PNG" and im.size == (500, 515) and "Software" not in im.info
    first = out.read_bytes()
    code, _, _ = cli(capsys, *argv, "--out", out)
    assert code == 0 and out.read_bytes() == first  # deterministic bytes


def test_retrieve_from_a_record_and_chosen_queries(capsys, saved, tmp_path, monkeypatch):
    """--record finds the run's codes beside it and notes each query's AP; --query picks queries by index."""
    from zshbench.records.sidecar import load_per_query

    root, rec, _ = saved
    pq = load_per_query(rec)
    q = [int(i) for i in pq["ua.query_index"][[3, 0]]]
    by_record, by_codes = tmp_path / "r.png", tmp_path / "c.png"
    common = ["--query", *q, "--top", "4"]
    code, _, err = cli(capsys, "retrieve", "--record", rec.path, *common, "--out", by_record)
    assert code == 0, err
    code, _, err = cli(capsys, "retrieve", "--codes", codes_path(rec.path), *common, "--out", by_codes)
    assert code == 0, err
    assert by_record.read_bytes() != by_codes.read_bytes()  # the record's montage also shows the queries' AP
    from PIL import Image

    with Image.open(by_record) as im:
        assert im.size == (500, 365)  # two rows
    # the montage's rows are the queries asked for, in that order, each with its AP from the per-query results
    import zshbench.retrieval

    seen = {}
    real = zshbench.retrieval.montage_png

    def spy(qimgs, qlabels, results, names, **kw):
        seen.update(labels=list(qlabels), notes=kw["row_notes"], dists=[list(r[2]) for r in results])
        return real(qimgs, qlabels, results, names, **kw)

    monkeypatch.setattr(zshbench.retrieval, "montage_png", spy)
    code, _, err = cli(capsys, "retrieve", "--record", rec.path, *common, "--out", tmp_path / "s.png")
    assert code == 0, err
    from zshbench.runner import load_dataset

    labels = load_dataset("digits").labels
    assert seen["labels"] == [int(labels[i]) for i in q]
    k = rec.evaluation["k"]
    where = {int(i): j for j, i in enumerate(pq["ua.query_index"])}
    assert seen["notes"] == [f"#{i}, AP@{k} {float(pq[f'ua.map@{k}'][where[i]]):.2f}" for i in q]
    assert all(d == sorted(d) for d in seen["dists"])  # nearest first


def test_retrieve_refuses_bad_input(capsys, saved, tmp_path):
    root, rec, plain = saved
    codes = codes_path(rec.path)
    cases = [
        (["--codes", codes, "--queries", "0", "--out", tmp_path / "m.png"], "--queries 0 is out of range"),
        (["--codes", codes, "--top", "500", "--out", tmp_path / "m.png"], "--top 500 is out of range"),
        (["--codes", codes, "--out", tmp_path / "m.jpg"], "must end in .png"),
        (["--codes", tmp_path / "none.npz", "--out", tmp_path / "m.png"], "No codes file"),
        (["--codes", rec.path, "--out", tmp_path / "m.png"], "is not a codes file"),
        (["--codes", codes, "--dataset", "shapes", "--out", tmp_path / "m.png"], "not 'shapes'"),
        (["--codes", codes, "--query", "-1", "--out", tmp_path / "m.png"], "not a query of"),
        (["--record", plain.path, "--out", tmp_path / "m.png"], "was run without --save-codes"),
        (["--record", tmp_path / "none.json", "--out", tmp_path / "m.png"], "none.json"),
        (["--codes", codes, "--query", *range(51), "--out", tmp_path / "m.png"], "at most 50"),
    ]
    for argv, words in cases:
        code, _, err = cli(capsys, "retrieve", *argv)
        one_paragraph_error(code, err)
        assert words in " ".join(err.split()), (argv, err)
    assert not list(tmp_path.iterdir())


# -- zshbench run --config FILE.toml -------------------------------------------------------------------------


def write(path, text):
    path.write_text(text)
    return path


def test_run_config_file_with_flags_overriding(capsys, tmp_path):
    results = tmp_path / "res"
    cfg = write(
        tmp_path / "run.toml",
        f'method = "lsh"\ndataset = "digits"\nbits = [16, 24]\nseeds = 0\nresults = "{results}"\n'
        "no_progress = true\nset = { center = false }\n",
    )
    code, out, err = cli(capsys, "run", "--config", cfg, "--bits", "8", "--set", "center=true")
    assert code == 0, err
    (rec,), _ = load_records(results)
    assert rec.n_bits == 8 and rec.seed == 0 and rec.params["center"] is True  # the command line wins
    import hashlib

    kept = rec.extras["run_config_file"]  # the file's text is in the record (not in its identity)
    assert kept == {
        "name": "run.toml",
        "sha256": hashlib.sha256(cfg.read_bytes()).hexdigest(),
        "content": cfg.read_text(),
    }
    assert "run_config_file" not in str(rec.identity)
    code, out, err = cli(capsys, "run", "--config", cfg, "--bits", "8")
    assert code == 0 and "1 new record(s)" in out  # center = false from the file: another config
    recs, _ = load_records(results)
    assert sorted(r.params["center"] for r in recs) == [False, True]
    # the same run from flags alone has the same identity as from the file
    code, out, _ = cli(capsys, *RUN[:5], "--bits", "8", "--seeds", "0", "--set", "center=false", "--results", results)
    assert code == 0 and "1 skipped" in out


def test_run_config_errors(capsys, tmp_path):
    cases = [
        ('method = "lsh"\ndataset = "digits"\nbitz = 16\n', "unknown key 'bitz'. Did you mean: bits? Valid keys"),
        ('method = "lsh"\ndataset = "digits"\nbits = "many"\n', "bits = 'many' is not an integer or a list"),
        ('method = "lsh"\ndataset = "digits"\nforce = "yes"\n', "force = 'yes' is not true or false"),
        ('method = "lsh"\ndataset = "digits"\neval_variant = "odd"\n', "one of standard, leaky"),
        ('method = "lsh"\ndataset = "digits"\nset = 3\n', "set must be a table"),
        ('method = "lsh"\ndataset = "digits"\nset = { nope = 1 }\n', "Unknown config key 'nope'"),
        ('dataset = "digits"\n', "needs --method"),
        ("method = [\n", "is not valid TOML"),
    ]
    for i, (text, words) in enumerate(cases):
        cfg = write(tmp_path / f"c{i}.toml", text + f'results = "{tmp_path / "res"}"\n' if "[" not in text else text)
        code, _, err = cli(capsys, "run", "--config", cfg)
        one_paragraph_error(code, err)
        assert words in " ".join(err.split()), (text, err)
    code, _, err = cli(capsys, "run", "--config", tmp_path / "missing.toml")
    one_paragraph_error(code, err)
    assert "no such file" in err
    code, _, err = cli(capsys, "run", "--dataset", "digits")
    one_paragraph_error(code, err)
    assert not (tmp_path / "res").exists()


# -- zshbench.results.to_dataframe ---------------------------------------------------------------------------


def test_to_dataframe_one_row_per_record_setting_metric(saved, monkeypatch):
    pd = pytest.importorskip("pandas")
    from zshbench.results import COLUMNS, to_dataframe

    root, rec, plain = saved
    df = to_dataframe([rec, plain])
    want = ["dataset", "protocol", "protocol_version", "method", "method_version", "config_hash", "bits", "seed"]
    assert set(want + ["setting", "metric", "value"]) <= set(df.columns) and list(df.columns) == list(COLUMNS)
    n = len(rec.metrics) + sum(len(m) for m in rec.settings.values())
    assert len(df) == 2 * n and isinstance(df, pd.DataFrame)
    assert set(df.setting) == {"U->A", *rec.settings}
    ua = df[(df.setting == "U->A") & (df.metric == "map@5000")]
    assert list(ua.value) == [rec.metrics["map@5000"]] * 2 and set(ua.bits) == {16} and set(ua.dataset) == {"digits"}
    sa = df[(df.setting == "S->A") & (df.metric == "map@5000")]
    assert sa.value.iloc[0] == rec.settings["S->A"]["map@5000"]
    # pandas missing: a clear error
    import builtins

    real = builtins.__import__

    def no_pandas(name, *a, **k):
        if name == "pandas":
            raise ImportError("no pandas")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    from zshbench.errors import UserError

    with pytest.raises(UserError, match=r"zshbench\[results\]"):
        to_dataframe([rec])


# -- zshbench list methods --verbose -------------------------------------------------------------------------


def test_list_methods_verbose(capsys):
    code, out, _ = cli(capsys, "list", "methods", "itq", "--verbose")
    assert code == 0
    assert "paper: Gong et al., TPAMI 2013" in out and "n_iter = 50  (int)" in out and "n_bits" not in out
    code, out, _ = cli(capsys, "list", "methods", "razh*", "-v", "--no-variants")
    assert code == 0 and "razh " in out and "razh-t" not in out.split() and 'profile = "tiny"' in " ".join(out.split())
    code, out, _ = cli(capsys, "list", "methods", "comae-v1", "-v")
    assert "variant of: comae" in out and "paper: Li et al., ACM TOMM" in out  # a variant shows its method's paper
    from zshbench.cli.info import BUILTIN_PAPERS
    from zshbench.registry import get_method, list_methods

    for name in list_methods():  # every built-in method has its paper
        cls = get_method(name)
        assert cls.paper or BUILTIN_PAPERS.get(cls.variant_of or name), name
