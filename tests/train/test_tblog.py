"""``zshbench run --log-dir``: TensorBoard scalars of deep training, under the folder named, changing nothing."""

import pytest

from zshbench.cli import main
from zshbench.records import load_records

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")

RUN = ["run", "--method", "dpn", "--dataset", "digits", "--bits", "16", "--seeds", "0", "--no-progress"]
SHORT = ["--set", "epochs=1", "--set", "max_steps=4"]


def scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_log_dir_writes_the_loss_terms_and_changes_nothing(tmp_path):
    logs = tmp_path / "tb"
    assert main([str(a) for a in [*RUN, *SHORT, "--results", tmp_path / "a", "--log-dir", logs]]) == 0
    assert main([str(a) for a in [*RUN, *SHORT, "--results", tmp_path / "b"]]) == 0
    (rec,), _ = load_records(tmp_path / "a")
    (plain,), _ = load_records(tmp_path / "b")
    assert rec.identity_hash == plain.identity_hash and rec.metrics == plain.metrics  # logging changes nothing
    run_dir = logs / "digits" / rec.protocol["name"] / "dpn" / rec.path.rsplit("/", 1)[1][: -len(".json")]
    assert run_dir.is_dir() and [p.parent for p in logs.rglob("events.out.tfevents.*")] == [run_dir]
    got = scalars(run_dir)
    epoch = rec.extras["train"]["epochs"][0]
    assert [s for s, _ in got["train/loss"]] == [1, 2, 3, 4]  # one point per optimizer step
    for term, value in epoch.items():
        if term != "steps":
            steps = [v for _, v in got[f"train/{term}"]]
            assert sum(steps) / 4 == pytest.approx(value, abs=1e-5)  # the record's epoch mean of the same term
            assert got[f"epoch/{term}"] == [(1, pytest.approx(value, abs=1e-5))]
    assert any(tag.startswith("lr/") for tag in got)


def test_log_dir_refused_before_work(capsys, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([str(a) for a in [*RUN, *SHORT, "--results", tmp_path / "r", "--log-dir", blocker]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--log-dir" in err
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    assert main([str(a) for a in [*RUN, *SHORT, "--results", tmp_path / "r", "--log-dir", tmp_path / "tb"]]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "needs the 'tensorboard' package" in err and "pip install 'zshbench[tensorboard]'" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "tb").exists()
